"""PR2 against independent learners on the differential game "max of two quadratics".

For each seed, one run of each learner (:mod:`baselines.pr2.differential`, default settings
but ``--steps``); one line per run with the final actions ``10 * tanh(mu_i)`` and their reward,
then the share of seeds on which each learner reached the global peak (both final actions
within 1.0 of 5) as ``pr2_global_share=<share>`` and ``independent_global_share=<share>``, and
the shares that settled on the local peak (both within 1.0 of -5).
``--steps`` sets the training steps and, unless ``--warmup`` is given, as many critic warm-up
steps. Run: ``python benchmarks/pr2_differential_game.py [--seeds 10] [--steps 1500]``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from baselines.pr2.differential import LEARNERS, DifferentialConfig, run


def main() -> None:
    defaults = DifferentialConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="runs per learner (seeds 0..N-1)")
    parser.add_argument(
        "--steps", type=int, default=defaults.train_steps, help="training steps per run"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="critic and opponent-model steps on the exploration data before the actors start "
        "(default: as many as --steps; the library default is 1500 of each)",
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    warmup = args.steps if args.warmup is None else args.warmup
    torch.set_num_threads(1)
    print(
        f"differential game, {args.seeds} seeds, {args.steps} training steps after "
        f"{defaults.explore_steps} uniform exploration steps and {warmup} "
        "critic warm-up steps, 1 torch thread"
    )
    reached = {learner: 0 for learner in LEARNERS}
    local = {learner: 0 for learner in LEARNERS}
    start = time.perf_counter()
    for seed in range(args.seeds):
        for learner in LEARNERS:
            config = DifferentialConfig(
                learner=learner, seed=seed, train_steps=args.steps, warmup_steps=warmup
            )
            result = run(config)
            reached[learner] += result.reached_global
            local[learner] += result.reached_local
            a1, a2 = result.actions
            print(
                f"seed={seed} learner={learner} a1={a1:+.2f} a2={a2:+.2f} "
                f"reward={result.reward:+.2f} global={result.reached_global} "
                f"local={result.reached_local}",
                flush=True,
            )
    print(f"wall_s={time.perf_counter() - start:.1f}")
    for learner in LEARNERS:
        print(f"{learner}_local_share={local[learner] / args.seeds:.3f}")
    for learner in LEARNERS:
        print(f"{learner}_global_share={reached[learner] / args.seeds:.3f}")


if __name__ == "__main__":
    main()
