"""The base of the rule-based co-players whose action depends on what they remember.

A :class:`MemoryCoplayer` keeps two kinds of memory: *trial* memory, cleared by
``reset(seed, seat)`` (what happened in earlier episodes of the trial), and *episode*
memory, cleared by ``start_episode()`` (and by ``reset`` and ``end_episode``). It learns
from its own choices (:meth:`MemoryCoplayer.chose`) and from the joint transitions it
observes (:meth:`MemoryCoplayer.remember`), and sums an episode up in
:meth:`MemoryCoplayer.summarise_episode`.

Its action is therefore not a function of the observation alone, so it has **no**
``action_distribution`` (a planner that looked for one would otherwise model it wrongly).
Transitions are duck-typed (``hop_envs`` never imports ``agents``): an object whose
``infos`` map ``"player_<seat>"`` to that player's event dict, for the players that acted
in the step.
"""

from __future__ import annotations

import numbers
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from hop_envs.coplayers.base import CoplayerBase
from hop_envs.coplayers.board import Board


class MemoryCoplayer(CoplayerBase):
    """A co-player that acts from its observation plus its memory of the trial.

    Subclasses set ``name``, ``supported_envs``, ``num_actions``, ``num_kinds`` (object
    channels of the game) and ``arguments`` (constructor keyword arguments, for ``repr``),
    and implement :meth:`choose`; they clear their memory in :meth:`forget_trial` and
    :meth:`forget_episode`. ``episodes_played`` counts the ``end_episode()`` calls since
    ``reset``, i.e. the index of the current episode within the trial.
    """

    num_kinds: ClassVar[int]
    arguments: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self.agent_id: str | None = None
        self.episodes_played = 0
        self.forget_trial()
        self.forget_episode()

    def __repr__(self) -> str:
        args = ", ".join(f"{a}={getattr(self, a)!r}" for a in self.arguments)
        return f"{type(self).__name__}({args})"

    # -- the Agent protocol ----------------------------------------------------------------
    def reset(self, seed: int | None = None, seat: Any = None) -> None:
        """Start a trial: seed the RNG, learn the seat (may be ``None`` unless the
        co-player tells its own events from the others'), forget everything."""
        super().reset(seed, seat)
        self.agent_id = agent_id_of(seat)
        self.episodes_played = 0
        self.forget_trial()
        self.forget_episode()

    def start_episode(self) -> None:
        """Forget the episode memory (the trial memory stays)."""
        self.forget_episode()

    def act(self, observation: Mapping[str, Any]) -> int:
        """One of :meth:`choose`'s actions, uniformly, with this co-player's RNG."""
        self._seeded_rng()
        grid, mask = self._read(observation)
        action = self._draw(self.choose(Board(grid, self.num_kinds, self.name), mask, observation))
        self.chose(action)
        return action

    def observe(self, transition: Any) -> None:
        """Remember what matters of a joint step (also after this player has left)."""
        self._seeded_rng()
        self.remember(transition)

    def end_episode(self) -> None:
        """Sum the episode up into the trial memory and forget the episode; the next
        episode's index follows."""
        self.summarise_episode()
        self.episodes_played += 1
        self.forget_episode()

    # -- what subclasses implement ---------------------------------------------------------
    @abstractmethod
    def choose(
        self, board: Board, mask: np.ndarray, observation: Mapping[str, Any]
    ) -> tuple[int, ...]:
        """The legal actions to pick uniformly among, given the memory (never empty)."""

    def forget_trial(self) -> None:
        """Clear the trial memory (called on construction and by ``reset``)."""
        return None

    def forget_episode(self) -> None:
        """Clear the episode memory (on construction, ``reset``, ``start_episode`` and
        ``end_episode``)."""
        return None

    def chose(self, action: int) -> None:
        """Note this co-player's own action (called by ``act``)."""
        return None

    def remember(self, transition: Any) -> None:
        """Note what matters of an observed joint step."""
        return None

    def summarise_episode(self) -> None:
        """Fold the episode memory into the trial memory (called by ``end_episode``)."""
        return None

    # -- helpers ---------------------------------------------------------------------------
    def own_id(self) -> str:
        """This player's agent id; ``RuntimeError`` without a seat (the memory needs it)."""
        if self.agent_id is None:
            raise RuntimeError(
                f"co-player {self.name!r} tells its own events from the other players', so "
                "it needs its seat: call reset(seed=..., seat=...) with a seat that has an "
                f"agent_id ('player_<k>') or a seat index, got seat={self.seat!r}"
            )
        return self.agent_id

    def others_infos(self, transition: Any) -> Iterator[Mapping[str, Any]]:
        """The event dicts of the *other* players that acted in ``transition``."""
        own = self.own_id()
        for agent, info in transition_infos(transition, self.name).items():
            if agent != own:
                yield info


def agent_id_of(seat: Any) -> str | None:
    """``seat.agent_id``, else ``"player_<seat.seat>"``, else ``None`` (no seat given)."""
    agent_id = getattr(seat, "agent_id", None)
    if agent_id is not None:
        return str(agent_id)
    index = getattr(seat, "seat", None)
    if isinstance(index, numbers.Integral) and not isinstance(index, bool):
        return f"player_{int(index)}"
    return None


def transition_infos(transition: Any, name: str) -> Mapping[str, Mapping[str, Any]]:
    """``transition.infos`` (``ValueError`` naming the co-player if it has none)."""
    infos = getattr(transition, "infos", None)
    if not isinstance(infos, Mapping):
        raise ValueError(
            f"co-player {name!r}: observe() needs a transition whose 'infos' maps agent ids "
            f"to event dicts, got {type(transition).__name__} with infos={infos!r}"
        )
    return infos


def check_count(name: str, argument: str, value: object, minimum: int) -> int:
    """``value`` as an int if it is an integer >= ``minimum`` (``ValueError`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(
            f"co-player {name!r}: {argument} must be an integer >= {minimum}, got {value!r}"
        )
    return int(value)


def check_option(name: str, argument: str, value: object, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed`` (``ValueError`` otherwise)."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"co-player {name!r}: {argument} must be one of {list(allowed)}, got {value!r}"
        )
    return value
