"""Scenarios in TOML files: a valid file, and errors that give the file, line and field."""

from __future__ import annotations

from pathlib import Path

import heldout_fakes
import pytest

from evaluation.scenario_files import (
    ScenarioFileError,
    find_key_line,
    find_value_line,
    load_scenario_file,
)
from evaluation.scenarios import CoplayerSpec, Scenario, load_scenario

VALID = """\
# a mixed population
name = "mine/mixed"
env_id = "hop/MarkovStagHunt-v0"
focal_seats = [0, 2]
background = ["nearest-stag", ["random", "nearest-hare"]]
episodes = 4
trials = 3
description = "two focal seats"

[env_kwargs]
grid_size = 6
num_wall_pieces = 0
"""


def write(tmp_path: Path, text: str, name: str = "scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_gives_the_scenario(tmp_path):
    path = write(tmp_path, VALID)
    s = load_scenario_file(path)
    assert s == Scenario(
        name="mine/mixed",
        env_id="hop/MarkovStagHunt-v0",
        focal_seats=(0, 2),
        background=(("nearest-stag",), ("random", "nearest-hare")),
        env_kwargs={"grid_size": 6, "num_wall_pieces": 0},
        episodes=4,
        trials=3,
        description="two focal seats",
    )
    assert s.background_seats == (1, 3)
    assert load_scenario(str(path)) == s


def test_name_defaults_to_the_file_stem_and_budget_to_defaults(tmp_path):
    path = write(
        tmp_path,
        'env_id = "hop/MarkovSnowdrift-v0"\nfocal_seats = 1\nbackground = "cleaner"\n',
        name="my-cleaners.toml",
    )
    s = load_scenario_file(path)
    assert (s.name, s.focal_seats, s.background_seats) == ("my-cleaners", (1,), (0, 2, 3))
    assert (s.episodes, s.trials) == (10, 10)


def test_syntax_error_gives_the_line(tmp_path):
    path = write(
        tmp_path, 'env_id = "hop/MarkovStagHunt-v0"\nfocal_seats = [0\nbackground = "random"\n'
    )
    with pytest.raises(ScenarioFileError) as info:
        load_scenario_file(path)
    assert info.value.line == 3  # the unclosed array is detected on the next line
    assert str(info.value).startswith(f"{path}:3: invalid TOML")


def test_unclosed_string_gives_its_line(tmp_path):
    path = write(tmp_path, 'name = "a"\nenv_id = "hop/MarkovStagHunt-v0\nfocal_seats = [0]\n')
    with pytest.raises(ScenarioFileError) as info:
        load_scenario_file(path)
    assert info.value.line == 2


@pytest.mark.parametrize(
    ("text", "line", "field", "reason"),
    [
        (
            VALID.replace("focal_seats = [0, 2]", "focal_seats = [0, 7]"),
            4,
            "focal_seats",
            "focal seat 7 is not a seat of this 4-player game",
        ),
        (VALID.replace("grid_size = 6", "grid_size = 1"), 11, "env_kwargs.grid_size", "grid_size"),
        (VALID.replace("trials = 3", "trails = 3"), 7, "trails", "did you mean 'trials'"),
        (
            VALID.replace("episodes = 4", 'episodes = "four"'),
            6,
            "episodes",
            "episodes must be an integer >= 1, got 'four'",
        ),
        (
            VALID.replace('"nearest-stag", [', '"nearest-stg", ['),
            5,
            "background",
            "unknown co-player 'nearest-stg'",
        ),
        (
            VALID.replace('env_id = "hop/MarkovStagHunt-v0"', 'env_id = "hop/StagHunt-v0"'),
            3,
            "env_id",
            "unknown environment id 'hop/StagHunt-v0'",
        ),
        (
            VALID.replace("num_wall_pieces = 0", "num_wall_piece = 0"),
            12,
            "env_kwargs.num_wall_piece",
            "num_wall_piece",
        ),
        (
            VALID.replace('description = "two focal seats"', "description = 5"),
            8,
            "description",
            "wrong type int",
        ),
    ],
)
def test_bad_field_gives_file_line_and_field(tmp_path, text, line, field, reason):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioFileError) as info:
        load_scenario_file(path)
    err = info.value
    assert (err.path, err.line, err.field) == (path, line, field)
    assert str(err).startswith(f"{path}:{line}: {field}: ")
    assert reason in str(err)


def test_missing_required_field_is_named(tmp_path):
    path = write(tmp_path, 'focal_seats = [0]\nbackground = "random"\n')
    with pytest.raises(ScenarioFileError, match=r"env_id: missing \(required\)"):
        load_scenario_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioFileError, match="no such scenario file"):
        load_scenario(str(tmp_path / "absent.toml"))


def test_find_key_line_handles_tables_dotted_and_quoted_keys():
    text = 'a = 1\n"b" = 2\nenv_kwargs.grid_size = 5\n\n[env_kwargs]\nmax_cycles = 9\n'
    assert find_key_line(text, "a") == 1
    assert find_key_line(text, "b") == 2
    assert find_key_line(text, "env_kwargs.grid_size") == 3
    assert find_key_line(text, "env_kwargs.max_cycles") == 6
    assert find_key_line(text, "env_kwargs.other") == 5
    assert find_key_line(text, "missing") is None
    inline = "env_kwargs = { grid_size = 1 }\n"
    assert find_key_line(inline, "env_kwargs.grid_size") == 1


# -- co-players with constructor arguments and line-ups ----------------------------------------
WITH_KWARGS = """\
env_id = "hop/MarkovStagHunt-v0"
focal_seats = [0]
background = [
    "random",
    {name = "fake-patient", kwargs = {patience = 3}},
    ["fake-shy", {name = "fake-patient"}],
]
"""


def test_inline_tables_give_coplayers_with_arguments(tmp_path, monkeypatch):
    heldout_fakes.install(monkeypatch)
    s = load_scenario_file(write(tmp_path, WITH_KWARGS, name="kw.toml"))
    assert s.background == (
        ("random",),
        (CoplayerSpec("fake-patient", {"patience": 3}),),
        ("fake-shy", "fake-patient"),  # a table without kwargs is the plain name
    )
    assert s.definition()["background"] == [
        ["random"],
        [{"name": "fake-patient", "kwargs": {"patience": 3}}],
        ["fake-shy", "fake-patient"],
    ]


def test_a_single_inline_table_fills_every_seat(tmp_path, monkeypatch):
    heldout_fakes.install(monkeypatch)
    text = (
        'env_id = "hop/MarkovStagHunt-v0"\nfocal_seats = 0\n'
        'background = {name = "fake-patient", kwargs = {patience = 1}}\n'
    )
    s = load_scenario_file(write(tmp_path, text))
    assert s.background == ((CoplayerSpec("fake-patient", {"patience": 1}),),) * 3


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        (
            "kwargs = {patience = 3}",
            "kwargs = {patience = -3}",
            5,
            "background of seat 2: co-player fake-patient(patience=-3) cannot be built for "
            "hop/MarkovStagHunt-v0: ValueError: fake-patient: patience must be an integer >= 0",
        ),
        (
            "kwargs = {patience = 3}",
            "kwargs = {patiense = 3}",
            5,
            "co-player fake-patient(patiense=3) cannot be built",
        ),
        ("kwargs = {patience = 3}", "kwarg = {patience = 3}", 5, "unknown key 'kwarg'"),
        ('{name = "fake-patient"}]', '{name = "fake-patiant"}]', 6, "unknown co-player"),
        ('"random",', '"randm",', 4, "unknown co-player 'randm'"),
        ('"fake-shy"', '"fake-shy", 3', 6, "got 3"),
    ],
)
def test_bad_inline_table_points_at_its_line(tmp_path, monkeypatch, old, new, line, reason):
    heldout_fakes.install(monkeypatch)
    assert old in WITH_KWARGS
    path = write(tmp_path, WITH_KWARGS.replace(old, new))
    with pytest.raises(ScenarioFileError) as info:
        load_scenario_file(path)
    err = info.value
    assert (err.line, err.field) == (line, "background"), str(err)
    assert str(err).startswith(f"{path}:{line}: background: ")
    assert reason in str(err)


def test_lineups_in_a_file_and_their_errors(tmp_path, monkeypatch):
    heldout_fakes.install(monkeypatch)
    text = (
        'env_id = "hop/MarkovStagHunt-v0"\n'
        "focal_seats = [0]\n"
        "lineups = [\n"
        '    "fake-shy",\n'
        '    {name = "fake-patient", kwargs = {patience = 3}},\n'
        '    ["random", "fake-shy", "random"],\n'
        "]\n"
        "episodes = 2\n"
    )
    s = load_scenario_file(write(tmp_path, text))
    patient = CoplayerSpec("fake-patient", {"patience": 3})
    assert s.lineups == (
        ("fake-shy",) * 3,
        (patient,) * 3,
        ("random", "fake-shy", "random"),
    )
    assert (s.background, s.episodes) == ((), 2)
    bad = write(tmp_path, text.replace("patience = 3", "patience = true"), name="bad.toml")
    with pytest.raises(ScenarioFileError) as info:
        load_scenario_file(bad)
    assert (info.value.line, info.value.field) == (5, "lineups")
    assert "line-up 1, seat 1: co-player fake-patient(patience=true) cannot be built" in str(
        info.value
    )
    both = write(tmp_path, text + 'background = "random"\n', name="both.toml")
    with pytest.raises(ScenarioFileError, match=r"both.toml:3: lineups: .*not both"):
        load_scenario_file(both)
    wrong = write(
        tmp_path,
        'env_id = "hop/MarkovStagHunt-v0"\nfocal_seats = [0]\nlineups = 5\n',
        name="wrong.toml",
    )
    with pytest.raises(ScenarioFileError, match=r"wrong.toml:3: lineups: wrong type int"):
        load_scenario_file(wrong)


def test_find_value_line_finds_the_entry_in_a_multiline_list():
    text = (
        'a = [\n  "x",\n  {name = "y", kwargs = {k = 1}},\n'
        '  {name = "y", kwargs = {j = 2}},  # not "z"\n]\nb = "y"\n'
    )
    assert find_value_line(text, 1, ("y", "j")) == 4
    assert find_value_line(text, 1, ("y", "z")) == 3  # no line has both: the name's first
    assert find_value_line(text, 1, ("nowhere",)) == 1
    assert find_value_line(text, 1, ("b",)) == 1  # the next key is outside the value
