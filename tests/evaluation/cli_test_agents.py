"""Agents whose construction or reset fails like a bad argument or checkpoint would, for the
command-line tests (named by ``module:Class`` path; pytest puts this folder on ``sys.path``)."""

from __future__ import annotations

from typing import Any

from agents.base import BaseAgent, SeatInfo

#: (env id, seat) of every reset of a CheckpointAgent in this process.
RESETS: list[tuple[str, int]] = []


class CheckpointAgent(BaseAgent):
    """Loads a "checkpoint" in ``reset``: a missing one raises ``FileNotFoundError`` in the
    snowdrift only (so a stag-hunt scenario alone would run)."""

    def __init__(self, checkpoint: str = "ok") -> None:
        super().__init__()
        self.checkpoint = checkpoint

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        assert seat is not None
        RESETS.append((seat.env_id, seat.seat))
        if "Snowdrift" in seat.env_id and self.checkpoint != "ok":
            raise FileNotFoundError(f"no checkpoint at {self.checkpoint}")

    def act(self, observation: Any) -> int:
        return 4


class Broken(BaseAgent):
    """Fails with an error that is nobody's input (an internal error)."""

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        raise KeyError("internal bookkeeping")

    def act(self, observation: Any) -> int:
        return 4
