"""Scenarios in TOML files: a valid file, and errors that give the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.scenario_files import ScenarioFileError, find_key_line, load_scenario_file
from evaluation.scenarios import Scenario, load_scenario

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
