"""Training the focal policy/value network on search policies and discounted returns.

Loss of a minibatch: the policy cross-entropy ``CE(target, masked policy)`` averaged with the
samples' policy weights ``w``, plus ``value_coef`` times the mean of ``((v - G) / scale)^2``.
The cross-entropy is taken over legal actions only (the targets put no mass on illegal ones)
and ``scale`` is the game's reward scale (:func:`reward_scale`), so one coefficient suits both
games. Minibatch order comes from a numpy generator seeded with ``(seed, round)``: a round is
reproducible from the trainer's round counter alone (saved in checkpoints).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agents.hop.features import FeatureBuilder
from agents.hop.networks import FocalNet
from agents.hop.training.samples import FocalSamples
from hop_envs.core import GridRules

#: Entropy tag of the focal trainer's minibatch generator.
_FOCAL_TAG = 7


def reward_scale(rules: GridRules) -> float:
    """A typical size of one player's reward in the game, defined by the game
    (``rules.reward_scale()``): the stag share (stag reward over the hunters needed) or the
    hare reward in the stag hunt, the removal reward in the snowdrift (at least 1)."""
    return float(rules.reward_scale())


@dataclass(frozen=True)
class FocalStats:
    """One round: samples used, mean losses of the last epoch, and the policy entropy."""

    round: int
    samples: int
    policy_loss: float
    value_loss: float
    entropy: float


class FocalTrainer:
    """Adam on the focal network; the optimizer state carries over between rounds."""

    def __init__(
        self,
        net: FocalNet,
        rules: GridRules,
        *,
        learning_rate: float = 1e-3,
        batch_size: int = 128,
        value_coef: float = 1.0,
        max_grad_norm: float | None = 5.0,
        seed: int = 0,
    ) -> None:
        if not isinstance(net, FocalNet):
            raise TypeError(f"FocalTrainer: net must be a FocalNet, got {type(net).__name__}")
        net.config.check_rules(rules)
        self.net = net
        self.features = FeatureBuilder(rules)
        self.scale = reward_scale(rules)
        self.batch_size = batch_size
        self.value_coef = value_coef
        self.max_grad_norm = max_grad_norm
        self.seed = seed
        self.optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
        self.rounds = 0

    def per_sample(
        self, batch: FocalSamples
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per sample: policy cross-entropy, scaled squared value error, policy entropy, and
        the policy weight."""
        f = self.features.from_observations(batch.grids, batch.steps, batch.masks)
        logits, values = self.net.run(f)
        masks = torch.from_numpy(f.masks)
        logp = torch.log_softmax(logits, dim=1).masked_fill(~masks, 0.0)
        cross = -(torch.from_numpy(batch.policies) * logp).sum(1)
        value = ((values - torch.from_numpy(batch.returns)) / self.scale) ** 2
        entropy = -(logp.exp() * logp).sum(1)
        return cross, value, entropy, torch.from_numpy(batch.policy_weights)

    def loss(self, batch: FocalSamples) -> torch.Tensor:
        """The training objective on ``batch``: weighted mean cross-entropy plus
        ``value_coef`` times the mean scaled value error."""
        cross, value, _, weights = self.per_sample(batch)
        policy = (weights * cross).sum() / weights.sum().clamp_min(1e-8)
        return policy + self.value_coef * value.mean()

    def fit(self, samples: FocalSamples, epochs: int) -> FocalStats:
        """``epochs`` passes of minibatch Adam over ``samples`` (nothing changes when empty)."""
        index = self.rounds
        self.rounds += 1
        n = len(samples)
        if n == 0 or epochs == 0:
            return FocalStats(index, n, float("nan"), float("nan"), float("nan"))
        rng = np.random.default_rng([self.seed, _FOCAL_TAG, index])
        self.net.train()
        for _ in range(epochs):
            order = rng.permutation(n)
            for start in range(0, n, self.batch_size):
                batch = samples.subset(order[start : start + self.batch_size])
                loss = self.loss(batch)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.max_grad_norm)
                self.optimizer.step()
        self.net.eval()
        policy, value, entropy = self.evaluate(samples)
        return FocalStats(index, n, policy, value, entropy)

    def evaluate(self, samples: FocalSamples, batch_size: int = 1024) -> tuple[float, float, float]:
        """Weighted mean policy cross-entropy (NaN without weighted samples), mean scaled
        value error and mean policy entropy on ``samples``."""
        cross_sum = weight_sum = value_sum = entropy_sum = 0.0
        with torch.inference_mode():
            for start in range(0, len(samples), batch_size):
                batch = samples.subset(np.arange(start, min(start + batch_size, len(samples))))
                cross, value, entropy, weights = self.per_sample(batch)
                cross_sum += float((weights * cross).sum())
                weight_sum += float(weights.sum())
                value_sum += float(value.sum())
                entropy_sum += float(entropy.sum())
        n = len(samples)
        if n == 0:
            return float("nan"), float("nan"), float("nan")
        policy = cross_sum / weight_sum if weight_sum > 0 else float("nan")
        return policy, value_sum / n, entropy_sum / n
