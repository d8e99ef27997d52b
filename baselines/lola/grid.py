"""LOLA with opponent modelling, policy-gradient form, for n players (the update only).

Foerster et al., "Learning with Opponent-Learning Awareness" (AAMAS 2018), sections 3.2-3.4
(policy-gradient LOLA, LOLA with opponent modelling), with the higher-order gradients
estimated by DiCE (Foerster et al., "DiCE: The Infinitely Differentiable Monte Carlo
Estimator", ICML 2018) and its variance-reducing baseline (Mao et al., "A Baseline for
Any Order Gradient Estimation in Stochastic Computation Graphs", ICML 2019), as in the
lookahead form of ``alexis-jacq/LOLA_DiCE`` (read, not copied).

The learner ``i`` holds parameters ``theta``; every co-player ``k`` is represented by the
parameters ``phi_k`` of a *model* of its policy (fitted elsewhere by maximum likelihood to
its observed actions). Given a :data:`Simulator` that plays a batch of episodes with these
parameters and returns every player's log-probabilities and rewards, one update is:

1. Imagined step of each co-player (simulated batch A, sampled with ``theta, phi``)::

       phi_k' = phi_k + eta * grad_{phi_k} V_k(theta, phi)

   ``V_k`` is the DiCE estimate of co-player ``k``'s discounted return with *every*
   player's log-probabilities inside the magic box, so ``grad_{phi_k} V_k`` keeps its
   dependence on ``theta`` (``create_graph=True``): this is how the learner's parameters
   move the co-players' learning.

2. The learner's value after that step (simulated batch B, sampled with ``theta, phi'``),
   ``V_i(theta, phi'(theta))`` by DiCE, differentiated in ``theta``. In the ``"shaping"``
   part only the path through ``phi'(theta)`` is kept (the learner's own log-probabilities
   are detached): the LOLA correction, to be added to a naive policy gradient estimated
   elsewhere (on real episodes). ``"full"`` keeps both paths: the whole lookahead gradient
   ``d/dtheta V_i(theta, phi + eta grad_phi V(theta, phi))`` on simulated episodes.

The discount is applied per step, ``V = E sum_t gamma^t r_t``. Nothing here knows the game:
the tests run the same functions on a one-step matrix game against exact gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple

import torch

Params = Mapping[str, torch.Tensor]

#: Which paths of ``d/dtheta V_i(theta, phi'(theta))`` :func:`lola_gradient` keeps.
Part = Literal["shaping", "full"]


class SimulatedBatch(NamedTuple):
    """One batch of simulated episodes, padded to ``T`` steps.

    ``own_logp`` ``(B, T)``: the learner's log-probability of its action (0 where it did not
    act); ``coplayer_logp`` ``(B, T, K)``: the same for each modelled co-player;
    ``rewards`` ``(B, T, 1 + K)``: the learner's reward then each co-player's (0 after the
    episode ends). Log-probabilities are functions of the parameters the simulator was given.
    """

    own_logp: torch.Tensor
    coplayer_logp: torch.Tensor
    rewards: torch.Tensor


#: ``simulate(theta, phis)``: a fresh batch of episodes whose actions are drawn with the
#: *values* of the given parameters and whose log-probabilities are computed *with* them
#: (keeping any graph they carry).
Simulator = Callable[[Params, Sequence[Params]], SimulatedBatch]


def magic_box(x: torch.Tensor) -> torch.Tensor:
    """DiCE's magic box: ``exp(x - stop_grad(x))``, 1 in value, ``grad x`` in gradient."""
    return torch.exp(x - x.detach())


def dice_value(
    logp: torch.Tensor, rewards: torch.Tensor, gamma: float, baseline: bool = True
) -> torch.Tensor:
    """DiCE estimate of ``E sum_t gamma^t r_t`` (mean over the batch), any order.

    ``logp`` ``(B, T)``: the sum of the log-probabilities of every stochastic action at step
    ``t`` that the rewards may depend on; ``rewards`` ``(B, T)``. With ``baseline`` the
    term ``sum_t (1 - magic_box(logp_t)) b_t`` (Mao et al. 2019) is added, ``b_t`` the
    batch mean of the discounted reward-to-go from ``t``: 0 in value, it subtracts ``b_t``
    from the score-function weight of step ``t``.
    """
    steps = rewards.shape[1]
    discount = gamma ** torch.arange(steps, dtype=rewards.dtype)
    discounted = rewards * discount
    cumulative = torch.cumsum(logp, dim=1)
    value = (magic_box(cumulative) * discounted).sum(1)
    if baseline:
        to_go = discounted.flip(1).cumsum(1).flip(1).mean(0).detach()  # (T,)
        value = value + ((1.0 - magic_box(logp)) * to_go).sum(1)
    return value.mean()


def lookahead(
    theta: Params,
    phis: Sequence[Params],
    simulate: Simulator,
    eta: float,
    gamma: float,
    baseline: bool = True,
) -> list[dict[str, torch.Tensor]]:
    """Each co-player's imagined policy-gradient step ``phi_k + eta grad_{phi_k} V_k``,
    kept differentiable in ``theta`` (step 1 of the module docstring). ``phis`` must
    require gradients; ``theta`` must too for the result to depend on it."""
    batch = simulate(theta, phis)
    everyone = batch.own_logp + batch.coplayer_logp.sum(-1)
    stepped: list[dict[str, torch.Tensor]] = []
    for k, phi in enumerate(phis):
        value = dice_value(everyone, batch.rewards[..., 1 + k], gamma, baseline)
        names = list(phi)
        grads = torch.autograd.grad(
            value, [phi[name] for name in names], create_graph=True, allow_unused=True
        )
        stepped.append(
            {
                name: phi[name] if g is None else phi[name] + eta * g
                for name, g in zip(names, grads, strict=True)
            }
        )
    return stepped


def lola_gradient(
    theta: Params,
    phis: Sequence[Params],
    simulate: Simulator,
    eta: float,
    gamma: float,
    part: Part = "shaping",
    baseline: bool = True,
) -> dict[str, torch.Tensor]:
    """``d/dtheta V_i(theta, phi'(theta))`` on simulated episodes, by name of ``theta``:
    only the LOLA correction (``"shaping"``) or the whole lookahead gradient (``"full"``);
    module docstring. Ascend it (it is a gradient of the learner's value)."""
    if part not in ("shaping", "full"):
        raise ValueError(f"lola_gradient part={part!r}: expected 'shaping' or 'full'")
    stepped = lookahead(theta, phis, simulate, eta, gamma, baseline)
    batch = simulate(theta, stepped)
    own = batch.own_logp if part == "full" else batch.own_logp.detach()
    value = dice_value(own + batch.coplayer_logp.sum(-1), batch.rewards[..., 0], gamma, baseline)
    names = list(theta)
    grads = torch.autograd.grad(value, [theta[n] for n in names], allow_unused=True)
    return {
        n: torch.zeros_like(theta[n]) if g is None else g.detach()
        for n, g in zip(names, grads, strict=True)
    }


__all__ = [
    "Params",
    "Part",
    "SimulatedBatch",
    "Simulator",
    "dice_value",
    "lola_gradient",
    "lookahead",
    "magic_box",
]
