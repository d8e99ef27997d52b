"""Checkpoint directories: networks and optimizer states as ``safetensors``, the rest JSON.

Layout of a checkpoint directory (nothing in it is ever unpickled)::

    training.json                 format version, TrainConfig, iteration and round counters
    focal/config.json             focal policy/value network (agents.hop.networks format)
    focal/weights.safetensors
    opponent_model/...            goal-conditioned opponent model
    action_model/...              goal-free action model (direct-OM), when trained
    optimizers/<name>.safetensors Adam moments and step counts per parameter
    optimizers/<name>.json        Adam hyper-parameters (param_groups)
    log.csv                       one row per iteration (see agents.hop.training.log)

Files are written to a staging folder and moved into place one by one with ``os.replace``,
``training.json`` last, so a crash while saving leaves the previous ``training.json`` and the
loader never sees a half-written file.

:func:`resolve_checkpoint` turns the ``hop`` agent's ``checkpoint`` argument into a folder:
``"default"`` is the shipped checkpoint of the env under ``agents/hop/checkpoints/``,
``None`` means untrained networks, anything else is a path.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from agents.hop.networks import (
    ACTION_MODEL,
    FOCAL,
    GOAL_OM,
    ActionModel,
    FocalNet,
    GoalOpponentModel,
    HopNetwork,
    load_network,
    save_network,
)
from agents.hop.training.config import TrainConfig
from hop_envs.registration import full_env_id

CHECKPOINT_FORMAT = 1
STATE_FILE = "training.json"
OPTIMIZER_DIR = "optimizers"
#: Sub-folder of each network, by network kind.
NETWORK_DIRS: dict[str, str] = {
    FOCAL: "focal",
    GOAL_OM: "opponent_model",
    ACTION_MODEL: "action_model",
}
#: Where the shipped checkpoints live: one folder per env, named by the env's short id.
SHIPPED_ROOT = Path(__file__).resolve().parent.parent / "checkpoints"


def shipped_checkpoint_dir(env_id: str) -> Path:
    """The folder of the shipped checkpoint of ``env_id`` (``MarkovStagHunt-v0`` ...)."""
    return SHIPPED_ROOT / full_env_id(env_id).split("/", 1)[1]


def resolve_checkpoint(checkpoint: str | os.PathLike[str] | None, env_id: str) -> Path | None:
    """The checkpoint folder the ``hop`` agent should load: ``None`` for untrained networks,
    ``"default"`` for the shipped one of ``env_id``, else the given path (which must hold a
    checkpoint)."""
    if checkpoint is None:
        return None
    if isinstance(checkpoint, str) and checkpoint == "default":
        path = shipped_checkpoint_dir(env_id)
        if not (path / STATE_FILE).is_file():
            raise FileNotFoundError(
                f"no shipped HOP checkpoint for {full_env_id(env_id)} (looked in {path}); "
                "train one with 'hop-bench train', or use untrained networks (the hop agent's "
                "weights=None)"
            )
        return path
    if not isinstance(checkpoint, str | os.PathLike):
        raise ValueError(f"checkpoint must be None, 'default' or a folder path, got {checkpoint!r}")
    path = Path(checkpoint)
    if not (path / STATE_FILE).is_file():
        raise FileNotFoundError(
            f"checkpoint folder {path} has no {STATE_FILE}; expected a folder written by "
            "'hop-bench train' (or checkpoint='default' / None)"
        )
    return path


@dataclass
class TrainingState:
    """Counters that let a run continue exactly: the next iteration to play, whether the
    pre-training phase is done, and each trainer's round counter."""

    iteration: int = 0
    pretrained: bool = False
    rounds: dict[str, int] = field(default_factory=dict)
    last_metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "pretrained": self.pretrained,
            "rounds": dict(self.rounds),
            "last_metrics": dict(self.last_metrics),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingState:
        iteration = data.get("iteration")
        if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
            raise ValueError(
                f"training state: iteration must be an integer >= 0, got {iteration!r}"
            )
        return cls(
            iteration=iteration,
            pretrained=bool(data.get("pretrained", False)),
            rounds={str(k): int(v) for k, v in dict(data.get("rounds", {})).items()},
            last_metrics=dict(data.get("last_metrics", {})),
        )


@dataclass
class Checkpoint:
    """A loaded checkpoint: the configuration, the counters, the networks (the action model
    may be absent) and the optimizer states (``None`` where none was saved)."""

    config: TrainConfig
    state: TrainingState
    networks: dict[str, HopNetwork]
    optimizers: dict[str, dict[str, Any]]

    @property
    def focal(self) -> FocalNet:
        return self.networks[FOCAL]  # type: ignore[return-value]

    @property
    def opponent_model(self) -> GoalOpponentModel:
        return self.networks[GOAL_OM]  # type: ignore[return-value]

    @property
    def action_model(self) -> ActionModel | None:
        return self.networks.get(ACTION_MODEL)  # type: ignore[return-value]


# -- optimizer states ------------------------------------------------------------------------
def optimizer_to_files(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's ``state_dict`` split into tensors (for safetensors) and JSON."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{pid}.{key}"] = value.detach().clone().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    meta = {"param_groups": state["param_groups"], "scalars": scalars}
    return tensors, meta


def optimizer_from_files(tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> dict:
    """The ``state_dict`` rebuilt from :func:`optimizer_to_files`' output."""
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        pid, _, key = name.partition(".")
        state.setdefault(int(pid), {})[key] = tensor
    for pid, entries in dict(meta.get("scalars", {})).items():
        state.setdefault(int(pid), {}).update(entries)
    groups = []
    for group in meta["param_groups"]:
        group = dict(group)
        for key, value in group.items():
            if key != "params" and isinstance(value, list):
                group[key] = tuple(value)
        groups.append(group)
    return {"state": state, "param_groups": groups}


# -- save / load -----------------------------------------------------------------------------
def save_checkpoint(
    directory: str | os.PathLike[str],
    config: TrainConfig,
    state: TrainingState,
    networks: Mapping[str, HopNetwork],
    optimizers: Mapping[str, torch.optim.Optimizer],
) -> Path:
    """Write a checkpoint into ``directory`` (created if needed; other files there, such as
    ``log.csv``, are left alone)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    staging = path / ".staging"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    for kind, network in networks.items():
        save_network(network, staging / NETWORK_DIRS[kind])
    (staging / OPTIMIZER_DIR).mkdir()
    for kind, optimizer in optimizers.items():
        name = NETWORK_DIRS.get(kind, kind)
        tensors, meta = optimizer_to_files(optimizer)
        save_file(tensors, str(staging / OPTIMIZER_DIR / f"{name}.safetensors"))
        _write_json(staging / OPTIMIZER_DIR / f"{name}.json", meta)
    payload = {
        "format_version": CHECKPOINT_FORMAT,
        "config": config.to_json(),
        "state": state.to_json(),
        "networks": sorted(NETWORK_DIRS[k] for k in networks),
        "optimizers": sorted(NETWORK_DIRS.get(k, k) for k in optimizers),
    }
    _write_json(staging / STATE_FILE, payload)
    for file in sorted(staging.rglob("*")):
        if file.is_file() and file.name != STATE_FILE:
            target = path / file.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(file, target)
    os.replace(staging / STATE_FILE, path / STATE_FILE)
    shutil.rmtree(staging)
    return path


def read_training_json(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``training.json`` of a checkpoint folder, with its format checked."""
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; not a checkpoint folder")
    data = json.loads(path.read_text())
    if data.get("format_version") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path} has format_version {data.get('format_version')!r}; this version reads "
            f"{CHECKPOINT_FORMAT}"
        )
    return data


def load_checkpoint(directory: str | os.PathLike[str], *, optimizers: bool = True) -> Checkpoint:
    """Read a checkpoint folder (safetensors and JSON only: no code is executed)."""
    path = Path(directory)
    data = read_training_json(path)
    config = TrainConfig.from_json(data["config"])
    state = TrainingState.from_json(data["state"])
    by_dir = {v: k for k, v in NETWORK_DIRS.items()}
    networks: dict[str, HopNetwork] = {}
    for name in data["networks"]:
        if name not in by_dir:
            raise ValueError(f"{path / STATE_FILE}: unknown network folder {name!r}")
        networks[by_dir[name]] = load_network(path / name, expected_kind=by_dir[name])
    for needed in (FOCAL, GOAL_OM):
        if needed not in networks:
            raise ValueError(f"checkpoint {path} has no {NETWORK_DIRS[needed]!r} network")
    rules = _rules(config)
    for network in networks.values():
        network.config.check_rules(rules)
    states: dict[str, dict[str, Any]] = {}
    if optimizers:
        for name in data["optimizers"]:
            tensors = load_file(str(path / OPTIMIZER_DIR / f"{name}.safetensors"))
            meta = json.loads((path / OPTIMIZER_DIR / f"{name}.json").read_text())
            states[by_dir.get(name, name)] = optimizer_from_files(tensors, meta)
    return Checkpoint(config, state, networks, states)


def _rules(config: TrainConfig) -> Any:
    import hop_envs

    return hop_envs.make(config.env_id, **config.env_kwargs).unwrapped.rules


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")
