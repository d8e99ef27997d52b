"""``hop-bench play``: watch one episode as text frames."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from evaluation.jobs import AgentSpec, TrialJob
from evaluation.players import check_focal_agent
from evaluation.runner import TrialRunner
from evaluation.scenarios import Scenario, load_scenario

DEFAULT_PLAYER = "random"


def play_scenario(
    env: str | None,
    scenario: str | None,
    coplayers: Sequence[str],
    env_kwargs: Mapping[str, Any],
) -> Scenario:
    """The scenario to watch: a named one, or ``env`` with seat 0 focal and ``coplayers``
    (none: ``random`` everywhere; one: every other seat; else one per other seat)."""
    if scenario is not None:
        if coplayers or env_kwargs:
            raise ValueError("--coplayer and --env-arg go with --env, not with --scenario")
        return load_scenario(scenario)
    if env is None:
        raise ValueError("give an env id or a scenario")
    background = list(coplayers) or [DEFAULT_PLAYER]
    return Scenario(
        name="play",
        env_id=env,
        focal_seats=(0,),
        background=background[0] if len(background) == 1 else background,
        env_kwargs=dict(env_kwargs),
        episodes=1,
        trials=1,
    )


def play(
    *,
    env: str | None = None,
    scenario: str | None = None,
    agent: str | None = None,
    agent_kwargs: Mapping[str, Any] | None = None,
    coplayers: Sequence[str] = (),
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    delay: float = 0.0,
    out: TextIO,
) -> None:
    """Play trial 0, episode 0 and write an ``ansi`` frame after the reset and every step."""
    chosen = play_scenario(env, scenario, coplayers, env_kwargs or {})
    spec = AgentSpec(agent or DEFAULT_PLAYER, dict(agent_kwargs or {}))
    check_focal_agent(spec, [chosen], seed)
    runner = TrialRunner(TrialJob(spec, chosen, seed, 0, 1), render_mode="ansi")
    runner.reset_players()
    players = ", ".join(f"{i}: {name}" for i, name in enumerate(runner.seat_players))
    out.write(f"{chosen.env_id}  scenario {chosen.name}  seed {seed}  seats [{players}]\n")

    names = runner.env.rules.action_names

    def show(trial: TrialRunner) -> None:
        step = trial.last_transition
        if step is not None:
            moves = ", ".join(
                f"{trial.seat_of[a]}: {names[act]} {step.rewards[a]:+g}"
                for a, act in step.actions.items()
            )
            out.write(f"actions and rewards: {moves}\n")
        out.write(f"{trial.env.render()}\n")
        out.flush()
        if delay:
            time.sleep(delay)

    record = runner.episode(0, on_step=show)
    returns = ", ".join(f"{r:g}" for r in record.returns)
    out.write(f"\nepisode over after {record.length} steps; returns by seat: [{returns}]\n")
