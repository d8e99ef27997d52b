"""The networks of LOLA on the grid games: the learner's policy and its co-player models.

Both are the same small masked CNN (:class:`GridPolicy`): ``conv_stack`` (3x3, ReLU) ->
flatten -> one hidden layer (ReLU) -> one logit per action, illegal actions at ``-inf``.

**Whose view a co-player model reads.** The model of the co-player ``k`` places after the
learner in observation order (``k = 1 .. n-1``; the learner's channel ``k``) reads that
co-player's *own* view of the grid, rebuilt from the learner's view by rotating the player
channels (:func:`coplayer_view`: the games are fully observable and every seat's grid is
the same board with the players listed from that seat on), and is masked with that
co-player's legal actions. The rule-based co-players act on exactly this input, so the
model class contains them, and the learner needs nothing but its own observation to
predict them (:func:`coplayer_masks` rebuilds their masks from the grid).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from agents.hop.networks import conv_stack
from hop_envs.core.rules import GridRules


class GridPolicy(nn.Module):
    """``pi(a | grid)``: log-probabilities over the actions, illegal ones at ``-inf``."""

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        num_actions: int,
        conv_channels: Sequence[int] = (16, 16),
        hidden: int = 64,
    ) -> None:
        super().__init__()
        self.convs, out = conv_stack(in_channels, conv_channels)
        self.hidden = nn.Linear(out * height * width, hidden)
        self.logits = nn.Linear(hidden, num_actions)

    def forward(self, grids: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """``grids`` ``(N, C, H, W)`` float, ``masks`` ``(N, A)`` bool -> ``(N, A)``
        log-probabilities (``-inf`` where the mask is False)."""
        x = torch.relu(self.hidden(self.convs(grids).flatten(1)))
        return torch.log_softmax(self.logits(x).masked_fill(~masks, float("-inf")), dim=-1)


def coplayer_view(grids: np.ndarray, num_players: int, k: int) -> np.ndarray:
    """The grid as the player in channel ``k`` of ``grids`` (``(..., C, H, W)``, channel 0
    the observer) sees it: its own channel first, then the others in seat order after it,
    then the board channels. ``k = 0`` gives ``grids`` back."""
    channels = grids.shape[-3]
    order = np.concatenate(
        [(k + np.arange(num_players)) % num_players, np.arange(num_players, channels)]
    )
    return grids[..., order, :, :]


def coplayer_masks(rules: GridRules, grid: np.ndarray) -> np.ndarray:
    """``(n, A)`` bool: the legal actions of every player in ``grid`` (one observer's view,
    channel 0 the observer), in the grid's channel order; stay only for players who left."""
    state = rules.state_from_observation(np.asarray(grid), observer=0, t=0)
    return rules.action_masks(state).astype(bool)


def sample(log_probs: torch.Tensor, rng: np.random.Generator) -> np.ndarray:
    """``(N,)`` int64 actions drawn from ``log_probs`` ``(N, A)`` with ``rng`` (Gumbel-max:
    one uniform per entry and action, so a seed reproduces the draw)."""
    scores = log_probs.detach().double().numpy()
    gumbel = -np.log(-np.log(rng.random(scores.shape).clip(1e-300, 1.0)))
    return np.argmax(np.where(np.isfinite(scores), scores + gumbel, -np.inf), axis=1).astype(
        np.int64
    )


__all__ = ["GridPolicy", "coplayer_masks", "coplayer_view", "sample"]
