"""A learner's checkpoint: ``policy.safetensors`` (weights) + ``policy.json`` (what to build).

Loading rebuilds the policy from the JSON with :func:`baselines.sb3.policies.build_policy` and
fills in the weights with ``safetensors``: no SB3 zip file and nothing pickled is read. The
optimizer's state for resuming a training run is saved the same way
(``optimizer.safetensors`` + ``optimizer.json``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from safetensors.torch import load_file, load_model, save_file, save_model
from stable_baselines3.common.policies import BasePolicy

from baselines.sb3.learners import Learner, learner
from baselines.sb3.policies import PolicyConfig, build_policy

FORMAT = "hop-bench-sb3-policy/1"
POLICY_JSON, POLICY_WEIGHTS = "policy.json", "policy.safetensors"
OPTIMIZER_JSON, OPTIMIZER_WEIGHTS = "optimizer.json", "optimizer.safetensors"


@dataclass(frozen=True)
class PolicyMeta:
    """What a checkpoint's JSON says: the learner, the game it plays and the network sizes."""

    learner: str
    env_id: str
    observation_shape: tuple[int, int, int]
    num_actions: int
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    training: Mapping[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> Learner:
        return learner(self.learner)

    def spaces(self) -> tuple[spaces.Box, spaces.Discrete]:
        return (
            spaces.Box(0, 1, self.observation_shape, np.uint8),
            spaces.Discrete(self.num_actions),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "learner": self.learner,
            "env_id": self.env_id,
            "env_kwargs": dict(self.env_kwargs),
            "observation_shape": list(self.observation_shape),
            "num_actions": self.num_actions,
            "policy": self.policy.to_json(),
            "training": dict(self.training),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> PolicyMeta:
        if data.get("format") != FORMAT:
            raise ValueError(f"{where}: format must be {FORMAT!r}, got {data.get('format')!r}")
        try:
            shape = tuple(int(v) for v in data["observation_shape"])
            if len(shape) != 3:
                raise ValueError(f"observation_shape must have 3 entries, got {list(shape)}")
            return cls(
                learner=str(data["learner"]),
                env_id=str(data["env_id"]),
                env_kwargs=dict(data.get("env_kwargs", {})),
                observation_shape=shape,  # type: ignore[arg-type]
                num_actions=int(data["num_actions"]),
                policy=PolicyConfig.from_json(dict(data.get("policy", {}))),
                training=dict(data.get("training", {})),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: not a valid learner checkpoint ({err})") from None


def save_policy(directory: str | Path, meta: PolicyMeta, policy: BasePolicy) -> Path:
    """Write ``policy.json`` and ``policy.safetensors`` into ``directory``; return it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # save_model writes tensors shared between modules (SB3's shared trunk) once.
    save_model(policy, str(directory / POLICY_WEIGHTS))
    (directory / POLICY_JSON).write_text(json.dumps(meta.to_json(), indent=2) + "\n")
    return directory


def read_meta(directory: str | Path) -> PolicyMeta:
    """The checkpoint's JSON; ``FileNotFoundError`` naming the folder if it has none."""
    path = Path(directory) / POLICY_JSON
    if not path.is_file():
        raise FileNotFoundError(f"no learner checkpoint in {Path(directory)}: {path} is missing")
    return PolicyMeta.from_json(json.loads(path.read_text()), str(path))


def load_policy(directory: str | Path) -> tuple[PolicyMeta, BasePolicy]:
    """Rebuild the policy saved in ``directory`` (evaluation mode, CPU)."""
    meta = read_meta(directory)
    observation_space, action_space = meta.spaces()
    policy = build_policy(meta.spec, meta.policy, observation_space, action_space)
    weights = Path(directory) / POLICY_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"learner checkpoint {Path(directory)}: {weights} is missing")
    try:
        load_model(policy, str(weights), strict=True)
    except RuntimeError as err:
        raise ValueError(
            f"{weights}: the weights do not fit the network {meta.policy} of "
            f"{meta.learner!r} ({err})"
        ) from None
    return meta, policy


def save_optimizer(directory: str | Path, optimizer: torch.optim.Optimizer) -> None:
    """The optimizer's state as safetensors (tensors) + JSON (everything else)."""
    directory = Path(directory)
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            name = f"{index}/{key}"
            if isinstance(value, torch.Tensor):
                tensors[name] = value.detach().cpu().contiguous()
            else:
                scalars[name] = value
    save_file(tensors, str(directory / OPTIMIZER_WEIGHTS))
    data = {"param_groups": state["param_groups"], "scalars": scalars}
    (directory / OPTIMIZER_JSON).write_text(json.dumps(data, indent=2) + "\n")


def load_optimizer(directory: str | Path, optimizer: torch.optim.Optimizer) -> None:
    """Restore what :func:`save_optimizer` wrote into ``optimizer``."""
    directory = Path(directory)
    data = json.loads((directory / OPTIMIZER_JSON).read_text())
    tensors = load_file(str(directory / OPTIMIZER_WEIGHTS))
    state: dict[int, dict[str, Any]] = {}
    for name, value in [*tensors.items(), *data["scalars"].items()]:
        index, key = name.split("/", 1)
        state.setdefault(int(index), {})[key] = value
    groups = []
    for group in data["param_groups"]:
        group = dict(group)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    optimizer.load_state_dict({"state": state, "param_groups": groups})
