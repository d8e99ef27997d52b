"""Compiled rollouts (:mod:`agents.hop.compiled_rollouts`) give the numpy loop's numbers.

The compiled loop must draw the same random numbers in the same order and compute the same
values as :meth:`RolloutEvaluator._numpy_rollouts`, so that a search decides the same either
way: these tests run both on the same leaves and seeds and compare values, Generator states,
redrawn goals and whole searches bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_batched_valuation import (
    RULES,
    goal_model,
    goals_for,
    random_states,
)

from agents.base import SeatInfo
from agents.hop.agent import HopAgent
from agents.hop.coplayer_cache import CachedCoplayerPolicy
from agents.hop.evaluators import RolloutEvaluator
from agents.hop.goal_sampling import BeliefGoalSampler, SamplerRedraw
from agents.hop.interfaces import IDLE, NO_GOAL
from hop_envs.core import GridRules, StagHuntConfig, StagHuntRules
from hop_envs.core.positions import random_positions


def leaves(rules: GridRules, count: int, seed: int) -> tuple[list, list[tuple]]:
    """Leaves of one board (as in one search) and a goal per co-player (focal seat 0)."""
    states = random_states(rules, count, seed, same_board=True)
    rng = np.random.default_rng(seed)
    goal_rows = []
    for s in states:
        seats = list(range(1, rules.num_players))
        goals = goals_for(rules, [s] * len(seats), seats, rng)
        goal_rows.append((None, *(int(g) for g in goals)))
    return states, goal_rows


def beliefs(rules: GridRules, state, seed: int, *, zero: bool = False) -> BeliefGoalSampler:
    """Random beliefs over every goal of ``state`` (and IDLE); ``zero``: no weight on any
    goal but IDLE for seat 1, and no belief at all for the last seat (both fall back to the
    sampler's uniform draw once their goal is gone)."""
    rng = np.random.default_rng(seed)
    goals = [*rules.goals.available(state), IDLE]
    table = {}
    for seat in range(1, rules.num_players):
        weights = rng.random(len(goals))
        if zero and seat == 1:
            weights[:-1] = 0.0
            weights[-1] = 0.0
        table[seat] = dict(zip(goals, weights.tolist(), strict=True))
    if zero:
        table.pop(rules.num_players - 1)
    return BeliefGoalSampler(rules, table)


def run_rollouts(
    rules: GridRules, compiled: bool, focal_policy: str, redraw_kind: str, seed: int
) -> dict[str, Any]:
    states, goal_rows = leaves(rules, 10, seed)
    cache = CachedCoplayerPolicy(goal_model(rules, seed), rules, "own-cell")
    evaluator = RolloutEvaluator(
        rules, cache, depth=12, focal_policy=focal_policy, seed=seed, compiled=compiled
    )
    search_rng = np.random.default_rng(seed + 100)
    asked: list[tuple[int, int]] = []
    if redraw_kind == "function":

        def redraw(s, seat):
            asked.append((seat, int(s.object_alive.sum())))
            return int(search_rng.choice([*rules.goals.available(s), IDLE]))

    else:
        redraw = SamplerRedraw(
            beliefs(rules, states[0], seed, zero=redraw_kind == "fallback"), search_rng
        )
    values = evaluator.values_with_goals(states, 0, goal_rows, redraw)
    return {
        "values": values,
        "rollout_rng": evaluator.rng.bit_generator.state,
        "search_rng": search_rng.bit_generator.state,
        "asked": asked,
        "fields": cache.fields.copy(),
    }


#: The test module's games, and a small stag hunt with one hare, whose goals vanish often.
GAMES = [*RULES, StagHuntRules(StagHuntConfig(grid_size=5, num_hares=1))]
GAME_IDS = ["stag", "snowdrift", "stag-3p-walls", "stag-small"]


@pytest.mark.parametrize("rules", GAMES, ids=GAME_IDS)
@pytest.mark.parametrize("focal_policy", ["random", "greedy", "best-kind", "best-option"])
@pytest.mark.parametrize("redraw_kind", ["beliefs", "fallback", "function"])
def test_compiled_rollouts_equal_the_numpy_loop(
    rules: GridRules, focal_policy: str, redraw_kind: str
) -> None:
    for seed in (0, 1):
        compiled = run_rollouts(rules, True, focal_policy, redraw_kind, seed)
        numpy_loop = run_rollouts(rules, False, focal_policy, redraw_kind, seed)
        assert np.array_equal(compiled["values"], numpy_loop["values"])
        assert compiled["rollout_rng"] == numpy_loop["rollout_rng"]
        assert compiled["search_rng"] == numpy_loop["search_rng"]
        assert compiled["asked"] == numpy_loop["asked"]
        assert np.array_equal(compiled["fields"], numpy_loop["fields"])


@pytest.mark.parametrize("rules", [GAMES[1], GAMES[3]], ids=["snowdrift", "stag-small"])
def test_redraws_happen_and_the_fallback_is_reached(rules: GridRules) -> None:
    """The comparisons above are not vacuous: goals get redrawn (the search Generator moves)
    with beliefs and with the uniform fallback, and rollouts earn rewards."""
    moved = {"beliefs": 0, "fallback": 0}
    for kind in moved:
        for seed in (0, 1):
            before = np.random.default_rng(seed + 100).bit_generator.state
            out = run_rollouts(rules, True, "best-kind", kind, seed)
            moved[kind] += out["search_rng"] != before
            assert (out["values"] != 0.0).any()
    assert moved["beliefs"] and moved["fallback"], moved


def test_a_goal_outside_the_cache_keys_is_named_on_either_path() -> None:
    rules = StagHuntRules(StagHuntConfig())
    states, goal_rows = leaves(rules, 2, 0)
    bad = [(None, 99, *row[2:]) for row in goal_rows]
    for compiled in (True, False):
        cache = CachedCoplayerPolicy(goal_model(rules), rules, "own-cell")
        evaluator = RolloutEvaluator(rules, cache, depth=3, seed=0, compiled=compiled)
        with pytest.raises(ValueError, match="goal 99 is outside"):
            evaluator.values_with_goals(states, 0, bad, lambda s, j: IDLE)
    assert NO_GOAL not in bad[0][1:]


def hop_agent(env_id: str, compiled: bool) -> HopAgent:
    import hop_envs

    env = hop_envs.make(env_id.split("/")[1])
    agent = HopAgent()
    agent.reset(seed=0, seat=SeatInfo.of_env(env, env_id, 0))
    agent.evaluator.rollouts.compiled = compiled
    return agent


@pytest.mark.parametrize("env_id", ["hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0"])
def test_hop_searches_decide_the_same_with_compiled_rollouts(env_id: str) -> None:
    """Whole searches of the shipped ``hop`` agent from real positions, beliefs drawn as
    the agent draws them: every field of the search result is equal."""
    agents = [hop_agent(env_id, True), hop_agent(env_id, False)]
    rules = agents[0].rules
    results = []
    for agent in agents:
        rng = np.random.default_rng(7)
        out = []
        for state in random_positions(rules, 3, 1):
            sampler = BeliefGoalSampler(
                rules, {j: {g: 1.0 for g in rules.goals.available(state)} for j in (1, 2, 3)}
            )
            agent.search_policy.clear()
            out.append(
                agent.planner.plan(
                    state, 0, agent.search_policy, agent.evaluator, rng, goal_sampler=sampler
                )
            )
        results.append(out)
    for a, b in zip(*results, strict=True):
        for name in ("policy", "q_values", "tree_q", "visit_counts", "target_visits", "q_lower"):
            assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
