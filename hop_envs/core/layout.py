"""Static grid layouts: walls, the move table and shortest-path distances.

A layout is drawn once per episode and shared, read-only, by every copy of the state, so
copying a state never copies it.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass, field

import numpy as np

#: Row and column offsets of the four moves, in action order: up, down, left, right.
MOVE_DELTAS: tuple[tuple[int, int], ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))
NUM_MOVES = 4
STAY = 4

_MAX_WALL_DRAWS = 10_000


@dataclass(frozen=True, eq=False)
class GridLayout:
    """Walls of one episode and the derived move table.

    ``neighbors[cell, move]`` is the flat index of the cell reached by ``move`` from ``cell``,
    or -1 when the move leads into a wall or off the grid.
    """

    walls: np.ndarray
    neighbors: np.ndarray = field(repr=False)

    @property
    def height(self) -> int:
        return int(self.walls.shape[0])

    @property
    def width(self) -> int:
        return int(self.walls.shape[1])

    @classmethod
    def from_walls(cls, walls: np.ndarray, neighbors: np.ndarray | None = None) -> GridLayout:
        """A layout for ``walls`` (``neighbors`` may pass a move table already computed)."""
        walls = np.asarray(walls, dtype=bool)
        if walls.ndim != 2:
            raise ValueError(f"walls must be a 2-D boolean grid, got shape {walls.shape}")
        walls = walls.copy()
        walls.setflags(write=False)
        neighbors = move_table(walls) if neighbors is None else neighbors.copy()
        neighbors.setflags(write=False)
        return cls(walls=walls, neighbors=neighbors)

    @functools.cached_property
    def neighbor_lists(self) -> list[list[int]]:
        """``neighbors`` as nested Python lists, for fast scalar look-ups in step loops."""
        return self.neighbors.tolist()

    def free_cells(self) -> np.ndarray:
        """Flat indices of the cells that are not walls, in row-major order."""
        return np.flatnonzero(~self.walls.ravel())

    def distances_from(self, cell: int) -> np.ndarray:
        """Shortest-path move counts from ``cell`` to every cell (-1 where unreachable)."""
        return bfs_distances(self.neighbors, cell)


def move_table(walls: np.ndarray) -> np.ndarray:
    """The ``(H*W, 4)`` table of move targets for a wall grid (-1 for illegal moves)."""
    height, width = walls.shape
    free = ~walls
    index = np.arange(height * width, dtype=np.int64).reshape(height, width)
    table = np.full((height, width, NUM_MOVES), -1, dtype=np.int64)
    both = free[1:] & free[:-1]  # vertical pairs of free cells
    table[1:, :, 0] = np.where(both, index[:-1], -1)  # up
    table[:-1, :, 1] = np.where(both, index[1:], -1)  # down
    both = free[:, 1:] & free[:, :-1]  # horizontal pairs
    table[:, 1:, 2] = np.where(both, index[:, :-1], -1)  # left
    table[:, :-1, 3] = np.where(both, index[:, 1:], -1)  # right
    return table.reshape(height * width, NUM_MOVES)


def bfs_distances(neighbors: np.ndarray, start: int) -> np.ndarray:
    """Breadth-first move counts from ``start`` over a move table (-1 where unreachable)."""
    dist = np.full(neighbors.shape[0], -1, dtype=np.int64)
    dist[start] = 0
    queue = deque([start])
    table = neighbors.tolist()
    dist_list = dist.tolist()
    while queue:
        cell = queue.popleft()
        d = dist_list[cell] + 1
        for nxt in table[cell]:
            if nxt >= 0 and dist_list[nxt] < 0:
                dist_list[nxt] = d
                queue.append(nxt)
    return np.asarray(dist_list, dtype=np.int64)


def all_pairs_distances(neighbors: np.ndarray) -> np.ndarray:
    """``(cells, cells)`` move counts between every pair of cells over a move table (-1
    where unreachable): a breadth-first search from every cell at once, one frontier
    expansion per distance."""
    cells = neighbors.shape[0]
    dist = np.full((cells, cells), -1, dtype=np.int64)
    frontier = np.eye(cells, dtype=bool)
    dist[frontier] = 0
    seen = frontier.copy()
    # The cells one move from cell c are neighbors[c]; moves are symmetric, so a cell joins
    # the frontier when any of its neighbours was in it.
    valid = neighbors >= 0
    index = np.where(valid, neighbors, 0)
    d = 0
    while frontier.any():
        d += 1
        reached = (frontier[:, index] & valid[None]).any(2) & ~seen
        dist[reached] = d
        seen |= reached
        frontier = reached
    return dist


def free_cells_connected(walls: np.ndarray, neighbors: np.ndarray | None = None) -> bool:
    """Whether every free cell can reach every other free cell."""
    free = np.flatnonzero(~walls.ravel())
    if free.size == 0:
        return False
    table = move_table(walls) if neighbors is None else neighbors
    dist = bfs_distances(table, int(free[0]))
    return bool((dist[free] >= 0).all())


def _wall_piece(rng: np.random.Generator) -> list[tuple[int, int]]:
    """Cells of one wall piece relative to its anchor: 3 or 4 cells, straight or L-shaped."""
    length = int(rng.integers(3, 5))
    bent = bool(rng.random() >= 0.5)
    turns = int(rng.integers(4))
    mirror = bool(rng.random() < 0.5)
    return _piece_cells(length, bent, turns, mirror)


def _piece_cells(length: int, bent: bool, turns: int, mirror: bool) -> list[tuple[int, int]]:
    """The cells of the piece that :func:`_wall_piece`'s four draws describe (each of its
    ``2 * 2 * 4 * 2`` outcomes is equally likely)."""
    if not bent:
        cells = [(0, i) for i in range(length)]
    else:
        cells = [(0, i) for i in range(length - 1)] + [(1, length - 2)]
    # One of four rotations, then an optional mirror, so every orientation is possible.
    for _ in range(turns):
        cells = [(c, -r) for r, c in cells]
    if mirror:
        cells = [(r, -c) for r, c in cells]
    min_r = min(r for r, _ in cells)
    min_c = min(c for _, c in cells)
    return [(r - min_r, c - min_c) for r, c in cells]


def _fitting_wall_piece(rng: np.random.Generator, height: int, width: int) -> list[tuple[int, int]]:
    """A random wall piece that fits on a ``height`` x ``width`` grid, re-drawn until it
    does, so that every requested piece is placed (the 3-cell L fits any 2x2 grid)."""
    for _ in range(_MAX_WALL_DRAWS):
        piece = _wall_piece(rng)
        if max(r for r, _ in piece) < height and max(c for _, c in piece) < width:
            return piece
    raise ValueError(f"no wall piece fits on a {height}x{width} grid")


def draw_layout(
    rng: np.random.Generator, height: int, width: int, num_pieces: int, min_free: int
) -> GridLayout:
    """Random wall pieces, re-drawn until the free cells are connected and at least
    ``min_free`` cells are free."""
    for _ in range(_MAX_WALL_DRAWS):
        walls = np.zeros((height, width), dtype=bool)
        for _ in range(num_pieces):
            piece = _fitting_wall_piece(rng, height, width)
            span_r = max(r for r, _ in piece) + 1
            span_c = max(c for _, c in piece) + 1
            r0 = int(rng.integers(0, height - span_r + 1))
            c0 = int(rng.integers(0, width - span_c + 1))
            for r, c in piece:
                walls[r0 + r, c0 + c] = True
        if int((~walls).sum()) < min_free:
            continue
        neighbors = move_table(walls)
        if free_cells_connected(walls, neighbors):
            return GridLayout.from_walls(walls, neighbors)
    raise ValueError(
        f"could not place {num_pieces} wall pieces on a {height}x{width} grid with at least "
        f"{min_free} connected free cells after {_MAX_WALL_DRAWS} draws; "
        "use fewer wall pieces or a larger grid"
    )


# -- batched layouts ------------------------------------------------------------------------
@functools.cache
def wall_placements(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every placement of one wall piece on a ``height`` x ``width`` grid as ``(P, H*W)``
    boolean cell masks, with the probability that :func:`draw_layout` places a piece there:
    the piece's share of :func:`_wall_piece`'s 32 equally likely outcomes among those that
    fit (it re-draws until one fits), times one over the number of its anchors."""
    weights: dict[frozenset[tuple[int, int]], int] = {}
    for length in (3, 4):
        for bent in (False, True):
            for turns in range(4):
                for mirror in (False, True):
                    cells = _piece_cells(length, bent, turns, mirror)
                    if max(r for r, _ in cells) < height and max(c for _, c in cells) < width:
                        key = frozenset(cells)
                        weights[key] = weights.get(key, 0) + 1
    if not weights:
        raise ValueError(f"no wall piece fits on a {height}x{width} grid")
    total = sum(weights.values())
    masks, probs = [], []
    for cells, weight in sorted(weights.items(), key=lambda kv: sorted(kv[0])):
        span_r = max(r for r, _ in cells) + 1
        span_c = max(c for _, c in cells) + 1
        anchors = (height - span_r + 1) * (width - span_c + 1)
        for r0 in range(height - span_r + 1):
            for c0 in range(width - span_c + 1):
                mask = np.zeros((height, width), dtype=bool)
                for r, c in cells:
                    mask[r0 + r, c0 + c] = True
                masks.append(mask.reshape(-1))
                probs.append(weight / total / anchors)
    masks_arr, probs_arr = np.stack(masks), np.asarray(probs)
    masks_arr.setflags(write=False)
    probs_arr.setflags(write=False)
    return masks_arr, probs_arr


@functools.cache
def _placement_cdf(height: int, width: int) -> np.ndarray:
    return np.cumsum(wall_placements(height, width)[1])


def free_cells_connected_batch(walls: np.ndarray) -> np.ndarray:
    """``(B,)``: whether the free cells of each ``(B, H, W)`` wall grid are connected (and
    not empty). One flood fill for the whole batch: the grids, each padded with a wall row
    and a wall column, are packed into one Python integer, one bit per cell, and grown one
    move at a time with shifts until nothing changes."""
    bsz, height, width = walls.shape
    if bsz == 0:
        return np.zeros(0, dtype=bool)
    free = np.zeros((bsz, height + 1, width + 1), dtype=bool)
    free[:, :height, :width] = ~walls
    flat = free.reshape(bsz, -1)
    rows = np.arange(bsz)
    first = flat.argmax(1)
    seed = np.zeros_like(flat)
    seed[rows, first] = flat[rows, first]
    size = flat.size

    def pack(bits: np.ndarray) -> int:
        return int.from_bytes(np.packbits(bits.reshape(-1), bitorder="little").tobytes(), "little")

    grid, reached = pack(flat), pack(seed)
    stride = width + 1
    while True:
        grown = (
            reached | (reached << 1) | (reached >> 1) | (reached << stride) | (reached >> stride)
        ) & grid
        if grown == reached:
            break
        reached = grown
    raw = np.frombuffer(reached.to_bytes((size + 7) // 8, "little"), dtype=np.uint8)
    bits = np.unpackbits(raw, bitorder="little")[:size].reshape(flat.shape).astype(bool)
    return (bits == flat).all(1) & flat.any(1)


def move_bits_batch(walls: np.ndarray) -> np.ndarray:
    """``(B, H*W)`` uint8 move legality of ``(B, H, W)`` wall grids: bit ``a`` is set when
    move ``a`` (up, down, left, right) is legal from the cell, as in :func:`move_table`."""
    free = ~walls
    bits = np.zeros(walls.shape, dtype=np.uint8)
    vert = (free[:, 1:] & free[:, :-1]).view(np.uint8)
    bits[:, 1:] |= vert  # up
    bits[:, :-1] |= vert << 1  # down
    horiz = (free[:, :, 1:] & free[:, :, :-1]).view(np.uint8)
    bits[:, :, 1:] |= horiz << 2  # left
    bits[:, :, :-1] |= horiz << 3  # right
    return bits.reshape(walls.shape[0], -1)


def draw_walls_batch(
    rng: np.random.Generator,
    batch_size: int,
    height: int,
    width: int,
    num_pieces: int,
    min_free: int,
) -> np.ndarray:
    """``(B, H, W)`` wall grids, each drawn as :func:`draw_layout` draws one: ``num_pieces``
    independent piece placements, the grid re-drawn until its free cells are connected and
    at least ``min_free`` are free. Candidates are drawn for the whole batch at once and the
    accepted ones fill the batch in order (the same distribution, not the same numbers).
    Grids of at most 64 cells go through :func:`draw_wall_bits_batch` (the same numbers)."""
    cells = height * width
    if cells <= BOARD_BITS:
        bits = draw_wall_bits_batch(rng, batch_size, height, width, num_pieces, min_free)
        return bits_to_cells(bits, cells).reshape(batch_size, height, width)
    out = np.zeros((batch_size, cells), dtype=bool)
    if batch_size == 0:
        return out.reshape(batch_size, height, width)
    if num_pieces == 0:
        if cells < min_free:
            raise ValueError(f"a {height}x{width} grid has fewer than {min_free} cells")
        return out.reshape(batch_size, height, width)
    masks = wall_placements(height, width)[0]
    filled, drawn, accepted = 0, 0, 0
    while filled < batch_size:
        need = batch_size - filled
        draws = _draw_placements(rng, height, width, num_pieces, need, batch_size, drawn, accepted)
        count = len(draws)
        walls = masks[draws].any(1)
        ok = (cells - walls.sum(1)) >= min_free
        ok[ok] = free_cells_connected_batch(walls[ok].reshape(-1, height, width))
        good = walls[ok][:need]
        out[filled : filled + len(good)] = good
        filled += len(good)
        drawn += count
        accepted += int(ok.sum())
        _check_draws(drawn, accepted, batch_size, height, width, num_pieces, min_free)
    return out.reshape(batch_size, height, width)


def _draw_placements(
    rng: np.random.Generator,
    height: int,
    width: int,
    num_pieces: int,
    need: int,
    batch_size: int,
    drawn: int,
    accepted: int,
) -> np.ndarray:
    """``(count, num_pieces)`` placement indices of enough candidate grids for ``need`` more
    accepted ones (of ``batch_size``), by the running acceptance rate so far."""
    cdf = _placement_cdf(height, width)
    rate = (accepted + 1) / (drawn + 2)  # a running estimate of the acceptance rate
    count = min(int(need / rate * 1.2) + 8, 64 * batch_size + 64)
    x = rng.random((count, num_pieces))
    x *= cdf[-1]
    guide = _placement_guide(height, width)
    draws = np.searchsorted(cdf, x, side="right") if guide is None else _guided_search(guide, x)
    return np.minimum(draws, len(cdf) - 1)


@functools.cache
def _placement_guide(height: int, width: int) -> tuple[np.ndarray, np.ndarray, float] | None:
    """A guide table for ``searchsorted(cdf, x, side="right")`` over the placement CDF:
    ``x`` falls in bucket ``int(x * scale)``, and ``start[j]`` counts the CDF values up to
    the start of bucket ``j - 1``. Buckets are at most half the smallest gap between CDF
    values wide, so at most two values lie between that point and ``x`` (see
    :func:`_guided_search`). None when the table would be too large."""
    cdf = _placement_cdf(height, width)
    gap = float(np.diff(cdf, prepend=0.0).min())
    if gap <= 0 or cdf[-1] / gap > 1 << 20:
        return None
    buckets = int(2 * cdf[-1] / gap) + 1
    scale = buckets / float(cdf[-1])
    start = np.searchsorted(cdf, (np.arange(buckets + 2) - 1) / scale, side="right")
    padded = np.append(cdf, [np.inf, np.inf])
    start.setflags(write=False)
    padded.setflags(write=False)
    return start, padded, scale


def _guided_search(guide: tuple[np.ndarray, np.ndarray, float], x: np.ndarray) -> np.ndarray:
    """``searchsorted(cdf, x, side="right")`` (the number of CDF values <= x, for x in
    ``[0, cdf[-1]]``) by :func:`_placement_guide`'s table: the same results without a
    branchy binary search per value."""
    start, padded, scale = guide
    index = np.take(start, (x * scale).astype(np.intp))
    index += np.take(padded, index) <= x
    index += np.take(padded, index) <= x
    return index


def _check_draws(
    drawn: int,
    accepted: int,
    batch_size: int,
    height: int,
    width: int,
    num_pieces: int,
    min_free: int,
) -> None:
    if drawn > _MAX_WALL_DRAWS * batch_size and accepted == 0:
        raise ValueError(
            f"could not place {num_pieces} wall pieces on a {height}x{width} grid with at "
            f"least {min_free} connected free cells after {drawn} draws; "
            "use fewer wall pieces or a larger grid"
        )


# -- bitboards: grids of at most 64 cells as one uint64 each (bit = flat cell index) -------------
BOARD_BITS = 64


def cells_to_bits(cells: np.ndarray) -> np.ndarray:
    """``(k,)`` uint64 bitboards of ``(k, H*W)`` boolean grids (``H*W <= 64``)."""
    count, size = cells.shape
    packed = np.zeros((count, 8), dtype=np.uint8)
    packed[:, : (size + 7) // 8] = np.packbits(cells, axis=1, bitorder="little")
    return packed.view("<u8")[:, 0].astype(np.uint64)


def bits_to_cells(bits: np.ndarray, size: int) -> np.ndarray:
    """``(k, size)`` boolean grids of ``(k,)`` uint64 bitboards."""
    raw = bits.astype("<u8").view(np.uint8).reshape(-1, 8)
    return np.unpackbits(raw, axis=1, count=size, bitorder="little").view(bool)


@functools.cache
def _board_masks(height: int, width: int) -> tuple[np.uint64, ...]:
    """Bitboards of every cell, of the cells off the first column, off the last column, off
    the first row and off the last row."""
    index = np.arange(height * width)
    cells = height * width
    return tuple(
        cells_to_bits(sel[None])[0]
        for sel in (
            index >= 0,
            index % width != 0,
            index % width != width - 1,
            index >= width,
            index < cells - width,
        )
    )


@functools.cache
def _placement_bits(height: int, width: int) -> np.ndarray:
    """:func:`wall_placements` as ``(P,)`` uint64 bitboards."""
    bits = cells_to_bits(wall_placements(height, width)[0])
    bits.setflags(write=False)
    return bits


def free_cells_connected_bits(free: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(k,)``: whether the free cells of each bitboard in ``free`` (``(k,)`` uint64, one
    ``height`` x ``width`` grid of at most 64 cells each) are connected (and not empty).

    One flood fill of all boards at once as one Python integer, 64 bits a board: from each
    board's lowest free cell, grown until nothing changes. Moves across a board's edge (into
    the next board's bits) are masked out. Each round fills whole runs: to the right by one
    addition (it carries along consecutive free cells), to the left, up and down by
    doubling shifts (1, 2, 4, ... moves, each through cells all free)."""
    if free.size == 0:
        return np.zeros(0, dtype=bool)
    _, not_first, not_last, not_top, not_bottom = _board_masks(height, width)
    free = free.astype("<u8")

    def big(boards: np.ndarray) -> int:
        return int.from_bytes(boards.tobytes(), "little")

    def doubling(enter: int, step: int, limit: int, lower: bool) -> list[tuple[int, int]]:
        """(shift, the cells a run of moves that long may end on, all its cells enterable)
        for runs of 1, 2, 4, ... moves of ``step`` bits, towards lower bits or higher."""
        out = []
        while step < limit:
            out.append((step, enter))
            enter &= (enter >> step) if lower else (enter << step)
            step *= 2
        return out

    to_right = big(free & not_first)  # cells a right-move may enter
    lefts = doubling(big(free & not_last), 1, width, lower=True)
    ups = doubling(big(free & not_bottom), width, height * width, lower=True)
    downs = doubling(big(free & not_top), width, height * width, lower=False)
    reached = big(free & (~free + np.uint64(1)))  # each board's lowest free cell
    while True:
        # (to_right | reached) + reached carries from every reached cell along the run of
        # free cells to its right: the bits that flip are that run (and the cell after it).
        run = to_right | reached
        grown = reached | (((run + reached) ^ run) & to_right)
        for shift, enter in lefts:
            grown |= (grown >> shift) & enter
        for shift, enter in ups:
            grown |= (grown >> shift) & enter
        for shift, enter in downs:
            grown |= (grown << shift) & enter
        if grown == reached:
            break
        reached = grown
    done = np.frombuffer(reached.to_bytes(free.size * 8, "little"), dtype="<u8")
    return (done == free) & (free != 0)


def draw_wall_bits_batch(
    rng: np.random.Generator,
    batch_size: int,
    height: int,
    width: int,
    num_pieces: int,
    min_free: int,
) -> np.ndarray:
    """:func:`draw_walls_batch` for grids of at most 64 cells, as ``(B,)`` uint64 bitboards
    (the same random numbers, so the same walls)."""
    cells = height * width
    if cells > BOARD_BITS:
        raise ValueError(f"a {height}x{width} grid has more than {BOARD_BITS} cells")
    out = np.zeros(batch_size, dtype=np.uint64)
    if batch_size == 0:
        return out
    if num_pieces == 0:
        if cells < min_free:
            raise ValueError(f"a {height}x{width} grid has fewer than {min_free} cells")
        return out
    pieces = _placement_bits(height, width)
    every = _board_masks(height, width)[0]
    filled, drawn, accepted = 0, 0, 0
    while filled < batch_size:
        need = batch_size - filled
        draws = _draw_placements(rng, height, width, num_pieces, need, batch_size, drawn, accepted)
        count = len(draws)
        walls = np.bitwise_or.reduce(pieces[draws], axis=1)
        free = walls ^ every
        ok = np.bitwise_count(free) >= min_free
        ok[ok] = free_cells_connected_bits(free[ok], height, width)
        good = walls[ok][:need]
        out[filled : filled + len(good)] = good
        filled += len(good)
        drawn += count
        accepted += int(ok.sum())
        _check_draws(drawn, accepted, batch_size, height, width, num_pieces, min_free)
    return out


@functools.cache
def _move_shifts(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per move (up, down, left, right): the left shift and right shift that bring each
    cell's neighbour in that direction onto the cell, and the cells the move may start from
    (off the first column for left, off the last for right)."""
    every, not_first, not_last = _board_masks(height, width)[:3]
    left = np.asarray([width, 0, 1, 0], dtype=np.uint64)
    right = np.asarray([0, width, 0, 1], dtype=np.uint64)
    return left, right, np.asarray([every, every, not_first, not_last], dtype=np.uint64)


def move_bits_from_bits(walls: np.ndarray, height: int, width: int) -> np.ndarray:
    """:func:`move_bits_batch` of ``(B,)`` uint64 wall bitboards: ``(B, H*W)`` uint8."""
    left, right, start = _move_shifts(height, width)
    free = (walls ^ _board_masks(height, width)[0])[:, None]
    moves = free << left  # (B, 4): bit c set when move a from cell c is legal
    moves >>= right
    moves &= start
    moves &= free
    raw = moves.astype("<u8", copy=False).view(np.uint8).reshape(walls.size, NUM_MOVES, 8)
    per_move = np.unpackbits(raw, axis=2, count=height * width, bitorder="little")
    return np.einsum("bac,a->bc", per_move, _MOVE_WEIGHTS)  # sum of per_move[a] << a


_MOVE_WEIGHTS = np.asarray([1 << a for a in range(NUM_MOVES)], dtype=np.uint8)
