"""Deep copies of live co-player objects for simulations: exact memory, fresh randomness.

``oracle-mcts`` plans with copies of the very co-player objects of its trial, so whatever
they remember (within the episode, across the episodes of the trial) is in the model, for
every co-player: rule-based, memory-based, plug-in, with or without ``action_distribution``.
:class:`CoplayerCopier` makes those copies with :func:`copy.deepcopy`, so a copy never
shares mutable state with the live object and the live objects are never changed. Two kinds
of objects inside a co-player are treated apart, both found by walking its attributes (and
the lists, tuples, sets and dicts in them) once per decision:

* **Random generators** (``numpy.random.Generator``, ``numpy.random.RandomState``,
  ``random.Random``) are *not* copied: every copy gets a fresh generator drawing from the
  copier's own stream. A copy of the live generator would replay the co-player's future
  draws, so the oracle would foresee its dice (where a random co-player will step) instead
  of knowing its policy; fresh draws make the simulations sample the co-players' random
  choices, and copying a generator is also the slowest part of a copy. The fresh
  generators of all copies share one bit generator, seeded by the oracle: the draws are
  one deterministic stream, independent of the live co-players'.
* **Seat descriptions** (:class:`agents.base.SeatInfo`, ``gymnasium`` spaces) are copied
  once per trial and that snapshot is shared by every copy: they are read-only in practice,
  and copying their spaces would cost more than the rest of a co-player.

Generators held elsewhere are not found: those inside closures are copied like any other
state, and the global ones (``random``'s, ``numpy.random``'s) are the caller's business
(``oracle-mcts`` reseeds them for its search and restores them afterwards).
"""

from __future__ import annotations

import collections
import copy
import random
import types
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from agents.base import SeatInfo

#: Random generators that a copy gets fresh instead of copied.
RNG_TYPES = (np.random.Generator, np.random.RandomState, random.Random)
#: Read-only-in-practice objects copied once per trial and shared by every copy.
SHARED_TYPES = (SeatInfo, spaces.Space)
#: Objects the attribute walk does not look into.
_LEAVES = (
    str,
    bytes,
    bytearray,
    int,
    float,
    complex,
    bool,
    type(None),
    range,
    np.ndarray,
    np.generic,
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
)
#: How deep the walk looks for generators inside a co-player.
MAX_DEPTH = 8


class UncopyableCoplayerError(ValueError):
    """A co-player that ``copy.deepcopy`` cannot copy; the message names it."""


class CoplayerCopier:
    """Copies of a fixed set of live co-players, one set per simulation.

    Per decision: :meth:`prepare` with the live objects (and names for messages). Per
    simulation: :meth:`begin`, then :meth:`copy_live` for copies of the live objects and
    :meth:`copy_copies` for further copies of copies made since :meth:`begin` (e.g. one per
    rollout from the same leaf). ``bits`` is the bit generator every fresh generator draws
    from.
    """

    def __init__(self, bits: np.random.BitGenerator) -> None:
        self._bits = bits
        self._live: list[Any] = []
        self._names: list[str] = []
        self._live_rngs: list[Any] = []
        # id(original) -> (original, snapshot); the original is kept so that its id stays its.
        self._snapshots: dict[int, tuple[Any, Any]] = {}
        self._shared_memo: dict[int, Any] = {}
        self._made: list[Any] = []  # fresh generators of the current simulation

    def prepare(self, live: Sequence[Any], names: Sequence[str]) -> None:
        """Use ``live`` (named ``names`` in error messages) from now on: find their
        generators and seat descriptions (snapshotting those not seen before), and check
        that each can be deep-copied (:class:`UncopyableCoplayerError` naming it)."""
        self._live = list(live)
        self._names = list(names)
        rngs, shared = _walk(self._live)
        self._live_rngs = rngs
        for obj in shared:
            if id(obj) not in self._snapshots:
                try:
                    snapshot = copy.deepcopy(obj)
                except Exception as err:
                    owner = self._owner_of(obj)
                    raise UncopyableCoplayerError(
                        f"{owner}: copy.deepcopy of its {type(obj).__name__} raises "
                        f"{type(err).__name__}: {err}"
                    ) from err
                self._snapshots[id(obj)] = (obj, snapshot)
        self._shared_memo = {}
        for original, snapshot in self._snapshots.values():
            self._shared_memo[id(original)] = snapshot
            self._shared_memo[id(snapshot)] = snapshot

    def begin(self) -> None:
        """A new simulation: the copies of the previous one are no longer used."""
        self._made = []

    def copy_live(self) -> list[Any]:
        """Deep copies of the live co-players (one call copies them together, so objects
        they share stay shared), with fresh generators."""
        memo = self._memo(self._live_rngs)
        try:
            return copy.deepcopy(self._live, memo)
        except Exception as err:
            raise self._culprit(err) from err

    def copy_copies(self, copies: Sequence[Any]) -> list[Any]:
        """Deep copies of ``copies`` (made by this copier since :meth:`begin`), with fresh
        generators in place of theirs."""
        return copy.deepcopy(list(copies), self._memo(list(self._made)))

    # -- internals -------------------------------------------------------------------------
    def _memo(self, rngs: Sequence[Any]) -> dict[int, Any]:
        memo = dict(self._shared_memo)
        for rng in rngs:
            memo[id(rng)] = self._fresh(rng)
        return memo

    def _fresh(self, rng: Any) -> Any:
        if isinstance(rng, np.random.Generator | np.random.RandomState):
            new = type(rng)(self._bits)
        else:
            new = type(rng)(int(self._bits.random_raw()))
        self._made.append(new)
        return new

    def _culprit(self, err: Exception) -> UncopyableCoplayerError:
        """The error naming the first live co-player that cannot be copied on its own."""
        for obj, name in zip(self._live, self._names, strict=True):
            try:
                copy.deepcopy(obj, self._memo(self._live_rngs))
            except Exception as own:
                return UncopyableCoplayerError(
                    f"{name}: copy.deepcopy raises {type(own).__name__}: {own}"
                )
        return UncopyableCoplayerError(
            f"{', '.join(self._names)}: copy.deepcopy of them together raises "
            f"{type(err).__name__}: {err}"
        )

    def _owner_of(self, obj: Any) -> str:
        for live, name in zip(self._live, self._names, strict=True):
            if any(o is obj for o in _walk([live])[1]):
                return name
        return ", ".join(self._names)


def _walk(roots: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """The generators and the shared seat descriptions reachable from ``roots`` through
    attributes (``__dict__`` and ``__slots__``) and containers, in a fixed order."""
    rngs: list[Any] = []
    shared: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(obj, 0) for obj in reversed(roots)]
    while stack:
        obj, depth = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, RNG_TYPES):
            rngs.append(obj)
            continue
        if isinstance(obj, SHARED_TYPES):
            shared.append(obj)
            continue
        if depth >= MAX_DEPTH or isinstance(obj, _LEAVES):
            continue
        children = _children(obj)
        stack.extend((child, depth + 1) for child in reversed(children))
    return rngs, shared


def _children(obj: Any) -> list[Any]:
    if isinstance(obj, Mapping):
        return list(obj.values())
    if isinstance(obj, list | tuple | set | frozenset | collections.deque):
        return list(obj)
    out: list[Any] = []
    attributes = getattr(obj, "__dict__", None)
    if isinstance(attributes, dict):
        out.extend(attributes.values())
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                out.append(getattr(obj, slot))
    return out
