"""Discrete PR2 on the grid games: the model's quantities by hand, a coordination game, the
trainer (determinism, exact resume, bad configs) and the agent in a PettingZoo episode."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import hop_envs
from agents.base import SeatInfo
from agents.prediction import check_predictions
from baselines.pr2.agent import PR2Agent
from baselines.pr2.checkpoint import load_network, save_network
from baselines.pr2.grid import (
    MaskTable,
    clipped_value,
    coplayer_marginals,
    evaluate,
    expected_value,
    grid_masks,
    joint_q,
    marginal_q,
    opponent_conditional,
    q_loss,
    rho_kl,
    soft_policy,
    td_target,
)
from baselines.pr2.grid_training import (
    PR2GridConfig,
    PR2GridTrainer,
    mean_return,
    train,
)

torch.set_num_threads(1)

STAG = "hop/MarkovStagHunt-v0"


# -- the model by hand ---------------------------------------------------------------------
def _tiny_table() -> tuple[torch.Tensor, torch.Tensor]:
    """2 own actions, 1 co-player with 2 actions, alpha = 1:
    Q_0 = [0, 1]; Q_1[a=0] = [ln 3, 0]; Q_1[a=1] = [0, 0]."""
    q0 = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    qj = torch.tensor([[[[math.log(3.0), 0.0], [0.0, 0.0]]]], dtype=torch.float64)
    return q0, qj


def test_hand_worked_rho_marginal_policy_and_prediction():
    q0, qj = _tiny_table()
    present = torch.tensor([[True]])
    # rho(.|a=0) = softmax([ln 3, 0]) = [3/4, 1/4]; rho(.|a=1) = softmax([0, 0]) = [1/2, 1/2]
    rho = opponent_conditional(qj, 1.0)
    assert torch.allclose(rho[0, 0], torch.tensor([[0.75, 0.25], [0.5, 0.5]], dtype=torch.float64))
    # Qbar(0) = 0 + 3/4 ln 3 + 1/4 * 0 = 0.823959; Qbar(1) = 1 + 1/2 * 0 + 1/2 * 0 = 1
    qbar = marginal_q(q0, qj, rho, present)
    assert qbar[0].tolist() == pytest.approx([0.75 * math.log(3.0), 1.0])
    assert qbar[0, 0].item() == pytest.approx(0.823959, abs=1e-6)
    # pi(0) = e^0.823959 / (e^0.823959 + e^1) = 1 / (1 + e^(1 - 0.823959)) = 1 / 2.192478
    #       = 0.456104; pi(1) = 0.543896
    pi = soft_policy(qbar, torch.tensor([[True, True]]), 1.0)
    assert pi[0].tolist() == pytest.approx([0.456104, 0.543896], abs=1e-6)
    # V = 0.456104 * 0.823959 + 0.543896 * 1 = 0.375811 + 0.543896 = 0.919707
    assert expected_value(qbar, pi).item() == pytest.approx(0.919707, abs=1e-6)
    # prediction = 0.456104 * [3/4, 1/4] + 0.543896 * [1/2, 1/2] = [0.614026, 0.385974]
    prediction = coplayer_marginals(pi, rho)
    assert prediction[0, 0].tolist() == pytest.approx([0.614026, 0.385974], abs=1e-6)
    # Q(a=0, b=0) = 0 + ln 3; a co-player who has left adds nothing: Q(a=0, .) = 0
    own, other = torch.tensor([0, 0]), torch.tensor([[0], [0]])
    q = joint_q(q0.expand(2, 2), qj.expand(2, 1, 2, 2), own, other, torch.tensor([[True], [False]]))
    assert q.tolist() == pytest.approx([math.log(3.0), 0.0])
    # all of it together, with both players' masks (slot 0 the agent)
    ev = evaluate(q0, qj, torch.ones(1, 2, 2, dtype=torch.bool), present, 1.0)
    assert torch.allclose(ev.pi, pi) and ev.value.item() == pytest.approx(0.919707, abs=1e-6)
    # y = r + gamma (1 - terminal) V: 1 + 0.5 * 0.919707 = 1.459854; terminal: y = r = 1
    y = td_target(torch.tensor([1.0, 1.0]), torch.tensor([0, 1]), ev.value.expand(2), 0.5)
    assert y.tolist() == pytest.approx([1.459854, 1.0], abs=1e-6)


def test_rho_temperature_masks_and_absent_coplayers():
    q0, qj = _tiny_table()
    # alpha = 1/2: rho(.|a=0) = softmax([2 ln 3, 0]) = [9/10, 1/10]
    rho = opponent_conditional(qj, 0.5)
    assert rho[0, 0, 0].tolist() == pytest.approx([0.9, 0.1])
    # the co-player may only take action 1: rho puts all its mass there whatever Q says
    only_one = opponent_conditional(qj, 1.0, torch.tensor([[[False, True]]]))
    assert only_one[0, 0].tolist() == [[0.0, 1.0], [0.0, 1.0]]
    # an absent co-player: Qbar = Q_0 and the policy is softmax(Q_0)
    qbar = marginal_q(q0, qj, opponent_conditional(qj, 1.0), torch.tensor([[False]]))
    assert qbar[0].tolist() == [0.0, 1.0]
    # an illegal own action gets probability 0
    pi = soft_policy(qbar, torch.tensor([[False, True]]), 1.0)
    assert pi[0].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="alpha"):
        opponent_conditional(qj, 0.0)


def test_closed_form_rho_minimises_the_variational_kl():
    """The trainer's closed form is the minimiser of KL(rho || softmax(Q_j / alpha))."""
    torch.manual_seed(0)
    qj = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    masks = torch.rand(3, 2, 4) > 0.3
    masks[..., 0] = True
    closed = opponent_conditional(qj, 0.7, masks)
    assert rho_kl(torch.log(closed.clamp_min(1e-300)), qj, 0.7, masks).abs().max() < 1e-12
    logits = torch.zeros(3, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=0.2)
    for _ in range(300):
        optimizer.zero_grad()
        rho_kl(logits, qj, 0.7, masks).sum().backward()
        optimizer.step()
    fitted = torch.softmax(logits.detach().masked_fill(~masks.unsqueeze(2), -math.inf), -1)
    assert torch.allclose(fitted, closed, atol=1e-3)


# -- a one-step coordination game ----------------------------------------------------------
#: The climbing game (Claus & Boutilier 1998): the optimum (0, 0) = 11 sits next to -30s.
CLIMBING = np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]])


def _climbing_self_play(pr2: bool, seed: int, steps: int = 150, explore: int = 45):
    """Two learners with the same budget, tabular factors trained with the module's losses:
    ``explore`` uniform joint actions, then each samples its soft policy with ``alpha`` falling
    from 10 to 0.1; one Adam step (lr 0.3) per play on a batch of 32 replayed plays. PR2 keeps
    ``Q(a_i, a_j)`` and marginalises it over rho; the independent learner is the same code with
    the co-player marked absent (``Qbar = Q_0(a_i)``, the return averaged over the partner).
    Returns both players' greedy actions at the end."""
    rng = np.random.default_rng(seed)
    a = 3
    q0 = [torch.zeros(1, a, requires_grad=True) for _ in range(2)]
    qj = [torch.zeros(1, 1, a, a, requires_grad=True) for _ in range(2)]
    optimizers = [torch.optim.Adam([q0[p], qj[p]], lr=0.3) for p in range(2)]
    masks = torch.ones(1, 2, a, dtype=torch.bool)
    present = torch.full((1, 1), pr2)
    plays = []
    for t in range(steps):
        alpha = 10.0 * 0.01 ** (max(t - explore, 0) / (steps - explore - 1))
        joint = []
        for p in range(2):
            with torch.no_grad():
                pi = evaluate(q0[p], qj[p], masks, present, alpha).pi[0].double().numpy()
            if t < explore:
                pi = np.full(a, 1.0 / a)
            joint.append(int(min(np.searchsorted(np.cumsum(pi), rng.random(), "right"), a - 1)))
        plays.append((joint[0], joint[1], CLIMBING[joint[0], joint[1]]))
        batch = np.asarray([plays[i] for i in rng.integers(0, len(plays), 32)])
        for p in range(2):
            own = torch.as_tensor(batch[:, p], dtype=torch.long)
            other = torch.as_tensor(batch[:, 1 - p], dtype=torch.long)[:, None]
            reward = torch.as_tensor(batch[:, 2], dtype=torch.float32)
            q = joint_q(
                q0[p].expand(32, a), qj[p].expand(32, 1, a, a), own, other, present.expand(32, 1)
            )
            loss = q_loss(q, td_target(reward, torch.ones(32), torch.zeros(32), 0.99))
            optimizers[p].zero_grad()
            loss.backward()
            optimizers[p].step()
    with torch.no_grad():
        return tuple(
            int(evaluate(q0[p], qj[p], masks, present, 0.1).qbar[0].argmax()) for p in range(2)
        )


def test_pr2_reaches_the_climbing_optimum_that_independent_learners_miss():
    """Seeds 0-19 of this set-up: PR2 pairs reach (0, 0) in 20 of 20, independent pairs in 1
    of 20 (seed 2); here the first 5 seeds."""
    seeds = range(5)
    pr2 = [_climbing_self_play(True, s) for s in seeds]
    independent = [_climbing_self_play(False, s) for s in seeds]
    assert pr2 == [(0, 0)] * len(seeds)
    assert sum(r == (0, 0) for r in independent) <= 1


# -- legal actions off the grid ------------------------------------------------------------
@pytest.mark.parametrize("env_id", [STAG, "hop/MarkovSnowdrift-v0"])
def test_grid_masks_match_the_env(env_id):
    env = hop_envs.make(env_id)
    table = MaskTable.of_rules(env.rules)
    rng = np.random.default_rng(0)
    checked = 0
    for episode in range(3):
        obs, _ = env.reset(seed=episode)
        while env.agents:
            for agent in env.agents:
                seat = int(agent.split("_")[1])
                masks, present = grid_masks(table, obs[agent]["observation"][None])
                for k in range(env.rules.num_players):
                    other = f"player_{(seat + k) % env.rules.num_players}"
                    if other in obs:  # also a player who left in the last step
                        assert present[0, k] == (other in env.agents)
                        assert (masks[0, k] == obs[other]["action_mask"].astype(bool)).all()
                        checked += 1
            actions = {
                agent: int(rng.choice(np.flatnonzero(obs[agent]["action_mask"])))
                for agent in env.agents
            }
            obs, *_ = env.step(actions)
    assert checked > 100


# -- the trainer ---------------------------------------------------------------------------
def _tiny(**overrides) -> PR2GridConfig:
    values = dict(
        env_id=STAG,
        seed=3,
        total_steps=256,
        chunk_steps=128,
        num_envs=8,
        buffer_size=512,
        batch_size=32,
        learning_starts=64,
        conv_channels=(4,),
        hidden=16,
    )
    values.update(overrides)
    return PR2GridConfig(**values)


def _state(trainer: PR2GridTrainer) -> dict[str, torch.Tensor]:
    out = {}
    for i, (net, target) in enumerate(zip(trainer.critics, trainer.targets, strict=True)):
        out.update({f"net{i}.{k}": v.clone() for k, v in net.state_dict().items()})
        out.update({f"target{i}.{k}": v.clone() for k, v in target.state_dict().items()})
    for index, entries in trainer.optimizer.state_dict()["state"].items():
        for key, value in entries.items():
            out[f"opt.{index}.{key}"] = torch.as_tensor(value).clone()
    buf = trainer.buffer
    for name in buf.FIELDS:
        out[f"buffer.{name}"] = torch.as_tensor(getattr(buf, name)[: buf.size].copy())
    return out


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _log_rows(directory) -> list[list[str]]:
    """log.csv without the timing columns."""
    lines = (directory / "log.csv").read_text().splitlines()
    return [line.split(",")[:-2] for line in lines]


def test_training_is_deterministic_from_the_seed(tmp_path):
    first = train(_tiny(), tmp_path / "a")
    second = train(_tiny(), tmp_path / "b")
    assert first.env_steps == second.env_steps == 256 and first.updates > 0
    assert _same(_state(first), _state(second))
    assert _log_rows(tmp_path / "a") == _log_rows(tmp_path / "b")
    other = train(_tiny(seed=4), tmp_path / "c")
    assert not torch.equal(other.net.q0.weight, first.net.q0.weight)


@pytest.mark.parametrize("twin", [False, True])
def test_resume_continues_exactly(tmp_path, twin):
    whole = train(_tiny(twin_critics=twin), tmp_path / "whole")
    half = train(_tiny(twin_critics=twin), tmp_path / "split", until_chunk=1)
    assert half.chunk == 1 and half.env_steps == 128
    resumed = train(None, tmp_path / "split")
    assert resumed.chunk == whole.chunk == 2
    assert _same(_state(resumed), _state(whole))
    assert _log_rows(tmp_path / "split") == _log_rows(tmp_path / "whole")
    run = json.loads((tmp_path / "split" / "run.json").read_text())
    assert run["chunks_done"] == 2 and run["env_steps"] == 256
    with pytest.raises(ValueError, match="different config"):
        train(_tiny(seed=9), tmp_path / "split")
    longer = train(_tiny(total_steps=384, twin_critics=twin), tmp_path / "split")  # steps only
    assert longer.env_steps == 384 and longer.chunk == 3
    with pytest.raises(FileNotFoundError, match="no PR2 run"):
        train(None, tmp_path / "nothing")


def test_clipped_double_q_value_by_hand():
    # two critics' Qbar over 3 own actions, the third illegal: min (1, 0, -9); pi over the
    # legal two = softmax(1, 0) = (e, 1) / (e + 1); V = e / (e + 1) * 1 + 0 = 0.7311
    q1 = torch.tensor([[1.0, 2.0, 5.0]])
    q2 = torch.tensor([[2.0, 0.0, -9.0]])
    mask = torch.tensor([[True, True, False]])
    e = math.e
    assert clipped_value([q1, q2], mask, 1.0).item() == pytest.approx(e / (e + 1))
    # one critic alone: softmax(1, 2) -> V = (e + 2 e^2) / (e + e^2) = (1 + 2e) / (1 + e)
    assert clipped_value([q1], mask, 1.0).item() == pytest.approx((1 + 2 * e) / (1 + e))


def test_twin_critics_leave_the_first_networks_start_and_train_both(tmp_path):
    single = PR2GridTrainer(_tiny(), tmp_path / "one")
    twin = PR2GridTrainer(_tiny(twin_critics=True), tmp_path / "two")
    assert len(single.critics) == 1 and len(twin.critics) == 2
    assert _same(single.net.state_dict(), twin.net.state_dict())
    second = twin.critics[1].state_dict()
    assert not torch.equal(second["q0.weight"], twin.net.state_dict()["q0.weight"])
    before = {k: v.clone() for k, v in second.items()}
    twin.train()
    assert not _same(before, twin.critics[1].state_dict())
    names = {p.name for p in (tmp_path / "two").rglob("*.safetensors")}
    assert {"twin.safetensors", "twin_target.safetensors"} <= names


def test_checkpoint_holds_nothing_pickled(tmp_path):
    train(_tiny(total_steps=128), tmp_path)
    names = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert {"run.json", "pr2.json", "pr2.safetensors", "target.safetensors"} <= names
    assert {"replay.safetensors", "optimizer.safetensors", "log.csv"} <= names
    assert all(
        p.suffix in {".json", ".safetensors", ".csv"} for p in tmp_path.rglob("*") if p.is_file()
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("env_id", "hop/Nope-v0"),
        ("env_kwargs", {"reward_mode": "prosocial"}),
        ("seed", -1),
        ("num_envs", 0),
        ("total_steps", 2.5),
        ("learning_starts", -5),
        ("gamma", 1.5),
        ("lr", 0.0),
        ("tau", 0.0),
        ("alpha_start", float("nan")),
        ("alpha_end", -0.1),
        ("anneal_fraction", 2.0),
        ("rho_alpha", 0.0),
        ("twin_critics", 1),
        ("conv_channels", "16"),
        ("coplayers", ("not-a-training-coplayer",)),
        ("coplayers", "random"),
    ],
)
def test_bad_config_names_field_value_and_expectation(field, value):
    with pytest.raises(ValueError, match=rf"PR2GridConfig\.{field}=.*: expected"):
        _tiny(**{field: value})


def test_config_json_round_trip():
    config = _tiny(coplayers=("random",), rho_alpha=0.3)
    assert PR2GridConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    assert config.alpha(0) == 1.0 and config.alpha(10**9) == pytest.approx(0.05)


# -- the agent -----------------------------------------------------------------------------
def _seat(env, seat: int) -> SeatInfo:
    return SeatInfo.of_env(env, STAG, seat)


def test_save_load_round_trip_gives_the_same_probabilities(tmp_path):
    trainer = train(_tiny(total_steps=128), tmp_path)
    meta, net = load_network(tmp_path)
    assert meta["alpha"] == trainer.config.alpha(trainer.env_steps)
    env = hop_envs.make(STAG)
    obs, _ = env.reset(seed=5)
    agent = PR2Agent(checkpoint=tmp_path / "policy")
    agent.reset(seed=0, seat=_seat(env, 2))
    observation = obs["player_2"]
    pi_trainer, marginals = trainer.policy(observation["observation"][None], meta["alpha"])
    assert np.allclose(agent.action_probabilities(observation), pi_trainer[0], atol=1e-6)
    predictions = agent.predict_coplayers(observation)
    for k in range(1, 4):
        assert np.allclose(predictions[(2 + k) % 4].actions, marginals[0, k - 1], atol=1e-6)
    for a, b in zip(net.state_dict().values(), trainer.net.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_agent_plays_a_pettingzoo_episode_with_valid_predictions(tmp_path):
    train(_tiny(total_steps=128), tmp_path)
    env = hop_envs.make(STAG)
    seat = 1
    agent = PR2Agent(checkpoint=tmp_path)
    agent.reset(seed=7, seat=_seat(env, seat))
    agent.start_episode()
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=11)
    me, steps = f"player_{seat}", 0
    while env.agents:
        actions = {
            a: int(rng.choice(np.flatnonzero(obs[a]["action_mask"]))) for a in env.agents if a != me
        }
        if me in env.agents:
            draws_before = agent.rng.bit_generator.state
            predictions = agent.predict_coplayers(obs[me])
            assert agent.rng.bit_generator.state == draws_before  # no RNG draws
            checked = check_predictions(
                predictions, who="pr2", seat=seat, num_players=4, num_actions=env.rules.num_actions
            )
            live = {int(a.split("_")[1]) for a in env.agents} - {seat}
            assert set(checked) == live
            actions[me] = agent.act(obs[me])
            assert obs[me]["action_mask"][actions[me]]
        obs, *_ = env.step(actions)
        steps += 1
    agent.end_episode()
    assert steps > 1


def test_agent_is_deterministic_from_its_seed_and_checks_the_game(tmp_path):
    train(_tiny(total_steps=128), tmp_path)
    env = hop_envs.make(STAG)
    obs, _ = env.reset(seed=3)

    def actions(seed: int) -> list[int]:
        agent = PR2Agent(checkpoint=tmp_path, alpha=1.0)
        agent.reset(seed=seed, seat=_seat(env, 0))
        return [agent.act(obs["player_0"]) for _ in range(20)]

    assert actions(1) == actions(1)
    assert actions(1) != actions(2)
    snowdrift = hop_envs.make("hop/MarkovSnowdrift-v0")
    with pytest.raises(ValueError, match="trained for"):
        PR2Agent(checkpoint=tmp_path).reset(
            seed=0, seat=SeatInfo.of_env(snowdrift, "hop/MarkovSnowdrift-v0", 0)
        )
    with pytest.raises(FileNotFoundError, match="no PR2 checkpoint"):
        PR2Agent(checkpoint=tmp_path / "missing").reset(seed=0, seat=_seat(env, 0))
    with pytest.raises(ValueError, match="alpha"):
        PR2Agent(checkpoint=tmp_path, alpha=0)


def test_mean_return_runs(tmp_path):
    train(_tiny(total_steps=128), tmp_path)
    value = mean_return(tmp_path, episodes=4, num_envs=4)
    assert 0.0 <= value <= 10.0


@pytest.mark.slow
def test_short_training_run_beats_the_untrained_network(tmp_path):
    """20 000 env steps on the stag hunt against the training population: the learner's mean
    return (fixed evaluation seed) is above the untrained network's."""

    config = PR2GridConfig(
        env_id=STAG, total_steps=20_000, chunk_steps=10_000, learning_starts=2_000
    )
    trainer = PR2GridTrainer(config, tmp_path / "run")
    save_network(tmp_path / "untrained", trainer.net, trainer.policy_meta())
    before = mean_return(tmp_path / "untrained", episodes=200)
    trainer.train()
    after = mean_return(tmp_path / "run", episodes=200)
    assert after > before + 0.2
