"""Report figures: adaptation curves (focal return against episode index, one line per
agent, the confidence band over trials shaded) and aggregate figures (per agent the IQM of
normalized scores with its bootstrap interval, rliable's style). Drawn on a bare ``Figure``
with the Agg canvas, so no display and no pyplot global state are involved; matplotlib is
imported only here."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.report.summary import CurvePoint, env_name, short_scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from evaluation.report.aggregate import Interval
    from evaluation.report.predictions import PredictionPoint

#: A return range ``(low, high)``, or per ``(env_id, scenario)`` the range (``None``: none).
Bounds = tuple[float, float]
BoundsFor = Bounds | Callable[[str, str], Bounds | None]
#: Aggregate figure input: family (panel title) -> ``(agent, interval)`` pairs.
Panels = Mapping[str, Sequence[tuple[str, "Interval"]]]

IQM_LABEL = "IQM normalized score (0 = lowest, 1 = highest reference)"

# Per-agent line styles, so curves that coincide stay distinguishable: the markers cycle
# with period 10 and the dash patterns with period 4 (20 distinct pairs); marker size and
# line width shrink while the z-order rises with the index (a later, thinner line and
# smaller marker sit on top of an earlier, wider one, which shows around them); every
# other agent gets hollow markers.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")
_LINESTYLES = ("-", "--", ":", "-.")


def adaptation_figure(
    points: Sequence[CurvePoint],
    *,
    agents: Sequence[str],
    confidence: float,
    bounds: Bounds | None = None,
) -> Figure:
    """The curve figure of one scenario; ``agents`` sets the line order (one line each).

    The shaded band is the Student-t interval over trials (``mean +/- ci``); with ``bounds =
    (low, high)``, the return's feasible range, it is clipped to that range so it never
    claims an impossible return (the legend says so). Labels read ``agent (n=trials)``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    scenarios = {(p.env_id, p.scenario) for p in points}
    if len(scenarios) != 1:
        raise ValueError(f"adaptation_figure needs the points of one scenario, got {scenarios}")
    ((env_id, scenario),) = scenarios
    if bounds is not None:
        bounds = _check_bounds(bounds, f"{scenario!r}")
    fig = Figure(figsize=(7.2, 4.0), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colors = _colors(len(agents))
    for index, (agent, color) in enumerate(zip(agents, colors, strict=True)):
        mine = sorted((p for p in points if p.agent == agent), key=lambda p: p.episode)
        if not mine:
            raise ValueError(f"no curve points for agent {agent!r} in {scenario!r}")
        x = [p.episode for p in mine]
        y = [p.mean for p in mine]
        trials = min(p.trials for p in mine)
        ax.plot(
            x,
            y,
            label=f"{agent} (n={trials})",
            color=color,
            zorder=2.0 + 0.01 * index,
            **_line_style(index, color),
        )
        if all(p.ci is not None for p in mine):
            low = [p.mean - p.ci for p in mine]  # type: ignore[operator]
            high = [p.mean + p.ci for p in mine]  # type: ignore[operator]
            if bounds is not None:
                low = [min(max(v, bounds[0]), bounds[1]) for v in low]
                high = [min(max(v, bounds[0]), bounds[1]) for v in high]
            ax.fill_between(x, low, high, color=color, alpha=0.18, linewidth=0)
    ax.set_title(f"{env_name(env_id)} · {short_scenario(scenario)}")
    ax.set_xlabel("episode in trial")
    ax.set_ylabel("focal per-capita return")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    band = f"shaded: {confidence:.0%} t-interval over trials"
    if bounds is not None:
        band += f"\nclipped to the feasible [{bounds[0]:g}, {bounds[1]:g}]"
    ax.legend(
        title=f"agent (n = trials)\n{band}",
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
    bounds: BoundsFor | None = None,
) -> dict[tuple[str, str], Path]:
    """One PNG per ``(env_id, scenario)`` in ``out_dir``; returns their paths.

    ``bounds`` clips the bands (see :func:`adaptation_figure`): one ``(low, high)`` for
    every scenario, or ``bounds(env_id, scenario)`` giving each its range or ``None``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[tuple[str, str], Path] = {}
    for key in sorted({(p.env_id, p.scenario) for p in curves}):
        points = [p for p in curves if (p.env_id, p.scenario) == key]
        present = {p.agent for p in points}
        order = [a for a in (agent_order or ()) if a in present]
        order += sorted(present - set(order))
        scenario_bounds = bounds(*key) if callable(bounds) else bounds
        fig = adaptation_figure(points, agents=order, confidence=confidence, bounds=scenario_bounds)
        path = out_dir / plot_filename(*key)
        fig.savefig(path)
        paths[key] = path
    return paths


def aggregate_figure(
    env_id: str,
    panels: Panels | Sequence[tuple[str, Interval]],
    *,
    agent_order: Sequence[str] | None = None,
    xlabel: str = IQM_LABEL,
) -> Figure:
    """One env's aggregate figure: per agent a horizontal bar spanning its interval with a
    black tick at the point estimate, one panel per family (e.g. ``{"training": [...],
    "held-out": [...]}``; a plain sequence of ``(agent, interval)`` draws one untitled panel).

    Rows and the x axis are shared by the panels; by default the agents are sorted by their
    mean point estimate over the panels, best on top (ties by name); ``agent_order`` fixes
    the order instead. Dashed lines mark 0 and 1 on the normalized scale.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    named = _check_panels(panels)
    agents = _aggregate_order(named, agent_order)
    rows = {agent: len(agents) - 1 - i for i, agent in enumerate(agents)}  # first on top
    colors = dict(zip(agents, _colors(len(agents)), strict=True))
    fig = Figure(
        figsize=(1.6 + 3.4 * len(named), 1.5 + 0.42 * len(agents)), dpi=110, layout="constrained"
    )
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(named), sharex=True, sharey=True, squeeze=False)[0]
    for ax, (family, entries) in zip(axes, named.items(), strict=True):
        for agent, interval in entries:
            y = rows[agent]
            (bar,) = ax.barh(
                y,
                interval.high - interval.low,
                left=interval.low,
                height=0.6,
                color=colors[agent],
                alpha=0.75,
            )
            bar.set_label(agent)
            ax.vlines(interval.point, y - 0.3, y + 0.3, colors="k", linewidth=2)
        for reference in (0.0, 1.0):
            ax.axvline(reference, color="0.5", linestyle="--", linewidth=0.8, zorder=0)
        if family:
            ax.set_title(family)
        ax.grid(axis="x", alpha=0.3)
    if len(axes) == 1:
        axes[0].set_xlabel(xlabel)
    else:
        fig.supxlabel(xlabel, fontsize="medium")
    axes[0].set_yticks(list(rows.values()), list(rows))
    axes[0].set_ylim(-0.6, len(agents) - 0.4)
    fig.suptitle(f"{env_name(env_id)}{_interval_note(named)}")
    return fig


def save_aggregate_figure(
    env_id: str,
    panels: Panels | Sequence[tuple[str, Interval]],
    path: Path,
    *,
    agent_order: Sequence[str] | None = None,
    xlabel: str = IQM_LABEL,
) -> Path:
    """Write :func:`aggregate_figure` as a PNG at ``path`` (parents created); returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    aggregate_figure(env_id, panels, agent_order=agent_order, xlabel=xlabel).savefig(path)
    return path


def prediction_figure(
    points: Sequence[PredictionPoint], *, agents: Sequence[str], confidence: float
) -> Figure:
    """The opponent-modelling learning curve of one scenario: per agent its mean
    log-likelihood per step (left) and mean hindsight-goal probability (right, where it
    gives goal beliefs) by episode index, with the t-interval over trials shaded (clipped to
    the possible range: [log floor, 0], [0, 1]), like the return curves; a grey dotted line
    marks the uniform reference (mean over the agents)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from evaluation.prediction_scores import LOG_FLOOR

    scenarios = {(p.env_id, p.scenario) for p in points}
    if len(scenarios) != 1:
        raise ValueError(f"prediction_figure needs the points of one scenario, got {scenarios}")
    ((env_id, scenario),) = scenarios
    fig = Figure(figsize=(10.0, 4.0), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, squeeze=True)
    for index, (agent, color) in enumerate(zip(agents, _colors(len(agents)), strict=True)):
        mine = sorted((p for p in points if p.agent == agent), key=lambda p: p.episode)
        if not mine:
            raise ValueError(f"no prediction points for agent {agent!r} in {scenario!r}")
        style = _line_style(index, color)
        for ax, value, ci, (floor, ceiling) in (
            (left, "log_likelihood", "log_likelihood_ci", (math.log(LOG_FLOOR), 0.0)),
            (right, "goal_probability", "goal_probability_ci", (0.0, 1.0)),
        ):
            shown = [p for p in mine if getattr(p, value) is not None]
            if not shown:
                continue
            x = [p.episode for p in shown]
            y = [getattr(p, value) for p in shown]
            trials = min(p.trials for p in shown)
            ax.plot(x, y, label=f"{agent} (n={trials})", color=color, **style)
            if all(getattr(p, ci) is not None for p in shown):
                half = [getattr(p, ci) for p in shown]
                low = [max(m - h, floor) for m, h in zip(y, half, strict=True)]
                high = [min(m + h, ceiling) for m, h in zip(y, half, strict=True)]
                ax.fill_between(x, low, high, color=color, alpha=0.18, linewidth=0)
    episodes = sorted({p.episode for p in points})
    uniform = [
        sum(q.uniform_log_likelihood for q in same) / len(same)
        for e in episodes
        if (same := [q for q in points if q.episode == e])
    ]
    left.plot(episodes, uniform, color="0.5", linestyle=":", label="uniform (mean)")
    left.set_ylabel("log-likelihood per step")
    right.set_ylabel("probability of the hindsight goal")
    right.set_ylim(-0.02, 1.02)
    for ax in (left, right):
        ax.set_xlabel("episode in trial")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    left.legend(
        title=f"agent (n = trials)\nshaded: {confidence:.0%} t-interval",
        fontsize="small",
        title_fontsize="small",
    )
    fig.suptitle(f"{env_name(env_id)} · {short_scenario(scenario)}: opponent modelling")
    return fig


def save_prediction_curves(
    points: Sequence[PredictionPoint],
    out_dir: Path,
    *,
    agent_order: Collection[str] | None = None,
    confidence: float,
) -> dict[tuple[str, str], Path]:
    """One ``om_<env>__<scenario>.png`` per scenario in ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[tuple[str, str], Path] = {}
    for key in sorted({(p.env_id, p.scenario) for p in points}):
        mine = [p for p in points if (p.env_id, p.scenario) == key]
        present = {p.agent for p in mine}
        order = [a for a in (agent_order or ()) if a in present]
        order += sorted(present - set(order))
        path = out_dir / f"om_{plot_filename(*key)}"
        prediction_figure(mine, agents=order, confidence=confidence).savefig(path)
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


def _line_style(index: int, color: object) -> dict[str, object]:
    """Marker, dash pattern, marker size and fill of the ``index``-th curve."""
    return {
        "marker": _MARKERS[index % len(_MARKERS)],
        "linestyle": _LINESTYLES[index % len(_LINESTYLES)],
        "markersize": max(3.0, 8.0 * 0.87**index),
        "markerfacecolor": "none" if index % 2 else color,
        "linewidth": max(0.8, 2.6 * 0.82**index),
    }


def _check_bounds(bounds: Bounds, where: str) -> Bounds:
    try:
        low, high = (float(v) for v in bounds)
    except (TypeError, ValueError):
        raise ValueError(
            f"bounds for {where} must be a (low, high) pair of numbers, got {bounds!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"bounds for {where} must be finite with low < high, got {bounds!r}")
    return low, high


def _check_panels(
    panels: Panels | Sequence[tuple[str, Interval]],
) -> dict[str, list[tuple[str, Interval]]]:
    """The panels as family -> entries, each agent once per panel with a finite interval."""
    named = dict(panels) if isinstance(panels, Mapping) else {"": panels}
    if not named:
        raise ValueError("aggregate_figure needs at least one panel, got none")
    checked: dict[str, list[tuple[str, Interval]]] = {}
    for family, entries in named.items():
        entries = list(entries)
        if not entries:
            raise ValueError(f"panel {family!r} has no (agent, interval) entries")
        agents = [agent for agent, _ in entries]
        twice = sorted({a for a in agents if agents.count(a) > 1})
        if twice:
            raise ValueError(f"panel {family!r} lists agent(s) {twice} more than once")
        for agent, interval in entries:
            values = (interval.low, interval.point, interval.high)
            if not all(math.isfinite(v) for v in values) or interval.low > interval.high:
                raise ValueError(
                    f"interval of {agent!r} in panel {family!r} is {interval!r}; "
                    "expected finite values with low <= high"
                )
        checked[family] = entries
    return checked


def _aggregate_order(
    panels: Mapping[str, Sequence[tuple[str, Interval]]], agent_order: Sequence[str] | None
) -> list[str]:
    points: dict[str, list[float]] = {}
    for entries in panels.values():
        for agent, interval in entries:
            points.setdefault(agent, []).append(interval.point)
    if agent_order is None:
        return sorted(points, key=lambda a: (-sum(points[a]) / len(points[a]), a))
    missing = sorted(set(points) - set(agent_order))
    if missing:
        raise ValueError(f"agent_order lacks agent(s) {missing} that the panels score")
    return [a for a in dict.fromkeys(agent_order) if a in points]


def _interval_note(panels: Mapping[str, Sequence[tuple[str, Interval]]]) -> str:
    """`` · 95% stratified-bootstrap CI (2000 reps)`` when all intervals share them."""
    kinds = {(i.confidence, i.reps) for entries in panels.values() for _, i in entries}
    if len(kinds) != 1:
        return ""
    ((confidence, reps),) = kinds
    return f" · {confidence:.0%} stratified-bootstrap CI ({reps} reps)"
