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

That is about a third of the multiply-adds of a full forward pass, and the whole of it (the
bases, the changes, the policy head and the softmax) is one compiled loop, without the
framework's fixed cost per layer. The answers equal the full
forward pass's up to float32 rounding (the sums are taken in another order), which
``tests/agents/hop/test_incremental_fields.py`` checks against the network itself and a
hand-worked example.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from torch import nn

from agents.hop.networks import ActionModel, GoalOpponentModel
from hop_envs.core import BatchedState

__all__ = ["IncrementalFieldModel", "spread_over_cells"]


def spread_over_cells(
    batch: BatchedState, rows: np.ndarray, seats: np.ndarray, cells: np.ndarray
) -> tuple[BatchedState, np.ndarray]:
    """Entry ``rows[i]`` repeated once per cell of ``cells``, co-player ``seats[i]`` moved
    onto that cell (the others where they are), and the seat of every new row: the rows of
    field ``i`` are ``i * len(cells) + arange(len(cells))``."""
    count = rows.size * cells.size
    spread = batch.take(np.repeat(rows, cells.size))
    seat_rows = np.repeat(seats, cells.size)
    spread.player_pos[np.arange(count), seat_rows] = np.tile(cells, rows.size)
    return spread, seat_rows


class IncrementalFieldModel:
    """Action distributions of an opponent model (a :class:`GoalOpponentModel` or
    :class:`ActionModel`: a trunk of 3x3 same-padding convolutions with ReLUs, a hidden
    layer, a masked policy head) for the rows of fields, from each field's base input.

    The weights are read from the model's parameters, again whenever one of them was
    changed in place (the agent trains its opponent model between episodes)."""

    def __init__(self, model: GoalOpponentModel | ActionModel) -> None:
        if not isinstance(model, GoalOpponentModel | ActionModel):
            raise TypeError(
                "IncrementalFieldModel: model must be a GoalOpponentModel or ActionModel, "
                f"got {type(model).__name__}"
            )
        self.model = model
        self._convs = _conv_layers(model.trunk.convs)
        self._params = tuple(model.parameters())
        self._versions: tuple[int, ...] | None = None
        self._cached: _Weights | None = None

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
        w = self._weights()
        base = np.ascontiguousarray(base, dtype=np.float32)
        fields, _, height, width = base.shape
        pre = tuple(np.empty((fields, height, width, c), np.float32) for c in w.channels)
        post = tuple(np.empty_like(a) for a in pre)
        out = np.empty((cells.size, w.policy_w.shape[0]), dtype=np.float64)
        _field_probs(
            base, np.asarray(times, dtype=np.float32), np.asarray(cells, dtype=np.int64),
            np.asarray(field_of_row, dtype=np.int64), np.asarray(masks, dtype=np.bool_),
            w.conv_w, w.conv_b, w.hidden_t, w.hidden_time, w.hidden_b, w.policy_w, w.policy_b,
            pre, post, out,
        )  # fmt: skip
        return out

    def _weights(self) -> _Weights:
        """The compiled loop's weight layouts, rebuilt when a parameter changed."""
        versions = tuple(p._version for p in self._params)
        if self._cached is None or versions != self._versions:
            self._cached = _Weights(self.model, self._convs)
            self._versions = versions
        return self._cached


class _Weights:
    """The opponent model's weights laid out for :func:`_field_probs`: float32, C-ordered,
    the output channel innermost in the convolutions (``conv_w[k][ci, kr, kc, co]``) and the
    hidden layer (``hidden_t[(c * H + r) * W + col, h]``; its time column apart)."""

    def __init__(self, model: GoalOpponentModel | ActionModel, convs: list[nn.Conv2d]) -> None:
        def array(t: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().to(torch.float32).numpy())

        self.conv_w = tuple(
            np.ascontiguousarray(array(c.weight).transpose(1, 2, 3, 0)) for c in convs
        )
        self.conv_b = tuple(array(c.bias) for c in convs)
        self.channels = tuple(c.out_channels for c in convs)
        hidden = array(model.trunk.hidden.weight)  # (hidden, C * H * W + 1), time last
        self.hidden_t = np.ascontiguousarray(hidden[:, :-1].T)
        self.hidden_time = np.ascontiguousarray(hidden[:, -1])
        self.hidden_b = array(model.trunk.hidden.bias)
        self.policy_w, self.policy_b = array(model.policy.weight), array(model.policy.bias)


def _conv_layers(convs: nn.Sequential) -> list[nn.Conv2d]:
    """The convolutions of a conv stack, checked to be 3x3, stride 1, same padding, each
    followed by a ReLU (what :func:`agents.hop.networks.conv_stack` builds)."""
    modules = list(convs)
    layers = modules[0::2]
    if (
        not layers
        or len(modules) != 2 * len(layers)
        or not all(isinstance(m, nn.ReLU) for m in modules[1::2])
        or not all(
            isinstance(c, nn.Conv2d)
            and c.kernel_size == (3, 3)
            and c.stride == (1, 1)
            and c.padding == (1, 1)
            and c.dilation == (1, 1)
            and c.groups == 1
            and c.bias is not None
            for c in layers
        )
    ):
        raise ValueError(
            "IncrementalFieldModel: the trunk must be 3x3 same-padding convolutions with "
            f"biases, each followed by a ReLU; got {convs}"
        )
    return layers


_JIT = {"cache": True, "fastmath": True, "error_model": "numpy"}


@numba.njit(**_JIT)
def _scatter_conv(value, r, c, kernel, out):
    """Add ``value`` at input cell ``(r, c)`` times ``kernel[kr, kc, :]`` to each output cell
    ``(r - kr + 1, c - kc + 1)`` on the grid of ``out`` (``(H, W, C_out)``)."""
    height, width, channels = out.shape
    for kr in range(3):
        orow = r - kr + 1
        if orow < 0 or orow >= height:
            continue
        for kc in range(3):
            ocol = c - kc + 1
            if ocol < 0 or ocol >= width:
                continue
            target, source = out[orow, ocol], kernel[kr, kc]
            for co in range(channels):
                target[co] += source[co] * value


@numba.njit(**_JIT)
def _base_layers(base, times, conv_w, conv_b, hidden_t, hidden_time, hidden_b, pre, post, hidden):
    """Each field's base through the trunk: every conv layer's output before (``pre[k]``)
    and after (``post[k]``) its ReLU as ``(F, H, W, C)``, and the hidden layer's
    pre-activation ``hidden`` (``(F, hidden)``). Zero inputs are skipped (the views are
    mostly empty)."""
    layers = len(conv_w)
    fields, in_channels, height, width = base.shape
    for f in range(fields):
        for k in range(layers):
            out, bias = pre[k][f], conv_b[k]
            for r in range(height):
                for c in range(width):
                    out[r, c, :] = bias
            if k == 0:
                for ci in range(in_channels):
                    for r in range(height):
                        for c in range(width):
                            v = base[f, ci, r, c]
                            if v != 0.0:
                                _scatter_conv(v, r, c, conv_w[0][ci], out)
            else:
                below = post[k - 1][f]
                for r in range(height):
                    for c in range(width):
                        for ci in range(below.shape[2]):
                            v = below[r, c, ci]
                            if v != 0.0:
                                _scatter_conv(v, r, c, conv_w[k][ci], out)
            post_k = post[k][f]
            for r in range(height):
                for c in range(width):
                    for co in range(out.shape[2]):
                        post_k[r, c, co] = max(out[r, c, co], 0.0)
        last = post[layers - 1][f]
        h = hidden[f]
        for j in range(h.size):
            h[j] = hidden_b[j] + hidden_time[j] * times[f]
        for r in range(height):
            for c in range(width):
                for co in range(last.shape[2]):
                    v = last[r, c, co]
                    if v != 0.0:
                        column = hidden_t[(co * height + r) * width + c]
                        for j in range(h.size):
                            h[j] += column[j] * v


@numba.njit(**_JIT)
def _field_probs(
    base, times, cells, field_of_row, masks, conv_w, conv_b, hidden_t, hidden_time, hidden_b,
    policy_w, policy_b, pre, post, out,
):  # fmt: skip
    """The bases (:func:`_base_layers`), then per row: the change of each conv layer's
    output on the square around the row's cell (radius 1 after the first layer, one more
    per layer), the hidden layer as its base plus the change times its weights, the masked
    policy head and its softmax. See the module docstring."""
    layers = len(conv_w)
    fields, _, height, width = base.shape
    num_hidden = hidden_t.shape[1]
    hidden_base = np.empty((fields, num_hidden), dtype=np.float32)
    _base_layers(
        base, times, conv_w, conv_b, hidden_t, hidden_time, hidden_b, pre, post, hidden_base
    )
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
        top = -np.inf
        for a in range(logits.size):
            if not masks[row, a]:
                continue
            total = policy_b[a]
            for h in range(num_hidden):
                total += policy_w[a, h] * max(hidden[h], 0.0)
            logits[a] = total
            top = max(top, total)
        norm = 0.0
        for a in range(logits.size):
            p = np.exp(logits[a] - top) if masks[row, a] else 0.0
            out[row, a] = p
            norm += p
        for a in range(logits.size):
            out[row, a] /= norm
