"""``hop-bench hop-plus-ablation``: HOP+ over subgoal size x trees x prior pre-training.

    hop-bench hop-plus-ablation [--env ID] [--goal-dims 64,16,4,2] [--trees 1,5]
                                [--iterations N] [--pretrain-episodes N]
                                [--pretrain-subgoal-epochs N] [--trials N]
                                [--episodes K] [--seed S]
                                [--hit-episodes N] [--timing-decisions N] [--workers W]
                                [--runs DIR] [--db PATH] [--out MD] [--readme PATH]
                                [--no-progress]

For every ``goal_dim`` and prior pre-training on/off it trains a HOP+ checkpoint on the
**training population** (``hop-bench train --agent hop-plus`` with ``--iterations`` search
iterations, into ``--runs``; a finished run is reused, an unfinished one resumed), then for
every tree count it evaluates ``hop-plus`` with that checkpoint on the env's **held-out**
scenarios (``--trials`` x ``--episodes``, stored in ``--db``, resumable) next to the shipped
``hop`` on the same scenarios and budget. Each row reports:

* the IQM of the per-trial normalized scores over the held-out scenarios with its 95%
  stratified-bootstrap interval (:mod:`evaluation.report.aggregate`);
* the subgoal hit ratio and the co-player policy's NLL of the checkpoint's subgoal model on
  ``--hit-episodes`` episodes played by held-out rule-based co-players in every seat (the
  model is only evaluated there: nothing trains on them);
* the median CPU milliseconds per decision (one thread) from ``--timing-decisions`` positions
  of the env, all configurations timed in this one run.

The table is written to ``--out`` and, with ``--readme``, between the README's
``<!-- hop-plus-ablation:start -->`` and ``<!-- hop-plus-ablation:end -->`` markers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.cli_common import UsageError, int_at_least

HELP = "HOP+ ablation: goal_dim x trees x prior pre-training on the held-out scenarios"
START, END = "<!-- hop-plus-ablation:start -->", "<!-- hop-plus-ablation:end -->"
DEFAULT_ENV = "hop/MarkovStagHunt-v0"
COMMAND = "hop-bench hop-plus-ablation --readme README.md"


@dataclass(frozen=True)
class Variant:
    """One trained checkpoint (``goal_dim``, prior pre-training) played with ``trees``."""

    goal_dim: int
    prior: bool
    trees: int

    @property
    def run_name(self) -> str:
        return f"d{self.goal_dim}-prior-{'on' if self.prior else 'off'}"


@dataclass(frozen=True)
class Row:
    label: str
    iqm: float | None
    low: float | None
    high: float | None
    trials: int
    hit_ratio: float | None
    policy_nll: float | None
    ms: float


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default=DEFAULT_ENV, help=f"env id (default {DEFAULT_ENV})")
    p.add_argument("--goal-dims", default="64,16,4,2", help="subgoal sizes (default 64,16,4,2)")
    p.add_argument("--trees", default="1,5", help="tree counts (default 1,5)")
    p.add_argument("--iterations", type=int_at_least(0), default=5, help="search iterations")
    p.add_argument(
        "--pretrain-episodes", type=int_at_least(1), default=200, help="offline episodes"
    )
    p.add_argument(
        "--pretrain-subgoal-epochs",
        type=int_at_least(0),
        default=20,
        help="subgoal-model passes over the offline episodes",
    )
    p.add_argument("--trials", type=int_at_least(1), default=4, help="trials per scenario")
    p.add_argument("--episodes", type=int_at_least(1), default=4, help="episodes per trial")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="seed of runs and trials")
    p.add_argument("--hit-episodes", type=int_at_least(1), default=40, help="held-out episodes")
    p.add_argument("--timing-decisions", type=int_at_least(1), default=10, help="timed positions")
    p.add_argument("--workers", type=int_at_least(1), default=None, help="evaluation processes")
    p.add_argument("--runs", type=Path, default=Path("results") / "hop-plus-ablation")
    p.add_argument("--db", type=Path, default=Path("results") / "hop-plus-ablation.sqlite")
    p.add_argument("--out", type=Path, default=Path("docs") / "results" / "hop_plus_ablation.md")
    p.add_argument("--readme", type=Path, default=None, help="also write the table here")
    p.add_argument("--no-progress", action="store_true", help="no progress output")


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(v < 1 for v in values):
        raise UsageError(f"{flag} must be comma-separated integers >= 1, got {text!r}")
    return values


def run(args: argparse.Namespace) -> int:
    """Train, evaluate, time and write the table; returns the exit code."""
    from hop_envs.registration import full_env_id

    env_id = full_env_id(args.env)
    dims = _ints(args.goal_dims, "--goal-dims")
    trees = _ints(args.trees, "--trees")
    say = (lambda *a: None) if args.no_progress else (lambda *a: print(*a, flush=True))
    if args.readme is not None:
        _check_markers(args.readme)
    variants = [Variant(d, p, t) for d in dims for p in (True, False) for t in trees]
    runs = {}
    for v in variants:
        if v.run_name not in runs:
            runs[v.run_name] = _train(env_id, v, args, say)
    quality = {name: _held_out_model_scores(env_id, path, args) for name, path in runs.items()}
    timing = _timings(env_id, variants, runs, args)
    rows = _evaluate(env_id, variants, runs, quality, timing, args, say)
    if rows is None:
        return 1
    table = _markdown(env_id, rows, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    say(f"table written to {args.out}")
    if args.readme is not None:
        _update_readme(args.readme, table)
        say(f"table copied into {args.readme}")
    return 0


def _train(env_id: str, v: Variant, args: argparse.Namespace, say: Any) -> Path:
    from agents.hop_plus.train import HopPlusTrainConfig, HopPlusTrainer, is_hop_plus_run
    from evaluation.report.summary import env_name

    directory = args.runs / env_name(env_id) / v.run_name
    if is_hop_plus_run(directory):
        trainer = HopPlusTrainer.resume(directory, tensorboard=False)
        trainer.with_iterations(args.iterations)
    else:
        config = HopPlusTrainConfig(
            env_id=env_id,
            seed=args.seed,
            goal_dim=v.goal_dim,
            pretrain_prior=v.prior,
            iterations=args.iterations,
            prior_episodes=args.pretrain_episodes,
            pretrain_subgoal_epochs=args.pretrain_subgoal_epochs,
        )
        trainer = HopPlusTrainer.new(config, directory, tensorboard=False)
    if trainer.iteration < trainer.config.iterations:
        start = time.perf_counter()
        say(f"training {v.run_name} to iteration {args.iterations} in {directory}")
        trainer.run()
        say(f"  done ({time.perf_counter() - start:.0f} s)")
    return directory


def _held_out_model_scores(
    env_id: str, path: Path, args: argparse.Namespace
) -> tuple[float, float]:
    """Hit ratio and policy NLL of ``path``'s subgoal model on held-out episodes."""
    import hop_envs
    from agents.hop.action_model_training import collect_rule_based_episodes
    from agents.hop_plus.agent import load_networks
    from agents.hop_plus.training import SubgoalTrainer
    from hop_envs.coplayers import HELD_OUT, coplayer_names

    _, model, prior = load_networks(path)
    population = tuple(coplayer_names(env_id, population=HELD_OUT))
    buffer = collect_rule_based_episodes(env_id, {}, args.hit_episodes, args.seed, population)
    rules = hop_envs.make(env_id).unwrapped.rules
    evaluator = SubgoalTrainer(model, prior, rules)
    stats = evaluator.evaluate(evaluator.sequences(buffer))
    return stats.hit_ratio, stats.policy_nll


def _timings(
    env_id: str, variants: list[Variant], runs: dict[str, Path], args: argparse.Namespace
) -> dict[Variant, float]:
    """Median CPU ms per decision of each variant, and of ``hop`` (key None)."""
    import numpy as np
    import torch

    import hop_envs
    from agents.base import SeatInfo
    from agents.hop.agent import HopAgent
    from agents.hop.goal_sampling import BeliefGoalSampler
    from agents.hop_plus.agent import HopPlusAgent
    from hop_envs.core.positions import random_positions

    torch.set_num_threads(1)
    env = hop_envs.make(env_id)
    rules = env.unwrapped.rules
    states = random_positions(rules, args.timing_decisions, args.seed)
    seat = SeatInfo.of_env(env, env_id, 0)
    out: dict[Any, float] = {}
    for v in variants:
        agent = HopPlusAgent(weights=str(runs[v.run_name]), num_trees=v.trees)
        agent.reset(seed=args.seed, seat=seat)
        rng = np.random.default_rng(args.seed)
        times = []
        for state in states:
            agent.inference.start_episode()
            start = time.process_time()
            agent.decider.plan_from(state, rng)
            times.append((time.process_time() - start) * 1000.0)
        out[v] = statistics.median(times)
    hop = HopAgent()
    hop.reset(seed=args.seed, seat=seat)
    rng = np.random.default_rng(args.seed)
    times = []
    for state in states:
        hop.beliefs.start_episode(state)
        start = time.process_time()
        goals = [hop.beliefs.sample_orderings(rng) for _ in range(hop.planner.config.num_trees)]
        sampler = BeliefGoalSampler(rules, hop.beliefs.weights())
        hop.search_policy.clear()
        hop.planner.plan(
            state, 0, hop.search_policy, hop.evaluator, rng, goal_sampler=sampler, goals=goals
        )
        times.append((time.process_time() - start) * 1000.0)
    out[None] = statistics.median(times)
    return out


def _evaluate(
    env_id: str,
    variants: list[Variant],
    runs: dict[str, Path],
    quality: dict[str, tuple[float, float]],
    timing: dict[Any, float],
    args: argparse.Namespace,
    say: Any,
) -> list[Row] | None:
    from evaluation.evaluate import evaluate_stored
    from evaluation.jobs import AgentSpec
    from evaluation.report.summary import population_of, summarize
    from evaluation.scenarios import all_scenarios
    from evaluation.store import ResultStore

    scenarios = [
        s
        for s in all_scenarios(env_id)
        if len(s.focal_seats) == 1 and population_of(s.name) == "held-out"
    ]
    store = ResultStore(args.db)
    specs: list[tuple[str, AgentSpec, Variant | None]] = [("hop (shipped)", AgentSpec("hop"), None)]
    for v in variants:
        kwargs = {"weights": str(runs[v.run_name]), "num_trees": v.trees}
        label = f"hop-plus, goal_dim {v.goal_dim}, prior {'on' if v.prior else 'off'}, "
        specs.append(
            (
                label + f"{v.trees} tree{'s' if v.trees > 1 else ''}",
                AgentSpec("hop-plus", kwargs),
                v,
            )
        )
    rows: list[Row] = []
    failed = False
    for label, spec, v in specs:
        say(f"evaluating {label} on {len(scenarios)} held-out scenarios")
        records = evaluate_stored(
            spec,
            scenarios,
            store,
            where=f"hop-plus-ablation: {label}",
            seed=args.seed,
            trials=args.trials,
            episodes=args.episodes,
            workers=args.workers,
        )
        if records is None:
            failed = True
            continue
        summary = summarize(records)
        score = next(
            (s for s in summary.scores if s.family == "held-out" and s.agent == spec.label), None
        )
        hit, nll = quality[v.run_name] if v is not None else (None, None)
        rows.append(
            Row(
                label,
                None if score is None else score.normalized,
                None if score is None else score.low,
                None if score is None else score.high,
                0 if score is None else score.trials,
                hit,
                nll,
                timing[v],
            )
        )
    return None if failed else rows


def _fmt(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _markdown(env_id: str, rows: list[Row], args: argparse.Namespace) -> str:
    lines = [
        f"HOP+ ablation on the held-out scenarios of `{env_id}` ({args.trials} trials x "
        f"{args.episodes} episodes per scenario, seed {args.seed}; checkpoints trained on the "
        f"training population for {args.iterations} search iterations each). Generated by "
        f"`{COMMAND}`.",
        "",
        "| agent | held-out IQM [95% CI] | trials | hit ratio (held-out) | policy NLL (held-out) "
        "| ms / decision |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ci = f"{_fmt(r.iqm)} [{_fmt(r.low)}, {_fmt(r.high)}]"
        lines.append(
            f"| {r.label} | {ci} | {r.trials} | {_fmt(r.hit_ratio, 3)} | "
            f"{_fmt(r.policy_nll, 3)} | {r.ms:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _check_markers(readme: Path) -> str:
    """``readme``'s text; ``UsageError`` unless it holds both markers (checked before any
    training, so a long run cannot end on a missing marker)."""
    text = readme.read_text() if readme.is_file() else ""
    if START not in text or END not in text:
        raise UsageError(f"{readme} has no {START} ... {END} markers to write the table between")
    return text


def _update_readme(readme: Path, table: str) -> None:
    text = _check_markers(readme)
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table}{END}{tail}")
