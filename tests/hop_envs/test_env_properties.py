"""Property tests over random constructor arguments and action sequences: observations stay
in their spaces, nobody comes back, reward sums match the events, masks predict illegal
actions, and the batched core equals the scalar core step for step."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from env_test_helpers import hand_state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hop_envs import (
    BatchedGame,
    BatchedState,
    MarkovSnowdriftEnv,
    MarkovStagHuntEnv,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)
from hop_envs.core import NUM_MOVES, GridRules, GridState

PROPERTY_SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
rewards_floats = st.floats(-5.0, 20.0, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def grid_args(draw: st.DrawFn, max_objects: int) -> tuple[dict[str, Any], int]:
    """Players, grid size and wall pieces, and how many objects still fit comfortably."""
    n = draw(st.integers(2, 8))
    height, width = draw(st.integers(2, 7)), draw(st.integers(2, 7))
    pieces = draw(st.integers(0, height * width // 12))
    room = min(max_objects, height * width - 4 * pieces)
    args = {
        "num_players": n,
        "height": height,
        "width": width,
        "num_wall_pieces": pieces,
        "max_cycles": draw(st.integers(1, 30)),
        "reward_mode": draw(st.sampled_from(["selfish", "prosocial"])),
    }
    return args, room


@st.composite
def stag_hunt_args(draw: st.DrawFn) -> dict[str, Any]:
    args, room = draw(grid_args(max_objects=7))
    n = args["num_players"]
    stags = draw(st.integers(0, min(3, room)))
    hares = draw(st.integers(0 if stags else 1, min(4, room - stags)))
    strengths = st.lists(st.floats(0.125, 5.0, width=32), min_size=n, max_size=n).map(tuple)
    strength = draw(st.none() | strengths | strengths | strengths)  # mostly unequal
    return args | {
        "num_stags": stags,
        "num_hares": hares,
        "stag_reward": draw(rewards_floats),
        "hare_reward": draw(rewards_floats),
        "stag_hunters_required": draw(st.integers(1, min(n, 3))),
        "player_strength": strength,
        "time_reward": draw(st.sampled_from([0.0, -0.1, 0.25])),
        "end_after_first_hunt": draw(st.none() | st.integers(0, 4)),
    }


@st.composite
def snowdrift_args(draw: st.DrawFn) -> dict[str, Any]:
    args, room = draw(grid_args(max_objects=6))
    return args | {
        "num_drifts": draw(st.integers(1, room)),
        "removal_reward": draw(rewards_floats),
        "removal_cost": draw(rewards_floats),
    }


def choose_actions(
    rng: np.random.Generator, masks: np.ndarray, num_actions: int, p_object: float
) -> list[int]:
    """Per seat: with probability ``p_object`` a legal object action (hunt/remove) when there
    is one, otherwise any action at all, legal or not."""
    actions = []
    for mask in masks:
        object_actions = np.flatnonzero(mask[NUM_MOVES + 1 :]) + NUM_MOVES + 1
        if object_actions.size and rng.random() < p_object:
            actions.append(int(rng.choice(object_actions)))
        else:
            actions.append(int(rng.integers(0, num_actions)))
    return actions


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# -- the envs ----------------------------------------------------------------------------------
def run_episode(env: Any, seed: int, p_object: float, crowd: bool):
    """Play one episode; yield (acting agents, actions, masks before the step, step results,
    seat numbers). With ``crowd`` every player is first moved onto the cell of object 0 or 1
    (stags come first), so that groups of hunters or removers form often."""
    rng = np.random.default_rng(seed)
    obs, infos = env.reset(seed=seed)
    seat = {a: i for i, a in enumerate(env.possible_agents)}
    for agent, o in obs.items():
        assert env.observation_space(agent).contains(o)
    assert infos == {a: {} for a in env.possible_agents}
    state = env.core_state
    if crowd:
        state.player_pos[:] = rng.choice(state.object_pos[:2], size=state.num_players)
    masks = {a: env.rules.action_masks(state)[seat[a]] for a in env.agents}
    while env.agents:
        acting = list(env.agents)
        chosen = choose_actions(
            rng, np.stack([masks[a] for a in acting]), env.rules.num_actions, p_object
        )
        actions = dict(zip(acting, chosen, strict=True))
        alive_before = state.object_alive.copy()
        result = env.step(actions)
        assert not (state.object_alive & ~alive_before).any(), "an object came back"
        yield acting, actions, masks, result, seat
        masks = {a: o["action_mask"] for a, o in result[0].items()}
        core_masks = env.rules.action_masks(env.core_state)
        for a in env.agents:
            assert np.array_equal(masks[a], core_masks[seat[a]])


def check_common(env: Any, acting, actions, previous, result, departed: set[str]) -> None:
    obs, rewards, terms, truncs, infos = result
    for mapping in (obs, rewards, terms, truncs, infos):
        assert list(mapping) == acting
    for agent in acting:
        assert env.observation_space(agent).contains(obs[agent]), agent
        assert obs[agent]["step"] == env.core_state.t
        # The mask shown before the step predicts exactly which actions were illegal.
        legal = bool(previous[agent][actions[agent]])
        assert infos[agent]["illegal_action"] is (not legal)
    # Nobody comes back: the agents are the acting ones less those who finished.
    assert not departed & set(env.agents)
    assert env.agents == [a for a in acting if not (terms[a] or truncs[a])]
    departed |= set(acting) - set(env.agents)


@PROPERTY_SETTINGS
@given(
    args=stag_hunt_args(),
    seed=st.integers(0, 2**32 - 1),
    p_object=st.floats(0.0, 1.0),
    crowd=st.booleans(),
)
def test_stag_hunt_episode_properties(
    args: dict[str, Any], seed: int, p_object: float, crowd: bool
) -> None:
    env = MarkovStagHuntEnv(**args)
    cfg, n = env.config, env.config.num_players
    departed: set[str] = set()
    steps = 0
    for acting, actions, previous, result, seat in run_episode(env, seed, p_object, crowd):
        steps += 1
        check_common(env, acting, actions, previous, result, departed)
        _, rewards, terms, truncs, infos = result
        groups: dict[int, list[str]] = {}
        for agent in acting:
            info = infos[agent]
            if info["captured"] is not None:
                groups.setdefault(info["prey_id"], []).append(agent)
                assert terms[agent] and not truncs[agent]
                assert not env.core_state.object_alive[info["prey_id"]]
            if info["failed_stag_hunt"]:
                assert actions[agent] == 5 and info["captured"] is None
        kinds = {k: env.core_state.object_kind[k] for k in groups}
        stags = sum(1 for k in kinds.values() if k == 0)
        hares = len(kinds) - stags
        total = cfg.stag_reward * stags + cfg.hare_reward * hares + cfg.time_reward * len(acting)
        paid = sum(rewards.values())
        if cfg.reward_mode == "selfish":
            assert close(paid, total), (paid, total)
            for k, group in groups.items():
                if kinds[k] == 0:  # a stag group splits by strength
                    weight = sum(cfg.strength[seat[a]] for a in group)
                    assert len(group) >= cfg.stag_hunters_required
                    for a in group:
                        share = cfg.stag_reward * cfg.strength[seat[a]] / weight
                        assert close(rewards[a] - cfg.time_reward, share)
                else:
                    for a in group:
                        assert close(rewards[a] - cfg.time_reward, cfg.hare_reward / len(group))
        else:
            assert close(paid, total * len(acting) / n), (paid, total, len(acting))
            assert all(close(r, total / n) for r in rewards.values())
    assert env.agents == [] and env.core_state.over
    assert steps == env.core_state.t <= cfg.max_cycles
    assert departed == set(env.possible_agents)


@PROPERTY_SETTINGS
@given(
    args=snowdrift_args(),
    seed=st.integers(0, 2**32 - 1),
    p_object=st.floats(0.0, 1.0),
    crowd=st.booleans(),
)
def test_snowdrift_episode_properties(
    args: dict[str, Any], seed: int, p_object: float, crowd: bool
) -> None:
    env = MarkovSnowdriftEnv(**args)
    cfg, n = env.config, env.config.num_players
    departed: set[str] = set()
    for acting, actions, previous, result, _ in run_episode(env, seed, p_object, crowd):
        check_common(env, acting, actions, previous, result, departed)
        _, rewards, terms, truncs, infos = result
        assert acting == env.possible_agents  # nobody leaves early
        assert len(set(terms.values())) == 1 and len(set(truncs.values())) == 1
        removed = {i["removed_drift"] for i in infos.values()} - {None}
        for agent in acting:
            drift = infos[agent]["removed_drift"]
            if drift is not None:
                assert actions[agent] == 5
                assert infos[agent]["drift_cell"] == divmod(
                    int(env.core_state.object_pos[drift]), cfg.width
                )
        expected = n * cfg.removal_reward * len(removed) - cfg.removal_cost * len(removed)
        assert close(sum(rewards.values()), expected)
        assert all(terms.values()) == (not env.core_state.object_alive.any())
    assert env.agents == [] and env.core_state.over


# -- batched core == scalar core ----------------------------------------------------------------
def assert_entry_equal(batch: BatchedState, i: int, s: GridState) -> None:
    assert np.array_equal(batch.player_pos[i], s.player_pos)
    assert np.array_equal(batch.active[i], s.active)
    assert np.array_equal(batch.object_alive[i], s.object_alive)
    assert np.array_equal(batch.object_pos[i], s.object_pos)
    assert int(batch.t[i]) == s.t
    assert int(batch.first_capture_t[i]) == s.first_capture_t
    assert bool(batch.over[i]) == s.over


def check_batched_matches_scalar(
    rules: GridRules, batch_size: int, seed: int, p_object: float, crowd: bool = False
) -> set[int]:
    """Step B scalar states and their batch side by side until all are over; return the
    set of finishing times seen. ``crowd`` moves every player onto object 0 or 1 first."""
    game = BatchedGame(rules)
    rng = np.random.default_rng(seed)
    states = [rules.reset(rng) for _ in range(batch_size)]
    replay = BatchedGame(rules).reset_sequential(np.random.default_rng(seed), batch_size)
    for i, s in enumerate(states):
        assert_entry_equal(replay, i, s)
    if crowd:
        for s in states:
            s.player_pos[:] = rng.choice(s.object_pos[:2], size=s.num_players)
    batch = BatchedState.stack(states)
    finish_times: set[int] = set()
    for _ in range(rules.config.max_cycles + 2):
        masks = game.action_masks(batch)
        layers = game.layers(batch)
        actions = np.empty((batch_size, rules.num_players), dtype=np.int64)
        for i, s in enumerate(states):
            assert_entry_equal(batch, i, s)
            assert np.array_equal(layers[i], rules.layers(s))
            if not s.over:
                assert np.array_equal(masks[i], rules.action_masks(s))
            actions[i] = choose_actions(rng, masks[i], rules.num_actions, p_object)
        before = [s.copy() for s in states]
        out = game.step(batch, actions)
        for field in ("rewards", "terminated", "truncated", "target", "failed", "illegal"):
            assert getattr(out, field).shape == actions.shape, field  # (batch, players)
        for i, s in enumerate(states):
            if before[i].over:  # a finished entry is left alone and reports nothing
                assert_entry_equal(batch, i, before[i])
                assert not out.rewards[i].any() and not out.terminated[i].any()
                assert not out.truncated[i].any() and not out.illegal[i].any()
                assert (out.target[i] == -1).all() and not out.failed[i].any()
                continue
            ref = rules.step(s, actions[i])
            assert np.allclose(out.rewards[i], ref.rewards, rtol=1e-12, atol=1e-12)
            for field in ("terminated", "truncated", "target", "failed", "illegal"):
                assert np.array_equal(getattr(out, field)[i], getattr(ref, field)), field
            assert_entry_equal(batch, i, s)
            if s.over:
                finish_times.add(s.t)
        if all(s.over for s in states):
            break
    assert all(s.over for s in states)
    for i, s in enumerate(states):
        round_trip = batch.unstack(i)
        assert_entry_equal(batch, i, round_trip)
        assert np.array_equal(round_trip.layout.walls, s.layout.walls)
    return finish_times


@PROPERTY_SETTINGS
@given(
    args=stag_hunt_args(),
    batch_size=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    p_object=st.floats(0.0, 1.0),
    crowd=st.booleans(),
)
def test_batched_stag_hunt_equals_scalar(
    args: dict[str, Any], batch_size: int, seed: int, p_object: float, crowd: bool
) -> None:
    rules = StagHuntRules(StagHuntConfig(**args))
    check_batched_matches_scalar(rules, batch_size, seed, p_object, crowd)


@PROPERTY_SETTINGS
@given(
    args=snowdrift_args(),
    batch_size=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    p_object=st.floats(0.0, 1.0),
    crowd=st.booleans(),
)
def test_batched_snowdrift_equals_scalar(
    args: dict[str, Any], batch_size: int, seed: int, p_object: float, crowd: bool
) -> None:
    rules = SnowdriftRules(SnowdriftConfig(**args))
    check_batched_matches_scalar(rules, batch_size, seed, p_object, crowd)


def test_batched_entries_finishing_at_different_times() -> None:
    """A fixed case: in a batch of 8 small stag hunts, entries end at several different
    steps, and each matches its scalar twin throughout."""
    rules = StagHuntRules(
        StagHuntConfig(
            num_players=3,
            grid_size=3,
            num_stags=1,
            num_hares=2,
            max_cycles=12,
            num_wall_pieces=0,
            stag_hunters_required=1,
            time_reward=-0.5,
        )
    )
    times = check_batched_matches_scalar(rules, batch_size=8, seed=0, p_object=0.8)
    assert len(times) >= 3, times
    times = check_batched_matches_scalar(
        SnowdriftRules(SnowdriftConfig(num_players=3, grid_size=3, num_drifts=3, max_cycles=12)),
        batch_size=8,
        seed=0,
        p_object=0.8,
    )
    assert len(times) >= 3, times


OPEN_4x4 = "....\n....\n....\n...."


def test_batched_stag_hunt_step_hand_built() -> None:
    """Three hand-built entries stepped together: a strength-weighted stag split, a stag and
    a hare taken at once (everybody leaves), and a failed hunt with a move and an illegal
    move."""
    rules = StagHuntRules(
        StagHuntConfig(
            num_players=3, grid_size=4, num_stags=1, num_hares=1, player_strength=(1, 3, 4)
        )
    )
    states = [
        hand_state(rules, OPEN_4x4, [(1, 1), (1, 1), (0, 0)], [(1, 1), (3, 3)]),
        hand_state(rules, OPEN_4x4, [(0, 0), (2, 2), (2, 2)], [(2, 2), (0, 0)]),
        hand_state(rules, OPEN_4x4, [(3, 3), (0, 1), (0, 0)], [(3, 3), (2, 0)]),
    ]
    batch = BatchedState.stack(states)
    actions = np.array([[5, 5, 4], [6, 5, 5], [5, 2, 0]])
    out = BatchedGame(rules).step(batch, actions)
    assert np.allclose(out.rewards, [[2.5, 7.5, 0.0], [1.0, 30 / 7, 40 / 7], [0.0, 0.0, 0.0]])
    assert out.terminated.tolist() == [[True, True, False], [True, True, True], [False] * 3]
    assert out.target.tolist() == [[0, 0, -1], [1, 0, 0], [-1, -1, -1]]
    assert out.failed.tolist() == [[False] * 3, [False] * 3, [True, False, False]]
    assert out.illegal.tolist() == [[False] * 3, [False] * 3, [False, False, True]]
    assert batch.player_pos.tolist() == [[5, 5, 0], [0, 10, 10], [15, 0, 0]]
    assert batch.over.tolist() == [False, True, False]
    assert batch.object_alive.tolist() == [[False, True], [False, False], [True, True]]
    for i, s in enumerate(states):
        ref = rules.step(s, actions[i])
        assert np.allclose(out.rewards[i], ref.rewards)
        assert_entry_equal(batch, i, s)


def test_batched_snowdrift_step_hand_built() -> None:
    rules = SnowdriftRules(SnowdriftConfig(num_players=3, grid_size=4, num_drifts=2))
    states = [
        hand_state(rules, OPEN_4x4, [(1, 1), (0, 0), (0, 3)], [(1, 1), (3, 3)]),
        hand_state(rules, OPEN_4x4, [(2, 2), (2, 2), (0, 0)], [(2, 2), (3, 0)]),
        hand_state(rules, OPEN_4x4, [(0, 0), (3, 3), (1, 1)], [(0, 0), (3, 3)]),
    ]
    batch = BatchedState.stack(states)
    actions = np.array([[5, 5, 3], [5, 5, 4], [5, 5, 1]])
    out = BatchedGame(rules).step(batch, actions)
    assert out.rewards.tolist() == [[2.0, 6.0, 6.0], [4.0, 4.0, 6.0], [8.0, 8.0, 12.0]]
    assert out.illegal.tolist() == [[False, True, True], [False] * 3, [False] * 3]
    assert out.terminated.tolist() == [[False] * 3, [False] * 3, [True] * 3]
    assert batch.over.tolist() == [False, False, True]
    for i, s in enumerate(states):
        rules.step(s, actions[i])
        assert_entry_equal(batch, i, s)
