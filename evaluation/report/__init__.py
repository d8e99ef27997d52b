"""Reports of evaluation results: Markdown tables, CSV/JSON export, adaptation-curve and
aggregate PNGs, opponent-modelling quality where agents predict their co-players, computed
from :class:`~evaluation.records.EpisodeRecord` s (DESIGN §6), and robust aggregates (IQM,
stratified bootstrap, probability of improvement)."""

from evaluation.report.aggregate import (
    Interval,
    bootstrap_interval,
    interquartile_mean,
    mean_score,
    median_score,
    optimality_gap,
    probability_of_improvement,
    probability_of_improvement_interval,
)
from evaluation.report.export import read_csv, read_json, write_csv, write_json
from evaluation.report.markdown import render_aggregates, render_markdown
from evaluation.report.plots import (
    adaptation_figure,
    aggregate_figure,
    save_adaptation_curves,
    save_aggregate_figure,
)
from evaluation.report.predictions import (
    PredictionPoint,
    PredictionRow,
    PredictionSummary,
    summarize_predictions,
)
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
    "Interval",
    "PredictionPoint",
    "PredictionRow",
    "PredictionSummary",
    "ReportPaths",
    "ScenarioSummary",
    "Summary",
    "adaptation_figure",
    "aggregate_figure",
    "bootstrap_interval",
    "default_rule_based",
    "interquartile_mean",
    "mean_ci",
    "mean_score",
    "median_score",
    "optimality_gap",
    "probability_of_improvement",
    "probability_of_improvement_interval",
    "read_csv",
    "read_json",
    "render_aggregates",
    "render_markdown",
    "save_adaptation_curves",
    "save_aggregate_figure",
    "summarize",
    "summarize_predictions",
    "t_critical",
    "write_csv",
    "write_json",
    "write_report",
]
