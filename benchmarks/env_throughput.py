"""Joint steps per second of both envs: ParallelEnv API, raw core and batched core.

Actions are random legal actions (uniform over each player's action mask), drawn in a
vectorised way so the figure measures the env rather than the action sampler. Run on one
core: ``python benchmarks/env_throughput.py``. Targets (default stag hunt, this machine):
>= 20,000 joint steps/s through the ParallelEnv API, >= 1,000,000 env steps/s batched.

The full-cost batched figure (``batched_full_env_steps_per_s``) counts what a training loop
pays per step: random legal actions from the masks, ``step``, the auto-reset of the finished
entries (``reset_done``) and every seat's observation grid and mask (``observe``), with every
entry of the batch live on every step. It is printed beside the same loop with the old
scalar-loop reset (``reset_sequential`` of the finished entries) for comparison.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import hop_envs
from hop_envs.core import BatchedGame


def random_legal(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """One random legal action per row of ``masks`` (last axis = actions): the largest of
    uniform scores in [1, 2) on the legal actions, 0 on the others (float32 ties, about one
    in 10^7, go to the first)."""
    scores = rng.random(masks.shape, dtype=np.float32)
    scores += 1.0
    scores *= masks
    return scores.argmax(-1)


def parallel_api(env_id: str, seconds: float) -> float:
    env = hop_envs.make(env_id)
    rng = np.random.default_rng(0)
    observations, _ = env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            if not env.agents:
                observations, _ = env.reset()
            agents = env.agents
            masks = np.stack([observations[a]["action_mask"] for a in agents])
            actions = random_legal(rng, masks)
            observations, *_ = env.step(dict(zip(agents, actions.tolist(), strict=True)))
            steps += 1
    return steps / (time.perf_counter() - start)


def raw_core(env_id: str, seconds: float) -> float:
    rules = hop_envs.make(env_id).rules
    rng = np.random.default_rng(0)
    state = rules.reset(rng)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            if state.over:
                state = rules.reset(rng)
            rules.step(state, random_legal(rng, rules.action_masks(state)))
            steps += 1
    return steps / (time.perf_counter() - start)


def batched_core(env_id: str, seconds: float, batch: int) -> tuple[float, float]:
    """Env steps/s of the batched step (live entries counted), and the reset time per batch."""
    game = BatchedGame(hop_envs.make(env_id).rules)
    rng = np.random.default_rng(0)
    env_steps, step_time, reset_time, resets = 0, 0.0, 0.0, 0
    while step_time < seconds:
        t0 = time.perf_counter()
        state = game.reset(rng, batch)
        reset_time += time.perf_counter() - t0
        resets += 1
        t0 = time.perf_counter()
        while not state.over.all():
            live = int((~state.over).sum())
            game.step(state, random_legal(rng, game.action_masks(state)))
            env_steps += live
        step_time += time.perf_counter() - t0
    return env_steps / step_time, reset_time / resets


def batched_full(env_id: str, seconds: float, batch: int, sequential: bool) -> float:
    """Env steps/s of the batched loop with auto-reset and observations, every entry live;
    ``sequential`` re-draws the finished entries with the scalar-loop reset instead."""
    game = BatchedGame(hop_envs.make(env_id).rules)
    rng = np.random.default_rng(0)
    state = game.reset(rng, batch)
    _, masks = game.observe(state)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            game.step(state, random_legal(rng, masks))
            if sequential:
                rows = np.flatnonzero(state.over)
                if rows.size:
                    state.put(rows, game.reset_sequential(rng, rows.size))
            else:
                game.reset_done(state, rng)
            _, masks = game.observe(state)
            steps += 1
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--batch", type=int, default=1024, help="batched-core batch size")
    args = parser.parse_args()
    header = ("env", "ParallelEnv", "raw core", "batched core", "batch reset")
    units = ("", "joint steps/s", "joint steps/s", "env steps/s", "ms")
    for row in (header, units):
        print(f"{row[0]:<22} {row[1]:>14} {row[2]:>14} {row[3]:>16} {row[4]:>12}")
    for env_id in hop_envs.ENV_IDS:
        api = parallel_api(env_id, args.seconds)
        core = raw_core(env_id, args.seconds)
        batched, reset_s = batched_core(env_id, args.seconds, args.batch)
        print(f"{env_id:<22} {api:>14,.0f} {core:>14,.0f} {batched:>16,.0f} {reset_s * 1e3:>12.1f}")
    print(f"\nbatched with auto-reset and observation grids, batch {args.batch} (env steps/s):")
    for env_id in hop_envs.ENV_IDS:
        full = batched_full(env_id, args.seconds, args.batch, sequential=False)
        old = batched_full(env_id, args.seconds, args.batch, sequential=True)
        print(
            f"{env_id}: batched_full_env_steps_per_s={full:.0f} "
            f"(with the scalar-loop reset: {old:.0f}, {full / old:.1f}x)"
        )


if __name__ == "__main__":
    main()
