"""A LOLA-OM training run in a folder: what ``hop-bench train --agent lola`` makes and resumes.

The run trains a :class:`~baselines.lola.grid_training.LOLAGridTrainer` in chunks of about
``chunk_steps`` real env steps (whole iterations). After each chunk it writes

* ``DIR/policy/``: the trainer's checkpoint (``lola.json`` + ``weights.safetensors``, which
  :class:`baselines.lola.agent.LOLAGridAgent` loads, and the optimizers' and RNG state for
  resuming; nothing pickled),
* ``DIR/run.json``: the configuration, the target ``total_steps`` and the progress,
* a row of ``DIR/log.csv`` (env steps, episodes, mean return against the training population,
  wall time, env steps/s).

The trainer's whole state is saved at every chunk's end, so a resumed run goes on exactly as
the uninterrupted one (the chunk boundaries change nothing in its numbers).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.hop.training.log import TrainingLog
from baselines.chunked_run import POLICY_DIR, RUN_FILE, read_run, train_chunks
from baselines.lola.grid_training import LOLAGridConfig, LOLAGridTrainer

RUN_FORMAT = "hop-bench-lola-run/1"
#: Real env steps per chunk (checkpoint and log row) unless a run says otherwise.
DEFAULT_CHUNK_STEPS = 50_000
LOG_COLUMNS = (
    "chunk",
    "env_steps",
    "episodes",
    "mean_return_vs_population",
    "mean_model_accuracy",
    "wall_s",
    "env_steps_per_s",
)


class LOLARun:
    """A new run (``config``) or, with :meth:`resume`, the run saved in ``directory``."""

    def __init__(
        self,
        config: LOLAGridConfig,
        directory: str | Path,
        total_steps: int,
        chunk_steps: int = DEFAULT_CHUNK_STEPS,
    ) -> None:
        for name, value in (("total_steps", total_steps), ("chunk_steps", chunk_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LOLARun: {name} must be an integer >= 1, got {value!r}")
        self.config = config
        self.directory = Path(directory)
        self.total_steps = total_steps
        self.chunk_steps = chunk_steps
        self.trainer = LOLAGridTrainer(config)
        self.chunk = 0
        self.log = TrainingLog(
            self.directory, tensorboard=False, columns=LOG_COLUMNS, step_column="chunk"
        )

    @property
    def env_steps(self) -> int:
        return int(self.trainer.env_steps)

    def train(self, progress: bool = False, until_chunk: int | None = None) -> None:
        """Train chunks until ``total_steps`` (or ``until_chunk`` chunks in all)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        train_chunks(
            description=f"train lola {self.config.env_id}",
            total_steps=self.total_steps,
            done_steps=self.env_steps,
            progress=progress,
            more=lambda: (
                self.env_steps < self.total_steps
                and (until_chunk is None or self.chunk < until_chunk)
            ),
            train_chunk=self._train_chunk,
        )

    def _train_chunk(self, bar: Any) -> None:
        target = min((self.chunk + 1) * self.chunk_steps, self.total_steps)
        start, before = time.perf_counter(), self.env_steps
        rows, shown = [], before
        while self.env_steps < target:
            rows.append(self.trainer.iterate())
            if bar is not None:
                bar.update(self.env_steps - shown)
                shown = self.env_steps
        wall = time.perf_counter() - start
        self.chunk += 1
        self.save()
        accuracies = [r["model_accuracy"] for r in rows if "model_accuracy" in r]
        self.log.append(
            {
                "chunk": self.chunk,
                "env_steps": self.env_steps,
                "episodes": len(rows) * self.config.real_episodes,
                "mean_return_vs_population": round(
                    float(np.mean([r["mean_return"] for r in rows])), 4
                ),
                "mean_model_accuracy": round(float(np.mean(accuracies)), 4) if accuracies else "",
                "wall_s": round(wall, 2),
                "env_steps_per_s": round((self.env_steps - before) / max(wall, 1e-9), 1),
            }
        )

    def save(self) -> None:
        self.trainer.save(self.directory / POLICY_DIR)
        run = {
            "format": RUN_FORMAT,
            "config": {
                "learner": "lola",
                "total_steps": self.total_steps,
                "chunk_steps": self.chunk_steps,
                **self.config.to_json(),
            },
            "chunks_done": self.chunk,
            "env_steps": self.env_steps,
        }
        (self.directory / RUN_FILE).write_text(json.dumps(run, indent=2) + "\n")

    @classmethod
    def resume(cls, directory: str | Path, total_steps: int | None = None) -> LOLARun:
        """The run in ``directory`` at its last chunk (``total_steps``: a new target)."""
        directory = Path(directory)
        run = read_run(directory, "a LOLA training run", RUN_FORMAT)
        config = dict(run["config"])
        config.pop("learner", None)
        saved_total, chunk_steps = int(config.pop("total_steps")), int(config.pop("chunk_steps"))
        target = saved_total if total_steps is None else total_steps
        out = cls(LOLAGridConfig.from_json(config), directory, target, chunk_steps)
        out.trainer = LOLAGridTrainer.load(directory / POLICY_DIR)
        out.chunk = int(run["chunks_done"])
        out.log.truncate(out.chunk)
        if total_steps is not None:
            out.save()
        return out
