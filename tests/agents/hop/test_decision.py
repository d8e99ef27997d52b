"""HOP's decision process (:mod:`agents.hop.decision`), shared by the agent and training."""

from __future__ import annotations

import numpy as np
import pytest

import hop_envs
from agents.base import SeatInfo, Transition
from agents.hop.agent import HopAgent
from agents.hop.decision import HopDecider
from agents.hop.learned import NetworkEvaluator
from agents.hop.planner import MultiTreePlanner
from agents.hop.training.config import TrainConfig
from agents.hop.training.players import SearchLearner, planner_config
from hop_envs.coplayers import make_coplayer

SH = "hop/MarkovStagHunt-v0"
TINY_SH = {"num_players": 2, "grid_size": 5, "num_hares": 2, "num_wall_pieces": 0, "max_cycles": 10}


def seat_info(env, env_id: str, seat: int, env_kwargs: dict) -> SeatInfo:
    return SeatInfo.of_env(env, env_id, seat, env_kwargs=env_kwargs, focal_seats=(seat,))


def agent_with_training_settings(config: TrainConfig, seat: int) -> tuple[HopAgent, object]:
    """A ``hop`` agent set up to search as training does: the training search settings, the
    value net at the leaves, the exact co-player cache, the training belief settings."""
    agent = HopAgent(
        weights=None,
        num_trees=config.num_trees,
        num_simulations=config.num_simulations,
        c_puct=config.c_puct,
        discount=config.discount,
        beta=config.beta,
        leaves_per_round=1,
        rollout_weight=0.0,
        om_cache="exact",
        belief_alpha=config.belief_alpha,
    )
    env = hop_envs.make(config.env_id, **config.env_kwargs)
    agent.reset(seed=0, seat=seat_info(env, config.env_id, seat, config.env_kwargs))
    return agent, env


def test_training_and_the_agent_decide_through_the_same_code(monkeypatch) -> None:
    # No root noise, so the training search settings are exactly those the agent is given.
    config = TrainConfig(env_kwargs=TINY_SH, num_trees=2, num_simulations=6, dirichlet_fraction=0.0)
    agent, env = agent_with_training_settings(config, seat=0)
    assert agent.planner_config == planner_config(config)
    learner = SearchLearner(
        agent.rules, 0, agent.focal_net, agent.opponent_model, config, np.random.default_rng(5)
    )
    # One class: both hold a HopDecider, and both decide and update beliefs through it.
    assert type(agent.decider) is HopDecider and type(learner.decider) is HopDecider
    calls: list[str] = []
    search, observe = HopDecider.search, HopDecider.observe

    def spy_search(self, observation, rng):
        calls.append(f"search {self.seat}")
        return search(self, observation, rng)

    def spy_observe(self, transition):
        calls.append(f"observe {self.seat}")
        return observe(self, transition)

    monkeypatch.setattr(HopDecider, "search", spy_search)
    monkeypatch.setattr(HopDecider, "observe", spy_observe)

    # The same episode through both, with the same RNG: the same searches, actions, beliefs.
    agent.rng = np.random.default_rng(5)
    coplayer = make_coplayer("nearest-hare", config.env_id)
    coplayer.reset(seed=1, seat=seat_info(env, config.env_id, 1, config.env_kwargs))
    coplayer.start_episode()
    observations, _ = env.reset(seed=2)
    agent.start_episode()
    learner.begin(observations["player_0"])
    steps = 0
    while "player_0" in env.agents:
        mine = agent.act(observations["player_0"])
        assert learner.act(observations["player_0"]) == mine
        a, b = agent.last_search, learner.last_search
        for field in ("policy", "q_values", "visit_counts", "target_visits"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        actions = {"player_0": mine}
        if "player_1" in env.agents:
            actions["player_1"] = coplayer.act(observations["player_1"])
        observations, *rest = env.step(actions)
        transition = Transition(actions, observations, *rest)
        coplayer.observe(transition)
        agent.observe(transition)
        learner.observe(transition)
        assert agent.beliefs.posterior(1) == learner.beliefs.posterior(1)
        steps += 1
    assert steps >= 2
    assert calls[:4] == ["search 0", "search 0", "observe 0", "observe 0"]
    assert len(calls) == 4 * steps


def test_the_search_state_knows_when_the_first_capture_was() -> None:
    # With end_after_first_hunt the env ends the episode a fixed number of steps after the
    # first capture; the search must plan from a state that carries that step (the old
    # training copy planned as if nobody had captured yet, i.e. first_capture_t = -1).
    kwargs = {**TINY_SH, "max_cycles": 30, "end_after_first_hunt": 6, "num_hares": 3}
    config = TrainConfig(env_kwargs=kwargs, num_trees=1, num_simulations=2)
    agent, env = agent_with_training_settings(config, seat=0)
    learner = SearchLearner(
        agent.rules, 0, agent.focal_net, agent.opponent_model, config, np.random.default_rng(0)
    )
    roots = []
    plan = learner.decider.planner.plan

    def spy(state, *args, **kw):
        roots.append(state.copy())
        return plan(state, *args, **kw)

    learner.decider.planner.plan = spy  # type: ignore[method-assign]
    coplayer = make_coplayer("nearest-hare", config.env_id)
    coplayer.reset(seed=0, seat=seat_info(env, config.env_id, 1, kwargs))
    coplayer.start_episode()
    truth = []
    for seed in range(10):
        observations, _ = env.reset(seed=seed)
        learner.begin(observations["player_0"])
        while "player_0" in env.agents:
            truth.append(env.unwrapped.core_state.first_capture_t)
            actions = {"player_0": learner.act(observations["player_0"])}
            if "player_1" in env.agents:
                actions["player_1"] = coplayer.act(observations["player_1"])
            observations, *rest = env.step(actions)
            transition = Transition(actions, observations, *rest)
            coplayer.observe(transition)
            learner.observe(transition)
        while env.agents:  # the learner left: the rest is still observed (not searched)
            actions = {"player_1": coplayer.act(observations["player_1"])}
            observations, *rest = env.step(actions)
            transition = Transition(actions, observations, *rest)
            coplayer.observe(transition)
            learner.observe(transition)
        learner.finish()
        if max(truth) >= 0:
            break
    assert max(truth) >= 0, "no capture while the learner was in the game"
    assert [r.first_capture_t for r in roots] == truth


def test_the_parts_each_side_builds() -> None:
    config = TrainConfig(env_kwargs=TINY_SH, num_trees=2, num_simulations=3)
    agent, _ = agent_with_training_settings(config, seat=1)
    learner = SearchLearner(
        agent.rules, 1, agent.focal_net, agent.opponent_model, config, np.random.default_rng(0)
    )
    # The beliefs ask the opponent model itself; the search asks it behind the cache.
    for side in (agent, learner):
        decider = side.decider
        assert decider.beliefs.policy is side.policy
        assert decider.search_policy.policy is side.policy
        assert decider.seat == 1 and decider.recorder.focal_seat == 1
    assert agent.decider.search_policy is agent.search_policy
    assert agent.decider.recorder is agent.recorder
    # Training: DESIGN's search with root noise, value-net leaves, the exact cache.
    assert learner.decider.planner.config == planner_config(config)
    assert learner.decider.planner.config.dirichlet_fraction == 0.25
    assert type(learner.decider.evaluator) is NetworkEvaluator
    assert learner.decider.evaluator.net is agent.focal_net
    assert learner.decider.search_policy.mode == "exact"
    assert learner.beliefs.config.alpha == config.belief_alpha


def test_misuse_is_refused() -> None:
    config = TrainConfig(env_kwargs=TINY_SH, num_trees=1, num_simulations=2)
    agent, env = agent_with_training_settings(config, seat=0)
    decider = agent.decider
    observations, _ = env.reset(seed=0)
    fresh = HopDecider(
        agent.rules,
        0,
        planner=MultiTreePlanner(agent.rules, agent.planner_config),
        search_policy=agent.search_policy,
        evaluator=agent.evaluator,
        beliefs=decider.beliefs,
        recorder=decider.recorder,
    )
    with pytest.raises(RuntimeError, match=r"HopDecider.search: call begin\(observation\) first"):
        fresh.search(observations["player_0"], np.random.default_rng(0))
    with pytest.raises(RuntimeError, match=r"HopDecider.finish: call begin"):
        fresh.finish()
    with pytest.raises(ValueError, match="the beliefs are for seat 0, not seat 1"):
        HopDecider(
            agent.rules,
            1,
            planner=decider.planner,
            search_policy=decider.search_policy,
            evaluator=decider.evaluator,
            beliefs=decider.beliefs,
            recorder=decider.recorder,
        )
