"""A trained PR2 network on disk: ``pr2.json`` (format, game, network shape, temperatures,
training counters) and ``pr2.safetensors`` (weights), in a run's ``policy/`` folder or on their
own. Nothing is unpickled. The agent (:mod:`baselines.pr2.agent`) loads through this module
alone, so the trainer's code is not part of what identifies a trained agent; its weights are.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from baselines.chunked_run import POLICY_DIR
from baselines.pr2.grid import NET_FORMAT, PR2NetConfig, PR2QNetwork

NET_JSON, NET_WEIGHTS = "pr2.json", "pr2.safetensors"


def contiguous(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous() for k, v in tensors.items()}


def save_network(directory: str | Path, net: PR2QNetwork, meta: Mapping[str, Any]) -> Path:
    """Write ``pr2.json`` (``meta``) and ``pr2.safetensors`` (weights) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_file(contiguous(net.state_dict()), str(directory / NET_WEIGHTS))
    (directory / NET_JSON).write_text(json.dumps(dict(meta), indent=2) + "\n")
    return directory


def checkpoint_folder(directory: str | Path) -> Path:
    """The folder holding ``pr2.json``: ``directory`` itself or its ``policy/``."""
    directory = Path(directory)
    if (directory / NET_JSON).is_file():
        return directory
    if (directory / POLICY_DIR / NET_JSON).is_file():
        return directory / POLICY_DIR
    raise FileNotFoundError(
        f"no PR2 checkpoint in {directory}: neither {directory / NET_JSON} nor "
        f"{directory / POLICY_DIR / NET_JSON} exists"
    )


def load_network(directory: str | Path) -> tuple[dict[str, Any], PR2QNetwork]:
    """The JSON and the network (evaluation mode, CPU) of a run folder or its ``policy/``."""
    folder = checkpoint_folder(directory)
    path = folder / NET_JSON
    meta = json.loads(path.read_text())
    if meta.get("format") != NET_FORMAT:
        raise ValueError(f"{path}: format must be {NET_FORMAT!r}, got {meta.get('format')!r}")
    try:
        net = PR2QNetwork(PR2NetConfig(**meta["network"]))
        alpha = float(meta["alpha"])
        if not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a finite float > 0, got {alpha!r}")
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a valid PR2 checkpoint ({err})") from None
    weights = folder / NET_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"PR2 checkpoint {folder}: {weights} is missing")
    try:
        net.load_state_dict(load_file(str(weights)), strict=True)
    except RuntimeError as err:
        raise ValueError(f"{weights}: the weights do not fit {net.config} ({err})") from None
    return meta, net.eval()


__all__ = [
    "NET_JSON",
    "NET_WEIGHTS",
    "checkpoint_folder",
    "contiguous",
    "load_network",
    "save_network",
]
