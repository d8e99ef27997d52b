"""Pre-training of direct-OM's goal-free action model pi(a | s, t) on rule-based episodes.

``direct-om`` starts from the ``action_model/`` network of its checkpoint folder when there is
one (``hop-bench train`` writes it beside ``focal/`` and ``opponent_model/`` unless
``train_action_model`` is off). For a folder without one, or untrained focal weights, the
agent pre-trains the action model at first use with :func:`pretrain_action_model`: offline
episodes in which every seat is a rule-based co-player of the env (drawn uniformly per seat
and episode from :func:`rule_based_population`), recorded from seat 0's view exactly as the
agent records its own episodes (:class:`~agents.hop.goals.EpisodeRecorder`), so every other
seat's steps are training data; then ``epochs`` passes of maximum likelihood with
:class:`~agents.hop.om_training.OpponentModelTrainer`.

Everything is a pure function of :class:`PretrainConfig` (its ``seed`` drives the episode
seeds, the co-player draws, the initial weights and the minibatch order) and the env
arguments, so the result is cached per process (:func:`cached_pretrained_action_model`) and
every trial works on a copy. The default budget (:data:`DEFAULT_PRETRAIN_EPISODES` episodes,
:data:`DEFAULT_PRETRAIN_EPOCHS` epochs) takes a few seconds on one core.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import hop_envs
from agents.base import SeatInfo, Transition
from agents.hop.buffer import OpponentBuffer
from agents.hop.goals import EpisodeRecorder
from agents.hop.networks import ACTION_MODEL, ActionModel, NetworkConfig, build_network
from agents.hop.om_training import OMTrainingConfig, OpponentModelTrainer, RoundStats
from hop_envs.coplayers import TRAINING, coplayer_names, make_coplayer
from hop_envs.registration import full_env_id

__all__ = [
    "DEFAULT_PRETRAIN_EPISODES",
    "DEFAULT_PRETRAIN_EPOCHS",
    "PretrainConfig",
    "cached_pretrained_action_model",
    "collect_rule_based_episodes",
    "pretrain_action_model",
    "rule_based_population",
]

#: Offline episodes of the default pre-training budget.
DEFAULT_PRETRAIN_EPISODES = 60
#: Passes over those episodes' co-player steps.
DEFAULT_PRETRAIN_EPOCHS = 8


@dataclass(frozen=True)
class PretrainConfig:
    """Budget and sizes of one action-model pre-training run (validated)."""

    episodes: int = DEFAULT_PRETRAIN_EPISODES
    epochs: int = DEFAULT_PRETRAIN_EPOCHS
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    conv_channels: tuple[int, ...] = (16, 16)
    hidden: int = 128
    population: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.episodes, bool) or not isinstance(self.episodes, int):
            raise ValueError(f"PretrainConfig.episodes must be an int >= 1, got {self.episodes!r}")
        if self.episodes < 1:
            raise ValueError(f"PretrainConfig.episodes must be >= 1, got {self.episodes}")
        # epochs, batch_size, learning_rate and seed are checked by OMTrainingConfig.
        OMTrainingConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
        )
        object.__setattr__(self, "conv_channels", tuple(self.conv_channels))
        if self.population is not None:
            names = tuple(self.population)
            if not names or not all(isinstance(n, str) for n in names):
                raise ValueError(
                    "PretrainConfig.population must be None or a non-empty sequence of "
                    f"co-player names, got {self.population!r}"
                )
            object.__setattr__(self, "population", names)

    def network_config(self, rules: Any) -> NetworkConfig:
        """The action model's config for ``rules`` (validates the sizes)."""
        return NetworkConfig.for_rules(
            rules, ACTION_MODEL, conv_channels=self.conv_channels, hidden=self.hidden
        )


def rule_based_population(env_id: str) -> tuple[str, ...]:
    """The shipped rule-based co-players that play ``env_id``, sorted (plug-ins excluded, so
    the pre-training data do not depend on what else is installed)."""
    names = tuple(coplayer_names(env_id, population=TRAINING))
    if not names:
        raise ValueError(f"rule_based_population: no shipped rule-based co-player plays {env_id}")
    return names


def collect_rule_based_episodes(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    episodes: int,
    seed: int,
    population: tuple[str, ...] | None = None,
) -> OpponentBuffer:
    """``episodes`` episodes with a rule-based co-player in every seat, recorded from seat 0's
    view into a fresh :class:`OpponentBuffer` (seeds from ``SeedSequence([seed, index])``)."""
    env_id = full_env_id(env_id)
    kwargs = dict(env_kwargs or {})
    pool = population if population is not None else rule_based_population(env_id)
    env = hop_envs.make(env_id, **kwargs)
    rules = env.unwrapped.rules
    n = rules.num_players
    buffer = OpponentBuffer(rules)
    for index in range(episodes):
        s = np.random.SeedSequence([seed, index]).generate_state(2 + n).tolist()
        draw = np.random.default_rng(s[0])
        players = []
        for j in range(n):
            player = make_coplayer(pool[int(draw.integers(len(pool)))], env_id)
            player.reset(seed=int(s[2 + j]), seat=_seat_info(env, env_id, kwargs, j))
            player.start_episode()
            players.append(player)
        recorder = EpisodeRecorder(rules, 0)
        observations, _ = env.reset(seed=int(s[1]))
        recorder.begin(observations["player_0"])
        while env.agents:
            actions = {
                a: int(players[int(a.split("_")[1])].act(observations[a])) for a in env.agents
            }
            observations, rewards, terms, truncs, infos = env.step(actions)
            transition = Transition(actions, observations, rewards, terms, truncs, infos)
            recorder.record(transition)
            for j, player in enumerate(players):
                if f"player_{j}" in actions:
                    player.observe(transition)
        for player in players:
            player.end_episode()
        buffer.add_episode(recorder.finish())
    return buffer


def pretrain_action_model(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None = None,
    config: PretrainConfig | None = None,
) -> tuple[ActionModel, RoundStats]:
    """A goal-free action model trained on offline rule-based episodes (module docstring),
    and the stats of its one training round."""
    cfg = config or PretrainConfig()
    env_id = full_env_id(env_id)
    rules = hop_envs.make(env_id, **dict(env_kwargs or {})).unwrapped.rules
    seeds = np.random.SeedSequence([cfg.seed, 1]).generate_state(2).tolist()
    model = build_network(cfg.network_config(rules), int(seeds[0]))
    buffer = collect_rule_based_episodes(env_id, env_kwargs, cfg.episodes, cfg.seed, cfg.population)
    trainer = OpponentModelTrainer(
        model,  # type: ignore[arg-type]
        rules,
        OMTrainingConfig(
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate,
            seed=int(seeds[1]),
        ),
    )
    stats = trainer.train_round(buffer)
    model.eval()
    return model, stats  # type: ignore[return-value]


_CACHE: dict[tuple[str, str, PretrainConfig], ActionModel] = {}


def cached_pretrained_action_model(
    env_id: str, env_kwargs: Mapping[str, Any] | None, config: PretrainConfig
) -> ActionModel:
    """A copy of :func:`pretrain_action_model`'s network, trained once per process for each
    (env, arguments, config)."""
    key = (full_env_id(env_id), json.dumps(dict(env_kwargs or {}), sort_keys=True), config)
    if key not in _CACHE:
        _CACHE[key] = pretrain_action_model(env_id, env_kwargs, config)[0]
    return copy.deepcopy(_CACHE[key])


def _seat_info(env: Any, env_id: str, env_kwargs: dict[str, Any], seat: int) -> SeatInfo:
    return SeatInfo.of_env(env, env_id, seat, env_kwargs=env_kwargs)
