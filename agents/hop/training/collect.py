"""Data collection: whole trials and episodes played from a seed, serially or in a pool.

Each unit of work (a learner trial, or a chunk of offline rule-based episodes) is a pure
function of the run's configuration, its indices and the network weights it is given: its
seeds come from ``numpy.random.SeedSequence([seed, phase, iteration, index])``, the
networks are rebuilt from ``safetensors`` bytes and torch runs on one thread while
collecting. So results are identical whatever the number of worker processes, and the
:class:`Collector` returns them in task order.

Worker processes are started with the ``spawn`` method (safe with torch) and kept for the
whole run; each task carries a copy of the current weights.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

import hop_envs
from agents.base import SeatInfo, Transition
from agents.hop.goals import EpisodeRecorder, RecordedEpisode
from agents.hop.interfaces import IDLE
from agents.hop.networks import FOCAL, GOAL_OM, HopNetwork, NetworkConfig, build_network
from agents.hop.training.config import SELF, TrainConfig
from agents.hop.training.players import NetworkPolicyPlayer, SearchLearner
from agents.hop.training.samples import FocalSamples, discounted_returns
from hop_envs.core import STAY, GridRules

#: Seed-sequence tags of the kinds of work (held-out episodes score the opponent model).
OFFLINE_PHASE, TRIAL_PHASE, HOLDOUT_PHASE = 1, 2, 4
#: Offline episodes per task (the results do not depend on it).
OFFLINE_CHUNK = 20

T = TypeVar("T")
R = TypeVar("R")


def seeds(*entropy: int, count: int) -> list[int]:
    """``count`` 32-bit seeds drawn from ``SeedSequence(entropy)``."""
    return [int(s) for s in np.random.SeedSequence(list(entropy)).generate_state(count)]


def make_rules(config: TrainConfig) -> GridRules:
    return hop_envs.make(config.env_id, **config.env_kwargs).unwrapped.rules


def network_config(config: TrainConfig, rules: GridRules, kind: str) -> NetworkConfig:
    return NetworkConfig.for_rules(
        rules, kind, conv_channels=config.conv_channels, hidden=config.hidden
    )


def weights_to_bytes(network: HopNetwork) -> bytes:
    """The network's weights as ``safetensors`` bytes (no pickle)."""
    return save_bytes({k: v.detach().contiguous() for k, v in network.state_dict().items()})


def network_from_bytes(config: NetworkConfig, data: bytes) -> HopNetwork:
    network = build_network(config, seed=0)
    network.load_state_dict(load_bytes(data), strict=True)
    network.eval()
    return network


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run torch on ``count`` intra-op threads inside the block."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# -- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpisodeStats:
    """What one episode of a learner trial gave: the learner's return, the co-players'
    mean return, and the learner's captures (stag hunt) or removals (snowdrift)."""

    learner_return: float
    coplayer_return: float
    length: int
    learner_events: int


@dataclass(frozen=True)
class TrialResult:
    """One learner trial: the focal samples, the recorded episodes (for the opponent-model
    buffer), per-episode stats, the learner's seat and who sat where."""

    iteration: int
    index: int
    learner_seat: int
    seat_players: tuple[str, ...]
    samples: FocalSamples
    episodes: tuple[RecordedEpisode, ...]
    stats: tuple[EpisodeStats, ...]


@dataclass(frozen=True)
class OfflineResult:
    """Offline rule-based episodes: focal samples of every seat and the episodes recorded
    from seat 0's view (its co-players' steps feed the opponent model)."""

    samples: FocalSamples
    episodes: tuple[RecordedEpisode, ...]


# -- tasks -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrialTask:
    """Play learner trial ``index`` of ``iteration`` with the given weights."""

    config: TrainConfig
    iteration: int
    index: int
    weights: Mapping[str, bytes]


@dataclass(frozen=True)
class OfflineTask:
    """Play offline episodes ``start .. start + count - 1``."""

    config: TrainConfig
    start: int
    count: int
    phase: int = OFFLINE_PHASE


def run_trial_task(task: TrialTask) -> TrialResult:
    with torch_threads(1):
        return play_trial(task.config, task.iteration, task.index, task.weights)


def run_offline_task(task: OfflineTask) -> OfflineResult:
    parts = [
        play_offline_episode(task.config, k, phase=task.phase)
        for k in range(task.start, task.start + task.count)
    ]
    samples = FocalSamples.concat([p[0] for p in parts])
    return OfflineResult(samples, tuple(p[1] for p in parts))


def _seat_info(env: Any, config: TrainConfig, seat: int) -> SeatInfo:
    return SeatInfo.of_env(env, config.env_id, seat, env_kwargs=config.env_kwargs)


def play_trial(
    config: TrainConfig, iteration: int, index: int, weights: Mapping[str, bytes]
) -> TrialResult:
    """One trial: ``episodes_per_trial`` episodes of the learner with the same co-players.

    The learner's seat and each other seat's co-player (``population``, uniformly) are drawn
    from the trial's seed; the learner keeps its goal beliefs across the trial's episodes.
    """
    from hop_envs.coplayers import make_coplayer

    env = hop_envs.make(config.env_id, **config.env_kwargs)
    rules = env.unwrapped.rules
    n = rules.num_players
    k = config.episodes_per_trial
    s = seeds(config.seed, TRIAL_PHASE, iteration, index, count=2 + n + k)
    draw = np.random.default_rng(s[0])
    learner_seat = int(draw.integers(n))
    names = [
        "learner"
        if j == learner_seat
        else config.population[int(draw.integers(len(config.population)))]
        for j in range(n)
    ]
    focal = network_from_bytes(network_config(config, rules, FOCAL), weights[FOCAL])
    om = network_from_bytes(network_config(config, rules, GOAL_OM), weights[GOAL_OM])
    learner = SearchLearner(rules, learner_seat, focal, om, config, np.random.default_rng(s[1]))
    players: dict[int, Any] = {}
    for j, name in enumerate(names):
        if j == learner_seat:
            continue
        player = (
            NetworkPolicyPlayer(focal, rules)
            if name == SELF
            else make_coplayer(name, config.env_id)
        )
        player.reset(seed=s[2 + j], seat=_seat_info(env, config, j))
        players[j] = player
    learner.start_trial()
    parts: list[FocalSamples] = []
    recorded: list[RecordedEpisode] = []
    stats: list[EpisodeStats] = []
    for e in range(k):
        part, episode, stat = _learner_episode(env, rules, learner, players, s[2 + n + e], config)
        parts.append(part)
        recorded.append(episode)
        stats.append(stat)
    return TrialResult(
        iteration,
        index,
        learner_seat,
        tuple(names),
        FocalSamples.concat(parts),
        tuple(recorded),
        tuple(stats),
    )


def _learner_episode(
    env: Any,
    rules: GridRules,
    learner: SearchLearner,
    players: Mapping[int, Any],
    env_seed: int,
    config: TrainConfig,
) -> tuple[FocalSamples, RecordedEpisode, EpisodeStats]:
    seat_of = {a: i for i, a in enumerate(env.possible_agents)}
    observations, _ = env.reset(seed=env_seed)
    for player in players.values():
        player.start_episode()
    learner.begin(observations[learner.agent_id])
    returns = np.zeros(rules.num_players)
    events = 0
    length = 0
    goals = rules.goals
    while env.agents:
        actions = {
            a: learner.act(observations[a])
            if a == learner.agent_id
            else players[seat_of[a]].act(observations[a])
            for a in env.agents
        }
        observations, rewards, terminations, truncations, infos = env.step(actions)
        transition = Transition(actions, observations, rewards, terminations, truncations, infos)
        for a in actions:
            seat = seat_of[a]
            returns[seat] += float(rewards[a])
            if seat != learner.seat:
                players[seat].observe(transition)
            elif goals.info_goal(infos[a]) is not None:
                events += 1
        learner.observe(transition)
        length += 1
    for player in players.values():
        player.end_episode()
    episode = learner.finish()
    decisions = learner.decisions
    samples = FocalSamples(
        grids=np.stack([d.grid for d in decisions]),
        steps=np.asarray([d.step for d in decisions], dtype=np.int64),
        masks=np.stack([d.mask for d in decisions]),
        policies=np.stack([d.target for d in decisions]),
        policy_weights=np.ones(len(decisions), dtype=np.float32),
        returns=discounted_returns([d.reward for d in decisions], config.discount).astype(
            np.float32
        ),
    )
    others = [j for j in range(rules.num_players) if j != learner.seat]
    stat = EpisodeStats(
        learner_return=float(returns[learner.seat]),
        coplayer_return=float(returns[others].mean()),
        length=length,
        learner_events=events,
    )
    return samples, episode, stat


def play_offline_episode(
    config: TrainConfig, index: int, *, phase: int = OFFLINE_PHASE
) -> tuple[FocalSamples, RecordedEpisode]:
    """Offline episode ``index``: every seat a rule-based co-player drawn uniformly from the
    population (self-play excluded).

    Focal samples come from every seat: the value target is the seat's discounted return;
    the policy target is its executed action, counted only on steps whose hindsight label
    (``rules.goals.labels``) is a goal other than IDLE: steps that led to a capture (stag
    hunt) or to the drift it removed next (snowdrift), i.e. purposeful behaviour.
    The episode is also recorded from seat 0's view for the opponent model. ``phase`` tags
    the seeds (the held-out episodes use their own tag, so they never repeat training ones).
    """
    from hop_envs.coplayers import make_coplayer

    env = hop_envs.make(config.env_id, **config.env_kwargs)
    rules = env.unwrapped.rules
    n = rules.num_players
    pool = config.rule_based_population
    s = seeds(config.seed, phase, index, count=2 + n)
    draw = np.random.default_rng(s[0])
    players = []
    for j in range(n):
        player = make_coplayer(pool[int(draw.integers(len(pool)))], config.env_id)
        player.reset(seed=s[2 + j], seat=_seat_info(env, config, j))
        player.start_episode()
        players.append(player)
    recorder = EpisodeRecorder(rules, 0)
    goals = rules.goals
    observations, _ = env.reset(seed=s[1])
    recorder.begin(observations["player_0"])
    rows: dict[int, list[tuple[np.ndarray, int, np.ndarray, int, float, Any]]] = {
        j: [] for j in range(n)
    }
    while env.agents:
        acting = list(env.agents)
        actions = {a: players[int(a.split("_")[1])].act(observations[a]) for a in acting}
        before = {a: observations[a] for a in acting}
        observations, rewards, terminations, truncations, infos = env.step(actions)
        transition = Transition(actions, observations, rewards, terminations, truncations, infos)
        recorder.record(transition)
        for a in acting:
            j = int(a.split("_")[1])
            info = infos[a]
            executed = STAY if info.get("illegal_action") else int(actions[a])
            event = goals.info_goal(info)
            obs = before[a]
            rows[j].append(
                (
                    np.asarray(obs["observation"], dtype=np.uint8),
                    int(obs["step"]),
                    np.asarray(obs["action_mask"], dtype=bool),
                    executed,
                    float(rewards[a]),
                    event,
                )
            )
    episode = recorder.finish()
    parts = []
    for j in range(n):
        seat_rows = rows[j]
        if not seat_rows:
            continue
        # Every seat plays to the end of its episode here, so none is censored.
        labels = goals.labels([r[5] for r in seat_rows], ended=True)
        purposeful = labels != IDLE
        masks = np.stack([r[2] for r in seat_rows])
        policies = np.zeros(masks.shape, dtype=np.float32)
        policies[np.arange(len(seat_rows)), [r[3] for r in seat_rows]] = 1.0
        parts.append(
            FocalSamples(
                grids=np.stack([r[0] for r in seat_rows]),
                steps=np.asarray([r[1] for r in seat_rows], dtype=np.int64),
                masks=masks,
                policies=policies,
                policy_weights=purposeful.astype(np.float32),
                returns=discounted_returns([r[4] for r in seat_rows], config.discount).astype(
                    np.float32
                ),
            )
        )
    return FocalSamples.concat(parts), episode


# -- the pool --------------------------------------------------------------------------------
def _init_worker() -> None:
    torch.set_num_threads(1)


class Collector:
    """Runs tasks in this process (``workers=1``) or in a pool of ``workers`` spawned
    processes; results always come back in task order. Use as a context manager."""

    def __init__(self, workers: int = 1) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"Collector: workers must be an integer >= 1, got {workers!r}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        on_result: Callable[[R], None] | None = None,
    ) -> list[R]:
        """``[fn(t) for t in tasks]``, in parallel when there are workers; ``on_result`` is
        called as results arrive (in task order)."""
        results: list[R] = []
        if self.workers == 1 or len(tasks) <= 1:
            for task in tasks:
                results.append(fn(task))
                if on_result is not None:
                    on_result(results[-1])
            return results
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
            )
        for result in self._pool.map(fn, tasks):
            results.append(result)
            if on_result is not None:
                on_result(result)
        return results
