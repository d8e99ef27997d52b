"""The vectorised batched reset draws from the scalar reset's distribution; auto-reset
re-draws only finished entries; batched observations equal the ParallelEnv's byte for byte.

The distribution tests compare a few thousand layouts from ``BatchedGame.reset`` with as many
from the scalar ``rules.reset`` on layout statistics (two-sample chi-square and proportion
tests, fixed seeds). Control samplers with one plausible mistake each must fail the same
tests, so the threshold is one that a real difference does not pass.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import hop_envs
from hop_envs import (
    BatchedGame,
    BatchedState,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)
from hop_envs.core import GridLayout, GridRules
from hop_envs.core.layout import (
    _piece_cells,
    _wall_piece,
    draw_walls_batch,
    free_cells_connected,
    free_cells_connected_batch,
    move_table,
    wall_placements,
)

SAMPLES = 3000
#: Smallest p-value a statistic may have (about 10 statistics per configuration).
ALPHA = 1e-4


# -- small statistics toolkit (no scipy in the project) -----------------------------------------
def chi2_sf(x: float, df: int) -> float:
    """Survival function of the chi-square distribution: the regularised upper incomplete
    gamma function Q(df/2, x/2), by its series or continued fraction."""
    a, z = df / 2.0, x / 2.0
    if z <= 0:
        return 1.0
    log_front = a * math.log(z) - z - math.lgamma(a)
    if z < a + 1:  # series for P
        term = total = 1.0 / a
        k = a
        for _ in range(10_000):
            k += 1
            term *= z / k
            total += term
            if term < total * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    # Lentz's continued fraction for Q
    tiny = 1e-300
    b = z + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(log_front) * h


def test_chi2_sf_matches_table_values() -> None:
    # 95th and 99.9th percentiles from standard chi-square tables.
    for x, df, p in [(3.841, 1, 0.05), (18.307, 10, 0.05), (29.588, 10, 0.001), (1.145, 5, 0.95)]:
        assert chi2_sf(x, df) == pytest.approx(p, rel=2e-3)
    assert chi2_sf(500.0, 60) < 1e-40


def homogeneity_p(a: np.ndarray, b: np.ndarray) -> float:
    """p-value of the chi-square test that two samples of integer categories come from one
    distribution (categories with small expected counts pooled into one)."""
    values = np.union1d(a, b)
    table = np.stack([[np.sum(a == v) for v in values], [np.sum(b == v) for v in values]])
    expected = table.sum(0) * table.sum(1)[:, None] / table.sum()
    small = expected.min(0) < 5
    if small.any():
        table = np.concatenate([table[:, ~small], table[:, small].sum(1, keepdims=True)], 1)
        if table[:, -1].sum() == 0:
            table = table[:, :-1]
    if table.shape[1] < 2:
        return 1.0
    expected = table.sum(0) * table.sum(1)[:, None] / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    return chi2_sf(stat, table.shape[1] - 1)


def proportions_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of the two-proportion z-test on boolean samples."""
    pooled = (a.sum() + b.sum()) / (a.size + b.size)
    if pooled in (0.0, 1.0):
        return 1.0
    z = (a.mean() - b.mean()) / math.sqrt(pooled * (1 - pooled) * (1 / a.size + 1 / b.size))
    return math.erfc(abs(z) / math.sqrt(2))


# -- the layouts' statistics ---------------------------------------------------------------------
def statistics(
    walls: np.ndarray, player_pos: np.ndarray, object_pos: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-layout statistics of ``(N, H, W)`` walls and flat player / object cells."""
    n_samples, height, width = walls.shape
    flat = walls.reshape(n_samples, -1)
    horizontal = walls[:, :, 1:] & walls[:, :, :-1]
    vertical = walls[:, 1:] & walls[:, :-1]
    has_h = np.zeros_like(walls)
    has_h[:, :, 1:] |= horizontal
    has_h[:, :, :-1] |= horizontal
    has_v = np.zeros_like(walls)
    has_v[:, 1:] |= vertical
    has_v[:, :-1] |= vertical
    o0, o1 = object_pos[:, 0], object_pos[:, 1]
    stats = {
        "free_count": (~flat).sum(1),
        "wall_pairs": horizontal.sum((1, 2)) + vertical.sum((1, 2)),
        "wall_corners": (has_h & has_v).sum((1, 2)),
        "object_0_cell": o0,
        "object_1_cell": o1,
        "object_last_cell": object_pos[:, -1],
        "player_0_cell": player_pos[:, 0],
        "player_last_cell": player_pos[:, -1],
        "object_distance": np.abs(o0 // width - o1 // width) + np.abs(o0 % width - o1 % width),
        "free_neighbours_of_object_0": np.array(
            [np.count_nonzero(move_table(w)[o] >= 0) for w, o in zip(walls, o0, strict=True)]
        ),
    }
    for cell in range(height * width):
        stats[f"wall_at_{cell}"] = flat[:, cell]
    stats["players_share_a_cell"] = player_pos[:, 0] == player_pos[:, 1]
    stats["player_on_object_0"] = player_pos[:, 0] == o0
    return stats


def p_values(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """Per statistic p-value; the per-cell wall tests are merged into one (Bonferroni)."""
    out: dict[str, float] = {}
    wall_ps = []
    for name, sample in a.items():
        if sample.dtype == bool:
            p = proportions_p(sample, b[name])
            if name.startswith("wall_at_"):
                wall_ps.append(p)
                continue
        else:
            p = homogeneity_p(sample, b[name])
        out[name] = p
    if wall_ps:
        out["wall_at_each_cell"] = min(1.0, min(wall_ps) * len(wall_ps))
    return out


def scalar_sample(rules: GridRules, seed: int, size: int):
    rng = np.random.default_rng(seed)
    states = [rules.reset(rng) for _ in range(size)]
    return (
        np.stack([s.layout.walls for s in states]),
        np.stack([s.player_pos for s in states]),
        np.stack([s.object_pos for s in states]),
    )


def batched_sample(rules: GridRules, seed: int, size: int):
    state = BatchedGame(rules).reset(np.random.default_rng(seed), size)
    check_valid(rules, state)
    return state.walls, state.player_pos, state.object_pos


def check_valid(rules: GridRules, batch: BatchedState) -> None:
    """Every entry is a fresh state that the scalar rules could have drawn, with the batch's
    derived arrays (move bits, object cells) equal to those of the scalar state."""
    m = rules.num_objects
    min_free = max(m, 1)
    for i in range(batch.batch_size):
        walls = batch.walls[i]
        assert (~walls).sum() >= min_free and free_cells_connected(walls)
        assert not walls.ravel()[batch.object_pos[i]].any()
        assert not walls.ravel()[batch.player_pos[i]].any()
        assert len(set(batch.object_pos[i].tolist())) == m
        scalar = rules.state_from_positions(
            GridLayout.from_walls(walls), batch.player_pos[i], batch.object_pos[i]
        )
        ref = BatchedState.stack([scalar])
        for field in ("walls", "move_bits", "cell_object", "player_pos", "active"):
            assert np.array_equal(getattr(batch, field)[i], getattr(ref, field)[0]), field
        for field in ("object_pos", "object_alive", "t", "first_capture_t", "over"):
            assert np.array_equal(getattr(batch, field)[i], getattr(ref, field)[0]), field


CONFIGS = {
    # the default stag hunt: 8x8, 5 pieces, 4 players, a stag and 4 hares
    "stag_hunt_default": StagHuntRules(StagHuntConfig()),
    # a crowded grid where most candidate layouts are rejected
    "stag_hunt_crowded": StagHuntRules(
        StagHuntConfig(grid_size=5, num_wall_pieces=4, num_players=3, num_hares=2)
    ),
    # a flat grid where vertical 4-cell pieces do not fit (the scalar re-draws them)
    "snowdrift_flat": SnowdriftRules(
        SnowdriftConfig(height=3, width=7, num_wall_pieces=2, num_players=2, num_drifts=4)
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_batched_reset_draws_the_scalar_distribution(name: str) -> None:
    rules = CONFIGS[name]
    reference = statistics(*scalar_sample(rules, 1, SAMPLES))
    batched = statistics(*batched_sample(rules, 2, SAMPLES))
    ps = p_values(reference, batched)
    assert min(ps.values()) > ALPHA, {k: v for k, v in ps.items() if v <= ALPHA}
    # The chi-square statistics are not vacuous: both samples span many categories.
    assert len(np.unique(batched["free_count"])) >= 4
    assert len(np.unique(batched["object_0_cell"])) == rules.height * rules.width


def test_wrong_samplers_fail_the_distribution_test() -> None:
    """Three plausible mistakes, each caught by the statistics at the same threshold."""
    rules = CONFIGS["stag_hunt_default"]
    h, w, n, m = rules.height, rules.width, 4, 5
    reference = statistics(*scalar_sample(rules, 1, SAMPLES))
    rng = np.random.default_rng(3)
    masks, probs = wall_placements(h, w)

    def place(walls: np.ndarray, players_replace: bool = True):
        players, objects = [], []
        for grid in walls:
            free = np.flatnonzero(~grid.ravel())
            players.append(rng.choice(free, size=n, replace=players_replace))
            objects.append(rng.choice(free, size=m, replace=False))
        return walls, np.stack(players), np.stack(objects)

    def pieces(weights: np.ndarray, connected_only: bool) -> np.ndarray:
        out = []
        while len(out) < SAMPLES:
            grid = masks[rng.choice(len(weights), size=5, p=weights / weights.sum())].any(0)
            grid = grid.reshape(h, w)
            if (~grid).sum() >= m and (not connected_only or free_cells_connected(grid)):
                out.append(grid)
        return np.stack(out)

    right_walls = pieces(probs, True)
    wrong = {
        "no connectivity rejection": place(pieces(probs, False)),
        "every placement equally likely": place(pieces(np.ones_like(probs), True)),
        "players on distinct cells": place(right_walls, players_replace=False),
    }
    for mistake, sample in wrong.items():
        ps = p_values(reference, statistics(*sample))
        assert min(ps.values()) < ALPHA / 100, mistake
    # ...while the same hand-written sampler without a mistake passes.
    assert min(p_values(reference, statistics(*place(right_walls))).values()) > ALPHA


def test_wall_placements_match_the_scalar_piece_draws() -> None:
    """The placement probabilities are those of ``_wall_piece`` re-drawn until it fits, with
    a uniform anchor: checked by enumerating the 32 outcomes by hand on a 3x4 grid, and
    against the frequencies of the scalar draws."""
    masks, probs = wall_placements(3, 4)
    assert probs.sum() == pytest.approx(1.0)
    # On 3 rows x 4 columns only the vertical straight 4 (4 of the 32 outcomes) does not
    # fit: 28 fitting outcomes.
    outcomes = [
        _piece_cells(length, bent, turns, mirror)
        for length in (3, 4)
        for bent in (False, True)
        for turns in range(4)
        for mirror in (False, True)
    ]
    fitting = [c for c in outcomes if max(r for r, _ in c) < 3 and max(q for _, q in c) < 4]
    assert len(fitting) == 28
    # The horizontal straight 4 on the top row: 4 outcomes of 28, 3 anchors (one per row).
    top_row = np.zeros((3, 4), dtype=bool)
    top_row[0] = True
    (index,) = np.flatnonzero((masks == top_row.ravel()).all(1))
    assert probs[index] == pytest.approx(4 / 28 / 3)
    # Frequencies of the scalar piece draws agree with the table.
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(20_000):
        cells = _wall_piece(rng)
        if max(r for r, _ in cells) < 3 and max(c for _, c in cells) < 4:
            draws.append(frozenset(cells))
    shapes = {}
    for mask, p in zip(masks, probs, strict=True):
        grid = mask.reshape(3, 4)
        rows, cols = np.nonzero(grid)
        rows, cols = (rows - rows.min()).tolist(), (cols - cols.min()).tolist()
        key = frozenset(zip(rows, cols, strict=True))
        shapes[key] = shapes.get(key, 0.0) + p
    observed = np.array([sum(d == k for d in draws) for k in shapes])
    expected = np.array(list(shapes.values())) * len(draws)
    stat = float(((observed - expected) ** 2 / expected).sum())
    assert chi2_sf(stat, len(shapes) - 1) > ALPHA


def test_batch_connectivity_matches_the_scalar_check() -> None:
    rng = np.random.default_rng(0)
    for shape in [(500, 5, 7), (300, 8, 8), (50, 2, 2), (40, 11, 9)]:
        walls = rng.random(shape) < 0.3
        walls[:3] = True  # no free cell: not connected
        expected = [free_cells_connected(grid) for grid in walls]
        assert free_cells_connected_batch(walls).tolist() == expected
    # Hand-worked: a wall column splits a 3x3 grid; a gap in it joins the halves.
    split = np.zeros((1, 3, 3), dtype=bool)
    split[0, :, 1] = True
    joined = split.copy()
    joined[0, 2, 1] = False
    assert free_cells_connected_batch(np.concatenate([split, joined])).tolist() == [False, True]


def test_draw_walls_batch_respects_min_free_and_errors() -> None:
    walls = draw_walls_batch(np.random.default_rng(0), 200, 4, 4, 2, min_free=9)
    assert ((~walls).sum((1, 2)) >= 9).all()
    assert free_cells_connected_batch(walls).all()
    with pytest.raises(ValueError, match="could not place"):
        draw_walls_batch(np.random.default_rng(0), 3, 2, 2, 3, min_free=4)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_reset_done_redraws_only_finished_entries(name: str) -> None:
    rules = CONFIGS[name]
    game = BatchedGame(rules)
    rng = np.random.default_rng(5)
    state = game.reset(rng, 12)
    for _ in range(3):
        game.step(state, rng.integers(0, rules.num_actions, size=state.player_pos.shape))
    done = np.zeros(12, dtype=bool)
    done[[1, 4, 5, 11]] = True
    state.over[:] = done
    state.active[1, 0] = False
    state.object_alive[4] = False
    before = state.take(np.arange(12))
    rows = game.reset_done(state, rng)
    assert rows.tolist() == [1, 4, 5, 11]
    for field in ("walls", "move_bits", "cell_object", "player_pos", "active", "object_pos"):
        assert np.array_equal(getattr(state, field)[~done], getattr(before, field)[~done])
    for field in ("object_alive", "t", "first_capture_t"):
        assert np.array_equal(getattr(state, field)[~done], getattr(before, field)[~done])
    assert not state.over.any() and not state.shared_board
    check_valid(rules, state.take(rows))
    assert (state.t[rows] == 0).all() and state.active[rows].all()
    assert game.reset_done(state, rng).size == 0


def test_reset_sequential_is_the_scalar_loop() -> None:
    rules = CONFIGS["stag_hunt_default"]
    batch = BatchedGame(rules).reset_sequential(np.random.default_rng(7), 5)
    rng = np.random.default_rng(7)
    for i in range(5):
        s = rules.reset(rng)
        assert np.array_equal(batch.walls[i], s.layout.walls)
        assert np.array_equal(batch.player_pos[i], s.player_pos)
        assert np.array_equal(batch.object_pos[i], s.object_pos)


# -- batched observations == the ParallelEnv's --------------------------------------------------
@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("MarkovStagHunt-v0", {}),
        ("MarkovStagHunt-v0", {"num_players": 3, "grid_size": 6, "max_cycles": 12}),
        ("MarkovSnowdrift-v0", {"num_wall_pieces": 3, "max_cycles": 15}),
        ("MarkovSnowdrift-v0", {"num_players": 5, "height": 5, "width": 7}),
    ],
)
def test_observe_equals_the_parallel_env(env_id: str, kwargs: dict) -> None:
    envs = [hop_envs.make(env_id, **kwargs) for _ in range(6)]
    game = BatchedGame(envs[0].unwrapped.rules)
    rng = np.random.default_rng(11)
    obs = [env.reset(seed=100 + i)[0] for i, env in enumerate(envs)]
    compared = 0
    for _ in range(60):
        batch = BatchedState.stack([env.unwrapped.core_state for env in envs])
        grids, masks = game.observe(batch)
        assert grids.dtype == np.uint8 and masks.dtype == np.int8
        for i, env in enumerate(envs):
            for agent, o in obs[i].items():
                seat = env.possible_agents.index(agent)
                assert grids[i, seat].dtype == o["observation"].dtype
                assert grids[i, seat].tobytes() == o["observation"].tobytes()
                assert masks[i, seat].dtype == o["action_mask"].dtype
                assert masks[i, seat].tobytes() == o["action_mask"].tobytes()
                compared += 1
        for i, env in enumerate(envs):
            if not env.agents:
                obs[i] = env.reset()[0]
                continue
            actions = {}
            for agent in env.agents:
                legal = np.flatnonzero(obs[i][agent]["action_mask"])
                actions[agent] = int(rng.choice(legal))
            obs[i] = env.step(actions)[0]
    assert compared > 500
