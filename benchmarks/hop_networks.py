"""Forward latency of HOP's networks on one CPU thread, at the batch sizes the planner uses.

For each game (default configs: 8x8 grid, 4 players) and each network (focal policy/value,
goal-conditioned opponent model, goal-free action model, default sizes), it prints the
median time of:

* ``net``: the forward pass alone on ready-made features (``torch.inference_mode``), as the
  median and the fastest block (the fastest is the better guide on a shared, loaded machine);
* ``features``: building the numpy features from ``GridState``s;
* ``compiled`` (focal net): the compiled pass
  (:class:`agents.hop.compiled_networks.CompiledFocalNet`) on the same features, with the
  masked softmax, at every batch size (the planner's evaluator uses it up to
  ``COMPILED_MAX_ROWS`` views and torch's pass above: where the two columns cross);
* ``adapter``: the full planner-facing call (``LearnedCoplayerPolicy.action_probs`` or
  ``NetworkEvaluator.evaluate``): features + forward + softmax + numpy.

and, per game, what the own-cell cache's fields of the goal-conditioned model cost (1 and
3 fields of every free cell, from random positions): computed incrementally
(``LearnedCoplayerPolicy.field_action_probs``, what the planner runs) and by the forward
pass on the spread-out states (the same answers up to float32 rounding).

``--conv-channels C,C`` and ``--hidden H`` time networks of other sizes (untrained; the
time does not depend on the weights), e.g. those of a checkpoint trained with the same
options of ``hop-bench train``.

Target: batch 20 well under 1 ms per forward pass. Run: ``python benchmarks/hop_networks.py
[--conv-channels 16,16] [--hidden 128]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from agents.hop.compiled_networks import CompiledFocalNet
from agents.hop.coplayer_cache import spread_over_cells
from agents.hop.features import FeatureBuilder
from agents.hop.interfaces import IDLE, PolicyQuery
from agents.hop.learned import LearnedCoplayerPolicy, NetworkEvaluator
from agents.hop.networks import KINDS, NetworkConfig, build_network
from evaluation.train_cli import channel_list
from hop_envs.core import (
    BatchedState,
    GridRules,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)

BATCHES = (1, 5, 20, 64)


def timings_us(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and fastest mean time per call of ``fn`` in microseconds, over ``repeats``
    blocks of 20 calls."""
    for _ in range(20):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(20):
            fn()
        times.append((time.perf_counter() - start) / 20)
    return statistics.median(times) * 1e6, min(times) * 1e6


def states_and_goals(rules: GridRules, count: int, rng: np.random.Generator):
    states, goals = [], []
    for _ in range(count):
        state = rules.reset(rng)
        states.append(state)
        # A goal a belief could hold (rules.goals): a prey kind, or a drift's cell or IDLE.
        options = rules.goals.belief_goals(state) or [IDLE]
        goals.append(int(options[int(rng.integers(len(options)))]))
    return states, goals


def bench_game(name: str, rules: GridRules, repeats: int, sizes: dict[str, object]) -> None:
    fb = FeatureBuilder(rules)
    rng = np.random.default_rng(0)
    print(f"\n{name}: {rules.num_players} players, {rules.height}x{rules.width} grid")
    print(
        f"{'network':>13} {'params':>8} {'batch':>5} {'net us':>8} {'net best':>8} "
        f"{'compiled us':>11} {'features us':>11} {'adapter us':>10}"
    )
    for kind in KINDS:
        net = build_network(NetworkConfig.for_rules(rules, kind, **sizes), seed=0).eval()
        params = sum(p.numel() for p in net.parameters())
        for batch in BATCHES:
            states, goals = states_and_goals(rules, batch, rng)
            players = [1] * batch
            g = goals if kind == "goal_om" else None
            features = fb.build(states, players, g)

            def forward(net=net, features=features) -> None:
                with torch.inference_mode():
                    net.run(features)

            net_us, net_best = timings_us(forward, repeats)
            feat_us, _ = timings_us(lambda s=states, p=players, g=g: fb.build(s, p, g), repeats)
            compiled = "-"
            if kind == "focal":
                fast = CompiledFocalNet(net, max_rows=batch)
                compiled_us, _ = timings_us(
                    lambda f=features, c=fast: c.evaluate(f.grids, f.times, f.masks), repeats
                )
                compiled = f"{compiled_us:.0f}"
                evaluator = NetworkEvaluator(net, rules)
                adapter_us, _ = timings_us(lambda s=states, e=evaluator: e.evaluate(s, 1), repeats)
            else:
                policy = LearnedCoplayerPolicy(net, rules)
                queries = [
                    PolicyQuery(s, 1, goal if kind == "goal_om" else None)
                    for s, goal in zip(states, goals, strict=True)
                ]
                adapter_us, _ = timings_us(lambda q=queries, p=policy: p.action_probs(q), repeats)
            print(
                f"{kind:>13} {params:>8} {batch:>5} {net_us:>8.0f} {net_best:>8.0f} "
                f"{compiled:>11} {feat_us:>11.0f} {adapter_us:>10.0f}"
            )
    bench_fields(rules, repeats, sizes)


def bench_fields(rules: GridRules, repeats: int, sizes: dict[str, object]) -> None:
    """The goal-conditioned model's own-cell fields, incrementally and by the forward pass."""
    policy = LearnedCoplayerPolicy(
        build_network(NetworkConfig.for_rules(rules, "goal_om", **sizes), seed=0).eval(), rules
    )
    rng = np.random.default_rng(1)
    for count in (1, 3):
        incremental_us, full_us, cells = time_fields(policy, rules, count, rng, repeats)
        print(
            f"goal_om fields: {count} x {cells} cells: incremental {incremental_us:.0f} us, "
            f"forward pass on the spread states {full_us:.0f} us"
        )


def time_fields(
    policy: LearnedCoplayerPolicy,
    rules: GridRules,
    count: int,
    rng: np.random.Generator,
    repeats: int,
) -> tuple[float, float, int]:
    """Median microseconds of ``count`` fields (random positions, seat 1) computed
    incrementally and by the forward pass, and the free cells of a field."""
    states, goals = states_and_goals(rules, count, rng)
    batch = BatchedState.stack(states)
    rows, seats = np.arange(count), np.ones(count, dtype=np.int64)
    goal_array = np.asarray(goals, dtype=np.int64)
    cells = np.flatnonzero(~batch.walls[0].reshape(-1))
    incremental_us, _ = timings_us(
        lambda: policy.field_action_probs(batch, rows, seats, goal_array, cells), repeats
    )
    spread, seat_rows = spread_over_cells(batch, rows, seats, cells)
    spread_rows, spread_goals = np.arange(seat_rows.size), np.repeat(goal_array, cells.size)
    full_us, _ = timings_us(
        lambda: policy.batch_action_probs(spread, spread_rows, seat_rows, spread_goals), repeats
    )
    return incremental_us, full_us, int(cells.size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed blocks per figure")
    parser.add_argument(
        "--conv-channels",
        type=channel_list,
        default=(16, 16),
        help="the convolutions' output channels (default 16,16)",
    )
    parser.add_argument("--hidden", type=int, default=128, help="hidden units (default 128)")
    args = parser.parse_args()
    sizes = {"conv_channels": args.conv_channels, "hidden": args.hidden}
    torch.set_num_threads(1)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}; conv channels "
        f"{','.join(map(str, args.conv_channels))}, hidden {args.hidden}"
    )
    bench_game("MarkovStagHunt-v0", StagHuntRules(StagHuntConfig()), args.repeats, sizes)
    bench_game("MarkovSnowdrift-v0", SnowdriftRules(SnowdriftConfig()), args.repeats, sizes)


if __name__ == "__main__":
    main()
