"""Training data of the focal network: views, policy targets and discounted returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def discounted_returns(rewards: Sequence[float], discount: float) -> np.ndarray:
    """``G_t = r_t + discount * G_{t+1}`` over one player's rewards in one episode (nothing is
    bootstrapped past the last reward: the episode, or the player's part in it, ended)."""
    out = np.zeros(len(rewards), dtype=np.float64)
    running = 0.0
    for k in range(len(rewards) - 1, -1, -1):
        running = float(rewards[k]) + discount * running
        out[k] = running
    return out


@dataclass(frozen=True)
class FocalSamples:
    """Decisions of the focal player, flattened.

    ``grids`` ``(N, C, H, W)`` uint8 is the player's own view, ``steps`` the time step,
    ``masks`` ``(N, A)`` its legal actions, ``policies`` ``(N, A)`` the policy target (zero on
    illegal actions), ``policy_weights`` ``(N,)`` how much each policy target counts (0 for
    value-only samples) and ``returns`` the discounted return from the state.
    """

    grids: np.ndarray
    steps: np.ndarray
    masks: np.ndarray
    policies: np.ndarray
    policy_weights: np.ndarray
    returns: np.ndarray

    def __post_init__(self) -> None:
        n = self.grids.shape[0]
        for name in ("steps", "masks", "policies", "policy_weights", "returns"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(
                    f"FocalSamples.{name} has {getattr(self, name).shape[0]} rows, grids has {n}"
                )
        illegal_mass = np.where(self.masks, 0.0, self.policies).sum(1) if n else np.zeros(0)
        if n and float(illegal_mass.max()) > 1e-6:
            row = int(illegal_mass.argmax())
            raise ValueError(
                f"FocalSamples: policy target {row} puts mass {illegal_mass[row]:.3g} on "
                "illegal actions"
            )

    def __len__(self) -> int:
        return int(self.grids.shape[0])

    def subset(self, index: np.ndarray) -> FocalSamples:
        return FocalSamples(
            self.grids[index],
            self.steps[index],
            self.masks[index],
            self.policies[index],
            self.policy_weights[index],
            self.returns[index],
        )

    @classmethod
    def empty(cls, shape: tuple[int, int, int], num_actions: int) -> FocalSamples:
        return cls(
            np.zeros((0, *shape), dtype=np.uint8),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, num_actions), dtype=bool),
            np.zeros((0, num_actions), dtype=np.float32),
            np.zeros(0, dtype=np.float32),
            np.zeros(0, dtype=np.float32),
        )

    @classmethod
    def concat(cls, parts: Sequence[FocalSamples]) -> FocalSamples:
        """All ``parts`` in order (at least one)."""
        if not parts:
            raise ValueError("FocalSamples.concat needs at least one part")
        return cls(
            np.concatenate([p.grids for p in parts]),
            np.concatenate([p.steps for p in parts]),
            np.concatenate([p.masks for p in parts]),
            np.concatenate([p.policies for p in parts]),
            np.concatenate([p.policy_weights for p in parts]),
            np.concatenate([p.returns for p in parts]),
        )
