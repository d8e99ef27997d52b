"""The planner-facing adapters of the learned networks: batched, masked, exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.hop.beliefs import BeliefConfig, GoalBeliefs
from agents.hop.features import FeatureBuilder
from agents.hop.interfaces import IDLE, PolicyQuery
from agents.hop.learned import LearnedCoplayerPolicy, NetworkEvaluator
from agents.hop.networks import ACTION_MODEL, FOCAL, GOAL_OM, NetworkConfig, build_network
from agents.hop.planner import MultiTreePlanner, PlannerConfig
from hop_envs.core import HARE, STAG, SnowdriftConfig, SnowdriftRules, StagHuntConfig, StagHuntRules

STAG_RULES = StagHuntRules(StagHuntConfig(num_wall_pieces=3))
DRIFT_RULES = SnowdriftRules(SnowdriftConfig(num_wall_pieces=1))
SMALL = {"conv_channels": (8, 8), "hidden": 32}


def net(rules, kind, seed=0):
    return build_network(NetworkConfig.for_rules(rules, kind, **SMALL), seed=seed)


def some_states(rules, count, seed):
    rng = np.random.default_rng(seed)
    states = []
    for _ in range(count):
        s = rules.reset(rng)
        for _ in range(int(rng.integers(0, 15))):
            if s.over:
                break
            rules.step(s, [int(rng.choice(np.flatnonzero(m))) for m in rules.action_masks(s)])
        states.append(s)
    return states


def stag_queries(count=30, seed=0):
    rng = np.random.default_rng(seed)
    return [
        PolicyQuery(s, int(rng.integers(4)), int(rng.choice([STAG, HARE, IDLE])))
        for s in some_states(STAG_RULES, count, seed)
    ]


def test_coplayer_probabilities_are_the_models_softmax_masked_exactly():
    model = net(STAG_RULES, GOAL_OM)
    policy = LearnedCoplayerPolicy(model, STAG_RULES)
    queries = stag_queries()
    probs = policy.action_probs(queries)
    assert probs.shape == (30, 7) and probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-12)
    masks = FeatureBuilder(STAG_RULES).masks(
        [q.state for q in queries], [q.player for q in queries]
    )
    assert (probs[~masks] == 0.0).all()
    for k, q in enumerate(queries):  # IDLE too: a trained goal in both games
        f = FeatureBuilder(STAG_RULES).build([q.state], [q.player], [q.goal])
        with torch.inference_mode():
            expected = torch.softmax(model.run(f), 1).numpy()[0]
        np.testing.assert_allclose(probs[k], expected, atol=1e-6)


def test_one_batch_gives_what_single_queries_give():
    policy = LearnedCoplayerPolicy(net(DRIFT_RULES, GOAL_OM), DRIFT_RULES)
    states = some_states(DRIFT_RULES, 12, seed=3)
    queries = [
        PolicyQuery(s, k % 4, IDLE if k % 3 == 0 else int(s.object_pos[s.object_alive][0]))
        for k, s in enumerate(states)
    ]
    batched = policy.action_probs(queries)
    single = np.concatenate([policy.action_probs([q]) for q in queries])
    np.testing.assert_allclose(batched, single, atol=1e-6)
    # Snowdrift IDLE is a trained goal: it goes through the model, not a uniform stand-in.
    masks = FeatureBuilder(DRIFT_RULES).masks(states, [q.player for q in queries])
    idle = batched[0]
    assert not np.allclose(idle, masks[0] / masks[0].sum())


def test_goal_free_model_ignores_goals_and_goal_model_needs_them():
    free = LearnedCoplayerPolicy(net(STAG_RULES, ACTION_MODEL), STAG_RULES)
    queries = stag_queries(8, seed=4)
    without = [PolicyQuery(q.state, q.player) for q in queries]
    np.testing.assert_array_equal(free.action_probs(queries), free.action_probs(without))
    goal = LearnedCoplayerPolicy(net(STAG_RULES, GOAL_OM), STAG_RULES)
    with pytest.raises(ValueError, match=r"query 1 \(player 2\) has goal None"):
        goal.action_probs([queries[0], PolicyQuery(queries[1].state, 2)])
    assert goal.action_probs([]).shape == (0, 7)


def test_adapters_check_the_model_kind_and_the_game():
    with pytest.raises(TypeError, match="got FocalNet"):
        LearnedCoplayerPolicy(net(STAG_RULES, FOCAL), STAG_RULES)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="does not fit SnowdriftRules"):
        LearnedCoplayerPolicy(net(STAG_RULES, GOAL_OM), DRIFT_RULES)
    with pytest.raises(TypeError, match="focal_net must be a FocalNet, got ActionModel"):
        NetworkEvaluator(net(STAG_RULES, ACTION_MODEL), STAG_RULES)  # type: ignore[arg-type]


def test_network_evaluator_priors_and_values():
    focal = net(STAG_RULES, FOCAL, seed=2)
    evaluator = NetworkEvaluator(focal, STAG_RULES)
    states = [s for s in some_states(STAG_RULES, 20, seed=5) if s.active[1]]
    priors, values = evaluator.evaluate(states, 1)
    assert priors.shape == (len(states), 7) and values.shape == (len(states),)
    f = FeatureBuilder(STAG_RULES).build(states, [1] * len(states))
    assert (priors[~f.masks] == 0.0).all()
    np.testing.assert_allclose(priors.sum(1), 1.0, rtol=1e-12)
    with torch.inference_mode():
        logits, expected_values = focal.run(f)
    np.testing.assert_allclose(values, expected_values.numpy(), atol=1e-6)
    np.testing.assert_allclose(priors, torch.softmax(logits, 1).numpy(), atol=1e-6)
    empty_priors, empty_values = evaluator.evaluate([], 1)
    assert empty_priors.shape == (0, 7) and empty_values.shape == (0,)


def test_the_planner_runs_on_the_learned_adapters_and_beliefs():
    rules = STAG_RULES
    policy = LearnedCoplayerPolicy(net(rules, GOAL_OM, seed=1), rules)
    evaluator = NetworkEvaluator(net(rules, FOCAL, seed=2), rules)
    beliefs = GoalBeliefs(rules, policy, focal_seat=0, config=BeliefConfig())
    state = rules.reset(np.random.default_rng(9))
    beliefs.start_episode(state)
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=3, num_simulations=12))
    rng = np.random.default_rng(0)
    result = planner.plan(
        state,
        0,
        policy,
        evaluator,
        rng,
        goals=[beliefs.sample_goals(rng) for _ in range(3)],
    )
    mask = rules.action_mask(state, 0).astype(bool)
    assert result.policy.shape == (7,) and (result.policy[~mask] == 0).all()
    assert result.policy.sum() == pytest.approx(1.0)
