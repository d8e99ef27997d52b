"""Playing co-players through whole episodes and trials (a helper module, not a test file).

:func:`play_episode` drives players exactly as the evaluation runner does (DESIGN §5):
``start_episode()``, then per joint step ``act`` for the players still in the game,
``env.step`` and ``observe(transition)`` for **every** player (also those that have left),
then ``end_episode()``. Transitions are plain namespaces with the runner's attributes, since
``hop_envs`` tests do not import ``agents``. :func:`hand_env` gives an env whose state is a
hand-built text grid (see :mod:`coplayer_grids`), reinstalled by :func:`restart` for every
episode of a trial.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from coplayer_grids import build, observation

import hop_envs
from hop_envs.core import GridState

STAG_ENV, SNOW_ENV = "hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0"
GAME_ENV = {"stag": STAG_ENV, "snow": SNOW_ENV}


def seat_info(env_id: str, seat: int) -> SimpleNamespace:
    """The parts of an ``agents.SeatInfo`` the co-players read."""
    return SimpleNamespace(env_id=env_id, agent_id=f"player_{seat}", seat=seat)


@dataclass
class EpisodeLog:
    """What happened in one episode: the actions and infos of every joint step."""

    actions: list[dict[str, int]] = field(default_factory=list)
    infos: list[dict[str, dict[str, Any]]] = field(default_factory=list)
    rewards: dict[str, float] = field(default_factory=dict)

    def of(self, agent: str) -> list[int]:
        """``agent``'s actions, one per step it was in the game."""
        return [step[agent] for step in self.actions if agent in step]

    def captured(self, agent: str) -> str | None:
        """The prey kind ``agent`` captured ("stag"/"hare"), or None."""
        for infos in self.infos:
            if agent in infos and infos[agent]["captured"]:
                return infos[agent]["captured"]
        return None

    def removal_steps(self, agent: str) -> list[int]:
        """The step indices at which ``agent`` took part in removing a drift."""
        return [
            t
            for t, infos in enumerate(self.infos)
            if agent in infos and infos[agent]["removed_drift"] is not None
        ]


def start_trial(players: Sequence[Any], env_id: str, seeds: Sequence[int] | None = None) -> None:
    """``reset(seed, seat)`` for every player (seeds 0, 1, ... unless given)."""
    seeds = range(len(players)) if seeds is None else seeds
    for seat, (player, seed) in enumerate(zip(players, seeds, strict=True)):
        player.reset(seed=seed, seat=seat_info(env_id, seat))


def play_episode(env: Any, players: Sequence[Any], observations: dict[str, Any]) -> EpisodeLog:
    """One episode from the env's current state (``observations`` are its current ones)."""
    log = EpisodeLog(rewards=dict.fromkeys(env.possible_agents, 0.0))
    for player in players:
        player.start_episode()
    while env.agents:
        actions = {a: players[int(a.rsplit("_", 1)[1])].act(observations[a]) for a in env.agents}
        observations, rewards, terminations, truncations, infos = env.step(actions)
        assert not any(info["illegal_action"] for info in infos.values()), (actions, infos)
        transition = SimpleNamespace(
            actions=actions,
            observations=observations,
            rewards=rewards,
            terminations=terminations,
            truncations=truncations,
            infos=infos,
        )
        for player in players:
            player.observe(transition)
        log.actions.append(actions)
        log.infos.append(infos)
        for agent, reward in rewards.items():
            log.rewards[agent] += reward
    for player in players:
        player.end_episode()
    return log


def play_trial(
    env_id: str,
    players: Sequence[Any],
    episodes: int,
    *,
    env_seed: int = 0,
    seeds: Sequence[int] | None = None,
    **env_kwargs: Any,
) -> list[EpisodeLog]:
    """A trial of ``episodes`` episodes on freshly drawn layouts of ``env_id``."""
    env = hop_envs.make(env_id, num_players=len(players), **env_kwargs)
    start_trial(players, env_id, seeds)
    logs = []
    for episode in range(episodes):
        observations, _ = env.reset(seed=env_seed + episode)
        logs.append(play_episode(env, players, observations))
    return logs


def hand_env(game: str, rows: Sequence[str], players: Sequence[tuple[int, int]], **config: Any):
    """An env of ``game`` ("stag"/"snow") sized for the text grid, and the grid's state."""
    rules, state = build(game, rows, players)
    kwargs: dict[str, Any] = {"num_players": len(players), "height": rules.height}
    kwargs |= {"width": rules.width, "num_wall_pieces": 0}
    if game == "stag":
        kwargs |= {"num_stags": rules.config.num_stags, "num_hares": rules.config.num_hares}
    else:
        kwargs["num_drifts"] = rules.config.num_drifts
    env = hop_envs.make(GAME_ENV[game], **(kwargs | config))
    return env, state


def restart(env: Any, state: GridState) -> dict[str, Any]:
    """Reset ``env`` and install a copy of ``state``; the observations of the new state."""
    env.reset(seed=0)
    target = env.core_state
    for f in dataclasses.fields(GridState):
        value = getattr(state, f.name)
        setattr(target, f.name, value.copy() if hasattr(value, "copy") else value)
    return {a: observation(env.rules, target, seat) for seat, a in enumerate(env.agents)}


def hand_trial(
    game: str,
    rows: Sequence[str],
    positions: Sequence[tuple[int, int]],
    players: Sequence[Any],
    episodes: int,
    seeds: Sequence[int] | None = None,
    **config: Any,
) -> list[EpisodeLog]:
    """A trial whose every episode starts from the same hand-built grid."""
    env, state = hand_env(game, rows, positions, **config)
    start_trial(players, GAME_ENV[game], seeds)
    return [play_episode(env, players, restart(env, state)) for _ in range(episodes)]


class PerEpisode:
    """A scripted player: episode ``i`` of a trial is played by ``players[i]``."""

    def __init__(self, *players: Any) -> None:
        self.players = players
        self.episode = 0

    def reset(self, seed: int | None = None, seat: Any = None) -> None:
        for player in self.players:
            player.reset(seed=seed, seat=seat)
        self.episode = 0

    def start_episode(self) -> None:
        self.players[self.episode].start_episode()

    def act(self, observation: Any) -> int:
        return self.players[self.episode].act(observation)

    def observe(self, transition: Any) -> None:
        self.players[self.episode].observe(transition)

    def end_episode(self) -> None:
        self.players[self.episode].end_episode()
        self.episode += 1


class Stay:
    """A scripted player that always stays."""

    def reset(self, seed: int | None = None, seat: Any = None) -> None:
        return None

    def start_episode(self) -> None:
        return None

    def act(self, observation: Any) -> int:
        return 4

    def observe(self, transition: Any) -> None:
        return None

    def end_episode(self) -> None:
        return None
