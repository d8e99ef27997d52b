"""Per-iteration training metrics: a CSV a user can plot, and TensorBoard when installed.

``log.csv`` has one row per iteration (iteration 0 is the pre-training phase) with the
columns of :data:`COLUMNS`. Resuming a run keeps the rows up to the checkpoint's iteration
and drops any later ones (written after the last checkpoint), so the file never holds an
iteration twice. TensorBoard event files go to ``<run>/tensorboard`` when both
``torch.utils.tensorboard`` and the ``tensorboard`` package import; otherwise they are
skipped (no hard dependency).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LOG_FILE = "log.csv"
COLUMNS = (
    "iteration",
    "phase",
    "episodes",
    "focal_samples",
    "learner_return",
    "coplayer_return",
    "learner_events",
    "policy_loss",
    "value_loss",
    "policy_entropy",
    "om_samples",
    "om_loss",
    "om_accuracy",
    "action_model_loss",
    "action_model_accuracy",
    "om_eval_loss",
    "om_eval_accuracy",
    "wall_s",
)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def read_log(path: str | Path) -> list[dict[str, str]]:
    """The rows of a ``log.csv`` as dicts of strings (empty cells: no value)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class TrainingLog:
    """Appends metric rows to ``<run>/log.csv`` (and TensorBoard when available).

    ``columns`` are the CSV's columns (HOP's :data:`COLUMNS` by default) and ``step_column``
    the one that numbers the rows (TensorBoard's step, what :meth:`truncate` keeps up to)."""

    def __init__(
        self,
        directory: str | Path,
        *,
        tensorboard: bool = True,
        columns: tuple[str, ...] = COLUMNS,
        step_column: str = "iteration",
    ) -> None:
        if step_column not in columns:
            raise ValueError(f"TrainingLog: step_column {step_column!r} is not in {columns}")
        self.directory = Path(directory)
        self.path = self.directory / LOG_FILE
        self.columns = tuple(columns)
        self.step_column = step_column
        self.writer: Any = None
        if tensorboard:
            self.writer = _tensorboard_writer(self.directory / "tensorboard")

    def truncate(self, last_iteration: int | None) -> None:
        """Keep only rows whose step column is ``<= last_iteration`` (none when ``None``)."""
        if not self.path.is_file():
            return
        rows = read_log(self.path)
        keep = (
            []
            if last_iteration is None
            else [r for r in rows if int(r[self.step_column]) <= last_iteration]
        )
        self._write(keep, mode="w")

    def append(self, metrics: Mapping[str, Any]) -> None:
        unknown = sorted(set(metrics) - set(self.columns))
        if unknown:
            raise ValueError(f"TrainingLog.append: unknown columns {unknown}; known {self.columns}")
        self._write([{k: _cell(metrics.get(k)) for k in self.columns}], mode="a")
        if self.writer is not None:
            step = int(metrics[self.step_column])
            for key, value in metrics.items():
                if (
                    isinstance(value, int | float)
                    and key != self.step_column
                    and not (isinstance(value, float) and math.isnan(value))
                ):
                    self.writer.add_scalar(f"train/{key}", value, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _write(self, rows: list[Mapping[str, str]], mode: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        new = mode == "w" or not self.path.is_file() or self.path.stat().st_size == 0
        with open(self.path, mode, newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns)
            if new:
                writer.writeheader()
            writer.writerows(rows)


def _tensorboard_writer(directory: Path) -> Any:
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(directory))


def plot_log(path: str | Path, out: str | Path, title: str = "") -> Path:
    """A PNG of the training curve from ``log.csv``: learner return per iteration (top)
    and the focal and opponent-model losses (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_log(path)

    def series(key: str) -> tuple[list[int], list[float]]:
        xs, ys = [], []
        for r in rows:
            if r.get(key):
                xs.append(int(r["iteration"]))
                ys.append(float(r[key]))
        return xs, ys

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for key, label in (("learner_return", "learner"), ("coplayer_return", "co-players")):
        x, y = series(key)
        if x:
            top.plot(x, y, marker=".", label=f"{label} return / episode")
    top.set_ylabel("return")
    top.legend(loc="best")
    top.grid(alpha=0.3)
    for key, label in (
        ("policy_loss", "focal policy CE"),
        ("value_loss", "focal value (scaled MSE)"),
        ("om_eval_loss", "opponent model NLL (held-out rule-based)"),
    ):
        x, y = series(key)
        if x:
            bottom.plot(x, y, marker=".", label=label)
    bottom.set_xlabel("iteration (0 = pre-training)")
    bottom.set_ylabel("loss")
    bottom.legend(loc="best")
    bottom.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
