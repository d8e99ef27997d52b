"""Render a :class:`~evaluation.report.summary.Summary` as a Markdown report, one section
per env: focal return, normalized score, details, notes and links to the curve plots."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import PurePosixPath

from evaluation.report.aggregate import improvement_reading
from evaluation.report.predictions import PredictionSummary, prediction_markdown
from evaluation.report.summary import (
    AGGREGATED,
    BOOTSTRAP_REPS,
    RANDOM_AGENT,
    RuleBasedNames,
    ScenarioSummary,
    Summary,
    env_name,
    scenario_sort_key,
    short_scenario,
)

#: Outcome counts shown per env (per focal player per episode).
_STAGS = ("stags_per_focal", "stags / focal")
_HARES = ("hares_per_focal", "hares / focal")
_DRIFTS = ("drifts_per_focal", "drifts / focal")
OUTCOME_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "MarkovStagHunt-v0": (_STAGS, _HARES),
    "MarkovSnowdrift-v0": (_DRIFTS,),
}
_ALL_OUTCOMES = (_STAGS, _HARES, _DRIFTS)


def render_markdown(
    summary: Summary,
    *,
    rule_based: RuleBasedNames,
    plots: Mapping[tuple[str, str], PurePosixPath] | None = None,
    num_records: int | None = None,
    aggregate_plots: Mapping[str, PurePosixPath] | None = None,
    hidden: Sequence[str] = (),
    predictions: PredictionSummary | None = None,
    prediction_plots: Mapping[tuple[str, str], PurePosixPath] | None = None,
) -> str:
    """The whole report. ``plots`` maps ``(env_id, scenario)`` to a plot path relative to
    the Markdown file, ``aggregate_plots`` an env id to its aggregate figure; ``hidden``
    lists the older configurations the records leave out. ``predictions`` (with
    ``prediction_plots``, like ``plots``) adds an opponent-modelling section to the envs
    with prediction scores; without scores the report is as it was."""
    pct = f"{summary.confidence:.0%}"
    lines = [
        "# hop-bench results",
        "",
        (f"From {num_records} episode records. " if num_records is not None else "")
        + "Returns are per capita over the seats in question (focal or background); welfare "
        "is the total over all seats. Each number is the mean over trials of the trial's mean "
        f"over its episodes, ± the half-width of the {pct} confidence interval over trials "
        "(Student t with trials - 1 degrees of freedom; `± n/a` with a single trial). An "
        "empty cell means the agent was not run in that scenario.",
        "",
    ]
    lines += [
        "Normalized scores: per scenario, 0 = the lowest and 1 = the highest mean of the "
        "scenario's reference agents (the env's training-population co-players as focal "
        "agent, `random` among them) in the reference results shipped with the package; a "
        "scenario whose reference extremes cannot be told apart has none. Aggregates: "
        "per env and population (training: `adapt-1v3-*`, `adapt-hidden`, `adapt-mixed`; held-out: "
        "`heldout-*`), the interquartile mean (IQM) of the per-trial normalized scores over "
        "scenarios and trials with a 95% stratified-bootstrap interval "
        f"({BOOTSTRAP_REPS} resamples), and the probability of improvement "
        "P(agent > reference agent) (Agarwal et al., NeurIPS 2021).",
        "",
    ]
    for env_id in summary.env_ids():
        lines += _env_section(summary, env_id, rule_based(env_id), plots or {})
        lines += _aggregate_section(summary, env_id, (aggregate_plots or {}).get(env_id))
        if predictions:
            links = {k: p.as_posix() for k, p in (prediction_plots or {}).items()}
            lines += prediction_markdown(
                predictions, env_id, confidence=summary.confidence, plots=links
            )
    if hidden:
        lines += ["## Older configurations not shown", ""]
        lines += [
            "Each agent is reported in its newest configuration (code, arguments, weights); "
            "these stored results of earlier configurations are left out:",
            "",
        ]
        lines += [f"- {_escape(note)}" for note in hidden]
        lines.append("")
    if summary.skipped:
        lines += ["## Not summarised", ""]
        lines += [f"- {_escape(note)}" for note in summary.skipped]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_aggregates(summary: Summary, *, depth: int = 4) -> str:
    """Each env's aggregate section alone (IQM per population with its bootstrap interval,
    probabilities of improvement, notes), headings at ``depth`` (``####`` by default), for
    a README block (``hop-bench report --readme``); the plots stay in the full report."""
    lines: list[str] = []
    for env_id in summary.env_ids():
        lines += _aggregate_section(summary, env_id, None)
    heading = "#" * depth + " "
    lines = [heading + line[4:] if line.startswith("### ") else line for line in lines]
    return "\n".join(lines).strip() + "\n"


def _env_section(
    summary: Summary,
    env_id: str,
    rule_based: Collection[str],
    plots: Mapping[tuple[str, str], PurePosixPath],
) -> list[str]:
    rows = [r for r in summary.rows if r.env_id == env_id]
    scenarios = sorted({r.scenario for r in rows}, key=scenario_sort_key)
    agents = _agent_order({r.agent for r in rows}, rule_based)
    cell = {(r.agent, r.scenario): r for r in rows}
    names = _column_names(scenarios)
    label = _footnote_prefix(env_id)
    notes: dict[str, str] = {}  # note text -> footnote label

    def footnote(text: str) -> str:
        if text not in notes:
            notes[text] = f"[^{label}-{len(notes) + 1}]"
        return notes[text]

    refs = ", ".join(f"`{a}`" for a in sorted(rule_based)) or "none"
    out = [f"## {env_name(env_id)}", "", "### Focal per-capita return", ""]
    out += _table(
        ["agent", *names],
        [
            [
                _escape(a),
                *[
                    _est(cell[(a, s)].focal_mean, cell[(a, s)].focal_ci) if (a, s) in cell else ""
                    for s in scenarios
                ],
            ]
            for a in agents
        ],
    )
    out += [
        "",
        "### Normalized score",
        "",
        "Focal return rescaled per scenario by the shipped reference results: 0 = the lowest, "
        f"1 = the highest reference mean (reference agents: {refs}).",
        "",
    ]
    norm_rows = []
    for a in agents:
        row = [_escape(a)]
        for s in scenarios:
            r = cell.get((a, s))
            if r is None:
                row.append("")
            elif r.normalized is None:
                row.append(f"—{footnote(r.normalized_note)}")
            else:
                caution = footnote(r.normalized_note) if r.normalized_note else ""
                row.append(f"{r.normalized:.2f}{caution}")
        norm_rows.append(row)
    out += _table(["agent", *names], norm_rows)
    out += _details(summary, env_id, scenarios, agents, cell, names)
    if notes:
        out.append("")
        out += [f"{lab}: {_escape(text)}" for text, lab in notes.items()]
    incomplete = [r for r in rows if r.incomplete_trials]
    if incomplete:
        out += ["", "Trials left out because they lack episodes (an interrupted run):", ""]
        out += [
            f"- {_escape(r.agent)} in {_escape(r.scenario)}: {r.incomplete_trials}"
            for r in incomplete
        ]
    curve_links = [(s, plots[(env_id, s)]) for s in scenarios if (env_id, s) in plots]
    if curve_links:
        out += ["", "### Adaptation curves", ""]
        for s, path in curve_links:
            out += [f"![{_escape(short_scenario(s))}]({path.as_posix()})", ""]
    return [*out, ""]


def _details(
    summary: Summary,
    env_id: str,
    scenarios: Sequence[str],
    agents: Sequence[str],
    cell: Mapping[tuple[str, str], ScenarioSummary],
    names: Sequence[str],
) -> list[str]:
    outcomes = OUTCOME_COLUMNS.get(env_name(env_id), _ALL_OUTCOMES)
    pct = f"{summary.confidence:.0%}"
    header = [
        "scenario",
        "agent",
        "trials",
        "episodes",
        "focal return",
        f"last {summary.last_episodes} episodes",
        f"last - first {summary.last_episodes}",
        "background return",
        "welfare",
        *[title for _, title in outcomes],
    ]
    body = []
    for s, name in zip(scenarios, names, strict=True):
        for a in agents:
            r = cell.get((a, s))
            if r is None:
                continue
            body.append(
                [
                    name,
                    _escape(a),
                    str(r.trials),
                    str(r.episodes),
                    _est(r.focal_mean, r.focal_ci),
                    _est(r.focal_last_mean, r.focal_last_ci),
                    _change(r.adaptation_mean, r.adaptation_ci),
                    "—" if r.background_mean is None else _est(r.background_mean, r.background_ci),
                    _est(r.welfare_mean, r.welfare_ci),
                    *[f"{getattr(r, field):.2f}" for field, _ in outcomes],
                ]
            )
    return [
        "",
        "### Details",
        "",
        f"Means ± {pct} CI over trials. `last {summary.last_episodes} episodes`: focal return "
        "over the last episodes of each trial (all of them in shorter trials). "
        f"`last - first {summary.last_episodes}`: within-trial change, per trial the focal return "
        "of its last episodes minus that of its first as many, averaged over trials (— when "
        "trials are too short for two separate windows); **rises** or **falls** when its "
        "interval excludes 0, else it is within noise (across many rows about one in twenty "
        "excludes 0 by chance alone). Background return: per co-player (— in "
        "self-play). Outcome counts: captures or removals per focal player per episode.",
        "",
        *_table(header, body, left=2),
    ]


def _aggregate_section(summary: Summary, env_id: str, plot: PurePosixPath | None) -> list[str]:
    """IQM per population with bootstrap intervals, and probabilities of improvement."""
    scores = [s for s in summary.scores if s.env_id == env_id]
    if not scores:
        return []
    families = [f for f in AGGREGATED if any(s.family == f for s in scores)]
    cell = {(s.agent, s.family): s for s in scores}
    agents = sorted(
        {s.agent for s in scores},
        key=lambda a: (
            -max((cell[(a, f)].normalized or -1e9) for f in families if (a, f) in cell),
            a,
        ),
    )
    header = ["agent"]
    for f in families:
        n = max(s.scenarios for s in scores if s.family == f)
        header.append(f"{f} IQM [95% CI] ({n} scenarios)")
    out = [f"### Aggregate normalized score: {env_name(env_id)}", ""]
    notes: list[tuple[str, str]] = []
    rows = []
    for a in agents:
        row = [_escape(a)]
        for f in families:
            s = cell.get((a, f))
            if s is None:
                row.append("")
            elif s.normalized is None:
                notes.append((a, f"{f}: {s.note}"))
                row.append("—")
            else:
                row.append(f"{s.normalized:.2f} [{s.low:.2f}, {s.high:.2f}] (n={s.trials})")
        rows.append(row)
    out += _table(header, rows)
    out += ["", "`n`: trials pooled over the population's scenarios."]
    left_out = sorted({s.note for s in scores if s.normalized is not None and s.note})
    out += [f"{_escape(note)}." for note in left_out]
    if notes:
        by_note: dict[str, list[str]] = {}
        for agent, note in notes:
            by_note.setdefault(note, []).append(agent)
        out += ["", "— (no aggregate):", ""]
        out += [
            f"- {', '.join(_escape(a) for a in agents)}: {_escape(note)}"
            for note, agents in by_note.items()
        ]
    improvements = [i for i in summary.improvements if i.env_id == env_id]
    if improvements:
        versus = improvements[0].versus
        out += [
            "",
            f"Probability of improvement over `{_escape(versus)}` (P(agent > {versus}) on a "
            "random scenario and trial of each; 0.5 = no difference; an interval that "
            "contains 0.5 is within noise):",
            "",
        ]
        prows = []
        for i in sorted(improvements, key=lambda i: (i.family, -i.probability, i.agent)):
            prows.append(
                [
                    _escape(i.agent),
                    i.family,
                    f"{i.probability:.2f} [{i.low:.2f}, {i.high:.2f}]",
                    improvement_reading(i.low, i.high),
                ]
            )
        out += _table(["agent", "population", f"P(agent > {versus}) [95% CI]", "reading"], prows)
    if plot is not None:
        out += ["", f"![aggregate {env_name(env_id)}]({plot.as_posix()})"]
    return [*out, ""]


def _agent_order(agents: set[str], rule_based: Collection[str]) -> list[str]:
    """``random`` first, then the rule-based agents, then everyone else."""

    def key(agent: str) -> tuple[int, str]:
        rank = 0 if agent == RANDOM_AGENT else 1 if agent in rule_based else 2
        return (rank, agent)

    return sorted(agents, key=key)


def _column_names(scenarios: Sequence[str]) -> list[str]:
    shorts = [short_scenario(s) for s in scenarios]
    unique = len(set(shorts)) == len(shorts)
    return [_escape(s) for s in (shorts if unique else scenarios)]


def _footnote_prefix(env_id: str) -> str:
    from hop_envs.registration import ENV_ABBREVIATIONS

    name = env_name(env_id)
    return ENV_ABBREVIATIONS.get(name) or "".join(c for c in name if c.isalnum()).lower()


def _est(mean: float, ci: float | None) -> str:
    return f"{mean:.2f} ± {'n/a' if ci is None else f'{ci:.2f}'}"


def _change(mean: float | None, ci: float | None) -> str:
    """A signed within-trial change with its interval, named when the interval excludes 0."""
    if mean is None:
        return "—"
    text = f"{mean:+.2f} ± {'n/a' if ci is None else f'{ci:.2f}'}"
    if ci is not None and abs(mean) > ci:
        text += " **rises**" if mean > 0 else " **falls**"
    return text


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """A pipe table with the first ``left`` columns left-aligned, the rest right-aligned."""
    align = [":--" if i < left else "--:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
