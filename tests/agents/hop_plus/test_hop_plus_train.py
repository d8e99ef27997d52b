"""``agents.hop_plus.train``: the configuration's checks, the checkpoint layout ``hop-plus``
loads, exact resume, determinism, runs without prior pre-training, and no held-out co-player
in a training run. Every run is tiny (a few offline episodes, one-episode trials)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from test_hop_plus_agent import Game

import agents.hop.action_model_training as action_model_training
import agents.hop_plus.train as train_module
import hop_envs
from agents.base import SeatInfo
from agents.hop.training.log import read_log
from agents.hop_plus.agent import HopPlusAgent, load_networks
from agents.hop_plus.networks import STATE_VAE, GridSpec, SubgoalConfig, build_network
from agents.hop_plus.train import (
    COLUMNS,
    RUN_FORMAT,
    HopPlusTrainConfig,
    HopPlusTrainer,
    is_hop_plus_run,
    read_run,
    standard_normal_prior,
)
from hop_envs.coplayers import HELD_OUT, TRAINING, CoplayerBase, coplayer_names

STAG_HUNT = "hop/MarkovStagHunt-v0"
NETWORKS = ("focal", "subgoal_model", "prior_vae")
TINY: dict[str, Any] = {
    "goal_dim": 2,
    "prior_episodes": 3,
    "prior_epochs": 1,
    "pretrain_subgoal_epochs": 1,
    "iterations": 1,
    "trials_per_iteration": 1,
    "episodes_per_trial": 1,
    "num_trees": 2,
    "num_simulations": 3,
    "subgoal_epochs": 1,
    "focal_epochs": 1,
}


def tiny(**changes: Any) -> HopPlusTrainConfig:
    return HopPlusTrainConfig(env_id=STAG_HUNT, **{**TINY, **changes})


def train(directory: Path, **changes: Any) -> HopPlusTrainer:
    trainer = HopPlusTrainer.new(tiny(**changes), directory, tensorboard=False)
    trainer.run()
    return trainer


def saved_tensors(directory: Path) -> dict[str, dict[str, torch.Tensor]]:
    return {n: load_file(str(directory / n / "weights.safetensors")) for n in NETWORKS}


def assert_same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def log_rows(directory: Path) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in read_log(directory / "log.csv")]


def env_grids(count: int = 6) -> torch.Tensor:
    """Own-view grids of a few steps of random play."""
    env = hop_envs.make(STAG_HUNT)
    observations, _ = env.reset(seed=3)
    rng = np.random.default_rng(3)
    grids = []
    while env.agents and len(grids) < count:
        grids += [np.asarray(observations[a]["observation"]) for a in env.agents]
        actions = {
            a: int(rng.choice(np.flatnonzero(observations[a]["action_mask"]))) for a in env.agents
        }
        observations, *_ = env.step(actions)
    return torch.as_tensor(np.stack(grids[:count]), dtype=torch.float32)


# -- configuration ---------------------------------------------------------------------------
def test_population_refuses_held_out_unknown_and_other_env_coplayers_by_name() -> None:
    held_out = coplayer_names(STAG_HUNT, population=HELD_OUT)[0]
    for name in (held_out, "cleaner", "no-such-coplayer"):
        with pytest.raises(ValueError, match=name):
            tiny(population=("random", name))
    assert tiny().population == tuple(coplayer_names(STAG_HUNT, population=TRAINING))
    assert tiny(population=("nearest-stag",)).population == ("nearest-stag",)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"horizon": 4}, "horizon"),
        ({"horizon": 0}, "horizon"),
        ({"selector": "greedy"}, "selector"),
        ({"policy_condition": "map"}, "policy_condition must be one of"),
        ({"focal_init": "shipped"}, "focal_init"),
        ({"iterations": -1}, "iterations"),
        ({"iterations": 1.5}, "iterations"),
        ({"iterations": True}, "iterations"),
        ({"goal_dim": 0}, "goal_dim"),
        ({"prior_episodes": 0}, "prior_episodes"),
        ({"trials_per_iteration": 0}, "trials_per_iteration"),
        ({"num_trees": 0}, "num_trees"),
        ({"pretrain_prior": "yes"}, "pretrain_prior"),
        ({"discount": 1.5}, "discount"),
        ({"seed": -1}, "seed"),
    ],
)
def test_config_refuses_bad_values(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiny(**changes)


def test_config_accepts_zero_iterations_and_zero_pretrain_subgoal_epochs() -> None:
    config = tiny(iterations=0, pretrain_subgoal_epochs=0, horizon=3, selector="optimistic")
    assert (config.iterations, config.pretrain_subgoal_epochs) == (0, 0)


def test_hop_focal_init_with_env_kwargs_is_refused(tmp_path: Path) -> None:
    config = tiny(env_kwargs={"max_cycles": 10})  # focal_init="hop" by default
    with pytest.raises(ValueError, match="focal_init='fresh'"):
        HopPlusTrainer.new(config, tmp_path / "hop", tensorboard=False)
    assert not (tmp_path / "hop" / "training.json").exists()
    fresh = tiny(env_kwargs={"max_cycles": 10}, focal_init="fresh", iterations=0)
    HopPlusTrainer.new(fresh, tmp_path / "fresh", tensorboard=False).run()
    assert read_run(tmp_path / "fresh")["config"]["env_kwargs"] == {"max_cycles": 10}


def test_config_json_round_trip_and_unknown_field() -> None:
    config = HopPlusTrainConfig(
        env_id="MarkovStagHunt-v0",  # short id, made full
        env_kwargs={"max_cycles": 12},
        population=("nearest-hare", "random"),
        seed=7,
        goal_dim=3,
        horizon=3,
        selector="conservative",
        pretrain_prior=False,
        focal_init="fresh",
        discount=0.9,
    )
    assert config.env_id == STAG_HUNT
    data = json.loads(json.dumps(config.to_json()))
    again = HopPlusTrainConfig.from_json(data)
    assert again == config
    assert again.population == ("nearest-hare", "random")
    assert HopPlusTrainConfig.from_json(tiny().to_json()).population == tiny().population
    with pytest.raises(ValueError, match="learning_rate"):
        HopPlusTrainConfig.from_json({**data, "learning_rate": 0.1})


def test_standard_normal_prior_encodes_every_grid_as_zero_mean_and_log_variance() -> None:
    rules = hop_envs.make(STAG_HUNT).unwrapped.rules
    vae = build_network(STATE_VAE, GridSpec.of_rules(rules), SubgoalConfig(goal_dim=3), 5)
    grids = env_grids()
    random_grids = torch.rand_like(grids) * 3
    with torch.no_grad():
        mu, logvar = vae.encode(grids)
        assert mu.abs().max() > 0 or logvar.abs().max() > 0  # an untrained VAE is not N(0, I)
        assert standard_normal_prior(vae) is vae
        for g in (grids, random_grids):
            mu, logvar = vae.encode(g)
            assert mu.shape == logvar.shape == (len(g), 3)
            assert torch.equal(mu, torch.zeros_like(mu))
            assert torch.equal(logvar, torch.zeros_like(logvar))


# -- a run's files ---------------------------------------------------------------------------
def test_run_writes_the_layout_hop_plus_loads_state_log_and_optimizers(tmp_path: Path) -> None:
    out = tmp_path / "run"
    trainer = train(out, iterations=2)
    for name in NETWORKS:
        assert (out / name / "weights.safetensors").is_file()
        assert (out / name / "config.json").is_file()
    for name in ("subgoal_model", "focal"):
        assert (out / "optimizers" / f"{name}.safetensors").is_file()
        assert (out / "optimizers" / f"{name}.json").is_file()
    assert not (out / ".staging").exists()

    data = read_run(out)
    assert data["format"] == RUN_FORMAT and data["iteration"] == 2
    assert data["config"] == tiny(iterations=2).to_json()
    assert data["rounds"] == {"subgoal": 2, "focal": 2}
    assert is_hop_plus_run(out)

    rows = read_log(out / "log.csv")
    assert list(rows[0]) == list(COLUMNS)
    assert [r["iteration"] for r in rows] == ["0", "1", "2"]
    assert [r["phase"] for r in rows] == ["pretrain", "search", "search"]
    pre = rows[0]
    assert pre["episodes"] == "3"
    for key in ("prior_recon", "prior_kl", "recon", "kl", "policy_nll", "hit_ratio"):
        assert np.isfinite(float(pre[key])), key
    assert pre["learner_return"] == "" and pre["focal_samples"] == ""
    for row in rows[1:]:
        assert row["episodes"] == "1" and int(row["focal_samples"]) > 0
        for key in ("hit_ratio", "recon", "kl", "policy_nll", "learner_return", "policy_loss"):
            assert np.isfinite(float(row[key])), key
        assert 0.0 <= float(row["hit_ratio"]) <= 1.0
        assert row["prior_recon"] == ""

    # The folder is hop-plus's weights, equal to the trainer's networks, and plays.
    focal, model, prior = load_networks(out)
    live_networks = (trainer.focal, trainer.model, trainer.prior)
    for saved, live in zip((focal, model, prior), live_networks, strict=True):
        assert_same_tensors(saved.state_dict(), live.state_dict())
    assert model.config.goal_dim == prior.config.goal_dim == 2
    env = hop_envs.make(STAG_HUNT)
    agent = HopPlusAgent(weights=str(out), num_trees=1, num_simulations=2)
    agent.reset(seed=0, seat=SeatInfo.of_env(env, STAG_HUNT, 0))
    observations, _ = env.reset(seed=0)
    agent.start_episode()
    action = agent.act(observations["player_0"])
    assert observations["player_0"]["action_mask"][action]


@pytest.mark.parametrize("selector", ["optimistic", "conservative"])
def test_value_based_selectors_train_with_the_focal_value(tmp_path: Path, selector: str) -> None:
    # The config accepts them, so a run must train with them (the focal net's values).
    trainer = train(tmp_path / selector, selector=selector, horizon=3)
    assert trainer.subgoal_trainer.value is not None
    rows = read_log(tmp_path / selector / "log.csv")
    assert [r["phase"] for r in rows] == ["pretrain", "search"]
    for row in rows:
        assert np.isfinite(float(row["policy_nll"])) and np.isfinite(float(row["recon"]))
    _, model, _ = load_networks(tmp_path / selector)
    assert (model.config.selector, model.config.horizon) == (selector, 3)


def test_a_target_map_run_trains_saves_and_plays(tmp_path: Path) -> None:
    # The option reaches the saved subgoal model, whose policy then acts inside the search
    # (the run's search iteration and a full episode of the loaded agent).
    out = tmp_path / "map"
    train(out, policy_condition="target_map")
    assert read_run(out)["config"]["policy_condition"] == "target_map"
    _, model, _ = load_networks(out)
    assert model.config.policy_condition == "target_map" and model.target_map
    agent = HopPlusAgent(weights=str(out), num_trees=2, num_simulations=3)
    agent.reset(seed=1, seat=SeatInfo.of_env(hop_envs.make(STAG_HUNT), STAG_HUNT, 0))
    actions = Game(STAG_HUNT, seed=1).play(agent, seed=1)
    assert 0 < len(actions) <= len(agent.last_episode.states)  # the focal may leave early


def test_new_refuses_an_existing_run_and_read_run_refuses_other_folders(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(out, iterations=0)
    assert read_run(out)["iteration"] == 0
    with pytest.raises(ValueError, match="already holds a HOP\\+ run"):
        HopPlusTrainer.new(tiny(), out, tensorboard=False)
    with pytest.raises(FileNotFoundError):
        read_run(tmp_path / "nothing")
    other = tmp_path / "other"
    other.mkdir()
    (other / "training.json").write_text(json.dumps({"format": "hop-bench-run/1"}))
    with pytest.raises(ValueError, match="not a HOP\\+ run"):
        read_run(other)
    assert not is_hop_plus_run(other) and not is_hop_plus_run(tmp_path / "nothing")
    (other / "training.json").write_text("{not json")
    assert not is_hop_plus_run(other)


@pytest.mark.parametrize("stop", [0, 1])
def test_resumed_run_reaches_the_same_weights_and_log_as_an_uninterrupted_one(
    tmp_path: Path, stop: int
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    train(a, iterations=2)
    train(b, iterations=stop)
    assert read_run(b)["iteration"] == stop
    resumed = HopPlusTrainer.resume(b, tensorboard=False)
    assert resumed.iteration == stop and resumed.config == tiny(iterations=stop)
    resumed.with_iterations(2)
    resumed.run()
    ta, tb = saved_tensors(a), saved_tensors(b)
    for name in NETWORKS:
        assert_same_tensors(ta[name], tb[name])
    for name in ("subgoal_model", "focal"):
        assert_same_tensors(
            load_file(str(a / "optimizers" / f"{name}.safetensors")),
            load_file(str(b / "optimizers" / f"{name}.safetensors")),
        )
    assert log_rows(a) == log_rows(b)
    assert [r["iteration"] for r in log_rows(b)] == ["0", "1", "2"]
    ra, rb = read_run(a), read_run(b)
    assert ra["config"] == rb["config"] and ra["rounds"] == rb["rounds"]
    ra["last_metrics"].pop("wall_s")
    rb["last_metrics"].pop("wall_s")
    assert ra["last_metrics"] == rb["last_metrics"]
    # A finished run resumed with nothing left to do changes nothing.
    before = (b / "training.json").read_text()
    HopPlusTrainer.resume(b, tensorboard=False).run()
    assert (b / "training.json").read_text() == before
    assert_same_tensors(saved_tensors(b)["focal"], tb["focal"])


def test_same_seed_gives_the_same_weights_another_seed_differs(tmp_path: Path) -> None:
    one = saved_tensors(train(tmp_path / "one", seed=3).directory)
    two = saved_tensors(train(tmp_path / "two", seed=3).directory)
    other = saved_tensors(train(tmp_path / "other", seed=4).directory)
    for name in NETWORKS:
        assert_same_tensors(one[name], two[name])
        assert any(not torch.equal(one[name][k], other[name][k]) for k in one[name]), name
    assert log_rows(tmp_path / "one") == log_rows(tmp_path / "two")


def test_without_prior_pretraining_the_saved_prior_is_standard_normal(tmp_path: Path) -> None:
    grids = env_grids()
    off = tmp_path / "off"
    train(off, pretrain_prior=False)
    _, _, prior = load_networks(off)
    with torch.no_grad():
        mu, logvar = prior.encode(grids)
    assert torch.equal(mu, torch.zeros_like(mu)) and torch.equal(logvar, torch.zeros_like(logvar))
    rows = read_log(off / "log.csv")
    assert rows[0]["phase"] == "pretrain"
    assert rows[0]["prior_recon"] == "" and rows[0]["prior_kl"] == ""
    assert np.isfinite(float(rows[0]["recon"]))  # the subgoal model was still pre-trained
    assert read_run(off)["config"]["pretrain_prior"] is False

    on = tmp_path / "on"
    train(on, iterations=0)
    _, _, prior = load_networks(on)
    with torch.no_grad():
        mu, _ = prior.encode(grids)
    assert mu.abs().max() > 0
    assert np.isfinite(float(read_log(on / "log.csv")[0]["prior_recon"]))


def test_a_run_makes_only_coplayers_of_its_training_population(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    named: list[str] = []
    base_init = CoplayerBase.__init__

    def recording_init(self: CoplayerBase, *args: Any, **kwargs: Any) -> None:
        made.append(getattr(type(self), "name", type(self).__name__))
        base_init(self, *args, **kwargs)

    monkeypatch.setattr(CoplayerBase, "__init__", recording_init)
    for module in (train_module, action_model_training):
        original = module.make_coplayer

        def recording_make(name: str, *args: Any, _original: Any = original, **kwargs: Any):
            named.append(name)
            return _original(name, *args, **kwargs)

        monkeypatch.setattr(module, "make_coplayer", recording_make)

    population = ("nearest-stag", "random")
    train(tmp_path / "run", population=population, trials_per_iteration=2)
    # 3 offline episodes x 4 seats, then 2 trials x 3 co-player seats.
    assert len(named) == 3 * 4 + 2 * 3
    assert set(named) <= set(population) and set(made) <= set(population)
    assert len(made) >= len(named)
    held_out = set(coplayer_names(STAG_HUNT, population=HELD_OUT))
    assert not held_out & (set(made) | set(named))
