"""``hop-bench train --agent lola|pr2``: the opponent-aware learners with trainers of their own.

    hop-bench train --agent lola|pr2 --env ID [--steps N] [--chunk-steps N] [--seed S]
                    [--num-envs N (pr2)] [--coplayer NAME ...] [--env-arg KEY=VALUE ...]
                    [--out DIR]
    hop-bench train --resume DIR [--steps N]

Both write the layout of the other learners' runs: ``DIR/run.json``, the checkpoint in
``DIR/policy/``, ``DIR/log.csv`` (one row per chunk) and ``DIR/curve.png``; a resumed run
reaches the same weights as an uninterrupted one. See ``docs/baselines.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from evaluation.cli_common import UsageError

#: The learners this module trains, and the ``format`` of their ``run.json``.
RUN_FORMATS = {"lola": "hop-bench-lola-run/1", "pr2": "hop-bench-pr2-grid-run/1"}
#: Options that do not apply to them.
NOT_FOR_THESE = ("self_play_games",)


def learner_of_run(directory: Path) -> str | None:
    """``"lola"`` or ``"pr2"`` when ``directory`` holds such a run, else None."""
    path = directory / "run.json"
    if not path.is_file():
        return None
    fmt = json.loads(path.read_text()).get("format")
    return next((name for name, f in RUN_FORMATS.items() if f == fmt), None)


def run_opponent_aware_train(args: argparse.Namespace) -> int:
    """Train (or resume) ``lola`` or ``pr2``; returns the exit code."""
    from baselines.sb3.training import plot_curve

    given = [o for o in NOT_FOR_THESE if getattr(args, o, None) is not None]
    if given:
        flags = ", ".join("--" + o.replace("_", "-") for o in given)
        raise UsageError(
            f"{flags}: not an option of lola or pr2 (they train against the population)"
        )
    if args.resume is not None:
        for value, flag in ((args.agent, "--agent"), (args.env, "--env"), (args.out, "--out")):
            if value is not None:
                raise UsageError(f"{flag} cannot be combined with --resume (the run's own is used)")
        learner = learner_of_run(args.resume)
        directory = args.resume
        others = [o for o in ("chunk_steps", "num_envs", "seed") if getattr(args, o) is not None]
        if others:
            raise UsageError(f"--resume {directory}: only --steps may change, not {others}")
        run = _resume(learner, directory, args.steps)
    else:
        learner = args.agent
        if args.env is None:
            raise UsageError("--env is required (e.g. --env hop/MarkovStagHunt-v0)")
        if args.num_envs is not None and learner == "lola":
            raise UsageError("--num-envs: lola plays whole batches of episodes, not vector envs")
        directory = args.out or Path("results") / "train" / (
            f"{learner}-{args.env.split('/', 1)[-1]}"
        )
        if (directory / "run.json").exists():
            raise UsageError(
                f"{directory} already holds a run; continue it with --resume {directory} "
                "or choose another --out"
            )
        try:
            run = _new(learner, args, directory)
        except ValueError as err:
            raise UsageError(str(err)) from None
    start = time.perf_counter()
    try:
        run.train(progress=not args.no_progress)
    except KeyboardInterrupt:
        print(
            f"hop-bench train: interrupted; the last checkpoint in {directory} is after chunk "
            f"{run.chunk}; continue with: hop-bench train --resume {directory}",
            file=sys.stderr,
        )
        return 130
    saved = json.loads((directory / "run.json").read_text())
    print(
        f"{learner} on {saved['config']['env_id']}: {saved['env_steps']} env steps, checkpoint "
        f"in {directory / 'policy'} ({time.perf_counter() - start:.0f} s)"
    )
    print(f"training curve written to {plot_curve(directory, args.plot, learner)}")
    return 0


def _new(learner: str, args: argparse.Namespace, directory: Path) -> Any:
    common: dict[str, Any] = {"env_id": args.env, "env_kwargs": dict(args.env_arg)}
    if args.seed is not None:
        common["seed"] = args.seed
    if args.coplayer:
        common["coplayers"] = tuple(args.coplayer)
    if learner == "pr2":
        from baselines.pr2.grid_training import PR2GridConfig, PR2GridTrainer

        for option in ("steps", "chunk_steps", "num_envs"):
            value = getattr(args, option)
            if value is not None:
                common["total_steps" if option == "steps" else option] = value
        return PR2GridTrainer(PR2GridConfig(**common), directory)
    from baselines.lola.grid_training import LOLAGridConfig
    from baselines.lola.run import LOLARun

    budget = {"total_steps": args.steps or 300_000}
    if args.chunk_steps is not None:
        budget["chunk_steps"] = args.chunk_steps
    return LOLARun(LOLAGridConfig(**common), directory, **budget)


def _resume(learner: str | None, directory: Path, steps: int | None) -> Any:
    if learner == "pr2":
        from baselines.pr2.grid_training import PR2GridTrainer

        trainer = PR2GridTrainer.resume(directory)
        if steps is not None and steps != trainer.config.total_steps:
            trainer.config = dataclasses.replace(trainer.config, total_steps=steps)
            trainer.save()
        return trainer
    if learner == "lola":
        from baselines.lola.run import LOLARun

        return LOLARun.resume(directory, steps)
    raise UsageError(f"--resume {directory}: not a lola or pr2 training run")
