"""The learners' networks: a small-grid CNN trunk and SB3's actor-critic heads on top.

SB3's default ``NatureCNN`` needs images of at least 36x36; the games are 8x8, so the trunk is
HOP's own conv stack (3x3, same padding, ReLU; :func:`agents.hop.networks.conv_stack`)
followed by one hidden layer. :func:`build_policy` rebuilds a learner's policy from its
:class:`PolicyConfig` alone, which is how checkpoints load without SB3's pickled zip files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from agents.hop.networks import conv_stack
from baselines.sb3.learners import Learner


class GridExtractor(BaseFeaturesExtractor):
    """Conv stack over the ``(C, H, W)`` observation grid -> flatten -> hidden layer (ReLU)."""

    def __init__(
        self,
        observation_space: spaces.Box,
        conv_channels: tuple[int, ...] = (32, 32),
        features_dim: int = 128,
    ) -> None:
        super().__init__(observation_space, features_dim)
        channels, height, width = observation_space.shape
        self.convs, out = conv_stack(channels, conv_channels)
        self.hidden = nn.Sequential(nn.Linear(out * height * width, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.hidden(self.convs(observations).flatten(1))


@dataclass(frozen=True)
class PolicyConfig:
    """Sizes of a learner's network (saved in its checkpoint's JSON)."""

    conv_channels: tuple[int, ...] = (32, 32)
    features_dim: int = 128
    hidden: tuple[int, ...] = (64,)
    lstm_hidden_size: int = 64

    def __post_init__(self) -> None:
        for name in ("conv_channels", "hidden"):
            values = getattr(self, name)
            if not values or any(int(v) < 1 for v in values):
                raise ValueError(f"PolicyConfig.{name} must be positive sizes, got {values!r}")
        for name in ("features_dim", "lstm_hidden_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"PolicyConfig.{name} must be >= 1, got {getattr(self, name)!r}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PolicyConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"PolicyConfig: unknown fields {unknown}; known are {sorted(known)}")
        data = dict(data)
        for name in ("conv_channels", "hidden"):
            if name in data:
                data[name] = tuple(int(v) for v in data[name])
        return cls(**data)


def policy_class(learner: Learner) -> type[BasePolicy]:
    """The SB3 policy class of ``learner``'s algorithm (imported on demand)."""
    if learner.algorithm == "maskable-ppo":
        from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

        return MaskableActorCriticPolicy
    if learner.algorithm == "recurrent-ppo":
        from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy

        return RecurrentActorCriticPolicy
    return ActorCriticPolicy


def policy_kwargs(learner: Learner, config: PolicyConfig) -> dict[str, Any]:
    """The ``policy_kwargs`` SB3 builds ``learner``'s policy with."""
    hidden = list(config.hidden)
    kwargs: dict[str, Any] = {
        "features_extractor_class": GridExtractor,
        "features_extractor_kwargs": {
            "conv_channels": tuple(config.conv_channels),
            "features_dim": config.features_dim,
        },
        "net_arch": {"pi": hidden, "vf": hidden},
        "activation_fn": nn.ReLU,
        "normalize_images": False,
    }
    if learner.recurrent:
        kwargs["lstm_hidden_size"] = config.lstm_hidden_size
    return kwargs


def build_policy(
    learner: Learner,
    config: PolicyConfig,
    observation_space: spaces.Box,
    action_space: spaces.Discrete,
) -> BasePolicy:
    """A fresh (untrained) policy of ``learner``, on the CPU, in evaluation mode."""
    cls = policy_class(learner)
    policy = cls(observation_space, action_space, lambda _: 0.0, **policy_kwargs(learner, config))
    policy.set_training_mode(False)
    return policy
