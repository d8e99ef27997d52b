"""``random_positions``: decidable, reproducible positions for timing decisions."""

from __future__ import annotations

import numpy as np
import pytest

from hop_envs import SnowdriftConfig, SnowdriftRules, StagHuntConfig, StagHuntRules
from hop_envs.core.positions import MAX_RANDOM_STEPS, random_positions


def same_state(a, b) -> bool:
    return (
        a.t == b.t
        and np.array_equal(a.player_pos, b.player_pos)
        and np.array_equal(a.active, b.active)
        and np.array_equal(a.object_pos, b.object_pos)
        and np.array_equal(a.object_alive, b.object_alive)
        and np.array_equal(a.layout.walls, b.layout.walls)
    )


@pytest.mark.parametrize(
    "rules",
    [StagHuntRules(StagHuntConfig()), SnowdriftRules(SnowdriftConfig())],
    ids=["stag-hunt", "snowdrift"],
)
def test_positions_are_decidable_and_reproducible(rules) -> None:
    states = random_positions(rules, 100, seed=3)
    assert len(states) == 100
    assert all(not s.over and s.active[0] and 0 <= s.t <= MAX_RANDOM_STEPS for s in states)
    # both fresh starts and mid-episode positions occur
    assert any(s.t == 0 for s in states) and any(s.t >= 2 for s in states)
    again = random_positions(rules, 100, seed=3)
    assert all(same_state(a, b) for a, b in zip(states, again, strict=True))
    other = random_positions(rules, 100, seed=4)
    assert not all(same_state(a, b) for a, b in zip(states, other, strict=True))


def test_one_step_episodes_give_only_fresh_starts() -> None:
    # with max_cycles=1 every joint step ends the episode, so only t=0 states can be returned
    rules = StagHuntRules(StagHuntConfig(max_cycles=1))
    states = random_positions(rules, 12, seed=0)
    assert [s.t for s in states] == [0] * 12


@pytest.mark.parametrize(
    ("count", "seed", "message"),
    [(0, 0, "count must be >= 1, got 0"), (2, -1, "seed must be >= 0, got -1"), (1.5, 0, "count")],
)
def test_bad_arguments_are_named(count, seed, message) -> None:
    with pytest.raises(ValueError, match=message):
        random_positions(StagHuntRules(StagHuntConfig()), count, seed)
