"""Held-out means held out: no shipped agent trains, pre-trains or tunes on a held-out
co-player (the training configurations refuse them at start-up)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.hop.action_model_training import rule_based_population
from agents.hop.training.config import DEFAULT_POPULATIONS, SELF, TrainConfig
from hop_envs.coplayers import HELD_OUT, TRAINING, coplayer_names

CHECKPOINTS = Path(__file__).parents[3] / "agents" / "hop" / "checkpoints"
ENVS = ("hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0")


@pytest.mark.parametrize("env_id", ENVS)
def test_default_training_populations_are_training_coplayers_or_self_play(env_id):
    training = set(coplayer_names(env_id, population=TRAINING))
    assert set(DEFAULT_POPULATIONS[env_id]) <= training | {SELF}
    assert set(TrainConfig(env_id=env_id).population) <= training | {SELF}
    assert set(TrainConfig(env_id=env_id).rule_based_population) <= training


@pytest.mark.parametrize("env_id", ENVS)
def test_a_training_run_with_a_heldout_coplayer_is_refused_at_start_up(env_id):
    heldout = coplayer_names(env_id, population=HELD_OUT)
    assert len(heldout) >= 4
    for name in heldout:
        with pytest.raises(ValueError, match=f"'{name}' is a held-out co-player"):
            TrainConfig(env_id=env_id, population=(SELF, name))


@pytest.mark.parametrize("env_id", ENVS)
def test_the_action_models_offline_data_come_from_the_training_population(env_id):
    assert set(rule_based_population(env_id)) == set(coplayer_names(env_id, population=TRAINING))


@pytest.mark.parametrize("env", ["MarkovStagHunt-v0", "MarkovSnowdrift-v0"])
def test_the_shipped_checkpoints_were_trained_on_the_training_population(env):
    state = json.loads((CHECKPOINTS / env / "training.json").read_text())
    population = set(state["config"]["population"])
    heldout = set(coplayer_names(f"hop/{env}", population=HELD_OUT))
    assert population and not population & heldout
    assert population <= set(coplayer_names(f"hop/{env}", population=TRAINING)) | {SELF}
