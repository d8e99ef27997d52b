"""HOP's variants: hop-no-inter, hop-no-intra (one belief level off) and direct-om (goal-free
co-player action model), with their action-model pre-training."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pytest
import torch

import hop_envs
from agents.base import SeatInfo, Transition
from agents.hop.action_model_training import (
    PretrainConfig,
    cached_pretrained_action_model,
    collect_rule_based_episodes,
    pretrain_action_model,
    rule_based_population,
)
from agents.hop.agent import HopAgent
from agents.hop.interfaces import IDLE, NO_GOAL, PolicyQuery
from agents.hop.networks import ACTION_MODEL, FOCAL, NetworkConfig, build_network, save_network
from agents.hop.variants import DirectOMAgent, HopNoInterAgent, HopNoIntraAgent
from agents.registry import agent_entry, make_agent
from evaluation.jobs import AgentSpec, TrialJob
from evaluation.runner import run_trial
from evaluation.scenarios import load_scenario, scenario_names
from hop_envs.coplayers import make_coplayer
from hop_envs.core import HARE, STAG, STAY

TINY = {"num_trees": 2, "num_simulations": 3}
#: direct-om with an untrained action model and focal net (no checkpoint, no pre-training).
DIRECT_UNTRAINED = {**TINY, "weights": None, "action_model_init": "untrained"}
SH, SD = "hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0"
VARIANTS = ("direct-om", "hop-no-inter", "hop-no-intra")


def seat_info(env_id: str, seat: int, env_kwargs: dict | None = None) -> SeatInfo:
    env = hop_envs.make(env_id, **(env_kwargs or {}))
    return SeatInfo.of_env(env, env_id, seat, env_kwargs=env_kwargs, focal_seats=(seat,))


def play(env, agent, seat: int, seed: int, coplayers: dict, steps: int | None = None) -> int:
    """One episode: ``agent`` at ``seat``, ``coplayers[agent_id]`` (a callable of the
    observation) elsewhere. Returns the number of co-player actions taken."""
    observations, _ = env.reset(seed=seed)
    agent.start_episode()
    me = f"player_{seat}"
    count, t = 0, 0
    while env.agents and (steps is None or t < steps):
        if me not in env.agents:
            break
        actions = {}
        for a in env.agents:
            actions[a] = agent.act(observations[a]) if a == me else coplayers[a](observations[a])
        count += len(actions) - 1
        observations, rewards, terms, truncs, infos = env.step(actions)
        agent.observe(Transition(actions, observations, rewards, terms, truncs, infos))
        t += 1
    agent.end_episode()
    return count


def rule_based(name: str, env_id: str, env_kwargs: dict, seats: Sequence[int]) -> dict:
    out = {}
    for j in seats:
        player = make_coplayer(name, env_id)
        player.reset(seed=j, seat=seat_info(env_id, j, env_kwargs))
        player.start_episode()
        out[f"player_{j}"] = player.act
    return out


def short(name: str, max_cycles: int):
    scenario = load_scenario(name)
    kwargs = {**scenario.env_kwargs, "max_cycles": max_cycles}
    return dataclasses.replace(scenario, env_kwargs=kwargs)


# -- registry ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("direct-om", DirectOMAgent),
        ("hop-no-inter", HopNoInterAgent),
        ("hop-no-intra", HopNoIntraAgent),
    ],
)
def test_registered_for_both_envs(name: str, cls: type) -> None:
    entry = agent_entry(name)
    assert entry.description
    for env_id in (SH, SD):
        assert isinstance(make_agent(name, env_id=env_id, **TINY), cls)


# -- every scenario ----------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", scenario_names())
def test_every_variant_runs_every_scenario(variant: str, name: str) -> None:
    # Default weights (the shipped checkpoints), short episodes, tiny searches; two episodes
    # so the models are trained in between and the second episode uses them.
    records = list(
        run_trial(TrialJob(AgentSpec(variant, TINY), short(name, 6), seed=1, trial=0, episodes=2))
    )
    assert [r.episode for r in records] == [0, 1]
    for r in records:
        assert all(np.isfinite(r.returns)) and 1 <= r.length <= 6


# -- hop-no-inter / hop-no-intra ---------------------------------------------------------------
def test_ablations_fix_their_flag_and_forward_everything_else() -> None:
    no_inter = HopNoInterAgent(None, num_trees=3, belief_alpha=0.9, om_train_every=2)
    assert no_inter.weights is None
    assert (no_inter.belief_config.inter, no_inter.belief_config.intra) == (False, True)
    assert no_inter.belief_config.alpha == 0.9
    assert no_inter.planner_config.num_trees == 3 and no_inter.om_train_every == 2
    no_intra = HopNoIntraAgent(weights=None, num_simulations=7)
    assert (no_intra.belief_config.inter, no_intra.belief_config.intra) == (True, False)
    assert no_intra.planner_config.num_simulations == 7
    with pytest.raises(ValueError, match=r"HopNoInterAgent: 'inter' is fixed.*inter=True"):
        HopNoInterAgent(inter=True)
    with pytest.raises(ValueError, match=r"HopNoIntraAgent: 'intra' is fixed.*intra=False"):
        HopNoIntraAgent(intra=False)


class StayMeansStag:
    """Hand-made goal-conditioned co-player model: a stag hunter stays with probability 0.8,
    a hare hunter with 0.2 (the rest spread evenly over the other six actions)."""

    def __init__(self) -> None:
        self.queries: list[PolicyQuery] = []

    def action_probs(self, queries: Sequence[PolicyQuery]) -> np.ndarray:
        self.queries.extend(queries)
        out = np.empty((len(queries), 7))
        for i, q in enumerate(queries):
            p_stay = {STAG: 0.8, HARE: 0.2}[q.goal]
            out[i] = (1.0 - p_stay) / 6
            out[i, STAY] = p_stay
        return out


@pytest.mark.parametrize(("cls", "expected"), [(HopAgent, 0.8), (HopNoIntraAgent, 0.5)])
def test_intra_om_moves_beliefs_in_hop_but_not_in_hop_no_intra(cls: type, expected: float) -> None:
    # Three co-players stay in the first step. Hand-worked Bayes from the uniform prior
    # (stag 1/2, hare 1/2, idle 0): b(stag) = 0.5*0.8 / (0.5*0.8 + 0.5*0.2) = 0.8.
    # Without intra-OM the belief stays at the prior.
    env = hop_envs.make(SH)
    agent = cls(weights=None, train_opponent_model=False, **TINY)
    agent.reset(seed=0, seat=seat_info(SH, 0))
    model = StayMeansStag()
    agent.beliefs.policy = model
    stay = {f"player_{j}": (lambda obs: STAY) for j in (1, 2, 3)}
    play(env, agent, 0, seed=3, coplayers=stay, steps=1)
    for j in (1, 2, 3):
        posterior = agent.beliefs.posterior(j)
        assert posterior[STAG] == pytest.approx(expected, abs=1e-12)
        assert posterior[HARE] == pytest.approx(1.0 - expected, abs=1e-12)
        assert posterior[IDLE] == 0.0
    assert len(model.queries) == (6 if cls is HopAgent else 0)


@pytest.mark.parametrize("cls", [HopAgent, HopNoInterAgent])
def test_inter_om_prior_in_hop_but_uniform_start_in_hop_no_inter(cls: type) -> None:
    # Episode 1: three nearest-hare co-players on an open 4x4 grid each capture a hare. In
    # episode 2, HOP's prior leans to hares; without inter-OM it is uniform again.
    kwargs = {"grid_size": 4, "num_wall_pieces": 0}
    env = hop_envs.make(SH, **kwargs)
    agent = cls(weights=None, train_opponent_model=False, **TINY)
    agent.reset(seed=0, seat=seat_info(SH, 0, kwargs))
    hares = rule_based("nearest-hare", SH, kwargs, (1, 2, 3))
    play(env, agent, 0, seed=1, coplayers=hares)
    for j in (1, 2, 3):  # the episode showed each co-player going for hares
        preference = agent.beliefs.inter.summary(j).preference
        assert preference[HARE] > preference[STAG]
    play(
        env, agent, 0, seed=2, coplayers=rule_based("nearest-hare", SH, kwargs, (1, 2, 3)), steps=1
    )
    for j in (1, 2, 3):
        prior = agent.beliefs.prior(j)
        if cls is HopNoInterAgent:
            assert prior == {STAG: 0.5, HARE: 0.5, IDLE: 0.0}
        else:
            assert prior[HARE] > 0.6 > prior[STAG]


# -- direct-om ---------------------------------------------------------------------------------
class Spy:
    """Wraps a co-player policy and records every query the planner makes."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.queries: list[PolicyQuery] = []

    def action_probs(self, queries: Sequence[PolicyQuery]) -> np.ndarray:
        self.queries.extend(queries)
        return self.inner.action_probs(queries)

    def batch_action_probs(self, batch, rows, seats, goals) -> np.ndarray:
        self.queries.extend(
            PolicyQuery(batch.unstack(r), s, None if g == NO_GOAL else g)
            for r, s, g in zip(rows.tolist(), seats.tolist(), goals.tolist(), strict=True)
        )
        return self.inner.batch_action_probs(batch, rows, seats, goals)


@pytest.mark.parametrize("env_id", [SH, SD])
def test_direct_om_never_passes_a_goal_to_its_coplayer_model(env_id: str) -> None:
    kwargs = {"max_cycles": 4}
    env = hop_envs.make(env_id, **kwargs)
    agent = DirectOMAgent(**DIRECT_UNTRAINED)
    agent.reset(seed=0, seat=seat_info(env_id, 1, kwargs))
    spy = Spy(agent.policy)
    agent.search_policy.policy = spy  # what the search's cache asks, trees and rollouts
    rng = np.random.default_rng(0)

    def random_legal(obs):
        return int(rng.choice(np.flatnonzero(obs["action_mask"])))

    play(env, agent, 1, seed=0, coplayers={f"player_{j}": random_legal for j in (0, 2, 3)})
    assert len(spy.queries) > 0
    assert all(q.goal is None for q in spy.queries)
    assert {q.player for q in spy.queries} <= {0, 2, 3}
    assert agent.action_model.config.kind == ACTION_MODEL
    assert not hasattr(agent, "beliefs")


def test_direct_om_trains_its_action_model_on_every_coplayer_step() -> None:
    # Snowdrift, 5 steps, free-riders never remove and nobody leaves: 3 co-players x 5 steps
    # = 15 samples per episode, all of them used (no labels needed); rounds every 2 episodes.
    kwargs = {"max_cycles": 5}
    env = hop_envs.make(SD, **kwargs)
    agent = DirectOMAgent(**DIRECT_UNTRAINED, om_train_every=2)
    agent.reset(seed=0, seat=seat_info(SD, 0, kwargs))
    before = [p.detach().clone() for p in agent.action_model.parameters()]
    riders = rule_based("free-rider", SD, kwargs, (1, 2, 3))
    assert play(env, agent, 0, seed=0, coplayers=riders) == 15
    assert len(agent.buffer) == 15 and agent.om_rounds == []
    assert play(env, agent, 0, seed=1, coplayers=riders) == 15
    assert [r.samples for r in agent.om_rounds] == [30]
    assert len(agent.buffer) == 0
    after = list(agent.action_model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
    # A new trial starts again from the starting weights.
    agent.reset(seed=0, seat=seat_info(SD, 0, kwargs))
    for p, q in zip(agent.action_model.parameters(), before, strict=True):
        assert torch.equal(p, q)


def test_direct_om_same_seed_same_trial() -> None:
    spec = AgentSpec("direct-om", DIRECT_UNTRAINED)
    scenario = short("msh/adapt-1v3-random", 6)

    def actions():
        return [r.returns for r in run_trial(TrialJob(spec, scenario, seed=4, trial=0, episodes=2))]

    assert actions() == actions()


def _folder(tmp_path, env_id: str, with_action_model: bool, seed: int = 5):
    rules = hop_envs.make(env_id).unwrapped.rules
    focal = build_network(NetworkConfig.for_rules(rules, FOCAL), seed)
    save_network(focal, tmp_path / "focal")
    model = None
    if with_action_model:
        model = build_network(NetworkConfig.for_rules(rules, ACTION_MODEL), seed + 1)
        save_network(model, tmp_path / "action_model")
    return focal, model


def _same(a, b) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_direct_om_loads_the_action_model_of_its_weights_folder(tmp_path) -> None:
    focal, model = _folder(tmp_path, SD, with_action_model=True)
    for init in ("auto", "checkpoint"):
        agent = DirectOMAgent(weights=tmp_path, action_model_init=init, **TINY)
        agent.reset(seed=0, seat=seat_info(SD, 2))
        assert agent.action_model_source == "checkpoint"
        assert _same(agent.action_model, model) and _same(agent.focal_net, focal)
    saved = agent.save(tmp_path / "copy")
    again = DirectOMAgent(weights=str(saved), action_model_init="checkpoint", **TINY)
    again.reset(seed=9, seat=seat_info(SD, 0))
    assert _same(again.action_model, model) and _same(again.focal_net, focal)


def test_direct_om_pretrains_when_the_folder_has_no_action_model(tmp_path) -> None:
    _folder(tmp_path, SH, with_action_model=False)
    budget = {"pretrain_episodes": 2, "pretrain_epochs": 1, "pretrain_seed": 3}
    agent = DirectOMAgent(weights=tmp_path, **budget, **TINY)
    agent.reset(seed=0, seat=seat_info(SH, 0))
    assert agent.action_model_source == "pretrain"
    expected = cached_pretrained_action_model(SH, {}, PretrainConfig(episodes=2, epochs=1, seed=3))
    assert _same(agent.action_model, expected)
    with pytest.raises(FileNotFoundError, match="no action_model/"):
        DirectOMAgent(weights=tmp_path, action_model_init="checkpoint")
    untrained = DirectOMAgent(weights=tmp_path, action_model_init="untrained", **TINY)
    untrained.reset(seed=0, seat=seat_info(SH, 0))
    assert untrained.action_model_source == "untrained"
    assert not _same(untrained.action_model, expected)


def test_direct_om_default_weights_use_the_shipped_action_model() -> None:
    from agents.hop.training.checkpoint import shipped_checkpoint_dir

    agent = DirectOMAgent(**TINY)
    agent.reset(seed=0, seat=seat_info(SH, 0))
    has_model = (shipped_checkpoint_dir(SH) / "action_model").is_dir()
    assert agent.action_model_source == ("checkpoint" if has_model else "pretrain")


def test_direct_om_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"action_model_init must be one of .*'guess'"):
        DirectOMAgent(action_model_init="guess")
    with pytest.raises(ValueError, match="needs a weights folder, got weights=None"):
        DirectOMAgent(weights=None, action_model_init="checkpoint")
    with pytest.raises(ValueError, match="om_train_every must be >= 1, got 0"):
        DirectOMAgent(om_train_every=0)
    with pytest.raises(ValueError, match="torch_threads"):
        DirectOMAgent(torch_threads=0)
    with pytest.raises(ValueError, match="train_action_model must be a bool"):
        DirectOMAgent(train_action_model="yes")
    with pytest.raises(ValueError, match="episodes must be >= 1, got 0"):
        DirectOMAgent(pretrain_episodes=0)
    with pytest.raises(ValueError, match="num_trees"):
        DirectOMAgent(num_trees=0)
    with pytest.raises(RuntimeError, match="reset"):
        DirectOMAgent().act({})
    with pytest.raises(ValueError, match="seat"):
        DirectOMAgent().reset(seed=0, seat=None)


# -- action-model pre-training -----------------------------------------------------------------
def test_rule_based_episodes_record_every_coplayer_step() -> None:
    # Two players, 5 steps, free-riders never remove a drift: seat 1's 5 steps are recorded
    # (seat 0 is the recording seat), each a move or stay.
    kwargs = {"num_players": 2, "max_cycles": 5}
    buffer = collect_rule_based_episodes(SD, kwargs, episodes=1, seed=0, population=("free-rider",))
    (trajectory,) = buffer.trajectories
    assert trajectory.seat == 1 and len(trajectory) == 5
    assert trajectory.steps.tolist() == [0, 1, 2, 3, 4]
    assert set(trajectory.actions.tolist()) <= {0, 1, 2, 3, 4}


def test_pretraining_is_deterministic_and_seeded() -> None:
    config = PretrainConfig(episodes=2, epochs=1, seed=0, population=("free-rider",))
    a, stats = pretrain_action_model(SD, {"max_cycles": 10}, config)
    b, _ = pretrain_action_model(SD, {"max_cycles": 10}, config)
    c, _ = pretrain_action_model(SD, {"max_cycles": 10}, dataclasses.replace(config, seed=1))
    assert stats.samples == 2 * 3 * 10  # two episodes, three recorded seats, ten steps
    assert _same(a, b) and not _same(a, c)


def test_pretrain_config_and_population_errors() -> None:
    assert rule_based_population(SH) == ("nearest-hare", "nearest-stag", "random")
    assert rule_based_population(SD) == ("cleaner", "free-rider", "random")
    with pytest.raises(ValueError, match=r"PretrainConfig\.episodes must be an int >= 1, got 'x'"):
        PretrainConfig(episodes="x")
    with pytest.raises(ValueError, match="epochs"):
        PretrainConfig(epochs=0)
    with pytest.raises(ValueError, match="population must be None or a non-empty sequence"):
        PretrainConfig(population=())


def test_action_model_folder_is_where_hop_bench_train_writes_it() -> None:
    from agents.hop.training.checkpoint import NETWORK_DIRS
    from agents.hop.variants import ACTION_MODEL_DIR

    assert NETWORK_DIRS[ACTION_MODEL] == ACTION_MODEL_DIR == "action_model"
