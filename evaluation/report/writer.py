"""``write_report``: records in, Markdown + CSV + JSON + PNG curves out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from evaluation.records import EpisodeRecord
from evaluation.references import ReferenceResult
from evaluation.report.aggregate import Interval
from evaluation.report.export import write_csv, write_json
from evaluation.report.markdown import render_markdown
from evaluation.report.plots import (
    save_adaptation_curves,
    save_aggregate_figure,
    save_prediction_curves,
)
from evaluation.report.predictions import PredictionPoint, summarize_predictions
from evaluation.report.stats import DEFAULT_CONFIDENCE
from evaluation.report.summary import (
    BOOTSTRAP_REPS,
    RANDOM_AGENT,
    AgentScore,
    CurvePoint,
    Improvement,
    RuleBasedNames,
    ScenarioSummary,
    Summary,
    TrialScore,
    default_rule_based,
    env_name,
    summarize,
)

PLOTS_DIR = "plots"


@dataclass(frozen=True)
class ReportPaths:
    """The files one :func:`write_report` call wrote."""

    markdown: Path
    summary_csv: Path
    curves_csv: Path
    scores_csv: Path
    json: Path
    plots: tuple[Path, ...]
    trial_scores_csv: Path | None = None
    improvements_csv: Path | None = None
    aggregate_plots: tuple[Path, ...] = ()
    #: ``predictions.csv`` and the modelling curves; None and () without prediction scores.
    predictions_csv: Path | None = None
    prediction_plots: tuple[Path, ...] = ()


def write_report(
    records: Iterable[EpisodeRecord],
    out_dir: Path,
    *,
    rule_based: RuleBasedNames = default_rule_based,
    last_episodes: int = 3,
    confidence: float = DEFAULT_CONFIDENCE,
    hidden: Sequence[str] = (),
    versus: str | None = None,
    references: Mapping[str, Sequence[ReferenceResult]] | None = None,
) -> ReportPaths:
    """Summarise ``records`` and write ``report.md``, ``summary.csv``, ``curves.csv``,
    ``scores.csv``, ``report.json`` and ``plots/*.png`` into ``out_dir`` (created if needed).

    Where some agent has co-player prediction scores, also ``predictions.csv`` (the
    opponent-modelling curve points), ``plots/om_<env>__<scenario>.png`` and an
    opponent-modelling section per env (:mod:`evaluation.report.predictions`).
    Also ``trial_scores.csv`` (every trial's normalized score), ``improvements.csv``
    (probabilities of improvement over ``versus``) and ``plots/aggregate_<env>.png``.
    ``rule_based(env_id)`` orders the agents (random, rule-based, the rest); normalized
    scores come from the shipped references (:mod:`evaluation.references`). ``hidden``:
    lines saying which older configurations the records leave out
    (:meth:`~evaluation.store.ResultStore.latest_records`), printed in the report.
    ``references``: reference results to scale by (default: the shipped file).
    """
    records = list(records)
    summary = summarize(
        records,
        rule_based=rule_based,
        last_episodes=last_episodes,
        confidence=confidence,
        versus=versus,
        references=references,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = save_adaptation_curves(
        summary.curves,
        out_dir / PLOTS_DIR,
        agent_order=_agent_order(summary, rule_based),
        confidence=confidence,
        bounds=_return_bounds,
    )
    aggregates = _aggregate_plots(summary, out_dir / PLOTS_DIR)
    relative = {key: PurePosixPath(PLOTS_DIR, path.name) for key, path in plots.items()}
    aggregate_links = {
        env_id: PurePosixPath(PLOTS_DIR, path.name) for env_id, path in aggregates.items()
    }
    predictions = summarize_predictions(records, summary.rows, confidence=confidence)
    om_plots = (
        save_prediction_curves(
            predictions.curves,
            out_dir / PLOTS_DIR,
            agent_order=_agent_order(summary, rule_based),
            confidence=confidence,
        )
        if predictions
        else {}
    )
    markdown = out_dir / "report.md"
    markdown.write_text(
        render_markdown(
            summary,
            rule_based=rule_based,
            plots=relative,
            num_records=len(records),
            aggregate_plots=aggregate_links,
            hidden=hidden,
            predictions=predictions,
            prediction_plots={
                key: PurePosixPath(PLOTS_DIR, path.name) for key, path in om_plots.items()
            },
        ),
        encoding="utf-8",
    )
    predictions_csv = (
        write_csv(predictions.curves, PredictionPoint, out_dir / "predictions.csv")
        if predictions
        else None
    )
    return ReportPaths(
        markdown=markdown,
        summary_csv=write_csv(summary.rows, ScenarioSummary, out_dir / "summary.csv"),
        curves_csv=write_csv(summary.curves, CurvePoint, out_dir / "curves.csv"),
        scores_csv=write_csv(summary.scores, AgentScore, out_dir / "scores.csv"),
        json=write_json(summary, out_dir / "report.json"),
        plots=tuple(plots.values()),
        trial_scores_csv=write_csv(summary.trial_scores, TrialScore, out_dir / "trial_scores.csv"),
        improvements_csv=write_csv(summary.improvements, Improvement, out_dir / "improvements.csv"),
        aggregate_plots=tuple(aggregates.values()),
        predictions_csv=predictions_csv,
        prediction_plots=tuple(om_plots.values()),
    )


def _return_bounds(env_id: str, scenario: str) -> tuple[float, float] | None:
    """The feasible range of a focal per-capita episode return: the env's rule bounds for
    the scenario's arguments (a registered scenario; ``None`` for unknown ones)."""
    import hop_envs
    from evaluation.scenarios import SCENARIOS

    if scenario not in SCENARIOS:
        return None
    definition = SCENARIOS.make(scenario)
    if definition.env_id != env_id and env_name(definition.env_id) != env_name(env_id):
        return None
    rules = hop_envs.make(definition.env_id, **dict(definition.env_kwargs)).unwrapped.rules
    return rules.return_bounds()


def _aggregate_plots(summary: Summary, out_dir: Path) -> dict[str, Path]:
    """One PNG per env: each agent's IQM and bootstrap interval, a panel per population."""
    paths = {}
    for env_id in summary.env_ids():
        panels: dict[str, list[tuple[str, Interval]]] = {}
        for score in summary.scores:
            if score.env_id != env_id or score.normalized is None:
                continue
            assert score.low is not None and score.high is not None
            interval = Interval(score.normalized, score.low, score.high, BOOTSTRAP_REPS, 0.95)
            panels.setdefault(score.family, []).append((score.agent, interval))
        if panels:
            path = out_dir / f"aggregate_{_safe_name(env_name(env_id))}.png"
            paths[env_id] = save_aggregate_figure(env_id, panels, path)
    return paths


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _agent_order(summary: Summary, rule_based: RuleBasedNames) -> list[str]:
    """Plot lines in a stable order: random, the rule-based agents, then the rest."""
    references: set[str] = set()
    for env_id in summary.env_ids():
        references |= set(rule_based(env_id))
    agents = {r.agent for r in summary.rows}
    return sorted(
        agents, key=lambda a: (0 if a == RANDOM_AGENT else 1 if a in references else 2, a)
    )
