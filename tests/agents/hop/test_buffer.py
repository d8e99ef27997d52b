"""The opponent-model buffer: per-episode co-player trajectories, flattening, clearing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.base import Transition
from agents.hop.buffer import OpponentBuffer
from agents.hop.goals import CoplayerOutcome, CoplayerSteps, EpisodeRecorder, RecordedEpisode
from agents.hop.interfaces import IDLE
from hop_envs.core import HUNT_HARE, HUNT_STAG, REMOVE, STAG, STAY, GridLayout, GridState
from hop_envs.envs import MarkovSnowdriftEnv, MarkovStagHuntEnv

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
OPEN_2x4 = GridLayout.from_walls(np.zeros((2, 4), dtype=bool))
SNOWDRIFT_PLAY = [
    [STAY, RIGHT, STAY],
    [STAY, REMOVE, STAY],
    [STAY, DOWN, LEFT],
    [STAY, REMOVE, STAY],
    [UP, STAY, STAY],
    [REMOVE, STAY, RIGHT],
]


def recorded(env_cls, player_pos, object_pos, joint_actions, **config) -> RecordedEpisode:
    """Hand-play a 2x4 episode from a hand-built state, recorded from seat 0's view."""
    env = env_cls(num_players=3, height=2, width=4, num_wall_pieces=0, **config)
    env.reset(seed=0)
    state = env.rules.state_from_positions(OPEN_2x4, player_pos, object_pos)
    for f in dataclasses.fields(GridState):
        setattr(env.core_state, f.name, getattr(state, f.name))
    recorder = EpisodeRecorder(env.rules, 0)
    recorder.begin({"observation": env.rules.observation(state, 0), "step": 0})
    for joint in joint_actions:
        actions = {a: joint[int(a.split("_")[1])] for a in env.agents}
        step = env.step(actions)
        if "player_0" in actions:
            recorder.record(Transition(actions, *step))
    return recorder.finish()


def snowdrift_episode() -> tuple[OpponentBuffer, RecordedEpisode]:
    episode = recorded(
        MarkovSnowdriftEnv, [4, 2, 5], [0, 3, 7], SNOWDRIFT_PLAY, num_drifts=3, max_cycles=20
    )
    env = MarkovSnowdriftEnv(num_players=3, height=2, width=4, num_drifts=3, num_wall_pieces=0)
    return OpponentBuffer(env.rules), episode


def stag_hunt_episode(max_cycles: int = 10) -> RecordedEpisode:
    """p1 captures the stag with the focal agent; p2 wanders: censored with ``max_cycles``
    10 (the recording stops while it is in the game), truncated without a capture with 3."""
    return recorded(
        MarkovStagHuntEnv,
        [2, 1, 7],
        [3, 4],
        [[RIGHT, RIGHT, HUNT_HARE], [HUNT_STAG, RIGHT, STAY], [HUNT_STAG, HUNT_STAG, LEFT]],
        num_stags=1,
        num_hares=1,
        max_cycles=max_cycles,
    )


def test_a_recorded_episode_becomes_one_trajectory_per_coplayer():
    buffer, episode = snowdrift_episode()
    added = buffer.add_episode(episode)
    assert [t.seat for t in added] == [1, 2] and len(buffer) == 12
    rules = buffer.rules
    for trajectory in added:
        seat = trajectory.seat
        assert trajectory.episode == 0 and len(trajectory) == 6
        assert trajectory.grids.dtype == np.uint8
        for k, state in enumerate(episode.states):
            np.testing.assert_array_equal(trajectory.grids[k], rules.observation(state, seat))
            np.testing.assert_array_equal(trajectory.masks[k], rules.action_mask(state, seat))
        np.testing.assert_array_equal(trajectory.steps, np.arange(6))
    np.testing.assert_array_equal(added[0].actions, [RIGHT, REMOVE, DOWN, REMOVE, STAY, STAY])
    np.testing.assert_array_equal(added[0].goals, [3, 3, 7, 7, IDLE, IDLE])
    np.testing.assert_array_equal(added[1].goals, [IDLE] * 6)
    assert added[0].outcome.achieved == (3, 7) and added[0].outcome.achievements == 2


def test_only_labelled_steps_train_the_goal_conditioned_model():
    env = MarkovStagHuntEnv(num_players=3, height=2, width=4, num_wall_pieces=0)
    buffer = OpponentBuffer(env.rules)
    buffer.add_episode(stag_hunt_episode())
    assert buffer.num_samples(goal_conditioned=True) == 3
    assert buffer.num_samples(goal_conditioned=False) == 6
    labelled = buffer.samples(goal_conditioned=True)
    assert len(labelled) == 3
    np.testing.assert_array_equal(labelled.goals, [STAG] * 3)
    np.testing.assert_array_equal(labelled.actions, [RIGHT, RIGHT, HUNT_STAG])
    everything = buffer.samples(goal_conditioned=False)
    assert everything.goals is None and len(everything) == 6
    # p2's steps (after p1's): hunt-hare off a hare ran as stay, then stay, then left.
    np.testing.assert_array_equal(everything.actions[3:], [STAY, STAY, LEFT])
    assert everything.grids.shape == (6, 6, 2, 4)


def test_a_stag_hunt_coplayer_that_ended_without_a_capture_trains_on_idle():
    env = MarkovStagHuntEnv(num_players=3, height=2, width=4, num_wall_pieces=0)
    buffer = OpponentBuffer(env.rules)
    buffer.add_episode(stag_hunt_episode(max_cycles=3))
    # p2 was truncated at step 3 with nothing captured: its 3 steps are labelled IDLE.
    assert buffer.num_samples(goal_conditioned=True) == 6
    labelled = buffer.samples(goal_conditioned=True)
    np.testing.assert_array_equal(labelled.goals, [STAG, STAG, STAG, IDLE, IDLE, IDLE])
    np.testing.assert_array_equal(labelled.actions[3:], [STAY, STAY, LEFT])
    # The features give IDLE its planes: all zero in the stag hunt.
    planes = buffer.features.goal_planes(labelled.goals)
    assert planes[:3, 0].min() == 1 and planes[3:].max() == 0


def test_clear_empties_the_buffer_between_rounds():
    buffer, episode = snowdrift_episode()
    buffer.add_episode(episode)
    buffer.add_episode(episode)
    assert len(buffer) == 24 and [t.episode for t in buffer] == [0, 0, 1, 1]
    buffer.clear()
    assert len(buffer) == 0 and buffer.trajectories == ()
    assert buffer.episodes_added == 2
    empty = buffer.samples(goal_conditioned=True)
    assert len(empty) == 0 and empty.grids.shape == (0, 5, 2, 4) and empty.goals is not None
    assert buffer.add_episode(episode)[0].episode == 2


def test_max_steps_drops_the_oldest_trajectories():
    _, episode = snowdrift_episode()
    env = MarkovSnowdriftEnv(num_players=3, height=2, width=4, num_drifts=3, num_wall_pieces=0)
    buffer = OpponentBuffer(env.rules, max_steps=7)
    buffer.add_episode(episode)
    assert [(t.episode, t.seat) for t in buffer] == [(0, 2)]
    buffer.add_episode(episode)
    assert [(t.episode, t.seat) for t in buffer] == [(1, 2)]
    with pytest.raises(ValueError, match="max_steps must be None or >= 1, got 0"):
        OpponentBuffer(env.rules, max_steps=0)


def test_an_action_the_mask_forbids_is_refused():
    buffer, episode = snowdrift_episode()
    outcome = CoplayerOutcome(1, 1, (), 0, False)
    bad = RecordedEpisode(
        0,
        episode.states[:1],
        {1: CoplayerSteps(1, np.array([0]), np.array([REMOVE]), np.array([IDLE]), outcome)},
    )
    with pytest.raises(ValueError, match="seat 1 has an action its mask forbids"):
        buffer.add_episode(bad)
