"""``hop-bench hop-plus-validate``: the leave-one-training-co-player-out choice of HOP+'s
iteration count (its statistics by hand, its pieces, a small-budget run end to end)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from evaluation.cli import main
from evaluation.cli_common import UsageError
from evaluation.hop_plus_validation import (
    count_scores,
    iteration_counts,
    markdown,
    train_overrides,
    validation_scenario,
    verdict,
)
from evaluation.store import ResultStore
from hop_envs.coplayers import HELD_OUT, TRAINING, coplayer_names

STAG_HUNT = "hop/MarkovStagHunt-v0"
TRAINING_NAMES = coplayer_names(STAG_HUNT, population=TRAINING)
TINY_TRAIN = [
    "goal_dim=2",
    "prior_episodes=2",
    "prior_epochs=1",
    "pretrain_subgoal_epochs=1",
    "trials_per_iteration=1",
    "episodes_per_trial=1",
    "num_trees=1",
    "num_simulations=2",
    "subgoal_epochs=1",
    "focal_epochs=1",
]


# -- statistics, by hand -----------------------------------------------------------------------
def test_count_scores_by_hand() -> None:
    # Count 0: fold a always 1, fold b always 0; count 20 (the baseline): 0 everywhere.
    scores = {0: {"a": [1.0, 1.0, 1.0], "b": [0.0, 0.0, 0.0]}, 20: {"a": [0.0] * 3, "b": [0.0] * 3}}
    zero, twenty = count_scores(scores, baseline=20)
    # IQM of the pooled [1, 1, 1, 0, 0, 0]: int(0.25 * 6) = 1 cut from each end, mean of
    # [0, 0, 1, 1] = 0.5.
    assert zero.iterations == 0 and zero.iqm == pytest.approx(0.5)
    assert zero.fold_means == {"a": 1.0, "b": 0.0}
    # P(0 > 20): fold a 1 (every pair wins), fold b 0.5 (every pair ties): 0.75; no
    # resample can change either, so the interval is the point.
    assert zero.p_vs_baseline == pytest.approx((0.75, 0.75, 0.75))
    assert verdict(zero, 20) == "better than 20"
    assert twenty.p_vs_baseline is None and twenty.iqm == 0.0
    assert verdict(twenty, 20) == "the baseline"
    flipped = count_scores({0: scores[20], 20: scores[0]}, baseline=20)[0]
    assert flipped.p_vs_baseline == pytest.approx((0.25, 0.25, 0.25))
    assert verdict(flipped, 20) == "worse than 20"


def test_verdict_within_noise_when_the_interval_holds_one_half() -> None:
    scores = {5: {"a": [0.0, 1.0], "b": [0.0, 1.0]}, 20: {"a": [0.0, 1.0], "b": [0.0, 1.0]}}
    row = count_scores(scores, baseline=20)[0]
    assert row.p_vs_baseline[0] == pytest.approx(0.5)
    assert verdict(row, 20) == "within noise"


def test_markdown_names_the_best_count_and_every_fold() -> None:
    scores = {0: {"a": [1.0, 1.0, 1.0], "b": [0.0, 0.0, 0.0]}, 20: {"a": [0.0] * 3, "b": [0.0] * 3}}
    args = argparse.Namespace(trials=3, episodes=2, seed=0)
    text = markdown(STAG_HUNT, ["a", "b"], scores, 20, args)
    assert "| 0 | 0.50 [" in text and "| 1.00 | 0.00 | 0.75 [0.75, 0.75], better than 20 |" in text
    assert "| 20 | 0.00 [0.00, 0.00] | 0.00 | 0.00 | the baseline |" in text
    assert "without `a` | without `b`" in text
    assert text.rstrip().endswith("Highest IQM: 0 iterations (better than 20).")


# -- pieces ------------------------------------------------------------------------------------
def test_iteration_counts_parse_and_refuse() -> None:
    assert iteration_counts("20,0, 5") == (0, 5, 20)
    for bad in ("", "x", "-1", "5,5"):
        with pytest.raises(UsageError, match=f"--iterations must be .* got {bad!r}"):
            iteration_counts(bad)


def test_train_overrides_refuse_unknown_and_reserved_fields() -> None:
    assert train_overrides([("prior_episodes", 3)]) == {"prior_episodes": 3}
    with pytest.raises(UsageError, match="--train-arg population: set by this command"):
        train_overrides([("population", ["random"])])
    with pytest.raises(UsageError, match="--train-arg nope: not a HopPlusTrainConfig field"):
        train_overrides([("nope", 1)])


def test_validation_scenario_is_the_training_one_vs_three() -> None:
    for name in TRAINING_NAMES:
        assert validation_scenario(STAG_HUNT, name).name == f"msh/adapt-1v3-{name}"
    held_out = coplayer_names(STAG_HUNT, population=HELD_OUT)[0]
    with pytest.raises(ValueError, match=f"{held_out!r} in every co-player seat, found \\[\\]"):
        validation_scenario(STAG_HUNT, held_out)


# -- end to end, small budget ------------------------------------------------------------------
def _argv(tmp_path: Path) -> list[str]:
    argv = ["hop-plus-validate", "--iterations", "0", "--baseline", "1"]
    argv += ["--trials", "1", "--episodes", "1", "--workers", "1", "--no-progress"]
    argv += ["--agent-arg", "num_trees=1", "--agent-arg", "num_simulations=2"]
    for pair in TINY_TRAIN:
        argv += ["--train-arg", pair]
    argv += ["--runs", str(tmp_path / "runs"), "--db", str(tmp_path / "db.sqlite")]
    return argv


def test_small_budget_run_trains_each_fold_without_its_coplayer_and_reuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_argv(tmp_path)) == 0
    table = (tmp_path / "runs" / "MarkovStagHunt-v0.md").read_text()
    assert table in capsys.readouterr().out
    for name in TRAINING_NAMES:
        fold = tmp_path / "runs" / "MarkovStagHunt-v0" / f"without-{name}"
        config = json.loads((fold / "run" / "training.json").read_text())["config"]
        assert name not in config["population"]
        assert sorted(config["population"]) == sorted(set(TRAINING_NAMES) - {name})
        for k in (0, 1):
            assert (fold / f"iteration-{k}" / "subgoal_model" / "config.json").is_file()
        assert f"without `{name}`" in table
    rows = [
        line for line in table.splitlines() if line.startswith("| 0 ") or line.startswith("| 1 ")
    ]
    assert len(rows) == 2 and rows[1].endswith("| the baseline |")
    with ResultStore(tmp_path / "db.sqlite") as store:
        stored = store.count()
    assert stored == 2 * len(TRAINING_NAMES)  # one episode per count and fold
    # A second run trains and plays nothing new and writes the same table.
    assert main(_argv(tmp_path)) == 0
    with ResultStore(tmp_path / "db.sqlite") as store:
        assert store.count() == stored
    assert (tmp_path / "runs" / "MarkovStagHunt-v0.md").read_text() == table
    # Asking for count 5 means going on with the folds' runs; a run of another configuration
    # (goal_dim 2, now 3) is refused rather than mixed in.
    capsys.readouterr()
    argv = _argv(tmp_path)
    argv[argv.index("goal_dim=2")] = "goal_dim=3"
    argv[argv.index("--iterations") + 1] = "5"
    assert main(argv) == 2
    assert "holds a run of another configuration" in capsys.readouterr().err
