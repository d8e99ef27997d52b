"""BatchedFocalVecEnv: SB3's VecEnv contract, the focal seat's view and rewards step for step
against the scalar rules, hand-worked captures and time limits, auto-reset, seeding, masks
and a tiny MaskablePPO run."""

from __future__ import annotations

import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3.common.vec_env import VecMonitor

from baselines.vec_env import BatchedFocalVecEnv
from hop_envs import BatchedState
from hop_envs.coplayers.batched import BatchedPolicy
from hop_envs.core import GridLayout
from hop_envs.core.layout import STAY
from hop_envs.core.stag_hunt import HUNT_HARE

STAG_HUNT = "hop/MarkovStagHunt-v0"
SNOWDRIFT = "hop/MarkovSnowdrift-v0"


def random_actions(rng: np.random.Generator, env: BatchedFocalVecEnv) -> np.ndarray:
    """Random legal focal actions."""
    masks = env.action_masks()
    return ((rng.random(masks.shape) + 1.0) * masks).argmax(1)


def test_reset_and_step_follow_the_vec_env_api() -> None:
    env = BatchedFocalVecEnv(env_id="MarkovStagHunt-v0", num_envs=5, coplayers="random", seed=0)
    assert env.observation_space.shape == (7, 8, 8)
    assert env.observation_space.dtype == np.uint8
    assert env.action_space.n == 7
    obs = env.reset()
    assert obs.shape == (5, 7, 8, 8) and obs.dtype == np.uint8
    assert all(env.observation_space.contains(o) for o in obs)
    obs, rewards, dones, infos = env.step(random_actions(np.random.default_rng(0), env))
    assert obs.shape == (5, 7, 8, 8) and obs.dtype == np.uint8
    assert rewards.shape == (5,) and rewards.dtype == np.float32
    assert dones.shape == (5,) and dones.dtype == bool
    assert isinstance(infos, list) and len(infos) == 5
    assert all({"illegal_action", "seat", "coplayers"} <= set(info) for info in infos)
    assert env.get_attr("render_mode") == [None] * 5
    assert env.env_is_wrapped(object) == [False] * 5


@pytest.mark.parametrize(
    ("env_id", "coplayers", "env_kwargs"),
    [
        (STAG_HUNT, None, {}),
        (STAG_HUNT, ("nearest-stag", "nearest-hare"), {"num_players": 3, "max_cycles": 12}),
        (STAG_HUNT, "nearest-stag", {"reward_mode": "prosocial", "num_players": 2}),
        (SNOWDRIFT, ("cleaner", "free-rider", "random"), {"max_cycles": 10}),
        (SNOWDRIFT, "cleaner", {"reward_mode": "prosocial", "num_wall_pieces": 3}),
    ],
)
def test_steps_match_the_scalar_rules_seen_from_the_focal_seat(
    monkeypatch: pytest.MonkeyPatch, env_id: str, coplayers, env_kwargs: dict
) -> None:
    """Every step of every entry replayed with the scalar rules on the same joint action:
    the focal seat's observation, reward, end of episode and terminal observation agree."""
    calls: list[tuple[str, np.ndarray]] = []
    act = BatchedPolicy.act

    def recording_act(self, grids, masks, rng):
        actions = act(self, grids, masks, rng)
        calls.append((self.name, actions.copy()))
        return actions

    monkeypatch.setattr(BatchedPolicy, "act", recording_act)
    size = 12
    env = BatchedFocalVecEnv(
        env_id=env_id, num_envs=size, coplayers=coplayers, seed=4, env_kwargs=env_kwargs
    )
    rules = env.rules
    n = rules.num_players
    obs = env.reset()
    rng = np.random.default_rng(1)
    episodes = 0
    for _ in range(40):
        states = [env.state.unstack(i) for i in range(size)]
        seats = env.get_attr("focal_seat")
        names = env.get_attr("coplayer_names")
        for i in range(size):
            assert (obs[i] == rules.observation(states[i], seats[i])).all()
            assert (env.action_masks()[i] == rules.action_mask(states[i], seats[i])).all()
            assert names[i][seats[i]] is None
        actions = rng.integers(0, rules.num_actions, size)  # illegal ones included
        active = env.state.active.copy()
        calls.clear()
        obs, rewards, dones, infos = env.step(actions)
        joint = np.full((size, n), STAY)
        joint[np.arange(size), seats] = actions
        for name, drawn in calls:
            rows, cols = np.nonzero(
                active & (np.asarray([[nm == name for nm in row] for row in names]))
            )
            joint[rows, cols] = drawn
        for i in range(size):
            seat = seats[i]
            out = rules.step(states[i], joint[i].tolist())
            assert rewards[i] == np.float32(out.rewards[seat])
            assert infos[i]["illegal_action"] == out.illegal[seat]
            assert infos[i]["seat"] == seat
            assert infos[i]["coplayers"] == tuple(nm for nm in names[i] if nm is not None)
            done = bool(out.terminated[seat] or out.truncated[seat])
            assert dones[i] == done
            if done:
                episodes += 1
                last = rules.observation(states[i], seat)
                assert (infos[i]["terminal_observation"] == last).all()
                assert infos[i]["TimeLimit.truncated"] == bool(
                    out.truncated[seat] and not out.terminated[seat]
                )
                assert env.state.t[i] == 0  # a new episode
            else:
                assert "terminal_observation" not in infos[i]
                assert (obs[i] == rules.observation(states[i], seat)).all()
    assert episodes > 0


def hare_state(env: BatchedFocalVecEnv) -> BatchedState:
    """2-player stag hunt on an open 8x8 grid: the focal seat 0 stands on the hare at (0, 0),
    the co-player far away at (7, 7), the stag at (4, 4)."""
    rules = env.rules
    layout = GridLayout.from_walls(np.zeros((8, 8), dtype=bool))
    state = rules.state_from_positions(layout, player_pos=[0, 63], object_pos=[36, 0])
    return BatchedState.stack([state])


@pytest.mark.parametrize(("mode", "expected"), [("selfish", 3.0), ("prosocial", 1.5)])
def test_hunting_a_hare_pays_ends_the_episode_and_auto_resets(mode: str, expected: float) -> None:
    kwargs = {
        "num_players": 2,
        "num_stags": 1,
        "num_hares": 1,
        "num_wall_pieces": 0,
        "hare_reward": 3.0,
        "reward_mode": mode,
    }
    env = BatchedFocalVecEnv(
        env_id=STAG_HUNT,
        num_envs=3,
        coplayers="nearest-stag",
        focal_seat=0,
        seed=2,
        env_kwargs=kwargs,
    )
    env.reset()
    env.put_states([1], hare_state(env))
    assert env.action_masks()[1, HUNT_HARE]
    actions = np.full(3, STAY)
    actions[1] = HUNT_HARE
    obs, rewards, dones, infos = env.step(actions)
    assert rewards[1] == pytest.approx(expected)
    assert dones[1]
    last = infos[1]["terminal_observation"]
    assert not last[0].any()  # the focal player has left the game
    assert last[1].reshape(-1).tolist().index(1) in (62, 55)  # the co-player took one step
    assert not last[4].any() and last[3].reshape(-1)[36] == 1  # hare gone, stag there
    assert infos[1]["TimeLimit.truncated"] is False
    assert obs[1][0].sum() == 1 and env.state.t[1] == 0  # the new episode's first view
    assert env.state.object_alive[1].all()


def test_the_time_limit_truncates_and_says_so() -> None:
    env = BatchedFocalVecEnv(
        env_id=SNOWDRIFT,
        num_envs=4,
        coplayers="free-rider",
        seed=5,
        env_kwargs={"max_cycles": 3},
    )
    env.reset()
    for step in range(3):
        _, rewards, dones, infos = env.step(np.full(4, STAY))
        assert (rewards == 0).all()
        assert dones.all() == (step == 2)
    assert all(info["TimeLimit.truncated"] for info in infos)
    assert all(info["terminal_observation"].shape == (6, 8, 8) for info in infos)
    assert (env.state.t == 0).all()


def test_one_seed_reproduces_everything() -> None:
    def run(env: BatchedFocalVecEnv) -> list:
        out = [env.reset()]
        rng = np.random.default_rng(0)
        for _ in range(30):
            obs, rewards, dones, infos = env.step(random_actions(rng, env))
            out += [obs, rewards, dones, env.get_attr("focal_seat"), env.get_attr("coplayer_names")]
            out += [info.get("terminal_observation") for info in infos]
        return out

    def make(seed: int | None) -> BatchedFocalVecEnv:
        return BatchedFocalVecEnv(
            env_id=STAG_HUNT, num_envs=6, coplayers=("nearest-stag", "random"), seed=seed
        )

    first, second = run(make(9)), run(make(9))
    reseeded = make(None)
    reseeded.seed(9)
    third = run(reseeded)
    other = run(make(10))

    def same(a: list, b: list) -> bool:
        return len(a) == len(b) and all(
            (x is None and y is None) or np.array_equal(np.asarray(x), np.asarray(y))
            for x, y in zip(a, b, strict=True)
        )

    assert same(first, second)
    assert same(first, third)
    assert not same(first, other)


def test_focal_seats_and_coplayers_are_drawn_per_episode() -> None:
    env = BatchedFocalVecEnv(
        env_id=SNOWDRIFT, num_envs=64, coplayers=("cleaner", "free-rider"), seed=1
    )
    env.reset()
    seats = env.get_attr("focal_seat")
    assert set(seats) == {0, 1, 2, 3}
    names = env.get_attr("coplayer_names")
    assert {nm for row in names for nm in row} == {None, "cleaner", "free-rider"}
    fixed = BatchedFocalVecEnv(env_id=SNOWDRIFT, num_envs=8, coplayers="cleaner", focal_seat=2)
    fixed.reset()
    assert fixed.get_attr("focal_seat") == [2] * 8
    assert fixed.get_attr("coplayer_names", indices=0) == [("cleaner", "cleaner", None, "cleaner")]


def test_masks_reach_maskable_ppo_per_entry() -> None:
    env = BatchedFocalVecEnv(env_id=STAG_HUNT, num_envs=6, coplayers="nearest-hare", seed=3)
    env.reset()
    masks = env.action_masks()
    assert masks.shape == (6, 7) and masks.dtype == bool
    assert masks[:, STAY].all()
    assert is_masking_supported(env)
    assert (get_action_masks(env) == masks).all()
    picked = env.env_method("action_masks", indices=[1, 4])
    assert len(picked) == 2 and (picked[1] == masks[4]).all()
    assert (env.get_attr("action_masks", indices=2)[0]() == masks[2]).all()


def test_an_illegal_focal_action_runs_as_stay() -> None:
    env = BatchedFocalVecEnv(env_id=STAG_HUNT, num_envs=4, coplayers="random", focal_seat=0, seed=8)
    env.reset()
    masks = env.action_masks()
    before = env.state.player_pos[:, 0].copy()
    actions = (~masks).argmax(1)  # an illegal action in every entry (hunts off prey at least)
    assert not masks[np.arange(4), actions].any()
    _, rewards, _, infos = env.step(actions)
    assert all(info["illegal_action"] for info in infos)
    assert (env.state.player_pos[:, 0] == before).all()
    assert (rewards == 0).all()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="no batched policy for co-player 'patient-stag'"):
        BatchedFocalVecEnv(env_id=STAG_HUNT, num_envs=2, coplayers="patient-stag")
    with pytest.raises(ValueError, match="'cleaner' plays only hop/MarkovSnowdrift-v0"):
        BatchedFocalVecEnv(env_id=STAG_HUNT, num_envs=2, coplayers=["random", "cleaner"])
    with pytest.raises(ValueError, match=r"focal_seat must be None or a seat in 0\.\.3"):
        BatchedFocalVecEnv(env_id=STAG_HUNT, num_envs=2, focal_seat=4)
    with pytest.raises(ValueError, match="num_envs must be an integer >= 1, got 0"):
        BatchedFocalVecEnv(env_id=STAG_HUNT, num_envs=0)
    with pytest.raises(ValueError, match="unknown environment id"):
        BatchedFocalVecEnv(env_id="Nope-v0", num_envs=2)
    env = BatchedFocalVecEnv(env_id=STAG_HUNT, num_envs=2, seed=0)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(np.zeros(2, dtype=np.int64))
    env.reset()
    with pytest.raises(ValueError, match="actions must be 2 whole numbers"):
        env.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"action of entry 1 must be in 0\.\.6.*got 7"):
        env.step(np.asarray([0, 7]))
    with pytest.raises(AttributeError, match="env_method supports"):
        env.env_method("reset")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        env.get_attr("nope")
    with pytest.raises(ValueError, match="needs indices=None"):
        env.set_attr("env_kwargs", {}, indices=[0])
    with pytest.raises(NotImplementedError, match="does not render"):
        env.render()
    env.close()


def test_maskable_ppo_learns_on_it_unchanged() -> None:
    env = BatchedFocalVecEnv(
        env_id=STAG_HUNT, num_envs=8, coplayers=("nearest-stag", "nearest-hare"), seed=0
    )
    model = MaskablePPO("MlpPolicy", env, n_steps=32, batch_size=64, seed=0, device="cpu")
    model.learn(256)
    assert model.num_timesteps >= 256


def test_vec_monitor_records_the_focal_episodes() -> None:
    env = VecMonitor(
        BatchedFocalVecEnv(
            env_id=SNOWDRIFT, num_envs=4, coplayers="cleaner", seed=0, env_kwargs={"max_cycles": 5}
        )
    )
    env.reset()
    assert (get_action_masks(env) == env.unwrapped.action_masks()).all()
    for _ in range(5):
        _, _, dones, infos = env.step(np.full(4, STAY))
    assert dones.all()
    assert all(info["episode"]["l"] <= 5 for info in infos)
