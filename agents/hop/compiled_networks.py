"""The HOP networks' forward pass for inference as compiled loops over their sparse inputs.

A network's view is mostly zeros (a few players and objects on an 8x8 grid), and the
planner asks about a few dozen states at a time, where the framework's fixed cost per layer
outweighs the arithmetic. :func:`trunk_forward` runs a :class:`~agents.hop.networks.GridTrunk`
(3x3 same-padding convolutions with ReLUs, then the hidden layer) as scatters of the nonzero
inputs only, in one compiled call; :class:`CompiledFocalNet` adds the focal net's heads,
and :mod:`agents.hop.incremental_fields` builds the opponent model's fields on it. The
results equal the network's own forward pass up to float32 rounding (the sums are taken in
another order); ``tests/agents/hop/test_compiled_networks.py`` checks that.

Weights are read from the network's parameters, again whenever one of them was changed in
place or replaced (:meth:`TrunkWeights.current`: the opponent model is trained between
episodes, the focal net during training).
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from torch import nn

from agents.hop.networks import FocalNet, HopNetwork

__all__ = [
    "COMPILED_MAX_ROWS",
    "JIT_OPTIONS",
    "CompiledFocalNet",
    "TrunkWeights",
    "softmax_probabilities",
    "trunk_forward",
]

#: The numba options of every compiled network loop (cached on disk; float sums may be
#: reordered, so results equal torch's up to float32 rounding).
JIT_OPTIONS = {"cache": True, "fastmath": True, "error_model": "numpy"}


def _array(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to(torch.float32).numpy())


def softmax_probabilities(logits: torch.Tensor) -> np.ndarray:
    """Float64 rows of the softmax of masked ``logits``, renormalised to sum to 1."""
    probs = torch.softmax(logits, dim=1).numpy().astype(np.float64)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs


class TrunkWeights:
    """A network's trunk and heads laid out for the compiled loops: float32, C-ordered, the
    output channel innermost in the convolutions (``conv_w[k][ci, kr, kc, co]``) and in the
    hidden layer (``hidden_t[(c * H + r) * W + col, h]``, its time column apart);
    ``heads[name]`` is ``(weight, bias)`` of each linear head (``policy``, and ``value`` for
    the focal net)."""

    def __init__(self, network: HopNetwork) -> None:
        convs = conv_layers(network.trunk.convs)
        self.conv_w = tuple(
            np.ascontiguousarray(_array(c.weight).transpose(1, 2, 3, 0)) for c in convs
        )
        self.conv_b = tuple(_array(c.bias) for c in convs)
        self.channels = tuple(c.out_channels for c in convs)
        hidden = _array(network.trunk.hidden.weight)  # (hidden, C * H * W + 1), time last
        self.hidden_t = np.ascontiguousarray(hidden[:, :-1].T)
        self.hidden_time = np.ascontiguousarray(hidden[:, -1])
        self.hidden_b = _array(network.trunk.hidden.bias)
        self.heads = {
            name: (_array(head.weight), _array(head.bias))
            for name in ("policy", "value")
            if isinstance(head := getattr(network, name, None), nn.Linear)
        }
        self._network = network
        self._read = _parameter_versions(network)

    @classmethod
    def current(cls, network: HopNetwork, cached: TrunkWeights | None) -> TrunkWeights:
        """``cached`` if ``network``'s modules hold the parameters it read, none changed in
        place since, else the weights read anew."""
        if cached is not None and cached._network is network and _same_parameters(cached._read):
            return cached
        return cls(network)

    def forward(self, inputs: np.ndarray, times: np.ndarray) -> tuple[tuple, tuple, np.ndarray]:
        """:func:`trunk_forward` of ``inputs`` (``(B, C, H, W)``) at ``times``: each conv
        layer's output before and after its ReLU (``(B, H, W, C_k)``) and the hidden layer's
        pre-activation (``(B, hidden)``)."""
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        rows, _, height, width = inputs.shape
        pre = tuple(np.empty((rows, height, width, c), np.float32) for c in self.channels)
        post = tuple(np.empty_like(a) for a in pre)
        hidden = np.empty((rows, self.hidden_b.size), dtype=np.float32)
        trunk_forward(
            inputs, np.asarray(times, dtype=np.float32), self.conv_w, self.conv_b,
            self.hidden_t, self.hidden_time, self.hidden_b, pre, post, hidden,
        )  # fmt: skip
        return pre, post, hidden


def _parameter_versions(network: nn.Module) -> tuple[tuple[dict, str, torch.Tensor, int], ...]:
    """Where each of ``network``'s parameters is held (its module's parameter dict and
    name), the parameter, and its in-place version counter (the parameter is kept alive, so
    a replacement is told apart from it)."""
    return tuple(
        (module._parameters, name, p, p._version)
        for module in network.modules()
        for name, p in module._parameters.items()
        if p is not None
    )


def _same_parameters(read: tuple[tuple[dict, str, torch.Tensor, int], ...]) -> bool:
    """Whether every parameter read is still the one its module holds, unchanged since."""
    return all(held.get(name) is p and p._version == version for held, name, p, version in read)


#: Batches of up to this many views run compiled; larger ones through torch, whose matrix
#: kernels win once a batch pays for its fixed cost per layer (``benchmarks/hop_networks.py``
#: prints both; the planner's focal batches are mostly smaller).
COMPILED_MAX_ROWS = 16


class CompiledFocalNet:
    """The focal net's masked priors and values (:meth:`evaluate`): compiled for small
    batches, torch's forward pass for larger ones (:data:`COMPILED_MAX_ROWS`)."""

    def __init__(self, net: FocalNet, max_rows: int = COMPILED_MAX_ROWS) -> None:
        if not isinstance(net, FocalNet):
            raise TypeError(f"CompiledFocalNet: net must be a FocalNet, got {type(net).__name__}")
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 0:
            raise ValueError(
                f"CompiledFocalNet: max_rows must be an integer >= 0, got {max_rows!r}"
            )
        self.net = net
        self.max_rows = max_rows
        self._weights = TrunkWeights(net)

    def evaluate(
        self, grids: np.ndarray, times: np.ndarray, masks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(priors (B, A) float64, values (B,) float64)``: the softmax of the masked policy
        logits (exactly 0 where ``masks`` is False) and the value of each view."""
        if len(grids) > self.max_rows:
            return self._torch_evaluate(grids, times, masks)
        self._weights = w = TrunkWeights.current(self.net, self._weights)
        _, _, hidden = w.forward(grids, times)
        priors = np.empty((hidden.shape[0], w.heads["policy"][0].shape[0]), dtype=np.float64)
        values = np.empty(hidden.shape[0], dtype=np.float64)
        focal_heads(
            hidden,
            np.asarray(masks, dtype=np.bool_),
            *w.heads["policy"],
            *w.heads["value"],
            priors,
            values,
        )
        return priors, values

    def _torch_evaluate(
        self, grids: np.ndarray, times: np.ndarray, masks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            logits, values = self.net(
                torch.from_numpy(grids), torch.from_numpy(times), torch.from_numpy(masks)
            )
            return softmax_probabilities(logits), values.numpy().astype(np.float64)


def conv_layers(convs: nn.Sequential) -> list[nn.Conv2d]:
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
            "the compiled forward pass needs a trunk of must be 3x3 same-padding convolutions with "
            f"biases, each followed by a ReLU; got {convs}"
        )
    return layers


@numba.njit(**JIT_OPTIONS)
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


@numba.njit(**JIT_OPTIONS)
def trunk_forward(base, times, conv_w, conv_b, hidden_t, hidden_time, hidden_b, pre, post, hidden):
    """Each row of ``base`` (``(B, C, H, W)``) through the trunk: every conv layer's output
    before (``pre[k]``) and after (``post[k]``) its ReLU as ``(B, H, W, C_k)``, and the
    hidden layer's pre-activation ``hidden`` (``(B, hidden)``). Zero inputs are skipped
    (the views are mostly empty)."""
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


@numba.njit(**JIT_OPTIONS)
def masked_softmax(logits, mask, out):
    """``out`` = softmax of ``logits`` (float64) over the entries ``mask`` allows, 0 elsewhere."""
    top = -np.inf
    for a in range(logits.size):
        if mask[a]:
            top = max(top, logits[a])
    norm = 0.0
    for a in range(logits.size):
        p = np.exp(logits[a] - top) if mask[a] else 0.0
        out[a] = p
        norm += p
    for a in range(logits.size):
        out[a] /= norm


@numba.njit(**JIT_OPTIONS)
def policy_logits(hidden, policy_w, policy_b, mask, logits):
    """The policy head on ``relu(hidden)`` into ``logits`` (float64), for allowed actions."""
    for a in range(logits.size):
        if not mask[a]:
            logits[a] = -np.inf
            continue
        total = policy_b[a]
        for h in range(hidden.size):
            total += policy_w[a, h] * max(hidden[h], 0.0)
        logits[a] = total


@numba.njit(**JIT_OPTIONS)
def focal_heads(hidden, masks, policy_w, policy_b, value_w, value_b, priors, values):
    """Per row of ``hidden`` (pre-activations): masked priors and the value."""
    logits = np.empty(policy_w.shape[0], dtype=np.float64)
    for row in range(hidden.shape[0]):
        h = hidden[row]
        policy_logits(h, policy_w, policy_b, masks[row], logits)
        masked_softmax(logits, masks[row], priors[row])
        total = value_b[0]
        for j in range(h.size):
            total += value_w[0, j] * max(h[j], 0.0)
        values[row] = total
