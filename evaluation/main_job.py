"""The main job (``make run``): the standard protocol for every shipped agent, then the report.

    python -m evaluation.main_job [--full] [--trials N] [--episodes K] [--agents A,B]
                                  [--seed S] [--workers W] [--backend B] [--db PATH] [--out DIR]

For each env it evaluates every agent the package ships for that env (the registry's
built-in agents: ``random`` and the env's rule-based agents so far) as the focal agent in all
of the env's standard scenarios (``adapt-1v3-*``, ``adapt-3v1-*``, ``selfplay``), stores every
episode in the SQLite result database, and writes the report (Markdown, CSV, JSON, PNG
curves) of exactly this run's budget to ``--out``. The default budget is small enough for a
laptop in a few minutes; ``--full`` is the full-size run. Results already in the database are
not run again, so an interrupted job resumes where it stopped.

Exit codes: 0 done, 1 some trials failed (listed; the report covers the rest), 2 bad
arguments, 130 interrupted (finished episodes are stored; run it again to resume).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.records import EpisodeRecord
from evaluation.report import ReportPaths

if TYPE_CHECKING:
    from evaluation.scenarios import Scenario

#: Default budget: fits a few minutes on two cores. ``--full``: the size to publish.
QUICK_TRIALS, FULL_TRIALS = 10, 30
EPISODES = 10
DEFAULT_OUT = Path("results") / "report"


@dataclass(frozen=True)
class MainJobConfig:
    """What the main job runs; validated on construction."""

    trials: int = QUICK_TRIALS
    episodes: int = EPISODES
    seed: int = 0
    workers: int | None = None
    backend: str = "process"
    db: Path = Path("results") / "hop-bench.sqlite"
    out: Path = DEFAULT_OUT
    agents: tuple[str, ...] | None = None  # None: every shipped agent of each env
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("trials", "episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"MainJobConfig.{name} must be an integer >= 1, got {value!r}")
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1
        ):
            raise ValueError(f"MainJobConfig.workers must be an integer >= 1, got {self.workers!r}")
        if self.agents is not None and not self.agents:
            raise ValueError("MainJobConfig.agents must name at least one agent, got none")
        from evaluation.backends import BACKENDS

        if self.backend not in BACKENDS:
            raise ValueError(
                f"MainJobConfig.backend must be one of {list(BACKENDS)}, got {self.backend!r}"
            )


@dataclass(frozen=True)
class MainJobResult:
    """What one main-job run did."""

    records: tuple[EpisodeRecord, ...]
    inserted: int
    skipped_trials: int
    failures: tuple[str, ...]
    report: ReportPaths | None  # None when nothing could be stored (every trial failed)
    seconds: float


def shipped_agents(env_id: str) -> list[str]:
    """The agents the package registers in code (no plug-ins) that play ``env_id``."""
    from agents.registry import AGENTS
    from hop_envs.registration import full_env_id
    from hop_envs.registry import BUILTIN

    env = full_env_id(env_id)
    return [e.name for e in AGENTS.entries() if e.origin == BUILTIN and e.supports(env)]


def plan_runs(config: MainJobConfig) -> list[tuple[str, list[Scenario]]]:
    """``(agent, scenarios)`` pairs: each agent with the standard scenarios of the envs it
    plays. Unknown or unsupported ``config.agents`` raise with the known names."""
    from evaluation.scenarios import standard_scenarios
    from hop_envs.registration import ENV_IDS

    per_agent: dict[str, list[Scenario]] = {}
    known: set[str] = set()
    for env_id in ENV_IDS:
        shipped = shipped_agents(env_id)
        known |= set(shipped)
        chosen = shipped if config.agents is None else [a for a in config.agents if a in shipped]
        for agent in chosen:
            per_agent.setdefault(agent, []).extend(standard_scenarios(env_id))
    if config.agents is not None:
        unknown = [a for a in config.agents if a not in known]
        if unknown:
            raise ValueError(
                f"--agents: {', '.join(repr(a) for a in unknown)} is not a shipped agent; "
                f"shipped agents: {', '.join(sorted(known))}"
            )
    return list(per_agent.items())


def run_main_job(
    config: MainJobConfig, runs: Sequence[tuple[str, list[Scenario]]] | None = None
) -> MainJobResult:
    """Evaluate ``runs`` (default :func:`plan_runs`), store and report; a
    ``KeyboardInterrupt`` propagates with every finished episode stored."""
    from tqdm import tqdm

    from evaluation.evaluate import evaluate, plan
    from evaluation.jobs import AgentSpec
    from evaluation.report import write_report
    from evaluation.store import ResultStore

    start = time.perf_counter()
    specs = [
        (AgentSpec(agent), scenarios)
        for agent, scenarios in (plan_runs(config) if runs is None else runs)
    ]
    budget = {"seed": config.seed, "trials": config.trials, "episodes": config.episodes}
    with ResultStore(config.db) as store:
        total = sum(
            job.missing
            for spec, scenarios in specs
            for job in plan(spec, scenarios, store, **budget)[0]
        )
        bar = tqdm(total=total, unit="ep", desc="main job", disable=not config.progress or None)
        inserted, skipped, failures, keys = 0, 0, [], []
        try:
            for spec, scenarios in specs:
                bar.set_postfix_str(spec.name)
                result = evaluate(
                    spec,
                    scenarios,
                    store,
                    backend=config.backend,
                    workers=config.workers,
                    progress=lambda done, total: bar.update(1),
                    **budget,
                )
                inserted += result.inserted
                skipped += result.skipped_trials
                failures += [str(err) for err in result.failures]
                keys += result.keys
        finally:
            bar.close()
        records = tuple(
            r
            for key in keys
            for r in store.iter_records(
                agent=key.agent, scenario=key.scenario, seed=key.seed, config_hash=key.config_hash
            )
            if r.trial < key.trials and r.episode < key.episodes
        )
    report = write_report(records, config.out) if records else None
    return MainJobResult(
        records=records,
        inserted=inserted,
        skipped_trials=skipped,
        failures=tuple(failures),
        report=report,
        seconds=time.perf_counter() - start,
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evaluation.main_job",
        description="Run the standard protocol for every shipped agent and write the report.",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help=f"full-size run: {FULL_TRIALS} trials per scenario (default {QUICK_TRIALS})",
    )
    p.add_argument("--trials", type=int, help="trials per scenario (overrides --full)")
    p.add_argument(
        "--episodes", type=int, default=EPISODES, help=f"episodes per trial ({EPISODES})"
    )
    p.add_argument("--agents", help="comma-separated shipped agents (default: all of each env)")
    p.add_argument("--seed", type=int, default=0, help="base seed (0)")
    p.add_argument("--workers", type=int, help="worker processes (default: usable CPUs)")
    p.add_argument("--backend", default="process", help="serial, process (default) or ray")
    p.add_argument(
        "--db", type=Path, default=MainJobConfig.db, help=f"result database ({MainJobConfig.db})"
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report folder ({DEFAULT_OUT})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = MainJobConfig(
            trials=args.trials
            if args.trials is not None
            else (FULL_TRIALS if args.full else QUICK_TRIALS),
            episodes=args.episodes,
            seed=args.seed,
            workers=args.workers,
            backend=args.backend,
            db=args.db,
            out=args.out,
            agents=None
            if args.agents is None
            else tuple(a.strip() for a in args.agents.split(",") if a.strip()),
            progress=not args.no_progress,
        )
        runs = plan_runs(config)
    except ValueError as err:
        print(f"main job: error: {err}", file=sys.stderr)
        return 2
    try:
        result = run_main_job(config, runs)
    except KeyboardInterrupt:
        print(
            f"main job interrupted; finished episodes are stored in {args.db}; run the same "
            "command again to resume",
            file=sys.stderr,
        )
        return 130
    report = result.report
    print(
        f"{len(result.records)} episodes in the report ({result.inserted} new, "
        f"{result.skipped_trials} trials already stored) in {result.seconds:.0f} s"
    )
    if report is None:
        print("main job: nothing was stored, so no report was written", file=sys.stderr)
    else:
        print(f"report: {report.markdown}")
        print(
            f"tables: {report.summary_csv}, {report.curves_csv}, {report.scores_csv}, {report.json}"
        )
        print(f"plots:  {len(report.plots)} PNG curves in {report.markdown.parent / 'plots'}")
    if result.failures:
        print(f"main job: {len(result.failures)} trial(s) failed:", file=sys.stderr)
        for failure in result.failures:
            print(f"  - {failure}", file=sys.stderr)
    return 1 if result.failures or report is None else 0


if __name__ == "__main__":
    sys.exit(main())
