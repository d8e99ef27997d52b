"""The Agent protocol: one interface for focal agents, co-players and baselines.

Lifecycle, driven by the evaluation runner (or your own loop)::

    agent.reset(seed=s, seat=seat_info)      # start a trial: forget all about co-players
    for episode in range(K):
        agent.start_episode()
        while anybody is in the game:
            a = agent.act(observation)       # only while this agent is in the game
            ... the env steps with the actions of the players still in the game ...
            agent.observe(transition)        # every joint step, to the end of the episode
        agent.end_episode()

Every player observes **every** joint step until the episode ends, also after it has left
the game (a stag-hunt capturer watches the rest of the episode): what the co-players go on
to do is what an adaptive agent learns from, so nothing is censored. After a player has
left, the transitions it observes no longer hold its own key.

Memory kept between ``start_episode`` calls within a trial is the point of few-shot
adaptation. Agents that learn parameters may add ``save(path)`` and ``load(path)``; agents
that model their co-players may add ``predict_coplayers(observation)`` (:mod:`agents.prediction`),
which the evaluation runner scores.
This module imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from gymnasium import spaces

AgentID = str
Observation = Mapping[str, Any]


@dataclass(frozen=True)
class SeatInfo:
    """What an agent is told about its place in a trial.

    ``env_kwargs`` are the arguments the env was made with (so model-based agents can build
    the env's pure rules with ``hop_envs.make(env_id, **env_kwargs).rules``).
    ``coplayer_names`` and ``coplayers`` are privileged: only reference agents get them.
    """

    env_id: str
    agent_id: AgentID
    seat: int
    num_players: int
    observation_space: spaces.Space
    action_space: spaces.Space
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    focal_seats: tuple[int, ...] = ()
    #: Privileged: the name of the player at every other seat. The runner fills it only for
    #: agents whose class sets ``wants_privileged_info = True`` (reference agents such as
    #: ``oracle-mcts``); ordinary agents see ``None``.
    coplayer_names: Mapping[int, str] | None = None
    #: Privileged: the live background co-player objects by seat (the other focal seats are
    #: left out), the very objects the runner steps, kept across the episodes of the trial.
    #: Filled, like ``coplayer_names``, only for ``wants_privileged_info = True`` (reference
    #: agents such as ``oracle-mcts``, which plans with copies of them and must never call
    #: or change them); ordinary agents see ``None``.
    coplayers: Mapping[int, Any] | None = None

    @classmethod
    def of_env(
        cls,
        env: Any,
        env_id: str,
        seat: int,
        *,
        env_kwargs: Mapping[str, Any] | None = None,
        focal_seats: tuple[int, ...] = (),
        coplayer_names: Mapping[int, str] | None = None,
        coplayers: Mapping[int, Any] | None = None,
    ) -> SeatInfo:
        """The seat ``seat`` of ``env`` (a parallel env made from ``env_id`` with
        ``env_kwargs``): its agent id and spaces read from the env."""
        agent_id = env.possible_agents[seat]
        return cls(
            env_id=env_id,
            agent_id=agent_id,
            seat=seat,
            num_players=len(env.possible_agents),
            observation_space=env.observation_space(agent_id),
            action_space=env.action_space(agent_id),
            env_kwargs=dict(env_kwargs or {}),
            focal_seats=tuple(focal_seats),
            coplayer_names=coplayer_names,
            coplayers=coplayers,
        )


@dataclass(frozen=True)
class Transition:
    """One joint step as returned by ``ParallelEnv.step``, plus the actions taken.

    Every mapping is keyed by the agents that acted in the step (``player_<seat>``); agents
    that left the game in an earlier step are absent, so an agent that has left sees the
    transitions of the others without its own key. ``actions`` are the actions as chosen (an
    in-range action the mask forbade ran as stay and is flagged in
    ``infos[agent]["illegal_action"]``); ``observations`` are the next observations (those of
    agents that left in this step included); ``rewards``, ``terminations``, ``truncations``
    and ``infos`` are the env's (``infos`` carry the step's events: stag hunt ``captured``,
    ``prey_id``, ``failed_stag_hunt``; snowdrift ``removed_drift``, ``drift_cell``).
    """

    actions: Mapping[AgentID, int]
    observations: Mapping[AgentID, Observation]
    rewards: Mapping[AgentID, float]
    terminations: Mapping[AgentID, bool]
    truncations: Mapping[AgentID, bool]
    infos: Mapping[AgentID, Mapping[str, Any]]


@runtime_checkable
class Agent(Protocol):
    """Anything with these five methods can play in hop-bench."""

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        """Start a trial: seed the agent's RNG and forget everything about co-players."""

    def start_episode(self) -> None:
        """A new episode of the current trial begins."""

    def act(self, observation: Observation) -> int:
        """Choose an action from this agent's own observation."""
        ...

    def observe(self, transition: Transition) -> None:
        """See the joint transition that followed the last joint action."""

    def end_episode(self) -> None:
        """The current episode is over (memory across episodes is kept)."""


class BaseAgent:
    """Convenience base: one seeded RNG, no-op hooks. Subclasses implement :meth:`act`."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng()
        self.seat: SeatInfo | None = None

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.seat = seat

    def start_episode(self) -> None:
        return None

    def act(self, observation: Observation) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement act()")

    def observe(self, transition: Transition) -> None:
        return None

    def end_episode(self) -> None:
        return None
