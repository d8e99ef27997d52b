"""Training a learning baseline: the training population plus self-play, in chunks that resume.

A run trains one SB3 model on one :class:`ConcatVecEnv` that holds ``num_envs`` focal-seat
entries against the env's training population (never a held-out co-player) and
``self_play_games`` self-play games (every seat the learner, through SuperSuit). It proceeds
in chunks of ``chunk_steps`` env steps (rounded up to whole rollouts); every chunk starts by
re-seeding the model and the envs from ``(seed, chunk)``, and ends with a checkpoint (policy
and optimizer as safetensors + JSON, ``run.json``) and a row of ``log.csv``. So a run resumed
from its last checkpoint continues exactly as the uninterrupted run would have (same seeds,
same weights, same optimizer state).
Nothing is pickled and no SB3 zip file is written.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import VecMonitor

import hop_envs
from agents.hop.training.log import LOG_FILE, TrainingLog
from baselines.chunked_run import POLICY_DIR, RUN_FILE, read_run, train_chunks
from baselines.focal_env import training_population
from baselines.sb3.checkpoint import (
    PolicyMeta,
    load_optimizer,
    load_policy,
    save_optimizer,
    save_policy,
)
from baselines.sb3.learners import Learner, learner
from baselines.sb3.policies import PolicyConfig, policy_kwargs
from baselines.sb3.vec_envs import ConcatVecEnv, SelfPlayVecEnv, population_vec_env
from baselines.social_influence.influence import InfluenceConfig
from hop_envs.coplayers import coplayer_population

#: The MOA optimizer's state, inside the policy folder (social-influence runs).
MOA_OPTIMIZER_DIR = "moa_optimizer"
LOG_COLUMNS = (
    "chunk",
    "env_steps",
    "episodes",
    "mean_return_vs_population",
    "mean_return_self_play",
    "wall_s",
    "env_steps_per_s",
)


@dataclass(frozen=True)
class LearnerTrainConfig:
    """Everything that decides a training run's numbers (saved in ``run.json``)."""

    learner: str
    env_id: str
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    total_steps: int = 1_000_000
    chunk_steps: int = 100_000
    num_envs: int = 16
    #: Self-play games beside the population entries; ``None``: 2, or 0 for the recurrent
    #: learner (it trains on trials, which self-play games do not have).
    self_play_games: int | None = None
    coplayers: tuple[str, ...] = ()
    seed: int = 0
    n_steps: int = 128
    learning_rate: float = 3e-4
    ent_coef: float = 0.01
    gamma: float = 0.99
    #: PPO epochs per rollout (A2C makes one update per rollout).
    n_epochs: int = 4
    #: Step the population entries on the batched core when possible (one-episode trials,
    #: memoryless co-players), else one FocalSeatEnv per entry.
    batched: bool = True
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    #: The influence reward's options (social-influence only; ``None``: the defaults).
    influence: InfluenceConfig | None = None

    def __post_init__(self) -> None:
        spec = learner(self.learner)
        if spec.influence and self.influence is None:
            object.__setattr__(self, "influence", InfluenceConfig())
        if not spec.influence and self.influence is not None:
            raise ValueError(
                f"LearnerTrainConfig.influence is set, but {spec.name!r} has no influence "
                "reward (only 'social-influence' does)"
            )
        object.__setattr__(self, "env_id", hop_envs.full_env_id(self.env_id))
        object.__setattr__(self, "env_kwargs", dict(self.env_kwargs))
        if "reward_mode" in self.env_kwargs:
            raise ValueError(
                f"LearnerTrainConfig: env_kwargs must not set reward_mode (got "
                f"{self.env_kwargs['reward_mode']!r}); the learner {spec.name!r} trains on "
                f"{spec.reward_mode!r} rewards"
            )
        for name in ("total_steps", "chunk_steps", "num_envs", "n_steps", "n_epochs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(
                    f"LearnerTrainConfig.{name} must be >= 1, got {getattr(self, name)}"
                )
        if self.self_play_games is None:
            object.__setattr__(self, "self_play_games", 0 if spec.recurrent else 2)
        if self.self_play_games < 0 or self.seed < 0:
            raise ValueError(
                "LearnerTrainConfig: self_play_games and seed must be >= 0, got "
                f"{self.self_play_games} and {self.seed}"
            )
        population = self.coplayers or training_population(self.env_id)
        held_out = [c for c in population if coplayer_population(c) == "held-out"]
        if held_out:
            raise ValueError(
                f"LearnerTrainConfig.coplayers: {held_out} are held-out co-players "
                "(evaluation only); train on the training population"
            )
        object.__setattr__(self, "coplayers", tuple(population))
        if spec.recurrent and self.self_play_games:
            raise ValueError(
                f"LearnerTrainConfig: {spec.name!r} trains on trials of "
                f"{spec.episodes_per_trial} episodes against co-players; self-play games "
                "have no trials, set self_play_games=0"
            )

    @property
    def spec(self) -> Learner:
        return learner(self.learner)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["coplayers"] = list(self.coplayers)
        data["policy"] = self.policy.to_json()
        data["influence"] = None if self.influence is None else self.influence.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LearnerTrainConfig:
        data = dict(data)
        data["coplayers"] = tuple(data.get("coplayers", ()))
        data["policy"] = PolicyConfig.from_json(dict(data.get("policy", {})))
        if data.get("influence") is not None:
            data["influence"] = InfluenceConfig.from_json(dict(data["influence"]))
        return cls(**data)


class _StepCounter(BaseCallback):
    """Counts env steps for a tqdm bar (SB3's own bar needs ``rich``)."""

    def __init__(self, bar: Any) -> None:
        super().__init__()
        self.bar = bar

    def _on_step(self) -> bool:
        if self.bar is not None:
            self.bar.update(self.training_env.num_envs)
        return True


class LearnerTrainer:
    """A training run in ``directory`` (new, or resumed from its ``run.json``)."""

    def __init__(self, config: LearnerTrainConfig, directory: str | Path) -> None:
        self.config = config
        self.directory = Path(directory)
        spec = config.spec
        env_kwargs = dict(config.env_kwargs)
        if spec.reward_mode == "prosocial":
            env_kwargs["reward_mode"] = "prosocial"
        self.train_env_kwargs = env_kwargs
        parts = [
            VecMonitor(
                population_vec_env(
                    config.env_id,
                    config.num_envs,
                    config.coplayers,
                    env_kwargs,
                    spec.episodes_per_trial,
                    batched=None if config.batched else False,
                )
            )
        ]
        if config.self_play_games:
            parts.append(
                VecMonitor(SelfPlayVecEnv(config.env_id, config.self_play_games, env_kwargs))
            )
        self.parts = parts
        self.env = ConcatVecEnv(parts)
        self.model = self._make_model()
        self.moa: Any = None
        self.moa_optimizer: torch.optim.Optimizer | None = None
        if spec.influence:
            self._make_moa()
        self.chunk = 0
        # one row per chunk; SB3's own logger writes TensorBoard events (see _sb3_logger)
        self.log = TrainingLog(
            self.directory, tensorboard=False, columns=LOG_COLUMNS, step_column="chunk"
        )

    def _make_model(self) -> Any:
        config, spec = self.config, self.config.spec
        common = {
            "learning_rate": config.learning_rate,
            "n_steps": config.n_steps,
            "gamma": config.gamma,
            "ent_coef": config.ent_coef,
            "policy_kwargs": policy_kwargs(spec, config.policy),
            "seed": config.seed,
            "device": "cpu",
            "verbose": 0,
        }
        batch = max(64, config.n_steps * self.env.num_envs // 4)
        if spec.algorithm == "maskable-ppo":
            from sb3_contrib import MaskablePPO

            return MaskablePPO(
                "MlpPolicy", self.env, batch_size=batch, n_epochs=config.n_epochs, **common
            )
        if spec.algorithm == "recurrent-ppo":
            from sb3_contrib import RecurrentPPO

            return RecurrentPPO(
                "MlpLstmPolicy", self.env, batch_size=batch, n_epochs=config.n_epochs, **common
            )
        from stable_baselines3 import A2C

        common["n_steps"] = min(config.n_steps, 16)
        return A2C("MlpPolicy", self.env, **common)

    def _make_moa(self) -> None:
        from baselines.social_influence.moa import MOAConfig, MOANetwork

        assert self.config.influence is not None
        space = self.env.observation_space
        self.moa = MOANetwork(
            MOAConfig(
                observation_shape=tuple(space.shape),  # type: ignore[arg-type]
                num_actions=int(self.env.action_space.n),
                num_players=hop_envs.make(
                    self.config.env_id, **self.config.env_kwargs
                ).rules.num_players,
                conv_channels=tuple(self.config.policy.conv_channels),
            )
        )
        self.moa.eval()
        self.moa_optimizer = torch.optim.Adam(
            self.moa.parameters(), lr=self.config.influence.moa_learning_rate
        )

    @property
    def steps_per_chunk(self) -> int:
        """``chunk_steps`` rounded up to whole rollouts (``n_steps`` x vector entries)."""
        rollout = self.model.n_steps * self.env.num_envs
        return -(-self.config.chunk_steps // rollout) * rollout

    @property
    def num_chunks(self) -> int:
        return -(-self.config.total_steps // self.steps_per_chunk)

    # -- checkpoints -------------------------------------------------------------------
    def meta(self) -> PolicyMeta:
        obs_space = self.env.observation_space
        return PolicyMeta(
            learner=self.config.learner,
            env_id=self.config.env_id,
            env_kwargs=dict(self.config.env_kwargs),
            observation_shape=tuple(obs_space.shape),  # type: ignore[arg-type]
            num_actions=int(self.env.action_space.n),
            policy=self.config.policy,
            training={
                "env_steps": int(self.model.num_timesteps),
                "seed": self.config.seed,
                "coplayers": list(self.config.coplayers),
                "self_play_games": self.config.self_play_games,
                "reward_mode": self.config.spec.reward_mode,
                "episodes_per_trial": self.config.spec.episodes_per_trial,
                **(
                    {"influence": self.config.influence.to_json()}
                    if self.config.influence is not None
                    else {}
                ),
            },
        )

    def save(self) -> None:
        folder = self.directory / POLICY_DIR
        save_policy(folder, self.meta(), self.model.policy)
        save_optimizer(folder, self.model.policy.optimizer)
        if self.moa is not None:
            from baselines.social_influence.moa import save_moa

            save_moa(folder, self.moa)
            (folder / MOA_OPTIMIZER_DIR).mkdir(exist_ok=True)
            save_optimizer(folder / MOA_OPTIMIZER_DIR, self.moa_optimizer)
        run = {
            "config": self.config.to_json(),
            "chunks_done": self.chunk,
            "env_steps": int(self.model.num_timesteps),
        }
        (self.directory / RUN_FILE).write_text(json.dumps(run, indent=2) + "\n")

    @classmethod
    def resume(cls, directory: str | Path) -> LearnerTrainer:
        """The run saved in ``directory``, at its last checkpoint."""
        directory = Path(directory)
        run = read_run(directory, "a training run")
        trainer = cls(LearnerTrainConfig.from_json(run["config"]), directory)
        _, policy = load_policy(directory / POLICY_DIR)
        trainer.model.policy.load_state_dict(policy.state_dict())
        load_optimizer(directory / POLICY_DIR, trainer.model.policy.optimizer)
        if trainer.moa is not None:
            from baselines.social_influence.moa import load_moa

            trainer.moa.load_state_dict(load_moa(directory / POLICY_DIR).state_dict())
            load_optimizer(directory / POLICY_DIR / MOA_OPTIMIZER_DIR, trainer.moa_optimizer)
        trainer.model.num_timesteps = int(run["env_steps"])
        trainer.chunk = int(run["chunks_done"])
        trainer.log.truncate(trainer.chunk)
        return trainer

    # -- training ----------------------------------------------------------------------
    def train(self, progress: bool = True, until_chunk: int | None = None) -> None:
        """Train the remaining chunks (up to ``until_chunk``), checkpointing after each."""
        config = self.config
        chunks = self.num_chunks
        last = chunks if until_chunk is None else min(until_chunk, chunks)
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.chunk < last:
            self.model.set_logger(_sb3_logger(self.directory / "sb3" / f"from-chunk-{self.chunk}"))
        train_chunks(
            description=f"train {config.learner} {config.env_id}",
            total_steps=config.total_steps,
            done_steps=self.model.num_timesteps,
            progress=progress,
            more=lambda: self.chunk < last,
            train_chunk=self._train_chunk,
        )

    def _train_chunk(self, bar: Any) -> None:
        config, model = self.config, self.model
        chunk_seed = config.seed * 1_000_003 + self.chunk
        model.set_random_seed(chunk_seed)
        self.env.seed(chunk_seed)
        model._last_obs = self.env.reset()
        model._last_episode_starts = np.ones(self.env.num_envs, dtype=bool)
        if config.spec.recurrent:
            model._last_lstm_states = _zero_lstm_states(model, self.env.num_envs)
        for part in self.parts:
            part.episode_returns[:] = 0
            part.episode_lengths[:] = 0
        target = min((self.chunk + 1) * self.steps_per_chunk, config.total_steps)
        start, before = time.perf_counter(), model.num_timesteps
        callback = _ReturnCollector(bar, len(self.parts), self.parts[0].num_envs)
        callbacks: Any = callback
        if self.moa is not None:
            from baselines.social_influence.callback import InfluenceCallback

            assert config.influence is not None and self.moa_optimizer is not None
            callbacks = CallbackList(
                [callback, InfluenceCallback(self.moa, self.moa_optimizer, config.influence)]
            )
        # A2C updates after every 16 steps per entry: log one row per 25 updates.
        log_interval = 25 if config.spec.algorithm == "a2c" else 1
        model.learn(
            target - model.num_timesteps,
            reset_num_timesteps=False,
            callback=callbacks,
            log_interval=log_interval,
        )
        population_returns, self_play_returns = callback.returns
        wall = time.perf_counter() - start
        self.chunk += 1
        self.save()
        self.log.append(
            {
                "chunk": self.chunk,
                "env_steps": model.num_timesteps,
                "episodes": len(population_returns) + len(self_play_returns),
                "mean_return_vs_population": _mean(population_returns),
                "mean_return_self_play": _mean(self_play_returns),
                "wall_s": round(wall, 2),
                "env_steps_per_s": round((model.num_timesteps - before) / max(wall, 1e-9), 1),
            },
        )


class _ReturnCollector(_StepCounter):
    """Episode returns of the population entries and of the self-play entries, apart."""

    def __init__(self, bar: Any, parts: int, population_envs: int) -> None:
        super().__init__(bar)
        self.population_envs = population_envs
        self.returns: tuple[list[float], list[float]] = ([], [])

    def _on_step(self) -> bool:
        for i, info in enumerate(self.locals["infos"]):
            episode = info.get("episode")
            if episode is not None:
                self.returns[0 if i < self.population_envs else 1].append(float(episode["r"]))
        return super()._on_step()


def _sb3_logger(folder: Path) -> Any:
    """SB3's own logger (losses, entropy, KL, ...): ``progress.csv`` in ``folder`` (one folder
    per training session, so a resumed run never overwrites an earlier one), and TensorBoard
    events there when the ``tensorboard`` extra is installed."""
    from stable_baselines3.common.logger import configure

    formats = ["csv"]
    try:
        import tensorboard  # noqa: F401

        formats.append("tensorboard")
    except ImportError:
        pass
    return configure(str(folder), formats)


def _zero_lstm_states(model: Any, num_envs: int) -> Any:
    from sb3_contrib.common.recurrent.type_aliases import RNNStates

    lstm = model.policy.lstm_actor
    shape = (lstm.num_layers, num_envs, lstm.hidden_size)
    zeros = [torch.zeros(shape) for _ in range(4)]
    return RNNStates((zeros[0], zeros[1]), (zeros[2], zeros[3]))


def _mean(values: list[float]) -> float | str:
    return round(float(np.mean(values)), 4) if values else ""


def plot_curve(
    directory: str | Path, out: str | Path | None = None, learner: str | None = None
) -> Path:
    """A PNG of the run's learning curve (mean return per chunk) from ``log.csv``; any
    learner's run folder (``learner``: its name, when ``run.json`` does not say)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    with open(directory / LOG_FILE, newline="") as f:
        rows = list(csv.DictReader(f))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key, label in (
        ("mean_return_vs_population", "vs training population"),
        ("mean_return_self_play", "self-play"),
    ):
        points = [(int(r["env_steps"]), float(r[key])) for r in rows if r.get(key)]
        if points:
            ax.plot(*zip(*points, strict=True), marker=".", label=label)
    run = json.loads((directory / RUN_FILE).read_text())["config"]
    ax.set_title(f"{learner or run['learner']} on {run['env_id']} (seed {run['seed']})")
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean episode return")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    out = Path(out) if out is not None else directory / "curve.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
