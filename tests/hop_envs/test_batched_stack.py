"""BatchedState.stack: scalar states as rows, one board flagged, mismatches refused."""

from __future__ import annotations

import numpy as np
import pytest

from hop_envs.core import BatchedState, StagHuntConfig, StagHuntRules
from hop_envs.core.positions import random_positions


def test_each_row_is_its_state_and_one_episodes_states_share_a_board() -> None:
    rules = StagHuntRules(StagHuntConfig())
    first = random_positions(rules, 1, 0)[0]
    moved = first.copy()
    moved.player_pos = np.array([1, 2, 3, 4])
    moved.object_alive = np.array([False, True, True, False, True])
    moved.t = 7
    batch = BatchedState.stack([first, moved, first])
    assert batch.player_pos.tolist() == [
        first.player_pos.tolist(),
        [1, 2, 3, 4],
        first.player_pos.tolist(),
    ]
    assert batch.object_alive[1].tolist() == [False, True, True, False, True]
    assert batch.t.tolist() == [first.t, 7, first.t]
    assert batch.player_pos.dtype == np.int64 and batch.object_alive.dtype == bool
    assert batch.shared_board  # one layout, the objects on the same cells
    # The dead objects of row 1 leave no mark on its cells; the live ones do.
    for k, (cell, alive) in enumerate(zip(batch.object_pos[1], batch.object_alive[1], strict=True)):
        assert batch.cell_object[1, cell] == (k if alive else -1)


def test_states_of_other_boards_are_not_flagged_as_one_board() -> None:
    rules = StagHuntRules(StagHuntConfig())
    a, b = random_positions(rules, 2, 1)
    batch = BatchedState.stack([a, b])
    assert not batch.shared_board
    assert batch.walls[0].tolist() == a.layout.walls.tolist()
    assert batch.walls[1].tolist() == b.layout.walls.tolist()


def test_states_of_different_player_counts_are_refused() -> None:
    four = random_positions(StagHuntRules(StagHuntConfig()), 1, 0)[0]
    three = random_positions(StagHuntRules(StagHuntConfig(num_players=3)), 1, 0)[0]
    with pytest.raises(ValueError, match="same shape"):
        BatchedState.stack([four, three])


def test_states_with_other_object_kinds_are_refused() -> None:
    hunt = random_positions(StagHuntRules(StagHuntConfig()), 1, 0)[0]
    hares_first = hunt.copy()
    hares_first.object_kind = hunt.object_kind[::-1].copy()
    with pytest.raises(ValueError, match="same object kinds"):
        BatchedState.stack([hunt, hares_first])
