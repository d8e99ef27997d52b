"""Training HOP+ (``hop-bench train --agent hop-plus``): pre-training, then search iterations.

**Iteration 0, pre-training** on offline episodes in which every seat is a rule-based
co-player of the env's **training population** (:func:`~agents.hop_plus.training.
training_population` refuses held-out ones): the prior VAE is fitted to their co-player
states (``pretrain_prior``; off: the prior is the standard normal, the state VAE's encoder
set to output ``N(0, I)`` for every state), then the subgoal model is fitted to their
co-player sequences with hindsight subgoals (``pretrain_subgoal_epochs`` passes). The focal
net starts from HOP's shipped focal net of the env (``focal_init="hop"``, trained by
``hop-bench train --agent hop`` on the same training population) or fresh (``"fresh"``).

**Iterations 1..N** (like HOP's search iterations): ``trials_per_iteration`` trials of
``episodes_per_trial`` episodes in which ``hop-plus`` (the networks being trained, the search
settings of the config, online learning off so the trial's data come from one set of
weights) sits in a random seat and the others are drawn from the training population. Then
the subgoal model trains one round on every co-player trajectory of the iteration (the one
buffer, every seat) and the focal net on the search's visit targets and discounted returns
(:class:`~agents.hop.training.focal_training.FocalTrainer`).

A checkpoint is written after every iteration: the three networks (safetensors + JSON, the
layout ``hop-plus`` loads, :mod:`agents.hop_plus.checkpoint`), the optimizer states
(``optimizers/``), ``training.json`` (configuration and counters) and a ``log.csv`` row
(reconstruction, KL, policy NLL, subgoal hit ratio, focal losses, returns; TensorBoard too
when installed). Every random choice is seeded from ``(seed, phase, iteration, index)`` and
every trainer's state is saved, so a resumed run reaches the same weights as an
uninterrupted one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

import hop_envs
from agents.base import SeatInfo, Transition
from agents.hop.action_model_training import collect_rule_based_episodes
from agents.hop.networks import FOCAL, FocalNet, NetworkConfig
from agents.hop.networks import build_network as build_hop_network
from agents.hop.networks import load_network as load_hop_network
from agents.hop.training.checkpoint import (
    optimizer_from_files,
    optimizer_to_files,
    resolve_checkpoint,
)
from agents.hop.training.collect import seeds
from agents.hop.training.focal_training import FocalTrainer
from agents.hop.training.log import TrainingLog
from agents.hop.training.samples import FocalSamples, discounted_returns
from agents.hop_plus.agent import (
    HopPlusAgent,
    Networks,
    focal_value_fn,
    load_networks,
    save_networks,
)
from agents.hop_plus.buffer import SubgoalBuffer
from agents.hop_plus.networks import (
    STATE_VAE,
    SUBGOAL_MODEL,
    GridSpec,
    StateVAE,
    SubgoalConfig,
    build_network,
)
from agents.hop_plus.training import (
    PriorPretrainConfig,
    SubgoalTrainer,
    SubgoalTrainingConfig,
    offline_states,
    pretrain_prior,
    training_population,
)
from hop_envs.coplayers import make_coplayer
from hop_envs.core import GridRules
from hop_envs.registration import full_env_id

__all__ = [
    "COLUMNS",
    "RUN_FORMAT",
    "HopPlusTrainConfig",
    "HopPlusTrainer",
    "standard_normal_prior",
]

RUN_FORMAT = "hop-bench-hop-plus-run/1"
STATE_FILE = "training.json"
OPTIMIZER_DIR = "optimizers"
FOCAL_INITS = ("hop", "fresh")
COLUMNS = (
    "iteration",
    "phase",
    "episodes",
    "learner_return",
    "coplayer_return",
    "focal_samples",
    "policy_loss",
    "value_loss",
    "subgoal_steps",
    "recon",
    "kl",
    "policy_nll",
    "hit_ratio",
    "prior_recon",
    "prior_kl",
    "wall_s",
)
_PRETRAIN, _TRIAL = 1, 2


def _int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"HopPlusTrainConfig.{name} must be an integer >= {low}, got {value!r}")
    return value


@dataclass(frozen=True)
class HopPlusTrainConfig:
    """A HOP+ training run (module docstring). Defaults are the shipped runs' settings
    (``docs/hop_plus.md``)."""

    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    population: tuple[str, ...] | None = None
    goal_dim: int = 16
    horizon: int = 5
    selector: str = "reference"
    policy_condition: str = "latent"
    pretrain_prior: bool = True
    prior_episodes: int = 1000
    prior_epochs: int = 10
    pretrain_subgoal_epochs: int = 40
    focal_init: str = "hop"
    iterations: int = 20
    trials_per_iteration: int = 4
    episodes_per_trial: int = 4
    num_trees: int = 5
    num_simulations: int = 50
    subgoal_epochs: int = 5
    focal_epochs: int = 2
    discount: float = 0.99

    def __post_init__(self) -> None:
        object.__setattr__(self, "env_id", full_env_id(self.env_id))
        object.__setattr__(self, "env_kwargs", dict(self.env_kwargs))
        population = training_population(self.env_id, self.population)
        object.__setattr__(self, "population", tuple(population))
        _int(self.seed, "seed", 0)
        self.subgoal_config()  # the subgoal model's fields, checked where they are used
        if not isinstance(self.pretrain_prior, bool):
            raise ValueError(
                f"HopPlusTrainConfig.pretrain_prior must be a bool, got {self.pretrain_prior!r}"
            )
        for name in ("prior_episodes", "prior_epochs", "subgoal_epochs", "focal_epochs"):
            _int(getattr(self, name), name, 1)
        for name in ("pretrain_subgoal_epochs", "iterations"):
            _int(getattr(self, name), name, 0)
        for name in ("trials_per_iteration", "episodes_per_trial", "num_trees", "num_simulations"):
            _int(getattr(self, name), name, 1)
        if self.focal_init not in FOCAL_INITS:
            raise ValueError(
                f"HopPlusTrainConfig.focal_init must be one of {list(FOCAL_INITS)}, "
                f"got {self.focal_init!r}"
            )
        d = self.discount
        if isinstance(d, bool) or not isinstance(d, int | float) or not 0.0 <= d <= 1.0:
            raise ValueError(f"HopPlusTrainConfig.discount must be in [0, 1], got {d!r}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["population"] = list(self.population or ())
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HopPlusTrainConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"HopPlusTrainConfig: unknown fields {unknown} in a saved run")
        data = dict(data)
        data["population"] = tuple(data.get("population") or ()) or None
        return cls(**data)

    def subgoal_config(self) -> SubgoalConfig:
        return SubgoalConfig(
            goal_dim=self.goal_dim,
            horizon=self.horizon,
            selector=self.selector,
            policy_condition=self.policy_condition,
        )

    def rules(self) -> GridRules:
        return hop_envs.make(self.env_id, **self.env_kwargs).unwrapped.rules


def standard_normal_prior(vae: StateVAE) -> StateVAE:
    """Make ``vae``'s encoder output ``N(0, I)`` for every state (its mean and log-variance
    head zeroed): the prior of a run without prior pre-training."""
    with torch.no_grad():
        vae.head.weight.zero_()
        vae.head.bias.zero_()
    return vae


class HopPlusTrainer:
    """A HOP+ training run in ``directory`` (:meth:`new`, :meth:`resume`, :meth:`run`)."""

    def __init__(
        self,
        config: HopPlusTrainConfig,
        directory: Path,
        networks: Networks,
        *,
        iteration: int = -1,
        rounds: dict[str, int] | None = None,
        optimizers: dict[str, dict[str, Any]] | None = None,
        last_metrics: dict[str, Any] | None = None,
        tensorboard: bool = True,
    ) -> None:
        self.config = config
        self.directory = Path(directory)
        self.rules = config.rules()
        self.focal, self.model, self.prior = networks
        self.iteration = iteration  # the last finished iteration (-1: nothing yet)
        rounds = rounds or {}
        self.subgoal_trainer = SubgoalTrainer(
            self.model,
            self.prior,
            self.rules,
            SubgoalTrainingConfig(epochs=config.subgoal_epochs, seed=config.seed),
            value=focal_value_fn(self.focal, self.rules),
        )
        self.subgoal_trainer.rounds = int(rounds.get("subgoal", 0))
        self.focal_trainer = FocalTrainer(self.focal, self.rules, seed=config.seed)
        self.focal_trainer.rounds = int(rounds.get("focal", 0))
        if optimizers:
            self.subgoal_trainer.optimizer.load_state_dict(optimizers["subgoal_model"])
            self.focal_trainer.optimizer.load_state_dict(optimizers["focal"])
        self.last_metrics = dict(last_metrics or {})
        self.log = TrainingLog(self.directory, tensorboard=tensorboard, columns=COLUMNS)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def new(
        cls, config: HopPlusTrainConfig, directory: str | Path, *, tensorboard: bool = True
    ) -> HopPlusTrainer:
        """A fresh run (``ValueError`` when ``directory`` already holds one)."""
        directory = Path(directory)
        if (directory / STATE_FILE).exists():
            raise ValueError(f"{directory} already holds a HOP+ run; resume it instead")
        rules = config.rules()
        s = seeds(config.seed, 0, count=3)
        spec, sub = GridSpec.of_rules(rules), config.subgoal_config()
        model = build_network(SUBGOAL_MODEL, spec, sub, s[0])
        prior = build_network(STATE_VAE, spec, sub, s[1])
        focal = _initial_focal(config, rules, s[2])
        trainer = cls(config, directory, (focal, model, prior), tensorboard=tensorboard)
        trainer.log.truncate(None)
        return trainer

    @classmethod
    def resume(cls, directory: str | Path, *, tensorboard: bool = True) -> HopPlusTrainer:
        """The run saved in ``directory``, ready to go on from its last checkpoint."""
        directory = Path(directory)
        data = read_run(directory)
        config = HopPlusTrainConfig.from_json(data["config"])
        networks = load_networks(directory)
        optimizers = {}
        for name in ("subgoal_model", "focal"):
            tensors = load_file(str(directory / OPTIMIZER_DIR / f"{name}.safetensors"))
            meta = json.loads((directory / OPTIMIZER_DIR / f"{name}.json").read_text())
            optimizers[name] = optimizer_from_files(tensors, meta)
        trainer = cls(
            config,
            directory,
            networks,
            iteration=int(data["iteration"]),
            rounds=data["rounds"],
            optimizers=optimizers,
            last_metrics=data.get("last_metrics"),
            tensorboard=tensorboard,
        )
        trainer.log.truncate(trainer.iteration)
        return trainer

    def with_iterations(self, iterations: int) -> None:
        """Change the total number of iterations to reach (a resumed run going further)."""
        self.config = replace(self.config, iterations=iterations)

    # -- running ---------------------------------------------------------------------------
    def run(
        self,
        on_iteration: Callable[[dict[str, Any]], None] | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Pre-train (if not done) and run the iterations up to ``config.iterations``,
        writing a checkpoint after each; the last iteration's metrics."""
        while self.iteration < self.config.iterations:
            start = time.perf_counter()
            index = self.iteration + 1
            if index == 0:
                metrics = self._pretrain(on_progress)
            else:
                metrics = self._iterate(index, on_progress)
            metrics["iteration"] = index
            metrics["wall_s"] = time.perf_counter() - start
            self.iteration = index
            self.last_metrics = metrics
            self.save()
            self.log.append(metrics)
            if on_iteration is not None:
                on_iteration(metrics)
        self.log.close()
        return self.last_metrics

    def _pretrain(self, on_progress: Callable[[str, int, int], None] | None) -> dict[str, Any]:
        cfg = self.config
        if on_progress:
            on_progress("offline episodes", 0, cfg.prior_episodes)
        s = seeds(cfg.seed, _PRETRAIN, count=2)
        buffer = collect_rule_based_episodes(
            cfg.env_id, cfg.env_kwargs, cfg.prior_episodes, s[0], cfg.population
        )
        metrics: dict[str, Any] = {"phase": "pretrain", "episodes": cfg.prior_episodes}
        if cfg.pretrain_prior:
            if on_progress:
                on_progress("prior VAE", 0, cfg.prior_epochs)
            for p in self.prior.parameters():  # frozen by the subgoal trainer
                p.requires_grad_(True)
            stats = pretrain_prior(
                self.prior,
                offline_states(buffer),
                PriorPretrainConfig(epochs=cfg.prior_epochs, seed=s[1] % 2**31),
            )
            metrics.update(prior_recon=stats.recon, prior_kl=stats.kl)
        else:
            standard_normal_prior(self.prior)
        for p in self.prior.parameters():
            p.requires_grad_(False)
        self.prior.eval()
        if cfg.pretrain_subgoal_epochs > 0:
            if on_progress:
                on_progress("subgoal model", 0, cfg.pretrain_subgoal_epochs)
            offline = SubgoalTrainer(
                self.model,
                self.prior,
                self.rules,
                SubgoalTrainingConfig(epochs=cfg.pretrain_subgoal_epochs, seed=s[1] % 2**31),
                value=self.subgoal_trainer.value,
            )
            offline.optimizer = self.subgoal_trainer.optimizer
            stats = offline.train_round(buffer)
            metrics.update(_subgoal_metrics(stats))
        return metrics

    def _iterate(
        self, iteration: int, on_progress: Callable[[str, int, int], None] | None
    ) -> dict[str, Any]:
        cfg = self.config
        buffer = SubgoalBuffer(self.rules)
        parts: list[FocalSamples] = []
        learner, others = [], []
        for index in range(cfg.trials_per_iteration):
            if on_progress:
                on_progress(f"iteration {iteration} trials", index, cfg.trials_per_iteration)
            samples, episodes, returns = self._trial(iteration, index)
            parts.append(samples)
            for episode in episodes:
                buffer.add_episode(episode)
            learner += [r[0] for r in returns]
            others += [r[1] for r in returns]
        subgoal = self.subgoal_trainer.train_round(buffer)
        focal = self.focal_trainer.fit(FocalSamples.concat(parts), cfg.focal_epochs)
        return {
            "phase": "search",
            "episodes": len(learner),
            "learner_return": float(np.mean(learner)),
            "coplayer_return": float(np.mean(others)),
            "focal_samples": focal.samples,
            "policy_loss": focal.policy_loss,
            "value_loss": focal.value_loss,
            **_subgoal_metrics(subgoal),
        }

    def _trial(
        self, iteration: int, index: int
    ) -> tuple[FocalSamples, list[Any], list[tuple[float, float]]]:
        """One trial of ``hop-plus`` with the current networks against training co-players:
        its focal samples, recorded episodes and (learner, mean co-player) returns."""
        cfg = self.config
        env = hop_envs.make(cfg.env_id, **cfg.env_kwargs)
        n = self.rules.num_players
        k = cfg.episodes_per_trial
        s = seeds(cfg.seed, _TRIAL, iteration, index, count=2 + n + k)
        draw = np.random.default_rng(s[0])
        seat = int(draw.integers(n))
        agent = HopPlusAgent.from_networks(
            (self.focal, self.model, self.prior),
            num_trees=cfg.num_trees,
            num_simulations=cfg.num_simulations,
            discount=cfg.discount,
            train_subgoal_model=False,
        )
        agent.reset(
            seed=s[1], seat=SeatInfo.of_env(env, cfg.env_id, seat, env_kwargs=cfg.env_kwargs)
        )
        players: dict[int, Any] = {}
        pool = cfg.population or ()
        for j in range(n):
            if j == seat:
                continue
            players[j] = make_coplayer(pool[int(draw.integers(len(pool)))], cfg.env_id)
            players[j].reset(
                seed=s[2 + j], seat=SeatInfo.of_env(env, cfg.env_id, j, env_kwargs=cfg.env_kwargs)
            )
        me = f"player_{seat}"
        parts, episodes, returns = [], [], []
        for e in range(k):
            observations, _ = env.reset(seed=s[2 + n + e])
            agent.start_episode()
            for player in players.values():
                player.start_episode()
            rows: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, float]] = []
            totals = np.zeros(n)
            while env.agents:
                actions = {}
                for a in env.agents:
                    j = int(a.split("_")[1])
                    actions[a] = (
                        agent.act(observations[a]) if j == seat else players[j].act(observations[a])
                    )
                if me in actions:
                    obs = observations[me]
                    result = agent.last_search
                    assert result is not None
                    pending = (
                        np.asarray(obs["observation"], dtype=np.uint8),
                        int(obs["step"]),
                        np.asarray(obs["action_mask"], dtype=bool),
                        np.asarray(result.visit_policy, dtype=np.float32),
                    )
                observations, rewards, terms, truncs, infos = env.step(actions)
                transition = Transition(actions, observations, rewards, terms, truncs, infos)
                for a, r in rewards.items():
                    totals[int(a.split("_")[1])] += float(r)
                if me in actions:
                    rows.append((*pending, float(rewards[me])))
                agent.observe(transition)
                for j, player in players.items():
                    if f"player_{j}" in actions:
                        player.observe(transition)
            agent.end_episode()
            for player in players.values():
                player.end_episode()
            episodes.append(agent.last_episode)
            parts.append(
                FocalSamples(
                    grids=np.stack([r[0] for r in rows]),
                    steps=np.asarray([r[1] for r in rows], dtype=np.int64),
                    masks=np.stack([r[2] for r in rows]),
                    policies=np.stack([r[3] for r in rows]),
                    policy_weights=np.ones(len(rows), dtype=np.float32),
                    returns=discounted_returns([r[4] for r in rows], cfg.discount).astype(
                        np.float32
                    ),
                )
            )
            others = [totals[j] for j in range(n) if j != seat]
            returns.append((float(totals[seat]), float(np.mean(others))))
        return FocalSamples.concat(parts), episodes, returns

    # -- saving ----------------------------------------------------------------------------
    def save(self) -> Path:
        """Write the checkpoint (networks, optimizers, then ``training.json`` last)."""
        path = self.directory
        staging = path / ".staging"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        save_networks((self.focal, self.model, self.prior), staging)
        (staging / OPTIMIZER_DIR).mkdir()
        for name, optimizer in (
            ("subgoal_model", self.subgoal_trainer.optimizer),
            ("focal", self.focal_trainer.optimizer),
        ):
            tensors, meta = optimizer_to_files(optimizer)
            save_file(tensors, str(staging / OPTIMIZER_DIR / f"{name}.safetensors"))
            (staging / OPTIMIZER_DIR / f"{name}.json").write_text(json.dumps(meta, indent=1))
        for file in sorted(staging.rglob("*")):
            if file.is_file():
                target = path / file.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(file, target)
        shutil.rmtree(staging)
        payload = {
            "format": RUN_FORMAT,
            "config": self.config.to_json(),
            "iteration": self.iteration,
            "rounds": {"subgoal": self.subgoal_trainer.rounds, "focal": self.focal_trainer.rounds},
            "last_metrics": _jsonable(self.last_metrics),
        }
        tmp = path / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path / STATE_FILE)
        return path


def read_run(directory: str | Path) -> dict[str, Any]:
    """The ``training.json`` of a HOP+ run (``ValueError`` for anything else)."""
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; not a HOP+ training run")
    data = json.loads(path.read_text())
    if data.get("format") != RUN_FORMAT:
        raise ValueError(f"{path} is not a HOP+ run (format {data.get('format')!r})")
    return data


def is_hop_plus_run(directory: str | Path) -> bool:
    try:
        read_run(directory)
    except (FileNotFoundError, ValueError, json.JSONDecodeError):
        return False
    return True


def _initial_focal(config: HopPlusTrainConfig, rules: GridRules, seed: int) -> FocalNet:
    if config.focal_init == "hop":
        if config.env_kwargs:
            raise ValueError(
                "HopPlusTrainConfig.focal_init='hop' takes HOP's shipped focal net, trained "
                f"for the env's default arguments, but the run has env_kwargs "
                f"{config.env_kwargs}; use focal_init='fresh'"
            )
        path = resolve_checkpoint("default", config.env_id)
        assert path is not None
        focal = load_hop_network(path / "focal", expected_kind=FOCAL)
        focal.config.check_rules(rules)
        return focal  # type: ignore[return-value]
    return build_hop_network(NetworkConfig.for_rules(rules, FOCAL), seed)  # type: ignore[return-value]


def _subgoal_metrics(stats: Any) -> dict[str, Any]:
    m = stats.metrics()
    return {
        "subgoal_steps": int(stats.steps),
        "recon": m["recon"],
        "kl": m["kl"],
        "policy_nll": m["policy_nll"],
        "hit_ratio": m["hit_ratio"],
    }


def _jsonable(metrics: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in metrics.items():
        if isinstance(v, float) and not np.isfinite(v):
            out[k] = None
        elif isinstance(v, np.generic):
            out[k] = v.item()
        else:
            out[k] = v
    return out
