"""Report numbers against hand-computed means, CIs and normalized scores (tiny records)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.records import EpisodeRecord
from evaluation.report import default_rule_based, summarize

MSH, MSG = "MarkovStagHunt-v0", "MarkovSnowdrift-v0"
T95_DF2 = 4.302653  # two-sided 95% t critical value, 2 degrees of freedom
RULES = {MSH: ("random", "nearest-stag", "nearest-hare"), MSG: ("random", "free-rider", "cleaner")}


def rule_based(env_id: str) -> tuple[str, ...]:
    return RULES[env_id]


def rec(
    agent: str,
    scenario: str,
    trial: int,
    episode: int,
    returns: Sequence[float],
    *,
    focal: Sequence[int] = (0,),
    env_id: str = MSH,
    seed: int = 7,
    stags: Sequence[int] | None = None,
    hares: Sequence[int] | None = None,
    drifts: Sequence[int] | None = None,
) -> EpisodeRecord:
    n = len(returns)
    return EpisodeRecord(
        agent=agent,
        scenario=scenario,
        env_id=env_id,
        seed=seed,
        trial=trial,
        episode=episode,
        focal_seats=tuple(focal),
        seat_players=tuple(agent if s in focal else "co" for s in range(n)),
        returns=tuple(float(r) for r in returns),
        length=10,
        stags=tuple(stags or (0,) * n),
        hares=tuple(hares or (0,) * n),
        drifts=tuple(drifts or (0,) * n),
        package_version="0.1.0",
        config_hash="x",
    )


def constant(agent: str, scenario: str, value: float, trials: int = 2, episodes: int = 2):
    """Records in which the focal seat gets ``value`` in every episode."""
    return [
        rec(agent, scenario, t, e, (value, 0.0, 0.0, 0.0))
        for t in range(trials)
        for e in range(episodes)
    ]


S1 = "msh/adapt-1v3-nearest-stag"
S2 = "msh/adapt-1v3-nearest-hare"


def test_normalized_score_hand_worked() -> None:
    # random = 1.0, nearest-stag = 3.0 (best rule-based), nearest-hare = 0.5, agent = 2.0.
    records = (
        constant("random", S1, 1.0)
        + constant("nearest-stag", S1, 3.0)
        + constant("nearest-hare", S1, 0.5)
        + constant("agent", S1, 2.0)
    )
    rows = {r.agent: r for r in summarize(records, rule_based=rule_based).rows}
    assert rows["agent"].normalized == pytest.approx(0.5)
    assert rows["random"].normalized == 0.0
    assert rows["nearest-stag"].normalized == 1.0
    assert rows["nearest-hare"].normalized == pytest.approx(-0.25)
    assert all(r.normalized_note == "" for r in rows.values())


def test_means_cis_curves_and_last_episodes_hand_worked() -> None:
    # Three trials of two episodes; focal returns (0, 2), (1, 3), (2, 4):
    # trial means 1, 2, 3 -> mean 2, sd 1; episode 0: 0, 1, 2; episode 1: 2, 3, 4.
    # Background seats 1..3 get (1, 2, 3) every episode -> background 2, welfare focal + 6.
    focal = {0: (0.0, 2.0), 1: (1.0, 3.0), 2: (2.0, 4.0)}
    records = [
        rec("agent", S1, t, e, (focal[t][e], 1.0, 2.0, 3.0), stags=(1, 1, 0, 0), hares=(0, 0, 1, 0))
        for t in range(3)
        for e in range(2)
    ]
    summary = summarize(records, rule_based=rule_based, last_episodes=1)
    (row,) = summary.rows
    half = T95_DF2 / math.sqrt(3)
    assert (row.trials, row.episodes, row.last_episodes, row.incomplete_trials) == (3, 2, 1, 0)
    assert row.focal_mean == pytest.approx(2.0)
    assert row.focal_ci == pytest.approx(half, rel=1e-6)
    assert row.focal_last_mean == pytest.approx(3.0)  # mean of episode 1 over trials
    assert row.focal_last_ci == pytest.approx(half, rel=1e-6)
    assert row.background_mean == pytest.approx(2.0)
    assert row.background_ci == 0.0
    assert row.welfare_mean == pytest.approx(8.0)
    assert row.welfare_ci == pytest.approx(half, rel=1e-6)
    assert (row.stags_per_focal, row.hares_per_focal, row.drifts_per_focal) == (1.0, 0.0, 0.0)
    curve = [(p.episode, p.trials, p.mean, p.ci) for p in summary.curves]
    assert curve == [
        (0, 3, pytest.approx(1.0), pytest.approx(half, rel=1e-6)),
        (1, 3, pytest.approx(3.0), pytest.approx(half, rel=1e-6)),
    ]


def test_three_focal_seats_and_self_play() -> None:
    # adapt-3v1: focal seats 0..2 remove (2, 1, 0) drifts -> 1 per focal player; returns
    # (4, 6, 8 | 10): focal per capita 6, background 10, welfare 28.
    s3 = "msg/adapt-3v1-cleaner"
    r3 = rec("agent", s3, 0, 0, (4, 6, 8, 10), focal=(0, 1, 2), env_id=MSG, drifts=(2, 1, 0, 3))
    sp = rec("agent", "msg/selfplay", 0, 0, (1, 2, 3, 6), focal=(0, 1, 2, 3), env_id=MSG)
    rows = {r.scenario: r for r in summarize([r3, sp], rule_based=rule_based).rows}
    assert (rows[s3].focal_mean, rows[s3].background_mean, rows[s3].welfare_mean) == (6, 10, 28)
    assert rows[s3].drifts_per_focal == 1.0
    assert rows[s3].focal_ci is None  # one trial: no interval
    assert rows["msg/selfplay"].focal_mean == 3.0
    assert rows["msg/selfplay"].background_mean is None


def test_missing_references_leave_the_score_blank_with_a_reason() -> None:
    records = constant("nearest-stag", S1, 3.0) + constant("agent", S1, 2.0)
    records += constant("random", S2, 1.0) + constant("agent", S2, 2.0)
    rows = {(r.scenario, r.agent): r for r in summarize(records, rule_based=rule_based).rows}
    assert rows[(S1, "agent")].normalized is None
    assert rows[(S1, "agent")].normalized_note == f"no `random` results in {S1}"
    assert rows[(S2, "agent")].normalized is None
    assert rows[(S2, "agent")].normalized_note == (
        f"no results of a rule-based agent (nearest-hare, nearest-stag) in {S2}"
    )


def test_reference_that_does_not_beat_random_gives_no_score() -> None:
    records = constant("random", S1, 2.0) + constant("nearest-stag", S1, 1.0)
    records += constant("agent", S1, 5.0)
    row = next(r for r in summarize(records, rule_based=rule_based).rows if r.agent == "agent")
    assert row.normalized is None
    assert "best rule-based agent (nearest-stag, 1) does not beat `random` (2)" in (
        row.normalized_note
    )


def test_overlapping_references_keep_the_score_with_a_caution() -> None:
    # random trials 1.0 and 1.2 (mean 1.1), nearest-stag 1.1 and 1.3 (mean 1.2): spread 0.1,
    # each CI is 12.706 * 0.1414 / 1.414 = 1.27 -> the references overlap.
    records = [rec("random", S1, t, 0, (1.0 + 0.2 * t, 0, 0, 0)) for t in range(2)]
    records += [rec("nearest-stag", S1, t, 0, (1.1 + 0.2 * t, 0, 0, 0)) for t in range(2)]
    records += [rec("agent", S1, t, 0, (1.15, 0, 0, 0)) for t in range(2)]
    row = next(r for r in summarize(records, rule_based=rule_based).rows if r.agent == "agent")
    assert row.normalized == pytest.approx(0.5)
    assert row.normalized_note.startswith(f"caution: in {S1} the references are not clearly")
    assert "nearest-stag 1.20 ± 1.27 vs `random` 1.10 ± 1.27" in row.normalized_note


def test_average_normalized_score_over_adapt_1v3() -> None:
    # S1: random 1, best 3, agent 2 -> 0.5. S2: random 0, best 4, agent 1 -> 0.25. Mean 0.375.
    # The adapt-3v1 and selfplay scenarios do not count towards it.
    records = constant("random", S1, 1.0) + constant("nearest-stag", S1, 3.0)
    records += constant("agent", S1, 2.0)
    records += constant("random", S2, 0.0) + constant("nearest-hare", S2, 4.0)
    records += constant("agent", S2, 1.0) + constant("lazy", S2, 4.0)
    records += constant("random", "msh/adapt-3v1-nearest-stag", 0.0)
    records += constant("agent", "msh/adapt-3v1-nearest-stag", 9.0)
    scores = {s.agent: s for s in summarize(records, rule_based=rule_based).scores}
    assert scores["agent"].normalized == pytest.approx(0.375)
    assert (scores["agent"].family, scores["agent"].scenarios) == ("adapt-1v3", 2)
    assert scores["random"].normalized == 0.0
    assert scores["lazy"].normalized is None
    assert scores["lazy"].note == f"no results for lazy in {S1}"
    assert scores["nearest-stag"].note == f"no results for nearest-stag in {S2}"


def test_incomplete_trials_are_left_out_and_counted() -> None:
    # Trial 2 has only episode 0 (an interrupted run); trials 0 and 1 have both episodes.
    records = [rec("agent", S1, t, e, (float(t), 0, 0, 0)) for t in range(2) for e in range(2)]
    records.append(rec("agent", S1, 2, 0, (100.0, 0, 0, 0)))
    summary = summarize(records, rule_based=rule_based)
    (row,) = summary.rows
    assert (row.trials, row.incomplete_trials, row.focal_mean) == (2, 1, 0.5)
    only_partial = summarize([rec("agent", S1, 0, 1, (1, 0, 0, 0))], rule_based=rule_based)
    assert only_partial.rows[0].trials == 1  # one trial with all (one) indices is complete


def test_trials_are_keyed_by_seed_and_trial() -> None:
    # The same trial index under two seeds is two trials: means 1 and 3 -> 2 over n = 2,
    # sd sqrt(2), so the half-width is t(0.975, 1) * sqrt(2) / sqrt(2) = 12.706.
    records = [rec("agent", S1, 0, 0, (1, 0, 0, 0), seed=1), rec("agent", S1, 0, 0, (3, 0, 0, 0))]
    (row,) = summarize(records, rule_based=rule_based).rows
    assert (row.trials, row.focal_mean) == (2, 2.0)
    assert row.focal_ci == pytest.approx(12.706205, rel=1e-6)


def test_bad_records_raise_named_errors() -> None:
    one = rec("agent", S1, 0, 0, (1, 0, 0, 0))
    with pytest.raises(ValueError, match=r"duplicate record: agent 'agent', .* episode 0"):
        summarize([one, one], rule_based=rule_based)
    with pytest.raises(TypeError, match=r"records\[1\] must be an EpisodeRecord, got dict"):
        summarize([one, {}], rule_based=rule_based)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="no episode records"):
        summarize([], rule_based=rule_based)
    other_env = rec("agent", S1, 1, 0, (1, 0, 0, 0), env_id=MSG)
    with pytest.raises(ValueError, match="has records of two envs"):
        summarize([one, other_env], rule_based=rule_based)
    other_config = dataclasses.replace(one, trial=1, config_hash="y", package_version="0.2.0")
    with pytest.raises(ValueError, match=r"configurations: hash x .* and y \(hop-bench 0.2.0"):
        summarize([one, other_config], rule_based=rule_based)
    with pytest.raises(ValueError, match="last_episodes must be an integer >= 1, got 0"):
        summarize([one], rule_based=rule_based, last_episodes=0)
    with pytest.raises(ValueError, match=r"confidence must be a number in \(0, 1\), got 95"):
        summarize([one], rule_based=rule_based, confidence=95)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-20, 20), min_size=3, max_size=3),
    st.floats(0.1, 10),
    st.floats(-50, 50),
)
def test_normalized_scores_ignore_affine_changes_of_reward_scale(
    means: list[float], scale: float, offset: float
) -> None:
    random_mean, agent_mean, stag_mean = means[0], means[1], means[0] + abs(means[2]) + 1.0

    def scores(a: float, b: float) -> float | None:
        records = constant("random", S1, a * random_mean + b)
        records += constant("nearest-stag", S1, a * stag_mean + b)
        records += constant("agent", S1, a * agent_mean + b)
        rows = summarize(records, rule_based=rule_based).rows
        return next(r.normalized for r in rows if r.agent == "agent")

    assert scores(scale, offset) == pytest.approx(scores(1.0, 0.0), abs=1e-6)


def test_default_rule_based_names_come_from_the_coplayer_registry() -> None:
    assert set(default_rule_based("MarkovStagHunt-v0")) == {
        "random",
        "nearest-stag",
        "nearest-hare",
    }
    assert set(default_rule_based("hop/MarkovSnowdrift-v0")) == {"random", "free-rider", "cleaner"}
