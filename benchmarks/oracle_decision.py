"""Milliseconds per ``oracle-mcts`` decision, on a stag-hunt and a snowdrift position.

Positions come from real episodes of the held-out mixed scenarios (``msh/heldout-mixed``:
alternator, patient-stag, reciprocator; ``msg/heldout-mixed``: conditional-cleaner,
late-cleaner, lazy-cleaner; default envs, 4 players, 8x8), so the co-players act from memory
and the oracle plans with copies of them. Each position is reached by a random number of
steps (0-7) in which the co-players play and the focal seat moves at random; then the
oracle, set up by the runner as in a trial, decides from it. Wall and CPU time are printed
per env, ending with ``ms_per_decision=<median wall time over both envs>``.

    python benchmarks/oracle_decision.py [--decisions 10] [--simulations 48] [--depth 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from agents.base import Transition
from evaluation.jobs import AgentSpec, TrialJob
from evaluation.runner import TrialRunner
from evaluation.scenarios import load_scenario

SCENARIOS = ("msh/heldout-mixed", "msg/heldout-mixed")


def time_decisions(scenario_name: str, kwargs: dict, decisions: int, seed: int) -> list[tuple]:
    """(wall, cpu) seconds of ``decisions`` oracle decisions from positions of the scenario."""
    trial = TrialRunner(
        TrialJob(AgentSpec("oracle-mcts", kwargs), load_scenario(scenario_name), seed, 0, 1)
    )
    trial.reset_players()
    env, players = trial.env, trial.players
    oracle = players[0]
    rng = np.random.default_rng(seed)
    out: list[tuple[float, float]] = []
    episode = 0
    while len(out) < decisions:
        observations, _ = env.reset(seed=episode)
        episode += 1
        for player in players:
            player.start_episode()
        for _ in range(int(rng.integers(0, 8))):
            if "player_0" not in env.agents:
                break
            actions = {}
            for agent in env.agents:
                seat = trial.seat_of[agent]
                mask = observations[agent]["action_mask"]
                if seat == 0:
                    actions[agent] = int(rng.choice(np.flatnonzero(mask)))
                else:
                    actions[agent] = players[seat].act(observations[agent])
            observations, *rest = env.step(actions)
            transition = Transition(actions, observations, *rest)
            for player in players:
                player.observe(transition)
        if "player_0" in env.agents:
            wall, cpu = time.perf_counter(), time.process_time()
            oracle.act(observations["player_0"])
            out.append((time.perf_counter() - wall, time.process_time() - cpu))
        for player in players:
            player.end_episode()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=10)
    parser.add_argument("--simulations", type=int, default=None)
    parser.add_argument("--depth", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    kwargs = {}
    if args.simulations is not None:
        kwargs["num_simulations"] = args.simulations
    if args.depth is not None:
        kwargs["rollout_depth"] = args.depth
    walls: list[float] = []
    for name in SCENARIOS:
        times = time_decisions(name, kwargs, args.decisions, args.seed)
        wall = [w * 1000 for w, _ in times]
        cpu = [c * 1000 for _, c in times]
        walls.extend(wall)
        print(
            f"{name}: {len(times)} decisions, wall ms median {statistics.median(wall):.0f} "
            f"(min {min(wall):.0f}, max {max(wall):.0f}), cpu ms median "
            f"{statistics.median(cpu):.0f}"
        )
    print(f"ms_per_decision={statistics.median(walls):.0f}")


if __name__ == "__main__":
    main()
