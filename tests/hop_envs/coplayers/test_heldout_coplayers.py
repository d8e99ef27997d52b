"""The held-out co-player population: registration, the protocol, arguments, determinism."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from coplayer_grids import make_obs
from heldout_play import SNOW_ENV, STAG_ENV, play_episode, play_trial

import hop_envs
from hop_envs.coplayers import (
    BUILTIN_COPLAYERS,
    HELD_OUT,
    HELDOUT_COPLAYERS,
    TRAINING,
    Alternator,
    ConditionalCleaner,
    LateCleaner,
    LazyCleaner,
    MemoryCoplayer,
    PatientStag,
    ReciprocalCleaner,
    Reciprocator,
    StagFollower,
    coplayer_entry,
    coplayer_names,
    coplayer_population,
    make_coplayer,
)
from hop_envs.registry import UnsupportedEnvError

HELD_OUT_NAMES = {
    STAG_ENV: {"patient-stag", "alternator", "reciprocator", "stag-follower"},
    SNOW_ENV: {"lazy-cleaner", "late-cleaner", "conditional-cleaner", "reciprocal-cleaner"},
}
TRAINING_NAMES = {
    STAG_ENV: {"random", "nearest-stag", "nearest-hare"},
    SNOW_ENV: {"random", "free-rider", "cleaner"},
}
ENV_OF = {name: env for env, names in HELD_OUT_NAMES.items() for name in names}
#: The only held-out co-player that acts from its observation alone.
MEMORYLESS = {"late-cleaner"}


# -- the population --------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", sorted(HELD_OUT_NAMES))
def test_each_env_has_its_held_out_population_apart_from_the_training_one(env_id):
    held_out = set(coplayer_names(env_id, population=HELD_OUT))
    assert held_out == HELD_OUT_NAMES[env_id] and len(held_out) >= 4
    assert set(coplayer_names(env_id, population=TRAINING)) == TRAINING_NAMES[env_id]
    assert not held_out & set(BUILTIN_COPLAYERS)


def test_every_held_out_coplayer_is_registered_as_held_out():
    assert set(HELDOUT_COPLAYERS) == set(ENV_OF)
    for name, cls in HELDOUT_COPLAYERS.items():
        assert cls.name == name
        assert coplayer_population(name) == HELD_OUT
        entry = coplayer_entry(name)
        assert entry.envs == cls.supported_envs == (ENV_OF[name],)
        assert entry.description.startswith(("Stag hunt:", "Snowdrift:"))
        assert type(make_coplayer(name, ENV_OF[name])) is cls


def test_held_out_coplayers_refuse_the_other_game():
    with pytest.raises(UnsupportedEnvError, match=r"'lazy-cleaner' does not support"):
        make_coplayer("lazy-cleaner", STAG_ENV)
    with pytest.raises(ValueError, match=r"'alternator' plays only hop/MarkovStagHunt-v0"):
        Alternator().reset(seed=0, seat=SimpleNamespace(env_id="MarkovSnowdrift-v0"))


@pytest.mark.parametrize("name", sorted(ENV_OF))
def test_only_the_memoryless_one_exposes_action_distribution(name):
    player = make_coplayer(name, ENV_OF[name])
    if name in MEMORYLESS:
        assert callable(player.action_distribution)
        assert not isinstance(player, MemoryCoplayer)
    else:
        assert isinstance(player, MemoryCoplayer)
        assert not hasattr(player, "action_distribution")
        assert not hasattr(type(player), "action_distribution")


def test_late_cleaner_acts_from_its_distribution():
    obs = make_obs("snow", ["..D", "..."], [(0, 0), (1, 2)])
    player = LateCleaner(delay=5)
    player.reset(seed=4)
    draws = {player.act(obs) for _ in range(200)}
    assert draws == set(np.flatnonzero(player.action_distribution(obs)).tolist())


# -- arguments -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (PatientStag, {"patience": 0}, r"'patient-stag': patience must be an integer >= 1, got 0"),
        (PatientStag, {"patience": 2.5}, r"patience must be an integer >= 1, got 2.5"),
        (PatientStag, {"patience": True}, r"patience must be an integer >= 1, got True"),
        (Alternator, {"start": "deer"}, r"'alternator': start must be one of \['stag', 'hare'\]"),
        (Reciprocator, {"first": None}, r"'reciprocator': first must be one of .*got None"),
        (StagFollower, {"wait": -1}, r"'stag-follower': wait must be an integer >= 0, got -1"),
        (LazyCleaner, {"quota": 0}, r"'lazy-cleaner': quota must be an integer >= 1, got 0"),
        (LateCleaner, {"delay": "3"}, r"'late-cleaner': delay must be an integer >= 0, got '3'"),
        (ReciprocalCleaner, {"threshold": 0}, r"'reciprocal-cleaner': threshold must be .* >= 1"),
    ],
)
def test_bad_arguments_name_the_coplayer_the_argument_and_the_value(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_arguments_pass_through_the_registry_and_show_in_repr():
    player = make_coplayer("patient-stag", STAG_ENV, patience=np.int64(7))
    assert player.patience == 7 and type(player.patience) is int
    assert repr(player) == "PatientStag(patience=7)"
    assert repr(make_coplayer("late-cleaner", SNOW_ENV, delay=3)) == "LateCleaner(delay=3)"
    assert repr(ConditionalCleaner()) == "ConditionalCleaner()"
    with pytest.raises(ValueError, match=r"quota must be an integer >= 1, got -2"):
        make_coplayer("lazy-cleaner", SNOW_ENV, quota=-2)


# -- the protocol ----------------------------------------------------------------------------
def line_up(name: str) -> list:
    """Four players of ``name`` (each its own instance)."""
    return [make_coplayer(name, ENV_OF[name]) for _ in range(4)]


def trial_actions(players: list, env_seed: int, seeds: list[int]) -> list[list[dict]]:
    env_id = ENV_OF[type(players[0]).name]
    logs = play_trial(env_id, players, 3, env_seed=env_seed, seeds=seeds, num_wall_pieces=3)
    return [log.actions for log in logs]


@pytest.mark.parametrize("name", sorted(ENV_OF))
def test_trials_are_legal_and_reproducible_and_reset_forgets_the_trial(name):
    # Whole trials on walled layouts (stag hunters leave the game and keep observing);
    # play_trial asserts that no action was illegal.
    players = line_up(name)
    first = trial_actions(players, 2, [1, 2, 3, 4])
    assert trial_actions(line_up(name), 2, [1, 2, 3, 4]) == first  # same seeds, new objects
    assert trial_actions(players, 2, [1, 2, 3, 4]) == first  # reset clears the memory


@pytest.mark.parametrize("name", sorted(ENV_OF))
def test_act_and_observe_need_reset(name):
    player = make_coplayer(name, ENV_OF[name])
    game = "stag" if ENV_OF[name] == STAG_ENV else "snow"
    obs = make_obs(game, ["H." if game == "stag" else "D.", ".."], [(0, 0), (1, 1)])
    with pytest.raises(RuntimeError, match=rf"'{name}'.*reset\(seed"):
        player.act(obs)
    if isinstance(player, MemoryCoplayer):
        with pytest.raises(RuntimeError, match=rf"'{name}'.*reset\(seed"):
            player.observe(SimpleNamespace(infos={}))


@pytest.mark.parametrize("name", sorted(set(ENV_OF) - {"reciprocator", "reciprocal-cleaner"}))
def test_without_a_seat_the_others_play_whole_episodes(name):
    env = hop_envs.make(ENV_OF[name], num_players=2)
    players = [make_coplayer(name, ENV_OF[name]) for _ in range(2)]
    for seed, player in enumerate(players):
        player.reset(seed=seed)
    for episode in range(2):
        observations, _ = env.reset(seed=episode)
        play_episode(env, players, observations)


def test_a_bad_transition_is_named():
    player = Reciprocator()
    player.reset(seed=0, seat=SimpleNamespace(agent_id="player_0", seat=0))
    with pytest.raises(ValueError, match=r"'reciprocator': observe\(\) needs a transition"):
        player.observe(object())


def test_the_seat_index_alone_identifies_the_player():
    player = ReciprocalCleaner()
    player.reset(seed=0, seat=SimpleNamespace(seat=1))
    assert player.own_id() == "player_1"
