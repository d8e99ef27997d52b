"""The PettingZoo ``ParallelEnv`` shared by both games: it wraps a pure rules object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from hop_envs.core.rules import GridRules
from hop_envs.core.state import GridState, StepOutcome
from hop_envs.render import render_ansi, render_rgb

AgentID = str
RENDER_MODES = ("ansi", "rgb_array", "human")


def _as_action(agent: str, value: Any, num_actions: int) -> int:
    """Validate one action: an integer (Python, numpy or 0-d array) in range."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(
            f"action for {agent!r} must be an integer in [0, {num_actions - 1}], "
            f"got {value!r} ({type(value).__name__})"
        )
    if not 0 <= value < num_actions:
        raise ValueError(
            f"action for {agent!r} must be in [0, {num_actions - 1}], got {int(value)}"
        )
    return int(value)


class GridGameEnv(ParallelEnv[AgentID, dict[str, Any], int]):
    """Common machinery: spaces, reset, validated step, observations, infos, rendering.

    Subclasses set ``rules_class``, ``config_class`` and the event infos.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "grid_game",
        "render_modes": list(RENDER_MODES),
        "render_fps": 5,
        "is_parallelizable": True,
    }
    rules_class: ClassVar[type[GridRules]]
    config_class: ClassVar[type]

    def __init__(self, render_mode: str | None = None, strict: bool = False, **kwargs: Any):
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode must be None or one of {list(RENDER_MODES)}, got {render_mode!r}"
            )
        try:
            self.config = self.config_class(**kwargs)
        except TypeError as err:
            known = sorted(f for f in self.config_class.__dataclass_fields__ if f != "strength")
            raise ValueError(f"{type(self).__name__}: {err}; known arguments are {known}") from None
        self.rules = self.rules_class(self.config)
        if not isinstance(strict, bool):
            raise ValueError(f"strict must be True or False, got {strict!r}")
        self.render_mode = render_mode
        self.strict = strict
        n = self.rules.num_players
        self.possible_agents = [f"player_{i}" for i in range(n)]
        self.agents: list[AgentID] = []
        self._seat = {a: i for i, a in enumerate(self.possible_agents)}
        self._obs_space = spaces.Dict(
            {
                "observation": spaces.Box(
                    0,
                    1,
                    (self.rules.num_channels, self.config.height, self.config.width),
                    np.uint8,
                ),
                "action_mask": spaces.Box(0, 1, (self.rules.num_actions,), np.int8),
                "step": spaces.Discrete(self.config.max_cycles + 1),
            }
        )
        self._act_space = spaces.Discrete(self.rules.num_actions)
        self.observation_spaces = dict.fromkeys(self.possible_agents, self._obs_space)
        self.action_spaces = dict.fromkeys(self.possible_agents, self._act_space)
        self.state_space = spaces.Box(
            0, 1, (self.rules.num_channels, self.config.height, self.config.width), np.uint8
        )
        self._orders = [self.rules.channel_order(i) for i in range(n)]
        self._rng = np.random.default_rng()
        self._state: GridState | None = None
        self._window: Any = None

    # -- spaces ----------------------------------------------------------------------------
    def observation_space(self, agent: AgentID) -> spaces.Space:
        """The observation space of ``agent`` (the same object on every call)."""
        self._check_agent(agent)
        return self._obs_space

    def action_space(self, agent: AgentID) -> spaces.Space:
        """The action space of ``agent`` (the same object on every call)."""
        self._check_agent(agent)
        return self._act_space

    def _check_agent(self, agent: AgentID) -> None:
        if agent not in self._seat:
            raise ValueError(f"unknown agent {agent!r}; agents are {self.possible_agents}")

    # -- core access -----------------------------------------------------------------------
    @property
    def core_state(self) -> GridState:
        """The current pure state (a live reference; copy it before branching)."""
        if self._state is None:
            raise RuntimeError(f"{type(self).__name__}: call reset() before using the state")
        return self._state

    def state(self) -> np.ndarray:
        """The global grid ``(C, H, W)`` in seat order."""
        return self.rules.layers(self.core_state)

    # -- episode ---------------------------------------------------------------------------
    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[AgentID, dict], dict[AgentID, dict]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._state = self.rules.reset(self._rng)
        self.agents = list(self.possible_agents)
        observations = self._observations(self.agents)
        infos = {a: {} for a in self.agents}
        if self.render_mode == "human":
            self.render()
        return observations, infos

    def step(self, actions: Mapping[AgentID, Any]):
        state = self._state
        if state is None:
            raise RuntimeError(f"{type(self).__name__}: call reset() before step()")
        if not self.agents:
            raise RuntimeError(
                f"{type(self).__name__}: the episode has ended (no agents left); call reset()"
            )
        joint = self._validate(actions, state)
        acting = list(self.agents)
        outcome = self.rules.step(state, joint)
        rewards_arr = outcome.rewards.tolist()
        term_arr = outcome.terminated.tolist()
        trunc_arr = outcome.truncated.tolist()
        seats = [self._seat[a] for a in acting]
        observations = self._observations(acting)
        rewards = {a: rewards_arr[i] for a, i in zip(acting, seats, strict=True)}
        terminations = {a: term_arr[i] for a, i in zip(acting, seats, strict=True)}
        truncations = {a: trunc_arr[i] for a, i in zip(acting, seats, strict=True)}
        infos = self._infos(acting, seats, outcome)
        self.agents = [a for a in acting if not (terminations[a] or truncations[a])]
        if self.render_mode == "human":
            self.render()
        return observations, rewards, terminations, truncations, infos

    def _validate(self, actions: Mapping[AgentID, Any], state: GridState) -> list[int]:
        if not isinstance(actions, Mapping):
            raise TypeError(
                f"actions must be a dict from agent name to action, got {type(actions).__name__}"
            )
        live = set(self.agents)
        for agent in actions:
            if agent not in live:
                if agent in self._seat:
                    raise ValueError(
                        f"action given for {agent!r}, which has left the game; "
                        f"live agents are {self.agents}"
                    )
                raise ValueError(f"unknown agent {agent!r}; agents are {self.possible_agents}")
        joint = [4] * self.rules.num_players
        num_actions = self.rules.num_actions
        for agent in self.agents:
            if agent not in actions:
                raise ValueError(f"no action given for live agent {agent!r}")
            value = actions[agent]
            if type(value) is not int or not 0 <= value < num_actions:
                value = _as_action(agent, value, num_actions)
            joint[self._seat[agent]] = value
        if self.strict:
            for agent in self.agents:
                seat = self._seat[agent]
                mask = self.rules.action_mask(state, seat)
                if not mask[joint[seat]]:
                    legal = np.flatnonzero(mask).tolist()
                    name = self.rules.action_names[joint[seat]]
                    raise ValueError(
                        f"action {joint[seat]} ({name}) is not legal for {agent!r} here "
                        f"(strict=True); legal actions are {legal}"
                    )
        return joint

    def _observations(self, agents: list[AgentID]) -> dict[AgentID, dict[str, Any]]:
        state = self.core_state
        grid, masks = self.rules.layers_and_masks(state)
        step = np.int64(state.t)
        observations = {}
        for agent in agents:
            seat = self._seat[agent]
            observations[agent] = {
                "observation": grid.take(self._orders[seat], axis=0),
                "action_mask": masks[seat],
                "step": step,
            }
        return observations

    def _infos(
        self, agents: list[AgentID], seats: list[int], outcome: StepOutcome
    ) -> dict[AgentID, dict[str, Any]]:
        illegal = outcome.illegal.tolist()
        infos = {}
        for agent, seat in zip(agents, seats, strict=True):
            info = {"illegal_action": illegal[seat]}
            info.update(self.event_info(seat, outcome))
            infos[agent] = info
        return infos

    def event_info(self, seat: int, outcome: StepOutcome) -> dict[str, Any]:
        """Game-specific events of ``seat`` in the last step (overridden per game)."""
        return {}

    # -- rendering -------------------------------------------------------------------------
    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            raise ValueError(
                f"{type(self).__name__}: render() needs a render_mode, one of {list(RENDER_MODES)}"
            )
        state = self.core_state
        if self.render_mode == "ansi":
            return render_ansi(self.rules, state)
        frame = render_rgb(self.rules, state)
        if self.render_mode == "rgb_array":
            return frame
        from hop_envs.human_window import HumanWindow

        if self._window is None:
            self._window = HumanWindow(self.metadata["name"], frame.shape[:2])
        self._window.show(frame, self.metadata["render_fps"])
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
