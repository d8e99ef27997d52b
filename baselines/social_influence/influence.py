"""The causal influence reward and its schedule (Jaques et al., ICML 2019, section 4.2).

For a learner ``k`` that took ``a_k`` at step ``t``, and a co-player ``j``::

    c_t^j = KL( p(a_j' | s_t, a_k, a_-k) || sum_a p(a_j' | s_t, a, a_-k) pi_k(a | s_t) )

where ``p`` is the MOA's prediction of ``j``'s next action ``a_j'`` and the second argument,
the counterfactual marginal, averages over the learner's own alternatives weighted by its
policy. The reward is ``sum_j c_t^j``, clipped, and scaled by a weight that follows a
curriculum (zero at first, while the MOA is still poor). Only the co-players still in the game
count. This module is plain numpy so that it can be checked by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Probabilities below this are raised to it before taking logs (the KL stays finite).
PROB_FLOOR = 1e-12


@dataclass(frozen=True)
class InfluenceConfig:
    """The influence reward's options.

    ``weight``: the influence weight beta once the curriculum is over (1.0, as the reference
    code's MOA runs). ``clip``: each step's summed influence is clipped to ``[0, clip]`` (10,
    the reference code's ``influence_reward_clip``). ``zero_steps`` / ``ramp_steps``: the
    curriculum; the weight is 0 for the first ``zero_steps`` env steps, then grows linearly to
    ``weight`` over ``ramp_steps``. The reference MOA run holds it at 0 for the first 2% of
    its 500 M steps and ramps it until 20%; the defaults are the same fractions of a 1 M-step
    run. ``moa_*``: the MOA's optimiser (Adam), its epochs and minibatch size per rollout.
    """

    weight: float = 1.0
    clip: float = 10.0
    zero_steps: int = 20_000
    ramp_steps: int = 180_000
    moa_learning_rate: float = 1e-3
    moa_epochs: int = 2
    moa_batch_size: int = 256

    def __post_init__(self) -> None:
        if not np.isfinite(self.weight) or self.weight < 0:
            raise ValueError(
                f"InfluenceConfig.weight must be a finite number >= 0, got {self.weight!r}"
            )
        if not np.isfinite(self.clip) or self.clip <= 0:
            raise ValueError(f"InfluenceConfig.clip must be a finite number > 0, got {self.clip!r}")
        for name in ("zero_steps", "ramp_steps"):
            if int(getattr(self, name)) < 0:
                raise ValueError(
                    f"InfluenceConfig.{name} must be >= 0, got {getattr(self, name)!r}"
                )
        if not self.moa_learning_rate > 0:
            raise ValueError(
                f"InfluenceConfig.moa_learning_rate must be > 0, got {self.moa_learning_rate!r}"
            )
        for name in ("moa_epochs", "moa_batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(
                    f"InfluenceConfig.{name} must be >= 1, got {getattr(self, name)!r}"
                )

    def weight_at(self, env_steps: int) -> float:
        """The influence weight after ``env_steps`` env steps of training."""
        if env_steps < self.zero_steps:
            return 0.0
        if self.ramp_steps == 0:
            return float(self.weight)
        return float(self.weight * min(1.0, (env_steps - self.zero_steps) / self.ramp_steps))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InfluenceConfig:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(
                f"InfluenceConfig: unknown fields {unknown}; known are "
                f"{sorted(cls.__dataclass_fields__)}"
            )
        return cls(**data)


def counterfactual_marginal(counterfactual: np.ndarray, own_policy: np.ndarray) -> np.ndarray:
    """``sum_a pi(a) p(. | a)``: ``counterfactual (B, A, J, A')`` predictions for each own
    action ``a``, ``own_policy (B, A)``; returns ``(B, J, A')``."""
    return np.einsum("ba,bajc->bjc", own_policy, counterfactual)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``KL(p || q)`` over the last axis (natural log), probabilities floored at
    :data:`PROB_FLOOR`."""
    p = np.maximum(p, PROB_FLOOR)
    q = np.maximum(q, PROB_FLOOR)
    return np.sum(p * (np.log(p) - np.log(q)), axis=-1)


def influence_reward(
    counterfactual: np.ndarray,
    own_policy: np.ndarray,
    taken: np.ndarray,
    present: np.ndarray,
    clip: float,
) -> np.ndarray:
    """The per-step influence reward ``(B,)`` before weighting.

    ``counterfactual (B, A, J, A')``: the MOA's predicted next-action distribution of each of
    the ``J`` co-players had the learner taken each of its ``A`` actions (the co-players'
    own actions of the step fixed at what they did). ``own_policy (B, A)``: the learner's
    policy at the step (zero on illegal actions). ``taken (B,)``: the action it took.
    ``present (B, J)``: the co-players still in the game, whose influence counts.
    """
    rows = np.arange(counterfactual.shape[0])
    actual = counterfactual[rows, taken]  # (B, J, A')
    marginal = counterfactual_marginal(counterfactual, own_policy)
    per_coplayer = kl_divergence(actual, marginal) * present
    return np.clip(per_coplayer.sum(axis=1), 0.0, clip)
