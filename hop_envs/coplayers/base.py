"""The shared machinery of the rule-based co-players: RNG, protocol hooks and sampling.

A co-player follows the Agent protocol of :mod:`agents.base` by duck typing (``hop_envs``
never imports ``agents``). :class:`CoplayerBase` holds what every rule-based co-player
shares (the one RNG, the protocol hooks, reading observations, drawing uniformly from a set
of actions). :class:`RuleBasedCoplayer` adds the memory-less policies: each is *uniform over
a set of actions* that depends on the observation alone;
:meth:`RuleBasedCoplayer.action_distribution` returns that distribution and
:meth:`RuleBasedCoplayer.act` draws from exactly the same set, so a planner may use the
distribution as the co-player's true policy. Co-players with memory build on
:class:`CoplayerBase` directly (see :mod:`hop_envs.coplayers.memory`).
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from hop_envs.registration import full_env_id

STAG_HUNT_ID = full_env_id("MarkovStagHunt-v0")
SNOWDRIFT_ID = full_env_id("MarkovSnowdrift-v0")


class CoplayerBase(ABC):
    """The RNG, the Agent-protocol hooks and observation reading of a rule-based co-player.

    Subclasses set ``name``, ``supported_envs`` and ``num_actions`` (``None``: any action
    count) and implement ``act``. It has no ``action_distribution``: only policies that act
    from the observation alone (:class:`RuleBasedCoplayer`) offer one.
    """

    name: ClassVar[str]
    supported_envs: ClassVar[tuple[str, ...]]
    num_actions: ClassVar[int | None] = None

    def __init__(self) -> None:
        self._rng: np.random.Generator | None = None
        self.seat: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # -- the Agent protocol ----------------------------------------------------------------
    def reset(self, seed: int | None = None, seat: Any = None) -> None:
        """Start a trial: seed the co-player's only RNG. ``seat`` (an ``agents.SeatInfo``)
        is checked against the envs this co-player supports."""
        env_id = getattr(seat, "env_id", None)
        if env_id is not None and full_env_id(env_id) not in self.supported_envs:
            raise ValueError(
                f"co-player {self.name!r} plays only {', '.join(self.supported_envs)}, "
                f"but its seat is in {env_id!r}"
            )
        self._rng = np.random.default_rng(seed)
        self.seat = seat

    def start_episode(self) -> None:
        """Nothing to set up unless a subclass remembers something."""
        return None

    @abstractmethod
    def act(self, observation: Mapping[str, Any]) -> int:
        """An action for this observation, drawn with this co-player's RNG."""

    def observe(self, transition: Any) -> None:
        """Ignored unless a subclass remembers something."""
        return None

    def end_episode(self) -> None:
        """Nothing to summarise unless a subclass remembers something."""
        return None

    # -- sampling --------------------------------------------------------------------------
    def _seeded_rng(self) -> np.random.Generator:
        """The RNG; ``RuntimeError`` unless :meth:`reset` has seeded it."""
        if self._rng is None:
            raise RuntimeError(
                f"co-player {self.name!r}: call reset(seed=...) before act() so that its "
                "RNG is seeded"
            )
        return self._rng

    def _draw(self, options: tuple[int, ...]) -> int:
        """One of ``options``, uniformly, with this co-player's RNG."""
        if len(options) == 1:
            return options[0]
        return options[int(self._seeded_rng().integers(len(options)))]

    # -- reading observations --------------------------------------------------------------
    def _read(self, observation: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """``observation["observation"]`` and ``["action_mask"]``, checked for shape."""
        try:
            grid = observation["observation"]
            mask = observation["action_mask"]
        except (KeyError, TypeError, IndexError):
            raise ValueError(
                f"co-player {self.name!r}: observation must be a dict with 'observation' and "
                f"'action_mask' entries, got {_describe(observation)}"
            ) from None
        if not isinstance(mask, np.ndarray) or mask.ndim != 1:
            mask = np.asarray(mask)
            if mask.ndim != 1:
                raise ValueError(
                    f"co-player {self.name!r}: observation['action_mask'] must be 1-D, got "
                    f"shape {mask.shape}"
                )
        if self.num_actions is not None and mask.shape[0] != self.num_actions:
            raise ValueError(
                f"co-player {self.name!r}: observation['action_mask'] must have "
                f"{self.num_actions} entries (the actions of {', '.join(self.supported_envs)}), "
                f"got {mask.shape[0]}"
            )
        if not isinstance(grid, np.ndarray):
            grid = np.asarray(grid)
        return grid, mask


class RuleBasedCoplayer(CoplayerBase):
    """A fixed policy, uniform over the actions :meth:`choices` returns.

    Subclasses set ``name``, ``supported_envs`` and ``num_actions`` (``None``: any action
    count) and implement :meth:`choices` (or :meth:`observation_choices`, for a policy that
    also reads other entries of the observation, such as ``"step"``).
    """

    def act(self, observation: Mapping[str, Any]) -> int:
        """An action drawn with this co-player's RNG from :meth:`action_distribution`."""
        self._seeded_rng()  # an unseeded co-player fails before it reads anything
        return self._draw(self.observation_choices(observation)[0])

    def action_distribution(self, observation: Mapping[str, Any]) -> np.ndarray:
        """Probabilities over all actions (float64): uniform over :meth:`choices`, zero on
        every other action (masked actions included)."""
        options, num_actions = self.observation_choices(observation)
        return uniform_over(options, num_actions).copy()

    def observation_choices(self, observation: Mapping[str, Any]) -> tuple[tuple[int, ...], int]:
        """The actions the policy picks uniformly among, and the number of actions."""
        grid, mask = self._read(observation)
        return self.choices(grid, mask), mask.shape[0]

    @abstractmethod
    def choices(self, grid: np.ndarray, mask: np.ndarray) -> tuple[int, ...]:
        """The legal actions the policy picks uniformly among (never empty)."""


@functools.lru_cache(maxsize=1024)
def uniform_over(options: tuple[int, ...], num_actions: int) -> np.ndarray:
    """The (read-only, cached) float64 distribution uniform over ``options``."""
    probs = np.zeros(num_actions, dtype=np.float64)
    probs[list(options)] = 1.0 / len(options)
    probs.setflags(write=False)
    return probs


def legal_actions(mask: np.ndarray, name: str) -> tuple[int, ...]:
    """Indices of the non-zero mask entries (``ValueError`` if there are none)."""
    legal = tuple(np.flatnonzero(mask).tolist())
    if not legal:
        raise ValueError(
            f"co-player {name!r}: observation['action_mask'] allows no action "
            f"(stay is always legal), got {mask.tolist()}"
        )
    return legal


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return f"a mapping with keys {sorted(map(str, value))}"
    return f"{type(value).__name__}"
