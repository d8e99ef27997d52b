"""Batched co-players: their choice sets equal the scalar co-players' on every row of many
random states of both games, hand-worked grids (a wall forcing a detour, a departed player),
and their draws are uniform over each set (chi-square)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from coplayer_grids import build, observation

import hop_envs
from hop_envs import BatchedGame
from hop_envs.coplayers import (
    BATCHED_POLICIES,
    batched_names,
    batched_policy,
    draw_uniform,
    make_coplayer,
    nearest_target_distances,
)
from hop_envs.coplayers.paths import cached_move_table, distances_to_targets
from hop_envs.core.layout import STAY
from hop_envs.core.stag_hunt import HUNT_STAG

UP, DOWN, LEFT, RIGHT = range(4)

#: Game settings the property tests draw states from: defaults, other player counts, walls,
#: non-square grids, and grids above 64 cells (the unpacked search).
SETTINGS = [
    ("MarkovStagHunt-v0", {}),
    ("MarkovStagHunt-v0", {"num_players": 2, "height": 5, "width": 9, "num_wall_pieces": 3}),
    ("MarkovStagHunt-v0", {"height": 8, "width": 9, "num_wall_pieces": 8, "num_hares": 2}),
    ("MarkovSnowdrift-v0", {"num_wall_pieces": 4}),
    ("MarkovSnowdrift-v0", {"num_players": 3, "height": 9, "width": 10, "num_wall_pieces": 6}),
]


def random_observations(
    env_id: str, kwargs: dict, seed: int, batch: int = 48, steps: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Every seat's grid and mask ``(N, C, H, W)``, ``(N, A)`` over ``steps`` random legal
    joint steps of ``batch`` episodes drawn with ``BatchedGame.reset``."""
    game = BatchedGame(hop_envs.make(env_id, **kwargs).rules)
    rng = np.random.default_rng(seed)
    state = game.reset(rng, batch)
    grids, masks = [], []
    for _ in range(steps):
        obs, mask = game.observe(state)
        grids.append(obs.reshape(-1, *obs.shape[2:]))
        masks.append(mask.reshape(-1, mask.shape[-1]))
        legal = game.action_masks(state)
        game.step(state, (rng.random(legal.shape) * legal).argmax(-1))
    return np.concatenate(grids), np.concatenate(masks)


@pytest.mark.parametrize(("env_id", "kwargs"), SETTINGS)
def test_choice_sets_equal_the_scalar_choices_on_every_row(env_id: str, kwargs: dict) -> None:
    grids, masks = random_observations(env_id, kwargs, seed=len(str(kwargs)))
    departed = ~grids[:, 0].reshape(len(grids), -1).any(1)
    if "StagHunt" in env_id:
        assert departed.any()  # captures happened: departed players are among the rows
    for name in batched_names(env_id):
        sets = batched_policy(name, env_id).choice_sets(grids, masks)
        scalar = make_coplayer(name, env_id)
        for i in range(len(grids)):
            expected = np.zeros(masks.shape[1], dtype=bool)
            expected[list(scalar.choices(grids[i], masks[i]))] = True
            support = scalar.action_distribution({"observation": grids[i], "action_mask": masks[i]})
            assert (sets[i] == expected).all(), (name, i, sets[i], expected)
            assert (sets[i] == (support > 0)).all(), (name, i)


@pytest.mark.parametrize(("env_id", "kwargs"), SETTINGS)
def test_batched_distances_equal_the_scalar_search(env_id: str, kwargs: dict) -> None:
    grids, _ = random_observations(env_id, kwargs, seed=7, batch=16, steps=4)
    rules = hop_envs.make(env_id, **kwargs).rules
    walls = rules.num_players
    height, width = grids.shape[2:]
    for channel in range(walls + 1, grids.shape[1]):
        dist = nearest_target_distances(grids[:, walls] == 0, grids[:, channel] != 0)
        for i in range(len(grids)):
            table = cached_move_table(height, width, grids[i, walls].tobytes())
            targets = np.flatnonzero(grids[i, channel]).tolist()
            assert dist[i].reshape(-1).tolist() == distances_to_targets(table, targets)


DETOUR = [
    "S#...",
    ".#.#.",
    "...#.",
]


def test_a_wall_forces_the_seeker_around_it() -> None:
    rules, state = build("stag", DETOUR, [(0, 2), (2, 4)])
    grids = np.stack([rules.observation(state, seat) for seat in (0, 1)])
    masks = np.stack([rules.action_mask(state, seat) for seat in (0, 1)])
    walls = rules.num_players
    dist = nearest_target_distances(grids[:1, walls] == 0, grids[:1, walls + 1] != 0)
    assert dist[0].tolist() == [[0, -1, 6, 7, 8], [1, -1, 5, -1, 9], [2, 3, 4, -1, 10]]
    sets = batched_policy("nearest-stag").choice_sets(grids, masks)
    # Seat 0 at (0, 2): the stag two cells left is 6 moves away, down first. Seat 1 at
    # (2, 4): only up leads anywhere.
    assert np.flatnonzero(sets[0]).tolist() == [DOWN]
    assert np.flatnonzero(sets[1]).tolist() == [UP]


def test_equally_near_targets_give_every_first_move_and_on_target_hunts() -> None:
    rules, state = build("stag", ["S...S", ".....", "..S.."], [(1, 2), (0, 0)])
    grids = np.stack([rules.observation(state, seat) for seat in (0, 1)])
    masks = np.stack([rules.action_mask(state, seat) for seat in (0, 1)])
    sets = batched_policy("nearest-stag").choice_sets(grids, masks)
    assert np.flatnonzero(sets[0]).tolist() == [DOWN]  # the stag below is 1 away
    assert np.flatnonzero(sets[1]).tolist() == [HUNT_STAG]
    rules, state = build("stag", ["S...S", ".....", "....."], [(1, 2), (2, 0)])
    obs = observation(rules, state, 0)
    sets = batched_policy("nearest-stag").choice_sets(
        obs["observation"][None], obs["action_mask"][None]
    )
    assert np.flatnonzero(sets[0]).tolist() == [UP, LEFT, RIGHT]


@pytest.mark.parametrize("name", ["random", "nearest-stag", "nearest-hare"])
def test_a_departed_player_stays(name: str) -> None:
    rules, state = build("stag", ["S.H.", "....", "..SH"], [(0, 1), (2, 2)], left=[0])
    obs = observation(rules, state, 0)
    assert not obs["observation"][0].any()
    sets = batched_policy(name).choice_sets(obs["observation"][None], obs["action_mask"][None])
    assert np.flatnonzero(sets[0]).tolist() == [STAY]


def test_no_target_left_or_reachable_means_stay() -> None:
    rules, state = build("snow", ["d.#.", "..#D", "..#."], [(0, 0), (1, 3)])
    grids = np.stack([rules.observation(state, seat) for seat in (0, 1)])
    masks = np.stack([rules.action_mask(state, seat) for seat in (0, 1)])
    sets = batched_policy("cleaner").choice_sets(grids, masks)
    assert np.flatnonzero(sets[0]).tolist() == [STAY]  # the only drift is behind the wall
    assert np.flatnonzero(sets[1]).tolist() == [5]  # remove


def chi2_sf_even(x: float, df: int) -> float:
    """Chi-square survival function for an even ``df`` (closed form)."""
    assert df % 2 == 0 and df > 0
    half = x / 2.0
    term, total = 1.0, 1.0
    for k in range(1, df // 2):
        term *= half / k
        total += term
    return math.exp(-half) * total


def test_draws_are_uniform_over_each_choice_set() -> None:
    sets = np.zeros((4, 7), dtype=bool)
    sets[0, [0, 2, 4]] = True
    sets[1, [0, 1, 3, 5, 6]] = True
    sets[2, :] = True
    sets[3, [5]] = True
    reps = 6000
    rng = np.random.default_rng(11)
    draws = draw_uniform(np.tile(sets, (reps, 1)), rng).reshape(reps, len(sets))
    for row in range(len(sets)):
        members = np.flatnonzero(sets[row])
        counts = np.bincount(draws[:, row], minlength=7)
        assert counts[~sets[row]].sum() == 0
        if len(members) == 1:
            continue
        expected = reps / len(members)
        stat = float(((counts[members] - expected) ** 2 / expected).sum())
        assert chi2_sf_even(stat, len(members) - 1) > 1e-4, (row, counts)


def test_act_draws_from_the_choice_sets_and_is_seeded() -> None:
    grids, masks = random_observations("MarkovSnowdrift-v0", {}, seed=3, batch=16, steps=6)
    policy = batched_policy("cleaner", "hop/MarkovSnowdrift-v0")
    sets = policy.choice_sets(grids, masks)
    first = policy.act(grids, masks, np.random.default_rng(5))
    assert sets[np.arange(len(grids)), first].all()
    assert (policy.act(grids, masks, np.random.default_rng(5)) == first).all()


def test_batched_policy_refuses_held_out_unknown_and_other_env_names() -> None:
    assert sorted(BATCHED_POLICIES) == [
        "cleaner",
        "free-rider",
        "nearest-hare",
        "nearest-stag",
        "random",
    ]
    for name in ("patient-stag", "late-cleaner", "nope"):
        with pytest.raises(ValueError, match=rf"no batched policy for co-player '{name}'.*"):
            batched_policy(name)
    with pytest.raises(ValueError, match="'cleaner' plays only hop/MarkovSnowdrift-v0"):
        batched_policy("cleaner", "MarkovStagHunt-v0")
    assert batched_names("MarkovStagHunt-v0") == ["nearest-hare", "nearest-stag", "random"]


def test_bad_shapes_and_disagreeing_masks_are_named() -> None:
    policy = batched_policy("nearest-stag")
    grids, masks = random_observations("MarkovStagHunt-v0", {}, seed=1, batch=2, steps=1)
    with pytest.raises(ValueError, match=r"masks must be \(N, A\) with N = 8 rows"):
        policy.choice_sets(grids, masks[:3])
    with pytest.raises(ValueError, match="masks must have 7 actions"):
        policy.choice_sets(grids, masks[:, :6])
    with pytest.raises(ValueError, match=r"grids must be \(N, C, H, W\)"):
        policy.choice_sets(grids[0], masks)
    stay_only = np.zeros_like(masks)
    stay_only[:, STAY] = 1
    with pytest.raises(ValueError, match="row 0 forbids action"):
        policy.choice_sets(grids, stay_only)
    with pytest.raises(ValueError, match="row 1 is empty"):
        draw_uniform(np.eye(3, dtype=bool)[[0, 2]] & [[True], [False]], np.random.default_rng())
