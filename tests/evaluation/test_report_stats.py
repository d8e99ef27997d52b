"""Student-t quantiles and confidence intervals against published table values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluation.report.stats import mean_ci, t_central_probability, t_critical

# Two-sided critical values from the standard t table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
T_TABLE_95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 29: 2.045, 100: 1.984}
T_TABLE_99 = {1: 63.657, 4: 4.604, 10: 3.169, 30: 2.750}


@pytest.mark.parametrize(("df", "expected"), sorted(T_TABLE_95.items()))
def test_t_critical_95_matches_table(df: int, expected: float) -> None:
    assert t_critical(0.95, df) == pytest.approx(expected, abs=5e-4)


@pytest.mark.parametrize(("df", "expected"), sorted(T_TABLE_99.items()))
def test_t_critical_99_matches_table(df: int, expected: float) -> None:
    assert t_critical(0.99, df) == pytest.approx(expected, abs=5e-4)


def test_t_central_probability_closed_forms() -> None:
    # df = 1 is the Cauchy distribution: P(|T| <= 1) = 2 atan(1) / pi = 1/2.
    assert t_central_probability(1.0, 1) == pytest.approx(0.5, abs=1e-12)
    # df = 2: P(|T| <= t) = t / sqrt(t^2 + 2).
    assert t_central_probability(1.0, 2) == pytest.approx(1 / math.sqrt(3), abs=1e-12)
    assert t_central_probability(0.0, 7) == 0.0


@given(st.floats(0.5, 0.999), st.integers(1, 300))
def test_t_critical_inverts_the_central_probability(confidence: float, df: int) -> None:
    assert t_central_probability(t_critical(confidence, df), df) == pytest.approx(
        confidence, abs=1e-9
    )


@given(st.floats(0.0, 50.0), st.floats(0.0, 50.0), st.integers(1, 60))
def test_central_probability_is_monotone(a: float, b: float, df: int) -> None:
    low, high = sorted((a, b))
    assert t_central_probability(low, df) <= t_central_probability(high, df) + 1e-15


def test_mean_ci_hand_worked() -> None:
    # values 1, 2, 3: mean 2, sample sd 1, half-width t(0.975, 2) / sqrt(3).
    est = mean_ci([1.0, 2.0, 3.0])
    assert est.mean == 2.0
    assert est.n == 3
    assert est.ci == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)


def test_mean_ci_single_value_has_no_interval() -> None:
    est = mean_ci([4.5])
    assert (est.mean, est.ci, est.n) == (4.5, None, 1)


@given(
    st.lists(st.floats(-100, 100), min_size=2, max_size=20),
    st.floats(-100, 100),
)
def test_mean_ci_shift_moves_mean_keeps_width(values: list[float], shift: float) -> None:
    base, moved = mean_ci(values), mean_ci([v + shift for v in values])
    assert moved.mean == pytest.approx(base.mean + shift, abs=1e-9)
    assert moved.ci == pytest.approx(base.ci, abs=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mean_ci([]), "at least one value"),
        (lambda: mean_ci([1.0, math.nan]), "finite values, got nan"),
        (lambda: t_critical(1.5, 3), "confidence must be in \\(0, 1\\), got 1.5"),
        (lambda: t_critical(0.95, 0), "degrees of freedom .* got 0"),
        (lambda: t_central_probability(-1.0, 3), "t must be >= 0, got -1.0"),
    ],
)
def test_bad_input_is_named(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
