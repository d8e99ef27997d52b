"""Where the time of the full-cost batched loop goes: per-phase timings and a cProfile.

The loop is ``batched_full`` of ``benchmarks/env_throughput.py`` (random legal actions from
the masks, ``step``, ``reset_done``, ``observe``; batch 1024, every entry live). The phases
are timed by thread CPU time, which on a shared machine is far steadier than wall time
(both rates are printed). Run:
``python benchmarks/batched_profile.py [--seconds 3] [--cprofile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import hop_envs
from hop_envs.core import BatchedGame


def random_legal(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """As in ``benchmarks/env_throughput.py``."""
    scores = rng.random(masks.shape, dtype=np.float32)
    scores += 1.0
    scores *= masks
    return scores.argmax(-1)


def phases(env_id: str, seconds: float, batch: int) -> dict[str, float]:
    """Microseconds per loop iteration spent in each phase of the loop, by thread CPU time
    (on a shared machine wall time also counts the waits for a core), and the env steps/s
    by CPU time and by wall time."""
    game = BatchedGame(hop_envs.make(env_id).rules)
    rng = np.random.default_rng(0)
    state = game.reset(rng, batch)
    _, masks = game.observe(state)
    for _ in range(100):  # to the steady state of episodes ending at different steps
        game.step(state, random_legal(rng, masks))
        game.reset_done(state, rng)
        _, masks = game.observe(state)
    spent = dict.fromkeys(("actions", "step", "reset_done", "observe"), 0.0)
    clock = time.thread_time
    iters, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            t0 = clock()
            actions = random_legal(rng, masks)
            t1 = clock()
            game.step(state, actions)
            t2 = clock()
            game.reset_done(state, rng)
            t3 = clock()
            _, masks = game.observe(state)
            t4 = clock()
            spent["actions"] += t1 - t0
            spent["step"] += t2 - t1
            spent["reset_done"] += t3 - t2
            spent["observe"] += t4 - t3
            iters += 1
    wall = time.perf_counter() - start
    out = {k: v / iters * 1e6 for k, v in spent.items()}
    out["total"] = sum(out.values())
    out["cpu_env_steps_per_s"] = batch / out["total"] * 1e6
    out["wall_env_steps_per_s"] = batch * iters / wall
    return out


def profile(env_id: str, seconds: float, batch: int) -> None:
    """cProfile of the loop, the top functions by internal time."""
    game = BatchedGame(hop_envs.make(env_id).rules)
    rng = np.random.default_rng(0)
    state = game.reset(rng, batch)
    _, masks = game.observe(state)
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    while time.perf_counter() - start < seconds:
        game.step(state, random_legal(rng, masks))
        game.reset_done(state, rng)
        _, masks = game.observe(state)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--cprofile", action="store_true", help="also print a cProfile")
    args = parser.parse_args()
    for env_id in hop_envs.ENV_IDS:
        p = phases(env_id, args.seconds, args.batch)
        cells = " ".join(f"{k}={v:.0f}us" for k, v in p.items() if "per_s" not in k)
        print(
            f"{env_id} (CPU time): {cells} -> {p['cpu_env_steps_per_s']:,.0f} env steps/s "
            f"(wall clock: {p['wall_env_steps_per_s']:,.0f})"
        )
        if args.cprofile:
            profile(env_id, args.seconds, args.batch)


if __name__ == "__main__":
    main()
