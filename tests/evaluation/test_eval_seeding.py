"""Seeds come from (base seed, scenario, trial) alone, through SeedSequence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.seeding import check_seed, scenario_key, trial_seeds


def test_seeds_are_the_documented_seed_sequence_draws():
    seeds = trial_seeds(7, "msh/selfplay", 2, num_players=4, episodes=3)
    key = scenario_key("msh/selfplay")
    words = np.random.SeedSequence(7, spawn_key=(key, 2, 0, 1)).generate_state(2, np.uint32)
    assert seeds.env[1] == int(words[0]) + (int(words[1]) << 32)
    words = np.random.SeedSequence(7, spawn_key=(key, 2, 1, 3)).generate_state(2, np.uint32)
    assert seeds.seats[3] == int(words[0]) + (int(words[1]) << 32)
    assert len(seeds.env) == 3 and len(seeds.seats) == 4


def test_scenario_key_is_stable_across_runs():
    # sha256("msh/selfplay"), first 16 bytes read little-endian: fixed, unlike hash()
    import hashlib

    digest = hashlib.sha256(b"msh/selfplay").digest()
    assert scenario_key("msh/selfplay") == int.from_bytes(digest[:16], "little")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), trial=st.integers(0, 1000), k=st.integers(1, 12))
def test_more_episodes_keep_the_earlier_seeds(seed, trial, k):
    short = trial_seeds(seed, "s", trial, 4, k)
    long = trial_seeds(seed, "s", trial, 4, k + 3)
    assert long.env[:k] == short.env and long.seats == short.seats


def test_different_trials_scenarios_and_seeds_get_different_streams():
    base = trial_seeds(0, "a", 0, 4, 5)
    others = [
        trial_seeds(1, "a", 0, 4, 5),
        trial_seeds(0, "b", 0, 4, 5),
        trial_seeds(0, "a", 1, 4, 5),
    ]
    for other in others:
        assert not set(other.env) & set(base.env)
        assert not set(other.seats) & set(base.seats)
    assert len(set(base.env)) == 5 and len(set(base.seats)) == 4


@pytest.mark.parametrize("bad", [-1, 2**63, 1.5, "3", True, None])
def test_bad_seeds_are_refused_with_the_value(bad):
    with pytest.raises(ValueError, match=r"--seed must be"):
        check_seed(bad, "--seed")
