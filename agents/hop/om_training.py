"""Maximum-likelihood training of the opponent models, in rounds over the buffer.

Each round takes every usable step in the :class:`~agents.hop.buffer.OpponentBuffer`
(labelled steps for the goal-conditioned model, all steps for the goal-free one), runs a few
epochs of minibatch Adam on the cross-entropy of the co-player's actual action under the
masked policy, and clears the buffer (DESIGN §7). Training is deterministic given the
config's seed: minibatch order comes from a numpy generator seeded with (seed, round), and
the CPU kernels used here are deterministic for a fixed ``torch.get_num_threads()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from agents.hop.buffer import OMSamples, OpponentBuffer
from agents.hop.features import FeatureBuilder
from agents.hop.networks import GOAL_OM, ActionModel, GoalOpponentModel
from hop_envs.core import GridRules

__all__ = ["OMTrainingConfig", "OpponentModelTrainer", "RoundStats", "evaluate_model"]


@dataclass(frozen=True)
class OMTrainingConfig:
    """Settings of one training round (defaults sized for a few episodes of data)."""

    epochs: int = 5
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    max_grad_norm: float | None = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"OMTrainingConfig.{name} must be an integer >= 1, got {value!r}")
        for name in ("learning_rate", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"OMTrainingConfig.{name} must be a number >= 0, got {value!r}")
        if self.learning_rate == 0:
            raise ValueError("OMTrainingConfig.learning_rate must be > 0, got 0")
        if self.max_grad_norm is not None and (
            isinstance(self.max_grad_norm, bool)
            or not isinstance(self.max_grad_norm, int | float)
            or self.max_grad_norm <= 0
        ):
            raise ValueError(
                f"OMTrainingConfig.max_grad_norm must be None or > 0, got {self.max_grad_norm!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"OMTrainingConfig.seed must be an integer >= 0, got {self.seed!r}")


@dataclass(frozen=True)
class RoundStats:
    """What one round did: samples used, the mean loss of each epoch, and the loss and
    accuracy (argmax = actual action) on the round's data after training."""

    round: int
    samples: int
    epoch_losses: tuple[float, ...]
    final_loss: float
    final_accuracy: float

    @property
    def trained(self) -> bool:
        return self.samples > 0


class OpponentModelTrainer:
    """Trains one opponent model (goal-conditioned or goal-free) round after round; the
    optimizer's state carries over between rounds."""

    def __init__(
        self,
        model: GoalOpponentModel | ActionModel,
        rules: GridRules,
        config: OMTrainingConfig | None = None,
    ) -> None:
        if not isinstance(model, GoalOpponentModel | ActionModel):
            raise TypeError(
                "OpponentModelTrainer: model must be a GoalOpponentModel or ActionModel, "
                f"got {type(model).__name__}"
            )
        model.config.check_rules(rules)
        self.model = model
        self.config = config or OMTrainingConfig()
        self.features = FeatureBuilder(rules)
        self.goal_conditioned = model.config.kind == GOAL_OM
        self.optimizer = torch.optim.Adam(
            model.parameters(),
            lr=self.config.learning_rate,
            weight_decay=self.config.weight_decay,
        )
        self.rounds = 0

    def train_round(self, buffer: OpponentBuffer, *, clear: bool = True) -> RoundStats:
        """Train on the buffer's usable steps, then clear it (unless ``clear=False``, for a
        caller that trains several models on one buffer and clears it itself)."""
        stats = self.fit(buffer.samples(self.goal_conditioned))
        if clear:
            buffer.clear()
        return stats

    def fit(self, samples: OMSamples) -> RoundStats:
        """One round on ``samples`` (a round with no samples changes nothing)."""
        if self.goal_conditioned and samples.goals is None and len(samples):
            raise ValueError("a goal-conditioned model needs labelled samples (goals given)")
        round_index = self.rounds
        self.rounds += 1
        n = len(samples)
        if n == 0:
            return RoundStats(round_index, 0, (), float("nan"), float("nan"))
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, round_index])
        self.model.train()
        epoch_losses = []
        for _ in range(cfg.epochs):
            order = rng.permutation(n)
            total = 0.0
            for start in range(0, n, cfg.batch_size):
                batch = samples.subset(order[start : start + cfg.batch_size])
                loss = F.cross_entropy(self._logits(batch), torch.from_numpy(batch.actions))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                total += float(loss.detach()) * len(batch)
            epoch_losses.append(total / n)
        self.model.eval()
        final_loss, accuracy = evaluate_model(self.model, self.features, samples)
        return RoundStats(round_index, n, tuple(epoch_losses), final_loss, accuracy)

    def _logits(self, batch: OMSamples) -> torch.Tensor:
        goals = batch.goals if self.goal_conditioned else None
        features = self.features.from_observations(batch.grids, batch.steps, batch.masks, goals)
        return self.model.run(features)


def evaluate_model(
    model: GoalOpponentModel | ActionModel,
    features: FeatureBuilder,
    samples: OMSamples,
    batch_size: int = 1024,
) -> tuple[float, float]:
    """Mean cross-entropy of the actual actions and the accuracy of the argmax action."""
    if len(samples) == 0:
        return float("nan"), float("nan")
    goal_conditioned = model.config.kind == GOAL_OM
    if goal_conditioned and samples.goals is None:
        raise ValueError("evaluate_model: a goal-conditioned model needs labelled samples")
    total, correct = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(samples), batch_size):
            batch = samples.subset(np.arange(start, min(start + batch_size, len(samples))))
            goals = batch.goals if goal_conditioned else None
            logits = model.run(
                features.from_observations(batch.grids, batch.steps, batch.masks, goals)
            )
            actions = torch.from_numpy(batch.actions)
            total += float(F.cross_entropy(logits, actions, reduction="sum"))
            correct += int((logits.argmax(1) == actions).sum())
    return total / len(samples), correct / len(samples)
