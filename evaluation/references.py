"""Reference results shipped with the package: the scale of every normalized score.

A normalized score must not depend on what else a user's database holds (DESIGN §6). So the
package ships, for every standard scenario, the results of its **reference agents** (the
env's training-population co-players as the focal agent, ``random`` among them) with a large
budget, and scores every agent against them:

    0 = the lowest reference mean of the scenario, 1 = the highest.

Melting Pot normalises between baseline extremes in the same way; taking the lowest and
highest reference (not ``random`` and the best rule) keeps the scale defined where
``random`` is nearly optimal. When the two extremes cannot be told apart, the scenario has
**no** normalized score and reports say why: their gap must exceed :data:`MIN_RANGE` and the
95% half-width of their paired per-trial difference (trial ``i`` of every agent shares its
seeds), or, without per-trial means, the sum of their two 95% half-widths.

The file is made by one command (``hop-bench references``, i.e. :func:`make_references`)
and records, per scenario and agent, the budget, mean, interval, the scenario's definition
digest and the configuration hash of the results, so a stale file is detectable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from evaluation.records import EpisodeRecord
from evaluation.runner import failure_lines

#: The shipped file (package data).
REFERENCE_FILE = Path(__file__).with_name("reference_results.json")
#: Budget of the shipped references.
REFERENCE_TRIALS, REFERENCE_EPISODES, REFERENCE_SEED = 30, 10, 0
#: The extremes must differ by at least this much return (and their intervals must not
#: overlap) for a scenario to have a normalized score.
MIN_RANGE = 1e-6
FORMAT_VERSION = 1


def reference_agents(env_id: str) -> tuple[str, ...]:
    """The reference agents of ``env_id``: its training-population co-players, sorted."""
    from hop_envs.coplayers import TRAINING, coplayer_names

    return tuple(coplayer_names(env_id.removeprefix("hop/"), population=TRAINING))


@dataclass(frozen=True)
class ReferenceResult:
    """One reference agent in one scenario: mean focal return over trials and its 95%
    half-width (``ci``), with the budget and the digests that identify the results."""

    scenario: str
    env_id: str
    agent: str
    trials: int
    episodes: int
    mean: float
    ci: float
    scenario_hash: str
    config_hash: str
    #: Each trial's mean focal return, in trial order (trial ``i`` of every reference agent
    #: shares its seeds: the same maps and, in hidden-type scenarios, the same drawn kind).
    trial_means: tuple[float, ...] = ()


@dataclass(frozen=True)
class ReferenceScale:
    """The normalisation of one scenario: ``low`` is 0 and ``high`` is 1 (``None`` with a
    ``note`` when the references cannot separate them). ``source`` says where they came
    from: ``"shipped"`` or ``"database"``."""

    scenario: str
    low: float | None
    high: float | None
    low_agent: str
    high_agent: str
    source: str
    note: str

    @property
    def defined(self) -> bool:
        return self.low is not None and self.high is not None

    def normalize(self, value: float) -> float | None:
        if self.low is None or self.high is None:
            return None
        return (value - self.low) / (self.high - self.low)


def scale_from(results: Sequence[ReferenceResult], source: str) -> ReferenceScale:
    """The scale of one scenario from its reference results (the extremes' means)."""
    if not results:
        raise ValueError("scale_from: no reference results given")
    scenario = results[0].scenario
    low = min(results, key=lambda r: (r.mean, r.agent))
    high = max(results, key=lambda r: (r.mean, r.agent))
    gap = high.mean - low.mean
    paired = paired_half_width(low.trial_means, high.trial_means)
    if paired is not None:
        separated = gap >= MIN_RANGE and gap > paired
        rule = f"the 95% interval of their paired per-trial difference is ± {paired:.3f}"
    else:
        separated = gap >= MIN_RANGE and gap > low.ci + high.ci
        rule = "their 95% intervals must not overlap"
    if not separated:
        note = (
            f"no normalized score in {scenario}: its references are too close to separate "
            f"(lowest {low.agent} {low.mean:.3f} ± {low.ci:.3f}, highest {high.agent} "
            f"{high.mean:.3f} ± {high.ci:.3f}; {rule})"
        )
        return ReferenceScale(scenario, None, None, low.agent, high.agent, source, note)
    return ReferenceScale(scenario, low.mean, high.mean, low.agent, high.agent, source, "")


def paired_half_width(low: Sequence[float], high: Sequence[float]) -> float | None:
    """The 95% Student-t half-width of the mean per-trial difference ``high - low`` when both
    have the same trials (two or more), else ``None``. Trials share seeds across agents, so
    the paired difference removes what the trial's draw (map, hidden kind) adds to both."""
    if len(low) != len(high) or len(low) < 2:
        return None
    from evaluation.report.stats import mean_ci  # lazily: evaluation.report imports this

    ci = mean_ci([h - lo for h, lo in zip(high, low, strict=True)]).ci
    return 0.0 if ci is None else ci


# -- the shipped file ------------------------------------------------------------------------
@cache
def shipped_references(path: Path = REFERENCE_FILE) -> dict[str, list[ReferenceResult]]:
    """Scenario -> its shipped reference results (empty when the file is missing)."""
    if not path.is_file():
        return {}
    return read_references(path)


def read_references(path: Path) -> dict[str, list[ReferenceResult]]:
    """Read a reference file written by :func:`write_references`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read reference results {path}: {err}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: not a hop-bench reference file of format {FORMAT_VERSION} "
            f"(got format {data.get('format') if isinstance(data, dict) else None!r})"
        )
    out: dict[str, list[ReferenceResult]] = {}
    for i, row in enumerate(data.get("results", [])):
        try:
            result = ReferenceResult(**{**row, "trial_means": tuple(row.get("trial_means", ()))})
        except TypeError as err:
            raise ValueError(f"{path}: results[{i}] is malformed: {err}") from None
        out.setdefault(result.scenario, []).append(result)
    return out


def _row(result: ReferenceResult) -> dict[str, Any]:
    row = asdict(result)
    row["trial_means"] = list(result.trial_means)
    return row


def write_references(
    results: Iterable[ReferenceResult], path: Path, meta: Mapping[str, Any]
) -> Path:
    """Write reference results as JSON (sorted, stable) with the run's metadata."""
    rows = sorted((_row(r) for r in results), key=lambda r: (r["scenario"], r["agent"]))
    payload = {"format": FORMAT_VERSION, **dict(meta), "results": rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return path


def results_from_records(records: Iterable[EpisodeRecord]) -> list[ReferenceResult]:
    """One :class:`ReferenceResult` per (scenario, agent) from complete trials of records.

    Each trial's score is its mean focal return over its episodes; the mean and its 95%
    Student-t half-width are taken over trials (a single trial has half-width 0 and so never
    separates from anything: see :func:`scale_from`)."""
    from evaluation.report.stats import mean_ci  # lazily: evaluation.report imports this module

    groups: dict[tuple[str, str], dict[int, dict[int, EpisodeRecord]]] = {}
    for rec in records:
        groups.setdefault((rec.scenario, rec.agent), {}).setdefault(rec.trial, {})[rec.episode] = (
            rec
        )
    out = []
    for (scenario, agent), trials in sorted(groups.items()):
        episodes = max(len(eps) for eps in trials.values())
        complete = [trials[t] for t in sorted(trials) if len(trials[t]) == episodes]
        scores = [math.fsum(r.focal_return for r in eps.values()) / episodes for eps in complete]
        est = mean_ci(scores)
        first = next(iter(complete[0].values()))
        out.append(
            ReferenceResult(
                scenario=scenario,
                env_id=first.env_id,
                agent=agent,
                trials=len(complete),
                episodes=episodes,
                mean=est.mean,
                ci=est.ci if est.ci is not None else math.inf,
                scenario_hash=first.scenario_hash,
                config_hash=first.config_hash,
                trial_means=tuple(scores),
            )
        )
    return out


# -- scales for a report ---------------------------------------------------------------------
ScaleLookup = Callable[[str, str, str], ReferenceScale]


def reference_scale(
    scenario: str,
    env_id: str,
    scenario_hash: str,
    database: Mapping[tuple[str, str], ReferenceResult] | None = None,
    shipped: Mapping[str, Sequence[ReferenceResult]] | None = None,
) -> ReferenceScale:
    """The scale of ``scenario`` (whose definition digest is ``scenario_hash``).

    The shipped references are used when they were made for this very definition; a user's
    own scenario is scaled from ``database`` (its reference agents' results on the same
    definition) when every reference agent of the env is there; otherwise there is no scale
    and the note gives the commands that add the missing references."""
    shipped = shipped_references() if shipped is None else shipped
    mine = [r for r in shipped.get(scenario, ()) if r.scenario_hash == scenario_hash]
    if mine:
        return scale_from(mine, "shipped")
    agents = reference_agents(env_id)
    found = [database[(scenario, a)] for a in agents if database and (scenario, a) in database]
    found = [r for r in found if r.scenario_hash == scenario_hash]
    if agents and len(found) == len(agents):
        return scale_from(found, "database")
    missing = [a for a in agents if a not in {r.agent for r in found}]
    commands = "; ".join(
        f"hop-bench evaluate --agent {a} --scenario <{scenario} file>" for a in missing
    )
    note = (
        f"no normalized score in {scenario}: no shipped references for this scenario "
        f"definition and the database lacks the reference agents {', '.join(missing)}; "
        f"add them with: {commands}"
    )
    return ReferenceScale(scenario, None, None, "", "", "none", note)


# -- making the shipped file -----------------------------------------------------------------
def make_references(
    out: Path = REFERENCE_FILE,
    *,
    db: Path = Path("results") / "references.sqlite",
    trials: int = REFERENCE_TRIALS,
    episodes: int = REFERENCE_EPISODES,
    seed: int = REFERENCE_SEED,
    backend: str = "process",
    workers: int | None = None,
    progress: bool = True,
) -> tuple[Path, list[str]]:
    """Evaluate every reference agent on every standard scenario of every env (stored in
    ``db``, so an interrupted run resumes) and write the reference file ``out``. Returns the
    file and the failures (none written when any trial failed)."""
    from tqdm import tqdm

    from evaluation.evaluate import evaluate, plan, stored_records
    from evaluation.jobs import AgentSpec, package_version
    from evaluation.scenarios import all_scenarios
    from evaluation.store import ResultStore
    from hop_envs.registration import ENV_IDS

    work = [
        (AgentSpec(agent), all_scenarios(env_id))
        for env_id in ENV_IDS
        for agent in reference_agents(env_id)
    ]
    results: list[ReferenceResult] = []
    failures: list[str] = []
    with ResultStore(db) as store:
        total = sum(
            job.missing
            for agent, scenarios in work
            for job in plan(agent, scenarios, store, seed=seed, trials=trials, episodes=episodes)[0]
        )
        bar = tqdm(total=total, unit="ep", desc="references", disable=not progress or None)
        try:
            for agent, scenarios in work:
                bar.set_postfix_str(agent.name)
                result = evaluate(
                    agent,
                    scenarios,
                    store,
                    seed=seed,
                    trials=trials,
                    episodes=episodes,
                    backend=backend,
                    workers=workers,
                    progress=lambda done, total: bar.update(1),
                )
                failures += [str(err) for err in result.failures]
                for key in result.keys:
                    results += results_from_records(stored_records(store, key))
        finally:
            bar.close()
    if failures:
        return out, failures
    meta = {
        "hop_bench_version": package_version(),
        "command": f"hop-bench references --trials {trials} --episodes {episodes} --seed {seed}",
        "trials": trials,
        "episodes": episodes,
        "seed": seed,
    }
    write_references(results, out, meta)
    shipped_references.cache_clear()
    return out, failures


def build_parser() -> Any:
    """Arguments of ``hop-bench references`` (also ``python -m evaluation.references``)."""
    import argparse

    p = argparse.ArgumentParser(
        prog="hop-bench references",
        description="Regenerate the reference results that set every normalized score.",
    )
    add_arguments(p)
    return p


def add_arguments(p: Any) -> None:
    p.add_argument("--trials", type=int, default=REFERENCE_TRIALS, help="trials (30)")
    p.add_argument("--episodes", type=int, default=REFERENCE_EPISODES, help="episodes (10)")
    p.add_argument("--seed", type=int, default=REFERENCE_SEED, help="base seed (0)")
    p.add_argument("--out", type=Path, default=REFERENCE_FILE, help="file to write")
    p.add_argument(
        "--db", type=Path, default=Path("results") / "references.sqlite", help="result database"
    )
    p.add_argument("--workers", type=int, help="worker processes (default: usable CPUs)")
    p.add_argument("--backend", default="process", help="serial, process (default) or ray")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: Any) -> int:
    """Run ``hop-bench references``; exit code 0, 1 (trials failed, nothing written) or 2."""
    import sys

    for name in ("trials", "episodes"):
        if getattr(args, name) < 1:
            print(
                f"references: error: --{name}: expected an integer >= 1, got {getattr(args, name)}",
                file=sys.stderr,
            )
            return 2
    out, failures = make_references(
        args.out,
        db=args.db,
        trials=args.trials,
        episodes=args.episodes,
        seed=args.seed,
        backend=args.backend,
        workers=args.workers,
        progress=not args.no_progress,
    )
    if failures:
        print(f"references: {len(failures)} trial(s) failed, {out} not written:", file=sys.stderr)
        for line in failure_lines(failures):
            print(f"  - {line}", file=sys.stderr)
        return 1
    print(f"reference results written to {out}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(run(build_parser().parse_args()))
