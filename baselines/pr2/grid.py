"""Discrete PR2 (level-1 probabilistic recursive reasoning) for the n-player grid games.

Wen et al. (ICLR 2019), "Probabilistic recursive reasoning for multi-agent reinforcement
learning", give agent ``i`` a joint action value ``Q(s, a_i, a_-i)``, an opponent-conditional
policy ``rho(a_-i | s, a_i)`` fitted by variational inference to the soft target
``exp(Q(s, a_i, a_-i) / alpha) / Z(s, a_i)`` (the co-players imagined as reacting to the
agent's action so as to make its value high: level-1 recursion, optimistic by construction),
and a policy that maximises the value marginalised over ``rho``. This module is the discrete,
n-player form of that model; :mod:`baselines.pr2.grid_training` trains it off-policy.

**Factorisation.** With ``J = n - 1`` co-players (slot ``j`` = the ``j``-th player after the
agent in observation order, observation channel ``j``)::

    Q(s, a_i, a_-i) = Q_0(s, a_i) + sum_j present_j(s) * Q_j(s, a_i, a_j)
    rho(a_-i | s, a_i) = prod_j rho_j(a_j | s, a_i)

``present_j(s)`` is whether co-player ``j`` is still in the game (its channel is not empty):
a player who has left takes no action, so its term is dropped from the value and from every
marginal. Pairwise terms keep the joint table at ``A + J * A * A`` numbers instead of
``A ** n`` while still holding every interaction between the agent's action and one
co-player's (the stag hunt's "two hunters on the stag", the snowdrift's "who removes").

**rho in closed form.** Because ``Q`` is additive over co-players, the soft target factorises,
``exp(Q / alpha) / Z = prod_j exp(Q_j / alpha) / Z_j``, so the minimiser of the variational
objective ``KL(rho || exp(Q / alpha) / Z)`` over factorised ``rho`` is exact and has a closed
form: ``rho_j(. | s, a_i) = softmax(Q_j(s, a_i, .) / alpha_rho)`` over co-player ``j``'s legal
actions (:func:`opponent_conditional`). PR2-AC needs a sampler network (amortised SVGD) only
because its actions are continuous; with ``A`` discrete actions the KL can be minimised
exactly, so no separate ``rho`` network is trained. :func:`rho_kl` is that objective for a
parametric ``rho`` (the tests check that its minimiser is the closed form).

**Policy and values.** The marginalised value ``Qbar(s, a_i) = E_rho Q(s, a_i, .) =
Q_0 + sum_j present_j sum_b rho_j(b | s, a_i) Q_j(s, a_i, b)`` (:func:`marginal_q`, PR2-AC's
actor objective); the policy is its soft-greedy maximiser over the agent's legal actions,
``pi(a | s) = softmax(Qbar(s, .) / alpha)`` (:func:`soft_policy`: in discrete actions the
maximiser of ``E_pi Qbar + alpha H(pi)`` is exact, so there is no actor network). The target
of a transition ``(s, a_i, a_-i, r, s')`` is PR2-AC's critic target in expectation,
``y = r + gamma (1 - terminal) V(s')`` with ``V(s') = E_{a ~ pi} Qbar(s', a)``
(:func:`expected_value`, :func:`td_target`; ``Qbar`` and ``pi`` of a target network), and
``Q(s, a_i, a_-i)`` is regressed on it (:func:`q_loss`, Huber). The value carries no entropy
bonus: in the grid games an episode ends when the agent leaves, and a bonus of
``alpha H(pi) / (1 - gamma)`` on every live state would make leaving (capturing prey) look
worse than staying. As ``alpha -> 0`` the backup becomes
``Q(s, a) <- r + gamma max_{a_i} max_{a_-i} Q(s', a_i, a_-i)``, the optimistic joint backup
that finds the coordinated optimum of cooperative matrix games.

**Co-player legal actions.** Illegal actions run as stay, so they never occur in the data and
``Q_j`` is not trained there; ``rho_j`` is restricted to co-player ``j``'s legal actions, which
:func:`grid_masks` reads off the (fully observed) grid for every player at once.

The tensor functions take ``q0`` ``(B, A)`` and ``qj`` ``(B, J, A, A)`` (own action, then
co-player action), so they serve the network and tabular tests alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from agents.hop.networks import conv_stack
from baselines.net_shape import GridNetShape
from hop_envs.core.layout import NUM_MOVES, STAY
from hop_envs.core.rules import GridRules

NET_FORMAT = "hop-bench-pr2-grid/1"


@dataclass(frozen=True)
class PR2NetConfig(GridNetShape):
    """The Q network's shape: the game's sizes and the network's."""


class PR2QNetwork(nn.Module):
    """Conv stack over the grid -> hidden layer (ReLU) -> the factors ``Q_0`` ``(B, A)`` and
    ``Q_j`` ``(B, J, A, A)`` (indexed ``[own action, co-player action]``)."""

    def __init__(self, config: PR2NetConfig) -> None:
        super().__init__()
        self.config = config
        c, h, w = config.observation_shape
        self.convs, out = conv_stack(c, config.conv_channels)
        self.hidden = nn.Linear(out * h * w, config.hidden)
        a, j = config.num_actions, config.num_coplayers
        self.q0 = nn.Linear(config.hidden, a)
        self.qj = nn.Linear(config.hidden, j * a * a)

    def forward(self, grids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        x = torch.relu(self.hidden(self.convs(grids.float()).flatten(1)))
        a = cfg.num_actions
        return self.q0(x), self.qj(x).unflatten(-1, (cfg.num_coplayers, a, a))


# -- the model's quantities -------------------------------------------------------------------
def joint_q(
    q0: torch.Tensor,
    qj: torch.Tensor,
    own: torch.Tensor,
    others: torch.Tensor,
    present: torch.Tensor,
) -> torch.Tensor:
    """``(B,)`` ``Q(s, a_i, a_-i)`` for the agent's actions ``own`` ``(B,)`` and the
    co-players' ``others`` ``(B, J)``; ``present`` ``(B, J)`` bool drops absent co-players."""
    batch = torch.arange(q0.shape[0])
    own = own.long()
    base = q0[batch, own]
    if qj.shape[1] == 0:
        return base
    rows = qj[batch, :, own]  # (B, J, A): the own action's row of every pairwise table
    pair = rows.gather(2, others.long().unsqueeze(2)).squeeze(2)  # (B, J)
    return base + (pair * present.to(pair.dtype)).sum(1)


def opponent_conditional(
    qj: torch.Tensor, alpha: float, coplayer_masks: torch.Tensor | None = None
) -> torch.Tensor:
    """``(B, J, A, A)`` ``rho_j(b | s, a)``: the exact variational optimum
    ``softmax_b(Q_j(s, a, b) / alpha)`` over co-player ``j``'s legal actions
    ``coplayer_masks`` ``(B, J, A)`` bool (all actions when ``None``)."""
    _check_alpha(alpha)
    logits = qj / alpha
    if coplayer_masks is not None:
        logits = logits.masked_fill(~coplayer_masks.bool().unsqueeze(2), float("-inf"))
    return torch.softmax(logits, dim=-1)


def marginal_q(
    q0: torch.Tensor, qj: torch.Tensor, rho: torch.Tensor, present: torch.Tensor
) -> torch.Tensor:
    """``(B, A)`` ``Qbar(s, a) = E_{a_-i ~ rho(.|s, a)} Q(s, a, a_-i)`` (module docstring)."""
    if qj.shape[1] == 0:
        return q0
    expected = (rho * qj).sum(-1)  # (B, J, A): E_{b ~ rho_j(.|a)} Q_j(a, b)
    return q0 + (expected * present.to(expected.dtype).unsqueeze(2)).sum(1)


def soft_policy(qbar: torch.Tensor, own_mask: torch.Tensor, alpha: float) -> torch.Tensor:
    """``(B, A)`` ``pi(a | s) = softmax(Qbar(s, a) / alpha)`` over the legal actions."""
    _check_alpha(alpha)
    return torch.softmax((qbar / alpha).masked_fill(~own_mask.bool(), float("-inf")), dim=-1)


def expected_value(qbar: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
    """``(B,)`` ``V(s) = sum_a pi(a | s) Qbar(s, a)`` (illegal actions have ``pi = 0``)."""
    return (pi * qbar.masked_fill(pi == 0, 0.0)).sum(-1)


def coplayer_marginals(pi: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """``(B, J, A)`` each co-player's predicted action ``sum_a pi(a | s) rho_j(. | s, a)``."""
    return torch.einsum("ba,bjac->bjc", pi, rho)


def rho_kl(
    rho_logits: torch.Tensor,
    qj: torch.Tensor,
    alpha: float,
    coplayer_masks: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(B, J, A)`` the variational objective ``KL(rho_j(.|s, a) || softmax(Q_j(s, a, .) /
    alpha))`` of a parametric ``rho`` given by its logits ``(B, J, A, A)``, per co-player and
    own action (restricted to the legal co-player actions). Its minimiser is
    :func:`opponent_conditional`; the trainer uses that closed form directly."""
    _check_alpha(alpha)
    target = qj / alpha
    illegal = torch.zeros_like(qj, dtype=torch.bool)
    if coplayer_masks is not None:
        illegal = ~coplayer_masks.bool().unsqueeze(2).expand_as(qj)
        rho_logits = rho_logits.masked_fill(illegal, float("-inf"))
        target = target.masked_fill(illegal, float("-inf"))
    # log-probabilities of illegal actions (-inf) set to 0 before the product, so that their
    # terms (probability 0) and gradients are exactly 0 rather than NaN
    log_rho = torch.log_softmax(rho_logits, dim=-1).masked_fill(illegal, 0.0)
    log_target = torch.log_softmax(target, dim=-1).masked_fill(illegal, 0.0)
    rho = torch.softmax(rho_logits, dim=-1)
    return (rho * (log_rho - log_target)).sum(-1)


@dataclass(frozen=True)
class Evaluation:
    """Everything PR2 computes from the factors at a batch of states (tensors)."""

    rho: torch.Tensor  # (B, J, A, A)
    qbar: torch.Tensor  # (B, A)
    pi: torch.Tensor  # (B, A)
    value: torch.Tensor  # (B,) E_pi Qbar


def evaluate(
    q0: torch.Tensor,
    qj: torch.Tensor,
    masks: torch.Tensor,
    present: torch.Tensor,
    alpha: float,
    rho_alpha: float | None = None,
) -> Evaluation:
    """``rho``, ``Qbar``, ``pi`` and ``V = E_pi Qbar`` at states whose players' legal
    actions are ``masks`` ``(B, n, A)`` (slot 0 the agent) and co-players' presence
    ``present`` ``(B, J)``."""
    rho = opponent_conditional(qj, alpha if rho_alpha is None else rho_alpha, masks[:, 1:])
    qbar = marginal_q(q0, qj, rho, present)
    pi = soft_policy(qbar, masks[:, 0], alpha)
    return Evaluation(rho, qbar, pi, expected_value(qbar, pi))


def clipped_value(
    qbars: Sequence[torch.Tensor], own_mask: torch.Tensor, alpha: float
) -> torch.Tensor:
    """``(B,)`` the clipped double-Q state value of several critics' ``Qbar`` ``(B, A)``:
    ``V = E_{a ~ pi} Qmin(s, a)`` with ``Qmin`` their elementwise minimum and ``pi =
    softmax(Qmin / alpha)`` over the legal actions ``own_mask`` (TD3's and SAC's remedy for
    the overestimation a max in the backup builds up)."""
    qmin = torch.stack(list(qbars)).amin(0)
    return expected_value(qmin, soft_policy(qmin, own_mask, alpha))


def td_target(
    rewards: torch.Tensor,
    terminals: torch.Tensor,
    next_value: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """``(B,)`` ``y = r + gamma (1 - terminal) V(s')`` (truncated steps bootstrap)."""
    return rewards + gamma * (1.0 - terminals.float()) * next_value


def q_loss(q_taken: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Huber loss of ``Q(s, a_i, a_-i)`` against its target (no gradient into the target)."""
    return nn.functional.smooth_l1_loss(q_taken, target.detach())


def _check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, int | float) and math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"temperature alpha={alpha!r}: expected a finite float > 0")


# -- legal actions read off the grid ----------------------------------------------------------
@dataclass(frozen=True)
class MaskTable:
    """What :func:`grid_masks` needs of a game's rules: the player count and, per object
    kind (row ``kind + 1``; row 0 no object), which of the actions from stay on are legal."""

    num_players: int
    num_actions: int
    object_actions: np.ndarray  # (kinds + 1, A - NUM_MOVES) bool

    @classmethod
    def of_rules(cls, rules: GridRules) -> MaskTable:
        kinds = len(rules.object_kinds)
        table = np.zeros((kinds + 1, rules.num_actions - NUM_MOVES), dtype=bool)
        table[:, STAY - NUM_MOVES] = True
        for kind in range(kinds):
            for action in range(STAY + 1, rules.num_actions):
                table[kind + 1, action - NUM_MOVES] = rules.object_action_legal(action, kind)
        table.setflags(write=False)
        return cls(rules.num_players, rules.num_actions, table)


def grid_masks(table: MaskTable, grids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every player's legal actions and presence, read off observation grids.

    ``grids`` ``(B, C, H, W)`` (channel ``k`` the ``k``-th player from the observer, then
    walls, then one channel per object kind) -> ``masks`` ``(B, n, A)`` bool in the grid's
    player order (as ``rules.action_masks``: a move is legal when the cell it leads to is on
    the board and not a wall; an object action when an object of a kind it acts on is on the
    player's cell; stay always; a player who has left may only stay) and ``present``
    ``(B, n)`` bool (the player's channel is not empty)."""
    grids = np.asarray(grids)
    n = table.num_players
    batch, _, height, width = grids.shape
    players = grids[:, :n].reshape(batch, n, -1)
    present = players.any(-1)
    cell = players.argmax(-1)  # (B, n) flat cell (0 when absent; masked below)
    row, col = np.divmod(cell, width)
    walls = np.pad(grids[:, n].astype(bool), ((0, 0), (1, 1), (1, 1)), constant_values=True)
    b = np.arange(batch)[:, None]
    masks = np.zeros((batch, n, table.num_actions), dtype=bool)
    for move, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
        masks[:, :, move] = ~walls[b, row + 1 + dr, col + 1 + dc]
    objects = grids[:, n + 1 :].reshape(batch, -1, height * width)  # (B, kinds, cells)
    here = np.take_along_axis(
        objects, np.broadcast_to(cell[:, None, :], (batch, objects.shape[1], n)), 2
    )
    kind = np.where(here.any(1), here.argmax(1) + 1, 0)  # (B, n): 0 no object, else kind + 1
    masks[:, :, NUM_MOVES:] = table.object_actions[kind]
    masks[~present] = False
    masks[:, :, STAY] = True
    return masks, present


__all__ = [
    "NET_FORMAT",
    "Evaluation",
    "MaskTable",
    "PR2NetConfig",
    "PR2QNetwork",
    "clipped_value",
    "coplayer_marginals",
    "evaluate",
    "expected_value",
    "grid_masks",
    "joint_q",
    "marginal_q",
    "opponent_conditional",
    "q_loss",
    "rho_kl",
    "soft_policy",
    "td_target",
]
