"""Agents that predict their co-players: oracle-mcts, hop and its variants, direct-om."""

from __future__ import annotations

import numpy as np
import pytest

from agents import predicts_coplayers
from agents.hop.interfaces import PolicyQuery
from agents.hop.planning_agent import model_predictions
from evaluation.jobs import AgentSpec, TrialJob
from evaluation.runner import TrialRunner, run_trial
from evaluation.scenarios import Scenario

MSH = "hop/MarkovStagHunt-v0"
MSG = "hop/MarkovSnowdrift-v0"


def _job(agent, env, background, episodes=1, cycles=10, **kwargs):
    scenario = Scenario("pred", env, (0,), background=background, env_kwargs={"max_cycles": cycles})
    return TrialJob(AgentSpec(agent, kwargs), scenario, 0, 0, episodes, frozenset())


# -- oracle-mcts ----------------------------------------------------------------------------
@pytest.mark.parametrize(("env", "background"), [(MSH, "nearest-stag"), (MSG, "cleaner")])
def test_oracle_reaches_the_exact_reference(env, background):
    records = list(run_trial(_job("oracle-mcts", env, background, 2, num_simulations=4)))
    for r in records:
        assert r.om_count and r.om_count == r.om_exact_count
        assert r.om_loglik == pytest.approx(r.om_exact_loglik, abs=1e-12)
        assert r.om_accuracy == pytest.approx(r.om_exact_accuracy, abs=1e-12)
        assert r.om_brier == pytest.approx(r.om_exact_brier, abs=1e-12)
        assert r.om_uniform_loglik < r.om_loglik
        assert r.om_goal_count == 0


def test_oracle_leaves_out_coplayers_with_memory():
    (r,) = run_trial(_job("oracle-mcts", MSH, "patient-stag", 1, 5, num_simulations=4))
    # No exact probabilities for a co-player with memory: nothing predicted, nothing scored.
    assert (r.om_count, r.om_loglik, r.om_exact_count) == (0, None, 0)


# -- hop and its variants -------------------------------------------------------------------
def _actions(job, score):
    runner = TrialRunner(job)
    if not score:
        runner.predicting_seats = ()
    runner.reset_players()
    focal, taken = runner.players[0], []
    act = focal.act

    def recording_act(observation):
        taken.append(act(observation))
        return taken[-1]

    focal.act = recording_act  # type: ignore[method-assign]
    records = [runner.episode(i) for i in range(job.episodes)]
    return taken, records


def test_hop_acts_the_same_with_and_without_prediction_scoring():
    job = _job("hop", MSH, "nearest-hare", 2, 10, num_trees=2, num_simulations=8)
    plain, unscored = _actions(job, score=False)
    scored_actions, scored = _actions(job, score=True)
    assert plain == scored_actions and len(plain) > 5
    assert [r.returns for r in unscored] == [r.returns for r in scored]
    assert unscored[0].om_count is None
    for r in scored:
        assert r.om_count > 0 and r.om_goal_count == r.om_count
        assert 0.0 <= r.om_goal_prob <= 1.0


@pytest.mark.parametrize("agent", ["hop", "hop-no-inter", "hop-no-intra", "direct-om"])
def test_predictions_cover_the_coplayers_in_the_game(agent):
    job = _job(agent, MSG, "cleaner", 1, 3, num_trees=1, num_simulations=4)
    runner = TrialRunner(job)
    runner.reset_players()
    focal = runner.players[0]
    assert predicts_coplayers(focal)
    observations, _ = runner.env.reset(seed=1)
    focal.start_episode()
    focal.act(observations["player_0"])
    predictions = focal.predict_coplayers(observations["player_0"])
    assert sorted(predictions) == [1, 2, 3]
    for p in predictions.values():
        assert p.actions.shape == (6,) and p.actions.sum() == pytest.approx(1.0)
        if agent == "direct-om":
            assert p.goals is None
        else:
            assert sum(p.goals.values()) == pytest.approx(1.0)
    # Asking twice changes nothing.
    again = focal.predict_coplayers(observations["player_0"])
    assert all(np.array_equal(again[j].actions, predictions[j].actions) for j in predictions)


class _TwoGoalPolicy:
    """Goal 0: always up (action 0); goal 1: always stay (action 4); no goal: uniform."""

    def action_probs(self, queries: list[PolicyQuery]) -> np.ndarray:
        out = np.zeros((len(queries), 6))
        for row, q in zip(out, queries, strict=True):
            if q.goal is None:
                row[:] = 1 / 6
            else:
                row[0 if q.goal == 0 else 4] = 1.0
        return out


class _State:
    active = np.array([True, True, False])


def test_model_predictions_mix_by_the_goal_belief():
    out = model_predictions(_TwoGoalPolicy(), _State(), 0, {1: {0: 1.0, 1: 3.0}, 2: {0: 1.0}})
    assert sorted(out) == [1]  # seat 2 has left the game
    assert out[1].actions.tolist() == [0.25, 0, 0, 0, 0.75, 0]
    assert dict(out[1].goals) == {0: 0.25, 1: 0.75}
    free = model_predictions(_TwoGoalPolicy(), _State(), 0)
    assert free[1].goals is None and free[1].actions == pytest.approx([1 / 6] * 6)
