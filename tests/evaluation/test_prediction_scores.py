"""Co-player prediction scores: hand-worked scores, the runner's scoring, goal labels, store."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest

import hop_envs
from agents.base import BaseAgent
from agents.prediction import CoplayerPrediction, check_predictions
from evaluation.jobs import AgentSpec, TrialJob
from evaluation.prediction_scores import (
    LOG_FLOOR,
    PredictionScorer,
    score_action,
    uniform_over_mask,
)
from evaluation.records import EpisodeRecord
from evaluation.runner import TrialError, run_trial
from evaluation.scenarios import Scenario
from evaluation.seeding import trial_seeds
from evaluation.store import COLUMNS, ResultStore
from hop_envs.core.goals import IDLE, DriftCellGoals

MSG = "hop/MarkovSnowdrift-v0"
STAY = 4
#: Two predictions the fake predictor alternates between (snowdrift: 6 actions, stay is 4).
P_EVEN = np.array([0.0, 0.0, 0.25, 0.0, 0.5, 0.25])
P_ODD = np.array([0.4, 0.0, 0.0, 0.0, 0.4, 0.2])


class StayCoplayer(BaseAgent):
    """Deterministic co-player: always stays, and says so exactly."""

    def act(self, observation):
        return STAY

    def action_distribution(self, observation):
        out = np.zeros(len(observation["action_mask"]))
        out[STAY] = 1.0
        return out


class FixedPredictor(BaseAgent):
    """Stays; predicts P_EVEN at even steps and P_ODD at odd steps for seat 1."""

    def act(self, observation):
        self.step = int(observation["step"])
        return STAY

    def predict_coplayers(self, observation):
        assert int(observation["step"]) == self.step  # asked right after its act
        probs = P_EVEN if self.step % 2 == 0 else P_ODD
        return {1: CoplayerPrediction(probs, {IDLE: 0.75, 4: 0.25})}


class BadPredictor(FixedPredictor):
    def predict_coplayers(self, observation):
        return {1: CoplayerPrediction(np.full(3, 1 / 3))}


class Silent(BaseAgent):
    def act(self, observation):
        return STAY


def _scenario(focal_seats=(0,)):
    return Scenario(
        "stay",
        MSG,
        focal_seats=focal_seats,
        background=f"{__name__}:StayCoplayer",
        env_kwargs={"num_players": 2, "grid_size": 3, "max_cycles": 4},
    )


def _run(agent, episodes=1):
    job = TrialJob(AgentSpec(f"{__name__}:{agent}", {}), _scenario(), 0, 0, episodes, frozenset())
    return list(run_trial(job))


# -- one step, by hand ----------------------------------------------------------------------
def test_score_action_by_hand():
    s = score_action(P_EVEN, STAY)
    assert s.loglik == pytest.approx(math.log(0.5))
    assert s.accuracy == 1.0
    assert s.brier == pytest.approx(0.25**2 + 0.5**2 + 0.25**2)  # 0.375
    tie = score_action(P_ODD, STAY)  # stay ties with up: half a hit
    assert (tie.accuracy, tie.brier) == (0.5, pytest.approx(0.16 + 0.36 + 0.04))
    assert score_action(P_ODD, 0).accuracy == 0.5
    assert score_action(P_ODD, 5).accuracy == 0.0
    impossible = score_action(P_EVEN, 0)  # p = 0: floored, not -inf
    assert impossible.loglik == pytest.approx(math.log(LOG_FLOOR))
    assert impossible.brier == pytest.approx(1 + 0.0625 + 0.25 + 0.0625)


def test_uniform_over_mask():
    assert uniform_over_mask([1, 0, 1, 0]).tolist() == [0.5, 0.0, 0.5, 0.0]


# -- the runner, hand-worked ----------------------------------------------------------------
def test_runner_scores_a_fixed_predictor_against_a_staying_coplayer():
    (record,) = _run("FixedPredictor")
    # 4 steps (nobody removes a drift): predictions P_EVEN, P_ODD, P_EVEN, P_ODD, stay each time.
    assert record.length == 4
    assert record.om_count == 4
    assert record.om_loglik == pytest.approx((math.log(0.5) + math.log(0.4)) / 2)
    assert record.om_accuracy == pytest.approx((1.0 + 0.5) / 2)
    assert record.om_brier == pytest.approx((0.375 + 0.56) / 2)
    # The exact reference: one-hot on stay, perfect.
    assert (record.om_exact_count, record.om_exact_loglik) == (4, 0.0)
    assert (record.om_exact_accuracy, record.om_exact_brier) == (1.0, 0.0)
    # Uniform over the co-player's k legal actions (it never moves: the same mask each step).
    env = hop_envs.make(MSG, num_players=2, grid_size=3, max_cycles=4)
    observations, _ = env.reset(seed=trial_seeds(0, "stay", 0, 2, 1).env[0])
    k = int(np.asarray(observations["player_1"]["action_mask"]).sum())
    assert record.om_uniform_loglik == pytest.approx(-math.log(k))
    assert record.om_uniform_accuracy == pytest.approx(1 / k)
    assert record.om_uniform_brier == pytest.approx(1 - 1 / k)
    # It removed no drift: every label is IDLE, given 0.75.
    assert (record.om_goal_count, record.om_goal_prob) == (4, pytest.approx(0.75))


def test_agents_without_predictions_get_no_scores():
    records = _run("Silent", episodes=2)
    for r in records:
        om = {k: v for k, v in vars(r).items() if k.startswith("om_")}
        assert om and set(om.values()) == {None}


def test_a_bad_prediction_names_the_agent_seat_and_value():
    with pytest.raises(TrialError, match=r"at seat 0: the prediction for seat 1 has 3 action"):
        _run("BadPredictor")


@pytest.mark.parametrize(
    ("probs", "goals", "match"),
    [
        ([0.5, 0.6], None, "sum to 1"),
        ([-0.5, 1.5], None, ">= 0"),
        ([[1.0]], None, "1-D"),
        ([1.0], {0: 0.5}, "goals must sum to 1"),
        ([1.0], {"stag": 1.0}, "integer goal ids"),
    ],
)
def test_coplayer_prediction_is_checked(probs, goals, match):
    with pytest.raises(ValueError, match=match):
        CoplayerPrediction(np.asarray(probs), goals)


def test_check_predictions_rejects_own_or_unknown_seats():
    p = CoplayerPrediction(np.ones(6) / 6)
    kw = {"who": "fake", "seat": 0, "num_players": 2, "num_actions": 6}
    assert check_predictions({1: p}, **kw) == {1: p}
    for bad in ({0: p}, {2: p}, {1: "p"}, [p]):
        with pytest.raises(ValueError, match="fake at seat 0"):
            check_predictions(bad, **kw)


# -- goal beliefs against hindsight labels, by hand ----------------------------------------
def test_goal_beliefs_are_scored_against_hindsight_labels():
    goals = DriftCellGoals(3, 3)
    scorer = PredictionScorer(goals, ["player_0", "player_1"])
    mask = {"action_mask": np.ones(6, dtype=np.int8)}
    observations = {"player_0": mask, "player_1": mask}
    players = [Silent(), Silent()]
    # Seat 1 removes the drift at (0, 1) (goal 1) at step 1 and at (2, 2) (goal 8) at step 3:
    # hindsight labels 1, 1, 8, 8, IDLE.
    events = [None, (0, 1), None, (2, 2), None]
    beliefs = [{1: 0.5, 8: 0.5}, {1: 1.0}, {8: 0.25, IDLE: 0.75}, {1: 1.0}, {IDLE: 1.0}]
    for event, belief in zip(events, beliefs, strict=True):
        scorer.references(observations, players, ["player_0", "player_1"])
        scorer.predict({1: CoplayerPrediction(np.ones(6) / 6, belief)})
        infos = {"player_0": {"drift_cell": None}, "player_1": {"drift_cell": event}}
        scorer.score({"player_0": STAY, "player_1": STAY}, infos)
    scores = scorer.finish()
    assert scores.goal_count == 5
    assert scores.goal_prob == pytest.approx((0.5 + 1.0 + 0.25 + 0.0 + 1.0) / 5)
    assert scores.count == 5 and scores.exact_count == 0 and scores.exact_loglik is None


# -- the store ------------------------------------------------------------------------------
def _record(**om):
    return EpisodeRecord(
        agent="a",
        scenario="s",
        env_id=MSG,
        seed=0,
        trial=0,
        episode=om.pop("episode", 0),
        focal_seats=(0,),
        seat_players=("a", "b"),
        returns=(1.0, 2.0),
        length=3,
        stags=(0, 0),
        hares=(0, 0),
        drifts=(1, 0),
        package_version="0",
        config_hash="h",
        **om,
    )


def test_scores_round_trip_through_the_store(tmp_path):
    scored = _record(om_count=4, om_loglik=-0.5, om_goal_count=0, om_goal_prob=None)
    plain = _record(episode=1)
    with ResultStore(tmp_path / "r.sqlite") as store:
        assert store.add([scored, plain]) == 2
        assert store.records() == [scored, plain]


def test_an_old_database_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    old = [c for c in COLUMNS if not c.startswith("om_")]
    db = sqlite3.connect(path)
    cols = ", ".join(f"{c} {'TEXT' if COLUMNS[c] == 'json' else COLUMNS[c]} NOT NULL" for c in old)
    db.execute(
        f"CREATE TABLE episodes (id INTEGER PRIMARY KEY, {cols}, UNIQUE (agent, "
        "scenario, seed, trial, episode, config_hash))"
    )
    db.execute("PRAGMA user_version = 2")
    plain = _record()
    values = [getattr(plain, c) for c in old]
    values = [repr(list(v)).replace("'", '"') if isinstance(v, tuple) else v for v in values]
    db.execute(
        f"INSERT INTO episodes ({', '.join(old)}) VALUES ({', '.join('?' * len(old))})", values
    )
    db.commit()
    db.close()
    with ResultStore(path) as store:
        assert store.records() == [plain]  # the old row reads its scores as None
        scored = _record(episode=1, om_count=2, om_loglik=-1.0)
        assert store.add([scored]) == 1
    with ResultStore(path) as store:  # opens again, nothing left to migrate
        assert store.records() == [plain, scored]
        assert store.stored_episodes("a", "s", 0, "h") == {0: {0, 1}}


class RandomSeatPredictor(Silent):
    """Stays; predicts uniform over all actions for every other seat in the game."""

    def predict_coplayers(self, observation):
        k = int(self.seat.action_space.n)
        return {j: CoplayerPrediction(np.ones(k) / k) for j in range(1, self.seat.num_players)}


def test_the_exact_reference_draws_nothing_from_the_coplayers():
    # Random co-players draw every action from their own RNG: asking their exact
    # distribution (for the reference) must leave their actions unchanged.
    from evaluation.runner import TrialRunner

    def coplayer_actions(agent, score):
        scenario = Scenario(
            "rnd",
            "hop/MarkovStagHunt-v0",
            (0,),
            background="random",
            env_kwargs={"max_cycles": 12},
        )
        job = TrialJob(AgentSpec(f"{__name__}:{agent}", {}), scenario, 0, 0, 1, frozenset())
        runner = TrialRunner(job)
        assert bool(runner.predicting_seats) == score
        runner.reset_players()
        seen = []
        record = runner.episode(
            0, lambda r: seen.append(r.last_transition and r.last_transition.actions)
        )
        return seen, record

    silent, _ = coplayer_actions("Silent", False)
    scored, record = coplayer_actions("RandomSeatPredictor", True)
    assert silent == scored
    assert record.om_exact_count == record.om_count > 0
    assert record.om_loglik == pytest.approx(math.log(1 / 7))  # stag hunt: 7 actions
