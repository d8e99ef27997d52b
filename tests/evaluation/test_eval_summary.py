"""The end-of-run table: per-trial means with Student-t intervals, worked by hand."""

from __future__ import annotations

import dataclasses
import math

import pytest

from evaluation.records import EpisodeRecord
from evaluation.summary import format_table, summarise

MSH = "hop/MarkovStagHunt-v0"


def rec(trial, episode, returns, focal=(0,)):
    n = len(returns)
    return EpisodeRecord(
        agent="a",
        scenario="s",
        env_id="hop/MarkovSnowdrift-v0",
        seed=0,
        trial=trial,
        episode=episode,
        focal_seats=focal,
        seat_players=("a",) * n,
        returns=returns,
        length=5,
        stags=(0,) * n,
        hares=(0,) * n,
        drifts=(0,) * n,
        package_version="0",
        config_hash="h",
    )


def test_two_trials_by_hand():
    records = [
        rec(0, 1, (3.0, 1.0)),
        rec(0, 0, (1.0, 1.0)),  # trial 0: focal 1, 3 -> mean 2
        rec(1, 0, (4.0, 0.0)),
        rec(1, 1, (6.0, 2.0)),  # trial 1: focal 4, 6 -> mean 5
    ]
    row = summarise("s", records)
    assert (row.trials, row.episodes) == (2, 4)
    assert row.focal == pytest.approx(3.5)
    # sd(2, 5) = 3 / sqrt(2); t(0.975, df=1) = 12.7062; half-width = t * sd / sqrt(2) = t * 1.5
    assert row.focal_ci == pytest.approx(12.7062 * 1.5, rel=1e-4)
    assert row.focal_last == pytest.approx((3.0 + 6.0) / 2)  # the last episode of each trial
    assert row.background == pytest.approx((1.0 + 1.0) / 2)  # trial means 1 and 1
    assert row.welfare == pytest.approx(((2 + 4) / 2 + (4 + 8) / 2) / 2)


def test_one_trial_has_no_interval_and_selfplay_no_background():
    row = summarise("s", [rec(0, 0, (2.0, 4.0), focal=(0, 1))])
    assert row.focal == 3.0
    assert math.isnan(row.focal_ci) and math.isnan(row.background)
    table = format_table("a", [row]).splitlines()
    assert table[0] == "agent: a"
    # scenario "s" has no shipped references: no normalized score, and the note says why
    assert table[3].split() == ["s", "1", "1", "3.00", "3.00", "-", "6.00", "-"]
    assert table[-1].startswith("s: no normalized score in s: no shipped references")


def test_the_table_scores_a_lone_agent_on_the_shipped_references():
    from evaluation.jobs import scenario_hash
    from evaluation.references import reference_scale, shipped_references
    from evaluation.scenarios import load_scenario

    scenario = load_scenario("msh/adapt-1v3-nearest-stag")
    digest = scenario_hash(scenario)
    records = [
        dataclasses.replace(rec(t, 0, (1.0, 0.0, 0.0, 0.0)), scenario_hash=digest, env_id=MSH)
        for t in range(2)
    ]
    row = summarise(scenario.name, records)
    scale = reference_scale(scenario.name, MSH, digest)
    assert shipped_references()[scenario.name] and scale.source == "shipped"
    assert row.normalized == pytest.approx((1.0 - scale.low) / (scale.high - scale.low))
