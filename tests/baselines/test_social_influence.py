"""The social-influence learner: the influence reward worked by hand, its schedule, the MOA,
the joint actions the envs report, the reward added to SB3's rollouts, exact resume, and the
agent's predictions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import hop_envs
from agents.base import SeatInfo, Transition
from agents.prediction import check_predictions
from baselines.sb3.training import LearnerTrainConfig, LearnerTrainer
from baselines.sb3.vec_envs import SelfPlayVecEnv
from baselines.social_influence import callback as callback_module
from baselines.social_influence.agent import SocialInfluenceAgent
from baselines.social_influence.influence import (
    InfluenceConfig,
    counterfactual_marginal,
    influence_reward,
    kl_divergence,
)
from baselines.social_influence.moa import MOAConfig, MOANetwork, load_moa, save_moa
from baselines.vec_env import BatchedFocalVecEnv
from hop_envs.core.layout import STAY

pytestmark = pytest.mark.filterwarnings("ignore")
STAG_HUNT = "hop/MarkovStagHunt-v0"

# One co-player, two own actions, two co-player actions: action 0 makes the co-player likely
# to take 0 next, action 1 likely to take 1.
CF = np.array([[[[0.9, 0.1]], [[0.1, 0.9]]]])  # (B=1, A=2, J=1, A'=2)


def test_the_influence_of_a_decisive_action_is_the_kl_to_the_marginal_worked_by_hand() -> None:
    # Policy 50/50: marginal (0.5, 0.5); took 0: KL((.9, .1) || (.5, .5)).
    expected = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    assert expected == pytest.approx(0.368064, abs=1e-6)
    got = influence_reward(CF, np.array([[0.5, 0.5]]), np.array([0]), np.array([[True]]), 10.0)
    assert got[0] == pytest.approx(expected, abs=1e-12)
    # The policy 75/25 makes the marginal (0.7, 0.3); took 1: KL((.1, .9) || (.7, .3)).
    took_1 = influence_reward(CF, np.array([[0.75, 0.25]]), np.array([1]), np.array([[True]]), 10.0)
    assert took_1[0] == pytest.approx(0.1 * math.log(0.1 / 0.7) + 0.9 * math.log(0.9 / 0.3))
    np.testing.assert_allclose(
        counterfactual_marginal(CF, np.array([[0.75, 0.25]])), [[[0.7, 0.3]]], atol=1e-12
    )


def test_no_influence_when_the_policy_is_certain_the_coplayer_has_left_or_nothing_changes() -> None:
    certain = influence_reward(CF, np.array([[1.0, 0.0]]), np.array([0]), np.array([[True]]), 10)
    assert certain[0] == pytest.approx(0.0, abs=1e-12)  # the marginal is the actual prediction
    gone = influence_reward(CF, np.array([[0.5, 0.5]]), np.array([0]), np.array([[False]]), 10)
    assert gone[0] == 0.0
    indifferent = np.array([[[[0.3, 0.7]], [[0.3, 0.7]]]])
    same = influence_reward(indifferent, np.array([[0.5, 0.5]]), np.array([1]), np.array([[1]]), 10)
    assert same[0] == pytest.approx(0.0, abs=1e-12)


def test_two_coplayers_add_up_and_the_sum_is_clipped() -> None:
    two = np.concatenate([CF, CF[:, :, :, ::-1]], axis=2)  # (1, 2, 2, 2): mirrored co-player
    one = influence_reward(CF, np.array([[0.5, 0.5]]), np.array([0]), np.array([[True]]), 10)[0]
    both = influence_reward(two, np.array([[0.5, 0.5]]), np.array([0]), np.array([[1, 1]]), 10)
    assert both[0] == pytest.approx(2 * one)  # the mirror image is equally influenced
    clipped = influence_reward(two, np.array([[0.5, 0.5]]), np.array([0]), np.array([[1, 1]]), 0.5)
    assert clipped[0] == 0.5
    assert kl_divergence(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(math.log(2))


def test_the_influence_weight_follows_its_curriculum() -> None:
    config = InfluenceConfig(weight=2.0, zero_steps=100, ramp_steps=200)
    assert [config.weight_at(s) for s in (0, 99, 100, 200, 300, 10_000)] == [
        0.0,
        0.0,
        0.0,
        1.0,
        2.0,
        2.0,
    ]
    assert InfluenceConfig(weight=0.5, zero_steps=0, ramp_steps=0).weight_at(0) == 0.5


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weight", -1.0, "weight must be a finite number >= 0, got -1.0"),
        ("clip", 0.0, "clip must be a finite number > 0, got 0.0"),
        ("zero_steps", -5, "zero_steps must be >= 0, got -5"),
        ("moa_batch_size", 0, "moa_batch_size must be >= 1, got 0"),
    ],
)
def test_bad_influence_options_are_refused_by_name(field, value, message) -> None:
    with pytest.raises(ValueError, match=f"InfluenceConfig.{message}"):
        InfluenceConfig(**{field: value})
    with pytest.raises(ValueError, match="unknown fields \\['beta'\\]"):
        InfluenceConfig.from_json({"beta": 1.0})


def moa(num_players: int = 4, seed: int = 0) -> MOANetwork:
    torch.manual_seed(seed)
    env = hop_envs.make(STAG_HUNT, num_players=num_players)
    shape = env.observation_space("player_0")["observation"].shape
    return MOANetwork(MOAConfig(shape, env.action_space("player_0").n, num_players, (8,), 16))


def test_each_counterfactual_row_is_the_moa_with_that_own_action() -> None:
    net = moa()
    grids = torch.rand(3, *net.config.observation_shape)
    joint = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 0], [6, 6, 6, 6]])
    cf = net.counterfactual_probs(grids, joint)
    assert cf.shape == (3, 7, 3, 7)
    for a in range(7):
        changed = joint.clone()
        changed[:, 0] = a
        expected = torch.softmax(net(grids, changed), dim=-1)
        torch.testing.assert_close(cf[:, a], expected)
    torch.testing.assert_close(cf.sum(-1), torch.ones(3, 7, 3))


def test_the_moa_saves_as_safetensors_and_loads_the_same(tmp_path) -> None:
    net = moa()
    save_moa(tmp_path, net)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moa.json", "moa.safetensors"]
    loaded = load_moa(tmp_path)
    grids, joint = torch.rand(2, *net.config.observation_shape), torch.tensor([[0, 1, 2, 3]] * 2)
    torch.testing.assert_close(loaded(grids, joint), net(grids, joint))
    (tmp_path / "moa.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"moa\.safetensors is missing"):
        load_moa(tmp_path)
    with pytest.raises(ValueError, match=r"MOAConfig\.num_players=1: expected an int >= 2"):
        MOAConfig((3, 8, 8), 7, 1)


class Recorder:
    """Wraps a batched co-player policy and keeps the actions it returned."""

    def __init__(self, policy) -> None:
        self.policy, self.returned = policy, []

    def choice_sets(self, grids, masks):
        return self.policy.choice_sets(grids, masks)

    def act(self, grids, masks, rng):
        actions = self.policy.act(grids, masks, rng)
        self.returned.append(np.array(actions))
        return actions


def test_the_vector_env_reports_every_seats_action_in_the_focal_observations_order() -> None:
    env = BatchedFocalVecEnv(env_id=STAG_HUNT, num_envs=6, focal_seat=1, seed=3)
    env._policies = [Recorder(policy) for policy in env._policies]
    env.reset()
    order = [1, 2, 3, 0]  # the focal seat 1, then seats 2, 3, 0
    for step in range(6):
        state = env.state
        acting = state.active & (env._assigned >= 0)
        done: dict[tuple[int, int], int] = {}
        # the env asks each policy for the rows/seats it plays, in np.nonzero order
        cells = [np.nonzero(acting & (env._assigned == i)) for i in range(len(env._policies))]
        for recorder in env._policies:
            recorder.returned.clear()
        masks = env.action_masks()
        focal = np.array([int(np.flatnonzero(m)[step % m.sum()]) for m in masks])
        _, _, _, infos = env.step(focal)
        for (rows, seats), recorder in zip(cells, env._policies, strict=True):
            if rows.size:
                for r, s, a in zip(rows, seats, recorder.returned[0], strict=True):
                    done[(int(r), int(s))] = int(a)
        for row, info in enumerate(infos):
            assert info["joint_actions"][0] == focal[row]  # legal by construction
            for k, seat_index in enumerate(order[1:], start=1):
                assert info["joint_actions"][k] == done.get((row, seat_index), STAY)
            assert info["present"].shape == (3,)
        assert done  # the co-players did act


def test_the_self_play_view_reports_each_seats_rotation_with_illegal_moves_as_stay() -> None:
    venv = SelfPlayVecEnv(STAG_HUNT, 1, {})
    venv.seed(0)
    venv.reset()
    masks = venv.action_masks()
    actions = np.array([int(np.flatnonzero(m)[0]) for m in masks])
    illegal = int(np.flatnonzero(~masks[2])[0])  # seat 2 tries an illegal move
    actions[2] = illegal
    _, _, _, infos = venv.step(actions)
    ran = actions.copy()
    ran[2] = STAY
    for seat_index, info in enumerate(infos):
        np.testing.assert_array_equal(info["joint_actions"], np.roll(ran, -seat_index))
        np.testing.assert_array_equal(info["present"], [True, True, True])


def tiny(**overrides) -> LearnerTrainConfig:
    settings = dict(total_steps=256, chunk_steps=128, num_envs=2, self_play_games=1, n_steps=16)
    settings.update(overrides)
    return LearnerTrainConfig("social-influence", STAG_HUNT, **settings)


def test_the_weighted_influence_is_added_to_every_reward_of_the_rollout(tmp_path, monkeypatch):
    constant = 0.25

    def fixed(counterfactual, own_policy, taken, present, clip):
        assert counterfactual.shape[1:] == (7, 3, 7) and own_policy.shape == (taken.size, 7)
        assert np.allclose(own_policy.sum(1), 1.0)
        return np.full(taken.size, constant)

    buffers = {}
    for weight in (0.0, 2.0):
        influence = InfluenceConfig(weight=weight, zero_steps=0, ramp_steps=0)
        trainer = LearnerTrainer(
            tiny(total_steps=96, chunk_steps=96, influence=influence), tmp_path / str(weight)
        )
        monkeypatch.setattr(callback_module, "influence_reward", fixed)
        trainer.train(progress=False)
        buffer = trainer.model.rollout_buffer
        buffers[weight] = (buffer.rewards.copy(), buffer.returns.copy(), buffer.values.copy())
    (r0, ret0, v0), (r2, ret2, v2) = buffers[0.0], buffers[2.0]
    np.testing.assert_array_equal(v0, v2)  # the same rollout
    np.testing.assert_allclose(r2 - r0, 2.0 * constant, atol=1e-6)
    assert (ret2 > ret0).all()  # the returns were recomputed with the new rewards


def test_a_resumed_run_reaches_the_same_policy_and_moa_as_an_uninterrupted_one(tmp_path):
    config = tiny(influence=InfluenceConfig(zero_steps=0, ramp_steps=64))
    whole = LearnerTrainer(config, tmp_path / "whole")
    whole.train(progress=False)
    first = LearnerTrainer(config, tmp_path / "split")
    first.train(progress=False, until_chunk=1)
    resumed = LearnerTrainer.resume(tmp_path / "split")
    resumed.train(progress=False)
    for a, b in (
        (whole.model.policy.state_dict(), resumed.model.policy.state_dict()),
        (whole.moa.state_dict(), resumed.moa.state_dict()),
    ):
        assert all(torch.equal(a[k], b[k]) for k in a)
    files = {p.name for p in (tmp_path / "whole" / "policy").rglob("*")}
    assert {"moa.json", "moa.safetensors", "policy.safetensors"} <= files
    progress = next((tmp_path / "whole" / "sb3").rglob("progress.csv")).read_text()
    assert "influence/mean_reward" in progress and "moa/accuracy" in progress


def test_only_the_social_influence_learner_takes_influence_options() -> None:
    with pytest.raises(ValueError, match="'ppo' has no influence reward"):
        LearnerTrainConfig("ppo", STAG_HUNT, influence=InfluenceConfig())
    assert tiny().influence == InfluenceConfig()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("social-influence")
    LearnerTrainer(tiny(), directory).train(progress=False)
    return directory / "policy"


def test_the_agent_predicts_its_coplayers_with_the_moa_from_the_previous_step(checkpoint):
    env = hop_envs.make(STAG_HUNT)
    agent = SocialInfluenceAgent(checkpoint=checkpoint)
    seat = SeatInfo.of_env(env, STAG_HUNT, 2)
    agent.reset(seed=0, seat=seat)
    agent.start_episode()
    observations, _ = env.reset(seed=4)
    steps, previous_grid, previous = 0, None, {}
    while "player_2" in env.agents:
        observation = observations["player_2"]
        action = agent.act(observation)
        predictions = agent.predict_coplayers(observation)
        if steps == 0:
            assert predictions == {}
        else:
            assert set(predictions) == {int(a.split("_")[1]) for a in env.agents} - {2}
            check_predictions(predictions, who="si", seat=2, num_players=4, num_actions=7)
            grid = torch.as_tensor(previous_grid[None], dtype=torch.float32)
            joint = torch.as_tensor([[previous[f"player_{s}"] for s in (2, 3, 0, 1)]])
            with torch.no_grad():
                expected = torch.softmax(agent.moa(grid, joint)[0].double(), -1).numpy()
            for k, s in enumerate((3, 0, 1)):
                if s in predictions:
                    np.testing.assert_allclose(predictions[s].actions, expected[k], atol=1e-9)
        actions = {a: action if a == "player_2" else 0 for a in env.agents}
        previous_grid = observation["observation"]
        previous = dict.fromkeys(("player_0", "player_1", "player_2", "player_3"), STAY)
        step = env.step(actions)
        for a, taken in actions.items():
            previous[a] = STAY if step[4][a].get("illegal_action") else taken
        agent.observe(Transition(actions, *step))
        observations = step[0]
        steps += 1
    assert steps > 1
