"""CSV and JSON export of a :class:`Summary`, and loaders that read them back exactly.

Missing values (a confidence interval with one trial, a blank normalized score, the
background return in self-play) are an empty CSV cell and ``null`` in JSON. Floats are
written with ``repr`` so that reading a file back gives the very same numbers.
"""

from __future__ import annotations

import csv
import json
import types
import typing
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, TypeVar

from evaluation.report.summary import (
    AgentScore,
    CurvePoint,
    Improvement,
    ScenarioSummary,
    Summary,
    TrialScore,
)

JSON_FORMAT = "hop-bench-report"
JSON_VERSION = 2

T = TypeVar("T")


def write_csv(rows: typing.Sequence[Any], cls: type, path: Path) -> Path:
    """One row per dataclass instance of ``cls``, a header of its field names."""
    names = [f.name for f in fields(cls)]
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for row in rows:
            if not isinstance(row, cls):
                raise TypeError(f"write_csv({cls.__name__}) got a {type(row).__name__} row")
            writer.writerow([_cell(getattr(row, n)) for n in names])
    return Path(path)


def read_csv(path: Path, cls: type[T]) -> tuple[T, ...]:
    """Rows written by :func:`write_csv` back as ``cls`` instances."""
    hints = typing.get_type_hints(cls)
    expected = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    with Path(path).open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != expected:
            raise ValueError(
                f"{path}: CSV columns {reader.fieldnames} do not match {cls.__name__} "
                f"fields {expected}"
            )
        return tuple(
            cls(**{k: _parse(v, hints[k], f"{path}:{line + 2}:{k}") for k, v in row.items()})
            for line, row in enumerate(reader)
        )


def summary_to_json(summary: Summary) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "confidence": summary.confidence,
        "last_episodes": summary.last_episodes,
        "summary": [asdict(r) for r in summary.rows],
        "curves": [asdict(c) for c in summary.curves],
        "scores": [asdict(s) for s in summary.scores],
        "trial_scores": [asdict(t) for t in summary.trial_scores],
        "improvements": [asdict(i) for i in summary.improvements],
        "skipped": list(summary.skipped),
    }


def write_json(summary: Summary, path: Path) -> Path:
    Path(path).write_text(
        json.dumps(summary_to_json(summary), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    return Path(path)


def read_json(path: Path) -> Summary:
    """A :class:`Summary` from a file written by :func:`write_json`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != JSON_FORMAT:
        raise ValueError(f"{path} is not a {JSON_FORMAT} JSON file")
    if data.get("version") != JSON_VERSION:
        raise ValueError(
            f"{path}: unsupported {JSON_FORMAT} version {data.get('version')!r}, "
            f"expected {JSON_VERSION}"
        )
    return Summary(
        rows=tuple(ScenarioSummary(**r) for r in data["summary"]),
        curves=tuple(CurvePoint(**c) for c in data["curves"]),
        scores=tuple(AgentScore(**s) for s in data["scores"]),
        skipped=tuple(data["skipped"]),
        confidence=data["confidence"],
        last_episodes=data["last_episodes"],
        trial_scores=tuple(TrialScore(**t) for t in data["trial_scores"]),
        improvements=tuple(Improvement(**i) for i in data["improvements"]),
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _parse(text: str, hint: Any, where: str) -> Any:
    optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
    base = next((a for a in typing.get_args(hint) if a is not type(None)), hint)
    if text == "" and optional:
        return None
    if base is str:
        return text
    try:
        return base(text)
    except ValueError:
        raise ValueError(f"{where}: cannot read {text!r} as {base.__name__}") from None
