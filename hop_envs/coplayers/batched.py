"""Batched rule-based co-players: one numpy call acts for many observations at once.

The memoryless training population (``random``, ``nearest-stag``, ``nearest-hare``,
``free-rider``, ``cleaner``) acts from the observation alone, so a whole batch of seats can be
answered in one vectorised call, which a vectorised training env needs (a Python loop over
scalar co-players would cost more than the batched core's step). Each batched policy returns
the *choice sets* ``(N, A)`` bool: row ``i`` is exactly the set the scalar co-player's
``choices()`` picks uniformly among for observation ``i``; :func:`draw_uniform` then draws
one action per row. The seekers' shortest paths come from a level-by-level multi-source
breadth-first search over the whole batch (:func:`nearest_target_distances`).

Held-out co-players act on memory and are not batched; :func:`batched_policy` refuses them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from hop_envs.coplayers.random_play import FreeRider, RandomCoplayer
from hop_envs.coplayers.seekers import Cleaner, NearestHare, NearestObjectSeeker, NearestStag
from hop_envs.core.layout import NUM_MOVES, STAY
from hop_envs.registration import full_env_id


class BatchedPolicy(ABC):
    """A memoryless co-player acting on a batch: observation grids ``(N, C, H, W)`` (channel
    0 the acting player, then the other players, walls and the object channels) and action
    masks ``(N, A)``, as the env gives them to each seat."""

    name: str
    supported_envs: tuple[str, ...]
    num_actions: int | None

    @abstractmethod
    def choice_sets(self, grids: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """``(N, A)`` bool: the actions the scalar co-player picks uniformly among, per row."""

    def act(self, grids: np.ndarray, masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``(N,)`` int64 actions, each drawn uniformly from its row's choice set."""
        return draw_uniform(self.choice_sets(grids, masks), rng)

    def _check(self, grids: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``grids`` and ``masks`` as arrays, checked for shape; masks as bool."""
        grids = np.asarray(grids)
        masks = np.asarray(masks)
        if grids.ndim != 4:
            raise ValueError(
                f"batched co-player {self.name!r}: grids must be (N, C, H, W) observation "
                f"grids, got shape {grids.shape}"
            )
        if masks.ndim != 2 or masks.shape[0] != grids.shape[0]:
            raise ValueError(
                f"batched co-player {self.name!r}: masks must be (N, A) with N = "
                f"{grids.shape[0]} rows like the grids, got shape {masks.shape}"
            )
        if self.num_actions is not None and masks.shape[1] != self.num_actions:
            raise ValueError(
                f"batched co-player {self.name!r}: masks must have {self.num_actions} actions "
                f"(those of {', '.join(self.supported_envs)}), got {masks.shape[1]}"
            )
        return grids, masks != 0


@dataclass(frozen=True)
class BatchedRandom(BatchedPolicy):
    """``random``: every legal action."""

    name: str = RandomCoplayer.name
    supported_envs: tuple[str, ...] = RandomCoplayer.supported_envs
    num_actions: int | None = RandomCoplayer.num_actions

    def choice_sets(self, grids: np.ndarray, masks: np.ndarray) -> np.ndarray:
        _, legal = self._check(grids, masks)
        empty = ~legal.any(1)
        if empty.any():
            row = int(empty.argmax())
            raise ValueError(
                f"batched co-player {self.name!r}: the action mask of row {row} allows no "
                f"action (stay is always legal), got {legal[row].astype(int).tolist()}"
            )
        return legal.copy()


@dataclass(frozen=True)
class BatchedFreeRider(BatchedPolicy):
    """``free-rider``: the legal moves and stay, never an object action."""

    name: str = FreeRider.name
    supported_envs: tuple[str, ...] = FreeRider.supported_envs
    num_actions: int | None = FreeRider.num_actions

    def choice_sets(self, grids: np.ndarray, masks: np.ndarray) -> np.ndarray:
        _, legal = self._check(grids, masks)
        no_stay = ~legal[:, STAY]
        if no_stay.any():
            row = int(no_stay.argmax())
            raise ValueError(
                f"batched co-player {self.name!r}: the action mask of row {row} must allow "
                f"stay (action {STAY}), got {legal[row].astype(int).tolist()}"
            )
        sets = legal.copy()
        sets[:, STAY + 1 :] = False
        return sets


@dataclass(frozen=True)
class BatchedSeeker(BatchedPolicy):
    """``nearest-stag``, ``nearest-hare``, ``cleaner``: the first moves of the shortest paths
    to the nearest object of ``kind``; ``object_action`` on it; stay when none is reachable
    or the player has left (its own channel is empty)."""

    name: str
    supported_envs: tuple[str, ...]
    num_actions: int | None
    kind: int
    num_kinds: int
    object_action: int

    @classmethod
    def of(cls, seeker: type[NearestObjectSeeker]) -> BatchedSeeker:
        """The batched twin of a scalar seeker class (its parameters read from the class)."""
        return cls(
            name=seeker.name,
            supported_envs=seeker.supported_envs,
            num_actions=seeker.num_actions,
            kind=seeker.kind,
            num_kinds=seeker.num_kinds,
            object_action=seeker.object_action,
        )

    def choice_sets(self, grids: np.ndarray, masks: np.ndarray) -> np.ndarray:
        grids, legal = self._check(grids, masks)
        size, channels, height, width = grids.shape
        if channels < self.num_kinds + 3:
            raise ValueError(
                f"batched co-player {self.name!r}: grids must have C >= {self.num_kinds + 3} "
                f"channels (players, walls, {self.num_kinds} object channel(s)), got shape "
                f"{grids.shape}"
            )
        sets = np.zeros(legal.shape, dtype=bool)
        if size == 0:
            return sets
        walls_channel = channels - 1 - self.num_kinds
        own = grids[:, 0].reshape(size, -1)
        cell = own.argmax(1)
        present = own[np.arange(size), cell] != 0
        free = grids[:, walls_channel] == 0
        targets = grids[:, walls_channel + 1 + self.kind] != 0
        seek = _seek_packed if height * width <= 64 else _seek_on_grids
        d, near = seek(free, targets, cell, present)
        seeking = present & (d > 0)
        sets[:, :NUM_MOVES] = near & seeking[:, None]
        sets[:, self.object_action] = present & (d == 0)
        sets[:, STAY] = ~present | (d < 0)
        forbidden = sets & ~legal
        if forbidden.any():
            row, action = (int(i[0]) for i in np.nonzero(forbidden))
            raise ValueError(
                f"batched co-player {self.name!r}: the action mask of row {row} forbids "
                f"action {action}, which its observation grid allows at cell {int(cell[row])} "
                f"(mask {legal[row].astype(int).tolist()}); the grid and the mask disagree"
            )
        return sets


def _seek_on_grids(
    free: np.ndarray, targets: np.ndarray, cell: np.ndarray, present: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The player's distance to its nearest target ``(N,)`` (-1: none reachable) and which of
    its four moves ``(N, 4)`` lead one step nearer, from :func:`nearest_target_distances`."""
    size, height, width = free.shape
    rows = np.arange(size)
    dist = nearest_target_distances(free, targets, stop_at=np.where(present, cell, -1))
    # Read at the player's cell and its four neighbours through a border of -1 (off the
    # grid), with walls also -1, so only legal moves can match.
    padded = np.full((size, height + 2, width + 2), -1, dtype=dist.dtype)
    padded[:, 1:-1, 1:-1] = np.where(free, dist, -1)
    here = (cell // width + 1) * (width + 2) + cell % width + 1
    offsets = np.asarray([-(width + 2), width + 2, -1, 1])
    d = dist.reshape(size, -1)[rows, cell]
    near = padded.reshape(size, -1)[rows[:, None], here[:, None] + offsets] == (d - 1)[:, None]
    return d, near


def _seek_packed(
    free: np.ndarray, targets: np.ndarray, cell: np.ndarray, present: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`_seek_on_grids` for grids of at most 64 cells, each packed into one uint64
    (bit ``r * W + c``), so a breadth-first level is a few shifts per row. The moves one step
    nearer are the legal moves into the level just before the player's."""
    size, height, width = free.shape
    free_bits, target_bits = _pack64(free), _pack64(targets)
    columns = np.arange(height * width) % width
    not_first, not_last = _pack64((columns != 0)[None]), _pack64((columns != width - 1)[None])
    player = np.where(present, np.uint64(1) << cell.astype(np.uint64), np.uint64(0))
    reached = target_bits.copy()
    frontier = target_bits & free_bits
    before = np.zeros(size, dtype=np.uint64)  # the level before the player's
    d = np.where(present & ((reached & player) != 0), 0, -1)
    level = 0
    while (((player & ~reached) != 0) & (frontier != 0)).any():
        level += 1
        grown = (
            (frontier >> width)
            | (frontier << width)
            | ((frontier & not_first) >> 1)
            | ((frontier & not_last) << 1)
        )
        grown &= free_bits & ~reached
        hit = (grown & player) != 0
        before = np.where(hit, frontier, before)
        d = np.where(hit, level, d)
        reached |= grown
        frontier = grown
    row, col = cell // width, cell % width
    inside = np.stack([row > 0, row < height - 1, col > 0, col < width - 1], axis=1)
    dest = np.clip(cell[:, None] + np.asarray([-width, width, -1, 1]), 0, height * width - 1)
    near = inside & (((before[:, None] >> dest.astype(np.uint64)) & np.uint64(1)) != 0)
    return d, near


def _pack64(bits: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` bool with ``H * W <= 64`` -> ``(N,)`` uint64, bit ``r * W + c``."""
    size = bits.shape[0]
    flat = np.zeros((size, 64), dtype=bool)
    flat[:, : bits[0].size] = bits.reshape(size, -1)
    return np.packbits(flat, axis=1, bitorder="little").view("<u8").reshape(size)


def nearest_target_distances(
    free: np.ndarray, targets: np.ndarray, stop_at: np.ndarray | None = None
) -> np.ndarray:
    """Move counts ``(N, H, W)`` int32 from every cell to its row's nearest target (-1 where
    none is reachable), by a breadth-first search from all targets of the whole batch at once.

    ``free`` and ``targets`` are ``(N, H, W)`` bool; a move joins two edge-adjacent free cells
    (moves are symmetric, so distances from the targets are distances to them). With
    ``stop_at`` (``(N,)`` flat cells, -1: none), the search stops once every row has reached
    its cell or run out of cells: then each ``stop_at`` cell and every cell as near as it are
    exact, and farther cells may read -1.
    """
    free = np.asarray(free, dtype=bool)
    targets = np.asarray(targets, dtype=bool)
    if free.ndim != 3 or targets.shape != free.shape:
        raise ValueError(
            f"free and targets must be (N, H, W) boolean grids of one shape, got "
            f"{free.shape} and {targets.shape}"
        )
    size = free.shape[0]
    reached = targets.copy()
    frontier = targets & free  # the search leaves only from free cells
    # A cell first reached at level d was unreached after levels 0 .. d-1: count those.
    count = (~reached).astype(np.int32)
    grow = np.empty_like(frontier)
    rows = np.arange(size)
    watch = None
    if stop_at is not None:
        stop_at = np.asarray(stop_at, dtype=np.int64)
        watch = stop_at >= 0
        watched = np.maximum(stop_at, 0)
    while True:
        live = frontier.any((1, 2))
        if watch is not None:
            pending = watch & ~reached.reshape(size, -1)[rows, watched]
            live &= pending
        if not live.any():
            break
        grow[:] = False
        grow[:, 1:] |= frontier[:, :-1]
        grow[:, :-1] |= frontier[:, 1:]
        grow[:, :, 1:] |= frontier[:, :, :-1]
        grow[:, :, :-1] |= frontier[:, :, 1:]
        np.logical_and(grow, free, out=frontier)
        frontier &= ~reached
        reached |= frontier
        count += ~reached
    return np.where(reached, count, -1)


def draw_uniform(choice_sets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(N,)`` int64: one action per row of ``choice_sets`` ``(N, A)`` bool, uniformly from
    the row's set, drawn with ``rng``."""
    sets = np.asarray(choice_sets, dtype=bool)
    if sets.ndim != 2:
        raise ValueError(f"choice_sets must be (N, A) bool, got shape {sets.shape}")
    cumulative = np.cumsum(sets, axis=1, dtype=np.int32)
    counts = cumulative[:, -1] if sets.shape[1] else np.zeros(len(sets), np.int32)
    if (counts == 0).any():
        row = int((counts == 0).argmax())
        raise ValueError(f"choice_sets row {row} is empty; every row needs at least one action")
    pick = rng.integers(0, counts)
    return (cumulative > pick[:, None]).argmax(1).astype(np.int64)


#: The batched policies of the training population, by co-player name.
BATCHED_POLICIES: dict[str, BatchedPolicy] = {
    policy.name: policy
    for policy in (
        BatchedRandom(),
        BatchedSeeker.of(NearestStag),
        BatchedSeeker.of(NearestHare),
        BatchedFreeRider(),
        BatchedSeeker.of(Cleaner),
    )
}


def batched_policy(name: str, env_id: str | None = None) -> BatchedPolicy:
    """The batched policy of co-player ``name`` (checked to play ``env_id`` if given);
    ``ValueError`` naming the batched co-players for any other name."""
    policy = BATCHED_POLICIES.get(name)
    if policy is None:
        raise ValueError(
            f"no batched policy for co-player {name!r}: only the memoryless training "
            f"co-players are batched ({sorted(BATCHED_POLICIES)}); held-out and plug-in "
            "co-players act one observation at a time"
        )
    if env_id is not None and full_env_id(env_id) not in policy.supported_envs:
        raise ValueError(
            f"co-player {name!r} plays only {', '.join(policy.supported_envs)}, not "
            f"{env_id!r}; batched co-players of {full_env_id(env_id)} are "
            f"{batched_names(env_id)}"
        )
    return policy


def batched_names(env_id: str | None = None) -> list[str]:
    """The co-player names with a batched policy (those playing ``env_id`` if given), sorted."""
    if env_id is None:
        return sorted(BATCHED_POLICIES)
    env = full_env_id(env_id)
    return sorted(n for n, p in BATCHED_POLICIES.items() if env in p.supported_envs)


__all__ = [
    "BATCHED_POLICIES",
    "BatchedFreeRider",
    "BatchedPolicy",
    "BatchedRandom",
    "BatchedSeeker",
    "batched_names",
    "batched_policy",
    "draw_uniform",
    "nearest_target_distances",
]
