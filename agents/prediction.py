"""The optional co-player prediction interface: what an agent expects its co-players to do.

An agent that models its co-players may implement::

    def predict_coplayers(self, observation) -> Mapping[int, CoplayerPrediction]

The evaluation runner calls it for a focal agent right after that agent's ``act`` on the
same ``observation`` (so its beliefs are those the decision used) and before the env steps,
and scores the answers against what the co-players then did (``evaluation.prediction_scores``).
The answer is keyed by seat and covers the other seats still in the game that the agent has a
model of (a seat left out is not scored). Agents without the method are not scored, and
nothing changes for them. The call must not change how the agent acts: no RNG draws, no
updates of its beliefs or models.

Goal beliefs, when given, are a mapping from goal id to probability in the ids of the game's
goal space (``rules.goals``, :mod:`hop_envs.core.goals`): stag hunt, the prey kind index
(``rules.goals.kind_names``); snowdrift, the flat cell ``row * width + col`` of the drift
removed next; :data:`~hop_envs.core.goals.IDLE` (-1) for "pursues nothing more". Goals not in
the mapping have probability 0. This module imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from agents.base import Observation

__all__ = [
    "SUM_TOLERANCE",
    "CoplayerPrediction",
    "PredictsCoplayers",
    "check_predictions",
    "predicts_coplayers",
]

#: How far from 1 a predicted distribution's sum may be.
SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class CoplayerPrediction:
    """One co-player's predicted next action (and, optionally, its current goal).

    ``actions``: probabilities over all the env's actions (float64, read-only copy; >= 0,
    summing to 1 within :data:`SUM_TOLERANCE`). ``goals``: None, or goal id -> probability
    (module docstring; >= 0, summing to 1 within :data:`SUM_TOLERANCE`).
    """

    actions: np.ndarray
    goals: Mapping[int, float] | None = None

    def __post_init__(self) -> None:
        probs = np.array(self.actions, dtype=np.float64, copy=True)
        if probs.ndim != 1 or probs.size == 0:
            raise ValueError(
                f"CoplayerPrediction.actions must be a non-empty 1-D array of action "
                f"probabilities, got shape {probs.shape}"
            )
        _check_distribution("actions", probs)
        probs.setflags(write=False)
        object.__setattr__(self, "actions", probs)
        if self.goals is not None:
            if not isinstance(self.goals, Mapping):
                raise ValueError(
                    "CoplayerPrediction.goals must be None or a mapping goal id -> probability, "
                    f"got {type(self.goals).__name__}"
                )
            goals: dict[int, float] = {}
            for goal, p in self.goals.items():
                if isinstance(goal, bool) or not isinstance(goal, int | np.integer):
                    raise ValueError(
                        f"CoplayerPrediction.goals must be keyed by integer goal ids, got {goal!r}"
                    )
                goals[int(goal)] = float(p)
            _check_distribution("goals", np.asarray(list(goals.values()), dtype=np.float64))
            object.__setattr__(self, "goals", MappingProxyType(goals))


def _check_distribution(name: str, probs: np.ndarray) -> None:
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise ValueError(
            f"CoplayerPrediction.{name} must be finite probabilities >= 0, got {probs.tolist()}"
        )
    total = float(probs.sum())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ValueError(
            f"CoplayerPrediction.{name} must sum to 1 (within {SUM_TOLERANCE}), got sum "
            f"{total!r} for {probs.tolist()}"
        )


@runtime_checkable
class PredictsCoplayers(Protocol):
    """An agent that predicts its co-players (module docstring)."""

    def predict_coplayers(self, observation: Observation) -> Mapping[int, CoplayerPrediction]:
        """Seat -> prediction for the other seats still in the game it has a model of."""
        ...


def predicts_coplayers(agent: object) -> bool:
    """Whether ``agent`` has a callable ``predict_coplayers``."""
    return callable(getattr(agent, "predict_coplayers", None))


def check_predictions(
    predictions: Any, *, who: str, seat: int, num_players: int, num_actions: int
) -> dict[int, CoplayerPrediction]:
    """``predictions`` from ``who`` at ``seat`` as a plain dict, checked: keyed by the other
    seats in ``[0, num_players)``, each a :class:`CoplayerPrediction` over ``num_actions``
    actions (``ValueError`` naming the agent, the seat and the bad value)."""
    if not isinstance(predictions, Mapping):
        raise ValueError(
            f"{who} at seat {seat}: predict_coplayers must return a mapping seat -> "
            f"CoplayerPrediction, got {type(predictions).__name__}"
        )
    out: dict[int, CoplayerPrediction] = {}
    for j, prediction in predictions.items():
        if (
            isinstance(j, bool)
            or not isinstance(j, int | np.integer)
            or not 0 <= j < num_players
            or j == seat
        ):
            raise ValueError(
                f"{who} at seat {seat}: predict_coplayers keys must be the other seats in "
                f"[0, {num_players - 1}], got {j!r}"
            )
        if not isinstance(prediction, CoplayerPrediction):
            raise ValueError(
                f"{who} at seat {seat}: the prediction for seat {j} must be a "
                f"CoplayerPrediction, got {type(prediction).__name__}"
            )
        if prediction.actions.shape != (num_actions,):
            raise ValueError(
                f"{who} at seat {seat}: the prediction for seat {j} has "
                f"{prediction.actions.shape[0]} action probabilities, expected {num_actions}"
            )
        out[int(j)] = prediction
    return out
