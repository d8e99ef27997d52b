"""Evaluation throughput: episodes per second of the runner, serial and on 2 processes.

Runs the same jobs (the focal agent ``random`` in ``msh/adapt-1v3-nearest-stag`` and
``msg/adapt-1v3-cleaner``) four ways and prints episodes per second for each:

* ``bare loop``: a hand-written loop over the env with the same agents and seeds (reset,
  act, step, observe), nothing else: the floor for this workload;
* ``runner``: :func:`evaluation.run_trial` (protocol, SeatInfo, Transition, records);
* ``serial``: the whole ``hop-bench evaluate`` path with the ``serial`` backend, storing
  every episode in a fresh SQLite file;
* ``process x2``: the same with the ``process`` backend and 2 workers (pool start-up
  included).

It then prints the speed-up of ``process x2`` over ``serial`` and the overhead of
``serial`` (and of the bare runner) over the bare loop; the target overhead is <= 1.5x.

    python benchmarks/eval_throughput.py [--trials 50] [--episodes 10] [--repeat 3]
                                         [--agent random]

``--agent`` picks the focal agent: with a cheap one (``random``, the default) an episode
takes about a millisecond and the pool's inter-process traffic eats the gain; with a planning
agent (e.g. ``--agent hop --trials 2 --episodes 2 --repeat 1``) each episode takes seconds
and the two workers show their speed-up.

Each figure is the best of ``--repeat`` runs (the least disturbed by other load), with the
CPU cores it kept busy (this process plus its workers): on a shared machine a ``process x2``
figure near 1 core means only one core was free, and the speed-up cannot show.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import hop_envs
from agents.base import SeatInfo, Transition
from evaluation import AgentSpec, ResultStore, TrialJob, evaluate, load_scenario, run_trial
from evaluation.players import make_background, make_focal
from evaluation.seeding import trial_seeds

SCENARIOS = ("msh/adapt-1v3-nearest-stag", "msg/adapt-1v3-cleaner")


def make_jobs(agent: AgentSpec, trials: int, episodes: int) -> list[TrialJob]:
    return [
        TrialJob(agent, load_scenario(name), 0, trial, episodes)
        for name in SCENARIOS
        for trial in range(trials)
    ]


def bare_loop(jobs: list[TrialJob]) -> int:
    """The same episodes with nothing but the env and the agents' protocol calls."""
    count = 0
    for job in jobs:
        scenario = job.scenario
        env = hop_envs.make(scenario.env_id, **scenario.env_kwargs)
        seeds = trial_seeds(job.seed, scenario.name, job.trial, scenario.num_players, job.episodes)
        background = dict(
            zip(scenario.background_seats, scenario.draw_background(seeds.sampling), strict=True)
        )
        players = [
            make_focal(job.agent, scenario.env_id)
            if seat in scenario.focal_seats
            else make_background(background[seat], scenario.env_id)
            for seat in range(scenario.num_players)
        ]
        for seat, player in enumerate(players):
            agent_id = env.possible_agents[seat]
            player.reset(
                seed=seeds.seats[seat],
                seat=SeatInfo(
                    scenario.env_id,
                    agent_id,
                    seat,
                    scenario.num_players,
                    env.observation_space(agent_id),
                    env.action_space(agent_id),
                ),
            )
        index = {a: i for i, a in enumerate(env.possible_agents)}
        for episode in range(job.episodes):
            observations, _ = env.reset(seed=seeds.env[episode])
            for player in players:
                player.start_episode()
            while env.agents:
                actions = {a: players[index[a]].act(observations[a]) for a in env.agents}
                observations, rewards, terms, truncs, infos = env.step(actions)
                transition = Transition(actions, observations, rewards, terms, truncs, infos)
                for a in actions:
                    players[index[a]].observe(transition)
            for player in players:
                player.end_episode()
            count += 1
    return count


def runner_only(jobs: list[TrialJob]) -> int:
    return sum(1 for job in jobs for _ in run_trial(job))


def full_evaluate(
    agent: AgentSpec, trials: int, episodes: int, backend: str, workers: int | None
) -> int:
    with tempfile.TemporaryDirectory() as folder, ResultStore(Path(folder) / "b.sqlite") as store:
        result = evaluate(
            agent,
            [load_scenario(name) for name in SCENARIOS],
            store,
            seed=0,
            trials=trials,
            episodes=episodes,
            backend=backend,
            workers=workers,
        )
        assert result.ok and result.inserted == len(SCENARIOS) * trials * episodes
        return result.inserted


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the pool's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def best_rates(repeat: int, variants: dict[str, tuple]) -> dict[str, tuple[float, float]]:
    """(episodes per second, CPU cores busy) of each variant in its fastest of ``repeat``
    runs; the variants take turns in every round so that outside load hits them alike."""
    best = dict.fromkeys(variants, (0.0, 0.0))
    for _ in range(repeat):
        for name, (fn, *args) in variants.items():
            cpu, start = _cpu_seconds(), time.perf_counter()
            n = fn(*args)
            wall = time.perf_counter() - start
            if n / wall > best[name][0]:
                best[name] = (n / wall, (_cpu_seconds() - cpu) / wall)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--agent", default="random", help="focal agent (random)")
    args = parser.parse_args()
    agent = AgentSpec(args.agent)
    jobs = make_jobs(agent, args.trials, args.episodes)
    total = len(jobs) * args.episodes
    print(
        f"workload: agent {args.agent!r} in {', '.join(SCENARIOS)}: {len(jobs)} trials x "
        f"{args.episodes} episodes = {total} episodes; best of {args.repeat}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    rates = best_rates(
        args.repeat,
        {
            "bare loop": (bare_loop, jobs),
            "runner": (runner_only, jobs),
            "serial": (full_evaluate, agent, args.trials, args.episodes, "serial", None),
            "process x2": (full_evaluate, agent, args.trials, args.episodes, "process", 2),
        },
    )
    for name, (rate, cores) in rates.items():
        print(f"{name:<12} {rate:8.1f} episodes/s   ({cores:.2f} CPU cores busy)")
    bare, runner, serial, pooled = (rate for rate, _ in rates.values())
    print(f"speed-up process x2 / serial: {pooled / serial:.2f}x")
    print(f"overhead runner / bare loop: {bare / runner:.2f}x")
    print(
        f"overhead serial evaluate (runner + SQLite) / bare loop: {bare / serial:.2f}x "
        f"(target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
