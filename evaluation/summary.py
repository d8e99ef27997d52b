"""The short table printed at the end of ``hop-bench evaluate`` (full reports live in
:mod:`evaluation.report`, whose Student-t intervals it shares)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.records import EpisodeRecord


@dataclass(frozen=True)
class SummaryRow:
    """Per-trial means over a scenario's stored episodes; ``focal_ci`` is the half-width of
    the 95% Student-t interval of the focal mean over trials (NaN with one trial)."""

    scenario: str
    trials: int
    episodes: int
    focal: float
    focal_ci: float
    focal_last: float
    background: float
    welfare: float
    #: The focal mean on the shipped references' scale (NaN without one; ``note`` says why).
    normalized: float = math.nan
    note: str = ""


def summarise(scenario: str, records: Sequence[EpisodeRecord]) -> SummaryRow:
    """Trial means of focal/background/welfare returns; ``focal_last`` is the last episode."""
    by_trial: dict[int, list[EpisodeRecord]] = {}
    for record in records:
        by_trial.setdefault(record.trial, []).append(record)
    focal, last, background, welfare = [], [], [], []
    for trial_records in by_trial.values():
        trial_records.sort(key=lambda r: r.episode)
        focal.append(float(np.mean([r.focal_return for r in trial_records])))
        last.append(trial_records[-1].focal_return)
        background.append(float(np.mean([r.background_return for r in trial_records])))
        welfare.append(float(np.mean([r.welfare for r in trial_records])))
    from evaluation.report.stats import mean_ci  # the report's intervals, so numbers agree

    estimate = mean_ci(focal) if focal else None
    mean = estimate.mean if estimate else math.nan
    ci = estimate.ci if estimate and estimate.ci is not None else math.nan
    normalized, note = math.nan, ""
    if records:
        from evaluation.references import reference_scale

        first = records[0]
        scale = reference_scale(scenario, first.env_id, first.scenario_hash)
        value = scale.normalize(mean) if not math.isnan(mean) else None
        normalized, note = (math.nan, scale.note) if value is None else (value, "")
    return SummaryRow(
        scenario=scenario,
        trials=len(by_trial),
        episodes=len(records),
        focal=mean,
        focal_ci=ci,
        focal_last=float(np.mean(last)) if last else math.nan,
        background=float(np.mean(background)) if background else math.nan,
        welfare=float(np.mean(welfare)) if welfare else math.nan,
        normalized=normalized,
        note=note,
    )


def _fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}"


def format_table(agent: str, rows: Sequence[SummaryRow]) -> str:
    """A fixed-width text table, one line per scenario, and the scale's notes."""
    header = (
        "scenario",
        "trials",
        "episodes",
        "focal (95% CI)",
        "focal last",
        "background",
        "welfare",
        "normalized",
    )
    body = [
        (
            r.scenario,
            str(r.trials),
            str(r.episodes),
            _fmt(r.focal) + ("" if math.isnan(r.focal_ci) else f" ± {r.focal_ci:.2f}"),
            _fmt(r.focal_last),
            _fmt(r.background),
            _fmt(r.welfare),
            _fmt(r.normalized),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    notes = [f"{r.scenario}: {r.note}" for r in rows if r.note]
    return "\n".join(
        [f"agent: {agent}", line(header), line(["-" * w for w in widths])]
        + [line(r) for r in body]
        + (["normalized: 0 = lowest, 1 = highest shipped reference mean", *notes])
    )
