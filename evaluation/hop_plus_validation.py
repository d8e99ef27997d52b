"""``hop-bench hop-plus-validate``: choose HOP+'s search-iteration count on the training
population alone, by leaving one training co-player out.

    hop-bench hop-plus-validate [--env ID] [--iterations 0,5,10,20] [--baseline N]
                                [--trials N] [--episodes K] [--seed S]
                                [--train-arg KEY=VALUE ...] [--agent-arg KEY=VALUE ...]
                                [--workers W] [--runs DIR] [--db PATH] [--out MD]
                                [--no-progress]

For every co-player ``c`` of the env's training population (a *fold*) it trains HOP+ as
``hop-bench train --agent hop-plus`` does, on the training population **without** ``c``, into
``--runs``; when the run reaches each count of ``--iterations`` it keeps a copy of the
weights (``iteration-<k>/``). Each copy then plays ``hop-plus`` in the fold's validation
scenario, the training family's ``adapt-1v3-<c>`` (three ``c`` co-players, which that copy
never trained with), ``--trials`` x ``--episodes``, stored in ``--db``. Runs, copies and
episodes are reused when they exist, so an interrupted command goes on where it stopped.

For each count the table gives the interquartile mean of the per-trial normalized scores over
the folds (every fold a task) with its 95% stratified-bootstrap interval, each fold's mean, and
the probability that the count beats ``--baseline`` (default: the training default,
``HopPlusTrainConfig``'s ``iterations``; always evaluated) with its interval. The count with
the highest IQM is the validated choice; the table says whether it differs from the baseline
beyond noise. No held-out co-player or scenario is used anywhere. ``--train-arg`` overrides
other ``HopPlusTrainConfig`` fields (a smaller budget, say; the defaults are the shipped
runs'), ``--agent-arg`` the acting options of ``hop-plus`` in the evaluations.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from evaluation.cli_common import UsageError, add_key_values, check_db_path, int_at_least

HELP = "choose HOP+'s iteration count by leaving one training co-player out"
DEFAULT_ENV = "hop/MarkovStagHunt-v0"
DEFAULT_ITERATIONS = "0,5,10,20"
#: HopPlusTrainConfig fields this command sets itself (not through --train-arg).
SET_HERE = ("env_id", "population", "iterations", "seed")
COMMAND = "hop-bench hop-plus-validate"


@dataclass(frozen=True)
class CountScore:
    """One iteration count over the folds: IQM with its interval, each fold's mean
    normalized score, and P(count > baseline) with its interval (None for the baseline)."""

    iterations: int
    iqm: float
    low: float
    high: float
    fold_means: dict[str, float]
    p_vs_baseline: tuple[float, float, float] | None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default=DEFAULT_ENV, help=f"env id (default {DEFAULT_ENV})")
    p.add_argument(
        "--iterations",
        default=DEFAULT_ITERATIONS,
        help=f"iteration counts to compare (default {DEFAULT_ITERATIONS}; 0: pre-training only)",
    )
    p.add_argument(
        "--baseline",
        type=int_at_least(0),
        default=None,
        help="the count the others are compared with (default: the training default)",
    )
    p.add_argument("--trials", type=int_at_least(1), default=10, help="trials per fold")
    p.add_argument("--episodes", type=int_at_least(1), default=10, help="episodes per trial")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="seed of runs and trials")
    add_key_values(p, "--train-arg", "HopPlusTrainConfig field, e.g. prior_episodes=200")
    add_key_values(p, "--agent-arg", "hop-plus acting option, e.g. num_simulations=20")
    p.add_argument("--workers", type=int_at_least(1), default=None, help="evaluation processes")
    p.add_argument("--runs", type=Path, default=Path("results") / "hop-plus-validation")
    p.add_argument("--db", type=Path, default=Path("results") / "hop-plus-validation.sqlite")
    p.add_argument("--out", type=Path, default=None, help="table file (default: under --runs)")
    p.add_argument("--no-progress", action="store_true", help="no progress output")


def iteration_counts(text: str) -> tuple[int, ...]:
    """``"0,5,10"`` -> ``(0, 5, 10)``: distinct integers >= 0, sorted; ``UsageError`` else."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 0 for v in values) or len(set(values)) != len(values):
        raise UsageError(
            f"--iterations must be distinct comma-separated integers >= 0, got {text!r}"
        )
    return tuple(sorted(values))


def train_overrides(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``--train-arg`` pairs as HopPlusTrainConfig fields (``UsageError`` for unknown ones
    and for the fields this command sets)."""
    from agents.hop_plus.train import HopPlusTrainConfig

    known = {f.name for f in fields(HopPlusTrainConfig)}
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in SET_HERE:
            raise UsageError(f"--train-arg {key}: set by this command, not by --train-arg")
        if key not in known:
            raise UsageError(
                f"--train-arg {key}: not a HopPlusTrainConfig field; expected one of "
                f"{sorted(known - set(SET_HERE))}"
            )
        out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    """Train the folds, evaluate every kept count, write the table; returns the exit code."""
    from agents.hop_plus.train import HopPlusTrainConfig
    from evaluation.report.summary import env_name
    from hop_envs.coplayers import TRAINING, coplayer_names
    from hop_envs.registration import full_env_id

    env_id = full_env_id(args.env)
    counts = iteration_counts(args.iterations)
    overrides = train_overrides(args.train_arg)
    check_db_path(args.db)
    population = coplayer_names(env_id, population=TRAINING)
    if len(population) < 2:
        raise UsageError(
            f"{env_id}: its training population {population} has fewer than two co-players, "
            "so none can be left out"
        )
    baseline = args.baseline
    if baseline is None:
        baseline = HopPlusTrainConfig.__dataclass_fields__["iterations"].default
    if baseline not in counts:
        counts = tuple(sorted((*counts, baseline)))  # the comparison needs the baseline
    say = (lambda *a: None) if args.no_progress else (lambda *a: print(*a, flush=True))
    weights: dict[tuple[str, int], Path] = {}
    for left_out in population:
        others = tuple(c for c in population if c != left_out)
        try:
            config = HopPlusTrainConfig(
                env_id=env_id,
                seed=args.seed,
                population=others,
                iterations=max(counts),
                **overrides,
            )
        except (TypeError, ValueError) as err:
            raise UsageError(f"--train-arg: {err}") from None
        fold = args.runs / env_name(env_id) / f"without-{left_out}"
        for k, path in train_fold(config, fold, counts, say).items():
            weights[(left_out, k)] = path
    scores = evaluate_folds(env_id, population, counts, weights, args, say)
    if scores is None:
        return 1
    table = markdown(env_id, population, scores, baseline, args)
    out = args.out or args.runs / f"{env_name(env_id)}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print(table, end="")
    say(f"table written to {out}")
    return 0


def train_fold(config: Any, fold: Path, counts: tuple[int, ...], say: Any) -> dict[int, Path]:
    """Train ``config`` in ``fold/run`` up to every count of ``counts``, keeping a copy of the
    weights at each (``fold/iteration-<k>``); existing copies and runs are reused."""
    from agents.hop_plus.checkpoint import NETWORK_DIRS
    from agents.hop_plus.train import HopPlusTrainer, is_hop_plus_run

    run_dir = fold / "run"
    copies = {k: fold / f"iteration-{k}" for k in counts}
    missing = [k for k in counts if not copies[k].is_dir()]
    if not missing:
        return copies
    if is_hop_plus_run(run_dir):
        trainer = HopPlusTrainer.resume(run_dir, tensorboard=False)
        if replace(trainer.config, iterations=config.iterations) != config:
            raise UsageError(
                f"{run_dir} holds a run of another configuration ({trainer.config}); this "
                "command asks for a different one: use another --runs folder"
            )
    else:
        trainer = HopPlusTrainer.new(config, run_dir, tensorboard=False)
    for k in missing:
        if trainer.iteration > k:
            raise UsageError(
                f"{run_dir} is at iteration {trainer.iteration}, past {k}, and has no copy "
                f"{copies[k]}; delete {fold} to train the fold again"
            )
        if trainer.iteration < k:
            say(f"training {fold.name} to iteration {k}")
            trainer.with_iterations(k)
            trainer.run()
        partial = copies[k].with_name(copies[k].name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        for name in NETWORK_DIRS:
            shutil.copytree(run_dir / name, partial / name)
        partial.rename(copies[k])
    return copies


def validation_scenario(env_id: str, left_out: str) -> Any:
    """The training family's one-focal-seat scenario with ``left_out`` in every other seat."""
    from evaluation.scenario_types import coplayer_spec
    from evaluation.scenarios import training_scenarios

    found = [
        s
        for s in training_scenarios(env_id)
        if s.focal_seats == (0,)
        and s.background
        and all(tuple(coplayer_spec(e).label for e in seat) == (left_out,) for seat in s.background)
    ]
    if len(found) != 1:
        raise ValueError(
            f"{env_id}: expected one training scenario with {left_out!r} in every co-player seat, "
            f"found {[s.name for s in found]}"
        )
    return found[0]


def evaluate_folds(
    env_id: str,
    population: list[str],
    counts: tuple[int, ...],
    weights: dict[tuple[str, int], Path],
    args: argparse.Namespace,
    say: Any,
) -> dict[int, dict[str, list[float]]] | None:
    """Per count, per fold: the per-trial normalized scores of ``hop-plus`` with that fold's
    copy in the fold's validation scenario (None when an evaluation failed)."""
    from evaluation.evaluate import evaluate_stored
    from evaluation.jobs import AgentSpec
    from evaluation.report.summary import summarize
    from evaluation.store import ResultStore

    store = ResultStore(args.db)
    out: dict[int, dict[str, list[float]]] = {k: {} for k in counts}
    failed = False
    for left_out in population:
        scenario = validation_scenario(env_id, left_out)
        for k in counts:
            kwargs = {**dict(args.agent_arg), "weights": str(weights[(left_out, k)])}
            spec = AgentSpec("hop-plus", kwargs)
            say(f"evaluating iteration {k} of the fold without {left_out} in {scenario.name}")
            records = evaluate_stored(
                spec,
                [scenario],
                store,
                where="hop-plus-validate",
                seed=args.seed,
                trials=args.trials,
                episodes=args.episodes,
                workers=args.workers,
            )
            if records is None:
                failed = True
                continue
            trials = sorted(summarize(records).trial_scores, key=lambda t: t.trial)
            out[k][left_out] = [t.normalized for t in trials]
    return None if failed else out


def count_scores(
    scores: dict[int, dict[str, list[float]]], baseline: int, seed: int = 0
) -> list[CountScore]:
    """:class:`CountScore` of every count (folds are the tasks of the statistics)."""
    import numpy as np

    from evaluation.report.aggregate import (
        bootstrap_interval,
        probability_of_improvement_interval,
    )

    rows = []
    for k in sorted(scores):
        tasks = {fold: np.asarray(v, dtype=float) for fold, v in scores[k].items()}
        iqm = bootstrap_interval(tasks, seed=seed)
        p = None
        if k != baseline:
            base = {fold: np.asarray(v, dtype=float) for fold, v in scores[baseline].items()}
            pi = probability_of_improvement_interval(
                tasks, base, seed=seed, labels=(f"iteration {k}", f"iteration {baseline}")
            )
            p = (pi.point, pi.low, pi.high)
        means = {fold: float(np.mean(v)) for fold, v in tasks.items()}
        rows.append(CountScore(k, iqm.point, iqm.low, iqm.high, means, p))
    return rows


def verdict(row: CountScore, baseline: int) -> str:
    """How ``row`` compares with the baseline count: better, worse or within noise."""
    if row.p_vs_baseline is None:
        return "the baseline"
    _, low, high = row.p_vs_baseline
    if low > 0.5:
        return f"better than {baseline}"
    if high < 0.5:
        return f"worse than {baseline}"
    return "within noise"


def markdown(
    env_id: str,
    population: list[str],
    scores: dict[int, dict[str, list[float]]],
    baseline: int,
    args: argparse.Namespace,
) -> str:
    rows = count_scores(scores, baseline, args.seed)
    best = max(rows, key=lambda r: r.iqm)
    lines = [
        f"HOP+ iteration count validated on the training population of `{env_id}`: each fold "
        f"trains without one training co-player and plays three of it "
        f"({args.trials} trials x {args.episodes} episodes, seed {args.seed}). Generated by "
        f"`{COMMAND} --env {env_id}`.",
        "",
        "| iterations | IQM over folds [95% CI] | "
        + " | ".join(f"without `{c}`" for c in population)
        + f" | P(count > {baseline}) [95% CI] |",
        "|---|---|" + "---|" * len(population) + "---|",
    ]
    for r in rows:
        folds = " | ".join(f"{r.fold_means[c]:.2f}" for c in population)
        p = "" if r.p_vs_baseline is None else "{:.2f} [{:.2f}, {:.2f}]".format(*r.p_vs_baseline)
        p = f"{p}, {verdict(r, baseline)}" if p else verdict(r, baseline)
        iqm = f"{r.iqm:.2f} [{r.low:.2f}, {r.high:.2f}]"
        lines.append(f"| {r.iterations} | {iqm} | {folds} | {p} |")
    lines += [
        "",
        f"Highest IQM: {best.iterations} iterations ({verdict(best, baseline)}).",
    ]
    return "\n".join(lines) + "\n"
