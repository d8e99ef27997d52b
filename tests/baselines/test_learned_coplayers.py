"""The learners as co-players: their population, the scenarios with learned backgrounds,
what a plug-in may declare, and that nothing pickled ships."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from baselines.shipped import shipped_learners
from evaluation.scenarios import learned_backgrounds, load_scenario, scenario_names
from hop_envs.coplayers import (
    COPLAYERS,
    LEARNED,
    TRAINING,
    coplayer_names,
    coplayer_population,
)

ROOT = Path(__file__).resolve().parents[2]
ENVS = ("hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0")


def test_the_learners_are_learned_coplayers_outside_the_rule_based_training_set() -> None:
    for name in ("ppo", "a2c", "prosocial-ppo", "recurrent-ppo"):
        assert coplayer_population(name) == LEARNED
        assert name in coplayer_names("hop/MarkovStagHunt-v0")
    for env_id in ENVS:
        training = coplayer_names(env_id, population=TRAINING)
        assert not set(training) & {"ppo", "a2c", "prosocial-ppo", "recurrent-ppo"}


@pytest.mark.parametrize("env_id", ENVS)
def test_every_shipped_learner_has_an_adapt_scenario_as_background(env_id: str) -> None:
    learners = shipped_learners(env_id)
    assert learned_backgrounds(env_id) == learners
    prefix = "msh" if "Stag" in env_id else "msg"
    for name in learners:
        scenario = load_scenario(f"{prefix}/adapt-1v3-{name}")
        assert scenario.background == ((name,),) * 3 and scenario.family == "training"
    assert f"{prefix}/adapt-hidden" in scenario_names(env_id)


class ClaimsTraining:
    population = "training"


class HeldOutPlugin:
    population = "held-out"


def test_a_plugin_may_not_join_the_rule_based_training_population() -> None:
    COPLAYERS.register("claims-training", ClaimsTraining)
    COPLAYERS.register("held-out-plugin", HeldOutPlugin)
    try:
        with pytest.raises(ValueError, match="'claims-training' declares population 'training'"):
            coplayer_population("claims-training")
        assert coplayer_population("held-out-plugin") == "held-out"
        assert coplayer_population("my_pkg.players:Shy") == "plug-in"
    finally:
        COPLAYERS.unregister("claims-training")
        COPLAYERS.unregister("held-out-plugin")


def test_no_pickled_or_zipped_model_is_tracked() -> None:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [f for f in files if f.endswith((".zip", ".pkl", ".pickle", ".pt", ".pth"))]
