"""Opponent-modelling quality in reports: how well agents with ``predict_coplayers`` predicted
their co-players (the ``om_*`` fields of :class:`~evaluation.records.EpisodeRecord`, scored by
:mod:`evaluation.prediction_scores`; docs/diagnostics.md).

Per step, not per episode: a trial's value is the mean over all its scored items (the
episodes' per-step means weighted by their item counts), so a long episode weighs more than a
short one. As for returns, trials are the independent samples: per agent x scenario the mean
over trials with a Student-t interval, per episode index the same over trials (the modelling
learning curve), and per env and population the IQM over the population's scenarios and
trials with a stratified-bootstrap interval. Only complete trials take part (every episode
index the group has), like the return summary; an episode of a predicting agent with no scored
item (``om_count == 0``: say it left the game before its first prediction) is stored and
counts for completeness, but adds no item to its trial or its curve point. Records of agents
that do not predict (``om_count`` None) give an empty :class:`PredictionSummary`.

Normalized log-likelihood, per trial: ``(agent - uniform) / (exact - uniform)``, 0 = the
uniform predictor over legal actions, 1 = the true distribution; defined only where every
scored item of the trial has the exact reference (else the two would be means over different
items) and ``exact - uniform > NORMALIZE_EPS``.

Correlation across agents, per env and population: Spearman's rank correlation
(``scipy.stats.spearmanr``; ties get their average rank) between each agent's mean
log-likelihood over the population's scenarios and its mean focal return
over the same scenarios, over the agents scored in all of them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.records import EpisodeRecord
from evaluation.report.aggregate import bootstrap_interval, interquartile_mean
from evaluation.report.stats import DEFAULT_CONFIDENCE, mean_ci
from evaluation.report.summary import (
    AGGREGATED,
    BOOTSTRAP_REPS,
    BOOTSTRAP_SEED,
    ScenarioSummary,
    env_sort_key,
    population_of,
    scenario_sort_key,
)

#: ``exact - uniform`` log-likelihood below this leaves the normalized value undefined.
NORMALIZE_EPS = 1e-9
#: Fewer agents than this: no rank correlation at all.
MIN_CORRELATION_AGENTS = 3
#: Fewer agents than this: the correlation is shown but cannot be significant (with n = 4 the
#: smallest two-sided permutation p-value of Spearman's rho is 2/24 = 0.083 > 0.05).
MEANINGFUL_CORRELATION_AGENTS = 5
#: The metrics aggregated per population (IQM over scenarios and trials).
AGGREGATE_METRICS = ("log_likelihood", "normalized_log_likelihood", "accuracy", "goal_probability")


@dataclass(frozen=True)
class PredictionRow:
    """One agent in one scenario: per-step means over trials with their confidence
    half-widths (``None`` with one trial or no values); the references over the same items;
    ``items``, ``exact_items``, ``goal_items``: scored items per trial (mean)."""

    env_id: str
    scenario: str
    agent: str
    trials: int
    episodes: int
    log_likelihood: float
    log_likelihood_ci: float | None
    accuracy: float
    accuracy_ci: float | None
    brier: float
    brier_ci: float | None
    goal_probability: float | None
    goal_probability_ci: float | None
    uniform_log_likelihood: float
    uniform_accuracy: float
    uniform_brier: float
    exact_log_likelihood: float | None
    exact_accuracy: float | None
    exact_brier: float | None
    normalized_log_likelihood: float | None
    normalized_log_likelihood_ci: float | None
    items: float
    exact_items: float
    goal_items: float


@dataclass(frozen=True)
class PredictionPoint:
    """The modelling learning curve at one episode index (a row of ``predictions.csv``):
    per-step means of that episode, averaged over the trials; ``trials`` counts the trials
    with scored items in it, the ``*_items`` columns are their totals over those trials."""

    env_id: str
    scenario: str
    agent: str
    episode: int
    trials: int
    log_likelihood: float
    accuracy: float
    goal_probability: float | None
    log_likelihood_ci: float | None
    goal_probability_ci: float | None
    brier: float
    uniform_log_likelihood: float
    uniform_accuracy: float
    uniform_brier: float
    exact_log_likelihood: float | None
    exact_accuracy: float | None
    exact_brier: float | None
    items: int
    exact_items: int
    goal_items: int


@dataclass(frozen=True)
class PredictionAggregate:
    """One metric of one agent over one population of one env: IQM of the per-trial values
    over the population's scenarios and trials, with a stratified-bootstrap interval
    (``value`` None with a ``note`` when some scenario has no value for the agent)."""

    env_id: str
    family: str
    agent: str
    metric: str
    scenarios: int
    value: float | None
    low: float | None
    high: float | None
    trials: int
    note: str


@dataclass(frozen=True)
class PredictionCorrelation:
    """Spearman's rho over ``agents`` between mean log-likelihood and mean focal return
    (module docstring); ``rho`` None with a ``note`` when undefined."""

    env_id: str
    family: str
    agents: int
    rho: float | None
    note: str


@dataclass(frozen=True)
class PredictionSummary:
    """Everything the report shows about opponent modelling (empty without scores)."""

    rows: tuple[PredictionRow, ...] = ()
    curves: tuple[PredictionPoint, ...] = ()
    aggregates: tuple[PredictionAggregate, ...] = ()
    correlations: tuple[PredictionCorrelation, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rows)

    def env_ids(self) -> list[str]:
        return sorted({r.env_id for r in self.rows}, key=env_sort_key)


@dataclass(frozen=True)
class _Trial:
    """One trial's per-step means (None: no such items)."""

    loglik: float
    accuracy: float
    brier: float
    uniform: tuple[float, float, float]
    exact: tuple[float, float, float] | None
    goal: float | None
    normalized: float | None
    items: int
    exact_items: int
    goal_items: int


def scored(record: EpisodeRecord) -> bool:
    """Whether ``record`` has prediction scores (a predicting agent with scored items)."""
    return record.om_count is not None and record.om_count > 0


def summarize_predictions(
    records: Iterable[EpisodeRecord],
    rows: Sequence[ScenarioSummary] = (),
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> PredictionSummary:
    """The opponent-modelling summary of ``records`` (module docstring); ``rows``: the
    return summary's rows, for the correlation with returns."""
    groups: dict[tuple[str, str], dict[tuple[int, int], dict[int, EpisodeRecord]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    env_of: dict[str, str] = {}
    for rec in records:
        if rec.om_count is not None:  # a predicting agent's episode, scored items or not
            groups[(rec.scenario, rec.agent)][(rec.seed, rec.trial)][rec.episode] = rec
            env_of.setdefault(rec.scenario, rec.env_id)
    out_rows: list[PredictionRow] = []
    curves: list[PredictionPoint] = []
    per_trial: dict[tuple[str, str], list[_Trial]] = {}
    for (scenario, agent), by_trial in sorted(
        groups.items(), key=lambda kv: (scenario_sort_key(kv[0][0]), kv[0][1])
    ):
        indices = sorted({e for eps in by_trial.values() for e in eps})
        complete = [
            eps
            for _, eps in sorted(by_trial.items())
            if sorted(eps) == indices and any(scored(r) for r in eps.values())
        ]
        if not complete:
            continue
        trials = [_trial([eps[e] for e in indices if scored(eps[e])]) for eps in complete]
        per_trial[(scenario, agent)] = trials
        env_id = env_of[scenario]
        out_rows.append(_row(env_id, scenario, agent, trials, len(indices), confidence))
        for episode in indices:
            recs = [t[episode] for t in complete if scored(t[episode])]
            if recs:
                curves.append(_point((env_id, scenario, agent, episode), recs, confidence))
    aggregates = _aggregates(out_rows, per_trial)
    correlations = _correlations(out_rows, rows)
    return PredictionSummary(tuple(out_rows), tuple(curves), tuple(aggregates), correlations)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho of ``x`` and ``y`` (``scipy.stats.spearmanr``: average ranks for
    ties); None when either is constant or there are fewer than two pairs."""
    if len(x) != len(y):
        raise ValueError(f"spearman needs pairs, got {len(x)} and {len(y)} values")
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    from scipy.stats import spearmanr

    return float(spearmanr(np.asarray(x, dtype=float), np.asarray(y, dtype=float)).statistic)


def _weighted(pairs: Iterable[tuple[float | None, int | None]]) -> tuple[float | None, int]:
    """The count-weighted mean of per-episode means (None for no items) and the count."""
    total, count = 0.0, 0
    for mean, n in pairs:
        if mean is not None and n:
            total += mean * n
            count += n
    return (total / count if count else None), count


def _trial(recs: Sequence[EpisodeRecord]) -> _Trial:
    def agent(field: str) -> float:
        value, _ = _weighted((getattr(r, field), r.om_count) for r in recs)
        assert value is not None  # every record is scored
        return value

    def exact(field: str) -> tuple[float | None, int]:
        return _weighted((getattr(r, field), r.om_exact_count) for r in recs)

    items = sum(r.om_count or 0 for r in recs)
    loglik = agent("om_loglik")
    uniform = (agent("om_uniform_loglik"), agent("om_uniform_accuracy"), agent("om_uniform_brier"))
    exact_loglik, exact_items = exact("om_exact_loglik")
    exact_means = (
        None
        if exact_loglik is None
        else (exact_loglik, exact("om_exact_accuracy")[0], exact("om_exact_brier")[0])
    )
    goal, goal_items = _weighted((r.om_goal_prob, r.om_goal_count) for r in recs)
    normalized = None
    if exact_loglik is not None and exact_items == items:
        span = exact_loglik - uniform[0]
        if span > NORMALIZE_EPS:
            normalized = (loglik - uniform[0]) / span
    return _Trial(
        loglik=loglik,
        accuracy=agent("om_accuracy"),
        brier=agent("om_brier"),
        uniform=uniform,
        exact=exact_means,  # type: ignore[arg-type]
        goal=goal,
        normalized=normalized,
        items=items,
        exact_items=exact_items,
        goal_items=goal_items,
    )


def _est(values: Sequence[float | None], confidence: float) -> tuple[float | None, float | None]:
    """Mean and half-width over the trials that have a value; (None, None) when one lacks it."""
    if not values or any(v is None for v in values):
        return None, None
    est = mean_ci([v for v in values if v is not None], confidence)
    return est.mean, est.ci


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _row(
    env_id: str,
    scenario: str,
    agent: str,
    trials: Sequence[_Trial],
    episodes: int,
    confidence: float,
) -> PredictionRow:
    loglik, loglik_ci = _est([t.loglik for t in trials], confidence)
    accuracy, accuracy_ci = _est([t.accuracy for t in trials], confidence)
    brier, brier_ci = _est([t.brier for t in trials], confidence)
    goal, goal_ci = _est([t.goal for t in trials], confidence)
    normalized, normalized_ci = _est([t.normalized for t in trials], confidence)
    exacts = [t.exact for t in trials]
    exact = (
        None
        if any(e is None for e in exacts)
        else [_mean(list(v)) for v in zip(*exacts, strict=True)]
    )
    assert loglik is not None and accuracy is not None and brier is not None
    return PredictionRow(
        env_id=env_id,
        scenario=scenario,
        agent=agent,
        trials=len(trials),
        episodes=episodes,
        log_likelihood=loglik,
        log_likelihood_ci=loglik_ci,
        accuracy=accuracy,
        accuracy_ci=accuracy_ci,
        brier=brier,
        brier_ci=brier_ci,
        goal_probability=goal,
        goal_probability_ci=goal_ci,
        uniform_log_likelihood=_mean([t.uniform[0] for t in trials]),
        uniform_accuracy=_mean([t.uniform[1] for t in trials]),
        uniform_brier=_mean([t.uniform[2] for t in trials]),
        exact_log_likelihood=exact[0] if exact else None,
        exact_accuracy=exact[1] if exact else None,
        exact_brier=exact[2] if exact else None,
        normalized_log_likelihood=normalized,
        normalized_log_likelihood_ci=normalized_ci,
        items=_mean([t.items for t in trials]),
        exact_items=_mean([t.exact_items for t in trials]),
        goal_items=_mean([t.goal_items for t in trials]),
    )


def _point(
    key: tuple[str, str, str, int], recs: Sequence[EpisodeRecord], confidence: float
) -> PredictionPoint:
    """The curve point of one episode index from its records in the complete trials."""

    def mean_of(field: str, count: str) -> float | None:
        values = [getattr(r, field) for r in recs if getattr(r, count)]
        values = [v for v in values if v is not None]
        return _mean(values) if values else None

    loglik = mean_ci([r.om_loglik for r in recs if r.om_loglik is not None], confidence)
    goals = [r.om_goal_prob for r in recs if r.om_goal_count and r.om_goal_prob is not None]
    goal = mean_ci(goals, confidence) if goals else None
    agent = {f: mean_of(f"om_{f}", "om_count") or 0.0 for f in ("accuracy", "brier")}
    uniform = {
        f: mean_of(f"om_uniform_{f}", "om_count") or 0.0 for f in ("loglik", "accuracy", "brier")
    }
    return PredictionPoint(
        *key,
        trials=len(recs),
        log_likelihood=loglik.mean,
        accuracy=agent["accuracy"],
        goal_probability=goal.mean if goal else None,
        log_likelihood_ci=loglik.ci,
        goal_probability_ci=goal.ci if goal else None,
        brier=agent["brier"],
        uniform_log_likelihood=uniform["loglik"],
        uniform_accuracy=uniform["accuracy"],
        uniform_brier=uniform["brier"],
        exact_log_likelihood=mean_of("om_exact_loglik", "om_exact_count"),
        exact_accuracy=mean_of("om_exact_accuracy", "om_exact_count"),
        exact_brier=mean_of("om_exact_brier", "om_exact_count"),
        items=sum(r.om_count or 0 for r in recs),
        exact_items=sum(r.om_exact_count or 0 for r in recs),
        goal_items=sum(r.om_goal_count or 0 for r in recs),
    )


def _aggregates(
    rows: Sequence[PredictionRow], per_trial: dict[tuple[str, str], list[_Trial]]
) -> list[PredictionAggregate]:
    out: list[PredictionAggregate] = []
    getters = {
        "log_likelihood": lambda t: t.loglik,
        "normalized_log_likelihood": lambda t: t.normalized,
        "accuracy": lambda t: t.accuracy,
        "goal_probability": lambda t: t.goal,
    }
    for env_id in sorted({r.env_id for r in rows}, key=env_sort_key):
        for family in AGGREGATED:
            mine = [r for r in rows if r.env_id == env_id and population_of(r.scenario) == family]
            scenarios = sorted({r.scenario for r in mine})
            if not scenarios:
                continue
            for agent in sorted({r.agent for r in mine}):
                missing = [s for s in scenarios if (s, agent) not in per_trial]
                for metric in AGGREGATE_METRICS:
                    cell = _aggregate_cell(per_trial, scenarios, agent, missing, metric, getters)
                    if cell is not None:
                        n = len(scenarios)
                        out.append(PredictionAggregate(env_id, family, agent, metric, n, *cell))
    return out


def _aggregate_cell(
    per_trial: dict[tuple[str, str], list[_Trial]],
    scenarios: Sequence[str],
    agent: str,
    missing: Sequence[str],
    metric: str,
    getters: dict[str, Callable[[_Trial], float | None]],
) -> tuple[float | None, float | None, float | None, int, str] | None:
    """(IQM, low, high, trials, note) of one agent and metric over ``scenarios``; a blank
    cell with its note when some scenario is not scored (shown once, on the log-likelihood)
    or has no value of the metric; None when nothing is to be shown."""
    if missing:
        if metric != "log_likelihood":
            return None
        return None, None, None, 0, f"not scored in {', '.join(missing)}"
    get = getters[metric]
    tasks = {s: [get(t) for t in per_trial[(s, agent)]] for s in scenarios}
    blank = [s for s, v in tasks.items() if any(x is None for x in v)]
    if blank:
        return None, None, None, 0, f"no {metric} in {', '.join(blank)}"
    iqm = bootstrap_interval(tasks, interquartile_mean, reps=BOOTSTRAP_REPS, seed=BOOTSTRAP_SEED)
    return iqm.point, iqm.low, iqm.high, sum(len(v) for v in tasks.values()), ""


def _correlations(
    rows: Sequence[PredictionRow], returns: Sequence[ScenarioSummary]
) -> tuple[PredictionCorrelation, ...]:
    focal = {(r.scenario, r.agent): r.focal_mean for r in returns}
    out: list[PredictionCorrelation] = []
    for env_id in sorted({r.env_id for r in rows}, key=env_sort_key):
        for family in AGGREGATED:
            mine = [r for r in rows if r.env_id == env_id and population_of(r.scenario) == family]
            scenarios = sorted({r.scenario for r in mine})
            if not scenarios:
                continue
            cell = {(r.scenario, r.agent): r.log_likelihood for r in mine}
            xs, ys = [], []
            for agent in sorted({r.agent for r in mine}):
                if all((s, agent) in cell and (s, agent) in focal for s in scenarios):
                    xs.append(_mean([cell[(s, agent)] for s in scenarios]))
                    ys.append(_mean([focal[(s, agent)] for s in scenarios]))
            n = len(xs)
            rho = spearman(xs, ys) if n >= MIN_CORRELATION_AGENTS else None
            if n < MIN_CORRELATION_AGENTS:
                note = f"too few agents ({n}) for a rank correlation"
            elif rho is None:
                note = "undefined: the agents tie in log-likelihood or in return"
            elif n < MEANINGFUL_CORRELATION_AGENTS:
                note = (
                    f"only {n} agents: too few to mean anything (no rank correlation of fewer "
                    f"than {MEANINGFUL_CORRELATION_AGENTS} pairs is significant at 5%)"
                )
            else:
                note = ""
            out.append(PredictionCorrelation(env_id, family, n, rho, note))
    return tuple(out)


# --- Markdown ------------------------------------------------------------------------------

OTHER = "other"
_METRIC_TITLES = {
    "log_likelihood": "log-lik/step",
    "normalized_log_likelihood": "normalized log-lik",
    "accuracy": "accuracy",
    "goal_probability": "goal prob.",
}


def prediction_markdown(
    predictions: PredictionSummary,
    env_id: str,
    *,
    confidence: float,
    plots: dict[tuple[str, str], str] | None = None,
) -> list[str]:
    """The opponent-modelling section of one env's report (no lines without scores)."""
    rows = [r for r in predictions.rows if r.env_id == env_id]
    if not rows:
        return []
    from evaluation.report.summary import env_name, short_scenario

    pct = f"{confidence:.0%}"
    out = [
        f"### Opponent modelling: {env_name(env_id)}",
        "",
        "How well the agents that predict their co-players (`predict_coplayers`) did, per step "
        "and co-player still in the game, scored after the joint step (docs/diagnostics.md). "
        f"Per-step means over each trial, then the mean ± {pct} CI over trials. `uniform`: a "
        "uniform guess over the co-player's legal actions, over the same items; `exact`: the "
        "co-players' true distribution, over the items whose co-player has one (rule-based "
        "co-players; — where none has). `normalized`: (log-lik - uniform) / (exact - "
        "uniform), 0 = uniform, 1 = exact, where every item has the exact reference. "
        "`goal prob.`: the mean probability given to the co-player's hindsight goal. "
        "Brier: 0 is perfect, 2 the worst.",
        "",
    ]
    header = [
        "scenario",
        "agent",
        "trials",
        "log-lik/step",
        "uniform",
        "exact",
        "normalized",
        "accuracy",
        "uniform acc.",
        "exact acc.",
        "Brier",
        "uniform Brier",
        "exact Brier",
        "goal prob.",
    ]
    by_family: dict[str, list[PredictionRow]] = defaultdict(list)
    for r in rows:
        by_family[population_of(r.scenario) or OTHER].append(r)
    for family in [*AGGREGATED, OTHER]:
        if family not in by_family:
            continue
        body = [
            [
                _esc(short_scenario(r.scenario)),
                _esc(r.agent),
                str(r.trials),
                _ci(r.log_likelihood, r.log_likelihood_ci),
                f"{r.uniform_log_likelihood:.3f}",
                _num(r.exact_log_likelihood),
                _ci(r.normalized_log_likelihood, r.normalized_log_likelihood_ci, 2),
                _ci(r.accuracy, r.accuracy_ci),
                f"{r.uniform_accuracy:.3f}",
                _num(r.exact_accuracy),
                _ci(r.brier, r.brier_ci),
                f"{r.uniform_brier:.3f}",
                _num(r.exact_brier),
                _ci(r.goal_probability, r.goal_probability_ci),
            ]
            for r in by_family[family]
        ]
        title = family if family != OTHER else "other scenarios"
        out += [f"{title}:", "", *_pipe_table(header, body, left=2), ""]
    aggregates = [a for a in predictions.aggregates if a.env_id == env_id]
    if aggregates:
        out += [
            "Per population: IQM of the per-trial values over the population's scenarios and "
            f"trials [95% stratified-bootstrap interval, {BOOTSTRAP_REPS} resamples] "
            "(`n`: trials pooled).",
            "",
        ]
        cell = {(a.agent, a.family, a.metric): a for a in aggregates}
        body, unscored = [], []
        for agent, family in sorted({(a.agent, a.family) for a in aggregates}):
            row = [_esc(agent), family]
            for metric in AGGREGATE_METRICS:
                a = cell.get((agent, family, metric))
                if a is not None and a.value is not None:
                    row.append(f"{a.value:.3f} [{a.low:.3f}, {a.high:.3f}] (n={a.trials})")
                else:
                    row.append("—")
                    if a is not None and a.note.startswith("not scored"):
                        unscored.append(f"- {_esc(agent)}, {family}: {_esc(a.note)}")
            body.append(row)
        header = ["agent", "population", *[_METRIC_TITLES[m] for m in AGGREGATE_METRICS]]
        out += [*_pipe_table(header, body, left=2), ""]
        out += [
            "—: some scenario of the population has no value for the agent (no exact "
            "reference on every item, no goal beliefs, or not scored there).",
            "",
        ]
        if unscored:
            out += [*unscored, ""]
    correlations = [c for c in predictions.correlations if c.env_id == env_id]
    if correlations:
        out += [
            "Modelling quality against return, across agents (Spearman's rank correlation of "
            "each agent's mean log-likelihood per step and mean focal return over the "
            "population's scenarios):",
            "",
        ]
        for c in correlations:
            value = "—" if c.rho is None else f"{c.rho:.2f}"
            note = f"; {_esc(c.note)}" if c.note else ""
            out.append(f"- {c.family}: rho = {value} over n = {c.agents} agent(s){note}")
        out.append("")
    links = [(s, p) for (e, s), p in sorted((plots or {}).items()) if e == env_id]
    links.sort(key=lambda sp: scenario_sort_key(sp[0]))
    if links:
        out += ["Opponent-modelling learning curves (log-likelihood and goal probability):", ""]
        for s, path in links:
            out += [f"![modelling {_esc(short_scenario(s))}]({path})", ""]
    return out


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ci(mean: float | None, ci: float | None, digits: int = 3) -> str:
    if mean is None:
        return "—"
    return f"{mean:.{digits}f} ± {'n/a' if ci is None else f'{ci:.{digits}f}'}"


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _pipe_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int) -> list[str]:
    align = [":--" if i < left else "--:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]
