"""The co-player registry: names per env, env restrictions, paths and close matches."""

from __future__ import annotations

import pytest

from hop_envs.coplayers import (
    COPLAYERS,
    Cleaner,
    FreeRider,
    NearestHare,
    NearestStag,
    RandomCoplayer,
    coplayer_entry,
    coplayer_names,
    make_coplayer,
    register_coplayer,
)
from hop_envs.registry import UnknownNameError, UnsupportedEnvError

STAG = "hop/MarkovStagHunt-v0"
SNOW = "hop/MarkovSnowdrift-v0"


class ShyCoplayer(RandomCoplayer):
    """A stag-hunt-only co-player defined here, to be named by ``module:Class``."""

    name = "shy"
    supported_envs = (STAG,)


def test_builtin_names_per_env():
    stag, snow = set(coplayer_names(STAG)), set(coplayer_names("MarkovSnowdrift-v0"))
    assert {"random", "nearest-stag", "nearest-hare"} <= stag
    assert {"random", "free-rider", "cleaner"} <= snow
    assert not {"free-rider", "cleaner"} & stag
    assert not {"nearest-stag", "nearest-hare"} & snow
    assert {"random", "nearest-stag", "nearest-hare", "free-rider", "cleaner"} <= set(
        coplayer_names()
    )


@pytest.mark.parametrize(
    ("name", "env_id", "cls"),
    [
        ("random", STAG, RandomCoplayer),
        ("random", "MarkovSnowdrift-v0", RandomCoplayer),
        ("nearest-stag", "MarkovStagHunt-v0", NearestStag),
        ("nearest-hare", STAG, NearestHare),
        ("free-rider", SNOW, FreeRider),
        ("cleaner", SNOW, Cleaner),
    ],
)
def test_make_gives_a_fresh_instance_of_the_right_class(name, env_id, cls):
    first, second = make_coplayer(name, env_id), make_coplayer(name, env_id)
    assert type(first) is cls and first is not second
    assert coplayer_entry(name).envs == cls.supported_envs


def test_unsupported_env_lists_what_is_supported():
    with pytest.raises(UnsupportedEnvError) as info:
        make_coplayer("cleaner", "MarkovStagHunt-v0")
    message = str(info.value)
    assert "'cleaner' does not support 'hop/MarkovStagHunt-v0'" in message
    assert "it supports hop/MarkovSnowdrift-v0" in message
    listed = message.split("Co-players for hop/MarkovStagHunt-v0: ")[1].split(", ")
    assert {"nearest-hare", "nearest-stag", "random"} <= set(listed)
    assert "cleaner" not in listed


def test_unknown_env_id_is_refused():
    with pytest.raises(ValueError, match=r"unknown environment id 'MarkovStagHnt-v0'"):
        make_coplayer("random", "MarkovStagHnt-v0")
    with pytest.raises(ValueError, match=r"unknown environment id"):
        coplayer_names("Nope-v0")


def test_unknown_name_gives_close_matches_and_the_known_names():
    with pytest.raises(UnknownNameError) as info:
        make_coplayer("clener", SNOW)
    message = str(info.value)
    # 'cleaner' is the closest match (held-out names such as 'lazy-cleaner' may follow it).
    assert "unknown co-player 'clener'; did you mean 'cleaner'" in message
    known = message.split("Known co-players: ")[1].split("; or give a 'module:Attr' path")[0]
    assert set(coplayer_names()) == set(known.split(", "))
    with pytest.raises(UnknownNameError, match=r"unknown co-player 'zzz'\s+Known"):
        make_coplayer("zzz", SNOW)


def test_module_class_path_respects_supported_envs():
    path = f"{__name__}:ShyCoplayer"
    assert type(make_coplayer(path, STAG)) is ShyCoplayer
    with pytest.raises(UnsupportedEnvError, match=r"does not support 'hop/MarkovSnowdrift-v0'"):
        make_coplayer(path, SNOW)


def test_bad_paths_name_the_problem():
    with pytest.raises(UnknownNameError, match=r"cannot import module 'no_such_module_q'"):
        make_coplayer("no_such_module_q:X", STAG)
    with pytest.raises(UnknownNameError, match=r"has no attribute 'Missing'"):
        make_coplayer(f"{__name__}:Missing", STAG)
    with pytest.raises(ValueError, match=r"must look like 'package.module:Attr', got 'mod:'"):
        make_coplayer("mod:", STAG)


def test_register_a_coplayer_in_code():
    entry = register_coplayer("shy-test", ShyCoplayer)
    try:
        assert entry.envs == (STAG,)
        assert entry.description.startswith("A stag-hunt-only co-player")
        assert "shy-test" in coplayer_names(STAG) and "shy-test" not in coplayer_names(SNOW)
        assert type(make_coplayer("shy-test", STAG)) is ShyCoplayer
        with pytest.raises(ValueError, match=r"co-player 'shy-test' is already registered"):
            register_coplayer("shy-test", ShyCoplayer)
    finally:
        COPLAYERS.unregister("shy-test")
    assert "shy-test" not in coplayer_names()


@pytest.mark.parametrize("bad", ["", "a:b", " padded"])
def test_bad_names_are_refused(bad):
    with pytest.raises(ValueError, match=r"co-player name must be a non-empty string"):
        register_coplayer(bad, ShyCoplayer)


def test_non_callable_factory_is_refused():
    with pytest.raises(TypeError, match=r"co-player 'x': factory must be callable.*got 3"):
        register_coplayer("x", 3)
