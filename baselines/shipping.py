"""Ship trained learners: copy a run's checkpoint into the package and document it.

    python -m baselines.shipping RUN_DIR [RUN_DIR ...] [--docs docs/baselines.md]

Each run folder (made by ``hop-bench train --agent <learner>``) gives
``baselines/checkpoints/<learner>/<EnvName-vN>/``: the weights and their JSON from the run's
``policy/`` (:data:`POLICY_FILES`: the SB3 learners' ``policy.*`` and the social-influence
learner's MOA ``moa.*``, PR2's ``pr2.*``, LOLA's ``lola.json`` and ``weights.safetensors``),
and ``log.csv``, ``run.json`` and ``curve.png``; optimizer, replay and RNG states stay behind.
The table
between ``<!-- shipped:start -->`` and ``<!-- shipped:end -->`` in the docs page is then
rewritten from every shipped checkpoint's own files, so its figures are never typed.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

from baselines.chunked_run import POLICY_DIR, RUN_FILE
from baselines.shipped import SHIPPED_DIR, shipped_checkpoint

SHIPPED_FILES = ("policy.json", "policy.safetensors")
#: The social-influence learner's model of other agents, shipped beside its policy.
MOA_FILES = ("moa.json", "moa.safetensors")
#: The files of a run's ``policy/`` folder that ship, by learner (default: SHIPPED_FILES).
POLICY_FILES: dict[str, tuple[str, ...]] = {
    "social-influence": (*SHIPPED_FILES, *MOA_FILES),
    "pr2": ("pr2.json", "pr2.safetensors"),
    "lola": ("lola.json", "weights.safetensors"),
}
RUN_FILES = ("log.csv", RUN_FILE, "curve.png")
START, END = "<!-- shipped:start -->", "<!-- shipped:end -->"


def ship(run_dir: Path) -> Path:
    """Copy the run's checkpoint and logs to the package; return the shipped folder."""
    run = json.loads((run_dir / RUN_FILE).read_text())
    learner = learner_of(run)
    target = shipped_checkpoint(learner, run["config"]["env_id"])
    target.mkdir(parents=True, exist_ok=True)
    for name in POLICY_FILES.get(learner, SHIPPED_FILES):
        shutil.copy2(run_dir / POLICY_DIR / name, target / name)
    for name in RUN_FILES:
        shutil.copy2(run_dir / name, target / name)
    return target


def learner_of(run: dict) -> str:
    """The learner a run's ``run.json`` is of (PR2's config does not name it; its format does)."""
    from baselines.pr2.grid_training import RUN_FORMAT as PR2_RUN_FORMAT

    config = run["config"]
    if "learner" in config:
        return str(config["learner"])
    if run.get("format") == PR2_RUN_FORMAT:
        return "pr2"
    raise ValueError(f"run.json of format {run.get('format')!r} names no learner")


def option_defaults(learner: str, env_id: str) -> dict[str, object]:
    """The ``hop-bench train`` options of ``learner`` with their defaults, read off a default
    configuration of its trainer (so the table's commands follow any change of default)."""
    if learner == "lola":
        from baselines.lola.grid_training import LOLAGridConfig
        from baselines.lola.run import DEFAULT_CHUNK_STEPS

        return {"seed": LOLAGridConfig(env_id=env_id).seed, "chunk_steps": DEFAULT_CHUNK_STEPS}
    if learner == "pr2":
        from baselines.pr2.grid_training import PR2GridConfig

        config: object = PR2GridConfig(env_id=env_id)
        names: tuple[str, ...] = ("seed", "chunk_steps", "num_envs")
    else:
        from baselines.sb3.training import LearnerTrainConfig

        config = LearnerTrainConfig(learner, env_id)
        names = ("seed", "chunk_steps", "num_envs", "self_play_games")
    return {name: getattr(config, name) for name in names}


def command_of(config: dict, learner: str | None = None) -> str:
    """The ``hop-bench train`` command that reproduces a run's configuration."""
    learner = learner or config["learner"]
    parts = [
        "hop-bench train",
        f"--agent {learner}",
        f"--env {config['env_id']}",
        f"--steps {config['total_steps']}",
    ]
    for key, default in option_defaults(learner, config["env_id"]).items():
        if config.get(key) != default:
            parts.append(f"--{key.replace('_', '-')} {config[key]}")
    return " ".join(parts)


def table() -> str:
    """The Markdown table of every shipped checkpoint, from its own files."""
    lines = [
        "| learner | env | command | env steps | wall time | first / last chunk: mean return "
        "vs population (self-play) | curve |",
        "|---|---|---|---|---|---|---|",
    ]
    for learner_dir in sorted(p for p in SHIPPED_DIR.iterdir() if p.is_dir()):
        for env_dir in sorted(p for p in learner_dir.iterdir() if p.is_dir()):
            run = json.loads((env_dir / RUN_FILE).read_text())
            with open(env_dir / "log.csv", newline="") as f:
                rows = list(csv.DictReader(f))
            wall = sum(float(r["wall_s"]) for r in rows)
            first, last = rows[0], rows[-1]

            def cell(row: dict) -> str:
                text = f"{float(row['mean_return_vs_population']):.2f}"
                if row.get("mean_return_self_play"):
                    text += f" ({float(row['mean_return_self_play']):.2f})"
                return text

            curve = (env_dir / "curve.png").relative_to(SHIPPED_DIR.parent.parent)
            lines.append(
                f"| `{learner_dir.name}` | {env_dir.name} | "
                f"`{command_of(run['config'], learner_dir.name)}` | "
                f"{run['env_steps']:,} | {wall / 60:.0f} min | {cell(first)} → {cell(last)} | "
                f"[png](../{curve.as_posix()}) |"
            )
    return "\n".join(lines)


def rewrite_docs(path: Path) -> None:
    text = path.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{path}: no {START} ... {END} block to rewrite")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{table()}\n{END}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, help="training run folders to ship")
    parser.add_argument("--docs", type=Path, default=Path("docs/baselines.md"))
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        print(f"shipped {run_dir} -> {ship(run_dir)}")
    rewrite_docs(args.docs)
    print(f"rewrote the shipped table in {args.docs}")


if __name__ == "__main__":
    main()
