"""Making the players of a trial: focal agents from the agent registry, background
co-players from the co-player registry (both accept ``module:Class`` paths)."""

from __future__ import annotations

from agents.base import Agent
from evaluation.jobs import AgentSpec


def make_focal(spec: AgentSpec, env_id: str) -> Agent:
    """A fresh instance of the focal agent for ``env_id`` (one per focal seat)."""
    from agents.registry import make_agent

    return make_agent(spec.name, env_id=env_id, **spec.kwargs)


def make_background(name: str, env_id: str) -> Agent:
    """A fresh co-player ``name`` for ``env_id``."""
    from hop_envs.coplayers import make_coplayer

    return make_coplayer(name, env_id)


def wants_privileged_info(agent: object) -> bool:
    """Whether the agent's class asked for the co-players' names (reference agents only)."""
    return bool(getattr(type(agent), "wants_privileged_info", False))
