"""The games' goal spaces (``rules.goals``) on hand-built states, against hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hop_envs
from hop_envs.core import (
    DRIFT_CELL,
    HARE,
    HUNT_HARE,
    HUNT_STAG,
    IDLE,
    PREY_KIND,
    REMOVE,
    STAG,
    STAY,
    DriftCellGoals,
    GoalSpace,
    GridLayout,
    PreyKindGoals,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
OPEN_2x4 = GridLayout.from_walls(np.zeros((2, 4), dtype=bool))
# Cells of the 2x4 grid: row 0 is 0 1 2 3, row 1 is 4 5 6 7.
STAG_RULES = StagHuntRules(
    StagHuntConfig(num_players=3, height=2, width=4, num_stags=2, num_hares=2, num_wall_pieces=0)
)
DRIFT_RULES = SnowdriftRules(
    SnowdriftConfig(num_players=3, height=2, width=4, num_drifts=3, num_wall_pieces=0)
)


def stag_state(alive=(True, True, True, True), players=(0, 1, 2)):
    """Stags at 3 and 7, hares at 4 and 5."""
    return STAG_RULES.state_from_positions(
        OPEN_2x4, list(players), [3, 7, 4, 5], object_alive=list(alive)
    )


def drift_state(alive=(True, True, True), players=(0, 1, 2)):
    """Drifts at 6, 1 and 3 (object order is not cell order)."""
    return DRIFT_RULES.state_from_positions(
        OPEN_2x4, list(players), [6, 1, 3], object_alive=list(alive)
    )


def test_each_game_exposes_its_goal_space():
    assert isinstance(STAG_RULES.goals, PreyKindGoals)
    assert isinstance(DRIFT_RULES.goals, DriftCellGoals)
    for env_id, cls in (
        ("MarkovStagHunt-v0", PreyKindGoals),
        ("MarkovSnowdrift-v0", DriftCellGoals),
    ):
        assert isinstance(hop_envs.make(env_id).unwrapped.rules.goals, cls)
    sh, sd = STAG_RULES.goals, DRIFT_RULES.goals
    assert isinstance(sh, GoalSpace) and isinstance(sd, GoalSpace)
    assert (sh.encoding, sh.num_planes, sh.event_key) == (PREY_KIND, 2, "captured")
    assert (sd.encoding, sd.num_planes, sd.event_key) == (DRIFT_CELL, 2, "drift_cell")
    assert (sh.idle_in_beliefs, sd.idle_in_beliefs) == (False, True)
    assert (sh.max_achievements, sd.max_achievements) == (1, None)
    assert (sh.recurring_goals, sd.recurring_goals) == ((STAG, HARE), None)


# -- which goals exist ---------------------------------------------------------------------------
def test_stag_hunt_goals_are_the_prey_kinds_left():
    goals = STAG_RULES.goals
    assert goals.available(stag_state()) == [STAG, HARE]
    one_stag_gone = stag_state(alive=(False, True, True, True))
    assert goals.available(one_stag_gone) == [STAG, HARE] and goals.exists(one_stag_gone, STAG)
    no_stag = stag_state(alive=(False, False, True, False))
    assert goals.available(no_stag) == [HARE]
    assert not goals.exists(no_stag, STAG) and goals.exists(no_stag, HARE)
    assert goals.belief_goals(no_stag) == [HARE]  # IDLE is not part of stag-hunt beliefs
    nothing = stag_state(alive=(False, False, False, False))
    assert goals.available(nothing) == []
    assert goals.exists(nothing, IDLE) and goals.exists(nothing, None)


def test_snowdrift_goals_are_the_live_drift_cells_in_cell_order():
    goals = DRIFT_RULES.goals
    assert goals.available(drift_state()) == [1, 3, 6]
    state = drift_state(alive=(True, False, True))
    assert goals.available(state) == [3, 6]
    assert goals.belief_goals(state) == [3, 6, IDLE]
    assert goals.exists(state, 6) and goals.exists(state, 3)
    assert not goals.exists(state, 1)  # removed
    assert not goals.exists(state, 0)  # never a drift
    assert goals.exists(state, IDLE) and goals.exists(state, None)
    assert goals.belief_goals(drift_state(alive=(False, False, False))) == [IDLE]


def test_exists_batch_by_hand():
    # Stag hunt, kinds [stag, stag, hare, hare]: row 0 has only hares, row 1 only a stag.
    alive = np.array([[False, False, True, True], [False, True, False, False]])
    pos = np.array([[3, 7, 4, 5], [3, 7, 4, 5]])
    kind = np.array([STAG, STAG, HARE, HARE])
    got = STAG_RULES.goals.exists_batch(
        np.repeat(pos, 3, 0), np.repeat(alive, 3, 0), kind, np.array([STAG, HARE, IDLE] * 2)
    )
    # rows: (hares only: STAG, HARE, IDLE), (stag only: STAG, HARE, IDLE)
    np.testing.assert_array_equal(got, [False, True, True, True, False, True])
    # Snowdrift: drifts at 6, 1, 3 with the one at 1 removed.
    pos = np.array([[6, 1, 3]] * 4)
    alive = np.array([[True, False, True]] * 4)
    got = DRIFT_RULES.goals.exists_batch(pos, alive, np.zeros(3, int), np.array([6, 1, 0, IDLE]))
    np.testing.assert_array_equal(got, [True, False, False, True])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), drift=st.booleans())
def test_exists_batch_agrees_with_exists(data, drift):
    rules = DRIFT_RULES if drift else STAG_RULES
    m = rules.num_objects
    batch = data.draw(st.integers(1, 6))
    rows, goals = [], []
    for _ in range(batch):
        cells = data.draw(st.permutations(range(8)))[:m]
        alive = data.draw(st.lists(st.booleans(), min_size=m, max_size=m))
        rows.append(rules.state_from_positions(OPEN_2x4, [0, 0, 0], cells, object_alive=alive))
        low = -1
        high = 7 if drift else 1
        goals.append(data.draw(st.integers(low, high)))
    got = rules.goals.exists_batch(
        np.stack([s.object_pos for s in rows]),
        np.stack([s.object_alive for s in rows]),
        rows[0].object_kind,
        np.asarray(goals),
    )
    assert got.dtype == bool and got.shape == (batch,)
    assert got.tolist() == [rules.goals.exists(s, g) for s, g in zip(rows, goals, strict=True)]


def test_exists_batch_checks_shapes():
    goals = DRIFT_RULES.goals
    with pytest.raises(ValueError, match=r"object_pos and object_alive must be \(B, m\)"):
        goals.exists_batch(np.zeros(3, int), np.ones(3, bool), np.zeros(3, int), np.zeros(1, int))
    with pytest.raises(ValueError, match=r"goals must have shape \(2,\), got \(3,\)"):
        goals.exists_batch(
            np.zeros((2, 3), int), np.ones((2, 3), bool), np.zeros(3, int), np.zeros(3, int)
        )


# -- events and hindsight labels ---------------------------------------------------------------
def test_events_become_goals():
    sh, sd = STAG_RULES.goals, DRIFT_RULES.goals
    assert (sh.event_goal("stag"), sh.event_goal("hare"), sh.event_goal(None)) == (STAG, HARE, None)
    with pytest.raises(ValueError, match=r"one of \['stag', 'hare'\] or None, got 'boar'"):
        sh.event_goal("boar")
    assert sd.event_goal((1, 2)) == 6 and sd.event_goal(None) is None  # row 1 * width 4 + 2
    with pytest.raises(ValueError, match="must be a \\(row, col\\) cell or None, got 5"):
        sd.event_goal(5)
    with pytest.raises(ValueError, match="off the 2x4 grid"):
        sd.event_goal((2, 0))
    assert sd.info_goal({"drift_cell": (0, 3), "removed_drift": 2}) == 3
    with pytest.raises(ValueError, match="infos have no 'captured' event"):
        sh.info_goal({"illegal_action": False})


def test_stag_hunt_labels_the_captured_kind_or_idle_and_skips_the_censored():
    goals = STAG_RULES.goals
    np.testing.assert_array_equal(goals.labels([None, None, STAG], ended=True), [STAG] * 3)
    np.testing.assert_array_equal(goals.labels([None, HARE], ended=True), [HARE, HARE])
    # Ended without a capture: every step is IDLE (a trained goal).
    np.testing.assert_array_equal(goals.labels([None, None, None], ended=True), [IDLE] * 3)
    # Still in the game when the recording stopped: unknown, so no labels.
    assert goals.labels([None, None, None], ended=False) is None
    assert goals.labels([], ended=True).shape == (0,)
    assert goals.achieved([None, HARE]) == (HARE,) and goals.achieved([None]) == ()
    with pytest.raises(ValueError, match=r"at most 1 goal\(s\) per episode"):
        goals.labels([HARE, STAG], ended=True)


def test_snowdrift_labels_point_to_the_next_removal_then_idle():
    goals = DRIFT_RULES.goals
    labels = goals.labels([None, 7, None, None, 3, None], ended=True)
    np.testing.assert_array_equal(labels, [7, 7, 3, 3, 3, IDLE])
    np.testing.assert_array_equal(goals.labels([None, None], ended=True), [IDLE, IDLE])
    assert goals.labels([None, 7], ended=False) is None
    assert goals.achieved([None, 7, None, 3]) == (7, 3)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 7)), max_size=30))
def test_snowdrift_label_is_the_first_removal_at_or_after_each_step(removals):
    labels = DRIFT_RULES.goals.labels(removals, ended=True)
    for k, label in enumerate(labels.tolist()):
        upcoming = [c for c in removals[k:] if c is not None]
        assert label == (upcoming[0] if upcoming else IDLE)


def test_achieved_between_two_states_by_hand():
    # Stag hunt: p0 and p1 on the stag at 3 hunt it together (2 hunters needed); p2 on the
    # hare at 4 hunts the stag there (illegal: runs as stay, so it is passed as STAY).
    s0 = stag_state(players=(3, 3, 4))
    s1 = s0.copy()
    STAG_RULES.step(s1, [HUNT_STAG, HUNT_STAG, HUNT_STAG])
    executed = {0: HUNT_STAG, 1: HUNT_STAG, 2: STAY}
    assert STAG_RULES.goals.achieved_between(s0, executed, s1) == {0: STAG, 1: STAG}
    # A lone stag hunter fails; a hare hunter takes its hare.
    s0 = stag_state(players=(3, 4, 0))
    s1 = s0.copy()
    STAG_RULES.step(s1, [HUNT_STAG, HUNT_HARE, RIGHT])
    assert STAG_RULES.goals.achieved_between(s0, {0: HUNT_STAG, 1: HUNT_HARE, 2: RIGHT}, s1) == {
        1: HARE
    }
    # Snowdrift, with the next state rebuilt from an observation (objects renumbered).
    s0 = drift_state(players=(6, 3, 3))
    s1 = s0.copy()
    DRIFT_RULES.step(s1, [REMOVE, REMOVE, STAY])
    rebuilt = DRIFT_RULES.state_from_observation(DRIFT_RULES.observation(s1, 0), 0, s1.t)
    assert DRIFT_RULES.goals.achieved_between(s0, {0: REMOVE, 1: REMOVE, 2: STAY}, rebuilt) == {
        0: 6,
        1: 3,
    }


# -- goal planes ------------------------------------------------------------------------------
def test_stag_hunt_planes_by_hand():
    planes = STAG_RULES.goals.encode(np.array([STAG, HARE, IDLE]))
    assert planes.shape == (3, 2, 2, 4) and planes.dtype == np.float32
    ones, zeros = np.ones((2, 4)), np.zeros((2, 4))
    np.testing.assert_array_equal(planes[0], [ones, zeros])
    np.testing.assert_array_equal(planes[1], [zeros, ones])
    np.testing.assert_array_equal(planes[2], [zeros, zeros])
    with pytest.raises(ValueError, match=r"prey kinds in \[0, 1\] or IDLE \(-1\), got 2"):
        STAG_RULES.goals.encode([STAG, 2])


def test_snowdrift_planes_by_hand():
    planes = DRIFT_RULES.goals.encode([6, IDLE])
    assert planes.shape == (2, 2, 2, 4) and planes.dtype == np.float32
    target = np.zeros((2, 4))
    target[1, 2] = 1  # cell 6 = (1, 2)
    np.testing.assert_array_equal(planes[0], [target, np.zeros((2, 4))])
    np.testing.assert_array_equal(planes[1], [np.zeros((2, 4)), np.ones((2, 4))])
    with pytest.raises(ValueError, match=r"flat cells in \[0, 7\] or IDLE \(-1\), got 8"):
        DRIFT_RULES.goals.encode([8])
    with pytest.raises(ValueError, match="got -3"):
        DRIFT_RULES.goals.encode([-3])


def old_goal_planes(goals, prey_kind, num_kinds, height, width):
    """The planes the networks were trained on before the goal space existed (a frozen copy
    of the former ``FeatureBuilder.goal_planes``), so shipped checkpoints keep working."""
    g = np.asarray(goals, dtype=np.int64).reshape(-1)
    b, cells = g.shape[0], height * width
    out = np.zeros((b, 2, cells), dtype=np.float32)
    idle = g == IDLE
    rows = np.flatnonzero(~idle)
    if prey_kind:
        out[rows, g[rows]] = 1.0
    else:
        out[rows, 0, g[rows]] = 1.0
        out[idle, 1] = 1.0
    return out.reshape(b, 2, height, width)


def test_encode_gives_the_former_planes_for_every_goal():
    for rules, goals, prey in (
        (STAG_RULES, [STAG, HARE, IDLE, HARE], True),
        (DRIFT_RULES, [IDLE, *range(8), IDLE], False),
    ):
        np.testing.assert_array_equal(
            rules.goals.encode(np.asarray(goals)), old_goal_planes(goals, prey, 2, 2, 4)
        )
    rules = SnowdriftRules(SnowdriftConfig(height=3, width=5))
    goals = [IDLE, *range(15)]
    np.testing.assert_array_equal(rules.goals.encode(goals), old_goal_planes(goals, False, 1, 3, 5))


def test_reward_scale_of_the_default_games():
    assert StagHuntRules(StagHuntConfig()).reward_scale() == 5.0  # stag 10 / 2 hunters
    assert SnowdriftRules(SnowdriftConfig()).reward_scale() == 6.0  # removal reward
    small = StagHuntRules(StagHuntConfig(stag_reward=1.0, hare_reward=0.5))
    assert small.reward_scale() == 1.0  # at least 1


def test_info_object_reads_the_id_of_the_captured_or_removed_object() -> None:
    stag_hunt = StagHuntRules(StagHuntConfig()).goals
    assert stag_hunt.info_object({"captured": None, "prey_id": -1}) is None
    assert stag_hunt.info_object({"captured": "hare", "prey_id": 3}) == 3
    snowdrift = SnowdriftRules(SnowdriftConfig()).goals
    assert snowdrift.info_object({"removed_drift": None, "drift_cell": None}) is None
    assert snowdrift.info_object({"removed_drift": 2, "drift_cell": (1, 4)}) == 2
