"""Training throughput of the learning baselines (env steps/s, updates included).

For each learner, a short run of ``--steps`` env steps with the default settings (16
focal-seat entries against the training population, 2 self-play games except for the
recurrent learner), once with the population entries on the batched core
(``BatchedFocalVecEnv``) and once with one ``FocalSeatEnv`` per entry in SB3's
``DummyVecEnv``; both sides in one run. The first chunk is a warm-up and is not counted.
Run: ``python benchmarks/learner_training.py``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from baselines.sb3.learners import LEARNERS
from baselines.sb3.training import LearnerTrainConfig, LearnerTrainer


def rate(name: str, env_id: str, steps: int, batched: bool) -> float:
    spec = LEARNERS[name]
    config = LearnerTrainConfig(
        name,
        env_id,
        total_steps=2 * steps,
        chunk_steps=steps,
        self_play_games=0 if spec.recurrent else 2,
        batched=batched,
    )
    with tempfile.TemporaryDirectory() as folder:
        trainer = LearnerTrainer(config, folder)
        trainer.train(progress=False, until_chunk=1)  # warm-up
        before, start = trainer.model.num_timesteps, time.perf_counter()
        trainer.train(progress=False)
        return (trainer.model.num_timesteps - before) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per measurement")
    parser.add_argument("--env", default="hop/MarkovStagHunt-v0")
    parser.add_argument("--learners", nargs="*", default=list(LEARNERS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    print(f"{args.env}, {args.steps} env steps per measurement, 1 torch thread")
    for name in args.learners:
        fast = rate(name, args.env, args.steps, batched=True)
        if LEARNERS[name].recurrent:
            print(
                f"{name}: learner_env_steps_per_s={fast:.0f} (trials of "
                f"{LEARNERS[name].episodes_per_trial} episodes: FocalSeatEnv only)"
            )
            continue
        slow = rate(name, args.env, args.steps, batched=False)
        print(
            f"{name}: learner_env_steps_per_s={fast:.0f} (batched core) vs {slow:.0f} "
            f"(one FocalSeatEnv per entry), {fast / slow:.2f}x"
        )


if __name__ == "__main__":
    main()
