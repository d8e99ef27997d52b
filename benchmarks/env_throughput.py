"""Joint steps per second of both envs: ParallelEnv API, raw core and batched core.

Actions are random legal actions (uniform over each player's action mask), drawn in a
vectorised way so the figure measures the env rather than the action sampler. Run on one
core: ``python benchmarks/env_throughput.py``. Targets (default stag hunt, this machine):
>= 20,000 joint steps/s through the ParallelEnv API, >= 1,000,000 env steps/s batched, and
>= 2,000,000 env steps/s for the full-cost batched loop below.

The full-cost batched figure (``batched_full_env_steps_per_s``) counts what a training loop
pays per step: random legal actions from the masks, ``step``, the auto-reset of the finished
entries (``reset_done``) and every seat's observation grid and mask (``observe``), with every
entry of the batch live on every step. It is printed beside the same loop with the old
scalar-loop reset (``reset_sequential`` of the finished entries) for comparison.

The vector-env figure (``vec_env_steps_per_s``) is the SB3 ``VecEnv`` of one focal seat on
the batched core (:class:`baselines.vec_env.BatchedFocalVecEnv`, ``--vec-envs`` entries)
with rule-based co-players in every other seat, stepped through ``step_async``/``step_wait``
with random legal focal actions. Beside it, the same co-players play through the
ParallelEnv one env at a time as the evaluation runner plays them (``make_coplayer``,
``reset(seed=...)``, ``start_episode()``, ``act`` on each observation), the learner's
episode ending when the focal seat leaves, as in the vector env. Target: >= 10x.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import hop_envs
from hop_envs.core import BatchedGame

#: The (env, co-player in every other seat) pairs of the vector-env figure.
VEC_ENV_COPLAYERS = (("MarkovStagHunt-v0", "nearest-stag"), ("MarkovSnowdrift-v0", "cleaner"))


def random_legal(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """One random legal action per row of ``masks`` (last axis = actions, at most 8),
    uniform over the legal ones: the row's mask packed into one byte indexes a table of its
    legal actions, and one uniform number per row picks among them (so the sampler touches
    one byte per row, not one float per action)."""
    if masks.shape[-1] > 8:
        raise ValueError(f"random_legal: at most 8 actions, got masks of shape {masks.shape}")
    packed = masks.view(np.uint8) @ _BIT_VALUES[: masks.shape[-1]]  # the mask as one byte
    counts = _LEGAL_COUNT.take(packed)
    picks = (rng.random(packed.shape, dtype=np.float32) * counts).astype(np.int64)
    picks = np.minimum(picks, counts - 1)  # float rounding at the top edge
    return _LEGAL_ACTIONS.reshape(-1).take(packed.astype(np.int64) * 8 + picks)


def _legal_tables(width: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """For every byte ``b``: the actions whose bit is set (padded) and how many there are
    (at least 1, so an all-zero mask, which never occurs, cannot divide by zero)."""
    actions = np.zeros((256, width), dtype=np.int64)
    counts = np.ones(256, dtype=np.int64)
    for b in range(256):
        legal = [a for a in range(width) if b >> a & 1]
        actions[b, : len(legal)] = legal
        counts[b] = max(len(legal), 1)
    return actions, counts


_LEGAL_ACTIONS, _LEGAL_COUNT = _legal_tables()
_BIT_VALUES = (1 << np.arange(8)).astype(np.uint8)


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


def vec_env(env_id: str, coplayer: str, seconds: float, num_envs: int) -> float:
    """Focal env steps/s of :class:`BatchedFocalVecEnv` with ``coplayer`` in the other seats
    (random legal focal actions; SB3's ``step_async``/``step_wait``)."""
    from baselines.vec_env import BatchedFocalVecEnv

    env = BatchedFocalVecEnv(env_id=env_id, num_envs=num_envs, coplayers=coplayer, seed=0)
    rng = np.random.default_rng(0)
    env.reset()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            env.step_async(random_legal(rng, env.action_masks()))
            env.step_wait()
            steps += 1
    return steps * num_envs / (time.perf_counter() - start)


def coplayers_one_env(env_id: str, coplayer: str, seconds: float) -> float:
    """Focal env steps/s of the ParallelEnv, one env at a time, with scalar ``coplayer``s
    acting on their observations (seat 0 focal, random legal actions); the episode restarts
    when the focal seat leaves."""
    from hop_envs.coplayers import make_coplayer

    env = hop_envs.make(env_id)
    focal, *others = env.possible_agents
    players = {agent: make_coplayer(coplayer, env_id) for agent in others}
    for seed, player in enumerate(players.values()):
        player.reset(seed=seed)
    rng = np.random.default_rng(0)
    episode = 0
    observations, _ = env.reset(seed=episode)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            if focal not in env.agents:
                episode += 1
                observations, _ = env.reset(seed=episode)
                for player in players.values():
                    player.start_episode()
            actions = {a: players[a].act(observations[a]) for a in env.agents if a != focal}
            actions[focal] = int(random_legal(rng, observations[focal]["action_mask"]))
            observations, *_ = env.step(actions)
            steps += 1
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--batch", type=int, default=1024, help="batched-core batch size")
    parser.add_argument("--vec-envs", type=int, default=1024, help="vector-env entries")
    parser.add_argument(
        "--vec-env-only", action="store_true", help="only the vector-env comparison"
    )
    args = parser.parse_args()
    if args.vec_env_only:
        vec_env_section(args)
        return
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
    vec_env_section(args)


def vec_env_section(args: argparse.Namespace) -> None:
    """The vector env with rule-based co-players against the one-env-at-a-time loop."""
    print(
        f"\nvector env (BatchedFocalVecEnv, {args.vec_envs} entries) vs the ParallelEnv one "
        "env at a time, rule-based co-players (focal env steps/s):"
    )
    for env_id, coplayer in VEC_ENV_COPLAYERS:
        vec = vec_env(env_id, coplayer, args.seconds, args.vec_envs)
        one = coplayers_one_env(env_id, coplayer, args.seconds)
        print(
            f"{env_id} with {coplayer}: vec_env_steps_per_s={vec:.0f} "
            f"(one env at a time: {one:.0f}, {vec / one:.1f}x)"
        )


if __name__ == "__main__":
    main()
