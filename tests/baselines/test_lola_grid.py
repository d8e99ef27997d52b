"""LOLA with opponent modelling on the grid games: the DiCE LOLA gradient against exact
gradients on a matrix game, the co-player models' inputs and likelihood fit, checkpoints,
resume, determinism, config checks and the agent in the PettingZoo env."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hop_envs
from agents.base import SeatInfo
from agents.prediction import check_predictions
from baselines.lola.agent import LOLAGridAgent
from baselines.lola.grid import SimulatedBatch, dice_value, lola_gradient
from baselines.lola.grid_policy import coplayer_masks, coplayer_view
from baselines.lola.grid_training import LOLAGridConfig, LOLAGridTrainer, main, play
from hop_envs import BatchedGame
from hop_envs.coplayers import batched_policy

torch.set_num_threads(1)

STAG_HUNT = "hop/MarkovStagHunt-v0"
SNOWDRIFT = "hop/MarkovSnowdrift-v0"
#: A tiny learner: a few seconds per iteration at most.
TINY = {"real_episodes": 2, "sim_episodes": 2, "conv_channels": (4,), "hidden": 8}

# -- the LOLA gradient on a one-step two-action game ------------------------------------------

# A stag-hunt matrix (row player's payoff; the column player's is the transpose): how much
# the column player gains from its own move depends on the row player's policy, so the
# row player's parameters move the column player's learning step (non-zero LOLA term).
R1 = torch.tensor([[4.0, 0.0], [3.0, 2.0]], dtype=torch.float64)
R2 = R1.T.clone()


def exact_lookahead_gradients(theta, phi, eta):
    """``d/dtheta V1(theta, phi + eta grad_phi V2(theta, phi))`` on exact values: the
    whole gradient and its part through the co-player's step only."""
    t = theta.clone().requires_grad_(True)
    f = phi.clone().requires_grad_(True)

    def value(t, f, payoff):
        return torch.softmax(t, 0) @ payoff @ torch.softmax(f, 0)

    step = torch.autograd.grad(value(t, f, R2), f, create_graph=True)[0]
    f_after = f + eta * step
    full = torch.autograd.grad(value(t, f_after, R1), t, retain_graph=True)[0]
    direct = torch.autograd.grad(value(t, f_after.detach(), R1), t)[0]
    return full, full - direct


def matrix_simulator(batch_size: int, seed: int):
    """Samples one-step plays of the matrix game with the parameters' values; log-probs
    are computed with the parameters themselves (graphs kept)."""
    rng = np.random.default_rng(seed)

    def simulate(theta, phis):
        own = torch.log_softmax(theta["logits"], 0)
        other = torch.log_softmax(phis[0]["logits"], 0)
        a = torch.as_tensor(rng.random(batch_size) >= own.exp()[0].item()).long()
        b = torch.as_tensor(rng.random(batch_size) >= other.exp()[0].item()).long()
        rewards = torch.stack([R1[a, b], R2[a, b]], -1)[:, None, :]
        return SimulatedBatch(own[a][:, None], other[b][:, None, None], rewards)

    return simulate


@pytest.mark.parametrize("part", ["full", "shaping"])
def test_the_dice_lola_gradient_matches_the_exact_lookahead_gradient(part) -> None:
    theta = torch.tensor([0.3, -0.4], dtype=torch.float64)
    phi = torch.tensor([-0.2, 0.5], dtype=torch.float64)
    full, shaping = exact_lookahead_gradients(theta, phi, eta=1.0)
    expected = full if part == "full" else shaping
    # by hand: the gradient of softmax logits sums to 0, and the shaping term is the bulk
    assert abs(float(expected.sum())) < 1e-12 and abs(float(shaping[0])) > 0.1
    got = lola_gradient(
        {"logits": theta.clone().requires_grad_(True)},
        [{"logits": phi.clone().requires_grad_(True)}],
        matrix_simulator(400_000, seed=1),
        eta=1.0,
        gamma=0.9,
        part=part,
    )["logits"]
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=0.01)


def test_without_a_lookahead_step_the_shaping_term_vanishes() -> None:
    got = lola_gradient(
        {"logits": torch.tensor([0.3, -0.4], dtype=torch.float64, requires_grad=True)},
        [{"logits": torch.tensor([-0.2, 0.5], dtype=torch.float64, requires_grad=True)}],
        matrix_simulator(1000, seed=0),
        eta=0.0,
        gamma=0.9,
    )["logits"]
    assert torch.equal(got, torch.zeros(2, dtype=torch.float64))


def test_the_dice_value_is_the_mean_discounted_return_and_its_gradient_reinforce() -> None:
    rewards = torch.tensor([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    logp = torch.tensor([[-0.1, -0.2, -0.3], [-0.4, -0.5, -0.6]], requires_grad=True)
    value = dice_value(logp, rewards, gamma=0.5)
    assert value.item() == pytest.approx((1.0 + 0.25 * 2.0 + 0.5 * 3.0) / 2)
    (grad,) = torch.autograd.grad(value, logp)
    # each step's weight: the discounted reward-to-go minus its batch mean, over B = 2
    to_go = torch.tensor([[1.5, 0.5, 0.5], [1.5, 1.5, 0.0]])
    torch.testing.assert_close(grad, (to_go - to_go.mean(0)) / 2)


# -- the co-player models' inputs and fit -------------------------------------------------------


@pytest.mark.parametrize("env_id", [STAG_HUNT, SNOWDRIFT])
def test_a_coplayers_view_and_mask_are_rebuilt_from_the_learners_view(env_id) -> None:
    rules = hop_envs.make(env_id).rules
    game = BatchedGame(rules)
    state = game.reset(np.random.default_rng(0), 8)
    rng = np.random.default_rng(1)
    for _ in range(6):  # some steps, so that stag-hunt players may have left
        masks = game.action_masks(state).astype(bool)
        game.step(state, np.stack([[rng.choice(np.flatnonzero(m)) for m in row] for row in masks]))
    grids, masks = game.observe(state)
    n = rules.num_players
    for b in range(8):
        for seat in range(n):
            rebuilt = coplayer_masks(rules, grids[b, seat])
            for k in range(n):
                other = (seat + k) % n
                np.testing.assert_array_equal(coplayer_view(grids[b, seat], n, k), grids[b, other])
                if state.active[b, other]:
                    np.testing.assert_array_equal(rebuilt[k], masks[b, other].astype(bool))


def test_the_models_learn_a_deterministic_rule_based_coplayer_by_maximum_likelihood() -> None:
    config = LOLAGridConfig(
        coplayers=("nearest-stag",),
        model_steps=10,
        model_lr=1e-2,
        conv_channels=(8,),
        hidden=32,
        seed=3,
    )
    trainer = LOLAGridTrainer(config)
    for _ in range(8):
        trainer.fit_models(play(trainer.game, 16, trainer.rng, trainer.population_actor(16)))
    episodes = play(trainer.game, 16, trainer.rng, trainer.population_actor(16))
    seeker = batched_policy("nearest-stag", STAG_HUNT)
    for k in range(1, trainer.num_players):
        acting = episodes.acting[:, :, k]
        grids, masks = episodes.views[:, :, k][acting], episodes.masks[:, :, k][acting]
        choices = seeker.choice_sets(grids, masks)  # what the co-player really does
        with torch.no_grad():
            logp = trainer.models[k - 1](
                torch.as_tensor(grids, dtype=torch.float32), torch.as_tensor(masks).bool()
            )
        best = logp.argmax(1).numpy()
        hit = choices[np.arange(best.size), best].mean()
        chance = (choices.sum(1) / masks.sum(1)).mean()  # a uniform guess among legal actions
        assert chance < 0.35 and hit > 0.7, (k, hit, chance)


# -- training runs: checkpoints, resume, determinism, config ---------------------------------


def weights(trainer: LOLAGridTrainer) -> dict[str, torch.Tensor]:
    out = {f"policy.{k}": v for k, v in trainer.policy.state_dict().items()}
    out.update({f"models.{k}": v for k, v in trainer.models.state_dict().items()})
    return out


def assert_same_weights(a: LOLAGridTrainer, b: LOLAGridTrainer) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path) -> None:
    config = LOLAGridConfig(seed=5, **TINY)
    whole = LOLAGridTrainer(config)
    whole.iterate()
    whole.iterate()
    first = LOLAGridTrainer(config)
    first.iterate()
    first.save(tmp_path / "run")
    resumed = LOLAGridTrainer.load(tmp_path / "run")
    assert resumed.iteration == 1 and resumed.env_steps == first.env_steps
    resumed.iterate()
    assert_same_weights(whole, resumed)
    assert resumed.env_steps == whole.env_steps
    assert [r["mean_return"] for r in resumed.history] == [r["mean_return"] for r in whole.history]


def test_a_seed_fixes_the_run_and_another_seed_changes_it() -> None:
    runs = [LOLAGridTrainer(LOLAGridConfig(seed=s, **TINY)) for s in (2, 2, 3)]
    for run in runs:
        run.iterate()
    assert_same_weights(runs[0], runs[1])
    assert not torch.equal(
        weights(runs[0])["policy.logits.bias"], weights(runs[2])["policy.logits.bias"]
    )


def test_train_runs_to_the_step_budget_in_whole_iterations() -> None:
    trainer = LOLAGridTrainer(LOLAGridConfig(seed=0, lookahead_lr=0.0, **TINY))
    rows = trainer.train(total_steps=60)
    assert trainer.env_steps >= 60 and len(rows) == trainer.iteration >= 1
    assert rows[-1]["env_steps"] == trainer.env_steps and rows[-1]["env_steps_per_s"] > 0
    assert trainer.train(total_steps=60) == []  # nothing left to do


def test_the_full_form_runs_on_simulated_episodes_only() -> None:
    trainer = LOLAGridTrainer(LOLAGridConfig(env_id=SNOWDRIFT, form="full", seed=0, **TINY))
    before = weights(trainer)["policy.logits.bias"].clone()
    row = trainer.iterate()
    assert row["sim_steps"] > 0 and row["lola_norm"] > 0
    assert not torch.equal(before, weights(trainer)["policy.logits.bias"])


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("env_id", "hop/Nope-v0", "MarkovStagHunt"),
        ("seed", -1, "int >= 0"),
        ("real_episodes", 0, "int >= 1"),
        ("sim_episodes", 2.5, "int >= 1"),
        ("gamma", 0.0, r"\(0, 1\]"),
        ("lr", float("nan"), "finite float > 0"),
        ("lookahead_lr", -0.1, "finite float >= 0"),
        ("form", "exact", "one of"),
        ("conv_channels", (16, 0), "ints >= 1"),
        ("coplayers", ("patient-stag",), "nearest-hare"),  # held-out: refused
        ("model_steps", True, "int >= 0"),
    ],
)
def test_a_bad_config_names_the_field_the_value_and_the_expectation(field, value, expected) -> None:
    with pytest.raises(ValueError, match=f"LOLAGridConfig.{field}=.*expected.*{expected}"):
        LOLAGridConfig(**{field: value})


def test_the_config_survives_json() -> None:
    config = LOLAGridConfig(
        coplayers=("random",), conv_channels=(4, 4), env_kwargs={"num_players": 3}
    )
    assert LOLAGridConfig.from_json(config.to_json()) == config


# -- the agent ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    trainer = LOLAGridTrainer(LOLAGridConfig(seed=0, **TINY))
    trainer.iterate()
    return trainer, trainer.save(tmp_path_factory.mktemp("lola") / "ckpt")


def seat_info(env, env_id: str = STAG_HUNT, seat: int = 0) -> SeatInfo:
    return SeatInfo.of_env(env, env_id, seat)


def test_a_loaded_agent_has_the_trainers_policy_and_models(checkpoint) -> None:
    trainer, folder = checkpoint
    env = hop_envs.make(STAG_HUNT)
    observations, _ = env.reset(seed=4)
    agent = LOLAGridAgent(checkpoint=folder)
    agent.reset(seed=0, seat=seat_info(env, seat=1))
    obs = observations["player_1"]
    with torch.no_grad():
        expected = trainer.policy(
            torch.as_tensor(obs["observation"][None], dtype=torch.float32),
            torch.as_tensor(obs["action_mask"][None]).bool(),
        ).exp()[0]
    np.testing.assert_allclose(
        agent.action_probabilities(obs), expected.double().numpy(), rtol=1e-6
    )
    again = LOLAGridAgent(checkpoint=folder)
    again.reset(seed=0, seat=seat_info(env, seat=1))
    assert [agent.act(obs) for _ in range(20)] == [again.act(obs) for _ in range(20)]


def test_the_agent_plays_an_episode_and_predicts_the_other_live_seats(checkpoint) -> None:
    _, folder = checkpoint
    env = hop_envs.make(STAG_HUNT)
    observations, _ = env.reset(seed=7)
    my_seat = 2
    agent, twin = LOLAGridAgent(checkpoint=folder), LOLAGridAgent(checkpoint=folder)
    agent.reset(seed=11, seat=seat_info(env, seat=my_seat))
    twin.reset(seed=11, seat=seat_info(env, seat=my_seat))  # never asked to predict
    rng = np.random.default_rng(0)
    me, steps, predicted = f"player_{my_seat}", 0, 0
    while env.agents:
        actions = {}
        for name in env.agents:
            obs = observations[name]
            if name == me:
                actions[name] = agent.act(obs)
                assert actions[name] == twin.act(obs)
                predictions = check_predictions(
                    agent.predict_coplayers(obs),
                    who="lola-om",
                    seat=my_seat,
                    num_players=4,
                    num_actions=7,
                )
                others = {int(a.split("_")[1]) for a in env.agents} - {my_seat}
                assert set(predictions) == others
                for seat, prediction in predictions.items():
                    legal = observations[f"player_{seat}"]["action_mask"].astype(bool)
                    assert prediction.actions[~legal].sum() == 0
                predicted += len(predictions)
            else:
                actions[name] = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        observations, *_ = env.step(actions)
        steps += 1
    assert steps >= 1 and predicted >= 1


def test_the_agent_refuses_a_missing_or_foreign_checkpoint(checkpoint, tmp_path, monkeypatch):
    _, folder = checkpoint
    # as if nothing were shipped for the game
    monkeypatch.setattr(
        "baselines.checkpoint_agent.shipped_checkpoint", lambda *_: tmp_path / "none"
    )
    env = hop_envs.make(SNOWDRIFT)
    with pytest.raises(ValueError, match="trained for hop/MarkovStagHunt-v0"):
        LOLAGridAgent(checkpoint=folder).reset(seed=0, seat=seat_info(env, SNOWDRIFT))
    with pytest.raises(FileNotFoundError, match="no LOLA checkpoint"):
        LOLAGridAgent(checkpoint=tmp_path).reset(seed=0, seat=seat_info(env, SNOWDRIFT))
    with pytest.raises(FileNotFoundError, match="checkpoint=DIR"):
        LOLAGridAgent().reset(seed=0, seat=seat_info(env, SNOWDRIFT))


def test_the_command_line_trains_saves_and_resumes(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["--steps", "1", "--out", str(out), "--lookahead-lr", "0", "--seed", "4"]) == 0
    first = LOLAGridTrainer.load(out)
    assert first.iteration == 1 and first.config.seed == 4 and first.config.lookahead_lr == 0
    steps = first.env_steps
    assert main(["--steps", str(steps + 1), "--out", str(out), "--resume"]) == 0
    assert LOLAGridTrainer.load(out).iteration == 2
    assert capsys.readouterr().out.count("mean_return=") == 2


@pytest.mark.slow
def test_a_short_stag_hunt_run_improves_the_return_against_the_training_population() -> None:
    """About 100k real env steps (a couple of minutes here): from about 0.5 (a random
    policy's return) to about 0.85 (seed 0)."""
    trainer = LOLAGridTrainer(LOLAGridConfig(seed=0))
    returns = [trainer.iterate()["mean_return"] for _ in range(100)]
    assert np.mean(returns[-20:]) > np.mean(returns[:10]) + 0.2, returns
