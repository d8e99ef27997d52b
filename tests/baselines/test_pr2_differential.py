"""PR2 and independent learners on the differential game (:mod:`baselines.pr2.differential`)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.pr2.differential import (
    ACTION_BOUND,
    DifferentialConfig,
    fit_opponent_model,
    reward,
    run,
)

ROOT = Path(__file__).resolve().parents[2]
#: A run small enough for a test: a few hundred gradient steps. The full-budget runs (about
#: 15 s for independent learners, 25 s for PR2 on one free core) are marked slow.
TINY = {"explore_steps": 200, "warmup_steps": 20, "train_steps": 60, "batch_size": 32}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    ("a1", "a2", "expected"),
    [
        (5.0, 5.0, 10.0),  # the high peak: f2 = 10, f1 = 0.8 * (-2 * (10/3)^2) = -17.8
        (-5.0, -5.0, 0.0),  # the low peak: f1 = 0, f2 = -100 - 100 + 10 = -190
        (0.0, 0.0, -40.0 / 9.0),  # f1 = 0.8 * (-25/9 - 25/9) = -4.444, f2 = -40
        (4.0, 5.0, 9.0),  # f2 = -1 + 10; f1 = 0.8 * (-9 - 100/9) = -16.1
        (2.0, 2.0, -8.0),  # f2 = -9 - 9 + 10 = -8 beats f1 = 0.8 * (-2 * 49/9) = -8.71
        (1.5, 1.5, -0.8 * 2 * 6.5**2 / 9),  # f1 = -7.51 beats f2 = -2 * 3.5^2 + 10 = -14.5
        (-2.0, -5.0, -0.8),  # f1 = 0.8 * (-(3/3)^2 - 0) ; f2 = -49 - 100 + 10
    ],
)
def test_reward_matches_hand_worked_values(a1, a2, expected) -> None:
    assert reward(a1, a2) == pytest.approx(expected, abs=1e-9)
    assert reward(a2, a1) == pytest.approx(expected, abs=1e-9)  # the game is symmetric
    as_tensor = reward(torch.tensor([a1], dtype=torch.float64), torch.tensor([a2]).double())
    assert float(as_tensor[0]) == pytest.approx(expected, abs=1e-9)
    assert float(reward(np.array([a1]), np.array([a2]))[0]) == pytest.approx(expected, abs=1e-9)


def test_the_high_peak_is_the_global_maximum_on_a_grid() -> None:
    grid = np.linspace(-ACTION_BOUND, ACTION_BOUND, 401)  # step 0.05, hits +-5 exactly
    a1, a2 = np.meshgrid(grid, grid)
    values = reward(a1, a2)
    best = np.unravel_index(np.argmax(values), values.shape)
    assert (a1[best], a2[best]) == pytest.approx((5.0, 5.0))
    assert values.max() == pytest.approx(10.0)
    low = (np.abs(a1 + 5) < 2) & (np.abs(a2 + 5) < 2)  # the local peak's neighbourhood
    assert values[low].max() == pytest.approx(0.0)


def test_opponent_model_fits_the_soft_conditional_of_a_known_quadratic() -> None:
    # Q(a_i, a_-i) = -(a_-i - a_i / 2)^2; exp(Q / alpha) is then a Gaussian in a_-i with mean
    # a_i / 2 and variance alpha / 2 (sd 0.707 for alpha = 1), well inside [-10, 10].
    def q_fn(own, other):
        return -((other - 0.5 * own) ** 2)

    rho = fit_opponent_model(q_fn, alpha=1.0, steps=1500, seed=0)
    generator = torch.Generator().manual_seed(1)
    own = torch.tensor([-8.0, -4.0, 0.0, 3.0, 7.0])
    with torch.no_grad():
        draws = rho.sample(own.repeat_interleave(4000).unsqueeze(-1), 20_000, generator)[0]
    draws = draws.view(5, 4000)
    assert draws.mean(dim=1).tolist() == pytest.approx((0.5 * own).tolist(), abs=0.3)
    assert draws.std(dim=1).tolist() == pytest.approx([math.sqrt(0.5)] * 5, abs=0.2)


def test_opponent_model_answers_each_own_action_with_the_games_conditional_best_response() -> None:
    # Level-1 reasoning on the game's own reward: after a_i = 5 the best reply is the high peak
    # (a_-i = 5, worth 10); after a_i = -5 the high peak is worth at most -90 and the best reply
    # is the low peak (a_-i = -5, worth 0).
    rho = fit_opponent_model(reward, alpha=0.5, steps=1500, seed=0)
    with torch.no_grad():
        replies = rho.mode(torch.tensor([[5.0], [-5.0]]), 2)
    assert replies.tolist() == pytest.approx([5.0, -5.0], abs=0.5)


def test_a_run_is_deterministic_given_its_seed() -> None:
    first = run(DifferentialConfig(learner="pr2", seed=3, **TINY))
    again = run(DifferentialConfig(learner="pr2", seed=3, **TINY))
    other = run(DifferentialConfig(learner="pr2", seed=4, **TINY))
    assert first == again
    assert first.actions != other.actions


@pytest.mark.parametrize("learner", ["pr2", "independent"])
def test_a_small_run_of_each_learner_ends_inside_the_action_box(learner) -> None:
    result = run(DifferentialConfig(learner=learner, seed=0, **TINY))
    assert result.learner == learner
    assert all(-ACTION_BOUND <= a <= ACTION_BOUND for a in result.actions)
    assert result.reward == pytest.approx(reward(*result.actions))
    assert result.reached_global == all(abs(a - 5.0) <= 1.0 for a in result.actions)
    assert result.reached_local == all(abs(a + 5.0) <= 1.0 for a in result.actions)


@pytest.mark.slow
def test_independent_learners_stay_in_the_low_peaks_basin() -> None:
    # The short version of the paper's finding for the baseline (seed 0, full budget): neither
    # player gets to the high peak; both end on the low peak's side of the box.
    result = run(DifferentialConfig(learner="independent", seed=0))
    assert not result.reached_global, result
    assert all(a < 0 for a in result.actions), result


@pytest.mark.slow
def test_pr2_reaches_the_global_peak_more_often_than_independent_learners() -> None:
    seeds = range(4)
    pr2 = sum(run(DifferentialConfig(learner="pr2", seed=s)).reached_global for s in seeds)
    independent = sum(
        run(DifferentialConfig(learner="independent", seed=s)).reached_global for s in seeds
    )
    assert pr2 > independent


def test_the_benchmark_prints_both_shares() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/pr2_differential_game.py", "--seeds", "2", "--steps", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(re.findall(r"^seed=\d learner=(pr2|independent) ", done.stdout, re.M)) == 4
    for learner in ("pr2", "independent"):
        found = re.search(rf"^{learner}_global_share=(\d+(?:\.\d+)?)$", done.stdout, re.M)
        assert found is not None, done.stdout
        assert 0.0 <= float(found[1]) <= 1.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("learner", "maddpg"),
        ("seed", -1),
        ("train_steps", 0),
        ("train_steps", True),
        ("batch_size", 2.5),
        ("lr", 0.0),
        ("alpha_end", float("nan")),
        ("alpha_start", 0.01),  # below alpha_end (0.1)
        ("anneal_fraction", 1.5),
        ("global_tolerance", -1.0),
        ("rho_alpha", 0.0),
    ],
)
def test_bad_config_raises_naming_the_field_and_the_value(field, value) -> None:
    with pytest.raises(ValueError, match=re.escape(field)) as raised:
        DifferentialConfig(**{field: value})
    assert repr(value) in str(raised.value)


def test_bad_alpha_for_the_opponent_fit_raises() -> None:
    with pytest.raises(ValueError, match=r"alpha .*-1\.0"):
        fit_opponent_model(reward, alpha=-1.0)
