"""Scenario registry contents, validation and background sampling."""

from __future__ import annotations

import heldout_fakes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baselines.shipped import shipped_learners
from evaluation.jobs import AgentSpec, TrialJob
from evaluation.players import make_background
from evaluation.runner import TrialRunner
from evaluation.scenarios import (
    SCENARIOS,
    CoplayerSpec,
    Scenario,
    ScenarioFieldError,
    all_scenarios,
    heldout_scenarios,
    load_scenario,
    scenario_family,
    scenario_names,
    standard_scenarios,
    training_scenarios,
)
from hop_envs.coplayers import HELD_OUT, coplayer_names
from hop_envs.registry import UnknownNameError

MSH = "hop/MarkovStagHunt-v0"
MSG = "hop/MarkovSnowdrift-v0"


MSH_TRAINING = [
    "msh/adapt-1v3-nearest-hare",
    "msh/adapt-1v3-nearest-stag",
    "msh/adapt-1v3-random",
    "msh/adapt-3v1-nearest-hare",
    "msh/adapt-3v1-nearest-stag",
    "msh/adapt-3v1-random",
    "msh/adapt-hidden",
    "msh/adapt-mixed",
    "msh/selfplay",
]
MSG_TRAINING = [
    "msg/adapt-1v3-cleaner",
    "msg/adapt-1v3-free-rider",
    "msg/adapt-1v3-random",
    "msg/adapt-3v1-cleaner",
    "msg/adapt-3v1-free-rider",
    "msg/adapt-3v1-random",
    "msg/adapt-hidden",
    "msg/adapt-mixed",
    "msg/selfplay",
]


def learned_names(prefix: str, env_id: str) -> list[str]:
    """One ``adapt-1v3-<learner>`` per learner with a shipped checkpoint for the env."""
    return [f"{prefix}/adapt-1v3-{k}" for k in shipped_learners(env_id)]


def heldout_names(prefix: str, env_id: str) -> list[str]:
    """The held-out scenario names the registry's held-out list should give."""
    kinds = coplayer_names(env_id, population=HELD_OUT)
    names = [f"{prefix}/heldout-1v3-{k}" for k in kinds]
    return names + (
        [f"{prefix}/heldout-hidden", f"{prefix}/heldout-mixed"] if len(kinds) > 1 else []
    )


def test_stag_hunt_scenarios_are_the_training_and_heldout_families():
    expected = MSH_TRAINING + learned_names("msh", MSH) + heldout_names("msh", MSH)
    assert scenario_names(MSH) == sorted(expected)


def test_snowdrift_scenarios_are_the_training_and_heldout_families():
    expected = MSG_TRAINING + learned_names("msg", MSG) + heldout_names("msg", MSG)
    assert scenario_names("MarkovSnowdrift-v0") == sorted(expected)


def test_standard_scenarios_are_the_fixed_training_lineups():
    assert sorted(s.name for s in standard_scenarios(MSH)) == sorted(
        [n for n in MSH_TRAINING if not n.endswith(("-hidden", "-mixed"))]
        + learned_names("msh", MSH)
    )
    assert {s.family for s in standard_scenarios(MSG)} == {"training"}
    assert [s.name for s in all_scenarios(MSG)] == [
        s.name for s in training_scenarios(MSG) + heldout_scenarios(MSG)
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
    assert {d[0].label for d in draws} == {"random"} and {d[2].label for d in draws} == {"random"}
    assert {d[1].name for d in draws} == {"nearest-stag", "nearest-hare"}
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


# -- generated held-out and hidden-type families ----------------------------------------------
def test_heldout_families_for_a_known_heldout_list(monkeypatch):
    heldout_fakes.install(monkeypatch)
    made = heldout_scenarios(MSH, coplayers=["fake-wary", "fake-patient", "fake-shy"])
    assert [s.name for s in made] == [
        "msh/heldout-1v3-fake-patient",
        "msh/heldout-1v3-fake-shy",
        "msh/heldout-1v3-fake-wary",
        "msh/heldout-hidden",
        "msh/heldout-mixed",
    ]
    assert {s.family for s in made} == {"held-out"}
    one, hidden, mixed = made[0], made[3], made[4]
    assert (one.focal_seats, one.background) == ((0,), (("fake-patient",),) * 3)
    assert (hidden.focal_seats, hidden.background) == ((0,), ())
    assert hidden.lineups == (
        ("fake-patient",) * 3,
        ("fake-shy",) * 3,
        ("fake-wary",) * 3,
    )
    assert (mixed.background, mixed.lineups) == (
        (("fake-patient",), ("fake-shy",), ("fake-wary",)),
        (),
    )
    assert hidden.definition() == {
        "env_id": MSH,
        "env_kwargs": {},
        "focal_seats": [0],
        "background": [],
        "lineups": [["fake-patient"] * 3, ["fake-shy"] * 3, ["fake-wary"] * 3],
    }


def test_heldout_families_default_to_the_registry_heldout_list(monkeypatch):
    heldout_fakes.install(monkeypatch)
    assert "fake-patient" not in coplayer_names(MSG, population=HELD_OUT)  # stag hunt only
    kinds = coplayer_names(MSH, population=HELD_OUT)
    assert {"fake-patient", "fake-shy", "fake-wary"} <= set(kinds)
    made = heldout_scenarios(MSH)
    assert [s.name for s in made] == [f"msh/heldout-1v3-{k}" for k in kinds] + [
        "msh/heldout-hidden",
        "msh/heldout-mixed",
    ]
    assert made[-2].lineups == tuple((k,) * 3 for k in kinds)
    assert made[-1].background == tuple((k,) for k in kinds[:3])


def test_two_heldout_kinds_cycle_in_the_mixed_lineup_and_one_gives_no_hidden_type(monkeypatch):
    heldout_fakes.install(monkeypatch)
    two = heldout_scenarios(MSH, coplayers=["fake-shy", "fake-patient"])
    assert two[-1].name == "msh/heldout-mixed"
    assert two[-1].background == (("fake-patient",), ("fake-shy",), ("fake-patient",))
    assert [s.name for s in heldout_scenarios(MSH, coplayers=["fake-shy"])] == [
        "msh/heldout-1v3-fake-shy"
    ]
    assert heldout_scenarios(MSH, coplayers=[]) == []


def test_training_hidden_type_and_mixed_scenarios():
    hidden = load_scenario("msh/adapt-hidden")
    assert (hidden.family, hidden.focal_seats, hidden.background) == ("training", (0,), ())
    assert hidden.lineups == (
        ("nearest-hare",) * 3,
        ("nearest-stag",) * 3,
        ("random",) * 3,
    )
    assert load_scenario("msg/adapt-hidden").lineups == (
        ("cleaner",) * 3,
        ("free-rider",) * 3,
        ("random",) * 3,
    )
    assert load_scenario("msh/adapt-mixed").background == (
        ("nearest-hare",),
        ("nearest-stag",),
        ("random",),
    )
    assert load_scenario("msg/adapt-mixed").background == (
        ("cleaner",),
        ("free-rider",),
        ("random",),
    )


def test_hidden_lineup_is_one_kind_for_all_seats_and_a_function_of_the_seed():
    s = load_scenario("msh/adapt-hidden")
    kinds = ["nearest-hare", "nearest-stag", "random"]
    seen = set()
    for seed in range(60):
        draw = s.draw_background(np.random.SeedSequence(seed))
        assert len(draw) == 3 and len({spec.label for spec in draw}) == 1
        assert draw == s.draw_background(np.random.SeedSequence(seed))
        # one integer drawn from the trial's sampling seed picks the line-up
        expected = kinds[int(np.random.default_rng(np.random.SeedSequence(seed)).integers(3))]
        assert draw[0] == CoplayerSpec(expected)
        seen.add(draw[0].name)
    assert seen == set(kinds)


def test_trials_of_a_hidden_scenario_seat_one_kind(monkeypatch):
    scenario = load_scenario("msg/adapt-hidden")
    kinds = set()
    for trial in range(12):
        runner = TrialRunner(TrialJob(AgentSpec("random"), scenario, 3, trial, 1))
        assert runner.seat_players[0] == "random"
        assert len(set(runner.seat_players[1:])) == 1
        assert [type(p).name for p in runner.players[1:]] == list(runner.seat_players[1:])
        kinds.add(runner.seat_players[1])
    assert kinds == {"cleaner", "free-rider", "random"}


def test_scenario_family_by_object_and_by_name(monkeypatch):
    assert scenario_family("msh/adapt-1v3-random") == "training"
    assert scenario_family(load_scenario("msg/selfplay")) == "training"
    assert scenario_family("msg/adapt-hidden") == "training"
    assert scenario_family("no/such-scenario") == "user"
    assert scenario_family(Scenario("mine", MSH, (0,), "random")) == "user"
    heldout_fakes.install(monkeypatch, extra_scenarios=True)
    assert scenario_family("msh/heldout-1v3-fake-patient") == "held-out"
    assert scenario_family("msh/heldout-hidden") == "held-out"
    assert SCENARIOS.entry("msh/heldout-mixed").envs == (MSH,)


def test_family_must_be_known_and_is_not_part_of_the_definition():
    with pytest.raises(ScenarioFieldError, match=r"family must be one of") as info:
        Scenario("x", MSH, (0,), "random", family="secret")
    assert info.value.field == "family"
    a = Scenario("x", MSH, (0,), "random")
    b = Scenario("x", MSH, (0,), "random", family="training")
    assert a.definition() == b.definition()


def test_existing_definitions_are_unchanged():
    # stored results are keyed by these; they must not change with new optional fields
    assert load_scenario("msh/adapt-1v3-nearest-stag").definition() == {
        "env_id": MSH,
        "env_kwargs": {},
        "focal_seats": [0],
        "background": [["nearest-stag"], ["nearest-stag"], ["nearest-stag"]],
    }
    assert load_scenario("msg/selfplay").definition() == {
        "env_id": MSG,
        "env_kwargs": {},
        "focal_seats": [0, 1, 2, 3],
        "background": [],
    }
    plain = Scenario("p", MSH, (0,), [CoplayerSpec("random"), {"name": "random"}, "random"])
    assert plain.background == (("random",),) * 3
    assert plain.definition()["background"] == [["random"], ["random"], ["random"]]


# -- line-ups --------------------------------------------------------------------------------
def test_lineups_are_whole_backgrounds_one_drawn_per_trial():
    s = Scenario(
        "l",
        MSH,
        focal_seats=(1,),
        lineups=[["random", "nearest-stag", "nearest-hare"], "nearest-hare"],
    )
    assert s.lineups == (
        ("random", "nearest-stag", "nearest-hare"),
        ("nearest-hare",) * 3,
    )
    draws = {
        tuple(c.label for c in s.draw_background(np.random.SeedSequence(i))) for i in range(30)
    }
    assert draws == {("random", "nearest-stag", "nearest-hare"), ("nearest-hare",) * 3}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"background": "random", "lineups": ["random"]},
            r"give either background .* or lineups .*, not both",
        ),
        ({"lineups": "random"}, r"lineups must be a list of line-ups"),
        ({"lineups": [["random", "random"]]}, r"line-up 0 must give one co-player per non-focal"),
        (
            {"lineups": [["random", ["random", "nearest-stag"], "random"]]},
            r"line-up 0, seat 2: a line-up names one co-player per seat \(no pools\)",
        ),
        ({"lineups": ["random", "nearest-stg"]}, r"line-up 1, seat 1: unknown co-player"),
        (
            {"focal_seats": (0, 1, 2, 3), "lineups": ["random"]},
            r"every seat is focal",
        ),
    ],
)
def test_bad_lineups_name_the_field(kwargs, message):
    args = {"name": "bad", "env_id": MSH, "focal_seats": (0,)} | kwargs
    with pytest.raises(ScenarioFieldError, match=message) as info:
        Scenario(**args)
    assert info.value.field == "lineups"


# -- co-players with constructor arguments ---------------------------------------------------
def test_coplayer_spec_label_definition_and_equality():
    spec = CoplayerSpec("patient", {"patience": 3, "tag": "x", "steps": (1, 2)})
    assert spec.label == 'patient(patience=3,steps=[1,2],tag="x")'
    assert spec.kwargs == {"patience": 3, "steps": [1, 2], "tag": "x"}  # JSON form
    assert spec.definition() == {
        "name": "patient",
        "kwargs": {"patience": 3, "steps": [1, 2], "tag": "x"},
    }
    assert CoplayerSpec("random").label == "random"
    assert CoplayerSpec("random").definition() == "random"
    assert spec == CoplayerSpec("patient", {"tag": "x", "steps": [1, 2], "patience": 3})
    assert len({spec, CoplayerSpec("patient", {"patience": 3, "tag": "x", "steps": [1, 2]})}) == 1
    assert CoplayerSpec.from_data({"name": "a", "kwargs": {"k": 1}}) == CoplayerSpec("a", {"k": 1})
    assert CoplayerSpec.from_data("a") == CoplayerSpec("a")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "a", "kwarg": {}},
            r"unknown key 'kwarg' in a co-player table; did you mean 'kwargs'",
        ),
        ({"kwargs": {"k": 1}}, r"a co-player table needs a 'name'"),
        ({"name": "a", "kwargs": 3}, r"kwargs must be a table"),
        ({"name": "a", "kwargs": {"k": float("nan")}}, r"kwargs must be JSON-able"),
        ({"name": "a", "kwargs": {"k": object()}}, r"kwargs must be JSON-able"),
        ({"name": "a", "kwargs": {"not ok": 1}}, r"argument names must be identifiers"),
        ({"name": ""}, r"a co-player needs a name"),
        (3, r"a co-player is a name, a 'module:Class' path or a table"),
    ],
)
def test_bad_coplayer_specs(data, message):
    with pytest.raises(ValueError, match=message):
        CoplayerSpec.from_data(data)


def test_background_with_constructor_arguments(monkeypatch):
    heldout_fakes.install(monkeypatch)
    s = Scenario(
        "k",
        MSH,
        focal_seats=(0,),
        background=[
            "random",
            {"name": "fake-patient", "kwargs": {"patience": 3}},
            [CoplayerSpec("fake-patient", {"patience": 5}), "fake-shy"],
        ],
    )
    patient3 = CoplayerSpec("fake-patient", {"patience": 3})
    assert s.background == (
        ("random",),
        (patient3,),
        (CoplayerSpec("fake-patient", {"patience": 5}), "fake-shy"),
    )
    assert s.definition()["background"] == [
        ["random"],
        [{"name": "fake-patient", "kwargs": {"patience": 3}}],
        [{"name": "fake-patient", "kwargs": {"patience": 5}}, "fake-shy"],
    ]
    labels = {
        tuple(c.label for c in s.draw_background(np.random.SeedSequence(i))) for i in range(30)
    }
    assert labels == {
        ("random", "fake-patient(patience=3)", "fake-patient(patience=5)"),
        ("random", "fake-patient(patience=3)", "fake-shy"),
    }
    made = make_background(patient3, MSH)
    assert (type(made).__name__, made.patience) == ("FakePatient", 3)
    assert make_background("fake-patient", MSH).patience == 2


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"name": "fake-patient", "kwargs": {"patience": -1}},
            r"background of seat 3: co-player fake-patient\(patience=-1\) cannot be built for "
            r"hop/MarkovStagHunt-v0: ValueError: fake-patient: patience must be an integer >= 0",
        ),
        (
            {"name": "fake-patient", "kwargs": {"patiense": 3}},
            r"background of seat 3: co-player fake-patient\(patiense=3\) cannot be built .*"
            r"TypeError: .*patiense",
        ),
        (
            {"name": "fake-patiant", "kwargs": {"patience": 3}},
            r"background of seat 3: unknown co-player 'fake-patiant'.*did you mean 'fake-patient'",
        ),
        ({"nam": "fake-patient"}, r"background of seat 3: unknown key 'nam'"),
    ],
)
def test_bad_constructor_arguments_fail_when_the_scenario_is_made(monkeypatch, entry, message):
    heldout_fakes.install(monkeypatch)
    with pytest.raises(ScenarioFieldError, match=message) as info:
        Scenario("bad", MSH, focal_seats=(0,), background=["random", "random", entry])
    assert info.value.field == "background"


def test_runner_builds_coplayers_with_their_arguments_and_records_labels(monkeypatch):
    heldout_fakes.install(monkeypatch)
    scenario = Scenario(
        "k",
        MSH,
        focal_seats=(0,),
        lineups=[{"name": "fake-patient", "kwargs": {"patience": 7}}],
        env_kwargs={"max_cycles": 3},
        episodes=1,
        trials=1,
    )
    runner = TrialRunner(TrialJob(AgentSpec("random"), scenario, 0, 0, 1))
    assert runner.seat_players == ("random",) + ("fake-patient(patience=7)",) * 3
    assert [p.patience for p in runner.players[1:]] == [7, 7, 7]
    runner.reset_players()
    record = runner.episode(0)
    assert record.seat_players == runner.seat_players


def test_coplayers_lists_every_background_coplayer_once(monkeypatch):
    heldout_fakes.install(monkeypatch)
    pools = Scenario(
        "p",
        MSH,
        (0,),
        ["random", ["fake-shy", {"name": "fake-patient", "kwargs": {"patience": 1}}], "random"],
    )
    assert pools.coplayers() == (
        CoplayerSpec("random"),
        CoplayerSpec("fake-shy"),
        CoplayerSpec("fake-patient", {"patience": 1}),
    )
    hidden = load_scenario("msg/adapt-hidden")
    assert [c.label for c in hidden.coplayers()] == ["cleaner", "free-rider", "random"]
    assert load_scenario("msh/selfplay").coplayers() == ()
