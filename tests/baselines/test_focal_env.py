"""The Gymnasium focal-seat view: both checkers, hand-worked rewards, the protocol call order,
seeding and bad input."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import baselines  # noqa: F401  (registers the ids)
from baselines.focal_env import FocalSeatEnv
from hop_envs.core.stag_hunt import HUNT_HARE

# Four cells, four hares, no stag, no walls: every player starts on a hare.
ALL_HARES = dict(num_players=2, height=2, width=2, num_stags=0, num_hares=4, num_wall_pieces=0)


def seed_where(env: FocalSeatEnv, together: bool) -> int:
    """A seed whose first layout puts both players on one cell (``together``) or not."""
    for seed in range(100):
        env.reset(seed=seed)
        pos = env.game.core_state.player_pos
        if (pos[0] == pos[1]) == together:
            return seed
    raise AssertionError("no such seed in 0..99")


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("env_id", ["hop/MarkovStagHuntFocal-v0", "hop/MarkovSnowdriftFocal-v0"])
def test_the_registered_views_pass_gymnasiums_and_sb3s_checkers(env_id: str) -> None:
    coplayers = "nearest-stag" if "Stag" in env_id else "cleaner"
    env = gymnasium.make(env_id, coplayers=coplayers)
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped)


def test_a_lone_hare_hunter_gets_the_whole_hare_and_leaves() -> None:
    env = FocalSeatEnv("hop/MarkovStagHunt-v0", coplayers="nearest-stag", focal_seat=0, **ALL_HARES)
    obs, info = env.reset(seed=seed_where(env, together=True))
    assert obs.shape == (5, 2, 2) and info["action_mask"][HUNT_HARE]
    # The stag hunter has no stag: it stays; the focal player takes the hare (reward 1).
    obs, reward, terminated, truncated, info = env.step(HUNT_HARE)
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["captured"] == "hare"
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(HUNT_HARE)


def test_two_hunters_of_one_hare_share_it() -> None:
    env = FocalSeatEnv("hop/MarkovStagHunt-v0", coplayers="nearest-hare", focal_seat=1, **ALL_HARES)
    env.reset(seed=seed_where(env, together=True))
    _, reward, terminated, _, _ = env.step(HUNT_HARE)
    assert reward == 0.5 and terminated
    env.reset(seed=seed_where(env, together=False))
    _, reward, terminated, _, _ = env.step(HUNT_HARE)
    assert reward == 1.0 and terminated


def test_the_prosocial_reward_is_the_mean_of_all_players() -> None:
    env = FocalSeatEnv(
        "hop/MarkovStagHunt-v0",
        coplayers="nearest-stag",
        focal_seat=0,
        reward_mode="prosocial",
        **ALL_HARES,
    )
    env.reset(seed=seed_where(env, together=False))
    _, reward, *_ = env.step(HUNT_HARE)
    assert reward == 0.5  # (1 + 0) / 2


class Recorder:
    """An Agent-protocol co-player that stays and writes down every call."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.seat = None

    def reset(self, seed=None, seat=None) -> None:
        self.calls.append("reset")
        self.seat = seat

    def start_episode(self) -> None:
        self.calls.append("start")

    def act(self, observation) -> int:
        self.calls.append("act")
        return 4

    def observe(self, transition) -> None:
        self.calls.append("observe")

    def end_episode(self) -> None:
        self.calls.append("end")


def test_coplayers_follow_the_protocol_and_watch_each_game_to_its_end() -> None:
    recorder = Recorder()
    env = FocalSeatEnv(
        "hop/MarkovStagHunt-v0",
        coplayers=[recorder],
        focal_seat=0,
        episodes_per_trial=2,
        max_cycles=3,
        **ALL_HARES,
    )
    env.reset(seed=1)
    assert recorder.seat.seat == 1 and recorder.seat.focal_seats == (0,)
    # Game 1: the focal player captures at once; the recorder plays on alone to the limit.
    _, reward, terminated, truncated, info = env.step(HUNT_HARE)
    assert (reward, terminated, truncated, info["game_episode"]) == (1.0, False, False, 1)
    # Game 2: the focal player stays to the time limit (3 steps), ending the trial.
    results = [env.step(4) for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]
    game_1 = ["start", "act", "observe", "act", "observe", "act", "observe", "end"]
    game_2 = ["start", "act", "observe", "act", "observe", "act", "observe", "end"]
    assert recorder.calls == ["reset", *game_1, *game_2]


def test_one_seed_reproduces_the_trial_and_the_seat_and_coplayers_are_drawn() -> None:
    def play(seed: int) -> list:
        env = FocalSeatEnv("hop/MarkovSnowdrift-v0")
        obs, info = env.reset(seed=seed)
        out = [info["seat"], info["coplayers"], obs.tobytes()]
        rng = np.random.default_rng(seed)
        for _ in range(40):
            action = int(rng.choice(np.flatnonzero(env.action_masks())))
            obs, reward, terminated, truncated, _ = env.step(action)
            out += [obs.tobytes(), reward]
            if terminated or truncated:
                break
        return out

    assert play(3) == play(3)
    draws = {(play(s)[0], *play(s)[1]) for s in range(12)}
    assert len(draws) > 3
    assert all(d[0] in range(4) for d in draws)
    assert all(set(d[1:]) <= {"random", "free-rider", "cleaner"} for d in draws)


def test_bad_arguments_name_the_value_and_what_is_allowed() -> None:
    with pytest.raises(ValueError, match=r"focal_seat must be None or a seat in 0\.\.3.*got 4"):
        FocalSeatEnv("hop/MarkovStagHunt-v0", focal_seat=4)
    with pytest.raises(ValueError, match="episodes_per_trial must be an integer >= 1, got 0"):
        FocalSeatEnv("hop/MarkovStagHunt-v0", episodes_per_trial=0)
    with pytest.raises(ValueError, match="unknown co-player"):
        FocalSeatEnv("hop/MarkovStagHunt-v0", coplayers="nearest-stagg")
    with pytest.raises(ValueError, match="3 other seats"):
        FocalSeatEnv("hop/MarkovStagHunt-v0", coplayers=[Recorder()])
    env = FocalSeatEnv("hop/MarkovStagHunt-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an integer in 0\.\.6.*got 9"):
        env.step(9)
