"""Hindsight goal labels of co-players, recorded from the agent's own view.

What a goal is belongs to the game: ``rules.goals`` (a :class:`~hop_envs.core.GoalSpace`,
:mod:`hop_envs.core.goals`) enumerates the goals, converts a step's env event into the goal
achieved in it and labels a co-player's steps in hindsight. This module only records the
episode and asks it. Labels (DESIGN §3.1, §3.2, §7; :mod:`agents.hop.interfaces`), the same
rule in both games: every step is labelled with the goal the co-player achieves next, at or
after that step, and :data:`~agents.hop.interfaces.IDLE` after its last achievement.

* stag hunt: the prey kind a co-player ends up capturing, on every step up to and including
  the capture (it then leaves). A co-player whose episode ended without a capture is
  labelled :data:`~agents.hop.interfaces.IDLE` on every step, a trained goal as in the
  snowdrift.
* snowdrift: at each step, the flat cell of the next drift the co-player removes (the step of
  the removal included), then :data:`~agents.hop.interfaces.IDLE` after its last removal.

The agent sees only its own observations and the joint :class:`~agents.base.Transition`\\ s,
so :class:`EpisodeRecorder` rebuilds the states with ``rules.state_from_observation`` (the
games are fully observable) and reads the events from the transitions' infos (the key is
``rules.goals.event_key``). The runner shows every player every joint step to the end of the
episode, also after it has left the game, so every co-player's outcome is known. A
co-player still in the game when a recording stops early (a caller that stops feeding
transitions) is **censored**: what it would still have achieved is unknown, so it gets **no
labels** (its steps train the goal-free action model only) and the inter-episode prior
skips it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.base import Observation, Transition
from agents.hop.goal_sampling import goal_exists
from agents.hop.interfaces import IDLE, Goal
from hop_envs.core import STAY, GoalSpace, GridRules, GridState

__all__ = [
    "CoplayerOutcome",
    "CoplayerSteps",
    "EpisodeRecorder",
    "RecordedEpisode",
    "executed_actions",
    "goal_exists",
    "goal_space",
]


def goal_space(rules: GridRules, state: GridState) -> list[Goal]:
    """The goals a belief over a co-player ranges over in ``state``
    (``rules.goals.belief_goals``): stag hunt, the prey kinds with at least one live prey
    (ascending); snowdrift, the live drifts' cells (ascending) and ``IDLE``."""
    return rules.goals.belief_goals(state)


def executed_actions(
    rules: GridRules, state: GridState, actions: Mapping[int, int]
) -> dict[int, int]:
    """``actions`` (seat -> action) as the env ran them in ``state``: an in-range action the
    mask forbids runs as stay (DESIGN §3.4), so models learn and infer from what happened."""
    masks = rules.action_masks(state)
    out = {}
    for seat, action in actions.items():
        a = int(action)
        if not 0 <= a < rules.num_actions:
            raise ValueError(
                f"action of seat {seat} must be in [0, {rules.num_actions - 1}], got {action!r}"
            )
        out[seat] = a if masks[seat, a] else STAY
    return out


@dataclass(frozen=True)
class CoplayerOutcome:
    """What a co-player did in one episode (the input of the inter-episode prior).

    ``achieved``: the goals it achieved, in order (``rules.goals.achieved``: stag hunt, the
    prey kind it captured, if any; snowdrift, the cells of the drifts it removed).
    ``pursuing_steps``: its steps labelled with a goal other than IDLE. ``censored``: the
    recording stopped before its episode ended (outcome unknown).
    """

    seat: int
    steps: int
    achieved: tuple[Goal, ...]
    pursuing_steps: int
    censored: bool

    @property
    def achievements(self) -> int:
        """How many goals it achieved (stag hunt: captures, 0 or 1; snowdrift: removals)."""
        return len(self.achieved)

    @property
    def pursuing_fraction(self) -> float:
        """Share of its steps spent pursuing a goal (0 for an episode without steps)."""
        return self.pursuing_steps / self.steps if self.steps else 0.0


@dataclass(frozen=True)
class CoplayerSteps:
    """One co-player's steps in a recorded episode: ``states[step_index[k]]`` is the state it
    acted in, ``actions[k]`` what it did (as executed), ``labels[k]`` its hindsight goal
    (``labels`` is None when it has no label, see the module docstring)."""

    seat: int
    step_index: np.ndarray
    actions: np.ndarray
    labels: np.ndarray | None
    outcome: CoplayerOutcome

    def __len__(self) -> int:
        return int(self.step_index.shape[0])


@dataclass(frozen=True)
class RecordedEpisode:
    """The states before each recorded step and every co-player's labelled steps."""

    focal_seat: int
    states: tuple[GridState, ...]
    coplayers: Mapping[int, CoplayerSteps]


class EpisodeRecorder:
    """Rebuilds an episode from the agent's view and labels the co-players in hindsight.

    Use: ``begin(observation)`` with the agent's first observation of the episode, then
    ``record(transition)`` after every joint step it observes, then ``finish()``. Between
    calls, :attr:`state` is the current state (what the agent sees now), so an agent can
    update beliefs with ``state`` before and after a ``record``.
    """

    def __init__(self, rules: GridRules, focal_seat: int) -> None:
        if not isinstance(getattr(rules, "goals", None), GoalSpace):
            raise TypeError(
                f"EpisodeRecorder: no hindsight goals for rules of type {type(rules).__name__};"
                " expected rules with a goal space (rules.goals, a hop_envs.core.GoalSpace)"
            )
        n = rules.num_players
        if isinstance(focal_seat, bool) or not isinstance(focal_seat, int | np.integer):
            raise ValueError(f"EpisodeRecorder: focal_seat must be an integer, got {focal_seat!r}")
        if not 0 <= focal_seat < n:
            raise ValueError(
                f"EpisodeRecorder: focal_seat must be in [0, {n - 1}], got {focal_seat}"
            )
        self.rules = rules
        self.focal_seat = int(focal_seat)
        self._seat_of = {f"player_{i}": i for i in range(n)}
        self.goals = rules.goals
        self._state: GridState | None = None
        self._states: list[GridState] = []
        self._steps: dict[int, list[tuple[int, int, Goal | None]]] = {}
        self._ended: set[int] = set()
        self._begun = False

    @property
    def state(self) -> GridState | None:
        """The current state (None before :meth:`begin` and once nobody is left to show it)."""
        return self._state

    def begin(self, observation: Observation) -> GridState:
        """Start a new episode from the focal agent's own observation."""
        self._states, self._steps, self._ended = [], {}, set()
        self._state = self._rebuild(observation, self.focal_seat)
        self._begun = True
        return self._state

    def record(self, transition: Transition) -> GridState | None:
        """Add one joint step: the co-players' actions and events, and the next state."""
        if not self._begun:
            raise RuntimeError("EpisodeRecorder.record: call begin(observation) first")
        state = self._state
        if state is None:
            raise RuntimeError("EpisodeRecorder.record: the recorded episode is already over")
        actions = {self._seat(agent): int(a) for agent, a in transition.actions.items()}
        executed = executed_actions(self.rules, state, actions)
        index = len(self._states)
        self._states.append(state)
        for agent in transition.actions:
            seat = self._seat(agent)
            if seat == self.focal_seat:
                continue
            info = transition.infos.get(agent)
            if info is None:
                raise ValueError(f"EpisodeRecorder.record: transition has no infos for {agent!r}")
            event = self._event(agent, info)
            self._steps.setdefault(seat, []).append((index, executed[seat], event))
            if transition.terminations.get(agent, False) or transition.truncations.get(
                agent, False
            ):
                self._ended.add(seat)
        self._state = self._next_state(transition)
        return self._state

    def finish(self) -> RecordedEpisode:
        """The recorded episode with every co-player's labels and outcome."""
        if not self._begun:
            raise RuntimeError("EpisodeRecorder.finish: call begin(observation) first")
        coplayers = {}
        for seat, steps in sorted(self._steps.items()):
            index = np.asarray([s[0] for s in steps], dtype=np.int64)
            actions = np.asarray([s[1] for s in steps], dtype=np.int64)
            events = [s[2] for s in steps]
            censored = seat not in self._ended
            labels = self.goals.labels(events, ended=not censored)
            achieved = self.goals.achieved(events)
            pursuing = 0 if labels is None else int((labels != IDLE).sum())
            outcome = CoplayerOutcome(seat, len(steps), achieved, pursuing, censored)
            coplayers[seat] = CoplayerSteps(seat, index, actions, labels, outcome)
        self._begun = False
        return RecordedEpisode(self.focal_seat, tuple(self._states), coplayers)

    # -- helpers ---------------------------------------------------------------------------
    def _seat(self, agent: str) -> int:
        seat = self._seat_of.get(agent)
        if seat is None:
            raise ValueError(
                f"EpisodeRecorder: unknown agent {agent!r}; agents are {list(self._seat_of)}"
            )
        return seat

    def _event(self, agent: str, info: Mapping[str, Any]) -> Goal | None:
        """The goal ``agent`` achieved in this step (None: none), from its event info."""
        key = self.goals.event_key
        if key not in info:
            raise ValueError(
                f"EpisodeRecorder: infos[{agent!r}] has no {key!r} event; got keys {sorted(info)}"
            )
        return self.goals.event_goal(info[key])

    def _rebuild(self, observation: Observation, seat: int) -> GridState:
        try:
            grid, step = observation["observation"], observation["step"]
        except (KeyError, TypeError):
            raise ValueError(
                "EpisodeRecorder: an observation must be a mapping with 'observation' and "
                f"'step', got {type(observation).__name__}"
            ) from None
        return self.rules.state_from_observation(np.asarray(grid), seat, int(step))

    def _next_state(self, transition: Transition) -> GridState | None:
        focal_agent = f"player_{self.focal_seat}"
        if focal_agent in transition.observations:
            return self._rebuild(transition.observations[focal_agent], self.focal_seat)
        for agent, observation in transition.observations.items():
            return self._rebuild(observation, self._seat(agent))
        return None
