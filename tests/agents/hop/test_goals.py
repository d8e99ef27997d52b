"""Hindsight labels and outcomes recorded by :class:`EpisodeRecorder`, checked on episodes
hand-played in the real envs (the goal spaces themselves: tests/hop_envs/test_goal_spaces.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.base import Transition
from agents.hop.goal_sampling import available_goals, goal_exists
from agents.hop.goals import EpisodeRecorder, executed_actions, goal_space
from agents.hop.interfaces import IDLE
from hop_envs.core import (
    HARE,
    HUNT_HARE,
    HUNT_STAG,
    REMOVE,
    STAG,
    STAY,
    GridLayout,
    GridState,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)
from hop_envs.envs import MarkovSnowdriftEnv, MarkovStagHuntEnv

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
OPEN_2x4 = GridLayout.from_walls(np.zeros((2, 4), dtype=bool))
# Cells of the 2x4 grid: row 0 is 0 1 2 3, row 1 is 4 5 6 7.


def hand_env(env_cls, player_pos, object_pos, **config):
    """A reset 2x4 env of ``env_cls`` whose state is replaced by a hand-built one."""
    env = env_cls(num_players=3, height=2, width=4, num_wall_pieces=0, **config)
    env.reset(seed=0)
    state = env.rules.state_from_positions(OPEN_2x4, player_pos, object_pos)
    target = env.core_state
    for f in dataclasses.fields(GridState):
        setattr(target, f.name, getattr(state, f.name))
    return env


def play(env, joint_actions, focal=0):
    """Play ``joint_actions`` (one list per step, by seat; seats no longer in the game are
    skipped) and record them from ``focal``'s view as the runner shows them: every joint step
    to the end of the episode, also after the focal agent has left."""
    rules = env.rules
    state = env.core_state
    first = {
        "observation": rules.observation(state, focal),
        "action_mask": rules.action_mask(state, focal),
        "step": np.int64(state.t),
    }
    recorder = EpisodeRecorder(rules, focal)
    recorder.begin(first)
    for joint in joint_actions:
        actions = {a: joint[int(a.split("_")[1])] for a in env.agents}
        observations, rewards, terms, truncs, infos = env.step(actions)
        recorder.record(Transition(actions, observations, rewards, terms, truncs, infos))
    return recorder.finish()


# -- goal spaces -----------------------------------------------------------------------------
def test_goal_space_of_each_game():
    stag = StagHuntRules(StagHuntConfig(num_players=3, height=2, width=4, num_wall_pieces=0))
    both = stag.state_from_positions(OPEN_2x4, [0, 1, 2], [3, 4, 5, 6, 7])
    assert goal_space(stag, both) == [STAG, HARE]
    hares_only = stag.state_from_positions(
        OPEN_2x4, [0, 1, 2], [3, 4, 5, 6, 7], object_alive=[False, True, False, False, False]
    )
    assert goal_space(stag, hares_only) == [HARE]
    drift = SnowdriftRules(
        SnowdriftConfig(num_players=3, height=2, width=4, num_drifts=3, num_wall_pieces=0)
    )
    state = drift.state_from_positions(
        OPEN_2x4, [0, 1, 2], [7, 0, 3], object_alive=[True, True, False]
    )
    assert goal_space(drift, state) == [0, 7, IDLE]


def test_goal_helpers_delegate_to_the_games_goal_space():
    stag = StagHuntRules(StagHuntConfig(num_players=3, height=2, width=4, num_wall_pieces=0))
    state = stag.state_from_positions(
        OPEN_2x4, [0, 1, 2], [3, 4, 5, 6, 7], object_alive=[False, True, True, True, True]
    )
    assert available_goals(stag, state) == [HARE]  # the only stag is gone
    assert not goal_exists(stag, state, STAG)
    assert goal_exists(stag, state, HARE) and goal_exists(stag, state, IDLE)
    assert goal_exists(stag, state, None)


# -- recorded episodes -----------------------------------------------------------------------
def test_executed_actions_turn_masked_actions_into_stay():
    rules = StagHuntRules(StagHuntConfig(num_players=3, height=2, width=4, num_wall_pieces=0))
    state = rules.state_from_positions(OPEN_2x4, [0, 3, 7], [3, 4, 5, 6, 7])
    # Seat 0 at (0,0): up leaves the grid. Seat 1 stands on the stag. Seat 2 is not on a stag.
    got = executed_actions(rules, state, {0: UP, 1: HUNT_STAG, 2: HUNT_STAG})
    assert got == {0: STAY, 1: HUNT_STAG, 2: STAY}
    with pytest.raises(ValueError, match=r"action of seat 0 must be in \[0, 6\], got 9"):
        executed_actions(rules, state, {0: 9})


# -- hand-played episodes --------------------------------------------------------------------
def test_stag_hunt_episode_labels_each_step_with_the_captured_prey():
    # Stag at 3, hare at 4; focal p0 at 2, p1 at 1, p2 at 5.
    env = hand_env(MarkovStagHuntEnv, [2, 1, 5], [3, 4], num_stags=1, num_hares=1, max_cycles=10)
    episode = play(
        env,
        [
            [RIGHT, RIGHT, LEFT],  # p0 -> stag cell 3, p1 -> 2, p2 -> hare cell 4
            [HUNT_STAG, RIGHT, HUNT_HARE],  # p0 fails alone, p1 -> 3, p2 takes the hare
            [HUNT_STAG, HUNT_STAG, STAY],  # p0 and p1 take the stag (p2 has left)
        ],
    )
    # Rebuilt from the focal view: a departed player is inactive (its position is unknown).
    assert [s.player_pos.tolist() for s in episode.states[:2]] == [[2, 1, 5], [3, 2, 4]]
    assert episode.states[2].player_pos[:2].tolist() == [3, 3]
    assert episode.states[2].active.tolist() == [True, True, False]
    assert [s.t for s in episode.states] == [0, 1, 2]
    assert sorted(episode.coplayers) == [1, 2]
    p1, p2 = episode.coplayers[1], episode.coplayers[2]
    np.testing.assert_array_equal(p1.step_index, [0, 1, 2])
    np.testing.assert_array_equal(p1.actions, [RIGHT, RIGHT, HUNT_STAG])
    np.testing.assert_array_equal(p1.labels, [STAG, STAG, STAG])
    np.testing.assert_array_equal(p2.step_index, [0, 1])
    np.testing.assert_array_equal(p2.actions, [LEFT, HUNT_HARE])
    np.testing.assert_array_equal(p2.labels, [HARE, HARE])
    assert p1.outcome.achieved == (STAG,) and not p1.outcome.censored
    assert p2.outcome.achieved == (HARE,) and p2.outcome.pursuing_steps == 2
    assert p2.outcome.achievements == 1


@pytest.mark.parametrize("max_cycles", [3, 10])
def test_stag_hunt_coplayer_without_capture_is_idle_unless_censored(max_cycles):
    # p2 at 7 never reaches prey; its hunt-hare off a hare is recorded as the stay it ran as.
    env = hand_env(
        MarkovStagHuntEnv, [2, 1, 7], [3, 4], num_stags=1, num_hares=1, max_cycles=max_cycles
    )
    episode = play(
        env,
        [
            [RIGHT, RIGHT, HUNT_HARE],
            [HUNT_STAG, RIGHT, STAY],
            [HUNT_STAG, HUNT_STAG, STAY],  # the stag is taken; the hare is left
        ],
    )
    p1, p2 = episode.coplayers[1], episode.coplayers[2]
    np.testing.assert_array_equal(p1.labels, [STAG, STAG, STAG])
    np.testing.assert_array_equal(p2.actions, [STAY, STAY, STAY])
    assert p2.outcome.achieved == ()
    # With max_cycles=3 the episode was truncated for p2: it ended without a capture, so
    # each of its 3 steps is labelled IDLE. With 10 the recording stops after 3 steps while
    # p2 is still in the game: its outcome is unknown (censored), so it has no labels.
    if max_cycles == 3:
        np.testing.assert_array_equal(p2.labels, [IDLE, IDLE, IDLE])
        assert not p2.outcome.censored and p2.outcome.pursuing_steps == 0
    else:
        assert p2.labels is None and p2.outcome.censored


def test_coplayers_are_labelled_after_the_focal_agent_has_left():
    # Focal p0 at 4 on a hare takes it at step 0 and leaves. Stag at 3, hare at 4 (gone),
    # another hare at 6. p1 at 2 walks right onto the stag and waits; p2 at 5 walks right onto
    # the hare at 6 and takes it at step 2. The recorder sees all of it from p0's view, so p2
    # is labelled HARE for its 3 steps, and p1, still in the game when the episode truncates
    # at max_cycles 4 without a capture, is labelled IDLE on its 4 steps (not censored).
    env = hand_env(MarkovStagHuntEnv, [4, 2, 5], [3, 4, 6], num_stags=1, num_hares=2, max_cycles=4)
    episode = play(
        env,
        [
            [HUNT_HARE, RIGHT, RIGHT],  # p0 takes the hare at 4; p1 -> 3; p2 -> 6
            [None, HUNT_STAG, STAY],  # p1 fails alone
            [None, HUNT_STAG, HUNT_HARE],  # p2 takes the hare at 6
            [None, STAY, None],  # truncated at max_cycles = 4
        ],
    )
    p1, p2 = episode.coplayers[1], episode.coplayers[2]
    np.testing.assert_array_equal(p2.step_index, [0, 1, 2])
    np.testing.assert_array_equal(p2.labels, [HARE, HARE, HARE])
    assert p2.outcome.achieved == (HARE,) and not p2.outcome.censored
    np.testing.assert_array_equal(p1.step_index, [0, 1, 2, 3])
    np.testing.assert_array_equal(p1.labels, [IDLE] * 4)
    assert p1.outcome.achieved == () and not p1.outcome.censored
    assert len(episode.states) == 4


def test_snowdrift_episode_labels_the_next_drift_then_idle():
    # Drifts at 0, 3, 7; focal p0 at 4, p1 at 2, p2 at 5.
    env = hand_env(MarkovSnowdriftEnv, [4, 2, 5], [0, 3, 7], num_drifts=3, max_cycles=20)
    episode = play(
        env,
        [
            [STAY, RIGHT, STAY],  # p1 -> 3
            [STAY, REMOVE, STAY],  # p1 removes the drift at 3
            [STAY, DOWN, LEFT],  # p1 -> 7, p2 -> 4
            [STAY, REMOVE, STAY],  # p1 removes the drift at 7
            [UP, STAY, STAY],  # p0 -> 0
            [REMOVE, STAY, RIGHT],  # p0 removes the last drift: the episode ends
        ],
    )
    assert len(episode.states) == 6
    p1, p2 = episode.coplayers[1], episode.coplayers[2]
    np.testing.assert_array_equal(p1.labels, [3, 3, 7, 7, IDLE, IDLE])
    np.testing.assert_array_equal(p2.labels, [IDLE] * 6)
    np.testing.assert_array_equal(p2.actions, [STAY, STAY, LEFT, STAY, STAY, RIGHT])
    assert (p1.outcome.achieved, p1.outcome.pursuing_steps, p1.outcome.steps) == ((3, 7), 4, 6)
    assert p1.outcome.achievements == 2
    assert p1.outcome.pursuing_fraction == pytest.approx(4 / 6)
    assert (p2.outcome.achieved, p2.outcome.pursuing_steps) == ((), 0)
    assert not p1.outcome.censored and not p2.outcome.censored
    # The rebuilt states follow the drifts: after step 2 the drift at 3 is gone.
    assert sorted(episode.states[2].object_pos[episode.states[2].object_alive]) == [0, 7]


def test_a_snowdrift_recording_stopped_early_leaves_every_coplayer_unlabelled():
    # Stopped after 2 of the episode's steps: p1 has removed the drift at 3, but what it does
    # after is unknown, so neither co-player gets labels; its removal still counts.
    env = hand_env(MarkovSnowdriftEnv, [4, 2, 5], [0, 3, 7], num_drifts=3, max_cycles=20)
    episode = play(env, [[STAY, RIGHT, STAY], [STAY, REMOVE, STAY]])
    p1, p2 = episode.coplayers[1], episode.coplayers[2]
    assert p1.labels is None and p2.labels is None
    assert p1.outcome.censored and p1.outcome.achieved == (3,) and p1.outcome.pursuing_steps == 0


def test_the_recorder_rejects_misuse():
    rules = StagHuntRules(StagHuntConfig(num_players=3, height=2, width=4, num_wall_pieces=0))
    recorder = EpisodeRecorder(rules, 0)
    empty = Transition({}, {}, {}, {}, {}, {})
    with pytest.raises(RuntimeError, match=r"call begin\(observation\) first"):
        recorder.record(empty)
    with pytest.raises(ValueError, match=r"focal_seat must be in \[0, 2\], got 3"):
        EpisodeRecorder(rules, 3)
    with pytest.raises(TypeError, match="no hindsight goals for rules of type object"):
        EpisodeRecorder(object(), 0)  # type: ignore[arg-type]
    state = rules.state_from_positions(OPEN_2x4, [0, 1, 2], [3, 4, 5, 6, 7])
    obs = {"observation": rules.observation(state, 0), "step": 0}
    recorder.begin(obs)
    with pytest.raises(ValueError, match="unknown agent 'player_9'"):
        recorder.record(Transition({"player_9": 0}, {}, {}, {}, {}, {}))
    with pytest.raises(ValueError, match="has no 'captured' event"):
        recorder.record(
            Transition({"player_1": STAY}, {"player_0": obs}, {}, {}, {}, {"player_1": {}})
        )
    with pytest.raises(ValueError, match="must be a mapping with 'observation' and 'step'"):
        recorder.begin({"grid": 0})
