"""Robust aggregates (IQM, stratified bootstrap, probability of improvement) against
hand-worked numbers, and the aggregate / adaptation-curve figures drawn from them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from evaluation.report import (
    CurvePoint,
    Interval,
    adaptation_figure,
    aggregate_figure,
    bootstrap_interval,
    interquartile_mean,
    mean_score,
    median_score,
    optimality_gap,
    probability_of_improvement,
    probability_of_improvement_interval,
    save_adaptation_curves,
    save_aggregate_figure,
)

# --- interquartile mean ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        # n = 8: int(0.25 * 8) = 2 cut per end -> mean(3, 4, 5, 6) = 4.5.
        (list(range(1, 9)), 4.5),
        # n = 10: int(2.5) = 2 cut per end (no fractional weights) -> mean(4..128) = 252 / 6.
        # Fractional trimming (half weights on 4 and 128) would give 186 / 5 = 37.2 instead.
        ([512, 1, 256, 2, 128, 4, 64, 8, 32, 16], 42.0),
        # n = 3: int(0.75) = 0, nothing cut -> plain mean.
        ([0.0, 0.0, 3.0], 1.0),
        # n = 4: one cut per end -> mean(2, 3); n = 5: int(1.25) = 1 -> mean(2, 3, 4).
        ([1, 2, 3, 100], 2.5),
        ([100, 4, 3, 2, 1], 3.0),
        ([7.0], 7.0),
    ],
)
def test_iqm_cuts_int_quarter_from_each_end(runs: list[float], expected: float) -> None:
    assert interquartile_mean({"task": runs}) == pytest.approx(expected, abs=1e-12)


def test_iqm_pools_the_runs_of_all_tasks() -> None:
    # Ragged tasks are pooled: [1, 2, 3] + [4, 5, 6, 7, 8] -> IQM of 1..8 = 4.5 (the mean of
    # the per-task IQMs would be (2 + 6) / 2 = 4).
    assert interquartile_mean({"a": [1, 2, 3], "b": [4, 5, 6, 7, 8]}) == 4.5
    # A runs x tasks matrix gives the trimmed mean of all its cells, as in rliable.
    matrix = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0], [3.0, 13.0]])
    tasks = {f"t{j}": matrix[:, j] for j in range(2)}
    assert interquartile_mean(tasks) == pytest.approx((2 + 3 + 10 + 11) / 4)


def test_mean_median_and_optimality_gap_follow_rliable() -> None:
    # mean and median are over the task means: every task weighs the same.
    assert mean_score({"a": [0.0, 1.0], "b": [1.0, 1.0, 1.0, 1.0]}) == 0.75
    assert median_score({"a": [0.0], "b": [0.0, 1.0], "c": [2.0, 2.0]}) == 0.5
    assert median_score({"a": [0.0], "b": [1.0]}) == 0.5
    # optimality gap: pooled scores clipped at gamma -> 1 - mean(0.5, 1, 0) = 0.5.
    assert optimality_gap({"a": [0.5, 1.5], "b": [0.0]}) == pytest.approx(0.5)
    assert optimality_gap({"a": [0.5, 1.5]}, gamma=2.0) == pytest.approx(1.0)


# --- probability of improvement ------------------------------------------------------------


def test_probability_of_improvement_hand_worked() -> None:
    # X = [1, 2] vs Y = [1.5]: pairs (1 < 1.5), (2 > 1.5) -> 1 win of 2 = 0.5.
    assert probability_of_improvement({"t": [1, 2]}, {"t": [1.5]}) == 0.5
    # Ties count half: X = [1, 2] vs Y = [1]: tie (0.5) + win (1) -> 1.5 / 2 = 0.75.
    assert probability_of_improvement({"t": [1, 2]}, {"t": [1]}) == 0.75
    # Averaged over tasks with equal weight: a as above (0.5); b: X = [3] vs Y = [3, 4] ->
    # tie (0.5) + loss (0) -> 0.25; mean (0.5 + 0.25) / 2 = 0.375.
    x = {"a": [1, 2], "b": [3]}
    y = {"b": [3, 4], "a": [1.5]}
    assert probability_of_improvement(x, y) == 0.375
    assert probability_of_improvement(y, x) == 0.625
    # Identical runs: 0.5 (rliable's special case falls out of the tie rule).
    assert probability_of_improvement({"t": [1, 2, 3]}, {"t": [1, 2, 3]}) == 0.5


def test_probability_of_improvement_needs_the_same_tasks() -> None:
    with pytest.raises(ValueError, match=r"missing from random: 'b'; missing from hop: 'c'"):
        probability_of_improvement(
            {"a": [1], "b": [1]}, {"a": [1], "c": [1]}, labels=("hop", "random")
        )
    with pytest.raises(ValueError, match=r"x and y must be scored on the same tasks"):
        probability_of_improvement_interval({"a": [1]}, {"b": [1]}, reps=10)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=6),
    st.lists(st.integers(0, 4), min_size=1, max_size=6),
)
def test_probability_of_improvement_is_complementary(xs: list[int], ys: list[int]) -> None:
    # P(x > y) + 0.5 P(=) + P(y > x) + 0.5 P(=) = 1; integers give plenty of ties.
    forward = probability_of_improvement({"t": xs}, {"t": ys})
    backward = probability_of_improvement({"t": ys}, {"t": xs})
    assert forward + backward == pytest.approx(1.0)
    wins = sum((a > b) + 0.5 * (a == b) for a in xs for b in ys)
    assert forward == pytest.approx(wins / (len(xs) * len(ys)))


# --- stratified bootstrap ------------------------------------------------------------------


def test_bootstrap_of_constant_tasks_has_zero_width() -> None:
    interval = bootstrap_interval({"a": [0.3] * 5, "b": [0.7] * 2}, reps=50)
    assert interval.low == interval.point == interval.high
    assert interval.width == 0.0
    assert (interval.reps, interval.confidence) == (50, 0.95)


def test_bootstrap_is_stratified_by_task() -> None:
    # Each replicate keeps two runs of a (all 0) and two of b (all 1), so the pooled IQM is
    # always mean(0, 1) = 0.5; resampling the pooled runs would vary it.
    interval = bootstrap_interval({"a": [0.0, 0.0], "b": [1.0, 1.0]}, reps=200)
    assert (interval.low, interval.point, interval.high) == (0.5, 0.5, 0.5)


def test_bootstrap_percentile_interval_hand_worked() -> None:
    # One task [0, 1]: a resample's mean is 0, 0.5 or 1 with probability 1/4, 1/2, 1/4. The
    # 20% interval's quantiles 0.4 and 0.6 both fall on 0.5; the 95% one spans [0, 1].
    scores = {"t": [0.0, 1.0]}
    narrow = bootstrap_interval(scores, mean_score, reps=400, confidence=0.2, seed=3)
    assert (narrow.low, narrow.point, narrow.high) == (0.5, 0.5, 0.5)
    wide = bootstrap_interval(scores, mean_score, reps=400, seed=3)
    assert (wide.low, wide.high) == (0.0, 1.0)


def test_bootstrap_is_deterministic_and_contains_the_point() -> None:
    rng = np.random.default_rng(7)
    scores = {f"s{i}": rng.normal(0.5, 0.2, size=8 + i) for i in range(4)}
    first = bootstrap_interval(scores, reps=300, seed=11)
    assert first == bootstrap_interval(scores, reps=300, seed=11)
    assert first == bootstrap_interval(dict(reversed(scores.items())), reps=300, seed=11)
    assert first != bootstrap_interval(scores, reps=300, seed=12)
    assert first.low < first.point < first.high
    assert first.point == interquartile_mean(scores)


@pytest.mark.parametrize(
    "aggregate", [interquartile_mean, mean_score, median_score, optimality_gap]
)
def test_bootstrap_fast_path_matches_the_generic_one(aggregate) -> None:
    rng = np.random.default_rng(5)
    scores = {f"s{i}": rng.uniform(-0.5, 1.5, size=1 + 3 * i) for i in range(5)}
    fast = bootstrap_interval(scores, aggregate, reps=100, seed=1)
    slow = bootstrap_interval(scores, lambda s: aggregate(s), reps=100, seed=1)
    assert fast == slow


@settings(max_examples=25, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from("abcde"),
        st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=6),
        min_size=1,
    ),
    st.integers(0, 2**32 - 1),
)
def test_bootstrap_interval_stays_within_the_scores(scores, seed: int) -> None:
    interval = bootstrap_interval(scores, reps=40, seed=seed)
    pooled = [v for runs in scores.values() for v in runs]
    assert min(pooled) - 1e-9 <= interval.low <= interval.high <= max(pooled) + 1e-9


def test_probability_of_improvement_interval() -> None:
    # Disjoint ranges in every task: every replicate gives 1.
    x, y = {"a": [2, 3, 4], "b": [5, 6]}, {"a": [0, 1], "b": [1, 2, 3, 4]}
    sure = probability_of_improvement_interval(x, y, reps=50)
    assert (sure.low, sure.point, sure.high) == (1.0, 1.0, 1.0)
    rng = np.random.default_rng(2)
    x = {f"s{i}": rng.normal(0.6, 0.3, size=6) for i in range(3)}
    y = {f"s{i}": rng.normal(0.4, 0.3, size=9) for i in range(3)}
    interval = probability_of_improvement_interval(x, y, reps=300, seed=4)
    assert interval.point == probability_of_improvement(x, y)
    assert 0.0 <= interval.low < interval.point < interval.high <= 1.0
    assert interval == probability_of_improvement_interval(x, y, reps=300, seed=4)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "error", "message"),
    [
        ([0.1, 0.2], TypeError, r"scores must map task -> normalized scores over runs, got list"),
        ({}, ValueError, r"scores has no tasks"),
        ({"msh/a": []}, ValueError, r"scores\['msh/a'\] has no runs"),
        ({"a": [0.1], "b": [0.2, math.nan]}, ValueError, r"scores\['b'\] run 1 is nan; expected"),
        ({"a": [math.inf]}, ValueError, r"scores\['a'\] run 0 is inf; expected finite"),
        ({"a": [[0.1, 0.2]]}, ValueError, r"scores\['a'\] has shape \(1, 2\); expected a 1-D"),
        ({"a": ["high"]}, ValueError, r"scores\['a'\] is not a sequence of numbers"),
    ],
)
def test_bad_scores_are_named(scores, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        interquartile_mean(scores)


def test_bad_bootstrap_settings() -> None:
    with pytest.raises(ValueError, match=r"reps must be a positive integer .*got 0"):
        bootstrap_interval({"a": [1.0]}, reps=0)
    with pytest.raises(ValueError, match=r"reps must be a positive integer .*got True"):
        probability_of_improvement_interval({"a": [1.0]}, {"a": [1.0]}, reps=True)
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\), got 1.0"):
        bootstrap_interval({"a": [1.0]}, confidence=1.0)
    with pytest.raises(ValueError, match=r"nan_aggregate of the scores is nan"):

        def nan_aggregate(scores) -> float:
            return math.nan

        bootstrap_interval({"a": [1.0]}, nan_aggregate, reps=5)


# --- figures -------------------------------------------------------------------------------

ENV = "hop/MarkovStagHunt-v0"


def iv(point: float, low: float, high: float, reps: int = 20) -> Interval:
    return Interval(point, low, high, reps, 0.95)


PANELS = {
    "training": [("random", iv(0.0, -0.1, 0.1)), ("hop", iv(0.8, 0.6, 0.9))],
    "held-out": [("hop", iv(0.5, 0.3, 0.7)), ("random", iv(0.05, 0.0, 0.2))],
}


def test_aggregate_figure_draws_each_interval_in_a_panel_per_family(tmp_path) -> None:
    fig = aggregate_figure(ENV, PANELS)
    train, held = fig.axes
    assert (train.get_title(), held.get_title()) == ("training", "held-out")
    label = "IQM normalized score (0 = lowest, 1 = highest reference)"
    assert fig.get_supxlabel() == label
    # best mean point on top: hop (0.65) above random (0.025).
    labels = {t.get_text(): t.get_position()[1] for t in train.get_yticklabels()}
    assert labels["hop"] > labels["random"]
    bars = {p.get_label(): (p.get_x(), p.get_x() + p.get_width()) for p in held.patches}
    assert bars["hop"] == pytest.approx((0.3, 0.7))
    assert bars["random"] == pytest.approx((0.0, 0.2))
    title = fig._suptitle.get_text()
    assert title == "MarkovStagHunt-v0 · 95% stratified-bootstrap CI (20 reps)"
    path = save_aggregate_figure(ENV, PANELS, tmp_path / "agg" / "msh.png")
    assert path.stat().st_size > 0
    with Image.open(path) as image:
        assert image.format == "PNG"


def test_aggregate_figure_single_panel_and_order() -> None:
    entries = [("b", iv(0.2, 0.1, 0.3)), ("a", iv(0.2, 0.1, 0.3, reps=30))]
    fig = aggregate_figure(ENV, entries, agent_order=["b", "a"])
    (ax,) = fig.axes
    assert ax.get_title() == ""
    assert ax.get_xlabel().startswith("IQM normalized score")
    ticks = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text() for t in ticks] == ["b", "a"]
    assert fig._suptitle.get_text() == "MarkovStagHunt-v0"  # reps differ: no common note
    with pytest.raises(ValueError, match=r"agent_order lacks agent\(s\) \['a'\]"):
        aggregate_figure(ENV, entries, agent_order=["b"])
    with pytest.raises(ValueError, match=r"panel 'x' lists agent\(s\) \['a'\] more than once"):
        aggregate_figure(ENV, {"x": [("a", iv(0, 0, 0)), ("a", iv(0, 0, 0))]})
    with pytest.raises(ValueError, match=r"interval of 'a' in panel 'x' is .*low <= high"):
        aggregate_figure(ENV, {"x": [("a", iv(0.5, 0.6, 0.4))]})
    with pytest.raises(ValueError, match=r"panel 'x' has no"):
        aggregate_figure(ENV, {"x": []})


def curve(agent: str, means: list[float], ci: float | None, scenario: str = "msh/s") -> list:
    return [CurvePoint(ENV, scenario, agent, e, 10, m, ci) for e, m in enumerate(means)]


def test_coincident_curves_get_distinct_styles() -> None:
    agents = ["random", "nearest-stag", "hop", "ppo", "other"]
    points = [p for a in agents for p in curve(a, [1.0, 2.0, 2.0], 0.3)]
    fig = adaptation_figure(points, agents=agents, confidence=0.95)
    (ax,) = fig.axes
    lines = ax.get_lines()
    styles = [(line.get_marker(), line.get_linestyle()) for line in lines]
    assert len(set(styles)) == len(agents)
    assert len({line.get_marker() for line in lines}) == len(agents)
    assert len({line.get_linestyle() for line in lines[:4]}) == 4
    zorders = [line.get_zorder() for line in lines]
    assert zorders == sorted(zorders) and len(set(zorders)) == len(agents)
    # later lines are drawn on top, thinner and with smaller markers: the earlier ones show.
    for attribute in ("get_markersize", "get_linewidth"):
        values = [getattr(line, attribute)() for line in lines]
        assert values == sorted(values, reverse=True) and len(set(values)) == len(agents)
    assert [line.get_label() for line in lines][2] == "hop (n=10)"
    assert "n = trials" in ax.get_legend().get_title().get_text()


def band_ys(ax) -> list[np.ndarray]:
    return [path.vertices[:, 1] for band in ax.collections for path in band.get_paths()]


def test_bands_are_clipped_to_the_bounds(tmp_path) -> None:
    points = curve("hop", [0.1, 0.9, 0.5], 0.4) + curve("random", [0.0, 0.0, 0.0], 0.2)
    loose = adaptation_figure(points, agents=["hop", "random"], confidence=0.95)
    assert min(ys.min() for ys in band_ys(loose.axes[0])) < 0.0
    fig = adaptation_figure(points, agents=["hop", "random"], confidence=0.95, bounds=(0, 1))
    ys = band_ys(fig.axes[0])
    assert len(ys) == 2
    assert all(v.min() >= 0.0 and v.max() <= 1.0 for v in ys)
    assert ys[0].max() == 1.0  # 0.9 + 0.4 clipped
    legend = fig.axes[0].get_legend().get_title().get_text()
    assert "clipped to the feasible [0, 1]" in legend
    with pytest.raises(ValueError, match=r"bounds for 'msh/s' must be finite with low < high"):
        adaptation_figure(points, agents=["hop"], confidence=0.95, bounds=(1, 0))

    other = curve("hop", [5.0, 6.0], 3.0, scenario="msh/t")
    paths = save_adaptation_curves(
        points + other,
        tmp_path,
        confidence=0.95,
        bounds=lambda env_id, scenario: (0.0, 1.0) if scenario == "msh/s" else None,
    )
    assert sorted(s for _, s in paths) == ["msh/s", "msh/t"]
    assert all(p.stat().st_size > 0 for p in paths.values())


def test_improvement_reading_against_one_half() -> None:
    from evaluation.report.aggregate import improvement_reading

    assert improvement_reading(0.52, 0.68) == "better"
    assert improvement_reading(0.22, 0.40) == "worse"
    assert improvement_reading(0.43, 0.59) == "within noise"
    # an interval that touches 0.5 contains it: within noise on either side
    assert improvement_reading(0.5, 0.7) == "within noise"
    assert improvement_reading(0.3, 0.5) == "within noise"
