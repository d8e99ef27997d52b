"""Property tests: on random layouts the seekers' choices are exactly the shortest-path
first moves, computed here independently (one breadth-first search per target with
``GridLayout.distances_from``), and following them reaches the nearest target."""

from __future__ import annotations

import numpy as np
from coplayer_grids import observation
from hypothesis import given, settings
from hypothesis import strategies as st

from hop_envs.coplayers import Cleaner, NearestHare, NearestStag, RandomCoplayer
from hop_envs.core import SnowdriftConfig, SnowdriftRules, StagHuntConfig, StagHuntRules
from hop_envs.core.layout import NUM_MOVES, STAY

SEEKERS = {"nearest-stag": NearestStag, "nearest-hare": NearestHare, "cleaner": Cleaner}


@st.composite
def scenes(draw):
    """A random state of either game with some objects gone, and a seeker for it."""
    name = draw(st.sampled_from(sorted(SEEKERS)))
    height, width = draw(st.integers(3, 8)), draw(st.integers(3, 8))
    players = draw(st.integers(2, 4))
    pieces = draw(st.integers(0, 3))
    if name == "cleaner":
        rules = SnowdriftRules(
            SnowdriftConfig(
                num_players=players,
                height=height,
                width=width,
                num_drifts=draw(st.integers(1, 4)),
                num_wall_pieces=pieces,
                max_cycles=500,
            )
        )
    else:
        rules = StagHuntRules(
            StagHuntConfig(
                num_players=players,
                height=height,
                width=width,
                num_stags=draw(st.integers(0, 2)),
                num_hares=draw(st.integers(1, 3)),
                num_wall_pieces=pieces,
                max_cycles=500,
            )
        )
    state = rules.reset(np.random.default_rng(draw(st.integers(0, 2**32 - 1))))
    alive = draw(st.lists(st.booleans(), min_size=rules.num_objects, max_size=rules.num_objects))
    if any(alive):  # a state with no object left is over; the seekers never see it
        state.object_alive[:] = alive
    seat = draw(st.integers(0, players - 1))
    return rules, state, SEEKERS[name](), seat


def nearest_distance(layout, targets: list[int]) -> np.ndarray:
    """Per cell, moves to the nearest target (-1: none reachable), one BFS per target."""
    best = np.full(layout.neighbors.shape[0], -1)
    for target in targets:
        d = layout.distances_from(target)
        better = (d >= 0) & ((best < 0) | (d < best))
        best[better] = d[better]
    return best


def targets_of(state, kind: int) -> list[int]:
    live = state.object_alive & (state.object_kind == kind)
    return state.object_pos[live].tolist()


@settings(max_examples=150, deadline=None)
@given(scenes())
def test_choices_are_exactly_the_shortest_path_first_moves(scene):
    rules, state, player, seat = scene
    obs = observation(rules, state, seat)
    probs = player.action_distribution(obs)
    assert probs.dtype == np.float64
    assert np.isclose(probs.sum(), 1.0)
    assert not probs[obs["action_mask"] == 0].any()

    dist = nearest_distance(state.layout, targets_of(state, player.kind))
    cell = int(state.player_pos[seat])
    if dist[cell] < 0:
        expected = {STAY}
    elif dist[cell] == 0:
        expected = {player.object_action}
    else:
        row = state.layout.neighbors[cell]
        expected = {m for m in range(NUM_MOVES) if row[m] >= 0 and dist[row[m]] == dist[cell] - 1}
    support = set(np.flatnonzero(probs).tolist())
    assert support == expected
    np.testing.assert_allclose(probs[sorted(support)], 1 / len(support))


@settings(max_examples=60, deadline=None)
@given(scenes(), st.integers(0, 2**32 - 1))
def test_following_the_seeker_reaches_the_nearest_target_then_acts_on_it(scene, seed):
    rules, state, player, seat = scene
    targets = targets_of(state, player.kind)
    dist = nearest_distance(state.layout, targets)
    start = int(state.player_pos[seat])
    player.reset(seed=seed)
    for _ in range(dist[start]):
        action = player.act(observation(rules, state, seat))
        assert action < NUM_MOVES
        joint = [STAY] * rules.num_players
        joint[seat] = action
        rules.step(state, joint)
    last = player.act(observation(rules, state, seat))
    if targets:
        assert int(state.player_pos[seat]) in targets
        assert last == player.object_action
    else:
        assert last == STAY and int(state.player_pos[seat]) == start


@settings(max_examples=60, deadline=None)
@given(scenes())
def test_random_is_the_normalised_mask(scene):
    rules, state, _, seat = scene
    obs = observation(rules, state, seat)
    mask = obs["action_mask"].astype(float)
    np.testing.assert_allclose(
        RandomCoplayer().action_distribution(obs), mask / mask.sum(), rtol=0, atol=1e-15
    )
