"""The main job (``hop-bench run``, ``make run``): every shipped agent on the standard
protocol, then the report.

    hop-bench run [--full] [--trials N] [--episodes K] [--agents A,B]
                  [--planner-trials N] [--planner-episodes K] [--seed S]
                  [--workers W] [--backend serial|process|ray] [--db PATH] [--out DIR]
                  [--readme PATH]

For each env it evaluates every agent the package ships for that env (the registry's
built-in agents: ``random``, the env's rule-based agents, the HOP family and ``oracle-mcts``)
as the focal agent on the package's scenarios (training population: ``adapt-*``,
``selfplay``; held-out population: ``heldout-*``), stores every episode in the SQLite result
database, and writes the report (Markdown, CSV, JSON, PNG curves and aggregates) of exactly
this run's budget to ``--out``. It prints its plan first (agents x scenarios x trials x
episodes, what is stored already), then one progress bar per agent, cheap agents first.

Budgets. Cheap agents (rule-based) play every scenario with ``--trials`` x ``--episodes``
(10 x 10). The planning agents (:data:`PLANNING_AGENTS`, a tree search per decision, about a
thousand times slower per step) play, by default, the hidden-type and mixed scenarios of
both populations (``--planner-scenarios quick``) with 1 trial x 2 episodes, so that the
default run fits in 20 minutes on two cores: its planner figures are a smoke-size sample,
not results to publish. README's tables come from :data:`README_COMMAND`: every
one-focal-seat scenario (the ones the aggregates use) with 2 trials x 2 episodes. ``--full`` is the
paper-size run: every agent on every scenario with 30 trials x 10 episodes (hours for the
planners; it resumes where it stopped, on any backend, Ray included). ``--readme README.md``
also copies the generated tables and plots into the README between the
``<!-- results:start -->`` and ``<!-- results:end -->`` markers, so the README's results
are generated, never typed.

Exit codes: 0 done, 1 some trials failed (listed; the report covers the rest), 2 bad
arguments, 130 interrupted (finished episodes are stored; run it again to resume).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.records import EpisodeRecord
from evaluation.report import ReportPaths
from evaluation.runner import failure_lines

if TYPE_CHECKING:
    from evaluation.scenarios import Scenario

#: Default budget of the cheap agents (seconds per scenario). ``--full``: the size to publish.
QUICK_TRIALS, FULL_TRIALS = 10, 30
EPISODES = 10
#: Default budget of the planning agents.
PLANNER_TRIALS, PLANNER_EPISODES = 1, 2
#: ``--planner-scenarios`` choices, and the scenarios of the quick default (per env).
PLANNER_SCENARIOS = ("quick", "one-focal", "all")
QUICK_PLANNER_SCENARIOS = frozenset(
    {"adapt-hidden", "adapt-mixed", "heldout-hidden", "heldout-mixed"}
)
#: The command that made README's results (larger planner budget than the quick default).
README_COMMAND = (
    "hop-bench run --planner-scenarios one-focal --planner-trials 4 --planner-episodes 4 "
    "--out docs/results --readme README.md"
)
#: Agents that search a tree at every decision; they get the planner budget.
PLANNING_AGENTS = frozenset(
    {
        "hop",
        "direct-om",
        "hop-no-inter",
        "hop-no-intra",
        "hop-plus",
        "hop-plus-no-inter",
        "hop-plus-no-intra",
        "oracle-mcts",
    }
)
ORACLE = "oracle-mcts"
DEFAULT_OUT = Path("results") / "report"
#: The README block (:mod:`evaluation.readme_blocks`) that ``--readme`` fills.
README_BLOCK = "results"


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
    planner_trials: int = PLANNER_TRIALS
    planner_episodes: int = PLANNER_EPISODES
    #: Which scenarios the planning agents play: ``"quick"`` (the hidden-type and mixed
    #: scenarios of both populations), ``"one-focal"`` (every one-focal-seat scenario: all
    #: that the aggregates use) or ``"all"``.
    planner_scenarios: str = "quick"

    def __post_init__(self) -> None:
        for name in ("trials", "episodes", "planner_trials", "planner_episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"MainJobConfig.{name} must be an integer >= 1, got {value!r}")
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1
        ):
            raise ValueError(f"MainJobConfig.workers must be an integer >= 1, got {self.workers!r}")
        if self.agents is not None and not self.agents:
            raise ValueError("MainJobConfig.agents must name at least one agent, got none")
        if self.planner_scenarios not in PLANNER_SCENARIOS:
            raise ValueError(
                f"MainJobConfig.planner_scenarios must be one of {list(PLANNER_SCENARIOS)}, "
                f"got {self.planner_scenarios!r}"
            )
        from evaluation.backends import BACKENDS

        if self.backend not in BACKENDS:
            raise ValueError(
                f"MainJobConfig.backend must be one of {list(BACKENDS)}, got {self.backend!r}"
            )


@dataclass(frozen=True)
class Run:
    """One agent, the scenarios it plays and its budget."""

    agent: str
    scenarios: list[Scenario]
    trials: int
    episodes: int


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
    """The agents the package registers in code (no plug-ins) that play ``env_id``, and the
    learning baselines with a shipped checkpoint for it."""
    from agents.registry import AGENTS
    from baselines.shipped import shipped_learners
    from hop_envs.registration import full_env_id
    from hop_envs.registry import BUILTIN

    env = full_env_id(env_id)
    builtin = [e.name for e in AGENTS.entries() if e.origin == BUILTIN and e.supports(env)]
    return builtin + [n for n in shipped_learners(env) if n not in builtin]


def plan_runs(config: MainJobConfig) -> list[Run]:
    """Each agent with the package's scenarios of the envs it plays and its budget, cheap
    agents first (so the progress display's ETA means something early on).

    Cheap agents play every scenario. Planning agents (:data:`PLANNING_AGENTS`) play the
    scenarios ``config.planner_scenarios`` names: by default the hidden-type and mixed
    scenarios of both populations; ``"one-focal"``: every one-focal-seat scenario that the
    aggregates use (``adapt-1v3-*`` of the rule-based training population, ``adapt-hidden``,
    ``adapt-mixed``, ``heldout-*``; not the learned backgrounds); ``"all"``: every scenario.
    Unknown or unsupported ``config.agents`` raise with the known names."""
    from evaluation.scenarios import all_scenarios
    from hop_envs.registration import ENV_IDS

    per_agent: dict[str, list[Scenario]] = {}
    known: set[str] = set()
    for env_id in ENV_IDS:
        shipped = shipped_agents(env_id)
        known |= set(shipped)
        chosen = shipped if config.agents is None else [a for a in config.agents if a in shipped]
        for agent in chosen:
            scenarios = all_scenarios(env_id)
            if agent in PLANNING_AGENTS:
                scenarios = [s for s in scenarios if _planner_plays(s, config.planner_scenarios)]
            per_agent.setdefault(agent, []).extend(scenarios)
    if config.agents is not None:
        unknown = [a for a in config.agents if a not in known]
        if unknown:
            raise ValueError(
                f"--agents: {', '.join(repr(a) for a in unknown)} is not a shipped agent; "
                f"shipped agents: {', '.join(sorted(known))}"
            )
    runs = [
        Run(agent, scenarios, config.planner_trials, config.planner_episodes)
        if agent in PLANNING_AGENTS
        else Run(agent, scenarios, config.trials, config.episodes)
        for agent, scenarios in per_agent.items()
    ]
    return sorted(runs, key=lambda r: (r.agent in PLANNING_AGENTS, r.agent == ORACLE))


def _planner_plays(scenario: Scenario, which: str) -> bool:
    if which == "all":
        return True
    if len(scenario.focal_seats) != 1:
        return False
    if which == "one-focal":  # the aggregated ones (not the learned backgrounds)
        from evaluation.report.summary import population_of

        return population_of(scenario.name) is not None
    return scenario.name.split("/")[-1] in QUICK_PLANNER_SCENARIOS


def print_plan(runs: Sequence[Run], config: MainJobConfig, stored: Sequence[int]) -> None:
    """The plan, before anything runs: per agent its scenarios, budget and what is stored."""
    print(f"main job plan (seed {config.seed}, results in {config.db}):")
    width = max((len(r.agent) for r in runs), default=5)
    total_todo = 0
    for run, todo in zip(runs, stored, strict=True):
        episodes = len(run.scenarios) * run.trials * run.episodes
        total_todo += todo
        print(
            f"  {run.agent.ljust(width)}  {len(run.scenarios):3d} scenarios x {run.trials} trials "
            f"x {run.episodes} episodes = {episodes:6d} episodes, {episodes - todo:6d} stored, "
            f"{todo:6d} to run"
        )
    print(f"  {total_todo} episodes to run")


def run_main_job(config: MainJobConfig, runs: Sequence[Run] | None = None) -> MainJobResult:
    """Evaluate ``runs`` (default :func:`plan_runs`), store and report; a
    ``KeyboardInterrupt`` propagates with every finished episode stored. Prints the plan
    first, then one progress bar per agent."""
    from tqdm import tqdm

    from evaluation.evaluate import evaluate, plan, stored_records
    from evaluation.jobs import AgentSpec
    from evaluation.report import write_report
    from evaluation.store import ResultStore

    start = time.perf_counter()
    runs = plan_runs(config) if runs is None else runs
    with ResultStore(config.db) as store:
        todo = [
            sum(
                job.missing
                for job in plan(
                    AgentSpec(run.agent),
                    run.scenarios,
                    store,
                    seed=config.seed,
                    trials=run.trials,
                    episodes=run.episodes,
                )[0]
            )
            for run in runs
        ]
        print_plan(runs, config, todo)
        inserted, skipped, failures, keys = 0, 0, [], []
        for run, count in zip(runs, todo, strict=True):
            bar = tqdm(total=count, unit="ep", desc=run.agent, disable=not config.progress or None)
            try:
                result = evaluate(
                    AgentSpec(run.agent),
                    run.scenarios,
                    store,
                    backend=config.backend,
                    workers=config.workers,
                    progress=lambda done, total, bar=bar: bar.update(1),
                    seed=config.seed,
                    trials=run.trials,
                    episodes=run.episodes,
                )
            finally:
                bar.close()
            inserted += result.inserted
            skipped += result.skipped_trials
            failures += [str(err) for err in result.failures]
            keys += result.keys
        records = tuple(r for key in keys for r in stored_records(store, key))
    report = write_report(records, config.out) if records else None
    return MainJobResult(
        records=records,
        inserted=inserted,
        skipped_trials=skipped,
        failures=tuple(failures),
        report=report,
        seconds=time.perf_counter() - start,
    )


def update_readme(readme: Path, report: ReportPaths) -> None:
    """Replace the results block of ``readme`` (:data:`README_BLOCK`) with the report's env
    sections, plot links rewritten relative to the README."""
    from evaluation.readme_blocks import replace_block

    body = report.markdown.read_text()
    body = body[body.index("\n## ") + 1 :] if "\n## " in body else body
    plots = os.path.relpath(report.markdown.parent / "plots", readme.parent)
    body = body.replace("](plots/", f"]({plots}/")
    body = body.replace("\n### ", "\n#### ").replace("\n## ", "\n### ")  # nest under README
    body = "### " + body[3:] if body.startswith("## ") else body
    replace_block(readme, README_BLOCK, body)


HELP = "the main job: every shipped agent on the standard protocol, then the report"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hop-bench run", description=HELP)
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``hop-bench run``."""
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
    p.add_argument(
        "--planner-trials",
        type=int,
        help=f"trials of the planning agents ({PLANNER_TRIALS}; {FULL_TRIALS} with --full)",
    )
    p.add_argument(
        "--planner-episodes",
        type=int,
        help=f"episodes of the planning agents ({PLANNER_EPISODES}; {EPISODES} with --full)",
    )
    p.add_argument(
        "--planner-scenarios",
        choices=PLANNER_SCENARIOS,
        default="quick",
        help="scenarios of the planning agents: quick (hidden-type and mixed, the default), "
        "one-focal (every one-focal-seat scenario) or all (--full)",
    )
    p.add_argument("--readme", type=Path, help="also write the results into this README")
    p.add_argument("--seed", type=int, default=0, help="base seed (0)")
    p.add_argument("--workers", type=int, help="worker processes (default: usable CPUs)")
    p.add_argument("--backend", default="process", help="serial, process (default) or ray")
    p.add_argument(
        "--db", type=Path, default=MainJobConfig.db, help=f"result database ({MainJobConfig.db})"
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report folder ({DEFAULT_OUT})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evaluation.main_job``: the same as ``hop-bench run``."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run the main job from parsed arguments; returns the exit code."""
    from evaluation.cli_common import UsageError, check_db_path

    try:
        check_db_path(args.db)
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
            planner_trials=args.planner_trials
            if args.planner_trials is not None
            else (FULL_TRIALS if args.full else PLANNER_TRIALS),
            planner_episodes=args.planner_episodes
            if args.planner_episodes is not None
            else (EPISODES if args.full else PLANNER_EPISODES),
            planner_scenarios="all" if args.full else args.planner_scenarios,
        )
        runs = plan_runs(config)
        if args.readme is not None:
            from evaluation.readme_blocks import check_block

            check_block(args.readme, README_BLOCK)
    except (ValueError, UsageError) as err:
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
            f"tables: {report.summary_csv}, {report.curves_csv}, {report.scores_csv}, "
            f"{report.trial_scores_csv}, {report.improvements_csv}, {report.json}"
        )
        print(
            f"plots:  {len(report.plots)} PNG curves and {len(report.aggregate_plots)} "
            f"aggregate figures in {report.markdown.parent / 'plots'}"
        )
        if args.readme is not None:
            update_readme(args.readme, report)
            print(f"readme: results written into {args.readme}")
    if result.failures:
        print(f"main job: {len(result.failures)} trial(s) failed:", file=sys.stderr)
        for line in failure_lines(result.failures):
            print(f"  - {line}", file=sys.stderr)
    return 1 if result.failures or report is None else 0


if __name__ == "__main__":
    sys.exit(main())
