"""The evaluation loop: plan trials (skipping stored ones), run them, store each episode.

A trial is the unit of work. Before running, trials whose episodes are all stored are
skipped; an incomplete trial is run again from its start (it is deterministic) and only its
missing episodes are inserted. Records are committed as they arrive, so an interrupted run
loses at most the episodes in flight and the same call again completes it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from evaluation.backends import DEFAULT_BACKEND, EpisodeDone, JobDone, run_jobs
from evaluation.jobs import AgentSpec, TrialJob, config_hash, package_version
from evaluation.records import EpisodeRecord
from evaluation.runner import TrialError
from evaluation.scenarios import Scenario
from evaluation.seeding import check_seed
from evaluation.store import ResultStore


@dataclass(frozen=True)
class RunKey:
    """Identifies the stored results of one (agent, scenario, seed, config) and its budget."""

    agent: str
    scenario: str
    seed: int
    config_hash: str
    trials: int
    episodes: int


@dataclass
class EvaluationResult:
    """What a call to :func:`evaluate` did."""

    keys: list[RunKey] = field(default_factory=list)
    jobs: int = 0
    skipped_trials: int = 0
    episodes_run: int = 0
    inserted: int = 0
    failures: list[TrialError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def stored_records(store: ResultStore, key: RunKey) -> list[EpisodeRecord]:
    """The stored episodes of ``key``'s configuration within its budget (trials and episodes
    beyond it, stored by a larger run, are left out): what a report of that run shows."""
    return [
        r
        for r in store.iter_records(
            agent=key.agent, scenario=key.scenario, seed=key.seed, config_hash=key.config_hash
        )
        if r.trial < key.trials and r.episode < key.episodes
    ]


def plan(
    agent: AgentSpec,
    scenarios: Sequence[Scenario],
    store: ResultStore,
    *,
    seed: int = 0,
    trials: int | None = None,
    episodes: int | None = None,
    rerun: bool = False,
) -> tuple[list[TrialJob], list[RunKey], int]:
    """The jobs still to run, the keys of every scenario, and how many trials were skipped
    (trials of this exact configuration already stored). ``rerun`` first deletes the stored
    episodes of these configurations, so every trial is played again on purpose."""
    seed = check_seed(seed, "seed")
    for name, value in (("trials", trials), ("episodes", episodes)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    version = package_version()
    jobs, keys, skipped = [], [], 0
    for scenario in scenarios:
        n_trials = trials or scenario.trials
        n_episodes = episodes or scenario.episodes
        chash = config_hash(agent, scenario, version)
        keys.append(RunKey(agent.label, scenario.name, seed, chash, n_trials, n_episodes))
        if rerun:
            store.delete(agent.label, scenario.name, seed, chash)
        stored = store.stored_episodes(agent.label, scenario.name, seed, chash)
        for trial in range(n_trials):
            have = frozenset(e for e in stored.get(trial, ()) if e < n_episodes)
            if len(have) == n_episodes:
                skipped += 1
                continue
            jobs.append(TrialJob(agent, scenario, seed, trial, n_episodes, have, chash, version))
    return jobs, keys, skipped


def evaluate(
    agent: AgentSpec,
    scenarios: Sequence[Scenario],
    store: ResultStore,
    *,
    seed: int = 0,
    trials: int | None = None,
    episodes: int | None = None,
    backend: str = DEFAULT_BACKEND,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    rerun: bool = False,
) -> EvaluationResult:
    """Run every missing trial of ``agent`` in ``scenarios`` and store each episode.

    ``progress(done, total)`` is called after each stored episode; ``rerun`` replaces the
    stored results of these configurations (see :func:`plan`). Failed jobs are collected
    in the result (the other jobs go on); a ``KeyboardInterrupt`` stops the run with every
    finished episode already stored.
    """
    jobs, keys, skipped = plan(
        agent, scenarios, store, seed=seed, trials=trials, episodes=episodes, rerun=rerun
    )
    result = EvaluationResult(keys=keys, jobs=len(jobs), skipped_trials=skipped)
    total = sum(job.missing for job in jobs)
    events = run_jobs(jobs, backend=backend, workers=workers)
    try:
        for event in events:
            if isinstance(event, EpisodeDone):
                result.episodes_run += 1
                result.inserted += store.add([event.record])
                if progress is not None:
                    progress(result.episodes_run, total)
            elif isinstance(event, JobDone) and event.error is not None:
                result.failures.append(event.error)
    finally:  # on Ctrl-C, stop the workers now rather than when the generator is collected
        close = getattr(events, "close", None)
        if close is not None:
            close()
    return result


def evaluate_stored(
    agent: AgentSpec,
    scenarios: Sequence[Scenario],
    store: ResultStore,
    *,
    where: str,
    seed: int = 0,
    trials: int | None = None,
    episodes: int | None = None,
    workers: int | None = None,
) -> list[EpisodeRecord] | None:
    """:func:`evaluate`, then the stored episodes of every configuration it covered (stored
    earlier or just now); None when a trial failed, after printing each failure to stderr as
    ``<where>: <failure>`` (a command's tables must not be made from a partial run)."""
    result = evaluate(
        agent, scenarios, store, seed=seed, trials=trials, episodes=episodes, workers=workers
    )
    if result.failures:
        for failure in result.failures:
            print(f"{where}: {failure}", file=sys.stderr)
        return None
    return [r for key in result.keys for r in stored_records(store, key)]
