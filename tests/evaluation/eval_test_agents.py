"""Hand-written agents for the evaluation tests: they record every protocol call.

Named by ``module:Class`` path (``eval_test_agents:RecordingAgent``): pytest puts this folder
on ``sys.path``; subprocesses get it through ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

import numpy as np

from agents.base import BaseAgent, SeatInfo, Transition

STAY = 4

#: Every RecordingAgent made in this process, in creation order (cleared by a fixture).
INSTANCES: list[RecordingAgent] = []


class RecordingAgent(BaseAgent):
    """Logs every call; ``action`` fixes the action (stay if illegal), ``None`` draws a legal
    one with the agent's RNG, ``"greedy"`` takes the highest-numbered legal action (a hunt
    or remove when standing on prey)."""

    def __init__(self, action: int | str | None = None) -> None:
        super().__init__()
        self.action = action
        self.log: list[tuple[Any, ...]] = []
        self.episodes_remembered = 0
        self.last_action: int | None = None
        INSTANCES.append(self)

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        self.episodes_remembered = 0
        self.log.append(("reset", seed, seat))

    def start_episode(self) -> None:
        self.log.append(("start", self.episodes_remembered))

    def act(self, observation: Any) -> int:
        mask = np.asarray(observation["action_mask"])
        if self.action is None:
            choice = int(self.rng.choice(np.flatnonzero(mask)))
        elif self.action == "greedy":
            choice = int(np.flatnonzero(mask).max())
        else:
            choice = int(self.action) if mask[int(self.action)] else STAY
        self.last_action = choice
        self.log.append(("act", int(observation["step"]), choice))
        return choice

    def observe(self, transition: Transition) -> None:
        self.log.append(("observe", dict(transition.actions), self.last_action))

    def end_episode(self) -> None:
        self.episodes_remembered += 1
        self.log.append(("end", self.episodes_remembered))

    def calls(self) -> list[str]:
        return [entry[0] for entry in self.log]


class StayingRecorder(RecordingAgent):
    """A recording agent that always stays (it never leaves a stag-hunt episode)."""

    def __init__(self) -> None:
        super().__init__(action=STAY)


class PrivilegedAgent(RecordingAgent):
    """Asks for the co-players' names (like a reference oracle would)."""

    wants_privileged_info = True


class FailsInSnowdrift(BaseAgent):
    """Plays random legal actions in the stag hunt; raises on its 3rd act in the snowdrift."""

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        self.acts = 0

    def act(self, observation: Any) -> int:
        self.acts += 1
        if self.seat is not None and "Snowdrift" in self.seat.env_id and self.acts == 3:
            raise RuntimeError("deliberate failure for the test")
        return int(self.rng.choice(np.flatnonzero(observation["action_mask"])))


class SlowRandomAgent(BaseAgent):
    """Random legal actions, sleeping ``delay`` seconds per act so a run can be killed midway
    (the delay does not change any number, only the wall time). A test that starts a run in
    a subprocess sets the delay there with ``HOP_BENCH_TEST_AGENT_DELAY``."""

    delay: ClassVar[float] = float(os.environ.get("HOP_BENCH_TEST_AGENT_DELAY", "0.002"))

    def act(self, observation: Any) -> int:
        if self.delay:
            time.sleep(self.delay)
        return int(self.rng.choice(np.flatnonzero(observation["action_mask"])))
