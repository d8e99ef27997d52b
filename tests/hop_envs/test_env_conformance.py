"""PettingZoo's own conformance tests on every registered ``hop/`` environment.

The ids come from PettingZoo's registries (filled by ``import hop_envs``), checked against
``hop_envs.ENV_IDS``, so a newly registered env is tested without editing this file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pettingzoo
import pytest
from pettingzoo.env_registry.registration import aec_registry, parallel_registry
from pettingzoo.test import (
    api_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
    seed_test,
)

import hop_envs
from hop_envs.render import CELL_PIXELS

PARALLEL_IDS = sorted(s.id for s in parallel_registry.values() if s.namespace == "hop")
AEC_IDS = sorted(s.id for s in aec_registry.values() if s.namespace == "hop")
STAG_HUNT_ID = "hop/MarkovStagHunt-v0"
SNOWDRIFT_ID = "hop/MarkovSnowdrift-v0"

#: Non-default configurations: (env id, constructor arguments).
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    (STAG_HUNT_ID, {"num_players": 2}),
    (
        STAG_HUNT_ID,
        {"num_players": 8, "stag_hunters_required": 6, "num_stags": 2, "num_hares": 1},
    ),
    (STAG_HUNT_ID, {"reward_mode": "prosocial", "time_reward": -0.1}),
    (STAG_HUNT_ID, {"end_after_first_hunt": 3, "player_strength": (1, 2, 3, 4)}),
    (STAG_HUNT_ID, {"end_after_first_hunt": 0}),
    (STAG_HUNT_ID, {"num_wall_pieces": 0, "grid_size": 5, "max_cycles": 100}),
    (SNOWDRIFT_ID, {"num_players": 2, "grid_size": 4, "num_drifts": 2}),
    (SNOWDRIFT_ID, {"num_players": 8, "reward_mode": "prosocial"}),
    (SNOWDRIFT_ID, {"num_wall_pieces": 3, "height": 6, "width": 9}),
]
VARIANT_IDS = [f"{env_id.split('/')[1]}-{'-'.join(kw)}" for env_id, kw in VARIANTS]


def test_registries_hold_exactly_the_package_envs() -> None:
    expected = sorted(f"hop/{name}" for name in hop_envs.ENV_IDS)
    assert expected, "hop_envs.ENV_IDS is empty"
    assert expected == PARALLEL_IDS
    assert expected == AEC_IDS


@pytest.mark.parametrize("env_id", PARALLEL_IDS)
def test_parallel_api(env_id: str) -> None:
    parallel_api_test(pettingzoo.make("parallel", env_id), num_cycles=1000)


@pytest.mark.parametrize("env_id", AEC_IDS)
def test_aec_api(env_id: str) -> None:
    api_test(pettingzoo.make("aec", env_id), num_cycles=1000)


@pytest.mark.parametrize("env_id", AEC_IDS)
def test_aec_seed(env_id: str) -> None:
    seed_test(lambda: pettingzoo.make("aec", env_id), num_cycles=500)


@pytest.mark.parametrize("env_id", PARALLEL_IDS)
def test_parallel_seed(env_id: str) -> None:
    parallel_seed_test(lambda: pettingzoo.make("parallel", env_id), num_cycles=500)


def _ansi_grid_ok(height: int, width: int):
    """A check that an ansi frame is a ``t=`` header and ``height`` rows of ``width``."""

    def check(text: Any) -> bool:
        lines = text.splitlines()
        return (
            lines[0].startswith("t=")
            and len(lines) == height + 1
            and all(len(line) == width for line in lines[1:])
        )

    return check


def _rgb_size_ok(height: int, width: int):
    def check(frame: Any) -> bool:
        return frame.shape == (height * CELL_PIXELS, width * CELL_PIXELS, 3) and bool(frame.any())

    return check


@pytest.mark.parametrize("env_id", AEC_IDS)
def test_render_every_mode(env_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    probe = pettingzoo.make("aec", env_id)
    assert sorted(probe.metadata["render_modes"]) == ["ansi", "human", "rgb_array"]
    h, w = probe.unwrapped.config.height, probe.unwrapped.config.width
    render_test(
        lambda render_mode: pettingzoo.make("aec", env_id, render_mode=render_mode),
        custom_tests={"ansi": _ansi_grid_ok(h, w), "rgb_array": _rgb_size_ok(h, w)},
    )


@pytest.mark.parametrize("env_id", PARALLEL_IDS)
def test_parallel_render_ansi_and_rgb(env_id: str) -> None:
    """The parallel form renders too (render_test drives the AEC form only)."""
    for mode in ("ansi", "rgb_array"):
        env = pettingzoo.make("parallel", env_id, render_mode=mode)
        env.reset(seed=3)
        frame = env.render()
        if mode == "ansi":
            assert isinstance(frame, str) and frame.startswith("t=0\n")
        else:
            assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
        env.close()


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS, ids=VARIANT_IDS)
def test_non_default_configurations(env_id: str, kwargs: dict[str, Any]) -> None:
    parallel_api_test(pettingzoo.make("parallel", env_id, **kwargs), num_cycles=300)
    api_test(pettingzoo.make("aec", env_id, **kwargs), num_cycles=300)
    parallel_seed_test(lambda: pettingzoo.make("parallel", env_id, **kwargs), num_cycles=100)
    seed_test(lambda: pettingzoo.make("aec", env_id, **kwargs), num_cycles=100)
    env = pettingzoo.make("parallel", env_id, **kwargs)
    env.reset(seed=0)
    for key, value in kwargs.items():
        expected = tuple(float(v) for v in value) if key == "player_strength" else value
        got = getattr(env.config, key)
        got = tuple(got) if key == "player_strength" else got
        assert got == expected, f"{key} was not passed through: {got!r}"


def test_hop_envs_make_accepts_short_and_full_ids() -> None:
    short = hop_envs.make("MarkovStagHunt-v0", grid_size=6)
    full = hop_envs.make("hop/MarkovStagHunt-v0", api="aec", grid_size=6)
    assert short.config.grid_size == 6
    assert full.unwrapped.config.grid_size == 6
    with pytest.raises(ValueError, match="MarkovStagHunt-v9"):
        hop_envs.make("MarkovStagHunt-v9")


@pytest.mark.parametrize("env_id", PARALLEL_IDS)
def test_spaces_are_the_same_object_on_every_call(env_id: str) -> None:
    env = pettingzoo.make("parallel", env_id)
    for agent in env.possible_agents:
        assert env.observation_space(agent) is env.observation_space(agent)
        assert env.action_space(agent) is env.action_space(agent)
    env.reset(seed=0)
    agent = env.possible_agents[0]
    before = env.observation_space(agent), env.action_space(agent)
    env.step(dict.fromkeys(env.agents, 4))
    assert env.observation_space(agent) is before[0]
    assert env.action_space(agent) is before[1]
