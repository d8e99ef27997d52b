"""Text and numpy-drawn pictures of a grid state (no display needed)."""

from __future__ import annotations

import numpy as np

from hop_envs.core.rules import GridRules
from hop_envs.core.state import GridState

CELL_PIXELS = 24
_BACKGROUND = (235, 235, 225)
_WALL = (70, 70, 80)
_OBJECT_COLORS = {"stag": (150, 90, 30), "hare": (200, 170, 120), "drift": (120, 190, 235)}
_OBJECT_CHARS = {"stag": "S", "hare": "h", "drift": "D"}
_PLAYER_COLORS = (
    (220, 40, 40),
    (40, 110, 220),
    (40, 170, 60),
    (230, 150, 20),
    (150, 60, 200),
    (20, 170, 170),
    (200, 60, 140),
    (100, 100, 100),
)


def render_ansi(rules: GridRules, state: GridState) -> str:
    """A text grid: ``#`` wall, ``S`` stag, ``h`` hare, ``D`` drift, digits for players
    (``*`` where several share a cell), ``.`` empty."""
    h, w = rules.height, rules.width
    cells = [["#" if state.layout.walls[r, c] else "." for c in range(w)] for r in range(h)]
    for k in np.flatnonzero(state.object_alive):
        r, c = divmod(int(state.object_pos[k]), w)
        cells[r][c] = _OBJECT_CHARS[rules.object_kinds[int(state.object_kind[k])]]
    seen: dict[int, int] = {}
    for i in np.flatnonzero(state.active):
        cell = int(state.player_pos[i])
        seen[cell] = seen.get(cell, 0) + 1
        r, c = divmod(cell, w)
        cells[r][c] = str(i) if seen[cell] == 1 else "*"
    header = f"t={state.t}"
    return header + "\n" + "\n".join("".join(row) for row in cells) + "\n"


def render_rgb(rules: GridRules, state: GridState, cell: int = CELL_PIXELS) -> np.ndarray:
    """An ``(H*cell, W*cell, 3)`` uint8 picture: objects fill their cell, players are small
    squares placed in a 3x3 sub-grid of the cell so that players sharing a cell stay visible."""
    h, w = rules.height, rules.width
    img = np.empty((h * cell, w * cell, 3), dtype=np.uint8)
    img[:] = _BACKGROUND
    for r, c in zip(*np.nonzero(state.layout.walls), strict=True):
        img[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell] = _WALL
    pad = max(cell // 8, 1)
    for k in np.flatnonzero(state.object_alive):
        r, c = divmod(int(state.object_pos[k]), w)
        color = _OBJECT_COLORS[rules.object_kinds[int(state.object_kind[k])]]
        img[r * cell + pad : (r + 1) * cell - pad, c * cell + pad : (c + 1) * cell - pad] = color
    sub = cell // 3
    for i in np.flatnonzero(state.active):
        r, c = divmod(int(state.player_pos[i]), w)
        sr, sc = divmod(int(i) % 9, 3)
        y, x = r * cell + sr * sub, c * cell + sc * sub
        img[y + 1 : y + sub - 1, x + 1 : x + sub - 1] = _PLAYER_COLORS[int(i) % len(_PLAYER_COLORS)]
    # Thin grid lines.
    img[::cell, :] = (200, 200, 190)
    img[:, ::cell] = (200, 200, 190)
    return img
