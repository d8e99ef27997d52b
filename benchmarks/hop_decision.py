"""Milliseconds per HOP decision on the default stag hunt, one core.

Plans from positions of real episodes of ``MarkovStagHunt-v0`` (4 players, 8x8), focal seat
0, goals drawn from uniform beliefs, ``torch.set_num_threads(1)``. Configurations:

* DESIGN's search, 5 trees x 200 simulations with the value network at the leaves
  (untrained networks of the default sizes), with 1, 4 and 8 leaves per tree per batched
  network call (``leaves_per_round``, virtual loss); and depth-5 rollouts with the goal
  opponent model;
* the ``hop`` agent, built by itself with its shipped weights, its configurations taking
  turns on each position (so that a drift of the host's speed falls on all alike): its
  earlier acting default
  (5 x 50 simulations, 10 leaves per round, 25-step best-kind rollouts with the opponent
  model) without a co-player cache, with the exact cache and with the own-cell cache
  (:mod:`agents.hop.coplayer_cache`), its previous acting default (5 x 50 simulations, 25
  leaves per round, own-cell cache), its current acting default with the rollouts in the
  numpy loop (the configuration of the figure before the compiled rollouts; the same
  decisions), then its current acting default (5 x 40 simulations, 20 leaves per round,
  own-cell cache, compiled rollouts, :mod:`agents.hop.compiled_rollouts`). For the own-cell
  cache it also prints how far its answers are from the model's own on the search's
  queries (total variation), and what its fields cost and serve per decision (the model's
  rows and calls, and how many distinct (field, cell) answers the search reads).

``--compare KEY=VALUE[,KEY=VALUE]`` (repeatable) times further ``hop`` configurations in
the same turns, over the acting defaults (e.g. ``weights="DIR"`` for another checkpoint),
and prints each one's CPU time relative to the acting default's, position by position.

Prints one line per configuration with the wall-clock and CPU (this process) medians, a
cProfile breakdown of the acting default (``--profile``), its CPU time per decision split
into the search's phases (``--phases``: leaf valuation and within it the co-player fields,
the opponent model's incremental field passes, any full forward passes and the compiled
rollout loop; expansion and within it
the focal priors; node creation; the rest is selection, backup and bookkeeping), and ends with
``ms_per_decision=<wall median>`` for DESIGN's search with ``leaves_per_round=8``,
``hop_agent_ms_per_decision=<CPU median>`` for the agent's acting default (the CPU time of
this one-threaded process is what a decision costs on a core of its own; it equals the wall
time on an idle machine), ``hop_agent_wall_ms_per_decision=<wall median>``, and the same two
for ``hop-plus`` (``hop_plus_ms_per_decision``, ``hop_plus_wall_ms_per_decision``: the same
search with learned subgoals, shipped weights when they exist, from the same positions).

    python benchmarks/hop_decision.py [--decisions 20] [--profile] [--phases]
                                      [--compare KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import torch

from agents.hop.agent import HopAgent
from agents.hop.coplayer_cache import CachedCoplayerPolicy
from agents.hop.evaluators import RolloutEvaluator
from agents.hop.goal_sampling import BeliefGoalSampler
from agents.hop.interfaces import IDLE
from agents.hop.learned import LearnedCoplayerPolicy, NetworkEvaluator
from agents.hop.networks import FOCAL, GOAL_OM, NetworkConfig, build_network
from agents.hop.planner import MultiTreePlanner, PlannerConfig
from hop_envs.core import GridState, StagHuntConfig, StagHuntRules
from hop_envs.core.positions import random_positions


def uniform_beliefs(rules: StagHuntRules, state: GridState) -> dict[int, dict[int, float]]:
    kinds = sorted({int(k) for k in state.object_kind[state.object_alive]})
    belief = {g: 1.0 / len(kinds) for g in kinds} if kinds else {IDLE: 1.0}
    return {j: dict(belief) for j in range(1, rules.num_players) if state.active[j]}


def time_decisions(
    planner, rules, states, policy, evaluator, seed: int
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this process) milliseconds of each decision."""
    return time_interleaved([(planner, policy, evaluator)], rules, states, seed)[0]


def time_interleaved(
    searches: list[tuple[Any, Any, Any]], rules, states, seed: int
) -> list[tuple[list[float], list[float]]]:
    """Wall-clock and CPU milliseconds of each decision of every ``(planner, co-player
    policy, evaluator)``, the searches taking turns on each position (each with its own RNG
    seeded ``seed``), so a drift of the host's speed during the run falls on all alike."""
    rngs = [np.random.default_rng(seed) for _ in searches]
    times: list[tuple[list[float], list[float]]] = [([], []) for _ in searches]
    for state in states:
        for (planner, policy, evaluator), rng, (wall, cpu) in zip(
            searches, rngs, times, strict=True
        ):
            sampler = BeliefGoalSampler(rules, uniform_beliefs(rules, state))
            start, start_cpu = time.perf_counter(), time.process_time()
            if isinstance(policy, CachedCoplayerPolicy):
                policy.clear()  # as the agent does before every decision
            planner.plan(state, 0, policy, evaluator, rng, goal_sampler=sampler)
            wall.append((time.perf_counter() - start) * 1000.0)
            cpu.append((time.process_time() - start_cpu) * 1000.0)
    return times


def paired_ratio(cpu: list[float], baseline_cpu: list[float]) -> str:
    """Position by position (the same positions, in turns), the CPU time of one search over
    another's: the median and geometric mean of the ratios and how often it was faster. A
    paired figure: far less noisy than two medians side by side."""
    ratios = np.asarray(cpu) / np.asarray(baseline_cpu)
    return (
        f"CPU time per position: median ratio {np.median(ratios):.3f}, geometric mean "
        f"{np.exp(np.log(ratios).mean()):.3f}, faster on {int((ratios < 1.0).sum())} of "
        f"{ratios.size} positions"
    )


def report(name: str, times: tuple[list[float], list[float]], sims: int) -> tuple[float, float]:
    """Print wall and CPU medians; returns both (wall, CPU)."""
    wall, cpu = times
    median, median_cpu = statistics.median(wall), statistics.median(cpu)
    print(
        f"{name:<32} wall median {median:7.1f} ms (min {min(wall):6.1f}, "
        f"max {max(wall):6.1f}), cpu median {median_cpu:7.1f} ms; "
        f"{sims / (median / 1000.0):7.0f} simulations/s (wall)"
    )
    return median, median_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20, help="decisions to time")
    parser.add_argument("--profile", action="store_true", help="print a cProfile breakdown")
    parser.add_argument(
        "--phases", action="store_true", help="print the acting default's time per phase"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="another hop configuration to time beside the default (repeatable; VALUE is "
        "JSON, e.g. rollout_depth=15 or num_trees=4,leaves_per_round=40)",
    )
    args = parser.parse_args()
    configs = AGENT_CONFIGS + [(f"with {text}", parse_options(text)) for text in args.compare]
    torch.set_num_threads(1)

    rules = StagHuntRules(StagHuntConfig())
    config = PlannerConfig()  # 5 trees x 200 simulations
    sims = config.num_trees * config.num_simulations
    planner = MultiTreePlanner(rules, config)
    states = random_positions(rules, args.decisions, args.seed)

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
        medians[k] = report(f"networks, leaves_per_round={k} ({label})", times, sims)[0]
    median = medians[8]

    rollout = RolloutEvaluator(rules, policy, depth=5, seed=args.seed)
    times = time_decisions(planner, rules, states, policy, rollout, args.seed)
    report("rollouts (depth 5) + goal OM", times, sims)

    agents = [hop_agent(args.seed, **options) for _, options in configs]
    figures = []
    all_times = time_interleaved(
        [(a.planner, a.search_policy, a.evaluator) for a in agents], rules, states, args.seed
    )
    for (label, _), agent, times in zip(configs, agents, all_times, strict=True):
        acting, leaf = agent.planner_config, agent.leaf_values
        figures.append(
            report(
                f"hop {label}: {acting.num_trees} x {acting.num_simulations} sims, "
                f"leaves_per_round={acting.leaves_per_round}, rollout depth {leaf.rollout_depth} "
                f"({leaf.rollout_policy}), om_cache={agent.om_cache}",
                times,
                acting.num_trees * acting.num_simulations,
            )
        )
    default = len(AGENT_CONFIGS) - 1  # the acting default
    agent, (agent_wall, agent_cpu) = agents[default], figures[default]
    for (label, _), (_, cpu) in zip(configs[default + 1 :], all_times[default + 1 :], strict=True):
        print(f"hop {label} against the acting default, {paired_ratio(cpu, all_times[default][1])}")
    gaps, usage = own_cell_diagnostics(agent, rules, states[: min(5, len(states))], args.seed)
    print(
        f"own-cell cache vs the model's exact answers on the search's queries: total variation "
        f"mean {np.mean(gaps):.3f}, 90th percentile {np.quantile(gaps, 0.9):.3f} "
        f"({len(gaps)} queries)"
    )
    share = statistics.median(r / max(n, 1) for r, n in zip(usage.read, usage.rows, strict=True))
    print(
        "own-cell fields per decision (median): "
        f"{statistics.median(usage.rows):.0f} opponent-model rows in "
        f"{statistics.median(usage.calls):.0f} calls, of which "
        f"{statistics.median(usage.read):.0f} distinct (field, cell) answers are read "
        f"({share:.0%} of the rows)"
    )

    if args.phases:
        print_phases(agent, rules, states, args.seed)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        time_decisions(
            agent.planner, rules, states[:5], agent.search_policy, agent.evaluator, args.seed
        )
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())
    plus = hop_plus_agent(args.seed)
    plus_wall, plus_cpu = report(
        f"hop-plus acting default ({plus.weights_label}): same search, co-players from "
        "pi(a | s, z), z drawn per tree from the posteriors",
        time_hop_plus(plus, states, args.seed),
        plus.planner_config.num_trees * plus.planner_config.num_simulations,
    )
    print(f"ms_per_decision={median:.1f}")
    print(f"hop_agent_ms_per_decision={agent_cpu:.1f}")
    print(f"hop_agent_wall_ms_per_decision={agent_wall:.1f}")
    print(f"hop_plus_ms_per_decision={plus_cpu:.1f}")
    print(f"hop_plus_wall_ms_per_decision={plus_wall:.1f}")


class _Timed:
    """A callable that adds the CPU time of every call of ``inner`` to ``seconds``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.seconds += time.process_time() - start


def print_phases(agent: HopAgent, rules, states: list[GridState], seed: int) -> None:
    """CPU milliseconds per decision of the acting default's phases, from timers wrapped
    around the agent's own objects. The three search phases do not overlap; the parts
    below them are inside them (the fields are computed in valuation and expansion alike)."""
    import agents.hop.evaluators as evaluators
    import agents.hop.planner as planner_module

    planner, cache = agent.planner, agent.search_policy
    rollouts = getattr(agent.evaluator, "rollouts", None)
    wrapped: list[tuple[str, Any, str]] = [
        ("leaf valuation (planner._evaluate)", planner, "_evaluate"),
        ("expansion (planner._expand)", planner, "_expand"),
        ("  of which focal priors", agent.evaluator, "priors"),
        ("co-player fields computed (both)", cache, "_compute_fields"),
        ("  of which opponent-model forward", cache.policy.field_model, "probs"),
        ("  of which full forward passes", cache.policy.model, "run"),
    ]
    timers = []
    for label, owner, name in wrapped:
        timer = _Timed(getattr(owner, name))
        setattr(owner, name, timer)
        timers.append((label, owner, name, timer))
    loop = _Timed(evaluators.rollout_loop)
    create = _Timed(planner_module.create_children)
    evaluators.rollout_loop, planner_module.create_children = loop, create
    try:
        _, cpu = time_decisions(planner, rules, states, cache, agent.evaluator, seed)
    finally:
        for _, owner, name, timer in timers:
            setattr(owner, name, timer.inner)
        evaluators.rollout_loop, planner_module.create_children = loop.inner, create.inner
    n = len(states)
    lines = [(label, timer.seconds) for label, _, _, timer in timers]
    lines.insert(1, ("  of which the compiled rollout loop", loop.seconds))
    lines.insert(4, ("node creation (create_children)", create.seconds))
    print(f"acting default, CPU per decision by phase ({n} decisions, mean {sum(cpu) / n:.1f} ms):")
    for label, seconds in lines:
        print(f"  {label:<38} {seconds / n * 1000.0:6.1f} ms")
    if rollouts is None or not rollouts.compiled:
        print("  (the rollouts ran in the numpy loop)")


#: The earlier acting default's search: 50 simulations a tree, 10 leaves per round.
EARLIER = {"num_simulations": 50, "leaves_per_round": 10}
#: A benchmark option (not an agent argument): run the rollouts in the numpy loop.
NUMPY_ROLLOUTS = "numpy_rollouts"
#: The previous acting default: 50 simulations a tree in rounds of 25 leaves.
PREVIOUS = {"num_simulations": 50, "leaves_per_round": 25}
#: The agent's acting configurations timed: the earlier acting default (no co-player cache:
#: the configuration of the figure before batched valuation), the same with each cache mode,
#: the previous acting default (50 simulations in rounds of 25 leaves, own-cell cache), the
#: current default with its rollouts in the numpy loop instead of the compiled one (the same
#: decisions) and the current default (last; ``hop_agent_ms_per_decision``).
AGENT_CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("earlier default, no cache", {**EARLIER, "om_cache": "none"}),
    ("earlier default, exact cache", {**EARLIER, "om_cache": "exact"}),
    ("earlier default, own-cell cache", {**EARLIER, "om_cache": "own-cell"}),
    ("previous acting default", PREVIOUS),
    ("acting default, numpy rollouts", {NUMPY_ROLLOUTS: True}),
    ("acting default", {}),
]


def parse_options(text: str, flag: str = "--compare") -> dict[str, Any]:
    """``"KEY=VALUE,KEY=VALUE"`` (VALUE in JSON) as keyword arguments; a clear error, naming
    ``flag``, else."""
    import json

    options: dict[str, Any] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"{flag}: expected KEY=VALUE[,KEY=VALUE], got {text!r}")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            raise SystemExit(
                f"{flag}: the value of {key.strip()!r} in {text!r} is not JSON: {value!r}"
            ) from None
    return options


def hop_agent(seed: int, **options: Any) -> HopAgent:
    """A ``hop`` agent (shipped weights, ``options`` over its defaults) on the default stag
    hunt, seat 0; ``numpy_rollouts=True`` runs its rollouts in the numpy loop (the same
    numbers as the compiled loop, see :mod:`agents.hop.compiled_rollouts`)."""
    import hop_envs  # imported here: the env stack is not needed by the timings above
    from agents.base import SeatInfo

    numpy_rollouts = bool(options.pop(NUMPY_ROLLOUTS, False))
    env = hop_envs.make("MarkovStagHunt-v0")
    agent = HopAgent(**options)
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
    agent.evaluator.rollouts.compiled = not numpy_rollouts
    return agent


def hop_plus_agent(seed: int) -> Any:
    """A ``hop-plus`` agent on the default stag hunt, seat 0: its shipped weights when they
    exist, else untrained networks of the default sizes (``weights_label`` says which)."""
    import hop_envs
    from agents.base import SeatInfo
    from agents.hop_plus.agent import HopPlusAgent
    from agents.hop_plus.checkpoint import shipped_dir

    shipped = (shipped_dir("MarkovStagHunt-v0") / "subgoal_model").is_dir()
    agent = HopPlusAgent(weights="default" if shipped else None)
    env = hop_envs.make("MarkovStagHunt-v0")
    agent.reset(seed=seed, seat=SeatInfo.of_env(env, "hop/MarkovStagHunt-v0", 0))
    agent.weights_label = "shipped weights" if shipped else "untrained weights"
    return agent


def time_hop_plus(agent: Any, states: list[GridState], seed: int) -> tuple[list, list]:
    """Wall-clock and CPU milliseconds of each ``hop-plus`` decision from ``states``: the
    posteriors' step, the draws of z and the search (the decider's ``plan_from``)."""
    rng = np.random.default_rng(seed)
    wall, cpu = [], []
    for state in states:
        agent.inference.start_episode()
        start, start_cpu = time.perf_counter(), time.process_time()
        agent.decider.plan_from(state, rng)
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return wall, cpu


class FieldUsage(NamedTuple):
    """Per decision: the opponent model's rows and calls behind the own-cell cache, and how
    many distinct (field, cell) answers the search read from it."""

    rows: list[int]
    calls: list[int]
    read: list[int]


def own_cell_diagnostics(
    agent: HopAgent, rules, states, seed: int
) -> tuple[list[float], FieldUsage]:
    """Total-variation distance between the own-cell cache's answers and the model's own
    answers for every co-player query the agent's search makes from ``states``, and what
    the cache's fields cost and served per decision (:class:`FieldUsage`)."""
    gaps: list[float] = []
    usage = FieldUsage([], [], [])
    network = {"rows": 0, "calls": 0}
    read: set[tuple[bytes, int, int]] = set()

    class Counted:
        """The model's policy, counting the rows and calls the cache sends it."""

        def batch_action_probs(self, batch, rows, seats, goals):
            network["rows"] += len(rows)
            network["calls"] += 1
            return agent.policy.batch_action_probs(batch, rows, seats, goals)

    cache = CachedCoplayerPolicy(Counted(), rules, "own-cell")

    class Compare:
        def action_probs(self, queries):
            cached = cache.action_probs(queries)
            gaps.extend(0.5 * np.abs(cached - agent.policy.action_probs(queries)).sum(1))
            return cached

        def batch_action_probs(self, batch, rows, seats, goals):
            cached = cache.batch_action_probs(batch, rows, seats, goals)
            exact = agent.policy.batch_action_probs(batch, rows, seats, goals)
            gaps.extend(0.5 * np.abs(cached - exact).sum(1))
            alive = np.packbits(batch.object_alive[rows], axis=1)
            cells = batch.player_pos[rows, seats]
            read.update(
                zip(map(bytes, alive), np.asarray(goals).tolist(), cells.tolist(), strict=True)
            )
            return cached

    evaluator = agent._leaf_evaluator(rules, agent.focal_net, Compare())
    rng = np.random.default_rng(seed)
    for state in states:
        cache.clear()
        network["rows"] = network["calls"] = 0
        read.clear()
        sampler = BeliefGoalSampler(rules, uniform_beliefs(rules, state))
        agent.planner.plan(state, 0, Compare(), evaluator, rng, goal_sampler=sampler)
        usage.rows.append(network["rows"])
        usage.calls.append(network["calls"])
        usage.read.append(len(read))
    return gaps, usage


if __name__ == "__main__":
    main()
