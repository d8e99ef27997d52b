"""Hand-played episodes for the HOP+ tests (a 2x4 open grid, three players, seat 0 focal)."""

from __future__ import annotations

import dataclasses

import numpy as np

from agents.base import Transition
from agents.hop.goals import EpisodeRecorder, RecordedEpisode
from hop_envs.core import HUNT_HARE, HUNT_STAG, REMOVE, STAY, GridLayout, GridState
from hop_envs.envs import MarkovSnowdriftEnv, MarkovStagHuntEnv

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
OPEN_2x4 = GridLayout.from_walls(np.zeros((2, 4), dtype=bool))

#: Seat 1 (from cell 2) steps right onto the drift at 3, removes it (step 1), steps down onto
#: the drift at 7, removes it (step 3); seat 2 only moves; seat 0 removes the last drift at 0
#: in step 5, which ends the episode (6 steps).
SNOWDRIFT_PLAY = [
    [STAY, RIGHT, STAY],
    [STAY, REMOVE, STAY],
    [STAY, DOWN, LEFT],
    [STAY, REMOVE, STAY],
    [UP, STAY, STAY],
    [REMOVE, STAY, RIGHT],
]
#: Seat 1 (from cell 1) walks onto the stag at 3 and captures it with seat 0 in step 2 (both
#: leave); seat 2 never captures (censored when max_cycles outlasts the recording).
STAG_HUNT_PLAY = [[RIGHT, RIGHT, HUNT_HARE], [HUNT_STAG, RIGHT, STAY], [HUNT_STAG, HUNT_STAG, LEFT]]


def make_env(env_cls, **config):
    return env_cls(num_players=3, height=2, width=4, num_wall_pieces=0, **config)


def recorded(env_cls, player_pos, object_pos, joint_actions, **config) -> RecordedEpisode:
    """Hand-play a 2x4 episode from a hand-built state, recorded from seat 0's view."""
    env = make_env(env_cls, **config)
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


def snowdrift():
    """(rules, episode) of :data:`SNOWDRIFT_PLAY`."""
    config = {"num_drifts": 3, "max_cycles": 20}
    episode = recorded(MarkovSnowdriftEnv, [4, 2, 5], [0, 3, 7], SNOWDRIFT_PLAY, **config)
    return make_env(MarkovSnowdriftEnv, **config).rules, episode


def stag_hunt(max_cycles: int = 10):
    """(rules, episode) of :data:`STAG_HUNT_PLAY` (stag at 3, hare at 4)."""
    config = {"num_stags": 1, "num_hares": 1, "max_cycles": max_cycles}
    episode = recorded(MarkovStagHuntEnv, [2, 1, 7], [3, 4], STAG_HUNT_PLAY, **config)
    return make_env(MarkovStagHuntEnv, **config).rules, episode
