"""Scenario registry contents, validation and background sampling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.scenarios import (
    SCENARIOS,
    Scenario,
    ScenarioFieldError,
    load_scenario,
    scenario_names,
)
from hop_envs.registry import UnknownNameError

MSH = "hop/MarkovStagHunt-v0"
MSG = "hop/MarkovSnowdrift-v0"


def test_stag_hunt_scenarios_are_the_standard_families():
    assert scenario_names(MSH) == [
        "msh/adapt-1v3-nearest-hare",
        "msh/adapt-1v3-nearest-stag",
        "msh/adapt-1v3-random",
        "msh/adapt-3v1-nearest-hare",
        "msh/adapt-3v1-nearest-stag",
        "msh/adapt-3v1-random",
        "msh/selfplay",
    ]


def test_snowdrift_scenarios_are_the_standard_families():
    assert scenario_names("MarkovSnowdrift-v0") == [
        "msg/adapt-1v3-cleaner",
        "msg/adapt-1v3-free-rider",
        "msg/adapt-1v3-random",
        "msg/adapt-3v1-cleaner",
        "msg/adapt-3v1-free-rider",
        "msg/adapt-3v1-random",
        "msg/selfplay",
    ]


def test_adapt_1v3_has_seat_0_focal_and_three_copies_of_the_coplayer():
    s = load_scenario("msh/adapt-1v3-nearest-stag")
    assert (s.env_id, s.focal_seats, s.background_seats) == (MSH, (0,), (1, 2, 3))
    assert s.background == (("nearest-stag",),) * 3
    assert (s.episodes, s.trials, s.num_players, dict(s.env_kwargs)) == (10, 10, 4, {})


def test_adapt_3v1_and_selfplay_seats():
    s = load_scenario("msg/adapt-3v1-cleaner")
    assert (s.env_id, s.focal_seats, s.background) == (MSG, (0, 1, 2), (("cleaner",),))
    selfplay = load_scenario("msg/selfplay")
    assert selfplay.focal_seats == (0, 1, 2, 3)
    assert selfplay.background == ()
    assert selfplay.is_selfplay


def test_unknown_scenario_lists_close_matches():
    with pytest.raises(UnknownNameError, match=r"did you mean 'msh/adapt-1v3-nearest-stag'"):
        load_scenario("msh/adapt-1v3-nearest-stg")


def test_scenario_from_module_attribute_path():
    s = load_scenario("tests_scenario_module:make_scenario")
    assert s.name == "custom/two-player"
    assert s.num_players == 2


def test_single_name_fills_every_background_seat():
    s = Scenario("x", MSH, focal_seats=[1], background="nearest-hare")
    assert s.focal_seats == (1,)
    assert s.background_seats == (0, 2, 3)
    assert s.background == (("nearest-hare",),) * 3


def test_pool_entries_are_drawn_per_trial_from_the_seed():
    s = Scenario(
        "x",
        MSH,
        focal_seats=(0,),
        background=["random", ["nearest-stag", "nearest-hare"], "random"],
    )
    assert s.background[1] == ("nearest-stag", "nearest-hare")
    draws = {s.draw_background(np.random.SeedSequence(seed)) for seed in range(40)}
    assert {d[0] for d in draws} == {"random"} and {d[2] for d in draws} == {"random"}
    assert {d[1] for d in draws} == {"nearest-stag", "nearest-hare"}
    seq = np.random.SeedSequence(7)
    assert s.draw_background(seq) == s.draw_background(np.random.SeedSequence(7))


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"focal_seats": (4,)}, "focal_seats", r"focal seat 4 is not a seat of this 4-player game"),
        ({"focal_seats": (0, 0)}, "focal_seats", r"each once, got \[0, 0\]"),
        ({"focal_seats": ()}, "focal_seats", r"at least one seat"),
        (
            {"background": ["random"] * 2},
            "background",
            r"one co-player \(or pool\) per non-focal seat \[1, 2, 3\], got 2",
        ),
        (
            {"background": "nearest-stg"},
            "background",
            r"unknown co-player 'nearest-stg'.*did you mean 'nearest-stag'",
        ),
        (
            {"background": "cleaner"},
            "background",
            r"unknown co-player 'cleaner' for hop/MarkovStagHunt-v0",
        ),
        ({"env_kwargs": {"grid_size": 1}}, "env_kwargs.grid_size", r"grid_size"),
        (
            {"env_kwargs": {"render_mode": "ansi"}},
            "env_kwargs.render_mode",
            r"may not set 'render_mode'",
        ),
        ({"env_id": "hop/MarkovStagHunt-v9"}, "env_id", r"unknown environment id"),
        ({"episodes": 0}, "episodes", r"episodes must be an integer >= 1, got 0"),
        ({"trials": 2.5}, "trials", r"trials must be an integer >= 1, got 2.5"),
    ],
)
def test_bad_fields_name_the_field_and_value(kwargs, field, message):
    args = {"name": "bad", "env_id": MSH, "focal_seats": (0,), "background": "random"} | kwargs
    with pytest.raises(ScenarioFieldError, match=message) as info:
        Scenario(**args)
    assert info.value.field == field
    assert "scenario 'bad'" in str(info.value) or field == "name"


def test_env_kwargs_change_the_number_of_seats():
    s = Scenario("two", MSG, focal_seats=(0,), background="cleaner", env_kwargs={"num_players": 2})
    assert (s.num_players, s.background_seats, s.background) == (2, (1,), (("cleaner",),))


def test_module_path_coplayers_are_accepted_without_registration():
    s = Scenario("p", MSH, focal_seats=(0,), background="eval_test_agents:RecordingAgent")
    assert s.background == (("eval_test_agents:RecordingAgent",),) * 3


def test_registry_entries_carry_env_and_description():
    entry = SCENARIOS.entry("msh/adapt-3v1-nearest-hare")
    assert entry.envs == (MSH,)
    assert entry.description == "3 focal seats adapting to 1 'nearest-hare' co-player"


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 8),
    data=st.data(),
)
def test_focal_and_background_seats_partition_the_table(n, data):
    focal = data.draw(st.sets(st.integers(0, n - 1), min_size=1))
    s = Scenario(
        "p", MSG, focal_seats=sorted(focal), background="free-rider", env_kwargs={"num_players": n}
    )
    assert s.focal_seats == tuple(sorted(focal))
    assert set(s.focal_seats) | set(s.background_seats) == set(range(n))
    assert not set(s.focal_seats) & set(s.background_seats)
    assert len(s.background) == n - len(focal)
