"""HOP's networks: the focal policy/value net, the goal-conditioned opponent model and the
goal-free action model of direct-OM.

All three share one small trunk: a conv stack over the ``(C, H, W)`` view (for the opponent
model, the goal planes of :mod:`agents.hop.features` appended as channels: the game's
``rules.goals.num_planes`` of them, encoded as ``rules.goals.encoding`` names), flattened, joined
with the time ``t / max_cycles`` and passed through one hidden layer. Policy logits are masked
by the legal-action mask (illegal actions get ``-inf`` logits, so probability exactly 0).
Sizes default to what runs a batch of ~20 states well under a millisecond on one core,
because the planner queries these nets hundreds of times per decision
(``benchmarks/hop_networks.py`` measures it). ``torch.set_num_threads`` is the caller's.

Weights are saved with ``safetensors`` next to a JSON config (no pickle anywhere), see
:func:`save_network` and :func:`load_network`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from agents.hop.features import Features, goal_space_of
from hop_envs.core import GridRules

__all__ = [
    "ACTION_MODEL",
    "FOCAL",
    "GOAL_OM",
    "KINDS",
    "ActionModel",
    "FocalNet",
    "GoalOpponentModel",
    "GridTrunk",
    "HopNetwork",
    "NetworkConfig",
    "build_network",
    "load_network",
    "masked_logits",
    "save_network",
]

FOCAL, GOAL_OM, ACTION_MODEL = "focal", "goal_om", "action_model"
KINDS = (FOCAL, GOAL_OM, ACTION_MODEL)
CONFIG_FILE, WEIGHTS_FILE = "config.json", "weights.safetensors"
FORMAT_VERSION = 1
#: Goal planes of a config saved before ``num_goal_planes`` was stored (both shipped games').
DEFAULT_GOAL_PLANES = 2


@dataclass(frozen=True)
class NetworkConfig:
    """Shape and size of one HOP network; saved as JSON beside its weights.

    ``goal_encoding`` and ``num_goal_planes`` are the goal space's (``rules.goals.encoding``
    and ``rules.goals.num_planes``) for the goal-conditioned opponent model: the name of the
    goal planes it was trained on and how many there are (extra input channels of its
    trunk). Other kinds have no goals: ``goal_encoding`` None, ``num_goal_planes`` left at
    its default."""

    kind: str
    in_channels: int
    height: int
    width: int
    num_actions: int
    goal_encoding: str | None = None
    num_goal_planes: int = DEFAULT_GOAL_PLANES
    conv_channels: tuple[int, ...] = (16, 16)
    hidden: int = 128

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"NetworkConfig.kind must be one of {list(KINDS)}, got {self.kind!r}")
        for name in ("in_channels", "height", "width", "num_actions", "hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"NetworkConfig.{name} must be an integer >= 1, got {value!r}")
        channels = tuple(self.conv_channels)
        if not channels or any(
            isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels
        ):
            raise ValueError(
                "NetworkConfig.conv_channels must be a non-empty sequence of integers >= 1, "
                f"got {self.conv_channels!r}"
            )
        object.__setattr__(self, "conv_channels", channels)
        planes = self.num_goal_planes
        if isinstance(planes, bool) or not isinstance(planes, int) or planes < 1:
            raise ValueError(
                f"NetworkConfig.num_goal_planes must be an integer >= 1, got {planes!r}"
            )
        if self.kind == GOAL_OM and not (
            isinstance(self.goal_encoding, str) and self.goal_encoding
        ):
            raise ValueError(
                "NetworkConfig.goal_encoding must name the goal space's encoding "
                "(rules.goals.encoding) for a goal-conditioned opponent model, "
                f"got {self.goal_encoding!r}"
            )
        if self.kind != GOAL_OM and self.goal_encoding is not None:
            raise ValueError(
                f"NetworkConfig.goal_encoding must be None for kind {self.kind!r}, "
                f"got {self.goal_encoding!r}"
            )
        if self.kind != GOAL_OM and planes != DEFAULT_GOAL_PLANES:
            raise ValueError(
                "NetworkConfig.num_goal_planes is for the goal-conditioned opponent model; "
                f"leave it at {DEFAULT_GOAL_PLANES} for kind {self.kind!r}, got {planes!r}"
            )

    @classmethod
    def for_rules(cls, rules: GridRules, kind: str, **sizes: Any) -> NetworkConfig:
        """The config of a ``kind`` network for ``rules``' game (``sizes``: conv_channels,
        hidden); an opponent model's goal planes are ``rules.goals``'."""
        goals: dict[str, Any] = {}
        if kind == GOAL_OM:
            space = goal_space_of(rules)
            goals = {"goal_encoding": space.encoding, "num_goal_planes": int(space.num_planes)}
        return cls(
            kind=kind,
            in_channels=rules.num_channels,
            height=rules.height,
            width=rules.width,
            num_actions=rules.num_actions,
            **goals,
            **sizes,
        )

    def check_rules(self, rules: GridRules) -> None:
        """Raise ``ValueError`` unless this network fits ``rules``' observations and actions."""
        expected = NetworkConfig.for_rules(
            rules, self.kind, conv_channels=self.conv_channels, hidden=self.hidden
        )
        if expected != self:
            raise ValueError(
                f"{self.kind} network does not fit {type(rules).__name__}: it was built for "
                f"{self.in_channels} channels, {self.height}x{self.width} grid, "
                f"{self.num_actions} actions, goals {self._goals()}; the rules need "
                f"{expected.in_channels}, {expected.height}x{expected.width}, "
                f"{expected.num_actions}, {expected._goals()}"
            )

    def _goals(self) -> str:
        if self.goal_encoding is None:
            return "None"
        return f"{self.goal_encoding!r} ({self.num_goal_planes} planes)"

    def to_json(self) -> dict[str, Any]:
        return config_to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkConfig:
        return config_from_json(cls, data)


def config_to_json(config: Any) -> dict[str, Any]:
    """A frozen config dataclass with a ``conv_channels`` tuple as JSON-ready data."""
    data = asdict(config)
    data["conv_channels"] = list(config.conv_channels)
    return data


def config_from_json(cls: type, data: dict[str, Any]) -> Any:
    """The config ``cls`` from :func:`config_to_json`'s data."""
    data = dict(data)
    data["conv_channels"] = tuple(data.get("conv_channels", ()))
    return cls(**data)


def conv_stack(in_channels: int, conv_channels: Sequence[int]) -> tuple[nn.Sequential, int]:
    """3x3 same-padding convolutions, each followed by a ReLU, and their output channels."""
    layers: list[nn.Module] = []
    previous = in_channels
    for channels in conv_channels:
        layers += [nn.Conv2d(previous, channels, 3, padding=1), nn.ReLU()]
        previous = channels
    return nn.Sequential(*layers), previous


class GridTrunk(nn.Module):
    """Conv stack (3x3, same padding, ReLU) -> flatten ++ time -> hidden layer (ReLU)."""

    def __init__(self, in_channels: int, config: NetworkConfig) -> None:
        super().__init__()
        self.convs, previous = conv_stack(in_channels, config.conv_channels)
        self.hidden = nn.Linear(previous * config.height * config.width + 1, config.hidden)

    def forward(self, grids: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        x = self.convs(grids).flatten(1)
        return torch.relu(self.hidden(torch.cat([x, times.unsqueeze(1)], dim=1)))


def masked_logits(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """``logits`` with illegal actions set to ``-inf`` (softmax gives them exactly 0)."""
    return logits.masked_fill(~masks, float("-inf"))


class HopNetwork(nn.Module):
    """Common parts: the config, tensor conversion of :class:`Features`, save/load."""

    kind: ClassVar[str]

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        if config.kind != self.kind:
            raise ValueError(
                f"{type(self).__name__} needs a config of kind {self.kind!r}, got {config.kind!r}"
            )
        self.config = config

    @staticmethod
    def tensors(features: Features) -> dict[str, torch.Tensor]:
        """Torch views of a feature batch (no copies of the float arrays)."""
        out = {
            "grids": torch.from_numpy(features.grids),
            "times": torch.from_numpy(features.times),
            "masks": torch.from_numpy(features.masks),
        }
        if features.goals is not None:
            out["goals"] = torch.from_numpy(features.goals)
        return out

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``weights.safetensors`` into ``directory``."""
        return save_network(self, directory)


class FocalNet(HopNetwork):
    """Focal policy/value net: masked action logits and a scalar value per state."""

    kind = FOCAL

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        self.trunk = GridTrunk(config.in_channels, config)
        self.policy = nn.Linear(config.hidden, config.num_actions)
        self.value = nn.Linear(config.hidden, 1)

    def forward(
        self, grids: torch.Tensor, times: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(grids, times)
        return masked_logits(self.policy(h), masks), self.value(h).squeeze(1)

    def run(self, features: Features) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.tensors(features)
        return self(t["grids"], t["times"], t["masks"])


class GoalOpponentModel(HopNetwork):
    """pi(a | s, t, g): a co-player's masked action logits given its view and goal."""

    kind = GOAL_OM

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        self.trunk = GridTrunk(config.in_channels + config.num_goal_planes, config)
        self.policy = nn.Linear(config.hidden, config.num_actions)

    def forward(
        self,
        grids: torch.Tensor,
        times: torch.Tensor,
        masks: torch.Tensor,
        goals: torch.Tensor,
    ) -> torch.Tensor:
        h = self.trunk(torch.cat([grids, goals], dim=1), times)
        return masked_logits(self.policy(h), masks)

    def run(self, features: Features) -> torch.Tensor:
        if features.goals is None:
            raise ValueError("GoalOpponentModel needs goal planes; build features with goals")
        planes = features.goals.shape[1]
        if planes != self.config.num_goal_planes:
            raise ValueError(
                f"GoalOpponentModel takes {self.config.num_goal_planes} goal planes "
                f"({self.config.goal_encoding!r}), got features with {planes}"
            )
        t = self.tensors(features)
        return self(t["grids"], t["times"], t["masks"], t["goals"])


class ActionModel(HopNetwork):
    """pi(a | s, t): the goal-free co-player action model of direct-OM."""

    kind = ACTION_MODEL

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        self.trunk = GridTrunk(config.in_channels, config)
        self.policy = nn.Linear(config.hidden, config.num_actions)

    def forward(
        self, grids: torch.Tensor, times: torch.Tensor, masks: torch.Tensor
    ) -> torch.Tensor:
        return masked_logits(self.policy(self.trunk(grids, times)), masks)

    def run(self, features: Features) -> torch.Tensor:
        t = self.tensors(features)
        return self(t["grids"], t["times"], t["masks"])


NETWORK_CLASSES: dict[str, type[HopNetwork]] = {
    FOCAL: FocalNet,
    GOAL_OM: GoalOpponentModel,
    ACTION_MODEL: ActionModel,
}
OpponentModel = GoalOpponentModel | ActionModel


def build_network(config: NetworkConfig, seed: int) -> HopNetwork:
    """A freshly initialised network of ``config.kind``; the same seed gives the same weights
    (the global torch RNG is left untouched)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"build_network: seed must be an integer, got {seed!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NETWORK_CLASSES[config.kind](config)


def save_network(network: HopNetwork, directory: str | Path) -> Path:
    """Save ``network`` as ``directory/config.json`` + ``directory/weights.safetensors``."""
    return write_network_files(
        network, directory, network.config.kind, {"config": network.config.to_json()}
    )


def load_network(directory: str | Path, expected_kind: str | None = None) -> HopNetwork:
    """Load a network saved by :func:`save_network` (safetensors: no code is executed)."""
    meta, weights_path = read_network_meta(directory, FORMAT_VERSION)
    config = NetworkConfig.from_json(meta["config"])
    if expected_kind is not None and config.kind != expected_kind:
        raise ValueError(
            f"load_network: {directory} holds a {config.kind!r} network, expected {expected_kind!r}"
        )
    return restore_weights(NETWORK_CLASSES[config.kind](config), weights_path)


def write_network_files(
    network: nn.Module,
    directory: str | Path,
    kind: str,
    meta: dict[str, Any],
    version: int = FORMAT_VERSION,
) -> Path:
    """``directory/weights.safetensors`` (``kind`` in its metadata) and
    ``directory/config.json`` holding ``meta`` and the format ``version``."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in network.state_dict().items()}
    save_file(state, str(path / WEIGHTS_FILE), metadata={"kind": kind})
    data = {"format_version": version, **meta}
    (path / CONFIG_FILE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def read_network_meta(directory: str | Path, version: int) -> tuple[dict[str, Any], Path]:
    """The JSON written by :func:`write_network_files` (its format ``version`` checked)
    and the path of the weights; both files must exist."""
    path = Path(directory)
    config_path, weights_path = path / CONFIG_FILE, path / WEIGHTS_FILE
    for needed in (config_path, weights_path):
        if not needed.is_file():
            raise FileNotFoundError(f"load_network: {needed} does not exist")
    meta = json.loads(config_path.read_text())
    found = meta.get("format_version")
    if found != version:
        raise ValueError(
            f"load_network: {config_path} has format_version {found!r}; "
            f"this version reads {version}"
        )
    return meta, weights_path


def restore_weights(network: nn.Module, weights_path: Path) -> Any:
    """``network`` with the safetensors weights at ``weights_path`` (strict), in eval mode."""
    network.load_state_dict(load_file(str(weights_path)), strict=True)
    network.eval()
    return network
