"""Reports of evaluation results: Markdown tables, CSV/JSON export and adaptation-curve
PNGs, computed from :class:`~evaluation.records.EpisodeRecord` s (DESIGN §6)."""

from evaluation.report.export import read_csv, read_json, write_csv, write_json
from evaluation.report.markdown import render_markdown
from evaluation.report.plots import adaptation_figure, save_adaptation_curves
from evaluation.report.stats import Estimate, mean_ci, t_critical
from evaluation.report.summary import (
    AgentScore,
    CurvePoint,
    ScenarioSummary,
    Summary,
    default_rule_based,
    summarize,
)
from evaluation.report.writer import ReportPaths, write_report

__all__ = [
    "AgentScore",
    "CurvePoint",
    "Estimate",
    "ReportPaths",
    "ScenarioSummary",
    "Summary",
    "adaptation_figure",
    "default_rule_based",
    "mean_ci",
    "read_csv",
    "read_json",
    "render_markdown",
    "save_adaptation_curves",
    "summarize",
    "t_critical",
    "write_csv",
    "write_json",
    "write_report",
]
