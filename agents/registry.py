"""The agent registry: every agent that can sit in a focal seat, by name.

It holds the rule-based co-players of :mod:`hop_envs.coplayers` under the same names and
env restrictions (so ``random``, ``nearest-stag``, ``cleaner``, ... can be focal agents), and
the learned agents, which are registered **lazily** as ``"module:Attr"`` strings so that
``import agents`` never imports torch: the module is imported only when the agent is made.
Adding a shipped agent is one line here, e.g.::

    register_agent("hop", "agents.hop.agent:HopAgent", envs=(...), description="...")

Users plug in their own agent without editing this package, either

* by path: ``make_agent("my_pkg.agent:MyAgent")`` / ``hop-bench evaluate --agent
  my_pkg.agent:MyAgent`` (any class or factory following :class:`agents.base.Agent`), or
* through the entry-point group ``hop_bench.agents`` in their package's ``pyproject.toml``::

      [project.entry-points."hop_bench.agents"]
      my-agent = "my_pkg.agent:MyAgent"

  after which ``my-agent`` is listed with the shipped agents and made on demand.

A class may declare the env ids it plays in a ``supported_envs`` class attribute; then
``make_agent(name, env_id=...)`` refuses it for other envs. Unknown names fail with the close
matches and the list of known names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hop_envs.coplayers import BUILTIN_COPLAYERS, coplayer_entry
from hop_envs.registration import full_env_id
from hop_envs.registry import Entry, Registry

#: Entry-point group through which other packages add agents.
AGENT_ENTRY_POINT_GROUP = "hop_bench.agents"

AGENTS: Registry[Any] = Registry(
    "agent", entry_point_group=AGENT_ENTRY_POINT_GROUP, env_key=full_env_id
)


def register_agent(
    name: str,
    factory: Callable[..., Any] | str,
    *,
    description: str = "",
    envs: tuple[str, ...] | None = None,
    replace: bool = False,
) -> Entry[Any]:
    """Register an agent class/factory, or a lazy ``"module:Attr"`` string imported only
    when the agent is made. ``envs`` restricts it to those env ids (default: the factory's
    ``supported_envs``, or every env for a lazy string)."""
    return AGENTS.register(name, factory, description=description, envs=envs, replace=replace)


def make_agent(name_or_path: str, /, *, env_id: str | None = None, **kwargs: Any) -> Any:
    """A new agent by registered name, plug-in name or ``module:Attr`` path, built with
    ``kwargs``. With ``env_id``, first check that the agent plays that env
    (``UnsupportedEnvError`` otherwise). Call its ``reset(seed=..., seat=...)`` before use."""
    return AGENTS.make(name_or_path, env_id=env_id, **kwargs)


def agent_names(env_id: str | None = None) -> list[str]:
    """Registered agent names (those that play ``env_id`` if given), sorted."""
    return AGENTS.names(env_id)


def agent_entry(name_or_path: str) -> Entry[Any]:
    """The registry entry of an agent (description, envs, origin); lazy entries stay
    unimported until their ``factory`` is used."""
    return AGENTS.entry(name_or_path)


# -- shipped agents ----------------------------------------------------------------------
for _name, _cls in BUILTIN_COPLAYERS.items():
    register_agent(_name, _cls, description=f"rule-based: {coplayer_entry(_name).description}")

register_agent(
    "hop",
    "agents.hop.agent:HopAgent",
    description="HOP: goal-conditioned opponent model, goal beliefs and multi-tree MCTS",
)
register_agent(
    "oracle-mcts",
    "agents.hop.oracle:OracleMCTSAgent",
    description="reference: HOP's planner given the co-players' true policies (privileged)",
)
register_agent(
    "direct-om",
    "agents.hop.variants:DirectOMAgent",
    description="HOP variant: planning with a goal-free co-player action model (no goals, beliefs)",
)
register_agent(
    "hop-no-inter",
    "agents.hop.variants:HopNoInterAgent",
    description="HOP ablation without inter-OM: every episode's goal beliefs start uniform",
)
register_agent(
    "hop-no-intra",
    "agents.hop.variants:HopNoIntraAgent",
    description="HOP ablation without intra-OM: goals drawn from the inter-episode prior only",
)
register_agent(
    "hop-plus",
    "agents.hop_plus.agent:HopPlusAgent",
    description="HOP+: learned subgoals (OMG-style CVAE) per co-player in HOP's multi-tree MCTS",
)
register_agent(
    "hop-plus-no-inter",
    "agents.hop_plus.agent:HopPlusNoInterAgent",
    description="HOP+ ablation without inter-OM: every episode plans from the posterior alone",
)
register_agent(
    "hop-plus-no-intra",
    "agents.hop_plus.agent:HopPlusNoIntraAgent",
    description="HOP+ ablation without intra-OM: subgoals drawn from the inter-episode prior only",
)
