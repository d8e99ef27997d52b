"""Shipping a trained learner: the copied files, the reproducing command, and the docs table
that must match the shipped checkpoints' own logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from baselines import shipping
from baselines.sb3.training import LearnerTrainConfig, LearnerTrainer
from baselines.shipped import SHIPPED_DIR

ROOT = Path(__file__).resolve().parents[2]


def test_the_command_names_only_what_differs_from_the_defaults() -> None:
    config = LearnerTrainConfig("ppo", "MarkovSnowdrift-v0", total_steps=10, num_envs=4)
    assert shipping.command_of(config.to_json()) == (
        "hop-bench train --agent ppo --env hop/MarkovSnowdrift-v0 --steps 10 --num-envs 4"
    )
    recurrent = LearnerTrainConfig("recurrent-ppo", "MarkovStagHunt-v0")
    assert recurrent.self_play_games == 0
    assert "--self-play-games" not in shipping.command_of(recurrent.to_json())
    with pytest.raises(ValueError, match="self-play games have no trials"):
        LearnerTrainConfig("recurrent-ppo", "MarkovStagHunt-v0", self_play_games=1)


@pytest.mark.filterwarnings("ignore")
def test_ship_copies_the_policy_and_logs_but_not_the_optimizer(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(shipping, "shipped_checkpoint", lambda *_: tmp_path / "shipped")
    config = LearnerTrainConfig(
        "a2c", "MarkovStagHunt-v0", total_steps=64, chunk_steps=64, num_envs=2, n_steps=8
    )
    trainer = LearnerTrainer(config, tmp_path / "run")
    trainer.train(progress=False)
    from baselines.sb3.training import plot_curve

    plot_curve(tmp_path / "run")
    target = shipping.ship(tmp_path / "run")
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [*shipping.SHIPPED_FILES, *shipping.RUN_FILES]
    )


@pytest.mark.filterwarnings("ignore")
def test_ship_copies_the_social_influence_learners_moa_but_not_its_optimizer(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(shipping, "shipped_checkpoint", lambda *_: tmp_path / "shipped")
    config = LearnerTrainConfig(
        "social-influence",
        "MarkovStagHunt-v0",
        total_steps=64,
        chunk_steps=64,
        num_envs=2,
        n_steps=8,
    )
    LearnerTrainer(config, tmp_path / "run").train(progress=False)
    from baselines.sb3.training import plot_curve

    plot_curve(tmp_path / "run")
    target = shipping.ship(tmp_path / "run")
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [*shipping.SHIPPED_FILES, "moa.json", "moa.safetensors", *shipping.RUN_FILES]
    )


def test_the_docs_table_matches_the_shipped_checkpoints() -> None:
    if not SHIPPED_DIR.is_dir():
        pytest.fail(f"{SHIPPED_DIR} is missing: the learners' checkpoints must ship")
    text = (ROOT / "docs" / "baselines.md").read_text()
    block = text.split(shipping.START, 1)[1].split(shipping.END, 1)[0].strip()
    assert block == shipping.table(), (
        "docs/baselines.md is out of date: run `python -m baselines.shipping`"
    )
