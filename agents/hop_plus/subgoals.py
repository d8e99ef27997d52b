"""Hindsight subgoals of co-players: for every step, a state picked from its own future.

HOP+ (after OMG, Yu, Jiang and Lu, NeurIPS 2024) learns to infer a co-player's subgoal from
its history. The training target of step ``t`` of a co-player's trajectory (its states
``s_0 .. s_{T-1}``, the states it acted in) is a **hindsight subgoal** ``g_t``: one of its
own future states in the same episode, within a horizon ``H`` (:data:`HORIZONS`).

**The window.** The candidates of step ``t`` are the states ``s_{t+1} .. s_{min(t+H, T-1)}``;
the last step (``t = T-1``) has no future state in the trajectory, so its only candidate is
``s_{T-1}`` itself (clipped at the episode's end). :func:`future_window` gives the bounds.

**Selectors** (:data:`SELECTORS`):

* ``"optimistic"`` / ``"conservative"``: OMG's value-based selectors, the candidate that
  maximises / minimises a value estimate ``value(grids) -> (K,)`` (cooperative games /
  general-sum games). Ties go to the earliest candidate.
* ``"reference"``: the state of the co-player's next **achievement** (capture or removal,
  ``rules.goals``' events) strictly after ``t`` and within ``H`` steps, that is the state in
  which it acted to capture or remove (it stands on the object); else the state ``H`` steps on,
  clipped at the episode's end.

**Achievements** come from the hindsight labels (``rules.goals.labels``: every step carries
the goal achieved next, at or after it, else IDLE). A step ``k`` achieved a goal when its
label is not IDLE and the next step's label differs (or ``k`` is the last step). This reads
one achievement per run of equal labels, exact in games where an achieved goal cannot be
achieved again at once (prey and drifts never respawn); :func:`achievement_steps` checks the
count against the co-player's recorded outcome and raises when they disagree. A trajectory
without labels (censored: its episode had not ended) has no known achievement, so the
reference selector takes ``H`` steps on for every step.

**Representation.** A subgoal is the co-player's own-view grid of the chosen state (the
``(C, H, W)`` binary view ``FeatureBuilder.grids`` gives for that player: its own position in
channel 0, the other players, walls, objects), so a decoder can reconstruct it plane by plane.

Numpy only (no torch).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from agents.hop.interfaces import IDLE

__all__ = [
    "CONSERVATIVE",
    "DEFAULT_HORIZON",
    "HORIZONS",
    "OPTIMISTIC",
    "REFERENCE",
    "SELECTORS",
    "ValueFn",
    "achievement_steps",
    "check_horizon",
    "check_selector",
    "future_window",
    "reference_indices",
    "select_subgoals",
    "subgoal_indices",
    "value_indices",
]

#: Horizons accepted for the hindsight window.
HORIZONS = (1, 3, 5, 10)
DEFAULT_HORIZON = 5
REFERENCE, OPTIMISTIC, CONSERVATIVE = "reference", "optimistic", "conservative"
SELECTORS = (REFERENCE, OPTIMISTIC, CONSERVATIVE)

#: A value estimate of own-view grids: ``(K, C, H, W)`` float32 -> ``(K,)``.
ValueFn = Callable[[np.ndarray], np.ndarray]


def check_horizon(horizon: object, where: str) -> int:
    """``horizon`` if it is one of :data:`HORIZONS`, else ``ValueError`` naming ``where``."""
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer):
        raise ValueError(f"{where}: horizon must be one of {list(HORIZONS)}, got {horizon!r}")
    if int(horizon) not in HORIZONS:
        raise ValueError(f"{where}: horizon must be one of {list(HORIZONS)}, got {horizon}")
    return int(horizon)


def check_selector(selector: object, where: str) -> str:
    """``selector`` if it is one of :data:`SELECTORS`, else ``ValueError`` naming ``where``."""
    if selector not in SELECTORS:
        raise ValueError(f"{where}: selector must be one of {list(SELECTORS)}, got {selector!r}")
    return str(selector)


def _check_length(length: object, where: str) -> int:
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 1:
        raise ValueError(f"{where}: a trajectory needs at least 1 step, got length {length!r}")
    return int(length)


def future_window(length: int, t: int, horizon: int) -> tuple[int, int]:
    """``(start, stop)``: the candidate indices ``range(start, stop)`` of step ``t`` in a
    trajectory of ``length`` steps (module docstring: ``t+1 .. min(t+H, T-1)``, or ``T-1``
    alone for the last step)."""
    length = _check_length(length, "future_window")
    horizon = check_horizon(horizon, "future_window")
    if not 0 <= t < length:
        raise ValueError(f"future_window: t must be in [0, {length - 1}], got {t}")
    last = length - 1
    if t == last:
        return last, length
    return t + 1, min(t + horizon, last) + 1


def value_indices(values: np.ndarray, horizon: int, mode: str) -> np.ndarray:
    """``(T,)`` int: per step, the candidate index with the largest (``"optimistic"``) or
    smallest (``"conservative"``) ``values[k]`` in its window (ties: the earliest)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.shape[0] < 1:
        raise ValueError(f"value_indices: values must be a non-empty 1-D array, got {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("value_indices: values must be finite")
    if mode not in (OPTIMISTIC, CONSERVATIVE):
        raise ValueError(
            f"value_indices: mode must be {OPTIMISTIC!r} or {CONSERVATIVE!r}, got {mode!r}"
        )
    horizon = check_horizon(horizon, "value_indices")
    out = np.empty(v.shape[0], dtype=np.int64)
    pick = np.argmax if mode == OPTIMISTIC else np.argmin
    for t in range(v.shape[0]):
        start, stop = future_window(v.shape[0], t, horizon)
        out[t] = start + int(pick(v[start:stop]))
    return out


def reference_indices(achieved: np.ndarray, horizon: int) -> np.ndarray:
    """``(T,)`` int: per step ``t``, the first step ``e`` in ``t+1 .. t+H`` with
    ``achieved[e]``, else ``min(t+H, T-1)``."""
    a = np.asarray(achieved)
    if a.ndim != 1 or a.shape[0] < 1 or a.dtype != bool:
        raise ValueError(
            f"reference_indices: achieved must be a non-empty 1-D bool array, got "
            f"{a.dtype} {a.shape}"
        )
    horizon = check_horizon(horizon, "reference_indices")
    length = a.shape[0]
    out = np.empty(length, dtype=np.int64)
    for t in range(length):
        start, stop = future_window(length, t, horizon)
        hits = np.flatnonzero(a[start:stop]) if t < length - 1 else np.zeros(0, np.int64)
        out[t] = start + int(hits[0]) if hits.size else stop - 1
    return out


def achievement_steps(labels: np.ndarray | None, length: int, expected: int | None = None):
    """``(T,)`` bool: the steps at which a co-player achieved a goal, read from its hindsight
    labels (module docstring); all False without labels. ``expected`` (the number of goals
    it achieved, ``CoplayerOutcome.achievements``) is checked when given."""
    length = _check_length(length, "achievement_steps")
    if labels is None:
        return np.zeros(length, dtype=bool)
    lab = np.asarray(labels, dtype=np.int64)
    if lab.shape != (length,):
        raise ValueError(f"achievement_steps: labels must have shape ({length},), got {lab.shape}")
    changed = np.ones(length, dtype=bool)
    changed[:-1] = lab[1:] != lab[:-1]
    out = (lab != IDLE) & changed
    if expected is not None and int(out.sum()) != int(expected):
        raise ValueError(
            f"achievement_steps: labels {lab.tolist()} show {int(out.sum())} achievement(s) "
            f"but the outcome records {expected}; the reference selector assumes a goal is "
            "not achieved twice in a row"
        )
    return out


def subgoal_indices(
    length: int,
    horizon: int,
    selector: str,
    *,
    achieved: np.ndarray | None = None,
    values: np.ndarray | None = None,
) -> np.ndarray:
    """``(T,)`` int: the index of each step's hindsight subgoal with ``selector``
    (``achieved`` for ``"reference"``, ``values`` for the value-based selectors)."""
    length = _check_length(length, "subgoal_indices")
    selector = check_selector(selector, "subgoal_indices")
    if selector == REFERENCE:
        a = np.zeros(length, dtype=bool) if achieved is None else np.asarray(achieved)
        if a.shape != (length,):
            raise ValueError(
                f"subgoal_indices: achieved must have shape ({length},), got {a.shape}"
            )
        return reference_indices(a, horizon)
    if values is None:
        raise ValueError(f"subgoal_indices: the {selector!r} selector needs values (a value fn)")
    v = np.asarray(values)
    if v.shape != (length,):
        raise ValueError(f"subgoal_indices: values must have shape ({length},), got {v.shape}")
    return value_indices(v, horizon, selector)


def select_subgoals(
    grids: np.ndarray,
    horizon: int,
    selector: str,
    *,
    labels: np.ndarray | None = None,
    achievements: int | None = None,
    value: ValueFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Hindsight subgoals of one trajectory of own-view ``grids`` ``(T, C, H, W)``:
    ``(indices (T,), subgoal grids (T, C, H, W))`` (same dtype as ``grids``).

    ``labels``/``achievements``: the co-player's hindsight labels and achievement count (the
    reference selector); ``value``: the value estimate of the value-based selectors, called
    once on all ``T`` grids (as float32)."""
    g = np.asarray(grids)
    if g.ndim != 4 or g.shape[0] < 1:
        raise ValueError(f"select_subgoals: grids must be (T, C, H, W) with T >= 1, got {g.shape}")
    selector = check_selector(selector, "select_subgoals")
    length = g.shape[0]
    if selector == REFERENCE:
        achieved = achievement_steps(labels, length, achievements)
        index = subgoal_indices(length, horizon, selector, achieved=achieved)
    else:
        if value is None:
            raise ValueError(
                f"select_subgoals: the {selector!r} selector needs a value estimate "
                "value(grids) -> (T,)"
            )
        values = np.asarray(value(g.astype(np.float32)), dtype=np.float64).reshape(-1)
        if values.shape != (length,):
            raise ValueError(
                f"select_subgoals: value(grids) must return {length} values, got {values.shape}"
            )
        index = subgoal_indices(length, horizon, selector, values=values)
    return index, g[index]
