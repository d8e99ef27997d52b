"""Making the players of a trial: focal agents from the agent registry, background
co-players from the co-player registry (both accept ``module:Class`` paths)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import hop_envs
from agents.base import Agent, SeatInfo
from evaluation.jobs import AgentSpec
from evaluation.scenario_types import CoplayerSpec, Scenario, coplayer_spec
from evaluation.seeding import trial_seeds

#: What a focal agent raises when its arguments or checkpoint are bad.
AGENT_BUILD_ERRORS = (TypeError, ValueError, OSError)


class AgentBuildError(ValueError):
    """A focal agent that cannot be built or reset: a bad argument, a missing or unfit
    checkpoint. The message names the agent (with its arguments), the env and the reason."""


def make_focal(spec: AgentSpec, env_id: str) -> Agent:
    """A fresh instance of the focal agent for ``env_id`` (one per focal seat)."""
    from agents.registry import make_agent

    return make_agent(spec.name, env_id=env_id, **spec.kwargs)


def make_background(spec: CoplayerSpec | str, env_id: str) -> Agent:
    """A fresh co-player for ``env_id``: a :class:`CoplayerSpec` (built with its arguments)
    or a plain name / ``module:Class`` path."""
    return coplayer_spec(spec).build(env_id)


def wants_privileged_info(agent: object) -> bool:
    """Whether the agent's class asked for the co-players' names (reference agents only)."""
    return bool(getattr(type(agent), "wants_privileged_info", False))


def seat_info(
    scenario: Scenario,
    env: Any,
    seat: int,
    coplayer_names: Mapping[int, str] | None = None,
    coplayers: Mapping[int, Any] | None = None,
) -> SeatInfo:
    """What the player at ``seat`` of ``scenario`` is told at ``reset`` (the privileged
    ``coplayer_names``/``coplayers`` only for agents that ask for them)."""
    return SeatInfo.of_env(
        env,
        scenario.env_id,
        seat,
        env_kwargs=scenario.env_kwargs,
        focal_seats=scenario.focal_seats,
        coplayer_names=coplayer_names,
        coplayers=coplayers,
    )


def try_focal_agent(spec: AgentSpec, scenario: Scenario, seed: int = 0) -> Agent:
    """Build the focal agent of ``scenario`` once and reset it as trial 0 would (first focal
    seat, that seat's seed, privileged names for agents that ask for them), so a bad argument
    or checkpoint fails before any trial starts. Whatever the agent raises propagates."""
    env = hop_envs.make(scenario.env_id, **scenario.env_kwargs)
    agent = make_focal(spec, scenario.env_id)
    reset = getattr(agent, "reset", None)
    if not callable(reset):
        return agent
    seat = scenario.focal_seats[0]
    seeds = trial_seeds(seed, scenario.name, 0, scenario.num_players, 1)
    names = {s: spec.label for s in scenario.focal_seats}
    names.update(
        zip(
            scenario.background_seats,
            (c.label for c in scenario.draw_background(seeds.sampling)),
            strict=True,
        )
    )
    privileged = None
    if wants_privileged_info(agent):
        privileged = {j: n for j, n in sorted(names.items()) if j != seat}
    info = seat_info(scenario, env, seat, privileged)
    reset(seed=seeds.seats[seat], seat=info)
    return agent


def check_focal_agent(spec: AgentSpec, scenarios: Sequence[Scenario], seed: int = 0) -> None:
    """:func:`try_focal_agent` on the first scenario of each env among ``scenarios``;
    :class:`AgentBuildError` (from the agent's ``TypeError``, ``ValueError`` or ``OSError``,
    e.g. ``FileNotFoundError``) when it fails."""
    first: dict[str, Scenario] = {}
    for scenario in scenarios:
        first.setdefault(scenario.env_id, scenario)
    for env_id, scenario in first.items():
        try:
            try_focal_agent(spec, scenario, seed)
        except AGENT_BUILD_ERRORS as err:
            raise AgentBuildError(
                f"agent {spec.label!r} cannot be built for {env_id} (scenario "
                f"{scenario.name!r}): {type(err).__name__}: {err}"
            ) from err
