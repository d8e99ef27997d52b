"""What every learner's training run shares: the chunk loop with its progress bar, and the
``run.json`` that a resumed run is read back from.

A run trains in chunks, each ending with a checkpoint and a row of ``log.csv`` (the trainers in
:mod:`baselines.sb3.training`, :mod:`baselines.pr2.grid_training` and
:mod:`baselines.lola.run`). One tqdm bar counts env steps across all the chunks of a call, and
starts where a resumed run left off.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUN_FILE, POLICY_DIR = "run.json", "policy"


def train_chunks(
    *,
    description: str,
    total_steps: int,
    done_steps: int,
    progress: bool,
    more: Callable[[], bool],
    train_chunk: Callable[[Any], None],
) -> None:
    """Call ``train_chunk(bar)`` while ``more()`` holds; ``bar`` is the tqdm bar over
    ``total_steps`` env steps (``None`` without ``progress``), closed however the loop ends."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=total_steps,
            initial=min(done_steps, total_steps),
            unit="step",
            desc=description,
        )
    try:
        while more():
            train_chunk(bar)
    finally:
        if bar is not None:
            bar.close()


def read_run(directory: str | Path, what: str, run_format: str | None = None) -> dict[str, Any]:
    """The ``run.json`` of the run in ``directory``, checked to be ``what`` (e.g. "a PR2
    training run") in ``run_format`` when one is given."""
    path = Path(directory) / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(f"cannot resume: {path} is missing (not {what})")
    run = json.loads(path.read_text())
    if run_format is not None and run.get("format") != run_format:
        raise ValueError(f"{path}: format must be {run_format!r}, got {run.get('format')!r}")
    return run


__all__ = ["POLICY_DIR", "RUN_FILE", "read_run", "train_chunks"]
