"""``hop-bench train --agent hop-plus``: train HOP+'s networks and save a checkpoint folder.

    hop-bench train --agent hop-plus --env ID [--goal-dim N] [--horizon H] [--selector S]
                    [--policy-condition latent|target_map]
                    [--no-prior-pretrain] [--pretrain-episodes N] [--prior-epochs N]
                    [--pretrain-subgoal-epochs N] [--focal-init hop|fresh] [--iterations N]
                    [--trials-per-iteration N] [--episodes-per-trial N] [--trees N]
                    [--simulations N] [--om-epochs N] [--focal-epochs N] [--coplayer NAME ...]
                    [--seed S] [--out DIR] [--plot PNG]
    hop-bench train --resume DIR [--iterations N]

The folder is what ``hop-plus`` loads (``--agent-arg weights=DIR``): ``focal/``,
``subgoal_model/``, ``prior_vae/``, plus ``training.json``, ``optimizers/`` and ``log.csv``
(see :mod:`agents.hop_plus.train`). Co-players must be of the training population.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evaluation.cli_common import UsageError, float_postfix, int_at_least, run_iterations

AGENT = "hop-plus"
#: Command-line option -> HopPlusTrainConfig field.
OPTIONS = {
    "seed": "seed",
    "iterations": "iterations",
    "trials_per_iteration": "trials_per_iteration",
    "episodes_per_trial": "episodes_per_trial",
    "trees": "num_trees",
    "simulations": "num_simulations",
    "pretrain_episodes": "prior_episodes",
    "prior_epochs": "prior_epochs",
    "pretrain_subgoal_epochs": "pretrain_subgoal_epochs",
    "om_epochs": "subgoal_epochs",
    "focal_epochs": "focal_epochs",
    "goal_dim": "goal_dim",
    "horizon": "horizon",
    "selector": "selector",
    "policy_condition": "policy_condition",
    "focal_init": "focal_init",
}
#: ``hop-bench train`` options that HOP+ does not take.
NOT_HOP_PLUS = (
    "pretrain_om_epochs",
    "pretrain_focal_epochs",
    "checkpoint_every",
    "holdout_episodes",
    "workers",
    "steps",
    "chunk_steps",
    "num_envs",
    "self_play_games",
)
PLOTTED = (("learner_return", "return"), ("hit_ratio", "hit ratio"), ("policy_nll", "NLL"))


def add_hop_plus_arguments(p: argparse.ArgumentParser) -> None:
    """The options only ``--agent hop-plus`` takes."""
    p.add_argument("--goal-dim", type=int_at_least(1), help="hop-plus: size of z (default 16)")
    p.add_argument("--horizon", type=int, help="hop-plus: hindsight horizon H (1, 3, 5, 10)")
    p.add_argument("--selector", help="hop-plus: reference, optimistic or conservative")
    p.add_argument(
        "--policy-condition",
        help="hop-plus: latent (z after the policy's trunk) or target_map (also a map channel)",
    )
    p.add_argument(
        "--no-prior-pretrain",
        action="store_true",
        help="hop-plus: no prior VAE pre-training (the KL target is N(0, I))",
    )
    p.add_argument("--prior-epochs", type=int_at_least(1), help="hop-plus: prior VAE epochs")
    p.add_argument(
        "--pretrain-subgoal-epochs",
        type=int_at_least(0),
        help="hop-plus: subgoal-model epochs on the offline episodes",
    )
    p.add_argument("--focal-init", help="hop-plus: hop (HOP's shipped focal net) or fresh")


def is_hop_plus_train(args: argparse.Namespace) -> bool:
    """Whether the command trains HOP+ (by name, or by resuming a HOP+ run)."""
    if args.agent is not None:
        return args.agent == AGENT
    if args.resume is None:
        return False
    from agents.hop_plus.train import is_hop_plus_run

    return is_hop_plus_run(args.resume)


def run_hop_plus_train(args: argparse.Namespace) -> int:
    """Train (or resume) HOP+; returns the exit code."""
    from agents.hop_plus.train import HopPlusTrainConfig, HopPlusTrainer

    given = [o for o in NOT_HOP_PLUS if getattr(args, o, None) is not None]
    if given:
        flags = ", ".join("--" + o.replace("_", "-") for o in given)
        raise UsageError(f"{flags}: not an option of --agent hop-plus")
    overrides = {f: getattr(args, o) for o, f in OPTIONS.items() if getattr(args, o) is not None}
    if args.no_prior_pretrain:
        overrides["pretrain_prior"] = False
    tensorboard = not args.no_tensorboard
    if args.resume is not None:
        for value, flag in ((args.agent, "--agent"), (args.env, "--env"), (args.out, "--out")):
            if value is not None:
                raise UsageError(f"{flag} cannot be combined with --resume (the run's own is used)")
        trainer = HopPlusTrainer.resume(args.resume, tensorboard=tensorboard)
        iterations = overrides.pop("iterations", None)
        changed = {k: v for k, v in overrides.items() if getattr(trainer.config, k) != v}
        if changed or args.coplayer or args.env_arg:
            raise UsageError(
                f"--resume {args.resume}: a resumed run keeps its configuration; only "
                f"--iterations may change (got {sorted(changed) or 'co-players/env args'})"
            )
        if iterations is not None:
            trainer.with_iterations(iterations)
        directory = args.resume
    else:
        if args.env is None:
            raise UsageError("--env is required (e.g. --env hop/MarkovStagHunt-v0)")
        if args.coplayer:
            overrides["population"] = tuple(args.coplayer)
        try:
            config = HopPlusTrainConfig(env_id=args.env, env_kwargs=dict(args.env_arg), **overrides)
        except ValueError as err:
            raise UsageError(str(err)) from None
        directory = args.out or Path("results") / "train" / (
            f"hop-plus-{config.env_id.split('/', 1)[1]}"
        )
        try:
            trainer = HopPlusTrainer.new(config, directory, tensorboard=tensorboard)
        except ValueError as err:
            if (Path(directory) / "training.json").exists():
                raise UsageError(f"{err}: --resume {directory}, or choose another --out") from None
            raise UsageError(str(err)) from None
    return _run(trainer, directory, args)


def _run(trainer: Any, directory: Path, args: argparse.Namespace) -> int:
    result = run_iterations(
        trainer.run,
        total=trainer.config.iterations + 1,
        done=trainer.iteration + 1,
        desc="hop-plus",
        no_progress=args.no_progress,
        postfix=lambda m: float_postfix(
            m, (("learner_return", "R"), ("hit_ratio", "hit"), ("policy_nll", "nll"))
        ),
        directory=directory,
        iteration=lambda: trainer.iteration,
    )
    if result is None:
        return 130
    final, elapsed = result
    print(
        f"hop-plus checkpoint at iteration {trainer.iteration} written to {directory} "
        f"({elapsed:.0f} s); use it with --agent-arg weights={directory}"
    )
    shown = ", ".join(
        f"{k}={v:.4g}" for k, v in final.items() if isinstance(v, float) and k != "wall_s"
    )
    if shown:
        print(f"last iteration: {shown}")
    if args.plot is not None:
        print(f"training curve written to {plot_run(directory, args.plot)}")
    return 0


def plot_run(directory: Path, out: Path) -> Path:
    """A PNG of a HOP+ run's ``log.csv``: the learner's return, the subgoal hit ratio and the
    co-player policy's NLL per iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agents.hop.training.log import LOG_FILE, read_log

    rows = read_log(directory / LOG_FILE)
    fig, axes = plt.subplots(1, len(PLOTTED), figsize=(4 * len(PLOTTED), 3))
    for ax, (key, label) in zip(axes, PLOTTED, strict=True):
        points = [(int(r["iteration"]), float(r[key])) for r in rows if r.get(key)]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o")
        ax.set_xlabel("iteration (0: pre-training)")
        ax.set_title(label)
    fig.suptitle(f"hop-plus training: {directory.name}")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
