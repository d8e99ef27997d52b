"""Small checks shared by the baselines' config dataclasses.

The LOLA and PR2 configs (grid and matrix-game ones alike) validate the same kinds of field:
ints that must not be bools, finite numbers, a conv stack's channel counts and a subset of a
game's training population. One copy of each check lives here so that they accept the same
values and refuse the rest with the same message, ``"<where>.<field>=<value!r>: expected
<what>"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import hop_envs
from baselines.focal_env import training_population


def is_int(value: object) -> bool:
    """Whether ``value`` is an int (Python or NumPy), not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_finite(value: object) -> bool:
    """Whether ``value`` is a finite int or float (Python or NumPy), not a bool."""
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(value)
    )


#: The games the opponent-aware learners train on.
GRID_GAMES = ("hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0")


def grid_game(
    where: str, env_id: object, env_kwargs: object, seed: object
) -> tuple[str, dict[str, Any]]:
    """A learner config's game: the full id of one of :data:`GRID_GAMES` and its arguments as
    a dict, with the config's ``seed`` checked to be an int >= 0.

    Raises ``ValueError`` naming ``where`` and the field, the value and what was expected.
    """
    try:
        full = hop_envs.full_env_id(env_id) if isinstance(env_id, str) else None
    except Exception:  # any failure to resolve the id is a bad value
        full = None
    if full not in GRID_GAMES:
        raise ValueError(f"{where}.env_id={env_id!r}: expected one of {list(GRID_GAMES)}")
    if not isinstance(env_kwargs, Mapping):
        raise ValueError(
            f"{where}.env_kwargs={env_kwargs!r}: expected a mapping of the game's arguments"
        )
    if not is_int(seed) or seed < 0:
        raise ValueError(f"{where}.seed={seed!r}: expected an int >= 0")
    return full, dict(env_kwargs)


def int_sizes(where: str, field: str, value: object) -> tuple[int, ...]:
    """``value``, a sequence of ints >= 1 such as a conv stack's channel counts, as a tuple.

    Raises ``ValueError`` naming ``where.field`` and the value for anything else (a string
    included).
    """
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence)
        or not all(is_int(c) and c >= 1 for c in value)
    ):
        raise ValueError(
            f"{where}.{field}={value!r}: expected a sequence of ints >= 1, e.g. (16, 16)"
        )
    return tuple(int(c) for c in value)


def training_coplayers(
    where: str, field: str, env_id: str, names: object
) -> tuple[str, ...] | None:
    """``names`` as a tuple: ``None``, or a non-empty sequence of co-player names that are all
    in ``env_id``'s training population (:func:`baselines.focal_env.training_population`;
    held-out co-players are refused).

    Raises ``ValueError`` naming ``where.field``, the value and the allowed names otherwise.
    """
    if names is None:
        return None
    allowed = training_population(env_id)
    if (
        isinstance(names, str)
        or not isinstance(names, Sequence)
        or not names
        or any(name not in allowed for name in names)
    ):
        raise ValueError(
            f"{where}.{field}={names!r}: expected None or a non-empty sequence of the names "
            f"{list(allowed)}"
        )
    return tuple(names)
