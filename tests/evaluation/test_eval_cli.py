"""``hop-bench`` smoke tests with tiny budgets, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import cli_test_agents
import heldout_fakes
import pytest

from evaluation.cli import main
from evaluation.jobs import package_version
from evaluation.scenarios import learned_backgrounds
from hop_envs.coplayers import HELD_OUT, coplayer_names

HERE = Path(__file__).resolve().parent
MSH, MSG = "hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def tiny(db):
    """The options of a one-trial, one-episode serial run stored in ``db``."""
    return (
        "--trials",
        "1",
        "--episodes",
        "1",
        "--backend",
        "serial",
        "--db",
        str(db),
        "--no-progress",
    )


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# -- list -----------------------------------------------------------------------------------
def test_list_scenarios_for_one_env_with_their_family(capsys):
    code, out, _ = run(capsys, "list", "scenarios", "--env", "hop/MarkovSnowdrift-v0")
    assert code == 0
    heldout = coplayer_names(MSG, population=HELD_OUT)
    hidden_and_mixed = [("msg/heldout-hidden", "held-out"), ("msg/heldout-mixed", "held-out")]
    learned = [(f"msg/adapt-1v3-{k}", "training") for k in learned_backgrounds(MSG)]
    expected = sorted(
        [
            ("msg/adapt-1v3-cleaner", "training"),
            ("msg/adapt-1v3-free-rider", "training"),
            ("msg/adapt-1v3-random", "training"),
            *learned,
            ("msg/adapt-3v1-cleaner", "training"),
            ("msg/adapt-3v1-free-rider", "training"),
            ("msg/adapt-3v1-random", "training"),
            ("msg/adapt-hidden", "training"),
            ("msg/adapt-mixed", "training"),
            *[(f"msg/heldout-1v3-{k}", "held-out") for k in heldout],
            *(hidden_and_mixed if len(heldout) > 1 else []),
            ("msg/selfplay", "training"),
        ]
    )
    assert [tuple(line.split()[:2]) for line in out.splitlines()] == expected
    cleaner = next(line for line in out.splitlines() if line.startswith("msg/adapt-1v3-cleaner"))
    assert cleaner.endswith("1 focal seat adapting to 3 'cleaner' co-players")


def test_list_scenarios_shows_the_heldout_family_of_registered_heldout_scenarios(
    capsys, monkeypatch
):
    heldout_fakes.install(monkeypatch, extra_scenarios=True)
    code, out, _ = run(capsys, "list", "scenarios", "--env", "MarkovStagHunt-v0")
    assert code == 0
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()}
    assert rows["msh/heldout-1v3-fake-patient"] == "held-out"
    assert rows["msh/heldout-hidden"] == "held-out"
    assert rows["msh/adapt-hidden"] == "training"


def test_list_envs_coplayers_and_agents(capsys):
    code, out, _ = run(capsys, "list", "envs")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "hop/MarkovStagHunt-v0",
        "hop/MarkovSnowdrift-v0",
    ]
    code, out, _ = run(capsys, "list", "coplayers", "--env", "MarkovStagHunt-v0")
    assert code == 0
    rows = [line.split()[:3] for line in out.splitlines()]
    assert [r for r in rows if r[1] == "training"] == [
        ["nearest-hare", "training", MSH],
        ["nearest-stag", "training", MSH],
        ["random", "training", MSH],
    ]
    assert [r[0] for r in rows] == coplayer_names(MSH)
    assert [r[0] for r in rows if r[1] == "held-out"] == coplayer_names(MSH, population=HELD_OUT)
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
        *tiny(str(db)),
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
    assert out.splitlines()[0] == (
        f"2 trials of this exact configuration already stored in {db}, skipped "
        "(use --rerun to play them again)"
    )
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
            ["--seed", "expected an integer >= 0, got -3"],
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
    # both trials failed the same way: one line names them both
    assert lines == [
        "hop-bench: 2 trial(s) failed:",
        "  - agent 'eval_test_agents:FailsInSnowdrift', scenario 'msg/adapt-1v3-random', "
        "seed 9, trials 0-1 (2) failed in episode 0: RuntimeError: deliberate failure for the test",
        "hop-bench: run again with --debug for the tracebacks",
    ]


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
    assert "| adapt-1v3-nearest-stag |" in (out_dir / "report.md").read_text()


def _two_agents(capsys, db):
    for agent in ("random", "nearest-stag"):
        code, _, err = run(
            capsys, "evaluate", "--agent", agent, "--scenario", "msh/adapt-1v3-nearest-stag",
            "--trials", "2", "--episodes", "2", "--backend", "serial", "--db", str(db),
            "--no-progress",
        )  # fmt: skip
        assert code == 0, err


def test_report_writes_its_aggregate_tables_into_a_readme_block(capsys, tmp_path):
    db, out_dir = tmp_path / "r.sqlite", tmp_path / "docs" / "report"
    _two_agents(capsys, db)
    readme = tmp_path / "README.md"
    start, end = "<!-- report:demo:start -->", "<!-- report:demo:end -->"
    readme.write_text(f"# t\n\nbefore\n{start}\nold\n{end}\nafter\n")
    argv = ["report", "--db", str(db), "--out", str(out_dir), "--readme", str(readme)]
    code, out, err = run(capsys, *argv, "--section", "demo")
    assert code == 0, err
    assert out.splitlines()[-1] == f"aggregate tables written into {readme}"
    text = readme.read_text()
    assert text.startswith(f"# t\n\nbefore\n{start}\nAggregate normalized scores of the report")
    assert text.endswith(f"{end}\nafter\n") and "\nold\n" not in text
    assert "[docs/report/report.md](docs/report/report.md)" in text  # relative to the README
    assert f"--readme {readme.as_posix()} --section demo`." in text
    block = text.split(start)[1].split(end)[0]
    assert "#### Aggregate normalized score: MarkovStagHunt-v0" in block
    # The block's tables are the full report's aggregate tables, row for row.
    report = (out_dir / "report.md").read_text()
    table_lines = [line for line in block.splitlines() if line.startswith("| ")]
    assert len(table_lines) >= 4  # header, rule and the two agents
    assert all(line in report for line in table_lines)
    assert {"nearest-stag", "random"} <= {line.split(" | ")[0][2:] for line in table_lines}


def test_report_readme_needs_its_section_and_its_markers(capsys, tmp_path):
    db, out_dir = tmp_path / "r.sqlite", tmp_path / "report"
    _two_agents(capsys, db)
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    argv = ["report", "--db", str(db), "--out", str(out_dir)]
    code, _, err = run(capsys, *argv, "--readme", str(readme))
    assert_one_line_error(code, err, "--readme and --section go together")
    code, _, err = run(capsys, *argv, "--section", "demo")
    assert_one_line_error(code, err, "--readme and --section go together")
    code, _, err = run(capsys, *argv, "--readme", str(readme), "--section", "demo")
    assert_one_line_error(code, err, "does not hold <!-- report:demo:start -->")
    code, _, err = run(capsys, *argv, "--readme", str(readme), "--section", "a b")
    assert_one_line_error(code, err, "README block name must be")
    assert not out_dir.exists()  # refused before any report was written
    assert readme.read_text() == "# no markers\n"


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


# -- version, --debug ------------------------------------------------------------------------
def test_version(capsys):
    code, out, err = run(capsys, "--version")
    assert (code, err) == (0, "")
    assert out == f"hop-bench {package_version()}\n"


def failing_run(capsys, tmp_path, *extra, after=()):
    """``evaluate`` of an agent that fails in the snowdrift; ``extra`` options go before the
    command, ``after`` right after it."""
    return run(
        capsys,
        *extra,
        "evaluate",
        *after,
        "--agent",
        "eval_test_agents:FailsInSnowdrift",
        "--scenario",
        "msg/adapt-1v3-random",
        *tiny(str(tmp_path / "r.sqlite")),
    )


def test_failed_trials_are_one_line_each_and_debug_adds_the_traceback(capsys, tmp_path):
    code, _, err = failing_run(capsys, tmp_path)
    assert code == 1
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "hop-bench: run again with --debug for the tracebacks"
    code, _, err = failing_run(capsys, tmp_path, "--debug")
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0] == "hop-bench: 1 trial(s) failed:"
    assert lines[1].startswith("  - agent 'eval_test_agents:FailsInSnowdrift'")
    assert lines[2] == "    Traceback (most recent call last):"
    assert lines[-1] == "    RuntimeError: deliberate failure for the test"
    assert any("eval_test_agents.py" in line and "in act" in line for line in lines)


def test_debug_after_the_command_works_too(capsys, tmp_path):
    code, _, err = failing_run(capsys, tmp_path, after=("--debug",))
    assert code == 1
    assert "RuntimeError: deliberate failure for the test" in err.splitlines()[-1]


def test_usage_errors_with_debug_show_the_traceback_then_the_line(capsys):
    code, _, err = run(capsys, "--debug", "list", "scenario")
    assert code == 2
    assert err.startswith("Traceback (most recent call last):")
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith("hop-bench list: error: unknown list kind 'scenario'")
    )


def test_unexpected_errors_are_one_line_or_raised_with_debug(capsys, tmp_path):
    args = [
        "evaluate",
        "--agent",
        "cli_test_agents:Broken",
        "--scenario",
        "msh/adapt-1v3-random",
        "--backend",
        "serial",
        "--db",
        str(tmp_path / "r.sqlite"),
    ]
    code, _, err = run(capsys, *args)
    assert code == 1
    assert err.strip().splitlines() == [
        "hop-bench evaluate: internal error: KeyError: 'internal bookkeeping' "
        "(run again with --debug for the traceback)"
    ]
    with pytest.raises(KeyError, match="internal bookkeeping"):
        main(["--debug", *args])


# -- the focal agent is built once before any trial ------------------------------------------
def test_bad_checkpoint_fails_before_any_trial(capsys, tmp_path):
    db = tmp_path / "r.sqlite"
    cli_test_agents.RESETS.clear()
    code, _, err = run(
        capsys,
        "evaluate",
        "--agent",
        "cli_test_agents:CheckpointAgent",
        "--agent-arg",
        "checkpoint=/nowhere/ckpt",
        "--scenario",
        "msh/adapt-1v3-random",
        "--scenario",
        "msg/adapt-3v1-cleaner",
        "--trials",
        "1",
        "--episodes",
        "1",
        "--backend",
        "serial",
        "--db",
        str(db),
    )
    assert_one_line_error(
        code,
        err,
        "hop-bench evaluate: error: agent "
        "'cli_test_agents:CheckpointAgent(checkpoint=\"/nowhere/ckpt\")' cannot be built for "
        "hop/MarkovSnowdrift-v0 (scenario 'msg/adapt-3v1-cleaner'): FileNotFoundError: "
        "no checkpoint at /nowhere/ckpt",
    )
    # one reset per env, at the first focal seat of its first scenario; no trial ran
    assert cli_test_agents.RESETS == [(MSH, 0), (MSG, 0)]
    assert not db.exists()


@pytest.mark.parametrize(
    ("arg", "fragments"),
    [
        ("weights=/nonexistent", ["agent 'hop(weights=\"/nonexistent\")'", "/nonexistent"]),
        ("num_tree=3", ["agent 'hop(num_tree=3)'", "TypeError", "'num_tree'", "'num_trees'"]),
    ],
)
def test_bad_hop_arguments_exit_2_naming_them(capsys, tmp_path, arg, fragments):
    db = tmp_path / "r.sqlite"
    code, _, err = run(
        capsys,
        "evaluate",
        "--agent",
        "hop",
        "--agent-arg",
        arg,
        "--scenario",
        "msh/adapt-1v3-random",
        "--backend",
        "serial",
        "--db",
        str(db),
    )
    assert_one_line_error(code, err, "cannot be built for hop/MarkovStagHunt-v0", *fragments)
    assert not db.exists()


def test_play_checks_the_agent_too(capsys):
    code, _, err = run(
        capsys,
        "play",
        "--env",
        "hop/MarkovStagHunt-v0",
        "--agent",
        "hop",
        "--agent-arg",
        "num_tree=3",
    )
    assert_one_line_error(code, err, "agent 'hop(num_tree=3)' cannot be built", "'num_tree'")


def test_none_is_null_in_agent_arguments(capsys, tmp_path):
    db = tmp_path / "r.sqlite"
    for value in ("None", "null"):
        code, out, err = run(
            capsys,
            "evaluate",
            "--agent",
            "eval_test_agents:RecordingAgent",
            "--agent-arg",
            f"action={value}",
            "--scenario",
            "msg/adapt-1v3-random",
            *tiny(str(db)),
        )
        assert code == 0, err
        assert "agent: eval_test_agents:RecordingAgent(action=null)" in out.splitlines()
    # the same configuration: the second run found the first one's trial
    assert out.splitlines()[0].startswith("1 trial of this exact configuration already stored")


def test_key_value_reads_json_none_and_text():
    from evaluation.cli_common import key_value

    assert key_value("weights=None") == ("weights", None)
    assert key_value("weights=null") == ("weights", None)
    assert key_value("n=3") == ("n", 3)
    assert key_value("path=/a/b") == ("path", "/a/b")
    assert key_value("name=Nonesuch") == ("name", "Nonesuch")


# -- --db, --rerun, integer options ------------------------------------------------------------
@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_db_under_a_regular_file_exits_2(capsys, tmp_path, command):
    blocker = tmp_path / "somefile.txt"
    blocker.write_text("not a folder")
    db = blocker / "x.sqlite"
    argv = [command, "--db", str(db)]
    if command == "evaluate":
        argv += ["--agent", "random", "--scenario", "msh/adapt-1v3-random", "--backend", "serial"]
    code, _, err = run(capsys, *argv)
    assert_one_line_error(
        code,
        err,
        f"hop-bench {command}: error: --db {db}: {blocker} is a file, not a folder",
    )


def test_rerun_plays_stored_trials_again(capsys, tmp_path):
    db = tmp_path / "r.sqlite"
    args = [
        "evaluate",
        "--agent",
        "random",
        "--scenario",
        "msh/adapt-1v3-random",
        *tiny(str(db)),
    ]
    assert run(capsys, *args)[0] == 0
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert out.splitlines()[0] == (
        f"1 trial of this exact configuration already stored in {db}, skipped "
        "(use --rerun to play them again)"
    )
    assert out.splitlines()[-1] == f"0 new episode(s) stored in {db}"
    code, out, _ = run(capsys, *args, "--rerun")
    assert code == 0
    assert "already stored" not in out
    assert out.splitlines()[-1] == f"1 new episode(s) stored in {db}"
    count = sqlite3.connect(db).execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
    assert count == 1


EVALUATE = ["evaluate", "--agent", "random", "--scenario", "msh/selfplay"]
TRAIN = ["train", "--agent", "hop", "--env", "MarkovStagHunt-v0"]


@pytest.mark.parametrize(
    ("argv", "option", "value"),
    [
        (EVALUATE, "--trials", "0"),
        (EVALUATE, "--episodes", "x"),
        (EVALUATE, "--workers", "-2"),
        (TRAIN, "--trials-per-iteration", "0"),
        (TRAIN, "--episodes-per-trial", "x"),
    ],
)
def test_integer_options_share_one_wording(capsys, argv, option, value):
    code, _, err = run(capsys, *argv, option, value)
    shown = repr(value) if not value.lstrip("-").isdigit() else value
    assert_one_line_error(code, err, f"argument {option}: expected an integer >= 1, got {shown}")


def test_play_seed_has_the_same_wording(capsys):
    code, _, err = run(capsys, "play", "--env", "hop/MarkovStagHunt-v0", "--seed", "x")
    assert_one_line_error(code, err, "argument --seed: expected an integer >= 0, got 'x'")


# -- held-out scenarios and co-players with arguments ----------------------------------------
def test_evaluate_a_hidden_type_file_with_coplayer_arguments(capsys, tmp_path, monkeypatch):
    heldout_fakes.install(monkeypatch)
    scenario = tmp_path / "hidden.toml"
    scenario.write_text(
        'env_id = "hop/MarkovStagHunt-v0"\nfocal_seats = [0]\n'
        'lineups = [{name = "fake-patient", kwargs = {patience = 3}}, "fake-shy"]\n'
        "[env_kwargs]\nmax_cycles = 3\n"
    )
    db = tmp_path / "r.sqlite"
    code, _, err = run(
        capsys,
        "evaluate",
        "--agent",
        "random",
        "--scenario",
        str(scenario),
        "--trials",
        "6",
        "--episodes",
        "1",
        "--backend",
        "serial",
        "--db",
        str(db),
        "--no-progress",
    )
    assert code == 0, err
    seats = {
        tuple(json.loads(row[0]))
        for row in sqlite3.connect(db).execute("SELECT seat_players FROM episodes")
    }
    assert seats == {
        ("random",) + ("fake-patient(patience=3)",) * 3,
        ("random",) + ("fake-shy",) * 3,
    }
