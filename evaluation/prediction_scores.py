"""Scoring co-player predictions (:mod:`agents.prediction`) against what the co-players did.

For every joint step, every focal agent with ``predict_coplayers`` and every co-player seat it
predicted that acted in the step (one *scored item*), three scores of the predicted action
distribution ``p`` against the action ``a`` taken (as chosen, before any masking):

* log-likelihood ``log(max(p[a], LOG_FLOOR))``: the floor (:data:`LOG_FLOOR`, 1e-6, so at
  worst about -13.8) keeps one impossible prediction from making the mean ``-inf``;
* top-1 accuracy: ``1 / t`` when ``a`` is one of the ``t`` most probable actions (ties
  split), else 0;
* Brier score ``sum_b (p[b] - [b == a])^2`` (0 is perfect, 2 the worst).

Two references in the same units, over the same steps: a uniform predictor over the
co-player's legal actions (its own action mask), and, where the co-player has an exact
``action_distribution(observation)`` (memoryless rule-based co-players; asked on the
co-player's own observation before it acts, which draws nothing from its RNG), the true
distribution (over its own, possibly smaller, set of items).

Goal beliefs are scored by the probability given to the goal the co-player actually pursued at
that step: its hindsight label (:meth:`hop_envs.core.goals.GoalSpace.labels`, the goal it
achieved next at or after the step, else IDLE; the rule HOP's opponent-model training labels
its data with), known once the episode has ended.

Per episode the means and counts go to the episode record (:class:`EpisodeScores`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from agents.prediction import CoplayerPrediction
from hop_envs.core.goals import GoalSpace

__all__ = [
    "LOG_FLOOR",
    "EpisodeScores",
    "PredictionScorer",
    "StepScore",
    "score_action",
    "uniform_over_mask",
]

#: Probabilities are clipped at this value before the log.
LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class StepScore:
    """The scores of one predicted distribution against one action."""

    loglik: float
    accuracy: float
    brier: float


def score_action(probs: np.ndarray, action: int) -> StepScore:
    """Log-likelihood (floored at :data:`LOG_FLOOR`), top-1 accuracy (ties split) and Brier
    score of ``probs`` for ``action``."""
    p = np.asarray(probs, dtype=np.float64)
    a = int(action)
    if not 0 <= a < p.shape[0]:
        raise ValueError(f"score_action: action {a} is not in [0, {p.shape[0] - 1}]")
    top = np.flatnonzero(p >= p.max())
    accuracy = 1.0 / top.size if a in top else 0.0
    onehot = np.zeros_like(p)
    onehot[a] = 1.0
    brier = float(((p - onehot) ** 2).sum())
    return StepScore(math.log(max(float(p[a]), LOG_FLOOR)), accuracy, brier)


def uniform_over_mask(mask: Any) -> np.ndarray:
    """The distribution uniform over the actions ``mask`` allows (over all actions if it
    allows none, which the games never do: stay is always legal)."""
    m = np.asarray(mask).astype(bool)
    if not m.any():
        m = np.ones_like(m)
    return m / m.sum()


@dataclass(frozen=True)
class EpisodeScores:
    """One episode's prediction scores, as stored with its record (``om_`` columns).

    ``count``: scored items (predicting focal seat, co-player seat, step); ``loglik``,
    ``accuracy``, ``brier``: the agent's means over them; ``uniform_*``: the uniform
    reference's means over the same items; ``exact_count`` and ``exact_*``: the items whose
    co-player has an exact distribution, and its means over them; ``goal_count`` and
    ``goal_prob``: predictions with a goal belief and the mean probability they gave the
    hindsight goal. Means of no items are None.
    """

    count: int
    loglik: float | None
    accuracy: float | None
    brier: float | None
    uniform_loglik: float | None
    uniform_accuracy: float | None
    uniform_brier: float | None
    exact_count: int
    exact_loglik: float | None
    exact_accuracy: float | None
    exact_brier: float | None
    goal_count: int
    goal_prob: float | None

    def as_record_fields(self) -> dict[str, Any]:
        """The ``om_<field>`` keyword arguments of :class:`evaluation.records.EpisodeRecord`."""
        return {f"om_{f.name}": getattr(self, f.name) for f in fields(self)}


class _Means:
    """Running sums of scores."""

    def __init__(self) -> None:
        self.count = 0
        self.sums = [0.0, 0.0, 0.0]

    def add(self, score: StepScore) -> None:
        self.count += 1
        self.sums[0] += score.loglik
        self.sums[1] += score.accuracy
        self.sums[2] += score.brier

    def means(self) -> tuple[float | None, float | None, float | None]:
        if self.count == 0:
            return None, None, None
        return tuple(s / self.count for s in self.sums)  # type: ignore[return-value]


class PredictionScorer:
    """Scores of one episode (module docstring). Per joint step: :meth:`references` (before
    the players act), :meth:`predict` (per predicting focal seat, after its ``act``),
    :meth:`score` (after the env step); then :meth:`finish`."""

    def __init__(self, goals: GoalSpace, agent_ids: list[str]) -> None:
        self.goals = goals
        self.agent_ids = list(agent_ids)
        self.agent = _Means()
        self.uniform = _Means()
        self.exact = _Means()
        #: Per co-player seat: its per-step goal events (the steps it acted in).
        self._events: dict[int, list[int | None]] = {}
        #: (co-player seat, its step index, goal belief) awaiting the hindsight label.
        self._goal_beliefs: list[tuple[int, int, Mapping[int, float]]] = []
        self._exact: dict[int, np.ndarray] = {}
        self._masks: dict[int, Any] = {}
        self._pending: list[tuple[int, CoplayerPrediction]] = []

    def references(
        self, observations: Mapping[str, Mapping[str, Any]], players: list[Any], live: list[str]
    ) -> None:
        """Note the action masks and, where a co-player has one, its exact distribution, of
        every player in the game (``live``), from its own observation before it acts."""
        self._exact, self._masks, self._pending = {}, {}, []
        for agent_id in live:
            j = self.agent_ids.index(agent_id)
            observation = observations[agent_id]
            self._masks[j] = observation["action_mask"]
            exact = getattr(players[j], "action_distribution", None)
            if exact is not None:
                self._exact[j] = np.asarray(exact(observation), dtype=np.float64)

    def predict(self, predictions: Mapping[int, CoplayerPrediction]) -> None:
        """Keep one focal seat's checked predictions for :meth:`score`."""
        self._pending.extend(predictions.items())

    def score(self, actions: Mapping[str, int], infos: Mapping[str, Mapping[str, Any]]) -> None:
        """Score the kept predictions against ``actions``; record the step's goal events."""
        acted = {self.agent_ids.index(a): int(x) for a, x in actions.items()}
        steps = {j: len(self._events.get(j, [])) for j in acted}
        for j, prediction in self._pending:
            if j not in acted:
                continue
            a = acted[j]
            self.agent.add(score_action(prediction.actions, a))
            self.uniform.add(score_action(uniform_over_mask(self._masks[j]), a))
            if j in self._exact:
                self.exact.add(score_action(self._exact[j], a))
            if prediction.goals is not None:
                self._goal_beliefs.append((j, steps[j], prediction.goals))
        for j in acted:
            event = self.goals.info_goal(infos[self.agent_ids[j]])
            self._events.setdefault(j, []).append(event)
        self._pending = []

    def finish(self) -> EpisodeScores:
        """The episode's means (the episode is over: every co-player's labels are known)."""
        labels = {j: self.goals.labels(events, ended=True) for j, events in self._events.items()}
        probs = [
            float(goals.get(int(labels[j][k]), 0.0))  # type: ignore[index]
            for j, k, goals in self._goal_beliefs
        ]
        return EpisodeScores(
            self.agent.count,
            *self.agent.means(),
            *self.uniform.means(),
            self.exact.count,
            *self.exact.means(),
            len(probs),
            sum(probs) / len(probs) if probs else None,
        )
