"""Exact LOLA on the iterated prisoner's dilemma: values against hand-worked numbers, the
players' perspective, the LOLA term against finite differences, and the paper's result on
a small budget."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.lola.ipd import IPDConfig, run_pair, updates, values

ROOT = Path(__file__).resolve().parents[2]
GAMMA = 0.96
BIG = 30.0  # sigmoid(30) = 1 - 9e-14: a deterministic choice to test precision

# Logits in the order start, after CC, CD, DC, DD (own action first), +BIG = cooperate.
ALL_C = [BIG] * 5
ALL_D = [-BIG] * 5
TIT_FOR_TAT = [BIG, BIG, -BIG, BIG, -BIG]  # copy the other's last action


def pair_values(a: list[float], b: list[float], gamma: float = GAMMA) -> tuple[float, float]:
    v1, v2 = values(
        torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64), gamma
    )
    return v1.item(), v2.item()


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # -1 every step: -1 / (1 - 0.96) = -25.
        (ALL_C, ALL_C, (-25.0, -25.0)),
        # 0 / -3 every step: -3 * 25 = -75.
        (ALL_D, ALL_C, (0.0, -75.0)),
        (ALL_C, ALL_D, (-75.0, 0.0)),
        # -2 every step: -50.
        (ALL_D, ALL_D, (-50.0, -50.0)),
        (TIT_FOR_TAT, TIT_FOR_TAT, (-25.0, -25.0)),
        # First step CD: TFT -3, AllD 0; then DD forever: -2 * 0.96 / 0.04 = -48 each.
        (TIT_FOR_TAT, ALL_D, (-51.0, -48.0)),
        # The same with the seats swapped: TFT as player 2 must read the outcome after
        # step 1 (DC from player 1's side) as CD, being exploited, and defect.
        (ALL_D, TIT_FOR_TAT, (-48.0, -51.0)),
        # TFT vs AllC: CC forever.
        (TIT_FOR_TAT, ALL_C, (-25.0, -25.0)),
        # Both 50/50 everywhere: each outcome 1/4 every step, mean reward -6/4 = -1.5 for
        # each player, -1.5 * 25 = -37.5.
        ([0.0] * 5, [0.0] * 5, (-37.5, -37.5)),
    ],
)
def test_values_of_deterministic_and_uniform_policies_match_hand_worked_numbers(
    first: list[float], second: list[float], expected: tuple[float, float]
) -> None:
    assert pair_values(first, second) == pytest.approx(expected, abs=1e-6)


def test_a_player_that_defects_only_after_cd_from_its_own_side_is_read_with_its_own_view() -> None:
    # Player 2 cooperates everywhere except after *it* was exploited (its CD, which is DC
    # from player 1's side). Player 1: defect first, then cooperate forever.
    # Step 1: DC (p1 0, p2 -3). Step 2: p1 C, p2 punishes with D: CD (p1 -3, p2 0).
    # Step 3 on: after CD p1 cooperates; p2's view is DC, it cooperates: CC forever.
    grudge_once = [BIG, BIG, -BIG, BIG, BIG]
    defect_then_c = [-BIG, BIG, BIG, BIG, BIG]
    v1 = 0.0 + GAMMA * -3.0 + GAMMA**2 * -1.0 / (1 - GAMMA)
    v2 = -3.0 + GAMMA * 0.0 + GAMMA**2 * -1.0 / (1 - GAMMA)
    assert pair_values(defect_then_c, grudge_once) == pytest.approx((v1, v2), abs=1e-6)


def truncated_sum(theta1: np.ndarray, theta2: np.ndarray, steps: int = 2000) -> np.ndarray:
    """The same values as a sum over ``steps`` steps of the joint-outcome distribution,
    written out action by action (own view: (my action, other's action), 0 = C)."""
    p1, p2 = 1 / (1 + np.exp(-theta1)), 1 / (1 + np.exp(-theta2))
    index = {(0, 0): 1, (0, 1): 2, (1, 0): 3, (1, 1): 4}
    payoff = {(0, 0): -1.0, (0, 1): -3.0, (1, 0): 0.0, (1, 1): -2.0}  # mine, (me, other)
    coop1 = {(a, b): p1[index[(a, b)]] for a in (0, 1) for b in (0, 1)}
    coop2 = {(a, b): p2[index[(b, a)]] for a in (0, 1) for b in (0, 1)}  # its view
    dist = {}
    for a in (0, 1):
        for b in (0, 1):
            dist[(a, b)] = (p1[0] if a == 0 else 1 - p1[0]) * (p2[0] if b == 0 else 1 - p2[0])
    total = np.zeros(2)
    for t in range(steps):
        for (a, b), mass in dist.items():
            total += GAMMA**t * mass * np.array([payoff[(a, b)], payoff[(b, a)]])
        nxt = dict.fromkeys(dist, 0.0)
        for (a, b), mass in dist.items():
            for c in (0, 1):
                for d in (0, 1):
                    pc = coop1[(a, b)] if c == 0 else 1 - coop1[(a, b)]
                    pd = coop2[(a, b)] if d == 0 else 1 - coop2[(a, b)]
                    nxt[(c, d)] += mass * pc * pd
        dist = nxt
    return total


def test_values_of_random_policies_match_a_truncated_sum_of_the_chain() -> None:
    rng = np.random.default_rng(7)
    for _ in range(3):
        theta1, theta2 = rng.normal(0, 2, 5), rng.normal(0, 2, 5)
        expected = truncated_sum(theta1, theta2)
        assert pair_values(list(theta1), list(theta2)) == pytest.approx(tuple(expected), abs=1e-8)


def test_swapping_the_players_parameters_swaps_their_values() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, b = list(rng.normal(0, 1.5, 5)), list(rng.normal(0, 1.5, 5))
        v1, v2 = pair_values(a, b)
        w1, w2 = pair_values(b, a)
        assert (w1, w2) == pytest.approx((v2, v1), abs=1e-10)
        assert abs(v1 - v2) > 1e-3  # an asymmetric pair, so the check has teeth


def finite_difference_terms(
    theta1: np.ndarray, theta2: np.ndarray, h: float = 1e-4
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """From values alone: grad_1 V1, grad_2 V2, and both LOLA terms
    (grad_2 V1)^T grad_1 grad_2 V2 and (grad_1 V2)^T grad_2 grad_1 V1."""

    def v(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
        return np.array(pair_values(list(t1), list(t2)))

    eye = np.eye(5) * h
    g1 = np.array([(v(theta1 + e, theta2) - v(theta1 - e, theta2)) / (2 * h) for e in eye])
    g2 = np.array([(v(theta1, theta2 + e) - v(theta1, theta2 - e)) / (2 * h) for e in eye])
    # cross[i, j] = d2 V / d theta1_i d theta2_j, for both players' V.
    cross = np.zeros((5, 5, 2))
    for i, ei in enumerate(eye):
        for j, ej in enumerate(eye):
            cross[i, j] = (
                v(theta1 + ei, theta2 + ej)
                - v(theta1 + ei, theta2 - ej)
                - v(theta1 - ei, theta2 + ej)
                + v(theta1 - ei, theta2 - ej)
            ) / (4 * h * h)
    lola1 = cross[:, :, 1] @ g2[:, 0]  # sum_j dV1/dtheta2_j * d2V2/dtheta1_i dtheta2_j
    lola2 = cross[:, :, 0].T @ g1[:, 1]  # sum_i dV2/dtheta1_i * d2V1/dtheta1_i dtheta2_j
    return g1[:, 0], g2[:, 1], lola1, lola2


def test_naive_and_lola_steps_match_finite_differences() -> None:
    rng = np.random.default_rng(11)
    theta1, theta2 = rng.normal(0, 1, 5), rng.normal(0, 1, 5)
    grad1, grad2, lola1, lola2 = finite_difference_terms(theta1, theta2)
    assert np.abs(lola1).max() > 0.1 and np.abs(lola2).max() > 0.1  # not a trivial case
    config = IPDConfig(alpha=0.3, eta=0.7)
    t1, t2 = torch.tensor(theta1), torch.tensor(theta2)

    naive1, naive2, _ = updates(t1, t2, ("naive", "naive"), config)
    np.testing.assert_allclose(naive1.numpy(), 0.3 * grad1, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(naive2.numpy(), 0.3 * grad2, rtol=1e-6, atol=1e-7)

    step1, step2, _ = updates(t1, t2, ("lola", "naive"), config)
    np.testing.assert_allclose(step1.numpy(), 0.3 * (grad1 + 0.7 * lola1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(step2.numpy(), naive2.numpy(), rtol=0, atol=1e-12)

    step1, step2, _ = updates(t1, t2, ("naive", "lola"), config)
    np.testing.assert_allclose(step1.numpy(), naive1.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(step2.numpy(), 0.3 * (grad2 + 0.7 * lola2), rtol=1e-5, atol=1e-5)


def test_two_lola_learners_cooperate_and_two_naive_learners_defect() -> None:
    # The reference settings (200 steps, alpha = eta = 1) take well under a second a run.
    for seed in (0, 1):
        lola = run_pair(("lola", "lola"), seed)
        naive = run_pair(("naive", "naive"), seed)
        assert min(lola.reward_per_step) > -1.2, lola.reward_per_step  # near -1 (CC)
        assert max(naive.reward_per_step) < -1.9, naive.reward_per_step  # near -2 (DD)
        for coop in lola.cooperation:
            assert coop[1] > 0.95  # cooperate after mutual cooperation
        for coop in naive.cooperation:
            assert coop[1] < 0.5


def test_runs_are_deterministic_and_in_range_for_every_pair() -> None:
    config = IPDConfig(steps=15)
    for learners in (("lola", "lola"), ("naive", "naive"), ("lola", "naive"), ("naive", "lola")):
        first, again = run_pair(learners, 5, config), run_pair(learners, 5, config)
        assert first == again
        assert len(first.history) == 16
        assert all(-3.0 <= r <= 0.0 for row in first.history for r in row)
        assert all(0.0 <= p <= 1.0 for coop in first.cooperation for p in coop)
        assert all(len(coop) == 5 for coop in first.cooperation)
    assert run_pair(("lola", "lola"), 5, config) != run_pair(("lola", "lola"), 6, config)


def test_the_benchmark_prints_both_summary_lines() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/lola_ipd.py", "--seeds", "2", "--steps", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for key in ("lola_vs_lola_reward_per_step", "naive_vs_naive_reward_per_step"):
        found = re.search(rf"^{key}=(-?\d+\.\d+)$", done.stdout, re.MULTILINE)
        assert found is not None, done.stdout
        assert -3.0 <= float(found[1]) <= 0.0
    assert len(re.findall(r"^seed \d+: ", done.stdout, re.MULTILINE)) == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gamma", 1.0),
        ("gamma", 0.0),
        ("gamma", math.nan),
        ("alpha", 0.0),
        ("alpha", -1.0),
        ("eta", -0.1),
        ("eta", math.inf),
        ("steps", -1),
        ("steps", 2.5),
        ("steps", True),
        ("init_scale", -1.0),
    ],
)
def test_bad_config_is_refused_with_the_field_and_value(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=re.escape(f"IPDConfig.{field}={value!r}")):
        IPDConfig(**{field: value})


def test_unknown_learner_is_refused() -> None:
    with pytest.raises(ValueError, match="'lolaa'"):
        run_pair(("lolaa", "naive"), 0, IPDConfig(steps=1))
