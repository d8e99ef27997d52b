"""The shared config checks of :mod:`baselines.config_checks`."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from baselines.config_checks import grid_game, int_sizes, is_finite, is_int, training_coplayers
from baselines.focal_env import training_population
from hop_envs.coplayers import coplayer_names

STAG = "hop/MarkovStagHunt-v0"


@pytest.mark.parametrize("value", [0, -3, 7, np.int64(4), np.int32(1)])
def test_ints_are_ints(value) -> None:
    assert is_int(value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 1.0, "1", None])
def test_a_bool_a_float_or_a_string_is_not_an_int(value) -> None:
    assert not is_int(value)


@pytest.mark.parametrize("value", [0, -2, 0.5, 1e300, np.float32(0.25), np.int64(3)])
def test_finite_numbers_are_finite(value) -> None:
    assert is_finite(value)


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, np.float32("nan"), True, "1.0", None]
)
def test_nan_inf_bools_and_strings_are_not_finite(value) -> None:
    assert not is_finite(value)


def test_int_sizes_gives_a_tuple_of_python_ints() -> None:
    sizes = int_sizes("Where", "conv_channels", [16, np.int64(8)])
    assert sizes == (16, 8)
    assert all(type(c) is int for c in sizes)


@pytest.mark.parametrize("value", [(16, 0), (16, -1), (4, 2.0), (True,), "16", 16, None])
def test_bad_sizes_are_refused_with_the_field_and_value_named(value) -> None:
    expected = rf"Where\.conv_channels={re.escape(repr(value))}: expected .*ints >= 1"
    with pytest.raises(ValueError, match=expected):
        int_sizes("Where", "conv_channels", value)


def test_training_coplayers_keeps_none_and_tuples_training_names() -> None:
    assert training_coplayers("Where", "coplayers", STAG, None) is None
    names = list(training_population(STAG))[:2]
    assert training_coplayers("Where", "coplayers", STAG, names) == tuple(names)


@pytest.mark.parametrize(
    "names", [("stag-follower",), ("random", "stag-follower"), (), "random", 3]
)
def test_held_out_empty_or_non_sequence_coplayers_are_refused(names) -> None:
    with pytest.raises(ValueError, match=r"Where\.coplayers=.*: expected None or a non-empty") as e:
        training_coplayers("Where", "coplayers", STAG, names)
    assert "stag-follower" in coplayer_names(STAG, population="held-out")
    assert repr(list(training_population(STAG))) in str(e.value)


def test_grid_game_gives_the_full_id_and_a_copy_of_the_arguments() -> None:
    kwargs = {"grid_size": 6}
    full, copied = grid_game("Cfg", "MarkovSnowdrift-v0", kwargs, np.int64(2))
    assert full == "hop/MarkovSnowdrift-v0" and copied == kwargs and copied is not kwargs
    assert grid_game("Cfg", STAG, {}, 0) == (STAG, {})


@pytest.mark.parametrize(
    ("field", "args"),
    [
        ("env_id", ("hop/Nope-v0", {}, 0)),
        ("env_id", (3, {}, 0)),
        ("env_kwargs", (STAG, [("grid_size", 6)], 0)),
        ("seed", (STAG, {}, -1)),
        ("seed", (STAG, {}, True)),
    ],
)
def test_grid_game_names_the_field_the_value_and_the_expectation(field, args) -> None:
    with pytest.raises(ValueError, match=rf"^Cfg\.{field}=.*: expected "):
        grid_game("Cfg", *args)
