"""Hand-built grids for the co-player tests (a helper module, not a test file).

A grid is a list of equal-length strings: ``#`` wall, ``.`` free, ``S`` stag, ``H`` hare,
``D`` drift, and lower-case ``s``/``h``/``d`` for an object already captured/removed (its
cell is free and the object is gone). Players are given separately as ``(row, col)`` pairs
because they may share cells with objects and with each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hop_envs.core import (
    GridLayout,
    GridState,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)
from hop_envs.core.rules import GridRules


def build(
    game: str,
    rows: Sequence[str],
    players: Sequence[tuple[int, int]],
    *,
    left: Sequence[int] = (),
) -> tuple[GridRules, GridState]:
    """Rules and state for a text grid (``left``: seats that have left the game)."""
    height, width = len(rows), len(rows[0])
    assert all(len(r) == width for r in rows), rows
    walls = np.array([[ch == "#" for ch in r] for r in rows])
    cells: dict[str, list[int]] = {}
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            cells.setdefault(ch, []).append(r * width + c)
    get = lambda *chars: [cell for ch in chars for cell in cells.get(ch, [])]  # noqa: E731
    if game == "stag":
        stags, hares = get("S", "s"), get("H", "h")
        rules: GridRules = StagHuntRules(
            StagHuntConfig(
                num_players=len(players),
                height=height,
                width=width,
                num_stags=len(stags),
                num_hares=len(hares),
                num_wall_pieces=0,
            )
        )
        order = stags + hares
        dead = set(get("s", "h"))
    else:
        drifts = get("D", "d")
        rules = SnowdriftRules(
            SnowdriftConfig(
                num_players=len(players), height=height, width=width, num_drifts=len(drifts)
            )
        )
        order = drifts
        dead = set(get("d"))
    state = rules.state_from_positions(
        GridLayout.from_walls(walls),
        player_pos=[r * width + c for r, c in players],
        object_pos=order,
        active=[i not in left for i in range(len(players))],
        object_alive=[cell not in dead for cell in order],
    )
    return rules, state


def observation(rules: GridRules, state: GridState, seat: int) -> dict[str, Any]:
    """The observation dict the env gives ``seat``."""
    return {
        "observation": rules.observation(state, seat),
        "action_mask": rules.action_mask(state, seat),
        "step": np.int64(state.t),
    }


def make_obs(
    game: str,
    rows: Sequence[str],
    players: Sequence[tuple[int, int]],
    seat: int = 0,
    left: Sequence[int] = (),
) -> dict[str, Any]:
    """The observation of ``seat`` on a text grid."""
    rules, state = build(game, rows, players, left=left)
    return observation(rules, state, seat)
