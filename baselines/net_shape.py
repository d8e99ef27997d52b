"""The shape of a network over the full grid observation: the game's sizes and the network's.

The base of the configs of PR2's Q network (:mod:`baselines.pr2.grid`) and of the social
influence learner's model of other agents (:mod:`baselines.social_influence.moa`): both read
the whole grid with a conv stack and answer per co-player, and both are saved as this JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from baselines.config_checks import int_sizes, is_int


@dataclass(frozen=True)
class GridNetShape:
    """``observation_shape`` ``(C, H, W)``, the game's action and player counts, and the
    network's conv channels and hidden width (checked; bad values name the config class)."""

    observation_shape: tuple[int, int, int]
    num_actions: int
    num_players: int
    conv_channels: tuple[int, ...] = (16, 16)
    hidden: int = 64

    def __post_init__(self) -> None:
        where = type(self).__name__
        shape = self.observation_shape
        if (
            not isinstance(shape, Sequence)
            or len(shape) != 3
            or not all(is_int(v) and v >= 1 for v in shape)
        ):
            raise ValueError(f"{where}.observation_shape={shape!r}: expected 3 ints >= 1 (C, H, W)")
        object.__setattr__(self, "observation_shape", tuple(int(v) for v in shape))
        for name, low in (("num_actions", 2), ("num_players", 2), ("hidden", 1)):
            value = getattr(self, name)
            if not is_int(value) or value < low:
                raise ValueError(f"{where}.{name}={value!r}: expected an int >= {low}")
            object.__setattr__(self, name, int(value))
        channels = int_sizes(where, "conv_channels", self.conv_channels)
        object.__setattr__(self, "conv_channels", channels)

    @property
    def num_coplayers(self) -> int:
        return self.num_players - 1

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["observation_shape"] = list(self.observation_shape)
        data["conv_channels"] = list(self.conv_channels)
        return data


__all__ = ["GridNetShape"]
