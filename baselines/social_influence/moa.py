"""The model of other agents (MOA): each co-player's next action from the learner's view.

Input: the learner's observation grid at step ``t`` and the step's joint action, ordered as the
observation orders the players (the learner first, then the others in seat order after it),
each one-hot. Output: logits of every co-player's action at ``t + 1``, in the same order. The
network is separate from the policy (the paper's MOA shares the policy's first layer; here the
policy stays a plain MaskablePPO network, trained by SB3 alone). Saved as ``moa.safetensors``
+ ``moa.json`` beside the policy's checkpoint; nothing is unpickled when it loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model
from torch import nn

from agents.hop.networks import conv_stack
from baselines.net_shape import GridNetShape

MOA_FORMAT = "hop-bench-moa/1"
MOA_JSON, MOA_WEIGHTS = "moa.json", "moa.safetensors"


@dataclass(frozen=True)
class MOAConfig(GridNetShape):
    """The MOA's shape: the game's sizes and the network's."""

    conv_channels: tuple[int, ...] = (32, 32)
    hidden: int = 128


class MOANetwork(nn.Module):
    """Conv stack over the grid, then (features ++ one-hot joint action) -> hidden -> logits
    ``(J, A)`` of the ``J`` co-players' next actions."""

    def __init__(self, config: MOAConfig) -> None:
        super().__init__()
        self.config = config
        channels, height, width = config.observation_shape
        self.convs, out = conv_stack(channels, config.conv_channels)
        joint = config.num_players * config.num_actions
        self.hidden = nn.Linear(out * height * width + joint, config.hidden)
        self.head = nn.Linear(config.hidden, config.num_coplayers * config.num_actions)

    def features(self, grids: torch.Tensor) -> torch.Tensor:
        """``(B, F)`` grid features (computed once for all counterfactual actions)."""
        return self.convs(grids).flatten(1)

    def logits_from_features(self, features: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
        """``features (..., F)`` and ``joint (..., n)`` actions (learner first) -> logits
        ``(..., J, A)``."""
        cfg = self.config
        one_hot = nn.functional.one_hot(joint.long(), cfg.num_actions).flatten(-2).float()
        x = torch.relu(self.hidden(torch.cat([features, one_hot], dim=-1)))
        return self.head(x).unflatten(-1, (cfg.num_coplayers, cfg.num_actions))

    def forward(self, grids: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
        return self.logits_from_features(self.features(grids), joint)

    def counterfactual_probs(self, grids: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
        """``(B, A, J, A)``: the predicted next-action distributions with the learner's own
        action (``joint[:, 0]``) replaced by each of its ``A`` actions in turn."""
        cfg = self.config
        batch = grids.shape[0]
        features = self.features(grids).unsqueeze(1).expand(batch, cfg.num_actions, -1)
        joints = joint.long().unsqueeze(1).repeat(1, cfg.num_actions, 1)
        joints[:, :, 0] = torch.arange(cfg.num_actions)
        return torch.softmax(self.logits_from_features(features, joints), dim=-1)


def save_moa(directory: str | Path, moa: MOANetwork) -> None:
    """Write ``moa.json`` and ``moa.safetensors`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_model(moa, str(directory / MOA_WEIGHTS))
    data = {"format": MOA_FORMAT, **moa.config.to_json()}
    (directory / MOA_JSON).write_text(json.dumps(data, indent=2) + "\n")


def load_moa(directory: str | Path) -> MOANetwork:
    """The MOA saved in ``directory`` (evaluation mode); clear errors naming the file."""
    directory = Path(directory)
    path = directory / MOA_JSON
    if not path.is_file():
        raise FileNotFoundError(f"no MOA in {directory}: {path} is missing")
    data = json.loads(path.read_text())
    if data.pop("format", None) != MOA_FORMAT:
        raise ValueError(f"{path}: format must be {MOA_FORMAT!r}")
    try:
        moa = MOANetwork(MOAConfig(**data))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a valid MOA description ({err})") from None
    weights = directory / MOA_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"MOA in {directory}: {weights} is missing")
    try:
        load_model(moa, str(weights), strict=True)
    except RuntimeError as err:
        raise ValueError(f"{weights}: the weights do not fit {moa.config} ({err})") from None
    moa.eval()
    return moa
