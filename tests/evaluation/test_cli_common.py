"""The helpers every ``hop-bench`` sub-command shares (:mod:`evaluation.cli_common`)."""

from __future__ import annotations

import argparse
import math

import pytest

from evaluation.cli_common import add_key_values, command_line, float_postfix, run_iterations


def test_key_value_options_collect_pairs_and_read_json():
    parser = argparse.ArgumentParser()
    add_key_values(parser, "--env-arg", "env argument")
    args = parser.parse_args(
        ["--env-arg", "grid_size=6", "--env-arg", "name=x", "--env-arg", "w=None"]
    )
    assert args.env_arg == [("grid_size", 6), ("name", "x"), ("w", None)]
    assert parser.parse_args([]).env_arg == []
    assert "(repeatable); VALUE is read as JSON" in parser.format_help()


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--out", default="table.md")
    add_key_values(p, "--agent-arg", "acting option")


def test_command_line_names_only_options_away_from_their_defaults():
    parser = argparse.ArgumentParser()
    _options(parser)
    flags = ("--trials", "--out", "--agent-arg")
    at_defaults = parser.parse_args([])
    assert command_line("tool run", _options, at_defaults, flags) == "tool run"
    args = parser.parse_args(
        ["--trials", "10", "--out", "my table.md", "--agent-arg", "n=3", "--agent-arg", "w=x"]
    )
    assert command_line("tool run", _options, args, flags) == (
        "tool run --trials 10 --out 'my table.md' --agent-arg n=3 --agent-arg 'w=\"x\"'"
    )
    # the flags not asked for stay out, and an unknown one is a programming error
    assert command_line("tool", _options, args, ("--trials",)) == "tool --trials 10"
    with pytest.raises(ValueError, match="'--nope' is not an option of 'tool'"):
        command_line("tool", _options, args, ("--nope",))


def test_float_postfix_shows_only_finite_floats_that_are_asked_for():
    metrics = {"a": 0.12345, "b": math.nan, "c": 3, "d": 1.0}
    assert float_postfix(metrics, (("a", "A"), ("b", "B"), ("c", "C"), ("x", "X"))) == {
        "A": "0.123"
    }


def _trainer(steps: int, interrupt_after: int | None = None):
    calls = {"iteration": -1, "phases": []}

    def run(on_iteration, on_progress):
        for i in range(steps):
            on_progress("collect", i, steps)
            calls["phases"].append(i)
            if interrupt_after is not None and i == interrupt_after:
                raise KeyboardInterrupt
            calls["iteration"] = i
            on_iteration({"loss": 1.0 / (i + 1)})
        return "final"

    return run, calls


def test_run_iterations_returns_the_loops_result_and_its_time(tmp_path):
    run, calls = _trainer(3)
    shown = []

    def postfix(report):
        shown.append(report["loss"])
        return float_postfix(report, (("loss", "L"),))

    result = run_iterations(
        run,
        total=3,
        done=0,
        desc="t",
        no_progress=True,
        postfix=postfix,
        directory=tmp_path,
        iteration=lambda: calls["iteration"],
    )
    assert result is not None and result[0] == "final" and result[1] >= 0
    assert shown == pytest.approx([1.0, 0.5, 1 / 3])


def test_an_interrupt_says_where_the_checkpoint_is_and_how_to_resume(tmp_path, capsys):
    run, calls = _trainer(5, interrupt_after=2)
    result = run_iterations(
        run,
        total=5,
        done=0,
        desc="t",
        no_progress=True,
        postfix=lambda report: {},
        directory=tmp_path,
        iteration=lambda: calls["iteration"],
    )
    assert result is None
    err = capsys.readouterr().err
    assert f"interrupted; the last checkpoint in {tmp_path} is at iteration 1" in err
    assert f"hop-bench train --resume {tmp_path}" in err
