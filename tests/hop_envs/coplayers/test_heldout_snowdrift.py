"""Held-out snowdrift co-players on hand-built grids and whole episodes: the exact moves, the
step at which they switch, what they remember across episodes (worked out by hand in the
comments), and their likeness to ``cleaner``/``free-rider`` in the first steps."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from coplayer_grids import make_obs
from heldout_play import SNOW_ENV, PerEpisode, Stay, hand_trial, play_trial, seat_info

from hop_envs.coplayers import (
    Cleaner,
    ConditionalCleaner,
    FreeRider,
    LateCleaner,
    LazyCleaner,
    ReciprocalCleaner,
)

UP, DOWN, LEFT, RIGHT, STAY, REMOVE = range(6)

# Two players, each boxed in by walls on a drift of its own: the only legal actions are stay
# and remove, so a free-rider stays and a cleaner removes at once; neither drift can be
# reached from the other cell.
BOXES = ["D#D", "###"]
BOX_SEATS = [(0, 0), (0, 2)]


# -- lazy-cleaner ------------------------------------------------------------------------------
# Drifts at (0,0) and (0,1); the lazy cleaner starts on (0,0), the other player stays at (1,1).
TWO = ["DD", ".."]


def test_lazy_cleaner_removes_its_quota_then_never_again():
    # quota 1: removes (0,0) at step 0, then wanders without ever removing (0,1), even when
    # it stands on it; the episode runs to the time limit with (0,1) still there.
    logs = hand_trial("snow", TWO, [(0, 0), (1, 1)], [LazyCleaner(), Stay()], 3, max_cycles=12)
    for log in logs:
        assert log.removal_steps("player_0") == [0]
        assert REMOVE not in log.of("player_0")[1:]
        assert len(log.actions) == 12


def test_lazy_cleaner_with_quota_two_clears_both():
    # quota 2: removes (0,0), steps right, removes (0,1): no drift is left after step 2.
    (log,) = hand_trial("snow", TWO, [(0, 0), (1, 1)], [LazyCleaner(quota=2), Stay()], 1)
    assert log.of("player_0") == [REMOVE, RIGHT, REMOVE]


@pytest.mark.parametrize("quota", [1, 2])
def test_lazy_cleaners_remove_exactly_their_quota_in_every_episode(quota):
    # Two lazy cleaners and two free-riders, six drifts, walls: each lazy cleaner removes
    # exactly its quota in every episode.
    players = [LazyCleaner(quota=1), LazyCleaner(quota=quota), FreeRider(), FreeRider()]
    logs = play_trial(SNOW_ENV, players, 5, env_seed=11, num_wall_pieces=3)
    for log in logs:
        assert len(log.removal_steps("player_0")) == 1
        assert len(log.removal_steps("player_1")) == quota


# -- late-cleaner -----------------------------------------------------------------------------
def test_late_cleaner_is_a_free_rider_before_delay_and_a_cleaner_after():
    # At (0,0) with the drift at (0,2): free-riding is down, right or stay (1/3 each); the
    # cleaner goes right. With delay 2, steps 0 and 1 free-ride and step 2 cleans.
    obs = make_obs("snow", ["..D", "..."], [(0, 0), (1, 2)])
    player = LateCleaner(delay=2)
    player.reset(seed=0)
    free, clean = [0, 1 / 3, 0, 1 / 3, 1 / 3, 0], [0, 0, 0, 1, 0, 0]
    for step, expected in [(0, free), (1, free), (2, clean), (30, clean)]:
        obs["step"] = np.int64(step)
        np.testing.assert_allclose(player.action_distribution(obs), expected)


def test_late_cleaner_does_not_remove_the_drift_it_stands_on_before_delay():
    obs = make_obs("snow", ["D..", "..."], [(0, 0), (1, 2)])
    assert obs["action_mask"][REMOVE]
    player = LateCleaner()
    player.reset(seed=0)
    np.testing.assert_allclose(player.action_distribution(obs), [0, 1 / 3, 0, 1 / 3, 1 / 3, 0])
    obs["step"] = np.int64(15)
    np.testing.assert_array_equal(player.action_distribution(obs), [0, 0, 0, 0, 0, 1])
    assert player.act(obs) == REMOVE


def test_late_cleaner_needs_the_step():
    obs = make_obs("snow", ["D..", "..."], [(0, 0), (1, 2)])
    del obs["step"]
    player = LateCleaner()
    player.reset(seed=0)
    with pytest.raises(ValueError, match=r"'late-cleaner' reads the time step.*'step'"):
        player.act(obs)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_late_cleaner_is_a_free_rider_for_delay_steps_then_cleans(seed):
    def episode(player):
        (log,) = play_trial(SNOW_ENV, [player, FreeRider()], 1, env_seed=seed, seeds=[3, 4])
        return log

    late, free = episode(LateCleaner(delay=10)), episode(FreeRider())
    assert late.actions[:10] == free.actions[:10]
    assert late.removal_steps("player_0")[0] >= 10


# -- conditional-cleaner ----------------------------------------------------------------------
def test_conditional_cleaner_removes_right_after_another_player_did():
    # t0: the cleaner removes its drift; the conditional cleaner, not yet triggered, stays.
    # t1: it has seen the removal and removes its own drift: the episode is over.
    (log,) = hand_trial("snow", BOXES, BOX_SEATS, [Cleaner(), ConditionalCleaner()], 1)
    assert log.of("player_1") == [STAY, REMOVE]
    assert log.rewards == {"player_0": 8.0, "player_1": 8.0}  # 6 + 6 - 4 each


def test_conditional_cleaner_forgets_the_trigger_between_episodes():
    # ep 0: triggered as above. ep 1: the other player free-rides, so it stays to the end.
    partner = PerEpisode(Cleaner(), FreeRider())
    logs = hand_trial("snow", BOXES, BOX_SEATS, [partner, ConditionalCleaner()], 2, max_cycles=5)
    assert logs[0].of("player_1") == [STAY, REMOVE]
    assert logs[1].of("player_1") == [STAY] * 5


# -- reciprocal-cleaner -----------------------------------------------------------------------
@pytest.mark.parametrize(("threshold", "removals"), [(1, [1, 0, 0, 1, 0]), (2, [1, 0, 0, 0, 0])])
def test_reciprocal_cleaner_cleans_after_the_others_did(threshold, removals):
    # The partner free-rides in episodes 0, 1, 3, 4 and removes its drift in episode 2.
    # ep 0: cleans (first episode); nobody else removed -> free-ride.
    # ep 1: free-rides; nobody removed -> free-ride.
    # ep 2: free-rides; the partner removed one drift -> clean if threshold <= 1.
    # ep 3: cleans (threshold 1) or free-rides (threshold 2); ep 4 free-rides.
    partner = PerEpisode(FreeRider(), FreeRider(), Cleaner(), FreeRider(), FreeRider())
    player = ReciprocalCleaner(threshold=threshold)
    logs = hand_trial("snow", BOXES, BOX_SEATS, [partner, player], 5, max_cycles=3)
    assert [len(log.removal_steps("player_1")) for log in logs] == removals
    assert logs[0].of("player_1") == [REMOVE, STAY, STAY]  # its drift gone, the other boxed
    assert logs[2].removal_steps("player_0") == [0]


def removal(**removers: int | None) -> SimpleNamespace:
    """A transition in which each named player removed the given drift id (or nothing)."""
    return SimpleNamespace(infos={a: {"removed_drift": d} for a, d in removers.items()})


@pytest.mark.parametrize(
    ("steps", "cleans"),
    [
        ([removal(player_0=3, player_1=3)], True),  # a joint removal counts for the other
        ([removal(player_0=2, player_1=None)], False),  # its own removal does not count
        ([removal(player_1=5), removal(player_1=None)], True),  # only the other's entry
    ],
)
def test_reciprocal_cleaner_counts_the_drifts_the_others_took_part_in(steps, cleans):
    obs = make_obs("snow", BOXES, BOX_SEATS, seat=0)
    player = ReciprocalCleaner()
    player.reset(seed=0, seat=seat_info(SNOW_ENV, 0))
    for step in steps:
        player.observe(step)
    player.end_episode()
    player.start_episode()
    assert player.act(obs) == (REMOVE if cleans else STAY)


def test_reciprocal_cleaner_needs_its_seat_to_observe():
    player = ReciprocalCleaner()
    player.reset(seed=0)
    with pytest.raises(RuntimeError, match=r"'reciprocal-cleaner'.*needs its seat"):
        player.observe(removal(player_1=0))


# -- the first steps do not tell them apart ---------------------------------------------------
def first_episode(player, partner, seed: int) -> list[dict[str, int]]:
    (log,) = play_trial(SNOW_ENV, [player, partner], 1, env_seed=seed, seeds=[5, 6])
    return log.actions


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_with_free_riders_the_conditional_cleaner_is_a_free_rider(seed):
    episode = first_episode(ConditionalCleaner(), FreeRider(), seed)
    assert episode == first_episode(FreeRider(), FreeRider(), seed)
    assert len(episode) == 50  # nobody removes anything


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_first_episode_of_the_reciprocal_cleaner_is_cleaners(seed):
    assert first_episode(ReciprocalCleaner(), Stay(), seed) == first_episode(
        Cleaner(), Stay(), seed
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lazy_cleaner_is_a_cleaner_up_to_its_first_removal(seed):
    lazy, cleaner = (
        first_episode(LazyCleaner(), Stay(), seed),
        first_episode(Cleaner(), Stay(), seed),
    )
    first = [step["player_0"] for step in cleaner].index(REMOVE)
    assert lazy[: first + 1] == cleaner[: first + 1]
    assert lazy != cleaner
