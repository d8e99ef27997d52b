"""Walls and reset: wall pieces are 3-4 cell straight or L shapes, every requested piece is
placed, the free cells stay connected, prey/drifts sit on distinct free cells."""

from __future__ import annotations

import numpy as np
import pytest
from env_test_helpers import walls_from

import hop_envs
from hop_envs.core import GridLayout
from hop_envs.core.layout import draw_layout


def _connected(free: np.ndarray) -> bool:
    """Whether the ``True`` cells of ``free`` form one 4-connected region (own flood fill,
    independent of the code under test)."""
    cells = {(int(r), int(c)) for r, c in np.argwhere(free)}
    if not cells:
        return False
    todo = [next(iter(cells))]
    seen = set(todo)
    while todo:
        r, c = todo.pop()
        for nxt in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if nxt in cells and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen == cells


def _shape(cells: np.ndarray) -> frozenset[tuple[int, int]]:
    """The cells (``(k, 2)`` row/col array) moved so their bounding box starts at 0, 0."""
    cells = cells - cells.min(axis=0)
    return frozenset((int(r), int(c)) for r, c in cells)


def _all_piece_shapes() -> set[frozenset[tuple[int, int]]]:
    """The 16 shapes DESIGN allows: straight 3 and 4 (two orientations each), the 3-cell L
    (a 2x2 square less one cell) and the 4-cell L (three in a line plus one at an end)."""
    shapes = set()
    for length in (3, 4):
        shapes.add(frozenset((0, i) for i in range(length)))
        shapes.add(frozenset((i, 0) for i in range(length)))
    square = {(0, 0), (0, 1), (1, 0), (1, 1)}
    shapes |= {frozenset(square - {cell}) for cell in square}
    for line_row, other_row in ((0, 1), (1, 0)):
        for end in (0, 2):
            line = {(line_row, i) for i in range(3)}
            shapes.add(frozenset(line | {(other_row, end)}))
            shapes.add(frozenset((c, r) for r, c in line | {(other_row, end)}))
    assert len(shapes) == 16
    return shapes


def test_one_wall_piece_is_a_straight_or_l_shape_of_three_or_four_cells() -> None:
    allowed = _all_piece_shapes()
    seen = set()
    for seed in range(600):
        walls = draw_layout(np.random.default_rng(seed), 8, 8, num_pieces=1, min_free=1).walls
        shape = _shape(np.argwhere(walls))
        assert shape in allowed, f"seed {seed}: unexpected piece {sorted(shape)}"
        seen.add(shape)
    assert seen == allowed  # every orientation of every piece occurs


@pytest.mark.parametrize(("height", "width"), [(2, 2), (3, 3), (3, 8), (2, 8), (8, 3)])
def test_every_requested_piece_is_placed_on_small_grids(height: int, width: int) -> None:
    allowed = _all_piece_shapes()
    for seed in range(100):
        walls = draw_layout(np.random.default_rng(seed), height, width, 1, min_free=1).walls
        assert 3 <= int(walls.sum()) <= 4, f"seed {seed}: {int(walls.sum())} wall cells"
        assert _shape(np.argwhere(walls)) in allowed


@pytest.mark.parametrize("env_name", sorted(hop_envs.ENV_IDS))
def test_reset_keeps_free_cells_connected_and_places_objects_on_free_cells(
    env_name: str,
) -> None:
    env = hop_envs.make(env_name, num_wall_pieces=6)
    rules = env.rules
    for seed in range(150):
        env.reset(seed=seed)
        s = env.core_state
        walls = s.layout.walls
        assert walls.shape == (rules.height, rules.width)
        assert 3 <= int(walls.sum()) <= 24
        assert _connected(~walls), f"seed {seed}: free cells are not connected"
        free = set(np.flatnonzero(~walls.ravel()).tolist())
        objects = s.object_pos.tolist()
        assert len(set(objects)) == len(objects) == rules.num_objects
        assert set(objects) <= free
        assert set(s.player_pos.tolist()) <= free
        assert s.active.all() and s.object_alive.all() and s.t == 0


def test_no_wall_pieces_means_no_walls() -> None:
    env = hop_envs.make("MarkovStagHunt-v0", num_wall_pieces=0)
    for seed in range(20):
        env.reset(seed=seed)
        assert not env.core_state.layout.walls.any()


def test_snowdrift_defaults_to_no_walls_and_stag_hunt_to_five_pieces() -> None:
    assert hop_envs.make("MarkovSnowdrift-v0").config.num_wall_pieces == 0
    assert hop_envs.make("MarkovStagHunt-v0").config.num_wall_pieces == 5


def test_impossible_wall_layout_raises_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"2 wall pieces on a 2x2 grid"):
        draw_layout(np.random.default_rng(0), 2, 2, num_pieces=2, min_free=2)


def test_move_table_of_a_hand_drawn_grid() -> None:
    layout = GridLayout.from_walls(walls_from(".#.\n...\n#.."))
    #                 up  down  left  right   (-1: wall or edge)
    assert layout.neighbors.tolist() == [
        [-1, 3, -1, -1],  # (0,0): wall to the right
        [-1, -1, -1, -1],  # (0,1) is a wall
        [-1, 5, -1, -1],  # (0,2): wall to the left
        [0, -1, -1, 4],  # (1,0): wall below
        [-1, 7, 3, 5],  # (1,1): wall above
        [2, 8, 4, -1],  # (1,2)
        [-1, -1, -1, -1],  # (2,0) is a wall
        [4, -1, -1, 8],  # (2,1): wall to the left
        [5, -1, 7, -1],  # (2,2)
    ]
    assert layout.free_cells().tolist() == [0, 2, 3, 4, 5, 7, 8]
    assert layout.distances_from(0).tolist() == [0, -1, 4, 1, 2, 3, -1, 3, 4]
