"""``hop-bench train``: a tiny-budget run, resume, plot, and bad arguments (exit code 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.hop.training.checkpoint import load_checkpoint
from agents.hop.training.log import read_log
from evaluation.cli import main

TINY_ARGS = [
    "--agent", "hop",
    "--env", "hop/MarkovSnowdrift-v0",
    "--env-arg", "num_players=2",
    "--env-arg", "grid_size=4",
    "--env-arg", "num_drifts=2",
    "--env-arg", "max_cycles=8",
    "--trials-per-iteration", "2",
    "--episodes-per-trial", "1",
    "--trees", "2",
    "--simulations", "3",
    "--pretrain-episodes", "4",
    "--holdout-episodes", "3",
    "--workers", "1",
    "--no-progress",
    "--no-tensorboard",
]  # fmt: skip


def test_train_resume_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main(["train", *TINY_ARGS, "--iterations", "1", "--seed", "4", "--out", str(out)])
    assert code == 0
    assert "checkpoint at iteration 1 written to" in capsys.readouterr().out
    checkpoint = load_checkpoint(out)
    assert checkpoint.config.env_id == "hop/MarkovSnowdrift-v0"
    assert checkpoint.config.env_kwargs == {
        "num_players": 2,
        "grid_size": 4,
        "num_drifts": 2,
        "max_cycles": 8,
    }
    assert (checkpoint.config.seed, checkpoint.config.num_simulations) == (4, 3)

    png = tmp_path / "curve.png"
    code = main(
        ["train", "--resume", str(out), "--iterations", "2", "--workers", "1", "--no-progress",
         "--no-tensorboard", "--plot", str(png)]
    )  # fmt: skip
    assert code == 0
    assert [r["iteration"] for r in read_log(out / "log.csv")] == ["0", "1", "2"]
    assert load_checkpoint(out).state.iteration == 2
    assert png.read_bytes().startswith(b"\x89PNG")


HOP_STAG = ["train", "--agent", "hop", "--env", "MarkovStagHunt-v0"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--agent", "hpo", "--env", "MarkovStagHunt-v0"], "did you mean 'ppo', 'hop'"),
        (["train", "--agent", "hop"], "--env is required"),
        (["train", "--env", "MarkovStagHunt-v0"], "--agent is required"),
        ([*HOP_STAG, "--iterations", "-1"],
         "expected an integer >= 0, got -1"),
        ([*HOP_STAG, "--episodes-per-trial", "0"],
         "argument --episodes-per-trial: expected an integer >= 1, got 0"),
        ([*HOP_STAG, "--workers", "many"],
         "argument --workers: expected an integer >= 1, got 'many'"),
        (["train", "--agent", "hop", "--env", "MarkovStagHnt-v0"], "unknown environment id"),
        ([*HOP_STAG, "--coplayer", "cleaner"],
         "unknown co-player 'cleaner'"),
        (["train", "--resume", "/nonexistent/run"], "not a checkpoint folder"),
        ([*HOP_STAG, "--conv-channels", "8,x"],
         "argument --conv-channels: expected comma-separated integers >= 1 such as 8,8, "
         "got '8,x'"),
        ([*HOP_STAG, "--conv-channels", "8,0"],
         "got '8,0'"),
        ([*HOP_STAG, "--hidden", "0"],
         "argument --hidden: expected an integer >= 1, got 0"),
        (["train", "--agent", "ppo", "--env", "MarkovStagHunt-v0", "--hidden", "8"],
         "--hidden: options of a new --agent hop run (got --agent 'ppo')"),
        (["train", "--agent", "hop-plus", "--env", "MarkovStagHunt-v0", "--conv-channels", "8"],
         "--conv-channels: options of a new --agent hop run (got --agent 'hop-plus')"),
    ],
)  # fmt: skip
def test_bad_arguments_exit_with_code_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        code = main(argv)
        raise SystemExit(code)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_resume_refuses_changed_options_and_existing_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", *TINY_ARGS, "--iterations", "0", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--simulations", "9", "--no-progress"]) == 2
    assert "options ['num_simulations'] differ" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--env", "MarkovStagHunt-v0"]) == 2
    assert "--env cannot be combined with --resume" in capsys.readouterr().err
    assert main(["train", *TINY_ARGS, "--out", str(out)]) == 2
    assert "already holds a checkpoint" in capsys.readouterr().err


def test_network_sizes(tmp_path: Path) -> None:
    """``--conv-channels`` and ``--hidden`` size every network of the run, and a resumed run
    refuses them (it keeps its own)."""
    out = tmp_path / "run"
    argv = ["train", *TINY_ARGS, "--iterations", "0", "--out", str(out)]
    assert main([*argv, "--conv-channels", "4,6", "--hidden", "8"]) == 0
    checkpoint = load_checkpoint(out)
    assert (checkpoint.config.conv_channels, checkpoint.config.hidden) == ((4, 6), 8)
    focal = checkpoint.focal
    assert focal.config.conv_channels == (4, 6) and focal.config.hidden == 8
    assert focal.trunk.hidden.out_features == 8
    assert [c.out_channels for c in focal.trunk.convs if hasattr(c, "out_channels")] == [4, 6]
    assert checkpoint.opponent_model.config.conv_channels == (4, 6)
    assert main(["train", "--resume", str(out), "--hidden", "8", "--no-progress"]) == 2
