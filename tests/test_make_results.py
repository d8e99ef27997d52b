"""``make results``: every command it runs is a valid ``hop-bench`` command line (options,
agents, scenarios and envs that exist), and together they remake every generated result the
docs publish. ``hop-bench`` is replaced by a recorder, so nothing is played."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agents.registry import agent_names
from evaluation.cli import build_parser
from evaluation.scenarios import scenario_names
from hop_envs.registration import full_env_id

ROOT = Path(__file__).resolve().parents[1]

RECORDER = textwrap.dedent(
    """
    import json, os, sys
    with open(os.environ["HOP_BENCH_RECORD"], "a") as log:
        log.write(json.dumps(sys.argv[1:]) + "\\n")
    """
)


@pytest.fixture(scope="module")
def commands(tmp_path_factory: pytest.TempPathFactory) -> list[list[str]]:
    if shutil.which("make") is None:
        raise AssertionError("make is needed: README's two set-up commands are make targets")
    tmp = tmp_path_factory.mktemp("make-results")
    recorder, record = tmp / "recorder.py", tmp / "commands.jsonl"
    recorder.write_text(RECORDER)
    done = subprocess.run(
        ["make", "--no-print-directory", "results", f"HB={sys.executable} {recorder}", "STAMP="],
        cwd=ROOT,
        env={**os.environ, "HOP_BENCH_RECORD": str(record)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in record.read_text().splitlines()]


def test_every_command_parses_and_names_things_that_exist(commands: list[list[str]]) -> None:
    parser = build_parser()
    agents, scenarios = set(agent_names()), set(scenario_names())
    for argv in commands:
        args = parser.parse_args(argv)  # a bad option exits with code 2 here
        if getattr(args, "agent", None) is not None:
            assert args.agent in agents, argv
        for name in getattr(args, "scenario", None) or []:
            assert name in scenarios, (name, argv)
        if getattr(args, "env", None) is not None:
            full_env_id(args.env)  # raises for an unknown env


def test_the_commands_remake_every_published_result(commands: list[list[str]]) -> None:
    by_command: dict[str, list[list[str]]] = {}
    for argv in commands:
        by_command.setdefault(argv[0], []).append(argv)
    readme = " ".join(by_command["run"][0])
    assert "--readme README.md" in readme and "--out docs/results" in readme
    assert "--planner-trials 4 --planner-episodes 4" in readme
    ablations = [a[a.index("--env") + 1] for a in by_command["hop-plus-ablation"]]
    assert ablations == ["hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0"]
    assert all("--readme" in a for a in by_command["hop-plus-ablation"])
    evaluated = {
        (a[a.index("--agent") + 1], a[a.index("--scenario") + 1].split("/")[0])
        for a in by_command["evaluate"]
    }
    assert evaluated == {
        ("hop", "msh"),
        ("hop-plus", "msh"),
        ("oracle-mcts", "msh"),
        ("hop", "msg"),
        ("hop-plus", "msg"),
    }
    for a in by_command["evaluate"]:
        assert a[a.index("--trials") + 1] == a[a.index("--episodes") + 1] == "10"
        assert a.count("--scenario") == 11
    report = by_command["report"][0]
    assert report[report.index("--out") + 1] == "docs/results/hop_plus_10x10"
    assert report[report.index("--readme") + 1] == "README.md"
    section = report[report.index("--section") + 1]
    readme = (ROOT / "README.md").read_text()
    assert f"<!-- report:{section}:start -->" in readme, "README has no block for the 10x10 report"
    validations = by_command["hop-plus-validate"]
    assert len(validations) == 3 and all("--compare" in v for v in validations[1:])
    for validate in validations:
        out = validate[validate.index("--out") + 1]
        assert (ROOT / out).is_file(), f"make results writes {out}, which the docs do not ship"
        assert validate[validate.index("--trials") + 1] == "30"
    assert [a[0] for a in commands][:2] == ["references", "run"]
