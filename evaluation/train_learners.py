"""``hop-bench train --agent ppo|a2c|...|social-influence|lola|pr2``: train a learning baseline.

    hop-bench train --agent ppo --env ID [--steps N] [--chunk-steps N] [--num-envs N]
                    [--self-play-games N] [--coplayer NAME ...] [--seed S] [--out DIR]
    hop-bench train --resume DIR [--steps N]

The run folder holds ``run.json`` (configuration and progress), ``policy/`` (the checkpoint:
``policy.safetensors`` + ``policy.json``, and the optimizer state) and ``log.csv``; a curve
is drawn to ``curve.png`` (or ``--plot``). ``--resume DIR`` continues from the last chunk
and reaches the same weights as an uninterrupted run. See ``docs/baselines.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from evaluation.cli_common import UsageError, int_at_least
from evaluation.train_opponent_aware import (
    RUN_FORMATS,
    learner_of_run,
    run_opponent_aware_train,
)

#: The learners ``hop-bench train`` trains with this module (names of baselines.sb3.learners).
#: (``lola`` and ``pr2`` have trainers of their own: :mod:`evaluation.train_opponent_aware`.)
LEARNER_NAMES = ("ppo", "a2c", "prosocial-ppo", "recurrent-ppo", "social-influence", "lola", "pr2")

#: Options of this module -> LearnerTrainConfig fields.
LEARNER_OPTIONS = {
    "steps": "total_steps",
    "chunk_steps": "chunk_steps",
    "num_envs": "num_envs",
    "self_play_games": "self_play_games",
    "seed": "seed",
}

#: HOP-only options that a learner run refuses.
HOP_ONLY = (
    "iterations",
    "trials_per_iteration",
    "episodes_per_trial",
    "trees",
    "simulations",
    "pretrain_episodes",
    "pretrain_om_epochs",
    "pretrain_focal_epochs",
    "focal_epochs",
    "om_epochs",
    "checkpoint_every",
    "holdout_episodes",
)


def is_learner_run(args: argparse.Namespace) -> bool:
    """True when the command trains a learning baseline (by name, or a resumed learner run)."""
    if args.agent is not None:
        return args.agent in LEARNER_NAMES
    return args.resume is not None and (args.resume / "run.json").is_file()


def run_learner_train(args: argparse.Namespace) -> int:
    """Train (or resume) a learning baseline; returns the exit code."""
    from baselines.sb3.training import LearnerTrainConfig, LearnerTrainer, plot_curve

    given = [o for o in HOP_ONLY if getattr(args, o, None) is not None]
    if given:
        flags = ", ".join("--" + o.replace("_", "-") for o in given)
        raise UsageError(f"{flags}: HOP options; a learner run takes --steps, --num-envs, ...")
    if args.agent in RUN_FORMATS or (args.resume is not None and learner_of_run(args.resume)):
        return run_opponent_aware_train(args)
    overrides = {
        f: getattr(args, o) for o, f in LEARNER_OPTIONS.items() if getattr(args, o) is not None
    }
    if args.resume is not None:
        for value, flag in ((args.agent, "--agent"), (args.env, "--env"), (args.out, "--out")):
            if value is not None:
                raise UsageError(f"{flag} cannot be combined with --resume (the run's own is used)")
        trainer = LearnerTrainer.resume(args.resume)
        steps = overrides.pop("total_steps", None)
        changed = {k: v for k, v in overrides.items() if getattr(trainer.config, k) != v}
        if changed:
            raise UsageError(
                f"--resume {args.resume}: options {sorted(changed)} differ from the saved run; "
                "only --steps may change"
            )
        if steps is not None and steps != trainer.config.total_steps:
            config = dataclasses.replace(trainer.config, total_steps=steps)
            trainer.config = config
            trainer.save()  # the run's new target, also when nothing is left to train
        directory = args.resume
    else:
        if args.env is None:
            raise UsageError("--env is required (e.g. --env hop/MarkovStagHunt-v0)")
        if "self" in args.coplayer:
            raise UsageError(
                "--coplayer self: a learner's self-play is set with --self-play-games N"
            )
        try:
            config = LearnerTrainConfig(
                learner=args.agent,
                env_id=args.env,
                env_kwargs=dict(args.env_arg),
                coplayers=tuple(args.coplayer),
                **overrides,
            )
        except ValueError as err:
            raise UsageError(str(err)) from None
        directory = (
            args.out or Path("results") / "train" / f"{args.agent}-{config.env_id.split('/', 1)[1]}"
        )
        if (directory / "run.json").exists():
            raise UsageError(
                f"{directory} already holds a run; continue it with --resume {directory} "
                "or choose another --out"
            )
        trainer = LearnerTrainer(config, directory)
    start = time.perf_counter()
    try:
        trainer.train(progress=not args.no_progress)
    except KeyboardInterrupt:
        print(
            f"hop-bench train: interrupted; the last checkpoint in {directory} is after chunk "
            f"{trainer.chunk}; continue with: hop-bench train --resume {directory}",
            file=sys.stderr,
        )
        return 130
    elapsed = time.perf_counter() - start
    run = json.loads((directory / "run.json").read_text())
    print(
        f"{trainer.config.learner} on {trainer.config.env_id}: {run['env_steps']} env steps, "
        f"checkpoint in {directory / 'policy'} ({elapsed:.0f} s)"
    )
    curve = plot_curve(directory, args.plot)
    print(f"training curve written to {curve}")
    return 0


def add_learner_arguments(p: argparse.ArgumentParser) -> None:
    """The learner-only options of ``hop-bench train``."""
    p.add_argument("--steps", type=int_at_least(1), help="learners: total env steps")
    p.add_argument("--chunk-steps", type=int_at_least(1), help="learners: steps per checkpoint")
    p.add_argument("--num-envs", type=int_at_least(1), help="learners: focal-seat envs")
    p.add_argument(
        "--self-play-games", type=int_at_least(0), help="learners: self-play games (all seats)"
    )
