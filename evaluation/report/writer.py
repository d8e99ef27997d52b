"""``write_report``: records in, Markdown + CSV + JSON + PNG curves out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from evaluation.records import EpisodeRecord
from evaluation.report.export import write_csv, write_json
from evaluation.report.markdown import render_markdown
from evaluation.report.plots import save_adaptation_curves
from evaluation.report.stats import DEFAULT_CONFIDENCE
from evaluation.report.summary import (
    RANDOM_AGENT,
    AgentScore,
    CurvePoint,
    RuleBasedNames,
    ScenarioSummary,
    Summary,
    default_rule_based,
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


def write_report(
    records: Iterable[EpisodeRecord],
    out_dir: Path,
    *,
    rule_based: RuleBasedNames = default_rule_based,
    last_episodes: int = 3,
    confidence: float = DEFAULT_CONFIDENCE,
) -> ReportPaths:
    """Summarise ``records`` and write ``report.md``, ``summary.csv``, ``curves.csv``,
    ``scores.csv``, ``report.json`` and ``plots/*.png`` into ``out_dir`` (created if needed).

    ``rule_based(env_id)`` names the rule-based agents whose best mean sets 1 on the
    normalized scale (``random`` sets 0); by default the env's registered co-players.
    """
    records = list(records)
    summary = summarize(
        records, rule_based=rule_based, last_episodes=last_episodes, confidence=confidence
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = save_adaptation_curves(
        summary.curves,
        out_dir / PLOTS_DIR,
        agent_order=_agent_order(summary, rule_based),
        confidence=confidence,
    )
    relative = {key: PurePosixPath(PLOTS_DIR, path.name) for key, path in plots.items()}
    markdown = out_dir / "report.md"
    markdown.write_text(
        render_markdown(summary, rule_based=rule_based, plots=relative, num_records=len(records)),
        encoding="utf-8",
    )
    return ReportPaths(
        markdown=markdown,
        summary_csv=write_csv(summary.rows, ScenarioSummary, out_dir / "summary.csv"),
        curves_csv=write_csv(summary.curves, CurvePoint, out_dir / "curves.csv"),
        scores_csv=write_csv(summary.scores, AgentScore, out_dir / "scores.csv"),
        json=write_json(summary, out_dir / "report.json"),
        plots=tuple(plots.values()),
    )


def _agent_order(summary: Summary, rule_based: RuleBasedNames) -> list[str]:
    """Plot lines in a stable order: random, the rule-based agents, then the rest."""
    references: set[str] = set()
    for env_id in summary.env_ids():
        references |= set(rule_based(env_id))
    agents = {r.agent for r in summary.rows}
    return sorted(
        agents, key=lambda a: (0 if a == RANDOM_AGENT else 1 if a in references else 2, a)
    )
