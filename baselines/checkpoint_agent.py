"""What every trained learning baseline does as an agent: find its checkpoint, sample from it.

A learner plays with fixed weights loaded from a checkpoint folder: ``checkpoint=DIR``, or by
default the one shipped for the seat's env (:mod:`baselines.shipped`). It samples its actions
with its own seeded RNG (so one seed reproduces a trial), or takes the most likely one with
``deterministic=True``. As a co-player it belongs to the ``learned`` population. Importing
this module imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from agents.base import BaseAgent, SeatInfo
from baselines.shipped import shipped_checkpoint
from hop_envs.coplayers import LEARNED, SNOWDRIFT_ID, STAG_HUNT_ID
from hop_envs.registration import full_env_id


@dataclass(frozen=True)
class TrainedOn:
    """What a loaded checkpoint was trained on, as its JSON records it."""

    env_id: str
    env_kwargs: Mapping[str, Any]
    observation_shape: tuple[int, ...]
    num_actions: int
    #: ``None`` when the network fits any player count.
    num_players: int | None = None


class CheckpointAgent(BaseAgent):
    """Base of the learners' agents. ``torch_threads`` is applied with
    ``torch.set_num_threads`` at ``reset`` (one observation per call: extra intra-op threads
    only add synchronisation, and evaluation runs seats and workers side by side); ``None``
    leaves torch alone.

    ``reset`` loads the seat's checkpoint once per folder (:meth:`_load`, the subclass's) and
    checks that it fits the seat's game (:meth:`_trained_on`)."""

    learner_name: ClassVar[str]
    #: As a co-player: a learned one (public, not held-out; see ``coplayer_population``).
    population: ClassVar[str] = LEARNED
    supported_envs: ClassVar[tuple[str, ...]] = (STAG_HUNT_ID, SNOWDRIFT_ID)

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        deterministic: bool = False,
        torch_threads: int | None = 1,
    ) -> None:
        super().__init__()
        if torch_threads is not None and (
            isinstance(torch_threads, bool)
            or not isinstance(torch_threads, int)
            or torch_threads < 1
        ):
            raise ValueError(
                f"{type(self).__name__}: torch_threads must be None or an integer >= 1, "
                f"got {torch_threads!r}"
            )
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.deterministic = bool(deterministic)
        self.torch_threads = torch_threads
        self._loaded_from: Path | None = None

    @property
    def name(self) -> str:
        return self.learner_name

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        folder = self.checkpoint_folder(seat)
        assert seat is not None
        if folder != self._loaded_from:
            self._load(folder)
            self._loaded_from = folder
        self._check_fit(seat)

    def _load(self, folder: Path) -> None:
        """Load the checkpoint in ``folder`` (torch is imported here, on first use)."""
        raise NotImplementedError

    def _trained_on(self) -> TrainedOn:
        """The loaded checkpoint's game and sizes."""
        raise NotImplementedError

    def _check_fit(self, seat: SeatInfo) -> None:
        """Refuse a checkpoint trained for another game or other sizes than ``seat``'s."""
        trained, where = self._trained_on(), self._loaded_from
        if full_env_id(trained.env_id) != full_env_id(seat.env_id):
            raise ValueError(
                f"{where}: trained for {trained.env_id}, but the seat is in {seat.env_id}"
            )
        shape = tuple(seat.observation_space["observation"].shape)
        players = seat.num_players if trained.num_players is None else trained.num_players
        if (
            shape != tuple(trained.observation_shape)
            or seat.action_space.n != trained.num_actions
            or seat.num_players != players
        ):
            raise ValueError(
                f"{where}: trained on observations {tuple(trained.observation_shape)}, "
                f"{trained.num_actions} actions and {players} players, but the seat has "
                f"{shape}, {seat.action_space.n} and {seat.num_players} (env arguments "
                f"{dict(seat.env_kwargs)}; trained with {dict(trained.env_kwargs)})"
            )

    @classmethod
    def fingerprint_paths(cls, env_id: str, kwargs: Mapping[str, Any]) -> list[Path]:
        """The checkpoint these arguments load (the shipped one by default), so that stored
        results are keyed by the weights' bytes."""
        checkpoint = kwargs.get("checkpoint")
        folder = Path(checkpoint) if checkpoint else shipped_checkpoint(cls.learner_name, env_id)
        return [folder] if folder.exists() else []

    def checkpoint_folder(self, seat: SeatInfo | None) -> Path:
        """The folder to load for ``seat`` (its run's ``policy/`` when given a run folder);
        sets torch's threads. Clear errors for a missing seat or shipped checkpoint."""
        if seat is None:
            raise ValueError(
                f"{type(self).__name__}.reset: needs seat=SeatInfo(...) to know which env's "
                "checkpoint to load"
            )
        folder = self.checkpoint or shipped_checkpoint(self.learner_name, seat.env_id)
        if self.checkpoint is None and not folder.is_dir():
            raise FileNotFoundError(
                f"{self.learner_name!r}: no shipped checkpoint for {seat.env_id} (looked in "
                f"{folder}); train one with `hop-bench train --agent {self.learner_name} --env "
                f"{seat.env_id}` and pass checkpoint=DIR"
            )
        if self.torch_threads is not None:
            import torch

            torch.set_num_threads(self.torch_threads)
        return folder / "policy" if (folder / "policy").is_dir() else folder

    def sample(self, probs: np.ndarray) -> int:
        """An action drawn from ``probs`` with the agent's RNG (the most likely one when
        ``deterministic``)."""
        if self.deterministic:
            return int(probs.argmax())
        cumulative = np.cumsum(probs)
        draw = self.rng.random() * cumulative[-1]
        return int(min(np.searchsorted(cumulative, draw, side="right"), probs.size - 1))
