"""The HOP training loop: pre-training on rule-based episodes, then search iterations.

Phase 1 (iteration 0 in the log; skipped when ``pretrain_episodes`` is 0): offline episodes
of rule-based co-players only. Their co-player steps, labelled in hindsight, fill the
opponent-model buffer and train the goal-conditioned opponent model (and the goal-free
action model) for ``pretrain_om_epochs`` epochs; every seat's steps train the focal
network's value (discounted returns) and its policy (imitating steps that led to a capture
or a removal) for ``pretrain_focal_epochs`` epochs.

Phase 2, iterations 1..N: play ``trials_per_iteration`` learner trials with the current
weights; train the focal network on the search policies and discounted returns of those
trials (``focal_epochs`` epochs, on-policy data only) and the opponent models on the buffer
of their co-player steps (``om_epochs`` epochs; the buffer is cleared after each round, as
HOP does). Checkpoints are saved every ``checkpoint_every`` iterations and at the end.

After pre-training and after every iteration the goal-conditioned opponent model is scored on
``holdout_episodes`` held-out rule-based episodes (seeds of their own): ``om_eval_*`` in the log.

Everything random is seeded from the run's seed and the iteration, and the trainers' round
counters are saved, so a resumed run gives exactly the numbers of an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.hop.buffer import OMSamples, OpponentBuffer
from agents.hop.features import FeatureBuilder
from agents.hop.networks import ACTION_MODEL, FOCAL, GOAL_OM, HopNetwork, build_network
from agents.hop.om_training import (
    OMTrainingConfig,
    OpponentModelTrainer,
    RoundStats,
    evaluate_model,
)
from agents.hop.training.checkpoint import (
    TrainingState,
    load_checkpoint,
    save_checkpoint,
)
from agents.hop.training.collect import (
    HOLDOUT_PHASE,
    OFFLINE_CHUNK,
    OFFLINE_PHASE,
    Collector,
    OfflineResult,
    OfflineTask,
    TrialResult,
    TrialTask,
    make_rules,
    network_config,
    run_offline_task,
    run_trial_task,
    seeds,
    torch_threads,
    weights_to_bytes,
)
from agents.hop.training.config import TrainConfig
from agents.hop.training.focal_training import FocalTrainer
from agents.hop.training.log import TrainingLog
from agents.hop.training.samples import FocalSamples

#: Seed-sequence tag of the initial weights.
_INIT_TAG = 3
PRETRAIN = "pretrain"


@dataclass(frozen=True)
class IterationReport:
    """What :meth:`Trainer.run` tells its ``on_iteration`` callback after each iteration."""

    iteration: int
    metrics: dict[str, Any]


def _finite(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class Trainer:
    """A training run writing into ``directory`` (a checkpoint folder).

    ``Trainer.new(config, directory)`` starts a run; ``Trainer.resume(directory)`` continues
    one from its last checkpoint. ``workers`` only changes the speed, never the numbers.
    """

    def __init__(
        self,
        config: TrainConfig,
        directory: str | Path,
        *,
        workers: int = 1,
        tensorboard: bool = True,
        networks: dict[str, HopNetwork] | None = None,
        state: TrainingState | None = None,
        optimizer_states: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.config = config
        self.directory = Path(directory)
        self.workers = workers
        self.rules = make_rules(config)
        if networks is None:
            s = seeds(config.seed, _INIT_TAG, count=3)
            networks = {
                kind: build_network(network_config(config, self.rules, kind), seed=seed)
                for kind, seed in zip((FOCAL, GOAL_OM, ACTION_MODEL), s, strict=True)
            }
            if not config.train_action_model:
                networks.pop(ACTION_MODEL)
        self.networks = networks
        self.state = state or TrainingState()
        self.focal_trainer = FocalTrainer(
            networks[FOCAL],  # type: ignore[arg-type]
            self.rules,
            learning_rate=config.focal_learning_rate,
            batch_size=config.focal_batch_size,
            value_coef=config.value_coef,
            max_grad_norm=config.max_grad_norm,
            seed=config.seed,
        )
        om_config = OMTrainingConfig(
            epochs=config.om_epochs,
            batch_size=config.om_batch_size,
            learning_rate=config.om_learning_rate,
            max_grad_norm=config.max_grad_norm,
            seed=config.seed,
        )
        self.om_trainers = {
            kind: OpponentModelTrainer(net, self.rules, om_config)  # type: ignore[arg-type]
            for kind, net in networks.items()
            if kind != FOCAL
        }
        if optimizer_states:
            self._optimizers()[FOCAL].load_state_dict(optimizer_states[FOCAL])
            for kind, trainer in self.om_trainers.items():
                trainer.optimizer.load_state_dict(optimizer_states[kind])
        rounds = self.state.rounds
        self.focal_trainer.rounds = rounds.get(FOCAL, 0)
        for kind, trainer in self.om_trainers.items():
            trainer.rounds = rounds.get(kind, 0)
        self.log = TrainingLog(self.directory, tensorboard=tensorboard)
        self._holdout: OMSamples | None = None

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def new(cls, config: TrainConfig, directory: str | Path, **kwargs: Any) -> Trainer:
        """A fresh run; refuses a folder that already holds a checkpoint."""
        path = Path(directory)
        if (path / "training.json").exists():
            raise FileExistsError(
                f"{path} already holds a checkpoint; resume it (--resume {path}) or choose "
                "another output folder"
            )
        trainer = cls(config, path, **kwargs)
        trainer.log.truncate(None)
        return trainer

    @classmethod
    def resume(cls, directory: str | Path, **kwargs: Any) -> Trainer:
        """Continue the run saved in ``directory`` from its last checkpoint."""
        checkpoint = load_checkpoint(directory)
        trainer = cls(
            checkpoint.config,
            directory,
            networks=checkpoint.networks,
            state=checkpoint.state,
            optimizer_states=checkpoint.optimizers,
            **kwargs,
        )
        for network in trainer.networks.values():
            network.eval()
        last = checkpoint.state.iteration if checkpoint.state.pretrained else None
        trainer.log.truncate(last)
        return trainer

    # -- running ---------------------------------------------------------------------------
    def run(
        self,
        iterations: int | None = None,
        *,
        on_iteration: Callable[[IterationReport], None] | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
    ) -> TrainingState:
        """Train until ``iterations`` (default: the config's) iterations are done; returns
        the final counters. ``on_progress(phase, done, total)`` reports work units as they
        finish; ``on_iteration`` gets each iteration's metrics."""
        target = self.config.iterations if iterations is None else iterations
        if isinstance(target, bool) or not isinstance(target, int) or target < 0:
            raise ValueError(f"Trainer.run: iterations must be an integer >= 0, got {target!r}")
        try:
            with Collector(self.workers) as collector, torch_threads(self.config.torch_threads):
                self._holdout = self._holdout_samples(collector)
                if not self.state.pretrained:
                    metrics = self._pretrain(collector, on_progress)
                    self._finish_iteration(metrics, on_iteration, force_checkpoint=True)
                while self.state.iteration < target:
                    metrics = self._iteration(collector, self.state.iteration + 1, on_progress)
                    self._finish_iteration(
                        metrics, on_iteration, force_checkpoint=self.state.iteration + 1 == target
                    )
        finally:
            self.log.close()
        return self.state

    def _finish_iteration(
        self,
        metrics: dict[str, Any],
        on_iteration: Callable[[IterationReport], None] | None,
        *,
        force_checkpoint: bool,
    ) -> None:
        iteration = int(metrics["iteration"])
        if self._holdout is not None:
            loss, accuracy = evaluate_model(
                self.networks[GOAL_OM],  # type: ignore[arg-type]
                FeatureBuilder(self.rules),
                self._holdout,
            )
            metrics.update(om_eval_loss=loss, om_eval_accuracy=accuracy)
        self.state.iteration = iteration
        self.state.pretrained = True
        self.state.rounds = self._rounds()
        self.state.last_metrics = {k: _finite(v) for k, v in metrics.items() if k != "wall_s"}
        self.log.append(metrics)
        if force_checkpoint or iteration % self.config.checkpoint_every == 0:
            self.save()
        if on_iteration is not None:
            on_iteration(IterationReport(iteration, metrics))

    def save(self) -> Path:
        """Write the current checkpoint into the run's folder."""
        return save_checkpoint(
            self.directory, self.config, self.state, self.networks, self._optimizers()
        )

    def _rounds(self) -> dict[str, int]:
        out = {FOCAL: self.focal_trainer.rounds}
        out.update({kind: t.rounds for kind, t in self.om_trainers.items()})
        return out

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        out: dict[str, torch.optim.Optimizer] = {FOCAL: self.focal_trainer.optimizer}
        out.update({kind: t.optimizer for kind, t in self.om_trainers.items()})
        return out

    def _weights(self) -> dict[str, bytes]:
        return {kind: weights_to_bytes(self.networks[kind]) for kind in (FOCAL, GOAL_OM)}

    def _offline_tasks(self, count: int, phase: int) -> list[OfflineTask]:
        return [
            OfflineTask(self.config, k, min(OFFLINE_CHUNK, count - k), phase)
            for k in range(0, count, OFFLINE_CHUNK)
        ]

    def _holdout_samples(self, collector: Collector) -> OMSamples | None:
        """Labelled co-player steps of ``holdout_episodes`` rule-based episodes (seeds of
        their own), on which the opponent model is scored after every iteration."""
        count = self.config.holdout_episodes
        if count == 0:
            return None
        results = collector.map(run_offline_task, self._offline_tasks(count, HOLDOUT_PHASE))
        buffer = OpponentBuffer(self.rules)
        for result in results:
            for episode in result.episodes:
                buffer.add_episode(episode)
        return buffer.samples(goal_conditioned=True)

    # -- phase 1 ---------------------------------------------------------------------------
    def _pretrain(
        self, collector: Collector, on_progress: Callable[[str, int, int], None] | None
    ) -> dict[str, Any]:
        cfg = self.config
        start = time.perf_counter()
        metrics: dict[str, Any] = {"iteration": 0, "phase": PRETRAIN, "episodes": 0}
        if cfg.pretrain_episodes == 0:
            metrics["wall_s"] = time.perf_counter() - start
            return metrics
        tasks = self._offline_tasks(cfg.pretrain_episodes, OFFLINE_PHASE)
        done = 0

        def progress(result: OfflineResult) -> None:
            nonlocal done
            done += len(result.episodes)
            if on_progress is not None:
                on_progress(PRETRAIN, done, cfg.pretrain_episodes)

        results = collector.map(run_offline_task, tasks, progress)
        samples = FocalSamples.concat([r.samples for r in results])
        buffer = OpponentBuffer(self.rules)
        for result in results:
            for episode in result.episodes:
                buffer.add_episode(episode)
        metrics.update(self._train_opponent_models(buffer, cfg.pretrain_om_epochs))
        stats = self.focal_trainer.fit(samples, cfg.pretrain_focal_epochs)
        metrics.update(
            episodes=cfg.pretrain_episodes,
            focal_samples=len(samples),
            policy_loss=stats.policy_loss,
            value_loss=stats.value_loss,
            policy_entropy=stats.entropy,
            wall_s=time.perf_counter() - start,
        )
        return metrics

    # -- phase 2 ---------------------------------------------------------------------------
    def _iteration(
        self,
        collector: Collector,
        iteration: int,
        on_progress: Callable[[str, int, int], None] | None,
    ) -> dict[str, Any]:
        cfg = self.config
        start = time.perf_counter()
        weights = self._weights()
        tasks = [TrialTask(cfg, iteration, k, weights) for k in range(cfg.trials_per_iteration)]
        done = 0

        def progress(result: TrialResult) -> None:
            nonlocal done
            done += 1
            if on_progress is not None:
                on_progress(f"iteration {iteration}", done, len(tasks))

        results = collector.map(run_trial_task, tasks, progress)
        samples = FocalSamples.concat([r.samples for r in results])
        buffer = OpponentBuffer(self.rules)
        for result in results:
            for episode in result.episodes:
                buffer.add_episode(episode)
        stats = [s for r in results for s in r.stats]
        metrics: dict[str, Any] = {
            "iteration": iteration,
            "phase": "search",
            "episodes": len(stats),
            "learner_return": float(np.mean([s.learner_return for s in stats])),
            "coplayer_return": float(np.mean([s.coplayer_return for s in stats])),
            "learner_events": float(np.mean([s.learner_events for s in stats])),
        }
        metrics.update(self._train_opponent_models(buffer, cfg.om_epochs))
        focal = self.focal_trainer.fit(samples, cfg.focal_epochs)
        metrics.update(
            focal_samples=len(samples),
            policy_loss=focal.policy_loss,
            value_loss=focal.value_loss,
            policy_entropy=focal.entropy,
            wall_s=time.perf_counter() - start,
        )
        return metrics

    def _train_opponent_models(self, buffer: OpponentBuffer, epochs: int) -> dict[str, Any]:
        """One round of each opponent model on ``buffer`` (cleared afterwards)."""
        out: dict[str, Any] = {"om_samples": buffer.num_samples(goal_conditioned=True)}
        names = {GOAL_OM: "om", ACTION_MODEL: "action_model"}
        kinds = list(self.om_trainers)
        for i, kind in enumerate(kinds):
            trainer = self.om_trainers[kind]
            saved = trainer.config
            trainer.config = replace(saved, epochs=max(epochs, 1))
            try:
                if epochs == 0:
                    stats = RoundStats(trainer.rounds, 0, (), float("nan"), float("nan"))
                    if i == len(kinds) - 1:
                        buffer.clear()
                else:
                    stats = trainer.train_round(buffer, clear=i == len(kinds) - 1)
            finally:
                trainer.config = saved
            out[f"{names[kind]}_loss"] = stats.final_loss
            out[f"{names[kind]}_accuracy"] = stats.final_accuracy
        return out
