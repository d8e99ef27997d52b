"""Hindsight subgoal selectors on hand-built episodes: which future state each one picks."""

from __future__ import annotations

import numpy as np
import pytest
from hop_plus_episodes import snowdrift, stag_hunt

from agents.hop.interfaces import IDLE
from agents.hop_plus.buffer import SubgoalBuffer
from agents.hop_plus.subgoals import (
    achievement_steps,
    future_window,
    reference_indices,
    select_subgoals,
    subgoal_indices,
    value_indices,
)

F, T = False, True


def test_future_window_is_the_next_h_steps_clipped_at_the_end():
    assert [future_window(4, t, 5) for t in range(4)] == [(1, 4), (2, 4), (3, 4), (3, 4)]
    assert [future_window(4, t, 1) for t in range(4)] == [(1, 2), (2, 3), (3, 4), (3, 4)]
    assert future_window(1, 0, 3) == (0, 1)  # a one-step trajectory: only itself


def test_optimistic_and_conservative_pick_the_max_and_min_future_value():
    values = np.array([0.0, 3.0, 1.0, 2.0])
    # t=0 sees steps 1..3 (3, 1, 2); t=1 sees 2..3 (1, 2); t=2 sees 3; t=3 is clipped to 3.
    assert value_indices(values, 5, "optimistic").tolist() == [1, 3, 3, 3]
    assert value_indices(values, 5, "conservative").tolist() == [2, 2, 3, 3]
    # H=1: always the next state (the last step clipped to itself).
    assert value_indices(values, 1, "optimistic").tolist() == [1, 2, 3, 3]
    assert value_indices(values, 1, "conservative").tolist() == [1, 2, 3, 3]
    # H=3 on 6 steps: the window ends at t+3 (clipped at 5); ties go to the earliest.
    values6 = np.array([9.0, 1.0, 1.0, 0.0, 5.0, 5.0])
    assert value_indices(values6, 3, "optimistic").tolist() == [1, 4, 4, 4, 5, 5]
    assert value_indices(values6, 3, "conservative").tolist() == [3, 3, 3, 4, 5, 5]


def test_reference_picks_the_next_achievement_within_h_else_h_steps_on():
    achieved = np.array([F, F, T, F])
    assert reference_indices(achieved, 5).tolist() == [2, 2, 3, 3]
    assert reference_indices(achieved, 1).tolist() == [1, 2, 3, 3]
    none = np.zeros(6, dtype=bool)
    assert reference_indices(none, 3).tolist() == [3, 4, 5, 5, 5, 5]
    assert reference_indices(none, 1).tolist() == [1, 2, 3, 4, 5, 5]
    assert reference_indices(np.zeros(4, dtype=bool), 10).tolist() == [3, 3, 3, 3]
    # An achievement beyond H is not seen: with H=3, steps 0 and 1 do not see step 5.
    late = np.array([F, F, F, F, F, T])
    assert reference_indices(late, 3).tolist() == [3, 4, 5, 5, 5, 5]


def test_achievements_are_read_from_hindsight_labels():
    # Snowdrift: removes drift 3 at step 1 and drift 7 at step 3, then idle.
    labels = np.array([3, 3, 7, 7, IDLE, IDLE])
    assert achievement_steps(labels, 6, expected=2).tolist() == [F, T, F, T, F, F]
    # Stag hunt: captures kind 0 in its last step (then leaves).
    assert achievement_steps(np.array([0, 0, 0]), 3, expected=1).tolist() == [F, F, T]
    assert achievement_steps(np.full(3, IDLE), 3, expected=0).tolist() == [F, F, F]
    assert achievement_steps(None, 3).tolist() == [F, F, F]  # censored: unknown
    with pytest.raises(ValueError, match="show 2 achievement"):
        achievement_steps(labels, 6, expected=3)


def test_select_subgoals_returns_the_grids_of_the_chosen_steps():
    grids = np.arange(4, dtype=np.uint8)[:, None, None, None] * np.ones((4, 2, 2, 3), np.uint8)
    index, goals = select_subgoals(grids, 5, "reference", labels=np.array([1, 1, 1, IDLE]))
    assert index.tolist() == [2, 2, 3, 3]
    np.testing.assert_array_equal(goals[:, 0, 0, 0], [2, 2, 3, 3])
    calls = []

    def value(g):
        calls.append(g.dtype)
        return -g[:, 0, 0, 0]  # later states are worse

    index, _ = select_subgoals(grids, 3, "optimistic", value=value)
    assert index.tolist() == [1, 2, 3, 3] and calls == [np.float32]
    index, _ = select_subgoals(grids, 3, "conservative", value=value)
    assert index.tolist() == [3, 3, 3, 3]


def test_reference_selector_on_a_recorded_snowdrift_episode():
    rules, episode = snowdrift()
    buffer = SubgoalBuffer(rules)
    buffer.add_episode(episode)
    data = buffer.sequences(5, "reference")
    row = data.seats.tolist().index(1)
    # Seat 1 removes at steps 1 and 3 (label changes), nothing after.
    assert data.subgoal_index[row].tolist() == [1, 3, 3, 5, 5, 5]
    for t, k in enumerate(data.subgoal_index[row].tolist()):
        np.testing.assert_array_equal(
            data.subgoals[row, t], rules.observation(episode.states[k], 1)
        )
    # The subgoal of step 0 is the state of the removal: seat 1 stands on the drift at cell 3.
    assert data.subgoals[row, 0, 0].reshape(-1).argmax() == 3
    # Seat 2 never removes: H steps on; with H=1 the next state.
    assert data.subgoal_index[data.seats.tolist().index(2)].tolist() == [5, 5, 5, 5, 5, 5]
    h1 = buffer.sequences(1, "reference")
    assert h1.subgoal_index[row].tolist() == [1, 2, 3, 4, 5, 5]


def test_reference_selector_on_a_capture_and_a_censored_coplayer():
    rules, episode = stag_hunt()
    buffer = SubgoalBuffer(rules)
    buffer.add_episode(episode)
    data = buffer.sequences(3, "reference")
    by_seat = dict(zip(data.seats.tolist(), data.subgoal_index.tolist(), strict=True))
    assert by_seat[1] == [2, 2, 2]  # captures the stag in its last step
    assert by_seat[2] == [2, 2, 2]  # censored: no labels, H steps on clipped
    np.testing.assert_array_equal(
        data.subgoals[data.seats.tolist().index(1), 0], rules.observation(episode.states[2], 1)
    )
    assert buffer.sequences(1, "reference").subgoal_index.tolist() == [[1, 2, 2], [1, 2, 2]]


@pytest.mark.parametrize("horizon", [0, 2, 4, 11, -5, 5.0, True, "5"])
def test_horizons_other_than_1_3_5_10_are_refused(horizon):
    with pytest.raises(ValueError, match=r"horizon must be one of \[1, 3, 5, 10\]"):
        reference_indices(np.zeros(3, dtype=bool), horizon)


def test_bad_selector_and_missing_value_are_refused():
    with pytest.raises(ValueError, match="selector must be one of"):
        subgoal_indices(3, 5, "greedy")
    with pytest.raises(ValueError, match="needs values"):
        subgoal_indices(3, 5, "optimistic")
    grids = np.zeros((3, 1, 2, 2), np.uint8)
    with pytest.raises(ValueError, match="needs a value estimate"):
        select_subgoals(grids, 5, "conservative")
    with pytest.raises(ValueError, match="must return 3 values"):
        select_subgoals(grids, 5, "optimistic", value=lambda g: np.zeros(2))
    with pytest.raises(ValueError, match="must be finite"):
        value_indices(np.array([0.0, np.nan]), 5, "optimistic")
