"""HOP training parts: returns, focal samples and losses, the config, offline episodes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hop_envs
from agents.hop.features import FeatureBuilder
from agents.hop.networks import FOCAL, NetworkConfig, build_network
from agents.hop.training.collect import play_offline_episode
from agents.hop.training.config import SELF, TrainConfig
from agents.hop.training.focal_training import FocalTrainer, reward_scale
from agents.hop.training.samples import FocalSamples, discounted_returns
from hop_envs.core import SnowdriftConfig, SnowdriftRules, StagHuntConfig, StagHuntRules

TINY_SH = {"num_players": 2, "grid_size": 5, "num_wall_pieces": 0, "max_cycles": 10}
RULES = StagHuntRules(StagHuntConfig(**TINY_SH))


def test_discounted_returns_hand_worked() -> None:
    # G2 = 4, G1 = 0 + 0.5 * 4 = 2, G0 = 1 + 0.5 * 2 = 2
    assert discounted_returns([1.0, 0.0, 4.0], 0.5).tolist() == [2.0, 2.0, 4.0]
    assert discounted_returns([], 0.9).shape == (0,)


def test_reward_scale_of_the_default_games() -> None:
    assert reward_scale(StagHuntRules(StagHuntConfig())) == 5.0  # stag 10 / 2 hunters
    assert reward_scale(SnowdriftRules(SnowdriftConfig())) == 6.0  # removal reward


def _samples(n: int, seed: int) -> FocalSamples:
    """``n`` random states of seat 0, a one-hot target on a legal action, returns in [0, 5]."""
    rng = np.random.default_rng(seed)
    fb = FeatureBuilder(RULES)
    states = [RULES.reset(rng) for _ in range(n)]
    seats = np.zeros(n, dtype=np.int64)
    masks = fb.masks(states, seats)
    policies = np.zeros(masks.shape, dtype=np.float32)
    for i in range(n):
        policies[i, rng.choice(np.flatnonzero(masks[i]))] = 1.0
    return FocalSamples(
        grids=fb.grids(states, seats, dtype=np.uint8),
        steps=np.asarray([s.t for s in states]),
        masks=masks,
        policies=policies,
        policy_weights=np.ones(n, dtype=np.float32),
        returns=rng.uniform(0, 5, n).astype(np.float32),
    )


def test_focal_samples_reject_targets_on_illegal_actions() -> None:
    s = _samples(3, 0)
    bad = s.policies.copy()
    illegal = int(np.flatnonzero(~s.masks[1])[0])
    bad[1] = 0.0
    bad[1, illegal] = 1.0
    with pytest.raises(ValueError, match="target 1 puts mass 1 on illegal"):
        FocalSamples(s.grids, s.steps, s.masks, bad, s.policy_weights, s.returns)


def _trainer(seed: int = 0, **kwargs) -> FocalTrainer:
    config = NetworkConfig.for_rules(RULES, FOCAL, conv_channels=(4,), hidden=16)
    net = build_network(config, seed=seed)
    return FocalTrainer(net, RULES, seed=seed, **kwargs)


def test_cross_entropy_is_minus_log_probability_of_a_one_hot_target() -> None:
    trainer = _trainer()
    s = _samples(4, 1)
    cross, value, entropy, _ = trainer.per_sample(s)
    fb = FeatureBuilder(RULES)
    logits, values = trainer.net.run(fb.from_observations(s.grids, s.steps, s.masks))
    probs = torch.softmax(logits, 1).detach().numpy()
    chosen = s.policies.argmax(1)
    expected = -np.log(probs[np.arange(4), chosen])
    np.testing.assert_allclose(cross.detach().numpy(), expected, rtol=1e-5)
    expected_value = ((values.detach().numpy() - s.returns) / 5.0) ** 2
    np.testing.assert_allclose(value.detach().numpy(), expected_value, rtol=1e-5)
    assert np.isfinite(entropy.detach().numpy()).all()  # masked actions add 0, not NaN


def test_policy_loss_decreases_over_a_few_steps_on_fixed_data() -> None:
    trainer = _trainer(learning_rate=3e-3, batch_size=16)
    s = _samples(64, 2)
    before = trainer.evaluate(s)
    for _ in range(3):
        stats = trainer.fit(s, epochs=2)
    assert all(math.isfinite(x) for x in before)
    assert stats.policy_loss < before[0] - 0.05
    assert stats.value_loss < before[1]
    assert trainer.rounds == 3


def test_zero_policy_weight_samples_train_the_value_only() -> None:
    trainer = _trainer()
    s = _samples(8, 3)
    value_only = FocalSamples(
        s.grids, s.steps, s.masks, s.policies, np.zeros(8, np.float32), s.returns
    )
    policy, value, _ = trainer.evaluate(value_only)
    assert math.isnan(policy) and math.isfinite(value)
    head_before = trainer.net.policy.weight.detach().clone()
    trainer.fit(value_only, epochs=1)
    # the policy head gets no gradient from value-only samples
    torch.testing.assert_close(trainer.net.policy.weight.detach(), head_before)


def test_fit_with_the_same_seed_and_round_is_reproducible() -> None:
    s = _samples(40, 4)
    a, b = _trainer(seed=5), _trainer(seed=5)
    a.fit(s, 2)
    b.fit(s, 2)
    for pa, pb in zip(a.net.parameters(), b.net.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


# -- config ------------------------------------------------------------------------------------
def test_config_defaults_population_and_json_round_trip() -> None:
    config = TrainConfig(env_id="MarkovSnowdrift-v0", env_kwargs={"grid_size": 6})
    assert config.env_id == "hop/MarkovSnowdrift-v0"
    assert config.population == ("cleaner", "free-rider", "random", SELF)
    assert config.rule_based_population == ("cleaner", "free-rider", "random")
    assert TrainConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"iterations": -1}, r"TrainConfig.iterations must be an integer >= 0, got -1"),
        ({"num_simulations": 0}, r"TrainConfig.num_simulations must be an integer >= 1, got 0"),
        ({"discount": 1.5}, r"TrainConfig.discount must be a number in \[0.0, 1.0\], got 1.5"),
        ({"population": ("nearest-stga",)}, r"unknown co-player 'nearest-stga'"),
        ({"policy_target": "argmax"}, r"policy_target must be one of \['visits', 'search'\]"),
        ({"env_kwargs": {"grid_size": 1}}, r"grid_size"),
        ({"conv_channels": ()}, r"conv_channels must be a non-empty sequence"),
    ],
)
def test_bad_config_values_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_unknown_saved_config_fields_are_refused() -> None:
    data = TrainConfig().to_json() | {"num_treez": 3}
    with pytest.raises(ValueError, match=r"unknown fields \['num_treez'\]"):
        TrainConfig.from_json(data)


# -- offline episodes ---------------------------------------------------------------------------
def test_offline_episode_imitates_only_steps_that_led_to_a_capture() -> None:
    # Two nearest-hare players and a single hare on an open 3x3 grid: whoever reaches it first
    # captures; a player that captures nothing gets value targets but no policy targets.
    config = TrainConfig(
        env_kwargs={
            "num_players": 2,
            "grid_size": 3,
            "num_stags": 0,
            "num_hares": 1,
            "num_wall_pieces": 0,
            "max_cycles": 6,
        },
        population=("nearest-hare",),
    )
    for index in range(6):
        samples, episode = play_offline_episode(config, index)
        assert set(np.unique(samples.policy_weights)) <= {0.0, 1.0}
        # one-hot targets on the executed (always legal) action
        assert np.all(samples.policies.sum(1) == 1.0)
        assert np.all(samples.masks[samples.policies.astype(bool)])
        captured = episode.coplayers[1].outcome.achieved
        seat1 = samples.policy_weights[-len(episode.coplayers[1]) :]
        assert bool(seat1.all()) == bool(captured)
        assert bool(seat1.any()) == bool(captured)
        # a capture gives the hare reward 1 (or 0.5 when both hunt together) at the end
        wins = samples.returns[samples.policy_weights == 1.0]
        if wins.size:
            assert wins.max() in (pytest.approx(1.0), pytest.approx(0.5))


# -- the log -----------------------------------------------------------------------------------
def test_log_writes_csv_and_tensorboard_scalars_when_available(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types

    from agents.hop.training.log import TrainingLog, read_log

    calls: list[tuple[str, float, int]] = []

    class Writer:
        def __init__(self, log_dir: str) -> None:
            self.log_dir = log_dir

        def add_scalar(self, tag: str, value: float, step: int) -> None:
            calls.append((tag, value, step))

        def flush(self) -> None:
            return None

        def close(self) -> None:
            return None

    fake_tb = types.ModuleType("torch.utils.tensorboard")
    fake_tb.SummaryWriter = Writer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tensorboard", types.ModuleType("tensorboard"))
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake_tb)
    log = TrainingLog(tmp_path, tensorboard=True)
    assert log.writer.log_dir == str(tmp_path / "tensorboard")
    log.append({"iteration": 3, "phase": "search", "policy_loss": 1.5, "om_loss": float("nan")})
    log.close()
    # NaN values are left out of TensorBoard and written as empty CSV cells
    assert calls == [("train/policy_loss", 1.5, 3)]
    row = read_log(tmp_path / "log.csv")[0]
    assert (row["iteration"], row["policy_loss"], row["om_loss"]) == ("3", "1.5", "")


def test_log_skips_tensorboard_when_it_is_not_installed(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from agents.hop.training.log import TrainingLog

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import fails
    assert TrainingLog(tmp_path, tensorboard=True).writer is None
    with pytest.raises(ValueError, match=r"unknown columns \['reward'\]"):
        TrainingLog(tmp_path, tensorboard=False).append({"iteration": 1, "reward": 2.0})


# -- the learner ----------------------------------------------------------------------------
@pytest.mark.parametrize("policy_target", ["visits", "search"])
def test_learner_keeps_one_decision_per_step_with_its_target_and_reward(policy_target) -> None:
    from agents.base import Transition
    from agents.hop.networks import GOAL_OM
    from agents.hop.training.collect import _seat_info
    from agents.hop.training.players import SearchLearner
    from hop_envs.coplayers import make_coplayer

    config = TrainConfig(
        env_kwargs=TINY_SH, num_trees=2, num_simulations=4, policy_target=policy_target
    )
    env = hop_envs.make(config.env_id, **config.env_kwargs)
    rules = env.unwrapped.rules
    focal = build_network(NetworkConfig.for_rules(rules, FOCAL, conv_channels=(4,), hidden=16), 0)
    om = build_network(NetworkConfig.for_rules(rules, GOAL_OM, conv_channels=(4,), hidden=16), 1)
    learner = SearchLearner(rules, 1, focal, om, config, np.random.default_rng(0))
    coplayer = make_coplayer("nearest-hare", config.env_id)
    coplayer.reset(seed=0, seat=_seat_info(env, config, 0))
    coplayer.start_episode()
    learner.start_trial()
    observations, _ = env.reset(seed=4)
    learner.begin(observations["player_1"])
    expected = []
    while env.agents:
        actions = {}
        if "player_0" in env.agents:
            actions["player_0"] = coplayer.act(observations["player_0"])
        if "player_1" in env.agents:
            seen = observations["player_1"]
            actions["player_1"] = learner.act(seen)
            search = learner.last_search
            target = search.visit_policy if policy_target == "visits" else search.policy
        observations, rewards, *rest = env.step(actions)
        if "player_1" in actions:
            expected.append((seen, target, rewards["player_1"]))
        learner.observe(Transition(actions, observations, rewards, *rest))
    episode = learner.finish()
    assert len(learner.decisions) == len(expected) >= 1
    for decision, (seen, target, reward) in zip(learner.decisions, expected, strict=True):
        np.testing.assert_array_equal(decision.grid, seen["observation"])
        np.testing.assert_array_equal(decision.mask, seen["action_mask"])
        assert decision.step == seen["step"]
        np.testing.assert_allclose(decision.target, target, rtol=1e-6)
        assert decision.target.dtype == np.float32 and decision.reward == reward
    # the co-player is recorded to the end of the episode, so it is not censored
    assert not episode.coplayers[0].outcome.censored
