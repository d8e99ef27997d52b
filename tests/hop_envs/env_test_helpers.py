"""Helpers shared by the environment tests: hand-drawn grids, hand-built states, and
seeded random legal actions.

A grid picture is a block of text with one line per row: ``#`` is a wall, any other
character a free cell. Positions in tests are ``(row, col)`` pairs, turned into the flat
cell indices the cores use with :func:`flat`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from hop_envs.core import GridLayout, GridRules, GridState
from hop_envs.envs import GridGameEnv

RC = tuple[int, int]


def walls_from(picture: str) -> np.ndarray:
    """The boolean wall grid drawn by ``picture`` (``#`` = wall)."""
    rows = [line.strip() for line in picture.strip().splitlines()]
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(f"every row of a grid picture needs the same width, got {widths}")
    return np.array([[ch == "#" for ch in row] for row in rows], dtype=bool)


def flat(rc: RC, width: int) -> int:
    """The flat cell index of ``(row, col)`` on a grid ``width`` cells wide."""
    r, c = rc
    return r * width + c


def hand_state(
    rules: GridRules,
    picture: str,
    players: Sequence[RC],
    objects: Sequence[RC],
    **kwargs: Any,
) -> GridState:
    """A state with the walls of ``picture``, players and objects at the given cells
    (objects in the rules' object order: stags then hares, or drifts)."""
    walls = walls_from(picture)
    if walls.shape != (rules.height, rules.width):
        raise ValueError(f"picture is {walls.shape}, rules want {(rules.height, rules.width)}")
    return rules.state_from_positions(
        GridLayout.from_walls(walls),
        player_pos=[flat(p, rules.width) for p in players],
        object_pos=[flat(o, rules.width) for o in objects],
        **kwargs,
    )


def install_state(env: GridGameEnv, state: GridState) -> None:
    """Replace the env's current core state, field by field, with ``state``.

    The env must have been reset and ``state`` must have every player active, so that
    ``env.agents`` (every agent after a reset) stays consistent with it.
    """
    if not bool(state.active.all()):
        raise ValueError("install_state needs a state in which every player is active")
    target = env.core_state
    for f in dataclasses.fields(GridState):
        setattr(target, f.name, getattr(state, f.name))


def hand_env(
    env_cls: type[GridGameEnv],
    picture: str,
    players: Sequence[RC],
    objects: Sequence[RC],
    **config: Any,
) -> GridGameEnv:
    """A reset env of ``env_cls`` whose state is the hand-built one; the grid size comes
    from the picture."""
    walls = walls_from(picture)
    env = env_cls(height=int(walls.shape[0]), width=int(walls.shape[1]), **config)
    env.reset(seed=0)
    install_state(env, hand_state(env.rules, picture, players, objects))
    return env


def legal_actions(
    rng: np.random.Generator, observations: dict[str, dict[str, Any]], agents: Sequence[str]
) -> dict[str, int]:
    """One uniformly drawn legal action per agent, from each agent's action mask."""
    return {a: int(rng.choice(np.flatnonzero(observations[a]["action_mask"]))) for a in agents}


def random_actions(rng: np.random.Generator, num_actions: int, num_players: int) -> list[int]:
    """Uniform actions over the whole action set (legal or not) for every seat."""
    return rng.integers(0, num_actions, size=num_players).tolist()
