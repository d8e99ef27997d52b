"""Report numbers against hand-computed means, CIs and normalized scores (tiny records)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.records import EpisodeRecord
from evaluation.references import ReferenceResult
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


def ref(agent: str, mean: float, ci: float = 0.0, scenario: str = S1, digest: str = ""):
    """A shipped reference result of ``agent`` in ``scenario`` (definition digest ``digest``:
    the test records carry the empty digest)."""
    return ReferenceResult(scenario, "hop/" + MSH, agent, 30, 10, mean, ci, digest, "h")


SHIPPED = {S1: [ref("random", 1.0, 0.1), ref("nearest-stag", 3.0, 0.1), ref("nearest-hare", 0.5)]}


def test_normalized_score_hand_worked() -> None:
    # Shipped references: lowest nearest-hare 0.5 = 0, highest nearest-stag 3.0 = 1; scale 2.5.
    # agent 2.0 -> 1.5 / 2.5 = 0.6; random 1.0 -> 0.2. The database's own reference rows
    # (whatever they are) do not move the scale.
    records = constant("agent", S1, 2.0) + constant("random", S1, 1.0)
    records += constant("nearest-stag", S1, 100.0)
    rows = {r.agent: r for r in summarize(records, references=SHIPPED).rows}
    assert rows["agent"].normalized == pytest.approx(0.6)
    assert rows["random"].normalized == pytest.approx(0.2)
    assert rows["nearest-stag"].normalized == pytest.approx(39.8)
    assert all(r.normalized_note == "" for r in rows.values())


def test_an_agent_evaluated_alone_gets_a_score_from_the_shipped_references() -> None:
    (row,) = summarize(constant("agent", S1, 0.5), references=SHIPPED).rows
    assert row.normalized == 0.0


def test_shipped_references_of_another_definition_are_not_used() -> None:
    other = {S1: [ref("random", 1.0, digest="d"), ref("nearest-stag", 3.0, digest="d")]}
    (row,) = summarize(constant("agent", S1, 2.0), references=other).rows
    assert row.normalized is None
    assert "no shipped references for this scenario definition" in row.normalized_note


def test_a_users_scenario_is_scaled_by_the_databases_reference_agents() -> None:
    # No shipped references: the env's reference agents are all in the records, so they
    # set the scale: nearest-hare 0.5 = 0, nearest-stag 3.0 = 1 -> agent 2.0 is 0.6.
    records = constant("random", S1, 1.0) + constant("nearest-stag", S1, 3.0)
    records += constant("nearest-hare", S1, 0.5) + constant("agent", S1, 2.0)
    rows = {r.agent: r for r in summarize(records, references={}).rows}
    assert rows["agent"].normalized == pytest.approx(0.6)
    assert "scaled by this database's reference results" in rows["agent"].normalized_note


def test_missing_references_leave_the_score_blank_with_the_commands_that_add_them() -> None:
    records = constant("random", S1, 1.0) + constant("nearest-stag", S1, 3.0)
    records += constant("agent", S1, 2.0)
    row = next(r for r in summarize(records, references={}).rows if r.agent == "agent")
    assert row.normalized is None
    assert "lacks the reference agents nearest-hare" in row.normalized_note
    assert f"hop-bench evaluate --agent nearest-hare --scenario <{S1} file>" in (
        row.normalized_note
    )


def test_references_too_close_to_separate_give_no_score() -> None:
    # Extremes 1.0 ± 0.3 and 1.5 ± 0.3: the gap 0.5 is not above 0.3 + 0.3.
    close = {S1: [ref("random", 1.0, 0.3), ref("nearest-stag", 1.5, 0.3)]}
    (row,) = summarize(constant("agent", S1, 2.0), references=close).rows
    assert row.normalized is None
    assert "too close to separate" in row.normalized_note
    # 1.0 ± 0.2 and 1.5 ± 0.2 are apart: 0.5 > 0.4.
    apart = {S1: [ref("random", 1.0, 0.2), ref("nearest-stag", 1.5, 0.2)]}
    (row,) = summarize(constant("agent", S1, 2.0), references=apart).rows
    assert row.normalized == pytest.approx(2.0)


def test_aggregates_iqm_and_probability_of_improvement_hand_worked() -> None:
    # S1 scale 1..3 (random 1 = 0), S2 scale 0..4. Agent trials: S1 1.0 and 3.0 -> 0, 1;
    # S2 2.0 and 2.0 -> 0.5, 0.5. Pooled 0, 0.5, 0.5, 1: the IQM drops 1 score per end -> 0.5.
    # random: S1 0, 0; S2 0, 0 (its mean is the low reference in both).
    # P(agent > random): S1 pairs (0,0) tie, (0,0) tie, (1,0), (1,0) -> (0.5+0.5+1+1)/4 = 0.75;
    # S2: all four pairs 0.5 > 0 -> 1. Mean 0.875.
    shipped = {
        S1: [ref("random", 1.0), ref("nearest-stag", 3.0)],
        S2: [ref("random", 0.0, scenario=S2), ref("nearest-hare", 4.0, scenario=S2)],
    }
    records = [rec("agent", S1, t, 0, (1.0 + 2.0 * t, 0, 0, 0)) for t in range(2)]
    records += constant("agent", S2, 2.0, episodes=1)
    records += constant("random", S1, 1.0, episodes=1) + constant("random", S2, 0.0, episodes=1)
    summary = summarize(records, references=shipped)
    scores = {s.agent: s for s in summary.scores}
    agent = scores["agent"]
    assert (agent.family, agent.scenarios, agent.trials) == ("training", 2, 4)
    assert agent.normalized == pytest.approx(0.5)
    assert agent.low <= 0.5 <= agent.high
    assert scores["random"].normalized == 0.0
    assert (scores["random"].low, scores["random"].high) == (0.0, 0.0)
    (improvement,) = summary.improvements
    assert (improvement.agent, improvement.versus) == ("agent", "random")
    assert improvement.probability == pytest.approx(0.875)
    trial_scores = sorted(t.normalized for t in summary.trial_scores if t.agent == "agent")
    assert trial_scores == pytest.approx([0.0, 0.5, 0.5, 1.0])


def test_aggregates_need_every_scenario_of_the_population() -> None:
    shipped = {
        S1: [ref("random", 1.0), ref("nearest-stag", 3.0)],
        S2: [ref("random", 0.0, scenario=S2), ref("nearest-hare", 4.0, scenario=S2)],
    }
    records = constant("agent", S1, 2.0) + constant("agent", S2, 2.0)
    records += constant("lazy", S2, 4.0)
    records += constant("agent", "msh/adapt-3v1-nearest-stag", 9.0)  # not aggregated
    scores = {s.agent: s for s in summarize(records, references=shipped).scores}
    assert scores["agent"].scenarios == 2
    assert scores["lazy"].normalized is None
    assert scores["lazy"].note == f"no results in {S1}"


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


def test_within_trial_change_is_the_paired_last_minus_first_hand_worked() -> None:
    # Two trials of six episodes, windows of 3. Trial 0 climbs 1..6: last (4, 5, 6) mean 5,
    # first (1, 2, 3) mean 2, change +3. Trial 1 stays at 2: change 0. Mean change 1.5, sd of
    # (3, 0) = 3 / sqrt(2), half-width t(0.975, 1) * sd / sqrt(2) = 12.706 * 1.5 = 19.06.
    focal = {0: (1.0, 2.0, 3.0, 4.0, 5.0, 6.0), 1: (2.0,) * 6}
    records = [
        rec("agent", S1, t, e, (focal[t][e], 0.0, 0.0, 0.0)) for t in range(2) for e in range(6)
    ]
    (row,) = summarize(records, rule_based=rule_based, last_episodes=3).rows
    assert row.adaptation_mean == pytest.approx(1.5)
    assert row.adaptation_ci == pytest.approx(12.7062047 * 1.5, rel=1e-6)
    # Five episodes cannot hold two separate windows of 3: no change is reported.
    short = [r for r in records if r.episode < 5]
    (row,) = summarize(short, rule_based=rule_based, last_episodes=3).rows
    assert row.adaptation_mean is None and row.adaptation_ci is None
    # Windows of 2 fit: trial 0 (5 + 4) / 2 - (1 + 2) / 2 = 3, trial 1 0; one trial: no interval.
    (row,) = summarize(short, rule_based=rule_based, last_episodes=2).rows
    assert row.adaptation_mean == pytest.approx(1.5)
    only = [r for r in short if r.trial == 0]
    (row,) = summarize(only, rule_based=rule_based, last_episodes=2).rows
    assert (row.adaptation_mean, row.adaptation_ci) == (pytest.approx(3.0), None)


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
        shipped = {S1: [ref("random", a * random_mean + b), ref("nearest-stag", a * stag_mean + b)]}
        rows = summarize(constant("agent", S1, a * agent_mean + b), references=shipped).rows
        return next(r.normalized for r in rows if r.agent == "agent")

    assert scores(scale, offset) == pytest.approx(scores(1.0, 0.0), abs=1e-6)


def test_default_rule_based_names_come_from_the_coplayer_registry() -> None:
    assert set(default_rule_based("MarkovStagHunt-v0")) == {
        "random",
        "nearest-stag",
        "nearest-hare",
    }
    assert set(default_rule_based("hop/MarkovSnowdrift-v0")) == {"random", "free-rider", "cleaner"}
