"""Running one trial: K consecutive episodes with the same players, following the protocol.

The call order per trial is fixed (DESIGN §5, :mod:`agents.base`)::

    every player: reset(seed=seat seed, seat=SeatInfo)          # once per trial
    for each episode:
        env.reset(seed=episode seed); every player: start_episode()
        until nobody is left: act (live players) -> env.step -> observe (every player, also
                              those that have left the game)
        every player: end_episode()

Focal agents keep their memory across the episodes of a trial; each focal seat has its own
instance; co-players are made afresh for every trial.

Co-player predictions (:mod:`agents.prediction`): a focal agent with ``predict_coplayers`` is
asked right after its ``act`` at every joint step, and its answers are scored against the
co-players' actions with the references of :mod:`evaluation.prediction_scores` (the ``om_*``
fields of the record). Without such an agent none of this runs and the fields stay None.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterator, Sequence

import hop_envs
from agents.base import Agent, Transition
from agents.prediction import check_predictions, predicts_coplayers
from evaluation.jobs import TrialJob, config_hash, scenario_hash
from evaluation.players import make_background, make_focal, seat_info, wants_privileged_info
from evaluation.prediction_scores import PredictionScorer
from evaluation.records import EpisodeRecord
from evaluation.seeding import trial_seeds


class TrialError(RuntimeError):
    """A trial that raised; the message names agent, scenario, seed, trial and episode."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.details))


#: A :class:`TrialError` message: who (agent, scenario, seed), the trial, then where and why.
_TRIAL_MESSAGE = re.compile(
    r"(?P<who>.*?, seed \d+), trial (?P<trial>\d+) (?P<what>failed in .*)", re.S
)


def failure_lines(failures: Sequence[BaseException | str]) -> list[str]:
    """The failures of a run, one line per distinct failure, in the order first seen.

    Trials of one agent, scenario and seed that failed at the same point with the same
    message share a line (``trials 9-19 (11) failed in setting up: ...``), so a cause that
    stops hundreds of trials is read once; any other exception keeps its own line.
    """
    trials: dict[tuple[str, str], list[int]] = {}
    for err in failures:
        match = _TRIAL_MESSAGE.fullmatch(str(err))
        key = (match["who"], match["what"]) if match else (str(err), "")
        trials.setdefault(key, [])
        if match:
            trials[key].append(int(match["trial"]))
    lines = []
    for (who, what), numbers in trials.items():
        if not numbers:
            lines.append(who)
        elif len(numbers) == 1:
            lines.append(f"{who}, trial {numbers[0]} {what}")
        else:
            lines.append(f"{who}, trials {_ranges(numbers)} ({len(numbers)}) {what}")
    return lines


def _ranges(numbers: Sequence[int]) -> str:
    """``[9, 10, 11, 13]`` -> ``"9-11, 13"``."""
    ordered = sorted(set(numbers))
    parts, start = [], ordered[0]
    for previous, current in zip(ordered, [*ordered[1:], None], strict=True):
        if current is None or current != previous + 1:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = current
    return ", ".join(parts)


def check_unchanged(job: TrialJob) -> None:
    """Refuse a job whose agent (or learned co-player) changed on disk since it was planned.

    The store files an episode under the configuration hash of the job's plan (the code and
    weights of the agent and of any learned co-player as they were then). A worker that
    starts after the code or a checkpoint was edited would play the new version and file it
    under the old hash, and a resumed run would take those episodes for the old
    configuration's. Recomputing the hash where the trial runs (files are read again when
    their size or time changed) turns that into a failed job that names the change; the
    episodes already stored stay.
    """
    now = config_hash(job.agent, job.scenario, job.package_version)
    if now != job.config_hash:
        raise RuntimeError(
            "the code or weights of the agent or of a learned co-player changed on disk "
            f"after this run was planned (configuration {job.config_hash} when planned, {now} "
            "now): its episodes would be stored under a configuration that did not play "
            "them. Run the command again when the edit is done; it resumes from the stored "
            "episodes"
        )


class TrialRunner:
    """One trial in progress: its env, players and seeds (``render_mode`` for watching)."""

    def __init__(self, job: TrialJob, render_mode: str | None = None) -> None:
        self.job = job
        scenario = job.scenario
        self.env = hop_envs.make(scenario.env_id, render_mode=render_mode, **scenario.env_kwargs)
        self.seeds = trial_seeds(
            job.seed, scenario.name, job.trial, scenario.num_players, job.episodes
        )
        background = scenario.draw_background(self.seeds.sampling)
        specs = dict(zip(scenario.background_seats, background, strict=True))
        names = {seat: spec.label for seat, spec in specs.items()}
        names.update(dict.fromkeys(scenario.focal_seats, job.agent.label))
        self.seat_players = tuple(names[s] for s in range(scenario.num_players))
        self.players: list[Agent] = []
        for seat in range(scenario.num_players):
            if seat in scenario.focal_seats:
                self.players.append(make_focal(job.agent, scenario.env_id))
            else:
                self.players.append(make_background(specs[seat], scenario.env_id))
        self.seat_of = {a: i for i, a in enumerate(self.env.possible_agents)}
        self.scenario_hash = scenario_hash(scenario)
        #: Focal seats whose agent predicts its co-players (scored every joint step).
        self.predicting_seats = tuple(
            s for s in scenario.focal_seats if predicts_coplayers(self.players[s])
        )
        #: The joint step just played (``None`` right after a reset), for ``on_step`` hooks.
        self.last_transition: Transition | None = None

    def reset_players(self) -> None:
        scenario, env = self.job.scenario, self.env
        for seat, player in enumerate(self.players):
            privileged = coplayers = None
            if wants_privileged_info(player):
                privileged = {j: n for j, n in enumerate(self.seat_players) if j != seat}
                coplayers = {
                    j: p
                    for j, p in enumerate(self.players)
                    if j != seat and j not in scenario.focal_seats
                }
            info = seat_info(scenario, env, seat, privileged, coplayers)
            player.reset(seed=self.seeds.seats[seat], seat=info)

    def episode(
        self, index: int, on_step: Callable[[TrialRunner], None] | None = None
    ) -> EpisodeRecord:
        """Play episode ``index`` (``on_step(self)`` after the reset and after every step)."""
        env, players, seat_of = self.env, self.players, self.seat_of
        n = len(players)
        returns = [0.0] * n
        stags, hares, drifts = [0] * n, [0] * n, [0] * n
        observations, _ = env.reset(seed=self.seeds.env[index])
        for player in players:
            player.start_episode()
        self.last_transition = None
        if on_step is not None:
            on_step(self)
        length = 0
        scorer = None
        if self.predicting_seats:
            scorer = PredictionScorer(env.rules.goals, list(env.possible_agents))
        while env.agents:
            if scorer is not None:
                scorer.references(observations, players, list(env.agents))
            actions = {a: players[seat_of[a]].act(observations[a]) for a in env.agents}
            if scorer is not None:
                self._predict(scorer, observations, actions)
            observations, rewards, terminations, truncations, infos = env.step(actions)
            if scorer is not None:
                scorer.score(actions, infos)
            transition = Transition(
                actions, observations, rewards, terminations, truncations, infos
            )
            # Every player observes every joint step until the episode ends, also after it
            # has left the game (DESIGN §5): nothing the co-players do is censored.
            for player in players:
                player.observe(transition)
            for agent_id in actions:
                seat = seat_of[agent_id]
                returns[seat] += float(rewards[agent_id])
                info = infos[agent_id]
                captured = info.get("captured")
                if captured == "stag":
                    stags[seat] += 1
                elif captured == "hare":
                    hares[seat] += 1
                if info.get("removed_drift") is not None:
                    drifts[seat] += 1
            length += 1
            if on_step is not None:
                self.last_transition = transition
                on_step(self)
        for player in players:
            player.end_episode()
        job = self.job
        return EpisodeRecord(
            agent=job.agent.label,
            scenario=job.scenario.name,
            env_id=job.scenario.env_id,
            seed=job.seed,
            trial=job.trial,
            episode=index,
            focal_seats=job.scenario.focal_seats,
            seat_players=self.seat_players,
            returns=tuple(returns),
            length=length,
            stags=tuple(stags),
            hares=tuple(hares),
            drifts=tuple(drifts),
            package_version=job.package_version,
            config_hash=job.config_hash,
            scenario_hash=self.scenario_hash,
            **(scorer.finish().as_record_fields() if scorer is not None else {}),
        )

    def _predict(
        self, scorer: PredictionScorer, observations: dict, actions: dict[str, int]
    ) -> None:
        """Ask every predicting focal seat that just acted for its co-player predictions."""
        env = self.env
        for seat in self.predicting_seats:
            agent_id = env.possible_agents[seat]
            if agent_id not in actions:
                continue
            answer = self.players[seat].predict_coplayers(observations[agent_id])  # type: ignore[attr-defined]
            scorer.predict(
                check_predictions(
                    answer,
                    who=self.job.agent.label,
                    seat=seat,
                    num_players=len(self.players),
                    num_actions=int(env.action_space(agent_id).n),
                )
            )


def run_trial(job: TrialJob) -> Iterator[EpisodeRecord]:
    """Play every episode of ``job`` from the start; yield the records not in ``job.skip``.

    Any exception from an agent, a co-player or the env becomes a :class:`TrialError`
    naming the agent, scenario, seed, trial and episode (the traceback is in ``details``).
    """
    episode: int | None = None
    try:
        check_unchanged(job)
        trial = TrialRunner(job)
        trial.reset_players()
        for episode in range(job.episodes):
            record = trial.episode(episode)
            if episode not in job.skip:
                yield record
    except Exception as err:
        where = "setting up" if episode is None else f"episode {episode}"
        raise TrialError(
            f"{job.label} failed in {where}: {type(err).__name__}: {err}",
            traceback.format_exc(),
        ) from err
