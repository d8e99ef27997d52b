"""``hop-bench train --agent hop-plus`` (tiny run, resume, plot, usage errors) and
``hop-bench hop-plus-ablation`` (its small-budget version end to end, and its pieces)."""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from agents.hop.training.log import read_log
from agents.hop_plus.agent import load_networks
from agents.hop_plus.train import HopPlusTrainer, read_run
from evaluation import hop_plus_ablation
from evaluation.cli import main
from evaluation.cli_common import UsageError
from evaluation.hop_plus_ablation import Row, _ints, _markdown, add_arguments, block, default_out
from evaluation.readme_blocks import markers, replace_block
from evaluation.store import ResultStore
from hop_envs.coplayers import HELD_OUT, TRAINING, coplayer_names

STAG_HUNT = "hop/MarkovStagHunt-v0"
SNOWDRIFT = "hop/MarkovSnowdrift-v0"
# The module (the package re-exports its function under the same name).
evaluate_module = importlib.import_module("evaluation.evaluate")
HELD_OUT_NAME = coplayer_names(STAG_HUNT, population=HELD_OUT)[0]
TINY_ARGS = [
    "--agent", "hop-plus",
    "--env", STAG_HUNT,
    "--goal-dim", "2",
    "--pretrain-episodes", "3",
    "--prior-epochs", "1",
    "--pretrain-subgoal-epochs", "1",
    "--trials-per-iteration", "1",
    "--episodes-per-trial", "1",
    "--trees", "2",
    "--simulations", "3",
    "--om-epochs", "1",
    "--focal-epochs", "1",
    "--no-progress",
    "--no-tensorboard",
]  # fmt: skip
DISPLAY = ["--no-progress", "--no-tensorboard"]


def test_train_hop_plus_writes_checkpoint_and_plot_then_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    png = tmp_path / "curve.png"
    argv = ["train", *TINY_ARGS, "--iterations", "1", "--seed", "2", "--out", str(out)]
    assert main([*argv, "--plot", str(png)]) == 0
    data = read_run(out)
    assert data["iteration"] == 1
    config = data["config"]
    assert config["env_id"] == STAG_HUNT and config["seed"] == 2
    assert (config["goal_dim"], config["prior_episodes"], config["prior_epochs"]) == (2, 3, 1)
    assert (config["num_trees"], config["num_simulations"]) == (2, 3)
    assert (config["subgoal_epochs"], config["focal_epochs"]) == (1, 1)
    assert (config["trials_per_iteration"], config["episodes_per_trial"]) == (1, 1)
    assert config["pretrain_prior"] is True
    assert config["population"] == coplayer_names(STAG_HUNT, population=TRAINING)
    _, model, prior = load_networks(out)
    assert model.config.goal_dim == prior.config.goal_dim == 2
    assert png.read_bytes().startswith(b"\x89PNG")
    assert not (out / "tensorboard").exists()
    capsys.readouterr()

    # --resume (no --agent) goes on to the new total; the log gets the new row only.
    png2 = tmp_path / "curve2.png"
    resume = ["train", "--resume", str(out), "--iterations", "2", *DISPLAY, "--plot", str(png2)]
    assert main(resume) == 0
    assert read_run(out)["iteration"] == 2
    assert read_run(out)["config"] == {**config, "iterations": 2}
    assert [r["iteration"] for r in read_log(out / "log.csv")] == ["0", "1", "2"]
    assert png2.read_bytes().startswith(b"\x89PNG")

    # An option equal to the saved one is fine; a changed one is a usage error.
    assert main(["train", "--resume", str(out), "--goal-dim", "2", *DISPLAY]) == 0
    assert read_run(out)["iteration"] == 2
    capsys.readouterr()
    before = (out / "training.json").read_text()
    for extra, message in (
        (["--goal-dim", "4"], "goal_dim"),
        (["--simulations", "9"], "num_simulations"),
        (["--no-prior-pretrain"], "pretrain_prior"),
        (["--coplayer", "random"], "co-players"),
        (["--env-arg", "max_cycles=9"], "env args"),
        (["--env", STAG_HUNT], "--env cannot be combined with --resume"),
        (["--agent", "hop-plus"], "--agent cannot be combined with --resume"),
        (["--out", str(tmp_path / "x")], "--out cannot be combined with --resume"),
        (["--holdout-episodes", "3"], "--holdout-episodes"),
    ):
        assert main(["train", "--resume", str(out), *extra, *DISPLAY]) == 2, extra
        assert message in capsys.readouterr().err, extra
    assert (out / "training.json").read_text() == before
    # A new run into the same folder is refused.
    assert main(["train", *TINY_ARGS, "--out", str(out)]) == 2
    assert "already holds a HOP+ run" in capsys.readouterr().err


def test_train_hop_plus_no_prior_pretrain_and_options(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["train", *TINY_ARGS, "--iterations", "0", "--out", str(out), "--no-prior-pretrain"]
    argv += ["--horizon", "3", "--selector", "optimistic", "--focal-init", "fresh"]
    argv += ["--policy-condition", "target_map"]
    assert main(argv) == 0
    config = read_run(out)["config"]
    assert config["policy_condition"] == "target_map"
    assert config["pretrain_prior"] is False and config["iterations"] == 0
    assert (config["horizon"], config["selector"], config["focal_init"]) == (
        3,
        "optimistic",
        "fresh",
    )
    assert read_log(out / "log.csv")[0]["prior_recon"] == ""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--coplayer", HELD_OUT_NAME], HELD_OUT_NAME),
        (["--coplayer", "random", "--coplayer", "cleaner"], "cleaner"),
        (["--holdout-episodes", "3"], "--holdout-episodes: not an option of --agent hop-plus"),
        (["--workers", "2"], "--workers: not an option of --agent hop-plus"),
        (["--pretrain-om-epochs", "2"], "--pretrain-om-epochs"),
        (["--steps", "10"], "--steps"),
        (["--horizon", "4"], "horizon"),
        (["--selector", "greedy"], "selector"),
        (["--policy-condition", "map"], "policy_condition must be one of"),
        (["--focal-init", "shipped"], "focal_init"),
        (["--goal-dim", "0"], "--goal-dim"),
        (["--env-arg", "max_cycles=9"], "focal_init='fresh'"),
    ],
)
def test_train_hop_plus_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "run"
    assert main(["train", *TINY_ARGS, "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "--resume" not in err  # only a folder holding a run suggests resuming it
    assert not (out / "training.json").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--agent", "hop", "--env", STAG_HUNT, "--goal-dim", "2"], "--goal-dim"),
        (["--agent", "hop", "--env", STAG_HUNT, "--no-prior-pretrain"], "--no-prior-pretrain"),
        (["--agent", "hop", "--env", STAG_HUNT, "--focal-init", "fresh"], "--focal-init"),
        (["--agent", "hop", "--env", STAG_HUNT, "--policy-condition", "latent"], "--policy-con"),
        (["--agent", "hop-plus"], "--env is required"),
    ],
)
def test_hop_plus_options_with_other_agents_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    out = tmp_path / "run"
    assert main(["train", *argv, "--out", str(out), *DISPLAY]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not out.exists()


# -- hop-bench hop-plus-ablation -------------------------------------------------------------
README = "# Title\n\nIntro text.\n\n{start}\nold table\n{end}\n\n## After\n\nMore text.\n"
START, END = markers(block(STAG_HUNT))


def _ablation_argv(tmp_path: Path) -> list[str]:
    return [
        "hop-plus-ablation",
        "--goal-dims", "2",
        "--trees", "1",
        "--iterations", "0",
        "--pretrain-episodes", "2",
        "--trials", "1",
        "--episodes", "1",
        "--hit-episodes", "2",
        "--timing-decisions", "1",
        "--workers", "1",
        "--runs", str(tmp_path / "runs"),
        "--db", str(tmp_path / "db.sqlite"),
        "--out", str(tmp_path / "table.md"),
        "--readme", str(tmp_path / "README.md"),
        "--no-progress",
    ]  # fmt: skip


def _table_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[1:]]


def test_ablation_small_budget_trains_evaluates_writes_and_reuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README.format(start=START, end=END))
    argv = _ablation_argv(tmp_path)
    assert main(argv) == 0

    table = (tmp_path / "table.md").read_text()
    rows = _table_rows(table)
    labels = [r[0] for r in rows]
    assert labels == [
        "hop (shipped)",
        "hop-plus, goal_dim 2, prior on, 1 tree",
        "hop-plus, goal_dim 2, prior off, 1 tree",
    ]
    for r in rows:
        assert int(r[2]) > 0  # trials on the held-out scenarios
        assert float(r[5]) >= 0  # ms / decision
        assert r[1].split(" [")[0] != "n/a"
    assert rows[0][3] == rows[0][4] == "n/a"
    for r in rows[1:]:
        assert 0.0 <= float(r[3]) <= 1.0 and float(r[4]) > 0
    text = readme.read_text()
    head, rest = text.split(START)
    inside, tail = rest.split(END)
    assert head == "# Title\n\nIntro text.\n\n"
    assert tail == "\n\n## After\n\nMore text.\n"
    assert inside.strip() == table.strip()

    runs = tmp_path / "runs" / "MarkovStagHunt-v0"
    training = coplayer_names(STAG_HUNT, population=TRAINING)
    for name, prior in (("d2-prior-on", True), ("d2-prior-off", False)):
        data = read_run(runs / name)
        assert data["iteration"] == 0
        assert data["config"]["population"] == training
        assert (data["config"]["goal_dim"], data["config"]["pretrain_prior"]) == (2, prior)
        assert data["config"]["prior_episodes"] == 2
    stamps = {p: p.stat().st_mtime_ns for p in runs.glob("*/training.json")}
    stored = ResultStore(tmp_path / "db.sqlite").count()
    assert stored > 0

    # A second call trains nothing and plays no episode: runs and episodes are reused, a
    # finished run from its weights alone (a stored run need not keep its optimizers).
    for optimizers in runs.glob("*/optimizers"):
        shutil.rmtree(optimizers)

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the ablation retrained a stored run")

    monkeypatch.setattr(HopPlusTrainer, "run", no_training)
    monkeypatch.setattr(HopPlusTrainer, "new", no_training)
    played: list[int] = []
    original = evaluate_module.evaluate

    def counting_evaluate(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        played.append(result.episodes_run)
        return result

    monkeypatch.setattr(evaluate_module, "evaluate", counting_evaluate)
    assert main(argv) == 0
    assert played == [0, 0, 0]
    assert {p: p.stat().st_mtime_ns for p in runs.glob("*/training.json")} == stamps
    assert ResultStore(tmp_path / "db.sqlite").count() == stored
    again = _table_rows((tmp_path / "table.md").read_text())
    # Everything but the timing column is the same.
    assert [r[:5] for r in again] == [r[:5] for r in rows]
    text2 = readme.read_text()
    assert text2.startswith(head + START) and text2.endswith(END + tail)

    # A stored run that another command trained is refused before anything is played: other
    # settings, or more iterations than asked (the table would misname it).
    capsys.readouterr()
    run_dir = runs / "d2-prior-on"
    argv[argv.index("--pretrain-episodes") + 1] = "3"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{run_dir} was trained with prior_episodes=2" in err
    assert "asks for prior_episodes=3" in err
    argv[argv.index("--pretrain-episodes") + 1] = "2"
    data = json.loads((run_dir / "training.json").read_text())
    (run_dir / "training.json").write_text(json.dumps({**data, "iteration": 1}))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{run_dir} was trained for 1 iterations, more than --iterations 0" in err
    assert played == [0, 0, 0]


def test_ablation_bad_lists_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for flag, value in (("--goal-dims", "2,x"), ("--trees", "0"), ("--goal-dims", "")):
        argv = _ablation_argv(tmp_path)
        argv[argv.index(flag) + 1] = value
        assert main(argv) == 2
        assert f"{flag} must be comma-separated integers >= 1" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "table.md").exists()


def test_ints_parses_and_refuses() -> None:
    assert _ints("64,16,4,2", "--goal-dims") == (64, 16, 4, 2)
    assert _ints(" 5 , 1,", "--trees") == (5, 1)
    for text in ("", ",", "a", "1,b", "0", "2,-1", "1.5"):
        with pytest.raises(UsageError, match=f"--trees must be .* got {text!r}"):
            _ints(text, "--trees")


def _args(**changes: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    for key, value in {"trials": 2, "episodes": 3, "seed": 4, **changes}.items():
        setattr(args, key, value)
    return args


def test_markdown_table() -> None:
    rows = [
        Row("hop (shipped)", 0.5, 0.25, 0.75, 12, None, None, 41.6),
        Row("hop-plus, goal_dim 4, prior off, 5 trees", None, None, None, 0, 0.1234, 1.5, 7.2),
    ]
    text = _markdown(STAG_HUNT, rows, _args())
    assert text.endswith("\n")
    assert f"`{STAG_HUNT}` (2 trials x 3 episodes per scenario, seed 4;" in text
    assert "for 5 search iterations each" in text
    # The command that made it: the env, then only the options away from their defaults
    # (--iterations 5 is the default, so it is not repeated).
    assert text.splitlines()[0].endswith(
        f"Generated by `hop-bench hop-plus-ablation --env {STAG_HUNT} --trials 2 --episodes 3 "
        "--seed 4`."
    )
    again = _markdown(SNOWDRIFT, rows, _args(goal_dims="4,2", readme=Path("README.md")))
    assert again.splitlines()[0].endswith(
        f"Generated by `hop-bench hop-plus-ablation --env {SNOWDRIFT} --goal-dims 4,2 "
        "--trials 2 --episodes 3 --seed 4 --readme README.md`."
    )
    assert _table_rows(text) == [
        ["hop (shipped)", "0.50 [0.25, 0.75]", "12", "n/a", "n/a", "42"],
        ["hop-plus, goal_dim 4, prior off, 5 trees", "n/a [n/a, n/a]", "0", "0.123", "1.500", "7"],
    ]
    header = [line for line in text.splitlines() if line.startswith("| agent")]
    assert len(header) == 1 and header[0].count("|") == 7


def test_each_env_has_its_own_readme_block_and_table_file(tmp_path: Path) -> None:
    snow_start, snow_end = markers(block(SNOWDRIFT))
    assert (START, END) == (
        "<!-- hop-plus-ablation:MarkovStagHunt-v0:start -->",
        "<!-- hop-plus-ablation:MarkovStagHunt-v0:end -->",
    )
    assert (snow_start, snow_end) == (
        "<!-- hop-plus-ablation:MarkovSnowdrift-v0:start -->",
        "<!-- hop-plus-ablation:MarkovSnowdrift-v0:end -->",
    )
    readme = tmp_path / "README.md"
    both = f"a\n{START}\nstag\n{END}\nb\n{snow_start}\nsnow\n{snow_end}\nc\n"
    readme.write_text(both)
    replace_block(readme, block(SNOWDRIFT), "| new snow |\n")
    assert readme.read_text() == both.replace("\nsnow\n", "\n| new snow |\n")
    replace_block(readme, block(STAG_HUNT), "| new stag |\n")
    assert readme.read_text() == both.replace("\nsnow\n", "\n| new snow |\n").replace(
        "\nstag\n", "\n| new stag |\n"
    )
    assert default_out(STAG_HUNT) == Path("docs/results/hop_plus_ablation_MarkovStagHunt-v0.md")
    assert default_out(SNOWDRIFT) == Path("docs/results/hop_plus_ablation_MarkovSnowdrift-v0.md")


def test_variant_run_names() -> None:
    on = hop_plus_ablation.Variant(16, True, 5)
    off = hop_plus_ablation.Variant(16, False, 1)
    assert (on.run_name, off.run_name) == ("d16-prior-on", "d16-prior-off")
    assert hop_plus_ablation.Variant(16, True, 1).run_name == on.run_name  # trees share a run
