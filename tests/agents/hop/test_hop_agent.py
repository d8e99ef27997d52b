"""The composed ``hop`` agent: every scenario runs untrained, beliefs, buffer, weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import hop_envs
from agents.base import SeatInfo, Transition
from agents.hop.agent import HopAgent
from agents.hop.interfaces import PolicyQuery
from agents.registry import make_agent
from evaluation.jobs import AgentSpec, TrialJob
from evaluation.runner import run_trial
from evaluation.scenarios import load_scenario, scenario_names
from hop_envs.core import STAY

TINY = {"num_trees": 2, "num_simulations": 3}


def seat_info(env, seat: int, env_kwargs=None) -> SeatInfo:
    name = type(env.unwrapped).__name__
    env_id = "hop/MarkovStagHunt-v0" if "Stag" in name else "hop/MarkovSnowdrift-v0"
    return SeatInfo.of_env(env, env_id, seat, env_kwargs=env_kwargs, focal_seats=(seat,))


def short(scenario, max_cycles: int):
    kwargs = {**scenario.env_kwargs, "max_cycles": max_cycles}
    return dataclasses.replace(scenario, env_kwargs=kwargs)


def play(env, agent, seat: int, seed: int, steps: int, coplayer_seed: int = 0):
    """Drive one episode by hand: ``agent`` at ``seat``, random legal moves elsewhere."""
    rng = np.random.default_rng(coplayer_seed)
    observations, _ = env.reset(seed=seed)
    agent.start_episode()
    me = f"player_{seat}"
    for _ in range(steps):
        if me not in env.agents:
            break
        actions = {}
        for a in env.agents:
            if a == me:
                actions[a] = agent.act(observations[a])
            else:
                actions[a] = int(rng.choice(np.flatnonzero(observations[a]["action_mask"])))
        observations, rewards, terms, truncs, infos = env.step(actions)
        agent.observe(Transition(actions, observations, rewards, terms, truncs, infos))
    agent.end_episode()


# -- every scenario ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", scenario_names())
def test_every_standard_scenario_runs_with_untrained_weights(name: str) -> None:
    # Short episodes (8 steps) keep this fast; two episodes so the opponent model is trained
    # between them and the second episode plays with the trained model and the new prior.
    scenario = short(load_scenario(name), 8)
    records = list(
        run_trial(TrialJob(AgentSpec("hop", TINY), scenario, seed=1, trial=0, episodes=2))
    )
    assert [r.episode for r in records] == [0, 1]
    for r in records:
        assert all(np.isfinite(r.returns)) and 1 <= r.length <= 8


@pytest.mark.slow
@pytest.mark.parametrize("name", scenario_names())
def test_every_standard_scenario_runs_full_length_episodes(name: str) -> None:
    scenario = load_scenario(name)
    spec = AgentSpec("hop", {"num_trees": 2, "num_simulations": 8})
    records = list(run_trial(TrialJob(spec, scenario, seed=2, trial=0, episodes=2)))
    assert len(records) == 2


def test_same_seed_same_trial() -> None:
    scenario = short(load_scenario("msg/adapt-1v3-cleaner"), 10)
    spec = AgentSpec("hop", TINY)

    def returns():
        return [r.returns for r in run_trial(TrialJob(spec, scenario, seed=4, trial=0, episodes=2))]

    assert returns() == returns()


# -- wiring: state, beliefs, buffer ------------------------------------------------------------
def test_plans_from_the_state_in_its_observation_and_respects_the_mask() -> None:
    env = hop_envs.make("MarkovStagHunt-v0")
    agent = HopAgent(**TINY)
    agent.reset(seed=0, seat=seat_info(env, 2))
    observations, _ = env.reset(seed=3)
    agent.start_episode()
    action = agent.act(observations["player_2"])
    mask = observations["player_2"]["action_mask"].astype(bool)
    assert agent.last_search.legal.tolist() == mask.tolist()
    assert mask[action]
    assert (agent.last_search.policy[~mask] == 0).all()


def test_belief_update_is_bayes_rule_with_the_opponent_model() -> None:
    env = hop_envs.make("MarkovStagHunt-v0", num_players=2, num_stags=1, num_hares=2)
    kwargs = {"num_players": 2, "num_stags": 1, "num_hares": 2}
    agent = HopAgent(**TINY, weights=None)  # a 2-player grid: the shipped weights do not fit
    agent.reset(seed=0, seat=seat_info(env, 0, kwargs))
    observations, _ = env.reset(seed=5)
    agent.start_episode()
    action = agent.act(observations["player_0"])
    state = agent.recorder.state.copy()
    prior = agent.beliefs.posterior(1)
    co_action = int(np.flatnonzero(observations["player_1"]["action_mask"])[0])
    actions = {"player_0": action, "player_1": co_action}
    result = env.step(actions)
    agent.observe(Transition(actions, *result))
    assert env.agents == ["player_0", "player_1"]  # nobody left in this step (seed 5)
    goals = list(prior)
    probs = agent.policy.action_probs([PolicyQuery(state, 1, g) for g in goals])
    expected = np.asarray([prior[g] for g in goals]) * probs[:, co_action]
    expected /= expected.sum()
    posterior = agent.beliefs.posterior(1)
    np.testing.assert_allclose([posterior[g] for g in goals], expected, rtol=1e-9)
    assert not np.allclose(expected, [prior[g] for g in goals])


def test_episodes_fill_the_buffer_and_train_the_opponent_model() -> None:
    kwargs = {"max_cycles": 6}
    env = hop_envs.make("MarkovSnowdrift-v0", **kwargs)
    agent = HopAgent(**TINY, om_train_every=2)
    agent.reset(seed=0, seat=seat_info(env, 1, kwargs))
    before = [p.detach().clone() for p in agent.opponent_model.parameters()]
    play(env, agent, 1, seed=0, steps=6)
    # Snowdrift co-players are labelled at every step: 3 co-players x 6 steps.
    assert len(agent.buffer) == 18 and agent.om_rounds == []
    play(env, agent, 1, seed=1, steps=6)
    assert len(agent.om_rounds) == 1 and agent.om_rounds[0].samples == 36
    assert len(agent.buffer) == 0  # cleared after the round
    after = list(agent.opponent_model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
    # The inter-episode prior has seen two episodes of every co-player.
    assert agent.beliefs.inter.summary(0).weight == pytest.approx(1 + 0.99)


def test_reset_restores_the_starting_weights() -> None:
    env = hop_envs.make("MarkovSnowdrift-v0", max_cycles=5)
    kwargs = {"max_cycles": 5}
    agent = HopAgent(**TINY)
    agent.reset(seed=7, seat=seat_info(env, 0, kwargs))
    start = [p.detach().clone() for p in agent.opponent_model.parameters()]
    play(env, agent, 0, seed=0, steps=5)
    assert agent.om_rounds and agent.om_rounds[0].samples > 0
    agent.reset(seed=7, seat=seat_info(env, 0, kwargs))
    for p, q in zip(agent.opponent_model.parameters(), start, strict=True):
        assert torch.equal(p, q)
    assert agent.beliefs.inter.summary(1).weight == 0.0


def test_save_and_load_round_trip(tmp_path) -> None:
    env = hop_envs.make("MarkovStagHunt-v0")
    saver = HopAgent(**TINY)
    saver.reset(seed=11, seat=seat_info(env, 0))
    saver.save(tmp_path / "hop")
    loaded = make_agent("hop", weights=str(tmp_path / "hop"), **TINY)
    loaded.reset(seed=99, seat=seat_info(env, 0))
    for a, b in zip(saver.focal_net.parameters(), loaded.focal_net.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(
        saver.opponent_model.parameters(), loaded.opponent_model.parameters(), strict=True
    ):
        assert torch.equal(a, b)
    other = hop_envs.make("MarkovSnowdrift-v0")
    with pytest.raises(ValueError, match="does not fit"):
        loaded.reset(seed=0, seat=seat_info(other, 0))


# -- bad input ---------------------------------------------------------------------------------
def test_bad_arguments_and_misuse_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="om_train_every"):
        HopAgent(om_train_every=0)
    with pytest.raises(ValueError, match="num_trees"):
        HopAgent(num_trees=0)
    with pytest.raises(ValueError, match="torch_threads"):
        HopAgent(torch_threads=0)
    with pytest.raises(RuntimeError, match="reset"):
        HopAgent().act({})
    with pytest.raises(ValueError, match="seat"):
        HopAgent().reset(seed=0, seat=None)


# -- leaf values -------------------------------------------------------------------------------
def test_leaf_values_default_to_goal_aware_rollouts_and_zero_weight_is_the_value_net() -> None:
    from agents.hop.leaf_values import MixedEvaluator
    from agents.hop.learned import NetworkEvaluator

    env = hop_envs.make("MarkovStagHunt-v0")
    agent = HopAgent(**TINY)
    agent.reset(seed=0, seat=seat_info(env, 0))
    assert isinstance(agent.evaluator, MixedEvaluator)
    rollout_policy = agent.evaluator.rollouts.coplayer_policy
    assert rollout_policy is agent.search_policy  # the opponent model, behind the cache
    assert rollout_policy.policy is agent.policy and rollout_policy.mode == "own-cell"
    assert agent.evaluator.rollouts.depth == 25
    assert agent.evaluator.rollouts.discount == agent.planner_config.discount
    assert agent.evaluator.rollouts.focal_policy == "best-kind"
    waiting = HopAgent(rollout_policy="best-option", **TINY)
    waiting.reset(seed=0, seat=seat_info(hop_envs.make("MarkovSnowdrift-v0"), 0))
    assert waiting.evaluator.rollouts.focal_policy == "best-option"
    plain = HopAgent(rollout_weight=0.0, **TINY)
    plain.reset(seed=0, seat=seat_info(env, 0))
    assert type(plain.evaluator) is NetworkEvaluator


def test_bad_leaf_value_options_name_the_value() -> None:
    with pytest.raises(ValueError, match="rollout_weight must be in \\[0, 1\\], got 2"):
        HopAgent(rollout_weight=2)
    with pytest.raises(ValueError, match="rollout_depth must be an int >= 1, got 0"):
        HopAgent(rollout_depth=0)
    with pytest.raises(ValueError, match="rollout_policy must be one of"):
        HopAgent(rollout_policy="clever")


def test_unknown_options_name_the_agent_the_close_match_and_every_option() -> None:
    from agents.hop.variants import DirectOMAgent, HopNoInterAgent

    with pytest.raises(
        TypeError,
        match=r"HopAgent: unknown option 'num_tree' \(did you mean 'num_trees'\?\); "
        r"its options are belief_alpha, beta,",
    ):
        HopAgent(num_tree=3)
    with pytest.raises(
        TypeError,
        match=r"HopNoInterAgent: unknown option 'betta' .*'beta'.*train_opponent_model, weights$",
    ):
        HopNoInterAgent(betta=3)
    with pytest.raises(
        TypeError,
        match=r"DirectOMAgent: unknown option 'belief_alpha'; its options are action_model_init,",
    ):
        DirectOMAgent(belief_alpha=0.9)  # a hop option, not direct-om's


def test_an_episode_started_over_without_end_episode_begins_afresh() -> None:
    # The runner may start a new episode without ending the last one (an aborted episode):
    # the next act() begins the new one (recorder, beliefs at their prior, capture clock).
    kwargs = {"num_players": 2, "num_stags": 1, "num_hares": 2}
    env = hop_envs.make("MarkovStagHunt-v0", **kwargs)
    agent = HopAgent(**TINY, weights=None)
    agent.reset(seed=0, seat=seat_info(env, 0, kwargs))
    observations, _ = env.reset(seed=5)
    agent.start_episode()
    for _ in range(2):
        assert env.agents == ["player_0", "player_1"]  # nobody leaves here (seed 5)
        actions = {"player_0": agent.act(observations["player_0"]), "player_1": STAY}
        observations, *rest = env.step(actions)
        agent.observe(Transition(actions, observations, *rest))
    assert agent.beliefs.posterior(1) != agent.beliefs.prior(1)
    agent.decider.first_capture_t = 1  # as if someone had captured in the old episode
    observations, _ = env.reset(seed=6)
    agent.start_episode()
    agent.act(observations["player_0"])
    assert agent.beliefs.posterior(1) == agent.beliefs.prior(1)
    assert agent.recorder.state.t == 0 and agent.decider.first_capture_t == -1
    assert agent.last_search is not None


def test_the_acting_search_budget_of_hop_its_ablations_and_hop_plus() -> None:
    # hop acts with 5 trees x 40 simulations in rounds of 20 leaves (its ACTING_DEFAULTS),
    # and so do the agents it is compared with in its ablation; keywords override them;
    # hop-plus keeps the shared planning defaults, 50 in rounds of 25.
    from agents.hop.variants import DirectOMAgent, HopNoInterAgent, HopNoIntraAgent
    from agents.hop_plus.agent import HopPlusAgent

    def budget(agent) -> tuple[int, int, int]:
        config = agent.planner_config
        return config.num_trees, config.num_simulations, config.leaves_per_round

    for cls in (HopAgent, HopNoInterAgent, HopNoIntraAgent, DirectOMAgent):
        assert budget(cls(weights=None)) == (5, 40, 20), cls.__name__
    assert budget(HopAgent(weights=None, num_simulations=50, leaves_per_round=25)) == (5, 50, 25)
    assert budget(DirectOMAgent(weights=None, leaves_per_round=10)) == (5, 40, 10)
    assert budget(HopPlusAgent(weights=None)) == (5, 50, 25)
