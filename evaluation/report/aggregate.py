"""Robust aggregate statistics over tasks and runs, after Agarwal et al., "Deep RL at the
edge of the statistical precipice" (NeurIPS 2021) and their ``rliable`` library.

Inputs are *normalized scores* per task (a task = one scenario) as 1-D arrays over runs (a
run = one trial); tasks may have different numbers of runs. The aggregates, the stratified
bootstrap and the probability of improvement follow rliable's definitions, re-implemented
with numpy alone (rliable does not import with pandas 3, and scipy is not a dependency):

* :func:`interquartile_mean` -- ``scipy.stats.trim_mean(scores, 0.25, axis=None)``: the
  mean of the pooled scores after cutting ``int(0.25 * n)`` of the ``n`` scores from each
  end (so n = 10 keeps the middle 6, n = 3 keeps all 3).
* :func:`bootstrap_interval` -- runs resampled with replacement *within each task*
  (stratified by task), the aggregate recomputed, percentile interval (rliable's default).
* :func:`probability_of_improvement` -- per task the Mann-Whitney U statistic over
  ``n_x n_y``, i.e. ``P(x > y) + 0.5 P(x = y)``, averaged over tasks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: Normalized scores: task -> scores over runs (any 1-D sequence of finite numbers).
TaskScores = Mapping[Hashable, ArrayLike]
#: An aggregate of :data:`TaskScores` (e.g. :func:`interquartile_mean`).
Aggregate = Callable[[Mapping[Hashable, np.ndarray]], float]

DEFAULT_REPS = 2000
DEFAULT_CONFIDENCE = 0.95
#: Bound on the booleans one vectorised pairwise comparison allocates at once.
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap percentile interval ``[low, high]``.

    The percentile interval need not contain ``point`` (it usually does): it is read off the
    bootstrap distribution, not centred on the estimate.
    """

    point: float
    low: float
    high: float
    reps: int
    confidence: float

    @property
    def width(self) -> float:
        return self.high - self.low


# --- aggregates ------------------------------------------------------------------------


def interquartile_mean(scores: TaskScores) -> float:
    """The IQM: the 25% trimmed mean of all (task, run) scores pooled together.

    rliable takes ``trim_mean`` over a runs x tasks matrix with ``axis=None``, i.e. over the
    pooled scores; ragged tasks are pooled the same way, so a task with more runs weighs more.
    ``int(0.25 * n)`` scores are cut from each end, as ``scipy.stats.trim_mean`` does.
    """
    return _trim_mean(_pooled(_as_tasks(scores, "scores")), 0.25)


def mean_score(scores: TaskScores) -> float:
    """The mean over tasks of each task's mean over runs (rliable's ``aggregate_mean``):
    every task weighs the same whatever its number of runs."""
    return float(np.mean([runs.mean() for runs in _as_tasks(scores, "scores").values()]))


def median_score(scores: TaskScores) -> float:
    """The median over tasks of each task's mean over runs (rliable's ``aggregate_median``)."""
    return float(np.median([runs.mean() for runs in _as_tasks(scores, "scores").values()]))


def optimality_gap(scores: TaskScores, gamma: float = 1.0) -> float:
    """How far the pooled scores fall short of ``gamma``: ``gamma - mean(min(score, gamma))``
    over all (task, run) scores (rliable's ``aggregate_optimality_gap``)."""
    if not math.isfinite(gamma):
        raise ValueError(f"optimality_gap: gamma must be finite, got {gamma!r}")
    pooled = _pooled(_as_tasks(scores, "scores"))
    return float(gamma - np.minimum(pooled, gamma).mean())


def probability_of_improvement(
    x: TaskScores, y: TaskScores, *, labels: tuple[str, str] = ("x", "y")
) -> float:
    """P(X > Y): per task the Mann-Whitney U of ``x`` over ``y`` divided by ``n_x n_y``
    (``P(x > y) + 0.5 P(x = y)`` for a random run of each), averaged over tasks with equal
    weight. ``x`` and ``y`` must cover the same tasks; ``labels`` name them in errors."""
    tx, ty = _paired_tasks(x, y, labels)
    return float(np.mean([_task_improvement(tx[t], ty[t]) for t in tx]))


# --- stratified bootstrap --------------------------------------------------------------


def bootstrap_interval(
    scores: TaskScores,
    aggregate: Aggregate = interquartile_mean,
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int | np.random.Generator = 0,
) -> Interval:
    """``aggregate(scores)`` with a stratified-bootstrap percentile interval.

    Each of ``reps`` replicates resamples, with replacement, each task's runs within that task
    (as many as it has), and recomputes ``aggregate``; ``[low, high]`` are the
    ``(1 -/+ confidence) / 2`` quantiles (linear interpolation) of the replicates. Tasks are
    drawn in sorted order, so the same ``seed`` and scores give the same interval whatever
    the mapping's order.
    """
    _check_bootstrap(reps, confidence)
    tasks = _as_tasks(scores, "scores")
    point = _finite_aggregate(aggregate, tasks, "the scores")
    rng = np.random.default_rng(seed)
    # Drawn in sorted task order, handed to the aggregate in the caller's order.
    drawn = {t: _resample(tasks[t], reps, rng) for t in _order(tasks)}
    draws = {t: drawn[t] for t in tasks}
    vectorized = _VECTORIZED.get(aggregate)
    if vectorized is not None:
        replicates = vectorized(draws)
    else:
        replicates = np.array([aggregate({t: d[r] for t, d in draws.items()}) for r in range(reps)])
    return _percentile_interval(point, replicates, confidence, what=_name(aggregate))


def probability_of_improvement_interval(
    x: TaskScores,
    y: TaskScores,
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int | np.random.Generator = 0,
    labels: tuple[str, str] = ("x", "y"),
) -> Interval:
    """:func:`probability_of_improvement` with a stratified-bootstrap percentile interval:
    each replicate resamples the runs of ``x`` and, independently, those of ``y`` within each
    task (rliable's ``StratifiedIndependentBootstrap``)."""
    _check_bootstrap(reps, confidence)
    tx, ty = _paired_tasks(x, y, labels)
    point = float(np.mean([_task_improvement(tx[t], ty[t]) for t in tx]))
    rng = np.random.default_rng(seed)
    per_task = []
    for t in _order(tx):
        xs = _resample(tx[t], reps, rng)
        ys = _resample(ty[t], reps, rng)
        per_task.append(_task_improvement_rows(xs, ys))
    replicates = np.mean(per_task, axis=0)
    return _percentile_interval(point, replicates, confidence, what="probability_of_improvement")


def improvement_reading(low: float, high: float) -> str:
    """``"better"``, ``"worse"`` or ``"within noise"``: where a probability-of-improvement
    interval ``[low, high]`` lies against 0.5 (one that contains 0.5 is within noise)."""
    if low > 0.5:
        return "better"
    if high < 0.5:
        return "worse"
    return "within noise"


# --- helpers ---------------------------------------------------------------------------


def _resample(runs: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``reps`` rows, each ``runs.size`` runs drawn with replacement from ``runs``."""
    return runs[rng.integers(0, runs.size, (reps, runs.size))]


def _trim_mean(values: np.ndarray, proportion: float) -> float:
    """``scipy.stats.trim_mean(values, proportion)``: cut ``int(proportion * n)`` per end."""
    cut = int(proportion * values.size)
    return float(np.sort(values)[cut : values.size - cut].mean())


def _iqm_rows(draws: Mapping[Hashable, np.ndarray]) -> np.ndarray:
    """:func:`interquartile_mean` of each replicate row (draws: task -> reps x runs)."""
    pooled = np.sort(np.concatenate(list(draws.values()), axis=1), axis=1)
    cut = int(0.25 * pooled.shape[1])
    return pooled[:, cut : pooled.shape[1] - cut].mean(axis=1)


def _task_means(draws: Mapping[Hashable, np.ndarray]) -> np.ndarray:
    return np.stack([d.mean(axis=1) for d in draws.values()])


def _gap_rows(draws: Mapping[Hashable, np.ndarray]) -> np.ndarray:
    pooled = np.concatenate(list(draws.values()), axis=1)
    return 1.0 - np.minimum(pooled, 1.0).mean(axis=1)


#: Replicate-at-once versions of the module's aggregates (same numbers, no Python loop).
_VECTORIZED: dict[Callable[..., float], Callable[[Mapping[Hashable, np.ndarray]], np.ndarray]] = {
    interquartile_mean: _iqm_rows,
    mean_score: lambda draws: _task_means(draws).mean(axis=0),
    median_score: lambda draws: np.median(_task_means(draws), axis=0),
    optimality_gap: _gap_rows,
}


def _pooled(tasks: Mapping[Hashable, np.ndarray]) -> np.ndarray:
    return np.concatenate(list(tasks.values()))


def _task_improvement(a: np.ndarray, b: np.ndarray) -> float:
    """U / (n_a n_b) with ties counted half: P(a > b) + 0.5 P(a = b)."""
    return float(_task_improvement_rows(a[None, :], b[None, :])[0])


def _task_improvement_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise :func:`_task_improvement` of ``a`` (reps x n_a) over ``b`` (reps x n_b)."""
    reps, pairs = a.shape[0], a.shape[1] * b.shape[1]
    out = np.empty(reps)
    step = max(1, _CHUNK_ELEMENTS // pairs)
    for start in range(0, reps, step):
        left, right = a[start : start + step, :, None], b[start : start + step, None, :]
        wins = (left > right).sum(axis=(1, 2)) + 0.5 * (left == right).sum(axis=(1, 2))
        out[start : start + step] = wins / pairs
    return out


def _as_tasks(scores: TaskScores, where: str) -> dict[Hashable, np.ndarray]:
    """Validated float arrays per task; errors name the task, the run and what was wrong."""
    if not isinstance(scores, Mapping):
        raise TypeError(
            f"{where} must map task -> normalized scores over runs, got {type(scores).__name__}"
        )
    if not scores:
        raise ValueError(f"{where} has no tasks; expected at least one task with runs")
    tasks: dict[Hashable, np.ndarray] = {}
    for task, values in scores.items():
        try:
            runs = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{where}[{task!r}] is not a sequence of numbers ({err}); "
                "expected a 1-D sequence of normalized scores, one per run"
            ) from None
        if runs.ndim != 1:
            raise ValueError(
                f"{where}[{task!r}] has shape {runs.shape}; expected a 1-D sequence of "
                "normalized scores, one per run"
            )
        if runs.size == 0:
            raise ValueError(f"{where}[{task!r}] has no runs; expected at least one score")
        bad = np.flatnonzero(~np.isfinite(runs))
        if bad.size:
            raise ValueError(
                f"{where}[{task!r}] run {int(bad[0])} is {float(runs[bad[0]])!r}; "
                "expected finite normalized scores"
            )
        tasks[task] = runs
    return tasks


def _paired_tasks(
    x: TaskScores, y: TaskScores, labels: tuple[str, str]
) -> tuple[dict[Hashable, np.ndarray], dict[Hashable, np.ndarray]]:
    """``x`` and ``y`` validated, ``y`` in ``x``'s task order; the same task set required."""
    name_x, name_y = labels
    tx, ty = _as_tasks(x, name_x), _as_tasks(y, name_y)
    only_x = sorted(map(repr, tx.keys() - ty.keys()))
    only_y = sorted(map(repr, ty.keys() - tx.keys()))
    if only_x or only_y:
        parts = []
        if only_x:
            parts.append(f"missing from {name_y}: {', '.join(only_x)}")
        if only_y:
            parts.append(f"missing from {name_x}: {', '.join(only_y)}")
        raise ValueError(
            f"{name_x} and {name_y} must be scored on the same tasks; " + "; ".join(parts)
        )
    return tx, {t: ty[t] for t in tx}


def _order(tasks: Mapping[Hashable, np.ndarray]) -> list[Hashable]:
    """A draw order independent of the mapping's insertion order."""
    return sorted(tasks, key=repr)


def _check_bootstrap(reps: int, confidence: float) -> None:
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 1:
        raise ValueError(f"reps must be a positive integer (bootstrap replicates), got {reps!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _finite_aggregate(
    aggregate: Aggregate, tasks: Mapping[Hashable, np.ndarray], where: str
) -> float:
    value = float(aggregate(tasks))
    if not math.isfinite(value):
        raise ValueError(f"{_name(aggregate)} of {where} is {value!r}; expected a finite number")
    return value


def _percentile_interval(
    point: float, replicates: np.ndarray, confidence: float, *, what: str
) -> Interval:
    replicates = np.asarray(replicates, dtype=float)
    if not np.isfinite(replicates).all():
        raise ValueError(f"{what} gave a non-finite value on a bootstrap replicate")
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return Interval(float(point), float(low), float(high), replicates.size, confidence)


def _name(aggregate: Aggregate) -> str:
    return getattr(aggregate, "__name__", repr(aggregate))
