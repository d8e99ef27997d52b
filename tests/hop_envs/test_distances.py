"""All-pairs shortest-path distances of a layout, by hand and against single-source BFS."""

from __future__ import annotations

import numpy as np
import pytest

from hop_envs.core import GridLayout, all_pairs_distances, bfs_distances
from hop_envs.core.layout import draw_layout


def test_all_pairs_distances_by_hand_around_a_wall() -> None:
    # 3x3, a wall in the middle of the top row: from (0,0) to (0,2) the way goes down and
    # round (4 moves); the wall cell itself is unreachable from anywhere but itself.
    walls = np.zeros((3, 3), dtype=bool)
    walls[0, 1] = True
    dist = all_pairs_distances(GridLayout.from_walls(walls).neighbors)
    assert dist[0, 2] == 4 and dist[2, 0] == 4
    assert dist[0, 8] == 4 and dist[3, 5] == 2
    assert dist[1, 1] == 0 and (np.delete(dist[1], 1) == -1).all()
    assert (dist == dist.T).all()


@pytest.mark.parametrize("seed", range(5))
def test_all_pairs_distances_equal_a_bfs_from_every_cell(seed: int) -> None:
    layout = draw_layout(np.random.default_rng(seed), 7, 6, 4, min_free=5)
    expected = np.stack([bfs_distances(layout.neighbors, c) for c in range(42)])
    np.testing.assert_array_equal(all_pairs_distances(layout.neighbors), expected)
