"""CPU milliseconds per ``hop`` decision of two revisions of the code, interleaved.

``hop_decision.py`` compares configurations of one revision. To see what a code change did
to the acting default's speed, this script checks the ``--base`` revision out into a
temporary git worktree, starts one worker process on it and one on the ``--new`` revision
(the working tree by default), and has them decide from the same positions in turns, one
decision each, the order alternating. The host's speed drifts by a quarter within minutes
here; taking turns per decision puts the drift on both sides alike, and the per-position
ratios pair each decision with its twin. Both workers are pinned to one core (where the
OS allows it), so a core slower than another weighs on both. Each worker runs on one
thread with its own revision's package and shipped weights, from uniform beliefs over the
game's goals, and warms up on two positions first.

Prints each side's median and total, the geometric mean of the per-position ratios
new/base with a 95% bootstrap interval, on how many positions the new side was faster, and
ends with ``hop_revision_ratio=<geometric mean>``.

    python benchmarks/hop_decision_revisions.py [--base HEAD~1] [--new REV] [--decisions 40]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]
ENVS = ("MarkovStagHunt-v0", "MarkovSnowdrift-v0")
READY = "ready"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="git revision to compare against")
    parser.add_argument("--new", default=None, help="git revision (default: the working tree)")
    parser.add_argument("--decisions", type=int, default=40, help="positions, one decision each")
    parser.add_argument("--env", default=ENVS[0], choices=ENVS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.decisions < 2:
        parser.error(f"--decisions must be at least 2, got {args.decisions}")
    if args.worker:
        return worker(args.env, args.decisions, args.seed)
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(checkout(args.base))
        new = ROOT if args.new is None else stack.enter_context(checkout(args.new))
        labels = (f"base {describe(args.base)}", f"new {describe(args.new)}")
        print(
            f"hop acting default on {args.env}: {args.decisions} positions (seed {args.seed}), "
            "one thread per worker, decisions taken in turns"
        )
        times = interleave([base, new], args)
    for label, side in zip(labels, times, strict=True):
        print(f"{label:<28} median {statistics.median(side):7.1f} ms, total {sum(side):8.0f} ms")
    logs = [math.log(b / a) for a, b in zip(*times, strict=True)]
    low, high = bootstrap_interval(logs, args.seed)
    ratio = math.exp(statistics.fmean(logs))
    faster = sum(x < 0 for x in logs)
    print(
        f"new / base per position: geometric mean {ratio:.3f} [95% CI {math.exp(low):.3f}, "
        f"{math.exp(high):.3f}]; new faster on {faster} of {len(logs)} positions"
    )
    print(f"hop_revision_ratio={ratio:.3f}")
    return 0


def describe(revision: str | None) -> str:
    """``revision`` with its short commit hash, or "working tree"."""
    if revision is None:
        return "working tree"
    sha = git("rev-parse", "--short", f"{revision}^{{commit}}")
    return revision if revision == sha else f"{revision} ({sha})"


def refuse(message: str) -> NoReturn:
    """Print ``message`` and exit with status 2 (bad input or a failed set-up)."""
    print(f"hop_decision_revisions: {message}", file=sys.stderr)
    raise SystemExit(2)


def git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if done.returncode != 0:
        refuse(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@contextlib.contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """A temporary worktree of ``revision``, removed on exit; a revision git does not know
    is refused with its name."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        refuse(f"{revision!r} is not a commit of the repository at {ROOT}")
    with tempfile.TemporaryDirectory(prefix="hop-revision-") as tmp:
        tree = Path(tmp) / "tree"
        git("worktree", "add", "--detach", "--quiet", str(tree), done.stdout.strip())
        try:
            yield tree
        finally:
            git("worktree", "remove", "--force", str(tree))


def interleave(trees: list[Path], args: argparse.Namespace) -> list[list[float]]:
    """Per tree, the CPU milliseconds of one decision from each position, the workers
    taking turns (the first to go alternates)."""
    workers = [start_worker(tree, args) for tree in trees]
    times: list[list[float]] = [[] for _ in trees]
    try:
        for i in range(args.decisions):
            order = range(len(workers)) if i % 2 == 0 else reversed(range(len(workers)))
            for k in order:
                times[k].append(ask(workers[k], i))
    finally:
        for w in workers:
            w.stdin.close()  # type: ignore[union-attr]
            w.wait(timeout=60)
    return times


def start_worker(tree: Path, args: argparse.Namespace) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--env", args.env]
    command += ["--decisions", str(args.decisions), "--seed", str(args.seed)]
    proc = subprocess.Popen(
        command,
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=same_core,
    )
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    if line != READY:
        proc.kill()
        refuse(f"the worker on {tree} did not start (it printed {line!r})")
    return proc


def same_core() -> None:
    """Run the worker on the lowest CPU this process may use: both workers share one
    core, so a core that is slower than another (a busy neighbour on the host) slows both
    sides alike."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def ask(proc: subprocess.Popen[str], index: int) -> float:
    proc.stdin.write(f"{index}\n")  # type: ignore[union-attr]
    proc.stdin.flush()  # type: ignore[union-attr]
    return float(proc.stdout.readline())  # type: ignore[union-attr]


def bootstrap_interval(logs: list[float], seed: int) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean of ``logs``."""
    import numpy as np
    from scipy.stats import bootstrap

    result = bootstrap(
        (np.asarray(logs),), np.mean, confidence_level=0.95, method="percentile", random_state=seed
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def worker(env_id: str, decisions: int, seed: int) -> int:
    """Decide from position ``i`` for every ``i`` read on stdin; print CPU milliseconds."""
    import time

    import numpy as np
    import torch

    import hop_envs
    from agents.base import SeatInfo
    from agents.hop.agent import HopAgent
    from agents.hop.goal_sampling import BeliefGoalSampler
    from agents.hop.interfaces import IDLE
    from hop_envs.core.positions import random_positions

    torch.set_num_threads(1)
    agent = HopAgent()
    agent.reset(seed=seed, seat=SeatInfo.of_env(hop_envs.make(env_id), f"hop/{env_id}", 0))
    rules = agent.rules
    states = random_positions(rules, decisions, seed)
    rng = np.random.default_rng(seed)

    def decide(state) -> float:
        goals = rules.goals.belief_goals(state)
        belief = {g: 1.0 / len(goals) for g in goals} if goals else {IDLE: 1.0}
        beliefs = {j: dict(belief) for j in range(1, rules.num_players) if state.active[j]}
        sampler = BeliefGoalSampler(rules, beliefs)
        start = time.process_time()
        agent.search_policy.clear()  # as the agent does before every decision
        policy, evaluator = agent.search_policy, agent.evaluator
        agent.planner.plan(state, 0, policy, evaluator, rng, goal_sampler=sampler)
        return (time.process_time() - start) * 1000.0

    for state in states[:2]:
        decide(state)
    print(READY, flush=True)
    for line in sys.stdin:
        print(f"{decide(states[int(line)]):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
