"""Ship trained learners: copy a run's checkpoint into the package and document it.

    python -m baselines.sb3.shipping RUN_DIR [RUN_DIR ...] [--docs docs/baselines.md]

Each run folder (made by ``hop-bench train --agent <learner>``) gives
``baselines/checkpoints/<learner>/<EnvName-vN>/``: ``policy.json``, ``policy.safetensors``,
``log.csv``, ``run.json`` and ``curve.png``, and the social-influence learner's MOA
(``moa.json``, ``moa.safetensors``); the optimizers' states stay behind. The table
between ``<!-- shipped:start -->`` and ``<!-- shipped:end -->`` in the docs page is then
rewritten from every shipped checkpoint's own files, so its figures are never typed.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

from baselines.sb3.learners import LEARNERS
from baselines.sb3.shipped import SHIPPED_DIR, shipped_checkpoint

SHIPPED_FILES = ("policy.json", "policy.safetensors")
#: Shipped when the run has them (the social-influence learner's model of other agents).
MOA_FILES = ("moa.json", "moa.safetensors")
RUN_FILES = ("log.csv", "run.json", "curve.png")
START, END = "<!-- shipped:start -->", "<!-- shipped:end -->"


def ship(run_dir: Path) -> Path:
    """Copy the run's checkpoint and logs to the package; return the shipped folder."""
    run = json.loads((run_dir / "run.json").read_text())
    config = run["config"]
    target = shipped_checkpoint(config["learner"], config["env_id"])
    target.mkdir(parents=True, exist_ok=True)
    moa = LEARNERS[config["learner"]].influence
    for name in (*SHIPPED_FILES, *(MOA_FILES if moa else ())):
        shutil.copy2(run_dir / "policy" / name, target / name)
    for name in RUN_FILES:
        shutil.copy2(run_dir / name, target / name)
    return target


def command_of(config: dict) -> str:
    """The ``hop-bench train`` command that reproduces a run's configuration."""
    parts = [
        "hop-bench train",
        f"--agent {config['learner']}",
        f"--env {config['env_id']}",
        f"--steps {config['total_steps']}",
    ]
    recurrent = LEARNERS[config["learner"]].recurrent
    defaults = {
        "chunk_steps": 100_000,
        "num_envs": 16,
        "self_play_games": 0 if recurrent else 2,
        "seed": 0,
    }
    for key, default in defaults.items():
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
            run = json.loads((env_dir / "run.json").read_text())
            with open(env_dir / "log.csv", newline="") as f:
                rows = list(csv.DictReader(f))
            wall = sum(float(r["wall_s"]) for r in rows)
            first, last = rows[0], rows[-1]

            def cell(row: dict) -> str:
                text = f"{float(row['mean_return_vs_population']):.2f}"
                if row["mean_return_self_play"]:
                    text += f" ({float(row['mean_return_self_play']):.2f})"
                return text

            curve = (env_dir / "curve.png").relative_to(SHIPPED_DIR.parent.parent)
            lines.append(
                f"| `{learner_dir.name}` | {env_dir.name} | `{command_of(run['config'])}` | "
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
