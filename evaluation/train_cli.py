"""``hop-bench train``: train the HOP agent's networks and save a checkpoint folder.

    hop-bench train --agent hop --env ID [--env-arg KEY=VALUE ...] [--out DIR]
                    [--iterations N] [--trials-per-iteration N] [--episodes-per-trial N]
                    [--trees N] [--simulations N] [--coplayer NAME ...] [--seed S]
                    [--pretrain-episodes N] [--conv-channels C,C] [--hidden H]
                    [--workers W] [--plot PNG]
    hop-bench train --resume DIR [--iterations N] [--workers W]
    hop-bench train --agent hop-plus ...      (see evaluation.train_hop_plus)

The run writes ``DIR/training.json`` (configuration and counters), the networks and optimizer
states as ``safetensors``, and ``DIR/log.csv`` (one row per iteration; TensorBoard events in
``DIR/tensorboard`` when TensorBoard is installed). ``--resume DIR`` continues a run from its
last checkpoint; ``--iterations`` then names the total to reach. The numbers depend on the
seed and the options, never on ``--workers``. See ``docs/training.md``.

This module imports nothing heavy at import time (torch is imported when a run starts).
"""

from __future__ import annotations

import argparse
import functools
import os
from pathlib import Path
from typing import Any

from evaluation.cli_common import (
    UsageError,
    add_key_values,
    float_postfix,
    int_at_least,
    run_iterations,
)
from evaluation.train_hop_plus import (
    add_hop_plus_arguments,
    is_hop_plus_train,
    run_hop_plus_train,
)
from evaluation.train_learners import (
    LEARNER_NAMES,
    add_learner_arguments,
    is_learner_run,
    run_learner_train,
)

#: Agents that ``hop-bench train`` can train.
TRAINABLE_AGENTS = ("hop", "hop-plus", *LEARNER_NAMES)

#: Command-line option -> TrainConfig field, for the options that change the numbers.
CONFIG_OPTIONS: dict[str, str] = {
    "seed": "seed",
    "iterations": "iterations",
    "trials_per_iteration": "trials_per_iteration",
    "episodes_per_trial": "episodes_per_trial",
    "trees": "num_trees",
    "simulations": "num_simulations",
    "pretrain_episodes": "pretrain_episodes",
    "pretrain_om_epochs": "pretrain_om_epochs",
    "pretrain_focal_epochs": "pretrain_focal_epochs",
    "focal_epochs": "focal_epochs",
    "om_epochs": "om_epochs",
    "checkpoint_every": "checkpoint_every",
    "holdout_episodes": "holdout_episodes",
    "conv_channels": "conv_channels",
    "hidden": "hidden",
}
#: The network-size options, which only ``--agent hop`` takes.
SIZE_OPTIONS = ("conv_channels", "hidden")
HELP = "train HOP (focal network and opponent model) or a learning baseline; save a checkpoint"


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``hop-bench train``."""
    p.add_argument("--agent", help=f"agent to train: {', '.join(TRAINABLE_AGENTS)}")
    p.add_argument("--env", help="env id, e.g. hop/MarkovStagHunt-v0")
    add_key_values(p, "--env-arg", "env argument, e.g. grid_size=6")
    p.add_argument("--out", type=Path, help="checkpoint folder (default results/train/<env>)")
    p.add_argument("--resume", type=Path, metavar="DIR", help="continue the run saved in DIR")
    p.add_argument("--seed", type=int_at_least(0), help="seed of the run (default 0)")
    p.add_argument("--iterations", type=int_at_least(0), help="search iterations (total)")
    p.add_argument("--trials-per-iteration", type=int_at_least(1), help="trials per iteration")
    p.add_argument("--episodes-per-trial", type=int_at_least(1), help="episodes per trial")
    p.add_argument("--trees", type=int_at_least(1), help="search trees per decision")
    p.add_argument("--simulations", type=int_at_least(1), help="simulations per tree")
    p.add_argument(
        "--coplayer",
        action="append",
        default=[],
        help="training population: co-player name, or 'self' for self-play (repeatable; "
        "default: the env's rule-based co-players and self)",
    )
    p.add_argument("--pretrain-episodes", type=int_at_least(0), help="offline episodes")
    p.add_argument("--pretrain-om-epochs", type=int_at_least(0), help="opponent-model epochs")
    p.add_argument("--pretrain-focal-epochs", type=int_at_least(0), help="focal-net epochs")
    p.add_argument("--focal-epochs", type=int_at_least(1), help="focal epochs per iteration")
    p.add_argument("--om-epochs", type=int_at_least(1), help="OM epochs per iteration")
    p.add_argument("--checkpoint-every", type=int_at_least(1), help="iterations between saves")
    p.add_argument(
        "--holdout-episodes",
        type=int_at_least(0),
        help="held-out rule-based episodes scoring the opponent model (0: off)",
    )
    p.add_argument(
        "--conv-channels",
        type=channel_list,
        metavar="C,C",
        help="hop: output channels of the networks' 3x3 convolutions, one per layer "
        "(default 16,16)",
    )
    p.add_argument(
        "--hidden", type=int_at_least(1), help="hop: the networks' hidden units (default 128)"
    )
    p.add_argument("--workers", type=int_at_least(1), help="collection processes (default: CPUs)")
    p.add_argument("--plot", type=Path, metavar="PNG", help="plot the training curve here")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard events")
    add_learner_arguments(p)
    add_hop_plus_arguments(p)


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``train`` to an argparse sub-parser set; its handler is ``defaults['handler']``."""
    p = subparsers.add_parser("train", help=HELP, description=HELP)
    add_train_arguments(p)
    p.set_defaults(handler=run_train)
    return p


def channel_list(text: str) -> tuple[int, ...]:
    """An argparse ``type``: comma-separated integers >= 1 (``8,8``)."""
    try:
        channels = tuple(int(part) for part in text.split(","))
    except ValueError:
        channels = ()
    if not channels or min(channels) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers >= 1 such as 8,8, got {text!r}"
        )
    return channels


def _usage(message: str) -> Exception:
    return UsageError(message)


def _check_agent(name: str | None) -> None:
    import difflib

    if name is None:
        raise _usage("--agent is required (e.g. --agent hop) unless --resume is given")
    if name not in TRAINABLE_AGENTS:
        close = difflib.get_close_matches(name, TRAINABLE_AGENTS, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise _usage(
            f"cannot train agent {name!r}{hint} Trainable agents: {', '.join(TRAINABLE_AGENTS)}"
        )


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out = {
        field: getattr(args, option)
        for option, field in CONFIG_OPTIONS.items()
        if getattr(args, option) is not None
    }
    if args.coplayer:
        out["population"] = tuple(args.coplayer)
    return out


def run_train(args: argparse.Namespace) -> int:
    """Run ``hop-bench train``; returns the exit code."""
    sizes = [o for o in SIZE_OPTIONS if getattr(args, o, None) is not None]
    if sizes and (args.agent != "hop" or args.resume is not None):
        flags = ", ".join(f"--{o.replace('_', '-')}" for o in sizes)
        raise _usage(
            f"{flags}: options of a new --agent hop run (got --agent {args.agent!r}"
            + (f", --resume {args.resume}" if args.resume is not None else "")
            + ")"
        )
    if is_hop_plus_train(args):
        return run_hop_plus_train(args)
    hop_plus_only = (
        "goal_dim",
        "horizon",
        "selector",
        "policy_condition",
        "prior_epochs",
        "pretrain_subgoal_epochs",
    )
    given = [o for o in (*hop_plus_only, "focal_init") if getattr(args, o, None) is not None]
    if given or args.no_prior_pretrain:
        flags = [f"--{o.replace('_', '-')}" for o in given]
        flags += ["--no-prior-pretrain"] if args.no_prior_pretrain else []
        raise _usage(f"{', '.join(flags)}: options of --agent hop-plus only")
    if is_learner_run(args):
        return run_learner_train(args)
    for option in ("steps", "chunk_steps", "num_envs", "self_play_games"):
        if getattr(args, option) is not None:
            flag = "--" + option.replace("_", "-")
            raise _usage(
                f"{flag} is an option of the learning baselines ({', '.join(LEARNER_NAMES)})"
            )
    from agents.hop.training.config import TrainConfig
    from agents.hop.training.loop import Trainer

    workers = args.workers or os.cpu_count() or 1
    tensorboard = not args.no_tensorboard
    overrides = _overrides(args)
    if args.resume is not None:
        for given, name in ((args.agent, "--agent"), (args.env, "--env"), (args.out, "--out")):
            if given is not None:
                raise _usage(f"{name} cannot be combined with --resume (the run's own is used)")
        if args.env_arg:
            raise _usage("--env-arg cannot be combined with --resume (the run's own is used)")
        if not (args.resume / "training.json").is_file():
            raise _usage(f"--resume {args.resume}: no training.json there; not a checkpoint folder")
        trainer = Trainer.resume(args.resume, workers=workers, tensorboard=tensorboard)
        target = overrides.pop("iterations", trainer.config.iterations)
        changed = {k: v for k, v in overrides.items() if getattr(trainer.config, k) != v}
        if changed:
            raise _usage(
                f"--resume {args.resume}: options {sorted(changed)} differ from the saved run's "
                "configuration; a resumed run keeps its configuration (only --iterations, "
                "--workers and the display options may change)"
            )
        directory = args.resume
    else:
        _check_agent(args.agent)
        if args.env is None:
            raise _usage("--env is required (e.g. --env hop/MarkovStagHunt-v0)")
        config = TrainConfig(env_id=args.env, env_kwargs=dict(args.env_arg), **overrides)
        directory = args.out or Path("results") / "train" / config.env_id.split("/", 1)[1]
        if (directory / "training.json").exists():
            raise _usage(
                f"{directory} already holds a checkpoint; continue it with --resume {directory} "
                "or choose another --out"
            )
        trainer = Trainer.new(config, directory, workers=workers, tensorboard=tensorboard)
        target = config.iterations
    return _run(trainer, target, directory, args)


def _run(trainer: Any, target: int, directory: Path, args: argparse.Namespace) -> int:
    state = trainer.state

    def postfix(report: Any) -> dict[str, str]:
        m = report.metrics
        reward = m.get("learner_return")
        shown = {} if reward is None else {"reward": f"{reward:.2f}"}
        return shown | float_postfix(
            m, (("policy_loss", "pi"), ("value_loss", "v"), ("om_loss", "om"))
        )

    result = run_iterations(
        functools.partial(trainer.run, target),
        total=target + 1,
        done=(state.iteration + 1) if state.pretrained else 0,
        desc="train",
        no_progress=args.no_progress,
        postfix=postfix,
        directory=directory,
        iteration=lambda: trainer.state.iteration,
    )
    if result is None:
        return 130
    final, elapsed = result
    print(f"checkpoint at iteration {final.iteration} written to {directory} ({elapsed:.0f} s)")
    metrics = final.last_metrics
    shown = ", ".join(
        f"{k}={v:.4g}"
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and k != "iteration"
    )
    if shown:
        print(f"last iteration: {shown}")
    if args.plot is not None:
        from agents.hop.training.log import LOG_FILE, plot_log

        title = f"hop-bench train: {trainer.config.env_id}"
        print(f"training curve written to {plot_log(directory / LOG_FILE, args.plot, title)}")
    return 0
