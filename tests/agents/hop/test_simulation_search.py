"""The pieces of oracle-mcts: co-player copies, the env in the loop, positions with ids."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

import hop_envs
from agents.base import SeatInfo, Transition
from agents.hop.coplayer_copies import CoplayerCopier, UncopyableCoplayerError
from agents.hop.search_tree import UniformStream
from agents.hop.simulation_search import EpisodeEvents, GameSimulator
from hop_envs.coplayers import make_coplayer

STAG_HUNT = "hop/MarkovStagHunt-v0"
SNOWDRIFT = "hop/MarkovSnowdrift-v0"
GAMES = [
    (STAG_HUNT, {"grid_size": 6, "num_hares": 3, "end_after_first_hunt": 3}),
    (SNOWDRIFT, {"grid_size": 5, "num_drifts": 4, "max_cycles": 12}),
]


def seat_info(env_id: str, seat: int) -> SeatInfo:
    env = hop_envs.make(env_id)
    agent_id = f"player_{seat}"
    return SeatInfo(
        env_id, agent_id, seat, 4, env.observation_space(agent_id), env.action_space(agent_id)
    )


def random_joint(env, observations, rng) -> dict[str, int]:
    return {a: int(rng.choice(np.flatnonzero(observations[a]["action_mask"]))) for a in env.agents}


# -- the env in the loop -------------------------------------------------------------------
def assert_same_transition(sim: Transition, real: tuple) -> None:
    observations, rewards, terminations, truncations, infos = real
    assert sim.observations.keys() == observations.keys()
    for agent, obs in observations.items():
        for key, value in obs.items():
            assert np.array_equal(sim.observations[agent][key], value), (agent, key)
    assert (sim.rewards, sim.terminations, sim.truncations) == (
        rewards,
        terminations,
        truncations,
    )
    assert sim.infos == infos


@pytest.mark.parametrize(("env_id", "kwargs"), GAMES)
def test_simulated_steps_are_the_envs_own(env_id, kwargs) -> None:
    env = hop_envs.make(env_id, **kwargs)
    sim = GameSimulator(env_id, kwargs)
    rng = np.random.default_rng(0)
    events = 0
    for episode in range(4):
        observations, _ = env.reset(seed=episode)
        while env.agents:
            before, agents = env.unwrapped.core_state.copy(), list(env.agents)
            assert sim.agents(before) == agents
            simulated = sim.observations(before, agents)
            assert list(simulated) == agents  # those in the game, as the runner asks them
            for agent, obs in simulated.items():
                assert obs.keys() == observations[agent].keys()
                for key, value in obs.items():
                    assert np.array_equal(observations[agent][key], value)
            actions = random_joint(env, observations, rng)
            real = env.step(actions)
            transition, left = sim.step(before, agents, actions)
            assert_same_transition(transition, real)
            assert left == env.agents
            events += sum(
                env.unwrapped.rules.goals.info_object(i) is not None for i in real[4].values()
            )
            observations = real[0]
            state = env.unwrapped.core_state
            assert (before.t, before.first_capture_t, before.over) == (
                state.t,
                state.first_capture_t,
                state.over,
            )
    assert events > 0


@pytest.mark.parametrize(("env_id", "kwargs"), GAMES)
def test_positions_are_the_envs_state_with_consistent_object_ids(env_id, kwargs) -> None:
    # From seat 0's observation and the events it observed: the same players, time, first
    # capture and live objects (cell and kind) as the env; ids of the right kind, never one
    # already reported removed.
    env = hop_envs.make(env_id, **kwargs)
    sim = GameSimulator(env_id, kwargs)
    kinds = sim.rules.initial_object_kinds()
    rng = np.random.default_rng(1)
    uniforms = UniformStream(rng)
    checked = 0
    for episode in range(4):
        events = EpisodeEvents(sim.rules)
        observations, _ = env.reset(seed=episode)
        while "player_0" in env.agents:
            real = env.unwrapped.core_state
            root = sim.root(observations["player_0"], 0, events)
            live = {
                (p, k)
                for p, k, a in zip(
                    real.object_pos, real.object_kind, real.object_alive, strict=True
                )
                if a
            }
            for _ in range(3):
                state = root.sample(uniforms)
                assert np.array_equal(state.player_pos[real.active], real.player_pos[real.active])
                assert np.array_equal(state.active, real.active)
                assert (state.t, state.first_capture_t) == (real.t, real.first_capture_t)
                assert list(state.object_kind) == kinds
                ids = np.flatnonzero(state.object_alive)
                assert {(state.object_pos[i], kinds[i]) for i in ids} == live
                assert not events.removed & set(ids.tolist())
                checked += 1
            observations, *rest = env.step(random_joint(env, observations, rng))
            events.observe(Transition({}, observations, *rest))
    assert checked > 20


def test_object_ids_are_drawn_uniformly_among_those_not_seen_removed() -> None:
    kwargs = {"num_players": 2, "grid_size": 4, "num_drifts": 3}
    env = hop_envs.make(SNOWDRIFT, **kwargs)
    sim = GameSimulator(SNOWDRIFT, kwargs)
    observations, _ = env.reset(seed=0)
    events = EpisodeEvents(sim.rules)
    events.removed.add(1)  # as if drift 1 had been reported removed: two drifts show
    grid = observations["player_0"]["observation"].copy()
    drift_cell = int(env.unwrapped.core_state.object_pos[1])
    grid[-1].reshape(-1)[drift_cell] = 0
    root = sim.root({**observations["player_0"], "observation": grid}, 0, events)
    uniforms = UniformStream(np.random.default_rng(2))
    counts = Counter(tuple(root.sample(uniforms).object_pos[[0, 2]]) for _ in range(400))
    assert len(counts) == 2  # both orders of the two live drifts over ids 0 and 2
    assert min(counts.values()) > 150


# -- copies --------------------------------------------------------------------------------
class Plugin:
    """A plug-in holding generators of three kinds, memory and a seat."""

    def __init__(self, shared: list) -> None:
        self.rng = np.random.default_rng(1)
        self.legacy = np.random.RandomState(2)
        self.python = random.Random(3)
        self.memory = shared
        self.seat = seat_info(STAG_HUNT, 1)

    def draws(self) -> tuple:
        return (int(self.rng.integers(10**9)), self.legacy.randint(10**9), self.python.random())


def test_copies_share_nothing_mutable_and_draw_fresh_numbers() -> None:
    shared: list[int] = []
    live = [Plugin(shared), Plugin(shared)]
    states = [
        (p.rng.bit_generator.state, p.legacy.get_state()[1].sum(), p.python.getstate())
        for p in live
    ]
    copier = CoplayerCopier(np.random.PCG64(5))
    copier.prepare(live, ["a", "b"])
    copier.begin()
    first = copier.copy_live()
    assert first[0] is not live[0] and first[0].rng is not live[0].rng
    assert first[0].memory is first[1].memory is not shared  # shared stays shared, copied
    first[0].memory.append(1)
    assert shared == []
    # The seat description is copied once and shared by every copy.
    assert first[0].seat is not live[0].seat and first[0].seat.env_id == STAG_HUNT
    second = copier.copy_live()
    assert second[0].seat is first[0].seat
    # Fresh numbers: not the live co-player's future draws, and new ones for every copy.
    draws = {c.draws() for c in (*first, *second)}
    assert len(draws) == 4
    further = copier.copy_copies(first)
    assert further[0].memory == [1] and further[0].memory is not first[0].memory
    assert further[0].draws() not in draws
    after = [
        (p.rng.bit_generator.state, p.legacy.get_state()[1].sum(), p.python.getstate())
        for p in live
    ]
    assert after == states
    assert live[0].draws() not in draws  # the live generators were never drawn from


def test_copies_of_the_same_coplayers_replay_with_the_same_bits() -> None:
    def draws(seed: int) -> list:
        live = [make_coplayer("random", STAG_HUNT)]
        live[0].reset(seed=0, seat=seat_info(STAG_HUNT, 1))
        copier = CoplayerCopier(np.random.PCG64(seed))
        copier.prepare(live, ["random"])
        copier.begin()
        (copy_,) = copier.copy_live()
        return [int(copy_._rng.integers(100)) for _ in range(20)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)


def test_an_uncopyable_coplayer_is_named() -> None:
    import threading

    class Locked:
        def __init__(self) -> None:
            self.lock = threading.Lock()

    copier = CoplayerCopier(np.random.PCG64(0))
    copier.prepare(
        [make_coplayer("random", STAG_HUNT), Locked()], ["'random' at seat 1", "'x' at seat 2"]
    )
    copier.begin()
    with pytest.raises(UncopyableCoplayerError, match=r"^'x' at seat 2: copy.deepcopy raises"):
        copier.copy_live()
