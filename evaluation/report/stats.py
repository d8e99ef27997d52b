"""Means and Student-t confidence intervals over trials, without scipy.

The two-sided t critical value is found by bisection on the closed-form central probability
of Student's t for an integer number of degrees of freedom (Abramowitz & Stegun 26.7.3), so
the numbers are exact to float precision for every sample size, not a table lookup.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_CONFIDENCE = 0.95


def t_central_probability(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with ``df`` (integer >= 1) degrees of freedom."""
    _check_df(df)
    if t < 0:
        raise ValueError(f"t must be >= 0, got {t!r}")
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 1:
        series, term = 0.0, math.cos(theta)
        if df > 1:
            series = term
            for k in range(3, df - 1, 2):
                term *= (k - 1) / k * cos2
                series += term
        return min(1.0, 2.0 / math.pi * (theta + sin * series))
    series, term = 1.0, 1.0
    for k in range(2, df - 1, 2):
        term *= (k - 1) / k * cos2
        series += term
    return min(1.0, sin * series)


@lru_cache(maxsize=256)
def t_critical(confidence: float, df: int) -> float:
    """The t with P(|T| <= t) = ``confidence`` (e.g. 12.706 for 0.95 and df = 1)."""
    _check_df(df)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    low, high = 0.0, 1.0
    while t_central_probability(high, df) < confidence:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if t_central_probability(mid, df) < confidence:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * high:
            break
    return 0.5 * (low + high)


@dataclass(frozen=True)
class Estimate:
    """A mean over ``n`` independent values with the half-width of its confidence interval
    (``None`` when it is undefined: fewer than two values)."""

    mean: float
    ci: float | None
    n: int


def mean_ci(values: Sequence[float], confidence: float = DEFAULT_CONFIDENCE) -> Estimate:
    """Sample mean and Student-t confidence half-width ``t * s / sqrt(n)``."""
    if not values:
        raise ValueError("mean_ci needs at least one value, got none")
    floats = [float(v) for v in values]
    bad = [v for v in floats if not math.isfinite(v)]
    if bad:
        raise ValueError(f"mean_ci needs finite values, got {bad[0]!r} among {len(floats)}")
    n = len(floats)
    mean = math.fsum(floats) / n
    if n < 2:
        return Estimate(mean, None, n)
    half = t_critical(confidence, n - 1) * statistics.stdev(floats) / math.sqrt(n)
    return Estimate(mean, half, n)


def _check_df(df: int) -> None:
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"degrees of freedom must be an integer >= 1, got {df!r}")
