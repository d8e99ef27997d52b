"""One seat of a hop-bench game as a Gymnasium env: the single-agent view RL libraries train on.

The other seats are played by co-players that follow the Agent protocol (rule-based ones by
registered name, any instance, or a population to draw from), exactly as the evaluation runner
plays them: every co-player is reset at the start of a trial, told when episodes start and
end, and observes every joint step. The learner sees its own observation grid
(``Box(0, 1, (C, H, W), uint8)``), gets its own reward (the env's ``reward_mode`` decides
which) and its episode ends when its seat leaves the game. ``action_masks()`` is the hook
``sb3-contrib``'s MaskablePPO reads.

With ``episodes_per_trial=K > 1`` one Gymnasium episode is a whole trial of ``K`` game
episodes with the same co-players (an RL²-style few-shot task for recurrent learners): game
episodes follow each other without ``terminated``/``truncated``, and ``info["game_episode"]``
counts them. Registered in Gymnasium's registry as ``hop/MarkovStagHuntFocal-v0`` and
``hop/MarkovSnowdriftFocal-v0`` when :mod:`baselines` is imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium
import numpy as np

import hop_envs
from agents.base import SeatInfo, Transition
from hop_envs.coplayers import coplayer_names, make_coplayer
from hop_envs.core.layout import STAY

#: Gymnasium id of each focal-seat view -> the PettingZoo env it plays.
FOCAL_ENV_IDS: dict[str, str] = {
    "hop/MarkovStagHuntFocal-v0": "hop/MarkovStagHunt-v0",
    "hop/MarkovSnowdriftFocal-v0": "hop/MarkovSnowdrift-v0",
}

#: Seeds drawn for the env and the co-players lie in [0, SEED_BOUND).
SEED_BOUND = 2**31 - 1


def check_focal_seat(focal_seat: object, num_players: int, env_id: str, who: str) -> None:
    """``ValueError`` unless ``focal_seat`` is None or a seat of a ``num_players`` game."""
    if focal_seat is not None and (
        isinstance(focal_seat, bool)
        or not isinstance(focal_seat, int | np.integer)
        or not 0 <= focal_seat < num_players
    ):
        raise ValueError(
            f"{who}: focal_seat must be None or a seat in 0..{num_players - 1} of {env_id}, "
            f"got {focal_seat!r}"
        )


def training_population(env_id: str) -> tuple[str, ...]:
    """The rule-based training population's co-players for ``env_id`` (neither held-out
    nor learned ones)."""
    return tuple(coplayer_names(env_id, population="training"))


class FocalSeatEnv(gymnasium.Env):
    """A Gymnasium env for one seat of ``env_id``; co-players fill every other seat.

    Arguments:
        ``env_id``: the PettingZoo game, e.g. ``"hop/MarkovStagHunt-v0"``.
        ``coplayers``: ``None`` (the env's training population, drawn per seat per trial), a
        registered co-player name (every other seat), a sequence of names (a population:
        each other seat draws one uniformly per trial), or a sequence of ``num_players - 1``
        Agent-protocol instances (the other seats in seat order, reset every trial).
        ``focal_seat``: the learner's seat, or ``None`` to draw it uniformly per trial.
        ``episodes_per_trial``: game episodes in one Gymnasium episode (default 1).
        ``render_mode``: ``"ansi"`` or ``"rgb_array"``, passed to the game.
        Any other keyword is the game's own argument (``num_players``, ``reward_mode``, ...).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 5}

    def __init__(
        self,
        env_id: str = "hop/MarkovStagHunt-v0",
        coplayers: str | Sequence[Any] | None = None,
        focal_seat: int | None = None,
        episodes_per_trial: int = 1,
        render_mode: str | None = None,
        **env_kwargs: Any,
    ) -> None:
        self.env_id = hop_envs.full_env_id(env_id)
        self.env_kwargs = dict(env_kwargs)
        self.game = hop_envs.make(self.env_id, render_mode=render_mode, **env_kwargs)
        self.render_mode = render_mode
        self.num_players = len(self.game.possible_agents)
        check_focal_seat(focal_seat, self.num_players, self.env_id, "FocalSeatEnv")
        if (
            isinstance(episodes_per_trial, bool)
            or not isinstance(episodes_per_trial, int)
            or (episodes_per_trial < 1)
        ):
            raise ValueError(
                f"FocalSeatEnv: episodes_per_trial must be an integer >= 1, "
                f"got {episodes_per_trial!r}"
            )
        self.fixed_seat = None if focal_seat is None else int(focal_seat)
        self.episodes_per_trial = episodes_per_trial
        self._population, self._instances = self._read_coplayers(coplayers)
        game_space = self.game.observation_space(self.game.possible_agents[0])
        self.observation_space = game_space["observation"]
        self.action_space = self.game.action_space(self.game.possible_agents[0])
        self._num_actions = int(self.action_space.n)
        self._stay_only = np.zeros(self._num_actions, dtype=bool)
        self._stay_only[STAY] = True
        # Set by reset().
        self.seat = 0
        self.coplayer_names: tuple[str, ...] = ()
        self._players: dict[int, Any] = {}
        self._observations: dict[str, Mapping[str, Any]] = {}
        self._mask = self._stay_only
        self._game_episode = 0
        self._focal_live = False

    # -- construction helpers --------------------------------------------------------------
    def _read_coplayers(
        self, coplayers: str | Sequence[Any] | None
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        """(population of names, fixed instances); exactly one is non-empty."""
        if coplayers is None:
            population = training_population(self.env_id)
        elif isinstance(coplayers, str):
            population = (coplayers,)
        elif isinstance(coplayers, Sequence) and coplayers:
            if all(isinstance(c, str) for c in coplayers):
                population = tuple(coplayers)
            elif any(isinstance(c, str) for c in coplayers):
                raise ValueError(
                    "FocalSeatEnv: coplayers must be all names or all instances, got "
                    f"{list(map(repr, coplayers))}"
                )
            else:
                if len(coplayers) != self.num_players - 1:
                    raise ValueError(
                        f"FocalSeatEnv: {len(coplayers)} co-player instance(s) given, but "
                        f"{self.env_id} with {self.num_players} players has "
                        f"{self.num_players - 1} other seats"
                    )
                return (), tuple(coplayers)
        else:
            raise ValueError(
                "FocalSeatEnv: coplayers must be None, a co-player name, a non-empty sequence "
                f"of names or of {self.num_players - 1} instances, got {coplayers!r}"
            )
        for name in population:  # fail now, with the registry's message, on unknown names
            make_coplayer(name, self.env_id)
        return population, ()

    # -- Gymnasium API ---------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a trial: draw the seat and the co-players, reset them, start episode 0."""
        super().reset(seed=seed)
        rng = self.np_random
        n = self.num_players
        self.seat = self.fixed_seat if self.fixed_seat is not None else int(rng.integers(n))
        others = [s for s in range(n) if s != self.seat]
        if self._instances:
            players = dict(zip(others, self._instances, strict=True))
            self.coplayer_names = tuple(
                getattr(p, "name", type(p).__name__) for p in self._instances
            )
        else:
            names = [self._population[int(rng.integers(len(self._population)))] for _ in others]
            pairs = zip(others, names, strict=True)
            players = {s: make_coplayer(name, self.env_id) for s, name in pairs}
            self.coplayer_names = tuple(names)
        self._players = players
        for s, player in players.items():
            info = SeatInfo.of_env(
                self.game, self.env_id, s, env_kwargs=self.env_kwargs, focal_seats=(self.seat,)
            )
            player.reset(seed=int(rng.integers(SEED_BOUND)), seat=info)
        self._game_episode = 0
        return self._start_game_episode(), self._info({})

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """The learner's action with the co-players' actions as one joint step."""
        if not self._focal_live:
            raise RuntimeError(
                "FocalSeatEnv: the episode has ended (the focal seat left the game); call reset()"
            )
        if not self.action_space.contains(action):
            raise ValueError(
                f"FocalSeatEnv: action must be an integer in 0..{self._num_actions - 1} "
                f"(the game's actions {list(self.game.rules.action_names)}), got {action!r}"
            )
        focal = self.game.possible_agents[self.seat]
        _, rewards, terminations, truncations, infos = self._joint_step(int(action))
        reward = float(rewards[focal])
        terminated, truncated = bool(terminations[focal]), bool(truncations[focal])
        events = dict(infos[focal])
        obs = self._observations[focal]["observation"]
        if not (terminated or truncated):
            self._mask = self._observations[focal]["action_mask"].astype(bool)
            return obs, reward, False, False, self._info(events)
        # The focal seat left: the game episode is over for the learner.
        self._focal_live = False
        self._mask = self._stay_only
        if self._game_episode + 1 < self.episodes_per_trial:
            # Mid-trial: the co-players play the game episode to its end (they remember it),
            # then the next game episode of the same trial starts.
            while self.game.agents:
                self._joint_step(None)
            self._finish_game_episode()
            self._game_episode += 1
            return self._start_game_episode(), reward, False, False, self._info(events)
        self._finish_game_episode()
        return obs, reward, terminated, truncated, self._info(events)

    def action_masks(self) -> np.ndarray:
        """The learner's legal actions now (bool); stay only once its seat has left."""
        return self._mask.copy()

    def render(self) -> str | np.ndarray | None:
        return self.game.render()

    def close(self) -> None:
        self.game.close()

    # -- internals -------------------------------------------------------------------------
    def _start_game_episode(self) -> np.ndarray:
        observations, _ = self.game.reset(seed=int(self.np_random.integers(SEED_BOUND)))
        self._observations = observations
        for player in self._players.values():
            player.start_episode()
        focal = self.game.possible_agents[self.seat]
        self._focal_live = True
        self._mask = observations[focal]["action_mask"].astype(bool)
        return observations[focal]["observation"]

    def _joint_step(self, focal_action: int | None) -> tuple[Any, ...]:
        """One joint step: the co-players act, every co-player observes the transition."""
        focal = self.game.possible_agents[self.seat]
        actions: dict[str, int] = {}
        for agent in self.game.agents:
            if agent == focal:
                if focal_action is None:
                    raise RuntimeError("FocalSeatEnv: the focal seat is live but has no action")
                actions[agent] = focal_action
            else:
                seat = int(agent.rsplit("_", 1)[1])
                actions[agent] = int(self._players[seat].act(self._observations[agent]))
        observations, rewards, terminations, truncations, infos = self.game.step(actions)
        transition = Transition(actions, observations, rewards, terminations, truncations, infos)
        for player in self._players.values():
            player.observe(transition)
        self._observations = {**self._observations, **observations}
        return observations, rewards, terminations, truncations, infos

    def _finish_game_episode(self) -> None:
        for player in self._players.values():
            player.end_episode()

    def _info(self, events: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **events,
            "action_mask": self._mask.copy(),
            "seat": self.seat,
            "coplayers": self.coplayer_names,
            "game_episode": self._game_episode,
        }


def register_focal_envs() -> None:
    """Register the focal-seat views in Gymnasium's registry (idempotent)."""
    for focal_id, env_id in FOCAL_ENV_IDS.items():
        if focal_id not in gymnasium.registry:
            gymnasium.register(
                focal_id,
                entry_point="baselines.focal_env:FocalSeatEnv",
                kwargs={"env_id": env_id},
                disable_env_checker=False,
            )
