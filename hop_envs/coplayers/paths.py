"""Shortest-path look-up tables for the goal-seeking co-players, cached per layout.

A co-player asks: "from my cell, which first moves lie on a shortest path to the nearest
target?". One multi-source breadth-first search from all targets over the layout's move
table answers it for every cell at once, so the answer is cached per (walls, targets,
object action) and each later call is a single list look-up. Moves are symmetric (a move
from a to b exists exactly when the opposite move from b to a does), so distances *from* the
targets are distances *to* them.
"""

from __future__ import annotations

import functools
from collections import deque

import numpy as np

from hop_envs.core.layout import NUM_MOVES, STAY, move_table

#: Cached look-up tables (each a tuple of small tuples, one per cell).
CACHE_SIZE = 4096


@functools.lru_cache(maxsize=256)
def cached_move_table(height: int, width: int, walls: bytes) -> tuple[tuple[int, ...], ...]:
    """The layout's move table as nested tuples, for a wall grid given as ``H*W`` bytes."""
    grid = np.frombuffer(walls, dtype=np.uint8).reshape(height, width).astype(bool)
    return tuple(tuple(row) for row in move_table(grid).tolist())


def distances_to_targets(neighbors: tuple[tuple[int, ...], ...], targets: list[int]) -> list[int]:
    """Move counts from every cell to its nearest target (-1 where none is reachable)."""
    dist = [-1] * len(neighbors)
    queue = deque(targets)
    for cell in targets:
        dist[cell] = 0
    while queue:
        cell = queue.popleft()
        d = dist[cell] + 1
        for nxt in neighbors[cell]:
            if nxt >= 0 and dist[nxt] < 0:
                dist[nxt] = d
                queue.append(nxt)
    return dist


@functools.lru_cache(maxsize=CACHE_SIZE)
def seek_table(
    height: int, width: int, walls: bytes, targets: bytes, on_target: int
) -> tuple[tuple[int, ...], ...]:
    """For every cell, the actions a nearest-target seeker chooses uniformly among.

    ``walls`` and ``targets`` are ``H*W`` bytes (non-zero where set). On a target cell the
    answer is ``(on_target,)``; elsewhere, every move whose next cell is one step nearer to
    the nearest target; ``(STAY,)`` when no target is reachable (or none is left).
    """
    neighbors = cached_move_table(height, width, walls)
    target_cells = np.flatnonzero(np.frombuffer(targets, dtype=np.uint8)).tolist()
    dist = distances_to_targets(neighbors, target_cells)
    stay = (STAY,)
    table: list[tuple[int, ...]] = []
    for cell, d in enumerate(dist):
        if d == 0:
            table.append((on_target,))
        elif d < 0:
            table.append(stay)
        else:
            row = neighbors[cell]
            table.append(
                tuple(m for m in range(NUM_MOVES) if row[m] >= 0 and dist[row[m]] == d - 1)
            )
    return tuple(table)
