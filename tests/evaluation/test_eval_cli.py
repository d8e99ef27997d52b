"""``hop-bench`` smoke tests with tiny budgets, exit codes and one-line errors."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.cli import main

HERE = Path(__file__).resolve().parent


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# -- list -----------------------------------------------------------------------------------
def test_list_scenarios_for_one_env(capsys):
    code, out, _ = run(capsys, "list", "scenarios", "--env", "hop/MarkovSnowdrift-v0")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "msg/adapt-1v3-cleaner",
        "msg/adapt-1v3-free-rider",
        "msg/adapt-1v3-random",
        "msg/adapt-3v1-cleaner",
        "msg/adapt-3v1-free-rider",
        "msg/adapt-3v1-random",
        "msg/selfplay",
    ]


def test_list_envs_coplayers_and_agents(capsys):
    code, out, _ = run(capsys, "list", "envs")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "hop/MarkovStagHunt-v0",
        "hop/MarkovSnowdrift-v0",
    ]
    code, out, _ = run(capsys, "list", "coplayers", "--env", "MarkovStagHunt-v0")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "nearest-hare",
        "nearest-stag",
        "random",
    ]
    code, out, _ = run(capsys, "list", "agents")
    names = [line.split()[0] for line in out.splitlines()]
    assert code == 0
    assert {"random", "nearest-stag", "cleaner", "free-rider"} <= set(names)


def test_list_unknown_kind_suggests_the_close_one(capsys):
    code, _, err = run(capsys, "list", "scenario")
    assert_one_line_error(code, err, "unknown list kind 'scenario'", "did you mean 'scenarios'")


# -- evaluate -------------------------------------------------------------------------------
def test_evaluate_tiny_budget_stores_and_summarises(capsys, tmp_path):
    db = tmp_path / "r.sqlite"
    args = [
        "evaluate",
        "--agent",
        "nearest-stag",
        "--scenario",
        "msh/adapt-1v3-nearest-stag",
        "--scenario",
        "msh/selfplay",
        "--trials",
        "1",
        "--episodes",
        "1",
        "--backend",
        "serial",
        "--db",
        str(db),
        "--no-progress",
    ]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "agent: nearest-stag"
    assert lines[1].split()[:3] == ["scenario", "trials", "episodes"]
    assert [line.split()[:3] for line in lines[3:5]] == [
        ["msh/adapt-1v3-nearest-stag", "1", "1"],
        ["msh/selfplay", "1", "1"],
    ]
    assert lines[-1] == f"2 new episode(s) stored in {db}"
    count = sqlite3.connect(db).execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
    assert count == 2
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert out.splitlines()[0] == f"2 trial(s) already stored in {db}, skipped"
    assert out.splitlines()[-1] == f"0 new episode(s) stored in {db}"


def test_evaluate_a_toml_scenario_with_agent_arguments(capsys, tmp_path):
    scenario = tmp_path / "mine.toml"
    scenario.write_text(
        'env_id = "hop/MarkovSnowdrift-v0"\nfocal_seats = [0]\nbackground = "cleaner"\n'
        "[env_kwargs]\nnum_players = 2\nmax_cycles = 4\n"
    )
    db = tmp_path / "r.sqlite"
    code, out, err = run(
        capsys,
        "evaluate",
        "--agent",
        "eval_test_agents:RecordingAgent",
        "--agent-arg",
        "action=4",
        "--scenario",
        str(scenario),
        "--trials",
        "1",
        "--episodes",
        "2",
        "--backend",
        "serial",
        "--db",
        str(db),
        "--no-progress",
    )
    assert code == 0, err
    rows = (
        sqlite3.connect(db)
        .execute("SELECT scenario, episode, length, seat_players FROM episodes ORDER BY episode")
        .fetchall()
    )
    seats = '["eval_test_agents:RecordingAgent(action=4)", "cleaner"]'
    assert rows == [("mine", 0, 4, seats), ("mine", 1, 4, seats)]
    assert out.splitlines()[0] == "agent: eval_test_agents:RecordingAgent(action=4)"


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (
            ["--agent", "nearest-stg", "--scenario", "msh/selfplay"],
            ["unknown agent 'nearest-stg'", "did you mean 'nearest-stag'"],
        ),
        (
            ["--agent", "random", "--scenario", "msh/adapt-1v3-nearest-stg"],
            ["unknown scenario 'msh/adapt-1v3-nearest-stg'", "'msh/adapt-1v3-nearest-stag'"],
        ),
        (
            ["--agent", "random", "--scenario", "msh/selfplay", "--backend", "serail"],
            ["unknown backend 'serail'", "did you mean 'serial'"],
        ),
        (
            ["--agent", "cleaner", "--scenario", "msh/selfplay"],
            ["'cleaner' does not support 'hop/MarkovStagHunt-v0'"],
        ),
        (
            ["--agent", "random", "--scenario", "msh/selfplay", "--trials", "0"],
            ["--trials", "expected an integer >= 1, got 0"],
        ),
        (
            ["--agent", "random", "--scenario", "msh/selfplay", "--seed", "-3"],
            ["--seed", "expected a non-negative integer"],
        ),
        (["--scenario", "msh/selfplay"], ["the following arguments are required: --agent"]),
        (
            ["--agent", "nosuchmodule:Agent", "--scenario", "msh/selfplay"],
            ["cannot import module 'nosuchmodule'"],
        ),
        (
            ["--agent", "random", "--scenario", "msh/selfplay", "--agent-arg", "novalue"],
            ["expected KEY=VALUE, got 'novalue'"],
        ),
        (
            ["--agent", "random", "--scenario", "nowhere/missing.toml"],
            ["nowhere/missing.toml: no such scenario file"],
        ),
    ],
)
def test_evaluate_bad_input_exits_2_with_one_line(capsys, tmp_path, argv, fragments):
    code, _, err = run(capsys, "evaluate", *argv, "--db", str(tmp_path / "r.sqlite"))
    assert_one_line_error(code, err, *fragments)


def test_evaluate_bad_scenario_file_names_line_and_field(capsys, tmp_path):
    scenario = tmp_path / "bad.toml"
    scenario.write_text('env_id = "hop/MarkovStagHunt-v0"\nfocal_seats = [9]\n')
    code, _, err = run(capsys, "evaluate", "--agent", "random", "--scenario", str(scenario))
    assert_one_line_error(code, err, f"{scenario}:2: focal_seats: ")


def test_failing_trials_are_listed_and_exit_1_after_the_others_are_stored(capsys, tmp_path):
    db = tmp_path / "r.sqlite"
    code, out, err = run(
        capsys,
        "evaluate",
        "--agent",
        "eval_test_agents:FailsInSnowdrift",
        "--scenario",
        "msh/adapt-1v3-random",
        "--scenario",
        "msg/adapt-1v3-random",
        "--trials",
        "2",
        "--episodes",
        "1",
        "--seed",
        "9",
        "--backend",
        "serial",
        "--db",
        str(db),
        "--no-progress",
    )
    assert code == 1
    assert out.splitlines()[-1] == f"2 new episode(s) stored in {db}"
    lines = err.strip().splitlines()
    assert lines[0] == "hop-bench: 2 trial(s) failed:"
    assert lines[1].startswith(
        "  - agent 'eval_test_agents:FailsInSnowdrift', scenario 'msg/adapt-1v3-random', "
        "seed 9, trial 0 failed in episode 0: RuntimeError: deliberate failure"
    )
    assert "seed 9, trial 1 failed" in lines[2]


# -- report ---------------------------------------------------------------------------------
def test_report_writes_files_from_the_store(capsys, tmp_path):
    db, out_dir = tmp_path / "r.sqlite", tmp_path / "report"
    for agent in ("random", "nearest-stag"):
        code, _, err = run(
            capsys,
            "evaluate",
            "--agent",
            agent,
            "--scenario",
            "msh/adapt-1v3-nearest-stag",
            "--trials",
            "2",
            "--episodes",
            "2",
            "--backend",
            "serial",
            "--db",
            str(db),
            "--no-progress",
        )
        assert code == 0, err
    code, out, err = run(capsys, "report", "--db", str(db), "--out", str(out_dir))
    assert code == 0, err
    assert out.splitlines()[0] == f"report of 8 episodes written to {out_dir}"
    assert (out_dir / "report.md").is_file()
    assert "msh/adapt-1v3-nearest-stag" in (out_dir / "report.md").read_text()


def test_report_without_results_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "report", "--db", str(tmp_path / "none.sqlite"))
    assert_one_line_error(code, err, "no result database at")


# -- play -----------------------------------------------------------------------------------
def test_play_prints_every_frame_and_the_returns(capsys):
    code, out, err = run(
        capsys,
        "play",
        "--env",
        "hop/MarkovSnowdrift-v0",
        "--env-arg",
        "max_cycles=3",
        "--agent",
        "cleaner",
        "--coplayer",
        "free-rider",
        "--seed",
        "1",
    )
    assert code == 0, err
    assert out.splitlines()[0] == (
        "hop/MarkovSnowdrift-v0  scenario play  seed 1  seats "
        "[0: cleaner, 1: free-rider, 2: free-rider, 3: free-rider]"
    )
    lines = out.splitlines()
    assert [line for line in lines if line.startswith("t=")] == ["t=0", "t=1", "t=2", "t=3"]
    steps = [line for line in lines if line.startswith("actions and rewards: ")]
    assert len(steps) == 3
    seat = r"{}: (up|down|left|right|stay|remove) [+-]\d+(\.\d+)?"
    pattern = "actions and rewards: " + ", ".join(seat.format(i) for i in range(4))
    assert all(re.fullmatch(pattern, line) for line in steps), steps
    assert out.splitlines()[-1].startswith("episode over after 3 steps; returns by seat: [")


def test_play_a_scenario(capsys):
    code, out, _ = run(capsys, "play", "--scenario", "msh/adapt-3v1-nearest-hare")
    assert code == 0
    assert "seats [0: random, 1: random, 2: random, 3: nearest-hare]" in out.splitlines()[0]


def test_play_bad_input(capsys):
    code, _, err = run(capsys, "play", "--env", "hop/MarkovStagHnt-v0")
    assert_one_line_error(code, err, "unknown environment id 'hop/MarkovStagHnt-v0'")
    code, _, err = run(capsys, "play")
    assert_one_line_error(code, err, "give exactly one of --env ID or --scenario NAME")
    code, _, err = run(capsys, "play", "--env", "hop/MarkovStagHunt-v0", "--coplayer", "cleaner")
    assert_one_line_error(code, err, "unknown co-player 'cleaner' for hop/MarkovStagHunt-v0")


# -- the installed console script -----------------------------------------------------------
def test_console_script_runs_and_reports_bad_commands():
    script = Path(sys.executable).with_name("hop-bench")
    assert script.exists(), "pip install -e . puts hop-bench next to the interpreter"
    env = os.environ | {"PYTHONPATH": str(HERE)}
    ok = subprocess.run(
        [str(script), "list", "scenarios", "--env", "hop/MarkovStagHunt-v0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert ok.returncode == 0
    assert "msh/adapt-1v3-nearest-stag" in ok.stdout
    bad = subprocess.run(
        [str(script), "evalute"], capture_output=True, text=True, env=env, timeout=60
    )
    assert bad.returncode == 2
    assert "invalid choice: 'evalute'" in bad.stderr
    assert "did you mean 'evaluate'?" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
