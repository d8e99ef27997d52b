"""Reachable positions of a game, for timing and testing decisions away from the start."""

from __future__ import annotations

import numpy as np

from hop_envs.core.rules import GridRules, check_int
from hop_envs.core.state import GridState

MAX_RANDOM_STEPS = 7


def random_positions(rules: GridRules, count: int, seed: int) -> list[GridState]:
    """``count`` states reached by 0 to ``MAX_RANDOM_STEPS`` joint steps of uniformly random
    legal play from a fresh reset, each with the episode running and seat 0 still in it (a
    seat that can decide). One ``seed`` gives the same list."""
    check_int("random_positions count", count, 1)
    check_int("random_positions seed", seed, 0)
    rng = np.random.default_rng(seed)
    out: list[GridState] = []
    while len(out) < count:
        state = rules.reset(rng)
        for _ in range(int(rng.integers(0, MAX_RANDOM_STEPS + 1))):
            joint = [int(rng.choice(np.flatnonzero(m))) for m in rules.action_masks(state)]
            rules.step(state, joint)
            if state.over or not state.active[0]:
                break
        if not state.over and state.active[0]:
            out.append(state)
    return out
