"""Aggregate episode records into per agent x scenario summaries, curves and scores.

A *trial* is identified by ``(seed, trial)``; the records of one agent in one scenario must
share one ``config_hash`` (one package version, agent arguments and scenario definition).
Statistics are taken per trial first (the mean over its episodes) and then over trials, so
trials are the independent samples the confidence intervals are about. Trials that lack some
of the episode indices other trials of the same agent and scenario have (an interrupted run)
are left out and counted, so an adaptation curve never mixes early-only trials with full ones.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from evaluation.records import EpisodeRecord
from evaluation.report.stats import DEFAULT_CONFIDENCE, Estimate, mean_ci

RANDOM_AGENT = "random"
ADAPT_1V3 = "adapt-1v3"
#: Scenario families in the order reports list them.
FAMILIES = ("adapt-1v3", "adapt-3v1", "selfplay")

RuleBasedNames = Callable[[str], Collection[str]]


def env_name(env_id: str) -> str:
    """``"hop/MarkovStagHunt-v0"`` -> ``"MarkovStagHunt-v0"`` (ids are stored either way)."""
    return env_id.removeprefix("hop/")


def default_rule_based(env_id: str) -> tuple[str, ...]:
    """The rule-based co-players registered for ``env_id`` (DESIGN §4)."""
    from hop_envs.coplayers import coplayer_names

    return tuple(coplayer_names(env_name(env_id)))


def env_sort_key(env_id: str) -> tuple[int, str]:
    from hop_envs.registration import ENV_IDS

    order = list(ENV_IDS)
    name = env_name(env_id)
    return (order.index(name) if name in order else len(order), name)


def short_scenario(scenario: str) -> str:
    """``"msh/adapt-1v3-nearest-stag"`` -> ``"adapt-1v3-nearest-stag"``."""
    return scenario.rsplit("/", 1)[-1]


def scenario_family(scenario: str) -> str | None:
    """The standard family a scenario belongs to (``adapt-1v3``, ...), or ``None``."""
    short = short_scenario(scenario)
    for family in FAMILIES:
        if short == family or short.startswith(f"{family}-"):
            return family
    return None


def scenario_sort_key(scenario: str) -> tuple[int, str]:
    family = scenario_family(scenario)
    return (FAMILIES.index(family) if family else len(FAMILIES), scenario)


@dataclass(frozen=True)
class ScenarioSummary:
    """One agent in one scenario. Returns are per-capita; ``*_ci`` are confidence
    half-widths over trials (``None`` with a single trial). ``last_mean`` is over the last
    ``last_episodes`` episodes of each trial. Outcome counts are per focal player per episode.
    ``normalized`` is ``None`` when its references are missing; ``normalized_note`` says why
    (or, beside a score, cautions that the references' confidence intervals overlap).
    """

    env_id: str
    scenario: str
    agent: str
    trials: int
    incomplete_trials: int
    episodes: int
    last_episodes: int
    focal_mean: float
    focal_ci: float | None
    focal_last_mean: float
    focal_last_ci: float | None
    background_mean: float | None
    background_ci: float | None
    welfare_mean: float
    welfare_ci: float | None
    stags_per_focal: float
    hares_per_focal: float
    drifts_per_focal: float
    normalized: float | None
    normalized_note: str


@dataclass(frozen=True)
class CurvePoint:
    """Focal per-capita return at one episode index of the trial, over trials."""

    env_id: str
    scenario: str
    agent: str
    episode: int
    trials: int
    mean: float
    ci: float | None


@dataclass(frozen=True)
class AgentScore:
    """An agent's mean normalized score over the ``family`` scenarios of one env (``None``
    with a ``note`` when one of them has no normalized score for it)."""

    env_id: str
    agent: str
    family: str
    scenarios: int
    normalized: float | None
    note: str


@dataclass(frozen=True)
class Summary:
    """Everything a report shows, computed once from the records."""

    rows: tuple[ScenarioSummary, ...]
    curves: tuple[CurvePoint, ...]
    scores: tuple[AgentScore, ...]
    skipped: tuple[str, ...]
    confidence: float
    last_episodes: int

    def env_ids(self) -> list[str]:
        """The envs in the rows, in the package's env order (unknown ids last)."""
        return sorted({r.env_id for r in self.rows}, key=env_sort_key)


@dataclass(frozen=True)
class _Trial:
    focal: tuple[float, ...]  # per episode, in episode order
    background: float | None
    welfare: float
    counts: tuple[float, float, float]  # stags, hares, drifts per focal player per episode


def summarize(
    records: Iterable[EpisodeRecord],
    *,
    rule_based: RuleBasedNames = default_rule_based,
    last_episodes: int = 3,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Summary:
    """Per agent x scenario statistics, adaptation curves and normalized scores.

    Normalized score: 0 = the ``random`` agent's mean focal return in the same scenario,
    1 = the best mean among the other rule-based agents of the env (``rule_based(env_id)``).
    """
    if isinstance(last_episodes, bool) or not isinstance(last_episodes, int) or last_episodes < 1:
        raise ValueError(f"last_episodes must be an integer >= 1, got {last_episodes!r}")
    if not isinstance(confidence, float | int) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    groups, env_of = _group(records)
    rows: list[ScenarioSummary] = []
    curves: list[CurvePoint] = []
    skipped: list[str] = []
    for (scenario, agent), by_trial in sorted(groups.items()):
        env_id = env_of[scenario]
        indices = sorted({e for episodes in by_trial.values() for e in episodes})
        complete = [
            _trial_stats(eps, indices) for eps in by_trial.values() if sorted(eps) == indices
        ]
        if not complete:
            skipped.append(
                f"{agent} in {scenario}: none of its {len(by_trial)} trial(s) has all "
                f"{len(indices)} episodes yet"
            )
            continue
        last = min(last_episodes, len(indices))
        rows.append(_row(env_id, scenario, agent, complete, len(by_trial), last, confidence))
        for pos, episode in enumerate(indices):
            est = mean_ci([t.focal[pos] for t in complete], confidence)
            curves.append(CurvePoint(env_id, scenario, agent, episode, est.n, est.mean, est.ci))
    rows = _normalize(rows, rule_based)
    return Summary(
        rows=tuple(rows),
        curves=tuple(curves),
        scores=tuple(_scores(rows)),
        skipped=tuple(skipped),
        confidence=confidence,
        last_episodes=last_episodes,
    )


#: (scenario, agent) -> (seed, trial) -> episode index -> record
_Groups = dict[tuple[str, str], dict[tuple[int, int], dict[int, EpisodeRecord]]]


def _group(records: Iterable[EpisodeRecord]) -> tuple[_Groups, dict[str, str]]:
    """Records by agent and scenario, then trial and episode; checks duplicates, envs and
    configurations. Also returns each scenario's env id."""
    groups: _Groups = defaultdict(lambda: defaultdict(dict))
    env_of: dict[str, str] = {}
    config_of: dict[tuple[str, str], tuple[str, str]] = {}
    count = 0
    for i, rec in enumerate(records):
        if not isinstance(rec, EpisodeRecord):
            raise TypeError(f"records[{i}] must be an EpisodeRecord, got {type(rec).__name__}")
        count += 1
        known = env_of.setdefault(rec.scenario, rec.env_id)
        if env_name(known) != env_name(rec.env_id):
            raise ValueError(
                f"scenario {rec.scenario!r} has records of two envs: {known!r} and "
                f"{rec.env_id!r} (records[{i}])"
            )
        config = config_of.setdefault(
            (rec.scenario, rec.agent), (rec.config_hash, rec.package_version)
        )
        if config[0] != rec.config_hash:
            raise ValueError(
                f"agent {rec.agent!r} in scenario {rec.scenario!r} has records of two "
                f"configurations: hash {config[0]} (hop-bench {config[1]}) and "
                f"{rec.config_hash} (hop-bench {rec.package_version}) (records[{i}]); they may "
                "differ in package version, agent arguments or scenario definition, so report "
                "one of them (filter the records by config_hash)"
            )
        episodes = groups[(rec.scenario, rec.agent)][(rec.seed, rec.trial)]
        if rec.episode in episodes:
            raise ValueError(
                f"duplicate record: agent {rec.agent!r}, scenario {rec.scenario!r}, seed "
                f"{rec.seed}, trial {rec.trial}, episode {rec.episode} (records[{i}])"
            )
        episodes[rec.episode] = rec
    if count == 0:
        raise ValueError("no episode records to summarize")
    return groups, env_of


def _trial_stats(episodes: dict[int, EpisodeRecord], indices: Sequence[int]) -> _Trial:
    recs = [episodes[e] for e in indices]
    backgrounds = [r.background_return for r in recs]
    background = None if any(math.isnan(b) for b in backgrounds) else _mean(backgrounds)

    def per_focal(counts: str) -> float:
        return _mean(
            [sum(getattr(r, counts)[s] for s in r.focal_seats) / len(r.focal_seats) for r in recs]
        )

    return _Trial(
        focal=tuple(r.focal_return for r in recs),
        background=background,
        welfare=_mean([r.welfare for r in recs]),
        counts=(per_focal("stags"), per_focal("hares"), per_focal("drifts")),
    )


def _row(
    env_id: str,
    scenario: str,
    agent: str,
    trials: list[_Trial],
    all_trials: int,
    last: int,
    confidence: float,
) -> ScenarioSummary:
    focal = mean_ci([_mean(t.focal) for t in trials], confidence)
    focal_last = mean_ci([_mean(t.focal[-last:]) for t in trials], confidence)
    welfare = mean_ci([t.welfare for t in trials], confidence)
    backgrounds = [t.background for t in trials]
    background: Estimate | None = None
    if all(b is not None for b in backgrounds):
        background = mean_ci([b for b in backgrounds if b is not None], confidence)
    counts = [_mean([t.counts[k] for t in trials]) for k in range(3)]
    return ScenarioSummary(
        env_id=env_id,
        scenario=scenario,
        agent=agent,
        trials=len(trials),
        incomplete_trials=all_trials - len(trials),
        episodes=len(trials[0].focal),
        last_episodes=last,
        focal_mean=focal.mean,
        focal_ci=focal.ci,
        focal_last_mean=focal_last.mean,
        focal_last_ci=focal_last.ci,
        background_mean=background.mean if background else None,
        background_ci=background.ci if background else None,
        welfare_mean=welfare.mean,
        welfare_ci=welfare.ci,
        stags_per_focal=counts[0],
        hares_per_focal=counts[1],
        drifts_per_focal=counts[2],
        normalized=None,
        normalized_note="",
    )


def _normalize(rows: list[ScenarioSummary], rule_based: RuleBasedNames) -> list[ScenarioSummary]:
    by_key = {(r.scenario, r.agent): r for r in rows}
    out = []
    for r in rows:
        refs = sorted(set(rule_based(r.env_id)) - {RANDOM_AGENT})
        present = [by_key[(r.scenario, a)] for a in refs if (r.scenario, a) in by_key]
        zero = by_key.get((r.scenario, RANDOM_AGENT))
        value: float | None = None
        if zero is None:
            note = f"no `{RANDOM_AGENT}` results in {r.scenario}"
        elif not present:
            note = f"no results of a rule-based agent ({', '.join(refs) or 'none'}) in {r.scenario}"
        else:
            best = max(present, key=lambda p: p.focal_mean)
            spread = best.focal_mean - zero.focal_mean
            if spread <= 0:
                note = (
                    f"in {r.scenario} the best rule-based agent ({best.agent}, "
                    f"{best.focal_mean:.3g}) does not beat `{RANDOM_AGENT}` ({zero.focal_mean:.3g})"
                )
            else:
                value = (r.focal_mean - zero.focal_mean) / spread
                note = _spread_caution(r.scenario, best, zero, spread)
        out.append(replace(r, normalized=value, normalized_note=note))
    return out


def _spread_caution(
    scenario: str, best: ScenarioSummary, zero: ScenarioSummary, spread: float
) -> str:
    """A warning when the two references are not clearly apart (their confidence
    intervals overlap): the scale is then dominated by noise. Empty otherwise."""
    if best.focal_ci is None or zero.focal_ci is None or spread > best.focal_ci + zero.focal_ci:
        return ""
    return (
        f"caution: in {scenario} the references are not clearly apart (best rule-based "
        f"{best.agent} {best.focal_mean:.2f} ± {best.focal_ci:.2f} vs `{RANDOM_AGENT}` "
        f"{zero.focal_mean:.2f} ± {zero.focal_ci:.2f}), so scores there are noisy"
    )


def _scores(rows: list[ScenarioSummary]) -> list[AgentScore]:
    scores = []
    for env_id in sorted({r.env_id for r in rows}, key=env_sort_key):
        in_family = [
            r for r in rows if r.env_id == env_id and scenario_family(r.scenario) == ADAPT_1V3
        ]
        scenarios = sorted({r.scenario for r in in_family})
        if not scenarios:
            continue
        for agent in sorted({r.agent for r in rows if r.env_id == env_id}):
            mine = {r.scenario: r for r in in_family if r.agent == agent}
            missing = [s for s in scenarios if s not in mine]
            blank = [s for s in scenarios if s in mine and mine[s].normalized is None]
            value: float | None = None
            if missing:
                note = f"no results for {agent} in {', '.join(missing)}"
            elif blank:
                note = f"no normalized score for {agent} in {', '.join(blank)}"
            else:
                value = _mean([mine[s].normalized for s in scenarios])  # type: ignore[misc]
                note = ""
            scores.append(AgentScore(env_id, agent, ADAPT_1V3, len(scenarios), value, note))
    return scores


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)
