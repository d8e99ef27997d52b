"""``hop-plus`` plays every standard scenario: with the shipped weights, and untrained with
each subgoal size the issue names (64, 16, 4, 2). Tiny searches keep it fast; the slow test
plays every scenario with every subgoal size."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from evaluation.jobs import AgentSpec, TrialJob
from evaluation.runner import run_trial
from evaluation.scenarios import load_scenario, scenario_names

TINY = {"num_trees": 2, "num_simulations": 3, "rollout_depth": 3}
GOAL_DIMS = (64, 16, 4, 2)
SCENARIOS = scenario_names()


def short(scenario, max_cycles: int):
    return dataclasses.replace(
        scenario, env_kwargs={**scenario.env_kwargs, "max_cycles": max_cycles}
    )


def check(records, episodes: int, max_length: int) -> None:
    assert [r.episode for r in records] == list(range(episodes))
    for r in records:
        assert all(np.isfinite(r.returns)) and 1 <= r.length <= max_length
        assert r.agent.startswith("hop-plus")


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_standard_scenario_runs_with_the_shipped_weights(name: str) -> None:
    # The shipped networks fit the env's default arguments (max_cycles included), so the
    # episode keeps its full length here.
    scenario = load_scenario(name)
    spec = AgentSpec("hop-plus", TINY)
    records = list(run_trial(TrialJob(spec, scenario, seed=1, trial=0, episodes=1)))
    check(records, 1, scenario_max_cycles(scenario))


# Each scenario with one untrained subgoal size, the sizes in turn, so every size plays
# scenarios of both games (two episodes: the subgoal model trains between them).
ROTATION = list(zip(SCENARIOS, itertools.cycle(GOAL_DIMS), strict=False))


def test_the_rotation_gives_every_goal_dim_scenarios_of_both_games() -> None:
    for d in GOAL_DIMS:
        envs = {name.split("/")[0] for name, dim in ROTATION if dim == d}
        assert envs == {"msh", "msg"}


@pytest.mark.parametrize(("name", "goal_dim"), ROTATION)
def test_every_standard_scenario_runs_untrained(name: str, goal_dim: int) -> None:
    scenario = short(load_scenario(name), 8)
    spec = AgentSpec("hop-plus", {**TINY, "weights": None, "goal_dim": goal_dim})
    records = list(run_trial(TrialJob(spec, scenario, seed=2, trial=0, episodes=2)))
    check(records, 2, 8)


@pytest.mark.slow
@pytest.mark.parametrize("goal_dim", GOAL_DIMS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_standard_scenario_runs_untrained_with_every_goal_dim(
    name: str, goal_dim: int
) -> None:
    scenario = load_scenario(name)
    spec = AgentSpec("hop-plus", {**TINY, "weights": None, "goal_dim": goal_dim})
    records = list(run_trial(TrialJob(spec, scenario, seed=3, trial=0, episodes=2)))
    check(records, 2, scenario_max_cycles(scenario))


def scenario_max_cycles(scenario) -> int:
    import hop_envs

    return int(
        hop_envs.make(scenario.env_id, **scenario.env_kwargs).unwrapped.rules.config.max_cycles
    )
