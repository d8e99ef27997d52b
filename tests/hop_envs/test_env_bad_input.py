"""Bad input (DESIGN §3.4): every wrong action, call order and constructor argument raises
an error whose message names the agent or argument and the offending value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import hop_envs
from hop_envs import MarkovSnowdriftEnv, MarkovStagHuntEnv, SnowdriftConfig, StagHuntConfig
from hop_envs.envs import GridGameEnv

ENV_CLASSES = [MarkovStagHuntEnv, MarkovSnowdriftEnv]
ENV_IDS = [c.__name__ for c in ENV_CLASSES]


def _stay_all(env: GridGameEnv) -> dict[str, Any]:
    return dict.fromkeys(env.agents, 4)


@pytest.fixture(params=ENV_CLASSES, ids=ENV_IDS)
def env(request: pytest.FixtureRequest) -> GridGameEnv:
    e = request.param(num_players=3)
    e.reset(seed=0)
    return e


# -- actions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [-1, 7, 100, np.int64(-3), np.int32(9)])
def test_out_of_range_action(env: GridGameEnv, value: Any) -> None:
    n = env.rules.num_actions
    actions = _stay_all(env) | {"player_1": value}
    with pytest.raises(ValueError) as err:
        env.step(actions)
    message = str(err.value)
    assert "'player_1'" in message
    assert str(int(value)) in message
    assert f"[0, {n - 1}]" in message
    assert env.core_state.t == 0


@pytest.mark.parametrize(
    "value", [1.0, 2.5, "1", "up", True, False, np.bool_(True), None, [1], np.array([1])]
)
def test_non_integer_action(env: GridGameEnv, value: Any) -> None:
    actions = _stay_all(env) | {"player_2": value}
    with pytest.raises(ValueError) as err:
        env.step(actions)
    message = str(err.value)
    assert "'player_2'" in message
    assert repr(value) in message
    assert "integer" in message
    assert env.core_state.t == 0


def test_numpy_integer_and_zero_d_array_actions_are_accepted(env: GridGameEnv) -> None:
    env.step({"player_0": np.int64(4), "player_1": np.int8(4), "player_2": np.array(4)})
    assert env.core_state.t == 1


def test_action_for_an_unknown_agent(env: GridGameEnv) -> None:
    with pytest.raises(ValueError, match=r"unknown agent 'player_9'.*player_0"):
        env.step(_stay_all(env) | {"player_9": 4})
    with pytest.raises(ValueError, match=r"unknown agent 0"):
        env.step(_stay_all(env) | {0: 4})


def test_action_for_an_agent_that_has_left() -> None:
    env = MarkovStagHuntEnv(num_players=2, num_stags=0, num_hares=2, num_wall_pieces=0)
    env.reset(seed=0)
    s = env.core_state
    s.player_pos[0] = s.object_pos[0]  # player_0 stands on a hare and takes it
    env.step({"player_0": 6, "player_1": 4})
    assert env.agents == ["player_1"]
    with pytest.raises(ValueError, match=r"'player_0', which has left the game"):
        env.step({"player_0": 4, "player_1": 4})


def test_missing_action_for_a_live_agent(env: GridGameEnv) -> None:
    with pytest.raises(ValueError, match=r"no action given for live agent 'player_1'"):
        env.step({"player_0": 4, "player_2": 4})


def test_actions_not_in_a_dict(env: GridGameEnv) -> None:
    with pytest.raises(TypeError, match=r"dict from agent name to action, got list"):
        env.step([4, 4, 4])


@pytest.mark.parametrize("env_cls", ENV_CLASSES, ids=ENV_IDS)
def test_stepping_before_reset(env_cls: type[GridGameEnv]) -> None:
    env = env_cls()
    with pytest.raises(RuntimeError, match=rf"{env_cls.__name__}: call reset\(\) before step"):
        env.step(dict.fromkeys(env.possible_agents, 4))
    with pytest.raises(RuntimeError, match=r"call reset\(\)"):
        env.state()


@pytest.mark.parametrize("env_cls", ENV_CLASSES, ids=ENV_IDS)
def test_stepping_after_the_episode_ended(env_cls: type[GridGameEnv]) -> None:
    env = env_cls(max_cycles=2)
    env.reset(seed=1)
    env.step(_stay_all(env))
    env.step(_stay_all(env))
    assert env.agents == []
    for actions in ({}, dict.fromkeys(env.possible_agents, 4)):
        with pytest.raises(RuntimeError, match=r"the episode has ended.*call reset\(\)"):
            env.step(actions)
    env.reset(seed=1)
    env.step(_stay_all(env))  # usable again after a reset


def test_unknown_agent_in_space_lookups(env: GridGameEnv) -> None:
    for lookup in (env.observation_space, env.action_space):
        with pytest.raises(ValueError, match=r"unknown agent 'player_7'"):
            lookup("player_7")


# -- constructor arguments ---------------------------------------------------------------------
NAN, INF = math.nan, math.inf

#: argument -> bad values, shared by both games.
COMMON_BAD: dict[str, list[Any]] = {
    "num_players": [1, 0, 9, -2, 2.5, "4", True, None],
    "grid_size": [1, 0, -8, 8.0, "8", False, None],
    "height": [1, 0, 6.5, "6", True],
    "width": [1, -1, 6.5, "6", True],
    "max_cycles": [0, -1, 3.5, "35", True, None],
    "num_wall_pieces": [-1, 1.5, "5", True, None],
    "reward_mode": ["greedy", "Selfish", "", None, 0],
}
STAG_HUNT_BAD: dict[str, list[Any]] = COMMON_BAD | {
    "num_stags": [-1, 1.5, "1", True, None],
    "num_hares": [-1, 4.0, "4", None],
    "stag_reward": [NAN, INF, -INF, "10", True, None],
    "hare_reward": [NAN, INF, "1", False, None],
    "time_reward": [NAN, -INF, "0", True],
    "stag_hunters_required": [0, -1, 5, 2.0, "2", True, None],
    "end_after_first_hunt": [-1, 2.5, "3", True],
    "player_strength": [
        (1, 1, 1),
        (1, 1, 1, 1, 1),
        (),
        (1, 1, 0, 1),
        (1, -2, 1, 1),
        (1, NAN, 1, 1),
        (1, INF, 1, 1),
        (1, "2", 1, 1),
        (True, 1, 1, 1),
        5,
        2.5,
        "1111",
    ],
}
SNOWDRIFT_BAD: dict[str, list[Any]] = COMMON_BAD | {
    "num_drifts": [0, -1, 65, 2.5, "6", True, None],
    "removal_reward": [NAN, INF, "6", True, None],
    "removal_cost": [NAN, -INF, "4", False, None],
}


def _cases(bad: dict[str, list[Any]]) -> list[Any]:
    return [
        pytest.param(name, value, id=f"{name}={value!r}")
        for name, values in bad.items()
        for value in values
    ]


def _first_bad_strength(value: tuple) -> int:
    """Index of the first entry that is not a positive finite number."""
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < INF:
            return i
    raise AssertionError(f"no bad entry in {value!r}")


def _check_message(message: str, name: str, value: Any) -> None:
    """The message names the argument and the value; a bad entry of a strength tuple of
    the right length is named as ``player_strength[i]`` with that entry's value."""
    if name == "player_strength" and isinstance(value, tuple) and len(value) == 4:
        i = _first_bad_strength(value)
        name, value = f"player_strength[{i}]", value[i]
    assert name in message, f"{name!r} not named in {message!r}"
    assert repr(value) in message, f"{value!r} not named in {message!r}"


@pytest.mark.parametrize(("name", "value"), _cases(STAG_HUNT_BAD))
def test_stag_hunt_rejects_bad_argument(name: str, value: Any) -> None:
    with pytest.raises(ValueError) as err:
        MarkovStagHuntEnv(**{name: value})
    _check_message(str(err.value), name, value)
    with pytest.raises(ValueError):
        StagHuntConfig(**{name: value})


@pytest.mark.parametrize(("name", "value"), _cases(SNOWDRIFT_BAD))
def test_snowdrift_rejects_bad_argument(name: str, value: Any) -> None:
    with pytest.raises(ValueError) as err:
        MarkovSnowdriftEnv(**{name: value})
    _check_message(str(err.value), name, value)
    with pytest.raises(ValueError):
        SnowdriftConfig(**{name: value})


def test_prey_counts_are_checked_together() -> None:
    with pytest.raises(ValueError, match=r"num_stags \+ num_hares must be >= 1, got 0"):
        MarkovStagHuntEnv(num_stags=0, num_hares=0)
    with pytest.raises(ValueError, match=r"num_stags \+ num_hares = 2 \+ 3 prey .* 2x2 grid"):
        MarkovStagHuntEnv(grid_size=2, num_stags=2, num_hares=3)


def test_stag_hunters_required_is_bounded_by_num_players() -> None:
    with pytest.raises(ValueError, match=r"stag_hunters_required must be in \[1, 3\], got 4"):
        MarkovStagHuntEnv(num_players=3, stag_hunters_required=4)


@pytest.mark.parametrize("env_cls", ENV_CLASSES, ids=ENV_IDS)
def test_unknown_argument_is_named(env_cls: type[GridGameEnv]) -> None:
    with pytest.raises(ValueError, match=r"num_player.*known arguments are \[.*'num_players'"):
        env_cls(num_player=3)


@pytest.mark.parametrize("env_cls", ENV_CLASSES, ids=ENV_IDS)
@pytest.mark.parametrize("value", ["video", "rgb", "", 1])
def test_bad_render_mode(env_cls: type[GridGameEnv], value: Any) -> None:
    with pytest.raises(ValueError) as err:
        env_cls(render_mode=value)
    assert "render_mode" in str(err.value) and repr(value) in str(err.value)


@pytest.mark.parametrize("env_cls", ENV_CLASSES, ids=ENV_IDS)
def test_render_without_a_mode(env_cls: type[GridGameEnv]) -> None:
    env = env_cls()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"render\(\) needs a render_mode"):
        env.render()


@pytest.mark.parametrize("env_cls", ENV_CLASSES, ids=ENV_IDS)
def test_strict_must_be_a_bool(env_cls: type[GridGameEnv]) -> None:
    with pytest.raises(ValueError, match=r"strict.*'no'"):
        env_cls(strict="no")


def test_make_rejects_unknown_ids_with_close_matches() -> None:
    with pytest.raises(ValueError, match=r"unknown environment id 'MarkovStagHnt-v0'.*"):
        hop_envs.make("MarkovStagHnt-v0")
    with pytest.raises(ValueError, match=r"api must be 'parallel' or 'aec', got 'gym'"):
        hop_envs.make("MarkovStagHunt-v0", api="gym")
