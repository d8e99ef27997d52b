"""Every random seed of a trial, derived from (base seed, scenario name, trial).

A trial is a pure function of ``(agent, scenario, seed, trial)``: the env reset seed of each
episode, each seat's agent seed and the background sampling all come from
:class:`numpy.random.SeedSequence` keyed by those values, never from a shared or global RNG,
so results do not depend on the backend, the worker count or the order jobs run in. The
agent is deliberately not part of the key: every agent meets the same layouts and the same
co-players (common random numbers), which makes agents directly comparable.

Each episode's env seed has its own key, so episode ``e`` of a trial is the same whatever the
number of episodes run; a larger ``--episodes`` extends stored trials instead of changing them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

#: Largest base seed accepted (seeds are stored in SQLite's signed 64-bit INTEGER).
MAX_SEED = 2**63 - 1

# Stream tags inside a trial's key.
_ENV, _SEATS, _SAMPLING = 0, 1, 2


def check_seed(seed: object, where: str = "seed") -> int:
    """``seed`` as an int in ``[0, 2**63)``, or a ``ValueError`` naming ``where``."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"{where} must be an integer in [0, {MAX_SEED}], got {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"{where} must be in [0, {MAX_SEED}], got {int(seed)}")
    return int(seed)


def scenario_key(name: str) -> int:
    """A stable 128-bit integer for a scenario name (Python's ``hash`` is salted per run)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:16], "little")


@dataclass(frozen=True)
class TrialSeeds:
    """The seeds of one trial: env reset per episode, agent reset per seat, sampling."""

    env: tuple[int, ...]
    seats: tuple[int, ...]
    sampling: np.random.SeedSequence


def _draw(seed: int, key: tuple[int, ...]) -> int:
    words = np.random.SeedSequence(seed, spawn_key=key).generate_state(2, np.uint32)
    return int(words[0]) | (int(words[1]) << 32)


def trial_seeds(
    seed: int, scenario: str, trial: int, num_players: int, episodes: int
) -> TrialSeeds:
    """All seeds of trial ``trial`` of ``scenario`` under base seed ``seed``."""
    seed = check_seed(seed)
    if trial < 0 or episodes < 0 or num_players < 1:
        raise ValueError(
            f"trial_seeds needs trial >= 0, episodes >= 0 and num_players >= 1, got "
            f"trial={trial}, episodes={episodes}, num_players={num_players}"
        )
    key = scenario_key(scenario)
    return TrialSeeds(
        env=tuple(_draw(seed, (key, trial, _ENV, e)) for e in range(episodes)),
        seats=tuple(_draw(seed, (key, trial, _SEATS, s)) for s in range(num_players)),
        sampling=np.random.SeedSequence(seed, spawn_key=(key, trial, _SAMPLING)),
    )
