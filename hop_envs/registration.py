"""Registers the environments in PettingZoo's registry and offers ``hop_envs.make``."""

from __future__ import annotations

import difflib
from typing import Any, Literal

import pettingzoo
from pettingzoo.env_registry.registration import aec_registry, parallel_registry

NAMESPACE = "hop"
ENV_IDS: dict[str, str] = {
    "MarkovStagHunt-v0": "hop_envs.envs.stag_hunt",
    "MarkovSnowdrift-v0": "hop_envs.envs.snowdrift",
}
#: Short scenario prefixes of each env.
ENV_ABBREVIATIONS: dict[str, str] = {"MarkovStagHunt-v0": "msh", "MarkovSnowdrift-v0": "msg"}


def register_envs() -> None:
    """Register every env under ``hop/<Name>-vN`` for both the parallel and the AEC API."""
    for name, module in ENV_IDS.items():
        env_id = f"{NAMESPACE}/{name}"
        if env_id not in parallel_registry:
            pettingzoo.register("parallel", env_id, entry_point=f"{module}:parallel_env")
        if env_id not in aec_registry:
            pettingzoo.register("aec", env_id, entry_point=f"{module}:aec_env")


def full_env_id(env_id: str) -> str:
    """``"MarkovStagHunt-v0"`` or ``"hop/MarkovStagHunt-v0"`` -> the registered id."""
    name = env_id.removeprefix(f"{NAMESPACE}/")
    if name not in ENV_IDS:
        close = difflib.get_close_matches(name, list(ENV_IDS), n=3, cutoff=0.4)
        hint = f"; did you mean {close}?" if close else ""
        raise ValueError(
            f"unknown environment id {env_id!r}; known ids are "
            f"{[f'{NAMESPACE}/{n}' for n in ENV_IDS]}{hint}"
        )
    return f"{NAMESPACE}/{name}"


def make(env_id: str, *, api: Literal["parallel", "aec"] = "parallel", **kwargs: Any):
    """Make an env by id (with or without the ``hop/`` namespace); parallel by default."""
    if api not in ("parallel", "aec"):
        raise ValueError(f"api must be 'parallel' or 'aec', got {api!r}")
    return pettingzoo.make(api, full_env_id(env_id), **kwargs)
