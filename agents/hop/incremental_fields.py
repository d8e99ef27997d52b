"""An opponent model's answers for one co-player placed on every cell, computed incrementally.

The own-cell cache (:mod:`agents.hop.coplayer_cache`) asks the opponent model about a
*field*: one state, with the co-player moved onto each free cell in turn and everything else
unchanged. The model's input then differs between the rows of a field only in the
co-player's own channel (channel 0 of its view, one-hot at its cell), so most of every row's
forward pass repeats the others'. :class:`IncrementalFieldModel` computes it once per field
(the *base*: the view with channel 0 empty) and, per cell, only what the co-player changes:

* the first 3x3 convolution adds the kernel's channel-0 weights around the cell, so its
  output differs from the base's on the 3x3 cells around it, and each further 3x3
  convolution widens that square by one cell a side (5x5 after two layers);
* the hidden layer, linear in the flattened conv output, adds the weights of the changed
  square only, times the change.

That is about a third of the multiply-adds of a full forward pass, and all of it (the bases
with :func:`agents.hop.compiled_networks.trunk_forward`, the changes, the policy head and
the softmax) runs compiled, without the framework's fixed cost per layer. The answers equal
the full forward pass's up to float32 rounding (the sums are taken in another order), which
``tests/agents/hop/test_incremental_fields.py`` checks against the network itself and a
hand-worked example.
"""

from __future__ import annotations

import numba
import numpy as np

from agents.hop.compiled_networks import (
    JIT_OPTIONS,
    TrunkWeights,
    masked_softmax,
    policy_logits,
)
from agents.hop.networks import ActionModel, GoalOpponentModel

__all__ = ["IncrementalFieldModel"]


class IncrementalFieldModel:
    """Action distributions of an opponent model (a :class:`GoalOpponentModel` or
    :class:`ActionModel`: a trunk of 3x3 same-padding convolutions with ReLUs, a hidden
    layer, a masked policy head) for the rows of fields, from each field's base input."""

    def __init__(self, model: GoalOpponentModel | ActionModel) -> None:
        if not isinstance(model, GoalOpponentModel | ActionModel):
            raise TypeError(
                "IncrementalFieldModel: model must be a GoalOpponentModel or ActionModel, "
                f"got {type(model).__name__}"
            )
        self.model = model
        self._weights = TrunkWeights(model)

    def probs(
        self,
        base: np.ndarray,
        times: np.ndarray,
        field_of_row: np.ndarray,
        cells: np.ndarray,
        masks: np.ndarray,
    ) -> np.ndarray:
        """``(len(cells), num_actions)`` float64 action distributions (softmax of the masked
        logits, exactly 0 where ``masks`` is False) of row ``k``: field ``field_of_row[k]``'s
        base input ``base[f]`` (``(F, C, H, W)``, the co-player's channel 0 all zero) with a
        one at flat cell ``cells[k]`` of channel 0, at time ``times[f]``."""
        self._weights = w = TrunkWeights.current(self.model, self._weights)
        pre, post, hidden_base = w.forward(base, times)
        policy_w, policy_b = w.heads["policy"]
        out = np.empty((cells.size, policy_w.shape[0]), dtype=np.float64)
        _field_probs(
            np.asarray(cells, dtype=np.int64), np.asarray(field_of_row, dtype=np.int64),
            np.asarray(masks, dtype=np.bool_), w.conv_w, w.hidden_t, policy_w, policy_b,
            pre, post, hidden_base, out,
        )  # fmt: skip
        return out


@numba.njit(**JIT_OPTIONS)
def _field_probs(
    cells, field_of_row, masks, conv_w, hidden_t, policy_w, policy_b, pre, post, hidden_base,
    out,
):  # fmt: skip
    """From the bases' layers (``pre``, ``post``, ``hidden_base``), per row: the change of
    each conv layer's output on the square around the row's cell (radius 1 after the first
    layer, one more per layer), the hidden layer as its base plus the change times its
    weights, the masked policy head and its softmax. See the module docstring."""
    layers = len(conv_w)
    height, width = pre[0].shape[1], pre[0].shape[2]
    num_hidden = hidden_t.shape[1]
    radius = layers
    side = 2 * radius + 1
    max_channels = 0
    for k in range(layers):
        max_channels = max(max_channels, pre[k].shape[3])
    delta = np.zeros((side, side, max_channels), dtype=np.float32)
    previous = np.zeros((side, side, max_channels), dtype=np.float32)
    hidden = np.empty(num_hidden, dtype=np.float32)
    logits = np.empty(policy_w.shape[0], dtype=np.float64)
    for row in range(cells.size):
        f = field_of_row[row]
        i0 = cells[row] // width
        j0 = cells[row] % width
        # Layer 1: the base's pre-activation plus the channel-0 kernel around the cell.
        pre_k, post_k, first = pre[0][f], post[0][f], conv_w[0][0]
        channels = pre_k.shape[2]
        for dr in range(-1, 2):
            for dc in range(-1, 2):
                r, c = i0 + dr, j0 + dc
                inside = 0 <= r < height and 0 <= c < width
                for co in range(channels):
                    change = 0.0
                    if inside:
                        a = pre_k[r, c, co] + first[1 - dr, 1 - dc, co]
                        change = max(a, 0.0) - post_k[r, c, co]
                    delta[dr + radius, dc + radius, co] = change
        # Layer k + 1: its base pre-activation plus the kernel times the change below it.
        for k in range(1, layers):
            pre_k, post_k, weight = pre[k][f], post[k][f], conv_w[k]
            in_channels, channels = weight.shape[0], weight.shape[3]
            previous, delta = delta, previous
            for dr in range(-k - 1, k + 2):
                for dc in range(-k - 1, k + 2):
                    r, c = i0 + dr, j0 + dc
                    inside = 0 <= r < height and 0 <= c < width
                    for co in range(channels):
                        delta[dr + radius, dc + radius, co] = pre_k[r, c, co] if inside else 0.0
            for dr in range(-k, k + 1):
                for dc in range(-k, k + 1):
                    r, c = i0 + dr, j0 + dc
                    if not (0 <= r < height and 0 <= c < width):
                        continue
                    for ci in range(in_channels):
                        d = previous[dr + radius, dc + radius, ci]
                        if d == 0.0:
                            continue
                        # Input (r, c) reaches output (r - kr + 1, c - kc + 1).
                        for kr in range(3):
                            if not 0 <= r - kr + 1 < height:
                                continue
                            for kc in range(3):
                                if not 0 <= c - kc + 1 < width:
                                    continue
                                target = delta[dr - kr + 1 + radius, dc - kc + 1 + radius]
                                source = weight[ci, kr, kc]
                                for co in range(channels):
                                    target[co] += source[co] * d
            for dr in range(-k - 1, k + 2):
                for dc in range(-k - 1, k + 2):
                    r, c = i0 + dr, j0 + dc
                    if not (0 <= r < height and 0 <= c < width):
                        continue
                    for co in range(channels):
                        a = delta[dr + radius, dc + radius, co]
                        delta[dr + radius, dc + radius, co] = max(a, 0.0) - post_k[r, c, co]
        # Hidden layer: the base's pre-activation plus the change times its weights.
        hidden[:] = hidden_base[f]
        channels = pre[layers - 1].shape[3]
        for dr in range(-radius, radius + 1):
            for dc in range(-radius, radius + 1):
                r, c = i0 + dr, j0 + dc
                if not (0 <= r < height and 0 <= c < width):
                    continue
                for co in range(channels):
                    d = delta[dr + radius, dc + radius, co]
                    if d == 0.0:
                        continue
                    column = hidden_t[(co * height + r) * width + c]
                    for h in range(num_hidden):
                        hidden[h] += column[h] * d
        # Masked policy head and softmax.
        policy_logits(hidden, policy_w, policy_b, masks[row], logits)
        masked_softmax(logits, masks[row], out[row])
