"""Leaf values of the HOP family's search: the value network, rollouts, or a mix of both.

DESIGN §7 takes priors and values from the focal policy/value net. The value net sees only
the state, not what the co-players are after, so it values a state by what the training
population usually did from it: a far stag looks as good next to three hare hunters as next
to three stag hunters. Short rollouts in which the co-players act from the (goal-conditioned)
opponent model, pursuing the goals the tree sampled from the beliefs, make the leaf value
depend on the inferred goals; that is where adaptation to the co-players enters the value.

:class:`MixedEvaluator` keeps the network's priors and mixes the two values as AlphaGo did:
``value = (1 - rollout_weight) * v_net + rollout_weight * v_rollout``. ``rollout_weight = 0``
is DESIGN's plain network evaluator (:func:`build_leaf_evaluator` returns the
:class:`~agents.hop.learned.NetworkEvaluator` itself then, and no rollout is run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.hop.evaluators import ROLLOUT_POLICIES, RolloutEvaluator
from agents.hop.interfaces import CoplayerPolicy
from agents.hop.learned import NetworkEvaluator
from agents.hop.networks import FocalNet
from agents.hop.search_tree import Goals, Redraw
from hop_envs.core import GridRules, GridState

__all__ = ["LeafValueConfig", "MixedEvaluator", "build_leaf_evaluator"]


@dataclass(frozen=True)
class LeafValueConfig:
    """How leaves are valued (module docstring).

    ``rollout_weight`` is the rollouts' share of the value (0: value net only, 1: rollouts
    only); ``rollout_depth`` the rollout length in steps; ``rollout_policy`` the focal
    player's rollout policy (see :mod:`agents.hop.evaluators`); ``num_rollouts`` rollouts per
    leaf (per option for ``"best-kind"`` and ``"best-option"``).
    """

    rollout_weight: float = 1.0
    rollout_depth: int = 25
    rollout_policy: str = "best-kind"
    num_rollouts: int = 1

    def __post_init__(self) -> None:
        w = self.rollout_weight
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0.0 <= float(w) <= 1.0:
            raise ValueError(f"LeafValueConfig.rollout_weight must be in [0, 1], got {w!r}")
        for name in ("rollout_depth", "num_rollouts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LeafValueConfig.{name} must be an int >= 1, got {value!r}")
        if self.rollout_policy not in ROLLOUT_POLICIES:
            raise ValueError(
                f"LeafValueConfig.rollout_policy must be one of {list(ROLLOUT_POLICIES)}, "
                f"got {self.rollout_policy!r}"
            )

    @property
    def uses_rollouts(self) -> bool:
        return float(self.rollout_weight) > 0.0


class MixedEvaluator:
    """Network priors; values mixed from the value net and goal-aware rollouts."""

    def __init__(
        self, network: NetworkEvaluator, rollouts: RolloutEvaluator, rollout_weight: float
    ) -> None:
        if not 0.0 < float(rollout_weight) <= 1.0:
            raise ValueError(
                f"MixedEvaluator: rollout_weight must be in (0, 1], got {rollout_weight!r} "
                "(0 is the plain NetworkEvaluator)"
            )
        self.network = network
        self.rollouts = rollouts
        self.rollout_weight = float(rollout_weight)

    def evaluate(self, states: Sequence[GridState], player: int) -> tuple[np.ndarray, np.ndarray]:
        """Priors and mixed values with goal-free co-player queries."""
        priors, net_values = self.network.evaluate(states, player)
        _, rollout_values = self.rollouts.evaluate(states, player)
        return priors, self._mix(net_values, rollout_values)

    def priors(self, states: Sequence[GridState], player: int) -> np.ndarray:
        """The network's priors alone (no rollouts)."""
        return self.network.evaluate(states, player)[0]

    def values_with_goals(
        self, states: Sequence[GridState], player: int, goals: Sequence[Goals], redraw: Redraw
    ) -> np.ndarray:
        """The mixed values alone (the value net is asked only when it has a share)."""
        rollout_values = self.rollouts.values_with_goals(states, player, goals, redraw)
        if self.rollout_weight == 1.0:
            return np.asarray(rollout_values, dtype=np.float64)
        return self._mix(self.network.evaluate(states, player)[1], rollout_values)

    def evaluate_with_goals(
        self, states: Sequence[GridState], player: int, goals: Sequence[Goals], redraw: Redraw
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`evaluate`, the rollouts' co-players pursuing the tree's ``goals``."""
        priors, net_values = self.network.evaluate(states, player)
        rollout_values = self.rollouts.values_with_goals(states, player, goals, redraw)
        return priors, self._mix(net_values, rollout_values)

    def _mix(self, net_values: np.ndarray, rollout_values: np.ndarray) -> np.ndarray:
        w = self.rollout_weight
        if w == 1.0:
            return np.asarray(rollout_values, dtype=np.float64)
        return (1.0 - w) * np.asarray(net_values) + w * np.asarray(rollout_values)


def build_leaf_evaluator(
    config: LeafValueConfig,
    rules: GridRules,
    focal_net: FocalNet,
    coplayer_policy: CoplayerPolicy,
    *,
    discount: float,
    seed: int,
) -> NetworkEvaluator | MixedEvaluator:
    """The leaf evaluator ``config`` asks for; rollouts discount like the search."""
    network = NetworkEvaluator(focal_net, rules)
    if not config.uses_rollouts:
        return network
    rollouts = RolloutEvaluator(
        rules,
        coplayer_policy,
        depth=config.rollout_depth,
        discount=discount,
        num_rollouts=config.num_rollouts,
        focal_policy=config.rollout_policy,
        seed=seed,
    )
    return MixedEvaluator(network, rollouts, config.rollout_weight)
