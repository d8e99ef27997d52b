"""LOLA vs naive learners on the iterated prisoner's dilemma, exact values (AAMAS 2018).

For each seed, three pairs start from the same random logits (N(0, 1), the seed's draw)
and train for ``--steps`` simultaneous updates with exact gradients
(:mod:`baselines.lola.ipd`, the reference code's settings: gamma 0.96, alpha 1, eta 1):
LOLA vs LOLA, naive vs naive, LOLA (player 1) vs naive (player 2). Prints one line per
seed, then the summary: ``lola_vs_lola_reward_per_step=<mean>`` and
``naive_vs_naive_reward_per_step=<mean>`` (each the mean over seeds of the pair's mean
(1 - gamma) V at the end of training; -1 is mutual cooperation, -2 mutual defection), each
with its min, max and a 95% bootstrap interval over seeds on keys of their own, the mixed
pair's figures, and both symmetric pairs' mean final probability to cooperate by state
(each player's own view, averaged over players and seeds).

    python benchmarks/lola_ipd.py [--seeds 20] [--steps 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from baselines.lola.ipd import STATE_NAMES, IPDConfig, PairResult, run_pair

PAIRS: dict[str, tuple[str, str]] = {
    "lola_vs_lola": ("lola", "lola"),
    "naive_vs_naive": ("naive", "naive"),
    "lola_vs_naive": ("lola", "naive"),
}


def bootstrap_interval(values: np.ndarray, resamples: int = 10_000) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean over seeds (scipy, fixed seed)."""
    if np.ptp(values) == 0.0:  # every seed the same: the interval is that value
        return float(values[0]), float(values[0])
    result = stats.bootstrap(
        (values,), np.mean, n_resamples=resamples, method="percentile", random_state=0
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def summary(key: str, values: np.ndarray) -> None:
    """The ``key=<mean>`` line, then the spread on keys of its own."""
    low, high = bootstrap_interval(values)
    print(f"{key}={values.mean():.4f}")
    print(f"{key}_min={values.min():.4f}")
    print(f"{key}_max={values.max():.4f}")
    print(f"{key}_ci95_low={low:.4f}")
    print(f"{key}_ci95_high={high:.4f}")


def cooperation_line(name: str, results: list[PairResult]) -> None:
    """Mean final cooperation probability by state over seeds and both players."""
    probs = np.array([r.cooperation for r in results]).mean(axis=(0, 1))
    states = " ".join(f"{s}={p:.3f}" for s, p in zip(STATE_NAMES, probs, strict=True))
    print(f"{name}_cooperation_by_state {states}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0 .. N-1 (default 20)")
    parser.add_argument("--steps", type=int, default=200, help="updates per run (default 200)")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds={args.seeds}: expected at least 1")
    config = IPDConfig(steps=args.steps)
    print(
        f"config gamma={config.gamma} alpha={config.alpha} eta={config.eta} "
        f"steps={config.steps} init=N(0,{config.init_scale}^2) seeds=0..{args.seeds - 1}"
    )
    start = time.perf_counter()
    results: dict[str, list[PairResult]] = {name: [] for name in PAIRS}
    for seed in range(args.seeds):
        cells = []
        for name, learners in PAIRS.items():
            result = run_pair(learners, seed, config)
            results[name].append(result)
            r1, r2 = result.reward_per_step
            cells.append(f"{name}=({r1:.3f}, {r2:.3f})")
        print(f"seed {seed}: " + " ".join(cells))
    seconds = time.perf_counter() - start

    for name in ("lola_vs_lola", "naive_vs_naive"):
        pair_means = np.array([np.mean(r.reward_per_step) for r in results[name]])
        summary(f"{name}_reward_per_step", pair_means)
    mixed = np.array([r.reward_per_step for r in results["lola_vs_naive"]])
    print(f"lola_vs_naive_reward_per_step_lola={mixed[:, 0].mean():.4f}")
    print(f"lola_vs_naive_reward_per_step_naive={mixed[:, 1].mean():.4f}")
    cooperation_line("lola_vs_lola", results["lola_vs_lola"])
    cooperation_line("naive_vs_naive", results["naive_vs_naive"])
    print(f"seconds={seconds:.1f}")


if __name__ == "__main__":
    main()
