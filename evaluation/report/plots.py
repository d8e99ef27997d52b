"""Adaptation-curve plots: focal return against episode index, one line per agent, with
the confidence band over trials shaded. Drawn on a bare ``Figure`` with the Agg canvas, so
no display and no pyplot global state are involved; matplotlib is imported only here."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.report.summary import CurvePoint, env_name, short_scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def adaptation_figure(
    points: Sequence[CurvePoint], *, agents: Sequence[str], confidence: float
) -> Figure:
    """The curve figure of one scenario; ``agents`` sets the line order (one line each)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    scenarios = {(p.env_id, p.scenario) for p in points}
    if len(scenarios) != 1:
        raise ValueError(f"adaptation_figure needs the points of one scenario, got {scenarios}")
    ((env_id, scenario),) = scenarios
    fig = Figure(figsize=(7.2, 4.0), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colors = _colors(len(agents))
    for agent, color in zip(agents, colors, strict=True):
        mine = sorted((p for p in points if p.agent == agent), key=lambda p: p.episode)
        if not mine:
            raise ValueError(f"no curve points for agent {agent!r} in {scenario!r}")
        x = [p.episode for p in mine]
        y = [p.mean for p in mine]
        trials = min(p.trials for p in mine)
        ax.plot(x, y, marker="o", markersize=3, color=color, label=f"{agent} (n={trials})")
        if all(p.ci is not None for p in mine):
            low = [p.mean - p.ci for p in mine]  # type: ignore[operator]
            high = [p.mean + p.ci for p in mine]  # type: ignore[operator]
            ax.fill_between(x, low, high, color=color, alpha=0.18, linewidth=0)
    ax.set_title(f"{env_name(env_id)} · {short_scenario(scenario)}")
    ax.set_xlabel("episode in trial")
    ax.set_ylabel("focal per-capita return")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(
        title=f"agent (shaded: {confidence:.0%} CI)",
        fontsize="small",
        title_fontsize="small",
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
    )
    return fig


def save_adaptation_curves(
    curves: Sequence[CurvePoint],
    out_dir: Path,
    *,
    agent_order: Collection[str] | None = None,
    confidence: float,
) -> dict[tuple[str, str], Path]:
    """One PNG per ``(env_id, scenario)`` in ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[tuple[str, str], Path] = {}
    for key in sorted({(p.env_id, p.scenario) for p in curves}):
        points = [p for p in curves if (p.env_id, p.scenario) == key]
        present = {p.agent for p in points}
        order = [a for a in (agent_order or ()) if a in present]
        order += sorted(present - set(order))
        fig = adaptation_figure(points, agents=order, confidence=confidence)
        path = out_dir / plot_filename(*key)
        fig.savefig(path)
        paths[key] = path
    return paths


def plot_filename(env_id: str, scenario: str) -> str:
    """A safe, unique file name: ``MarkovStagHunt-v0__msh_adapt-1v3-nearest-stag.png``."""
    return f"{_safe(env_name(env_id))}__{_safe(scenario)}.png"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "unnamed"


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
