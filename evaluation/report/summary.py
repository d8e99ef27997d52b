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
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from evaluation.records import EpisodeRecord
from evaluation.references import (
    ReferenceResult,
    ReferenceScale,
    reference_agents,
    reference_scale,
)
from evaluation.report.aggregate import (
    bootstrap_interval,
    interquartile_mean,
    probability_of_improvement_interval,
)
from evaluation.report.stats import DEFAULT_CONFIDENCE, Estimate, mean_ci

RANDOM_AGENT = "random"
ADAPT_1V3 = "adapt-1v3"
#: Scenario families in the order reports list them.
FAMILIES = (
    "adapt-1v3",
    "adapt-hidden",
    "adapt-mixed",
    "adapt-3v1",
    "selfplay",
    "heldout-1v3",
    "heldout-hidden",
    "heldout-mixed",
)
#: The populations whose scenarios are aggregated (IQM) per env, and their scenario families:
#: the one-focal-seat scenarios against the training population and against the held-out one.
TRAINING, HELD_OUT = "training", "held-out"
AGGREGATED: dict[str, tuple[str, ...]] = {
    TRAINING: ("adapt-1v3", "adapt-hidden", "adapt-mixed"),
    HELD_OUT: ("heldout-1v3", "heldout-hidden", "heldout-mixed"),
}
#: Bootstrap resamples of the aggregates (fixed seed: a report is a function of its records).
BOOTSTRAP_REPS, BOOTSTRAP_SEED = 2000, 0

RuleBasedNames = Callable[[str], Collection[str]]


def env_name(env_id: str) -> str:
    """``"hop/MarkovStagHunt-v0"`` -> ``"MarkovStagHunt-v0"`` (ids are stored either way)."""
    return env_id.removeprefix("hop/")


def default_rule_based(env_id: str) -> tuple[str, ...]:
    """The training-population co-players of ``env_id`` (the reference agents)."""
    return reference_agents(env_id)


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


def population_of(scenario: str) -> str | None:
    """``"training"`` or ``"held-out"`` for a scenario of an aggregated family, else None.

    ``adapt-1v3-<learner>`` (a learned background, co-player population ``"learned"``) is
    not aggregated: the training aggregate stays over the rule-based training population,
    and the planners do not play it in the main job (``oracle-mcts`` would search with copies
    of three neural policies)."""
    family = scenario_family(scenario)
    if family == "adapt-1v3" and _learned_background(scenario):
        return None
    for population, families in AGGREGATED.items():
        if family in families:
            return population
    return None


def _learned_background(scenario: str) -> bool:
    from hop_envs.coplayers import LEARNED, coplayer_population

    name = short_scenario(scenario).removeprefix("adapt-1v3-")
    try:
        return coplayer_population(name) == LEARNED
    except ValueError:  # a plug-in declaring a population it may not
        return False


def scenario_sort_key(scenario: str) -> tuple[int, str]:
    family = scenario_family(scenario)
    return (FAMILIES.index(family) if family else len(FAMILIES), scenario)


@dataclass(frozen=True)
class ScenarioSummary:
    """One agent in one scenario. Returns are per-capita; ``*_ci`` are confidence
    half-widths over trials (``None`` with a single trial). ``last_mean`` is over the last
    ``last_episodes`` episodes of each trial. ``adaptation_mean`` is the within-trial change:
    per trial, the mean focal return of its last ``last_episodes`` episodes minus that of its
    first as many, averaged over trials (a paired difference, so what every trial shares
    cancels); ``None`` when trials are shorter than twice ``last_episodes`` (the windows would
    overlap). Outcome counts are per focal player per episode. ``normalized`` is ``None`` when
    its references are missing; ``normalized_note`` says why (or, beside a score, cautions
    that the references' confidence intervals overlap).
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
    scenario_hash: str = ""
    config_hash: str = ""
    adaptation_mean: float | None = None
    adaptation_ci: float | None = None


@dataclass(frozen=True)
class TrialScore:
    """One trial's normalized score (its mean focal return over episodes, rescaled)."""

    env_id: str
    scenario: str
    agent: str
    seed: int
    trial: int
    focal_mean: float
    normalized: float


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
    """An agent's aggregate over the scenarios of one population (``family``: ``training``
    or ``held-out``) of one env: the interquartile mean of its per-trial normalized scores
    over scenarios and trials, with a stratified-bootstrap interval (``None`` with a
    ``note`` when a scenario of the family is missing or has no score for it)."""

    env_id: str
    agent: str
    family: str
    scenarios: int
    normalized: float | None
    note: str
    low: float | None = None
    high: float | None = None
    trials: int = 0


@dataclass(frozen=True)
class Improvement:
    """Probability that ``agent`` beats ``versus`` on a random scenario of the family and a
    random trial of each (Agarwal et al. 2021), with its stratified-bootstrap interval."""

    env_id: str
    family: str
    agent: str
    versus: str
    scenarios: int
    probability: float
    low: float
    high: float


@dataclass(frozen=True)
class Summary:
    """Everything a report shows, computed once from the records."""

    rows: tuple[ScenarioSummary, ...]
    curves: tuple[CurvePoint, ...]
    scores: tuple[AgentScore, ...]
    skipped: tuple[str, ...]
    confidence: float
    last_episodes: int
    trial_scores: tuple[TrialScore, ...] = ()
    improvements: tuple[Improvement, ...] = ()

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
    references: Mapping[str, Sequence[ReferenceResult]] | None = None,
    versus: str | None = None,
) -> Summary:
    """Per agent x scenario statistics, adaptation curves, normalized scores and aggregates.

    Normalized score (:mod:`evaluation.references`): 0 = the lowest and 1 = the highest
    reference mean of the scenario, from the shipped reference results (``references``, by
    default the package's file) when they were made for the scenario's definition, else from
    the records of the env's reference agents when all of them are there, else none.
    Aggregates per env and population: IQM of the per-trial normalized scores with a
    stratified bootstrap interval, and the probability of improvement of every agent over
    ``versus`` (default ``hop`` when present, else ``random``). ``rule_based`` only orders
    the agents in tables.
    """
    if isinstance(last_episodes, bool) or not isinstance(last_episodes, int) or last_episodes < 1:
        raise ValueError(f"last_episodes must be an integer >= 1, got {last_episodes!r}")
    if not isinstance(confidence, float | int) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    groups, env_of = _group(records)
    rows: list[ScenarioSummary] = []
    curves: list[CurvePoint] = []
    skipped: list[str] = []
    trial_means: dict[tuple[str, str], list[tuple[int, int, float]]] = {}
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
        row = _row(env_id, scenario, agent, complete, len(by_trial), last, confidence)
        first = next(iter(next(iter(by_trial.values())).values()))
        rows.append(replace(row, scenario_hash=first.scenario_hash, config_hash=first.config_hash))
        trial_means[(scenario, agent)] = [
            (seed, trial, _mean([eps[e].focal_return for e in indices]))
            for (seed, trial), eps in sorted(by_trial.items())
            if sorted(eps) == indices
        ]
        for pos, episode in enumerate(indices):
            est = mean_ci([t.focal[pos] for t in complete], confidence)
            curves.append(CurvePoint(env_id, scenario, agent, episode, est.n, est.mean, est.ci))
    scales = _scales(rows, references, trial_means)
    rows = [_normalized_row(r, scales[r.scenario]) for r in rows]
    trial_scores = [
        TrialScore(r.env_id, r.scenario, r.agent, seed, trial, mean, value)
        for r in rows
        for seed, trial, mean in trial_means[(r.scenario, r.agent)]
        if (value := scales[r.scenario].normalize(mean)) is not None
    ]
    scores, improvements = _aggregates(rows, trial_scores, versus, scales)
    return Summary(
        rows=tuple(rows),
        curves=tuple(curves),
        scores=tuple(scores),
        skipped=tuple(skipped),
        confidence=confidence,
        last_episodes=last_episodes,
        trial_scores=tuple(trial_scores),
        improvements=tuple(improvements),
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
    adaptation: Estimate | None = None
    if len(trials[0].focal) >= 2 * last:
        adaptation = mean_ci(
            [_mean(t.focal[-last:]) - _mean(t.focal[:last]) for t in trials], confidence
        )
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
        adaptation_mean=adaptation.mean if adaptation else None,
        adaptation_ci=adaptation.ci if adaptation else None,
    )


def _scales(
    rows: Sequence[ScenarioSummary],
    references: Mapping[str, Sequence[ReferenceResult]] | None,
    trial_means: Mapping[tuple[str, str], Sequence[tuple[int, int, float]]],
) -> dict[str, ReferenceScale]:
    """The reference scale of every scenario in ``rows`` (shipped, else from the records)."""
    database = {
        (r.scenario, r.agent): ReferenceResult(
            scenario=r.scenario,
            env_id=r.env_id,
            agent=r.agent,
            trials=r.trials,
            episodes=r.episodes,
            mean=r.focal_mean,
            ci=math.inf if r.focal_ci is None else r.focal_ci,
            scenario_hash=r.scenario_hash,
            config_hash=r.config_hash,
            trial_means=tuple(m for _, _, m in sorted(trial_means[(r.scenario, r.agent)])),
        )
        for r in rows
    }
    scales = {}
    for r in rows:
        if r.scenario not in scales:
            scales[r.scenario] = reference_scale(
                r.scenario, r.env_id, r.scenario_hash, database, references
            )
    return scales


def _normalized_row(row: ScenarioSummary, scale: ReferenceScale) -> ScenarioSummary:
    if not scale.defined:
        return replace(row, normalized=None, normalized_note=scale.note)
    note = (
        ""
        if scale.source == "shipped"
        else (
            f"{row.scenario} is scaled by this database's reference results "
            f"({scale.low_agent} {scale.low:.2f} = 0, {scale.high_agent} {scale.high:.2f} = 1)"
        )
    )
    return replace(row, normalized=scale.normalize(row.focal_mean), normalized_note=note)


def _aggregates(
    rows: Sequence[ScenarioSummary],
    trial_scores: Sequence[TrialScore],
    versus: str | None,
    scales: Mapping[str, ReferenceScale],
) -> tuple[list[AgentScore], list[Improvement]]:
    """IQM with bootstrap intervals per env x population x agent, and the probability of
    improvement of each agent over ``versus`` on the same scenarios. Scenarios without a
    reference scale are left out for every agent alike (and named in the scores' notes)."""
    by_cell: dict[tuple[str, str], list[float]] = defaultdict(list)
    for t in trial_scores:
        by_cell[(t.scenario, t.agent)].append(t.normalized)
    scores: list[AgentScore] = []
    improvements: list[Improvement] = []
    for env_id in sorted({r.env_id for r in rows}, key=env_sort_key):
        mine = [r for r in rows if r.env_id == env_id]
        agents = sorted({r.agent for r in mine})
        rival = versus or ("hop" if "hop" in agents else RANDOM_AGENT)
        for population in AGGREGATED:
            family = [r for r in mine if population_of(r.scenario) == population]
            unscaled = sorted({r.scenario for r in family if not scales[r.scenario].defined})
            family = [r for r in family if r.scenario not in unscaled]
            scenarios = sorted({r.scenario for r in family})
            if not scenarios:
                continue
            left_out = (
                f"{population} aggregate without {', '.join(unscaled)}: no reference scale "
                "there (see its normalized-score note)"
                if unscaled
                else ""
            )
            cell = {(r.scenario, r.agent): r for r in family}
            complete: dict[str, dict[str, list[float]]] = {}
            for agent in agents:
                missing = [s for s in scenarios if (s, agent) not in cell]
                blank = [s for s in scenarios if s not in missing and not by_cell[(s, agent)]]
                if missing or blank:
                    note = (
                        f"no results in {', '.join(missing)}"
                        if missing
                        else f"no normalized score in {', '.join(blank)}"
                    )
                    scores.append(AgentScore(env_id, agent, population, len(scenarios), None, note))
                    continue
                tasks = {s: by_cell[(s, agent)] for s in scenarios}
                complete[agent] = tasks
                iqm = bootstrap_interval(
                    tasks, interquartile_mean, reps=BOOTSTRAP_REPS, seed=BOOTSTRAP_SEED
                )
                scores.append(
                    AgentScore(
                        env_id,
                        agent,
                        population,
                        len(scenarios),
                        iqm.point,
                        left_out,
                        iqm.low,
                        iqm.high,
                        sum(len(v) for v in tasks.values()),
                    )
                )
            if rival not in complete:
                continue
            for agent, tasks in complete.items():
                if agent == rival:
                    continue
                pi = probability_of_improvement_interval(
                    tasks, complete[rival], reps=BOOTSTRAP_REPS, seed=BOOTSTRAP_SEED
                )
                improvements.append(
                    Improvement(
                        env_id, population, agent, rival, len(scenarios), pi.point, pi.low, pi.high
                    )
                )
    return scores, improvements


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)
