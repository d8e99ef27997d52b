"""LOLA and naive learners on the iterated prisoner's dilemma with exact values.

Foerster et al., "Learning with Opponent-Learning Awareness" (AAMAS 2018), section 4.2 and
the exact variant of the reference code (``alshedivat/lola``, ``lola/train_exact.py``): each
player has a memory-one policy of 5 logits, the discounted value of a policy pair is solved
in closed form from the Markov chain of joint outcomes, and both players take simultaneous
gradient steps on it, the LOLA players adding the opponent-shaping term.

Conventions. A player's logits ``theta`` (shape ``(5,)``) give its probability to
*cooperate*, through a sigmoid, in the first step (index 0) and after the previous joint
outcome CC, CD, DC, DD (indices 1-4), each outcome seen from that player's own side (own
action first). The chain's states are the joint outcomes seen from player 1's side; player
2's view of CD is DC, so player 2 reads its logits in the order CC, DC, CD, DD.

Payoffs per step (me, other): CC -> (-1, -1), CD -> (-3, 0), DC -> (0, -3), DD -> (-2, -2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from baselines.config_checks import is_finite

#: The learning rules :func:`run_pair` knows.
Learner = Literal["lola", "naive"]
LEARNERS: tuple[str, ...] = ("lola", "naive")

#: Names of a policy's 5 entries, in the order of the logits.
STATE_NAMES: tuple[str, ...] = ("start", "CC", "CD", "DC", "DD")

#: Player 1's reward in the joint outcomes CC, CD, DC, DD (player 1's action first).
REWARD_1 = (-1.0, -3.0, 0.0, -2.0)
#: Player 2's reward in the same outcomes (the game is symmetric: CD and DC swap).
REWARD_2 = (-1.0, 0.0, -3.0, -2.0)

#: Player 2's logit for each state of the chain (player 1's view): its own view of CD is DC.
_OWN_VIEW_2 = (1, 3, 2, 4)


@dataclass(frozen=True)
class IPDConfig:
    """The game's discount and the learners' step sizes, run length and initialisation.

    Defaults follow the reference code's exact runs (``scripts/run_lola.py`` with
    ``--exact``, ``lola/train_exact.py``): ``gamma = 0.96``, step size ``alpha = lr = 1``,
    correction weight ``eta = lr_correction = 1``, 200 updates per run, logits drawn from
    N(0, 1). The update is on the undiscounted-sum value V itself (not on (1 - gamma) V),
    as in the reference code.
    """

    gamma: float = 0.96
    alpha: float = 1.0
    eta: float = 1.0
    steps: int = 200
    init_scale: float = 1.0

    def __post_init__(self) -> None:
        where = "IPDConfig"
        if not is_finite(self.gamma) or not 0.0 < self.gamma < 1.0:
            raise ValueError(f"{where}.gamma={self.gamma!r}: expected a float in (0, 1)")
        if not is_finite(self.alpha) or self.alpha <= 0.0:
            raise ValueError(f"{where}.alpha={self.alpha!r}: expected a finite float > 0")
        if not is_finite(self.eta) or self.eta < 0.0:
            raise ValueError(f"{where}.eta={self.eta!r}: expected a finite float >= 0")
        if not isinstance(self.steps, int) or isinstance(self.steps, bool) or self.steps < 0:
            raise ValueError(f"{where}.steps={self.steps!r}: expected an int >= 0")
        if not is_finite(self.init_scale) or self.init_scale < 0.0:
            raise ValueError(
                f"{where}.init_scale={self.init_scale!r}: expected a finite float >= 0"
            )


def values(
    theta1: torch.Tensor, theta2: torch.Tensor, gamma: float = 0.96
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact discounted values ``(V1, V2)`` of the memory-one policy pair.

    ``V = p0^T (I - gamma P)^-1 r``: ``p0`` is the distribution of the first step's joint
    outcome, ``P`` the transition matrix between joint outcomes and ``r`` the reward in each
    outcome. Differentiable in both parameter vectors (one 4x4 linear solve).
    """
    p1 = torch.sigmoid(theta1)
    p2 = torch.sigmoid(theta2)
    q1 = p1[1:]  # player 1 cooperates, per chain state
    q2 = p2[list(_OWN_VIEW_2)]  # player 2 cooperates, per chain state (its view swapped)

    def joint(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.stack([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)], dim=-1)

    p0 = joint(p1[0], p2[0])  # (4,)
    transition = joint(q1, q2)  # (4, 4): row = state now, column = next joint outcome
    rewards = torch.tensor([REWARD_1, REWARD_2], dtype=p1.dtype).T  # (4, 2)
    eye = torch.eye(4, dtype=p1.dtype)
    discounted = torch.linalg.solve(eye - gamma * transition, rewards)  # (4, 2)
    v = p0 @ discounted
    return v[0], v[1]


def updates(
    theta1: torch.Tensor,
    theta2: torch.Tensor,
    learners: tuple[str, str],
    config: IPDConfig,
) -> tuple[torch.Tensor, torch.Tensor, tuple[float, float]]:
    """Both players' simultaneous parameter steps, and the values before them.

    Naive: ``alpha * grad_1 V1``. LOLA adds ``alpha * eta * (grad_2 V1)^T grad_1 grad_2 V2``
    (the paper's first-order Taylor form): the gradient in ``theta1`` of
    ``stop_grad(grad_2 V1) . grad_2 V2``, which is how player 1's parameters move the
    opponent's naive step, weighted by how much that step matters to player 1. Symmetric
    for player 2.
    """
    t1 = theta1.detach().clone().requires_grad_(True)
    t2 = theta2.detach().clone().requires_grad_(True)
    v1, v2 = values(t1, t2, config.gamma)
    needs_graph = "lola" in learners
    g1_v1, g2_v1 = torch.autograd.grad(v1, (t1, t2), create_graph=needs_graph, retain_graph=True)
    g1_v2, g2_v2 = torch.autograd.grad(v2, (t1, t2), create_graph=needs_graph)
    step1 = g1_v1.detach()
    step2 = g2_v2.detach()
    if learners[0] == "lola":
        shaping1 = torch.autograd.grad((g2_v1.detach() * g2_v2).sum(), t1, retain_graph=True)[0]
        step1 = step1 + config.eta * shaping1
    if learners[1] == "lola":
        shaping2 = torch.autograd.grad((g1_v2.detach() * g1_v1).sum(), t2)[0]
        step2 = step2 + config.eta * shaping2
    return config.alpha * step1, config.alpha * step2, (v1.item(), v2.item())


@dataclass(frozen=True)
class PairResult:
    """What one run of a learner pair gives.

    ``reward_per_step``: each player's ``(1 - gamma) V`` at the final parameters (the
    average reward per step of the discounted game). ``history``: the same pair before each
    update and after the last (``steps + 1`` rows). ``cooperation``: each player's final
    probability to cooperate, in :data:`STATE_NAMES` order, from its own view.
    """

    learners: tuple[str, str]
    seed: int
    reward_per_step: tuple[float, float]
    history: tuple[tuple[float, float], ...]
    cooperation: tuple[tuple[float, ...], tuple[float, ...]]


def initial_parameters(seed: int, config: IPDConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Both players' starting logits, ``init_scale * N(0, 1)``, from ``seed`` alone."""
    generator = torch.Generator().manual_seed(seed)
    draws = torch.randn(2, 5, generator=generator, dtype=torch.float64)
    return config.init_scale * draws[0], config.init_scale * draws[1]


def run_pair(learners: tuple[str, str], seed: int, config: IPDConfig | None = None) -> PairResult:
    """Train the two learners against each other for ``config.steps`` simultaneous updates.

    The same seed gives the same starting logits for any pair of learners, and the whole
    run is deterministic (float64, no sampling after the initial draw).
    """
    config = IPDConfig() if config is None else config
    if len(learners) != 2 or any(name not in LEARNERS for name in learners):
        raise ValueError(
            f"run_pair learners={learners!r}: expected two of {LEARNERS}, e.g. ('lola', 'naive')"
        )
    theta1, theta2 = initial_parameters(seed, config)
    scale = 1.0 - config.gamma
    history: list[tuple[float, float]] = []
    for _ in range(config.steps):
        step1, step2, (v1, v2) = updates(theta1, theta2, learners, config)
        history.append((scale * v1, scale * v2))
        theta1, theta2 = theta1 + step1, theta2 + step2
    with torch.no_grad():
        v1, v2 = values(theta1, theta2, config.gamma)
    final = (scale * float(v1), scale * float(v2))
    history.append(final)
    cooperation = (
        tuple(torch.sigmoid(theta1).tolist()),
        tuple(torch.sigmoid(theta2).tolist()),
    )
    return PairResult(
        learners=(learners[0], learners[1]),
        seed=seed,
        reward_per_step=final,
        history=tuple(history),
        cooperation=cooperation,
    )
