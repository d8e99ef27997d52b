"""Held-out stag-hunt co-players on hand-built grids: the exact moves, the step at which they
switch, and what they remember across the episodes of a trial (worked out by hand in the
comments), plus their likeness to ``nearest-stag``/``nearest-hare`` in the first steps."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from coplayer_grids import make_obs
from heldout_play import STAG_ENV, PerEpisode, Stay, hand_trial, play_trial, seat_info

from hop_envs.coplayers import (
    Alternator,
    NearestHare,
    NearestStag,
    PatientStag,
    RandomCoplayer,
    Reciprocator,
    StagFollower,
)

UP, DOWN, LEFT, RIGHT, STAY, HUNT_STAG, HUNT_HARE = range(7)


# -- patient-stag ----------------------------------------------------------------------------
# Row 0: stag at (0,0), hare at (0,3). The patient hunter starts on the stag; its partner is
# a nearest-stag two moves away (left, left), so it first hunts at step 2.
ROAD = ["S..H", "...."]


def test_patient_stag_gives_up_before_a_late_partner_arrives():
    # patience 2: hunts alone at steps 0 and 1 (both fail), gives up at step 2 and walks
    # right three times to the hare, which it hunts at step 5. The partner hunts alone.
    patient = PatientStag(patience=2)
    (log,) = hand_trial("stag", ROAD, [(0, 0), (0, 2)], [patient, NearestStag()], 1, max_cycles=10)
    assert log.of("player_0") == [HUNT_STAG, HUNT_STAG, RIGHT, RIGHT, RIGHT, HUNT_HARE]
    assert [step["player_0"]["failed_stag_hunt"] for step in log.infos[:2]] == [True, True]
    assert log.captured("player_0") == "hare"
    assert log.of("player_1") == [LEFT, LEFT] + [HUNT_STAG] * 8
    assert log.captured("player_1") is None
    assert log.rewards == {"player_0": 1.0, "player_1": 0.0}


def test_patient_stag_waits_long_enough_for_the_partner():
    # patience 3: its third hunt (step 2) is the partner's first, so they capture together.
    (log,) = hand_trial("stag", ROAD, [(0, 0), (0, 2)], [PatientStag(patience=3), NearestStag()], 1)
    assert log.of("player_0") == [HUNT_STAG, HUNT_STAG, HUNT_STAG]
    assert log.captured("player_0") == log.captured("player_1") == "stag"
    assert log.rewards == {"player_0": 5.0, "player_1": 5.0}


def test_patient_stag_is_patient_again_in_every_episode():
    # Alone with a player who stays, it gives up after its patience in each episode afresh.
    logs = hand_trial(
        "stag", ROAD, [(0, 0), (0, 2)], [PatientStag(patience=2), Stay()], 3, max_cycles=10
    )
    for log in logs:
        assert log.of("player_0") == [HUNT_STAG, HUNT_STAG, RIGHT, RIGHT, RIGHT, HUNT_HARE]


def test_patient_stag_goes_for_a_hare_when_no_stag_is_left():
    # The stag at (0,0) is gone: nearest-stag would stay; patient-stag walks to the hare.
    obs = make_obs("stag", ["s.H", "..."], [(0, 1), (1, 0)])
    player = PatientStag()
    player.reset(seed=0)
    assert player.act(obs) == RIGHT


# -- alternator ------------------------------------------------------------------------------
# Stag at (0,0), hare at (0,2), the alternator between them at (0,1); its partner, a
# nearest-stag at (1,1), reaches the stag in two moves and hunts at step 2.
PAIR = ["S.H", "..."]


@pytest.mark.parametrize(
    ("start", "kinds"),
    [("stag", ["stag", "hare", "stag", "hare"]), ("hare", ["hare", "stag", "hare", "stag"])],
)
def test_alternator_switches_prey_every_episode(start, kinds):
    logs = hand_trial(
        "stag", PAIR, [(0, 1), (1, 1)], [Alternator(start=start), NearestStag()], 4, max_cycles=6
    )
    assert [log.captured("player_0") for log in logs] == kinds
    # Stag turn: left onto the stag, a lone hunt while the partner arrives, then the joint
    # capture. Hare turn: right onto the hare and hunt it.
    moves = {"stag": [LEFT, HUNT_STAG, HUNT_STAG], "hare": [RIGHT, HUNT_HARE]}
    assert [log.of("player_0") for log in logs] == [moves[kind] for kind in kinds]


def test_two_alternators_hunt_the_stag_together_then_hares_on_random_layouts():
    logs = play_trial(
        STAG_ENV,
        [Alternator(), Alternator()],
        4,
        env_seed=3,
        grid_size=6,
        num_hares=2,
        num_wall_pieces=2,
        max_cycles=40,
    )
    for agent in ("player_0", "player_1"):
        assert [log.captured(agent) for log in logs] == ["stag", "hare", "stag", "hare"]


# -- reciprocator ----------------------------------------------------------------------------
def test_reciprocator_hunts_stag_only_after_another_player_did():
    # The partner plays nearest-hare, stag, stag, hare, hare in episodes 0..4.
    # ep 0 (first="stag"): it hunts the stag alone; the partner takes the hare -> next: hare.
    # ep 1: it takes the hare at step 1 and leaves; the partner then hunts the stag alone
    #       (failed hunts it still observes) -> next: stag.
    # ep 2: both hunt the stag and capture it at step 2 -> next: stag.
    # ep 3: it hunts alone, the partner takes the hare; its own failed hunts do not count
    #       -> next: hare.
    # ep 4: it takes the hare.
    partner = PerEpisode(NearestHare(), NearestStag(), NearestStag(), NearestHare(), NearestHare())
    logs = hand_trial("stag", PAIR, [(0, 1), (1, 1)], [Reciprocator(), partner], 5, max_cycles=6)
    assert [log.captured("player_0") for log in logs] == [None, "hare", "stag", None, "hare"]
    assert logs[0].of("player_0") == [LEFT] + [HUNT_STAG] * 5
    assert logs[1].of("player_0") == [RIGHT, HUNT_HARE]
    assert logs[2].of("player_0") == [LEFT, HUNT_STAG, HUNT_STAG]


def test_reciprocator_can_start_with_hares():
    logs = hand_trial(
        "stag", PAIR, [(0, 1), (1, 1)], [Reciprocator(first="hare"), NearestStag()], 2, max_cycles=6
    )
    # ep 0: hare (the partner hunts the stag alone meanwhile) -> ep 1: stag, captured jointly.
    assert [log.captured("player_0") for log in logs] == ["hare", "stag"]


def test_reciprocator_needs_its_seat_only_to_observe():
    obs = make_obs("stag", PAIR, [(0, 1), (1, 1)])
    player = Reciprocator()
    player.reset(seed=0)
    assert player.act(obs) == LEFT  # acting needs no seat
    step = SimpleNamespace(infos={"player_1": {"captured": None, "failed_stag_hunt": True}})
    with pytest.raises(RuntimeError, match=r"'reciprocator'.*needs its seat.*seat=None"):
        player.observe(step)


def test_reciprocator_reads_only_the_other_players_events():
    # A transition of a step after it left the game (its own key is absent), then one where
    # only it hunted the stag: the first counts, the second does not.
    player = Reciprocator()
    obs = make_obs("stag", PAIR, [(0, 1), (1, 1)])
    player.reset(seed=0, seat=seat_info(STAG_ENV, 0))
    player.observe(SimpleNamespace(infos={"player_1": {"captured": "stag", "prey_id": 0}}))
    player.end_episode()
    assert player.act(obs) == LEFT  # stag
    player.observe(SimpleNamespace(infos={"player_0": {"failed_stag_hunt": True}}))
    player.end_episode()
    assert player.act(obs) == RIGHT  # hare


# -- stag-follower ---------------------------------------------------------------------------
# Hare at (0,0), stag at (0,4); the follower starts at (0,1).
LANE = ["H...S", "....."]


def test_stag_follower_waits_on_a_hare_then_follows_the_leader():
    # t0: nobody on the stag, so it steps left onto the hare; the leader (nearest-stag at
    # (1,4)) steps up onto the stag. t1: it sees the leader there and walks right four
    # times; the leader hunts alone meanwhile. t5: both hunt and capture the stag.
    (log,) = hand_trial(
        "stag", LANE, [(0, 1), (1, 4)], [StagFollower(), NearestStag()], 1, max_cycles=10
    )
    assert log.of("player_0") == [LEFT, RIGHT, RIGHT, RIGHT, RIGHT, HUNT_STAG]
    assert log.captured("player_0") == log.captured("player_1") == "stag"


def test_stag_follower_takes_the_hare_when_nobody_leads():
    # On the hare from step 1, it stays (no hunt) until step wait=3, then hunts it.
    (log,) = hand_trial("stag", LANE, [(0, 1), (1, 4)], [StagFollower(wait=3), Stay()], 1)
    assert log.of("player_0") == [LEFT, STAY, STAY, HUNT_HARE]
    assert log.captured("player_0") == "hare"


def test_stag_follower_follows_a_player_already_on_the_stag():
    # The other player stands on the stag from the start (and never hunts): the follower
    # walks right three times and hunts, alone, every step after.
    (log,) = hand_trial("stag", LANE, [(0, 1), (0, 4)], [StagFollower(), Stay()], 1, max_cycles=6)
    assert log.of("player_0") == [RIGHT, RIGHT, RIGHT, HUNT_STAG, HUNT_STAG, HUNT_STAG]


def test_stag_follower_forgets_the_leader_between_episodes():
    # ep 0: a nearest-stag leads (as above). ep 1: the other player stays where it is.
    partner = PerEpisode(NearestStag(), Stay())
    logs = hand_trial(
        "stag", LANE, [(0, 1), (1, 4)], [StagFollower(wait=3), partner], 2, max_cycles=10
    )
    assert logs[0].captured("player_0") == "stag"
    assert logs[1].of("player_0") == [LEFT, STAY, STAY, HUNT_HARE]


# -- the first steps do not tell them apart ---------------------------------------------------
def first_episode(player, seed: int = 5) -> list[dict[str, int]]:
    """Seat 0's first episode on a random walled layout among hare hunters and a random."""
    players = [player, NearestHare(), NearestHare(), RandomCoplayer()]
    (log,) = play_trial(STAG_ENV, players, 1, env_seed=seed, seeds=[7, 8, 9, 10])
    return log.actions


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "player", [Alternator(), Reciprocator(), PatientStag(patience=1000)], ids=repr
)
def test_first_episode_of_the_stag_hunters_is_nearest_stags(player, seed):
    assert first_episode(player, seed) == first_episode(NearestStag(), seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_patient_stag_is_nearest_stag_until_it_gives_up(seed):
    patient, reference = first_episode(PatientStag(), seed), first_episode(NearestStag(), seed)
    hunts = [t for t, step in enumerate(reference) if step.get("player_0") == HUNT_STAG]
    # Identical up to and including its fourth lone hunt (if the episode gets that far).
    same = hunts[3] + 1 if len(hunts) >= 4 else len(reference)
    assert patient[:same] == reference[:same]
