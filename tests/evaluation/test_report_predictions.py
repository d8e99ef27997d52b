"""Opponent-modelling quality in reports, against hand-worked numbers: per-step trial means,
intervals, the normalized log-likelihood, curve points, predictions.csv, the rank correlation
with returns, and an unchanged report without prediction scores."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from evaluation.records import EpisodeRecord
from evaluation.report import read_csv, summarize, write_report
from evaluation.report.predictions import (
    PredictionPoint,
    prediction_markdown,
    spearman,
    summarize_predictions,
)
from evaluation.report.stats import t_critical

MSH = "hop/MarkovStagHunt-v0"
S1, S2 = "msh/adapt-1v3-nearest-stag", "msh/heldout-1v3-alternator"
RULES = ("random", "nearest-stag", "nearest-hare")


def rule_based(env_id: str) -> tuple[str, ...]:
    return RULES


def rec(agent, scenario, trial, episode, focal=1.0, **om) -> EpisodeRecord:
    """A one-focal record; ``om`` sets om_<key> (a scored episode needs count and loglik)."""
    scores = {f"om_{k}": v for k, v in om.items()}
    if "count" in om:  # fill the agent's and the uniform's other means
        scores = {
            "om_accuracy": 0.5,
            "om_brier": 0.5,
            "om_uniform_loglik": -2.0,
            "om_uniform_accuracy": 0.2,
            "om_uniform_brier": 0.8,
            "om_exact_count": 0,
            "om_goal_count": 0,
            **scores,
        }
    return EpisodeRecord(
        agent=agent,
        scenario=scenario,
        env_id=MSH,
        seed=0,
        trial=trial,
        episode=episode,
        focal_seats=(0,),
        seat_players=(agent, "c", "c", "c"),
        returns=(focal, 1.0, 1.0, 1.0),
        length=5,
        stags=(0, 0, 0, 0),
        hares=(0, 0, 0, 0),
        drifts=(0, 0, 0, 0),
        package_version="0.1.0",
        config_hash="h",
        **scores,
    )


def exact(n: int, loglik: float = -0.5) -> dict:
    return {"exact_count": n, "exact_loglik": loglik, "exact_accuracy": 0.9, "exact_brier": 0.1}


def hop_records() -> list[EpisodeRecord]:
    """hop in S1: 2 trials x 2 episodes; every item has the exact reference (-0.5/step).

    trial 0: 2 items at -1.0, 6 at -0.5 -> -5/8 = -0.625 per step; accuracy (2*0.5 + 6*1)/8
    = 0.875; goals (2 at 0.4, 2 at 0.8) -> 0.6; normalized (-0.625 + 2) / (-0.5 + 2) = 11/12.
    trial 1: 4 items at -1.5, 4 at -0.5 -> -1.0; accuracy 0.5; goals 4 at 0.5 -> 0.5;
    normalized 1.0 / 1.5 = 2/3.
    """
    return [
        rec("hop", S1, 0, 0, count=2, loglik=-1.0, accuracy=0.5, goal_count=2, goal_prob=0.4,
            **exact(2)),
        rec("hop", S1, 0, 1, count=6, loglik=-0.5, accuracy=1.0, goal_count=2, goal_prob=0.8,
            **exact(6)),
        rec("hop", S1, 1, 0, count=4, loglik=-1.5, accuracy=0.5, goal_count=4, goal_prob=0.5,
            **exact(4)),
        rec("hop", S1, 1, 1, count=4, loglik=-0.5, accuracy=0.5, goal_count=0, **exact(4)),
    ]  # fmt: skip


def test_per_step_trial_means_intervals_and_references() -> None:
    (row,) = summarize_predictions(hop_records()).rows
    t = t_critical(0.95, 1)
    assert (row.agent, row.scenario, row.trials, row.episodes) == ("hop", S1, 2, 2)
    assert row.log_likelihood == pytest.approx(-0.8125)  # mean of -0.625 and -1.0
    # two values: s / sqrt(2) = |a - b| / 2 = 0.1875
    assert row.log_likelihood_ci == pytest.approx(t * 0.1875)
    assert row.accuracy == pytest.approx((0.875 + 0.5) / 2)
    assert row.goal_probability == pytest.approx(0.55)
    assert row.goal_probability_ci == pytest.approx(t * 0.05)
    assert row.uniform_log_likelihood == pytest.approx(-2.0)
    assert row.exact_log_likelihood == pytest.approx(-0.5)
    assert row.exact_accuracy == pytest.approx(0.9)
    assert row.normalized_log_likelihood == pytest.approx((11 / 12 + 2 / 3) / 2)
    assert row.items == 8 and row.exact_items == 8 and row.goal_items == 4  # 4 and 4


def test_normalized_needs_the_exact_reference_on_every_item() -> None:
    records = [
        rec("hop", S1, 0, 0, count=4, loglik=-1.0, **exact(2)),  # half the items lack it
        rec("direct-om", S1, 0, 0, count=4, loglik=-1.0),  # none has it
    ]
    rows = {r.agent: r for r in summarize_predictions(records).rows}
    assert rows["hop"].normalized_log_likelihood is None
    assert rows["hop"].exact_log_likelihood == pytest.approx(-0.5)  # over its 2 items
    assert rows["direct-om"].exact_log_likelihood is None
    assert rows["direct-om"].normalized_log_likelihood is None
    assert rows["direct-om"].goal_probability is None


def test_learning_curve_points() -> None:
    curves = summarize_predictions(hop_records()).curves
    assert [(p.episode, p.trials) for p in curves] == [(0, 2), (1, 2)]
    first, second = curves
    assert first.log_likelihood == pytest.approx(-1.25)  # (-1.0 + -1.5) / 2 over trials
    assert first.log_likelihood_ci == pytest.approx(t_critical(0.95, 1) * 0.25)
    assert second.log_likelihood == pytest.approx(-0.5)
    assert second.log_likelihood_ci == pytest.approx(0.0)
    assert first.goal_probability == pytest.approx(0.45)  # 0.4 and 0.5
    assert second.goal_probability == pytest.approx(0.8)  # only trial 0 gave goals
    assert second.goal_probability_ci is None
    assert (first.items, first.exact_items, first.goal_items) == (6, 6, 6)


def test_agents_without_scores_do_not_appear() -> None:
    records = [*hop_records(), rec("random", S1, 0, 0), rec("random", S1, 0, 1)]
    predictions = summarize_predictions(records)
    assert {r.agent for r in predictions.rows} == {"hop"}
    assert {p.agent for p in predictions.curves} == {"hop"}
    assert not summarize_predictions([rec("random", S1, 0, 0)])


def test_incomplete_trials_are_left_out() -> None:
    records = [*hop_records(), rec("hop", S1, 2, 0, count=1, loglik=-9.0)]
    (row,) = summarize_predictions(records).rows
    assert row.trials == 2 and row.log_likelihood == pytest.approx(-0.8125)


def test_an_episode_without_scored_items_keeps_its_trial_and_adds_nothing() -> None:
    # trial 2: episode 0 has 4 items at -2.0; in episode 1 the agent predicted nothing (say it
    # left the game before its first prediction): the trial is complete, its value -2.0
    records = [
        *hop_records(),
        rec("hop", S1, 2, 0, count=4, loglik=-2.0, **exact(4)),
        rec("hop", S1, 2, 1, count=0),
    ]
    (row,) = summarize_predictions(records).rows
    assert row.trials == 3
    assert row.log_likelihood == pytest.approx((-0.625 - 1.0 - 2.0) / 3)
    assert row.items == pytest.approx((8 + 8 + 4) / 3)  # items per trial
    points = {p.episode: p for p in summarize_predictions(records).curves}
    assert points[0].trials == 3 and points[1].trials == 2  # episode 1 has no item in trial 2
    assert points[1].log_likelihood == pytest.approx(-0.5)


def test_spearman_by_hand() -> None:
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # ties share ranks: x ranks 1, 2.5, 2.5, 4; rho = 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(3 / math.sqrt(10))
    assert spearman([1, 1, 1], [1, 2, 3]) is None


def three_agents() -> list[EpisodeRecord]:
    """a, b, c in S1 (training) with log-lik -1, -2, -3 and returns 3, 1, 2: x ranks 3, 2, 1,
    y ranks 3, 1, 2, so rho = (1*1 + 0*-1 + -1*0) / sqrt(2 * 2) = 0.5."""
    return [
        rec(agent, S1, trial, 0, focal=ret, count=1, loglik=ll)
        for agent, ll, ret in (("a", -1.0, 3.0), ("b", -2.0, 1.0), ("c", -3.0, 2.0))
        for trial in (0, 1)
    ]


def test_correlation_with_returns_across_agents() -> None:
    records = three_agents()
    predictions = summarize_predictions(records, summarize(records).rows)
    (corr,) = predictions.correlations
    assert (corr.family, corr.agents) == ("training", 3)
    assert corr.rho == pytest.approx(0.5)
    assert "too few to mean anything" in corr.note
    two = summarize_predictions(records[:4], summarize(records[:4]).rows).correlations
    assert two[0].rho is None and "too few agents (2)" in two[0].note


def test_population_aggregate_is_the_iqm_of_trial_values() -> None:
    # one scenario, 2 trials: the IQM of two values keeps both (int(0.25 * 2) = 0)
    aggregates = summarize_predictions(hop_records()).aggregates
    cell = {a.metric: a for a in aggregates}
    assert cell["log_likelihood"].value == pytest.approx(-0.8125)
    assert cell["log_likelihood"].trials == 2 and cell["log_likelihood"].family == "training"
    assert cell["normalized_log_likelihood"].value == pytest.approx((11 / 12 + 2 / 3) / 2)
    low, high = cell["log_likelihood"].low, cell["log_likelihood"].high
    assert -1.0 <= low <= high <= -0.625  # bootstrap draws lie between the two trials


def test_markdown_section_cells() -> None:
    records = hop_records()
    predictions = summarize_predictions(records, summarize(records).rows)
    text = "\n".join(prediction_markdown(predictions, MSH, confidence=0.95))
    assert "### Opponent modelling: MarkovStagHunt-v0" in text
    ci = t_critical(0.95, 1) * 0.1875
    line = next(ln for ln in text.splitlines() if ln.startswith("| adapt-1v3-nearest-stag"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:7] == [
        "adapt-1v3-nearest-stag",
        "hop",
        "2",
        f"-0.812 ± {ci:.3f}",
        "-2.000",
        "-0.500",
        f"{(11 / 12 + 2 / 3) / 2:.2f} ± {t_critical(0.95, 1) * (11 / 12 - 2 / 3) / 2:.2f}",
    ]
    assert "too few agents (1)" in text
    assert prediction_markdown(predictions, "hop/MarkovSnowdrift-v0", confidence=0.95) == []


def test_write_report_predictions_csv_and_plots(tmp_path: Path) -> None:
    records = [*hop_records(), *[rec("random", S1, t, e) for t in (0, 1) for e in (0, 1)]]
    paths = write_report(records, tmp_path, rule_based=rule_based)
    assert paths.predictions_csv == tmp_path / "predictions.csv"
    with paths.predictions_csv.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    stable = ["env_id", "scenario", "agent", "episode", "trials", "log_likelihood", "accuracy"]
    assert list(rows[0])[:7] == stable and "goal_probability" in rows[0]
    assert [(r["agent"], r["episode"], r["trials"]) for r in rows] == [
        ("hop", "0", "2"),
        ("hop", "1", "2"),
    ]
    assert float(rows[0]["log_likelihood"]) == pytest.approx(-1.25)
    assert float(rows[0]["accuracy"]) == pytest.approx(0.5)
    assert float(rows[1]["goal_probability"]) == pytest.approx(0.8)
    assert float(rows[1]["exact_log_likelihood"]) == pytest.approx(-0.5)
    assert read_csv(paths.predictions_csv, PredictionPoint)[0].log_likelihood == -1.25
    assert [p.name for p in paths.prediction_plots] == [
        "om_MarkovStagHunt-v0__msh_adapt-1v3-nearest-stag.png"
    ]
    report = paths.markdown.read_text()
    assert "### Opponent modelling" in report
    assert "(plots/om_MarkovStagHunt-v0__msh_adapt-1v3-nearest-stag.png)" in report
    assert "| random |" not in report.split("### Opponent modelling")[1]


def test_report_without_scores_is_unchanged(tmp_path: Path) -> None:
    records = [rec(a, s, t, e) for a in ("x", "random") for s in (S1, S2) for t in (0, 1)
               for e in (0, 1)]  # fmt: skip
    paths = write_report(records, tmp_path, rule_based=rule_based)
    assert paths.predictions_csv is None and paths.prediction_plots == ()
    assert not (tmp_path / "predictions.csv").exists()
    assert not list((tmp_path / "plots").glob("om_*"))
    from evaluation.report import render_markdown

    summary = summarize(records)
    plain = render_markdown(summary, rule_based=rule_based, num_records=len(records))
    empty = summarize_predictions(records, summary.rows)
    assert not empty
    with_empty = render_markdown(
        summary, rule_based=rule_based, num_records=len(records), predictions=empty
    )
    assert with_empty == plain
    assert "Opponent modelling" not in paths.markdown.read_text()


def test_correlation_of_five_agents_carries_no_caution() -> None:
    # log-lik -1 .. -5 and returns 5 .. 1: the same order, rho = 1
    records = [
        rec(f"a{k}", S1, trial, 0, focal=6.0 - k, count=1, loglik=-float(k))
        for k in range(1, 6)
        for trial in (0, 1)
    ]
    (corr,) = summarize_predictions(records, summarize(records).rows).correlations
    assert (corr.agents, corr.note) == (5, "")
    assert corr.rho == pytest.approx(1.0)
