"""Milliseconds per HOP decision: 5 trees x 200 simulations on the default stag hunt.

Plans from positions of real episodes of ``MarkovStagHunt-v0`` (4 players, 8x8) with HOP's
default networks (untrained, default sizes from :mod:`agents.hop.networks`): the focal net
gives priors and leaf values, the goal-conditioned opponent model moves the co-players, and
goals are drawn from uniform beliefs. One core: ``torch.set_num_threads(1)``. For
comparison it also times the search with 4 and 8 leaves per tree per network call
(``leaves_per_round``, virtual loss), and the ``hop`` agent's own acting configuration
(fewer simulations, leaf values from rollouts with the opponent model, see
:mod:`agents.hop.leaf_values`), built by the agent itself from its defaults, with its shipped
weights (the rollouts' length depends on what the opponent model makes the co-players do).

Prints one line per configuration, a breakdown of where the time goes (``--profile``), and
ends with ``ms_per_decision=<median>`` (wall clock) for 5 trees x 200 simulations on the value
network with ``leaves_per_round=8`` (each tree gathers 8 leaves per batched network call,
spread by virtual loss, as in AlphaZero-style batched MCTS), then
``hop_agent_ms_per_decision=<median>`` for the agent's acting default. Wall time depends on
what else runs on the machine; the CPU time of this process (also printed) is what the
decision costs on a core of its own.

    python benchmarks/hop_decision.py [--decisions 20] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from dataclasses import replace

import numpy as np
import torch

from agents.hop.agent import HopAgent
from agents.hop.evaluators import RolloutEvaluator
from agents.hop.goal_sampling import BeliefGoalSampler
from agents.hop.interfaces import IDLE
from agents.hop.learned import LearnedCoplayerPolicy, NetworkEvaluator
from agents.hop.networks import FOCAL, GOAL_OM, NetworkConfig, build_network
from agents.hop.planner import MultiTreePlanner, PlannerConfig
from hop_envs.core import GridState, StagHuntConfig, StagHuntRules


def positions(rules: StagHuntRules, count: int, seed: int) -> list[GridState]:
    """Start states and mid-episode states of random-play episodes (focal seat 0 active)."""
    rng = np.random.default_rng(seed)
    out: list[GridState] = []
    while len(out) < count:
        state = rules.reset(rng)
        for _ in range(int(rng.integers(0, 8))):
            masks = rules.action_masks(state)
            joint = [int(rng.choice(np.flatnonzero(m))) for m in masks]
            rules.step(state, joint)
            if state.over or not state.active[0]:
                break
        if not state.over and state.active[0]:
            out.append(state)
    return out


def uniform_beliefs(rules: StagHuntRules, state: GridState) -> dict[int, dict[int, float]]:
    kinds = sorted({int(k) for k in state.object_kind[state.object_alive]})
    belief = {g: 1.0 / len(kinds) for g in kinds} if kinds else {IDLE: 1.0}
    return {j: dict(belief) for j in range(1, rules.num_players) if state.active[j]}


def time_decisions(
    planner, rules, states, policy, evaluator, seed: int
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this process) milliseconds of each decision."""
    rng = np.random.default_rng(seed)
    wall, cpu = [], []
    for state in states:
        sampler = BeliefGoalSampler(rules, uniform_beliefs(rules, state))
        start, start_cpu = time.perf_counter(), time.process_time()
        planner.plan(state, 0, policy, evaluator, rng, goal_sampler=sampler)
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return wall, cpu


def report(name: str, times: tuple[list[float], list[float]], sims: int) -> float:
    """Print wall and CPU medians; returns the wall-clock median."""
    wall, cpu = times
    median, median_cpu = statistics.median(wall), statistics.median(cpu)
    print(
        f"{name:<32} wall median {median:7.1f} ms (min {min(wall):6.1f}, "
        f"max {max(wall):6.1f}), cpu median {median_cpu:7.1f} ms; "
        f"{sims / (median / 1000.0):7.0f} simulations/s (wall)"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20, help="decisions to time")
    parser.add_argument("--profile", action="store_true", help="print a cProfile breakdown")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    rules = StagHuntRules(StagHuntConfig())
    config = PlannerConfig()  # 5 trees x 200 simulations
    sims = config.num_trees * config.num_simulations
    planner = MultiTreePlanner(rules, config)
    states = positions(rules, args.decisions, args.seed)

    focal = build_network(NetworkConfig.for_rules(rules, FOCAL), args.seed).eval()
    om = build_network(NetworkConfig.for_rules(rules, GOAL_OM), args.seed + 1).eval()
    policy = LearnedCoplayerPolicy(om, rules)
    evaluator = NetworkEvaluator(focal, rules)
    print(
        f"MarkovStagHunt-v0 defaults (4 players, 8x8); {config.num_trees} trees x "
        f"{config.num_simulations} simulations; torch {torch.__version__}, 1 thread; "
        f"{len(states)} decisions"
    )
    time_decisions(planner, rules, states[:2], policy, evaluator, args.seed)  # warm-up
    medians = {}
    for k in (1, 4, 8):
        batched = MultiTreePlanner(rules, replace(config, leaves_per_round=k))
        times = time_decisions(batched, rules, states, policy, evaluator, args.seed)
        label = "sequential" if k == 1 else "virtual loss"
        medians[k] = report(f"networks, leaves_per_round={k} ({label})", times, sims)
    median = medians[8]

    rollout = RolloutEvaluator(rules, policy, depth=5, seed=args.seed)
    times = time_decisions(planner, rules, states, policy, rollout, args.seed)
    report("rollouts (depth 5) + goal OM", times, sims)

    agent = hop_agent(args.seed)
    acting = agent.planner_config
    leaf = agent.leaf_values
    times = time_decisions(agent.planner, rules, states, agent.policy, agent.evaluator, args.seed)
    agent_median = report(
        f"hop agent default (shipped weights): {acting.num_trees} x {acting.num_simulations} sims, "
        f"leaves_per_round={acting.leaves_per_round}, rollout depth {leaf.rollout_depth} "
        f"({leaf.rollout_policy}), rollout weight {leaf.rollout_weight}",
        times,
        acting.num_trees * acting.num_simulations,
    )

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        time_decisions(planner, rules, states[:5], policy, evaluator, args.seed)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())
    print(f"ms_per_decision={median:.1f}")
    print(f"hop_agent_ms_per_decision={agent_median:.1f}")


def hop_agent(seed: int) -> HopAgent:
    """A ``hop`` agent with its default options (shipped weights) on the default stag hunt."""
    import hop_envs  # imported here: the env stack is not needed by the timings above
    from agents.base import SeatInfo

    env = hop_envs.make("MarkovStagHunt-v0")
    agent = HopAgent()
    agent.reset(
        seed=seed,
        seat=SeatInfo(
            env_id="hop/MarkovStagHunt-v0",
            agent_id="player_0",
            seat=0,
            num_players=len(env.possible_agents),
            observation_space=env.observation_space("player_0"),
            action_space=env.action_space("player_0"),
        ),
    )
    return agent


if __name__ == "__main__":
    main()
