"""The compiled inference pass of the HOP networks: a hand-worked focal net, and agreement
with the networks' own forward pass."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from agents.hop.compiled_networks import COMPILED_MAX_ROWS, CompiledFocalNet, TrunkWeights
from agents.hop.features import FeatureBuilder
from agents.hop.networks import FOCAL, GOAL_OM, NetworkConfig, build_network, load_network
from hop_envs.core import SnowdriftConfig, SnowdriftRules, StagHuntConfig, StagHuntRules
from hop_envs.core.positions import random_positions

STAG_RULES = StagHuntRules(StagHuntConfig())
DRIFT_RULES = SnowdriftRules(SnowdriftConfig())


def hand_worked_focal_net():
    """A 2x2 grid, two input channels, two conv layers of one channel, two hidden units,
    two actions:

    * conv 1: ``a[r, c] = x0[r, c] - x1[r, c + 1] + 0.5`` (x1's kernel reads the cell to
      the right), ReLU;
    * conv 2: ``b[r, c] = 2 * a[r, c] - 1``, ReLU;
    * hidden: ``u = b[0, 0] + b[1, 1] + 3 t``, ``v = b[0, 1] - 1`` (ReLU);
    * policy logits ``(u, v)``; value ``u - 2 v + 0.25``."""
    config = NetworkConfig(
        kind=FOCAL, in_channels=2, height=2, width=2, num_actions=2,
        conv_channels=(1, 1), hidden=2,
    )  # fmt: skip
    net = build_network(config, seed=0)
    first, second = net.trunk.convs[0], net.trunk.convs[2]
    hidden = net.trunk.hidden
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        first.weight[0, 0, 1, 1] = 1.0
        first.weight[0, 1, 1, 2] = -1.0  # output (r, c) reads input (r, c + 1)
        first.bias.fill_(0.5)
        second.weight[0, 0, 1, 1] = 2.0
        second.bias.fill_(-1.0)
        hidden.weight[0, 0] = 1.0  # b[0, 0]
        hidden.weight[0, 3] = 1.0  # b[1, 1]
        hidden.weight[0, 4] = 3.0  # time
        hidden.weight[1, 1] = 1.0  # b[0, 1]
        hidden.bias[1] = -1.0
        net.policy.weight[0, 0] = 1.0
        net.policy.weight[1, 1] = 1.0
        net.value.weight[0, 0] = 1.0
        net.value.weight[0, 1] = -2.0
        net.value.bias.fill_(0.25)
    return net


def test_a_hand_worked_focal_net():
    # x0 = [[1, 0], [0, 1]], x1 = [[0, 1], [0, 0]], t = 0.5:
    # a = relu([[1 - 1 + .5, .5], [.5, 1 + .5]]) = [[.5, .5], [.5, 1.5]]
    # b = relu(2a - 1) = [[0, 0], [0, 2]]; u = 0 + 2 + 1.5 = 3.5; v = relu(0 - 1) = 0
    # priors = softmax(3.5, 0); value = 3.5 + 0.25 = 3.75.
    grids = np.zeros((2, 2, 2, 2), dtype=np.float32)
    grids[:, 0, 0, 0] = grids[:, 0, 1, 1] = 1.0
    grids[:, 1, 0, 1] = 1.0
    masks = np.array([[True, True], [False, True]])
    priors, values = CompiledFocalNet(hand_worked_focal_net()).evaluate(
        grids, np.array([0.5, 0.5], np.float32), masks
    )
    p = 1.0 / (1.0 + math.exp(-3.5))
    np.testing.assert_allclose(priors[0], [p, 1.0 - p], rtol=1e-6)
    assert priors[1].tolist() == [0.0, 1.0]  # the masked action exactly 0
    np.testing.assert_allclose(values, [3.75, 3.75], rtol=1e-6)


def focal_inputs(rules, count, seed):
    features = FeatureBuilder(rules).build(
        random_positions(rules, count, seed), np.zeros(count, dtype=np.int64)
    )
    return features.grids, features.times, features.masks


@pytest.mark.parametrize(
    ("rules", "env_id"),
    [(STAG_RULES, "MarkovStagHunt-v0"), (DRIFT_RULES, "MarkovSnowdrift-v0")],
)
@pytest.mark.parametrize("rows", [COMPILED_MAX_ROWS, COMPILED_MAX_ROWS + 1])
def test_the_shipped_focal_nets_agree_with_their_forward_pass(rules, env_id, rows):
    """Up to COMPILED_MAX_ROWS views the compiled pass (float32 sums in another order), above
    it torch's own forward pass (bit for bit)."""
    net = load_network(f"agents/hop/checkpoints/{env_id}/focal", FOCAL)
    grids, times, masks = focal_inputs(rules, rows, seed=4)
    priors, values = CompiledFocalNet(net).evaluate(grids, times, masks)
    with torch.inference_mode():
        logits, expected = net(torch.from_numpy(grids), torch.from_numpy(times),
                               torch.from_numpy(masks))  # fmt: skip
    reference = torch.softmax(logits, 1).numpy().astype(np.float64)
    reference /= reference.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(priors, reference, atol=2e-6)
    np.testing.assert_allclose(values, expected.numpy(), rtol=1e-5, atol=1e-5)
    assert ((priors == 0) == ~masks).all()
    compiled = rows <= COMPILED_MAX_ROWS
    assert np.array_equal(priors, reference) != compiled


@pytest.mark.parametrize("conv_channels", [(6,), (5, 7), (3, 4, 5)])
def test_any_depth_agrees_and_in_place_training_is_followed(conv_channels):
    config = NetworkConfig.for_rules(STAG_RULES, FOCAL, conv_channels=conv_channels, hidden=20)
    net = build_network(config, seed=3)
    compiled = CompiledFocalNet(net)
    grids, times, masks = focal_inputs(STAG_RULES, 10, seed=6)

    def check():
        priors, values = compiled.evaluate(grids, times, masks)
        with torch.inference_mode():
            logits, expected = net(torch.from_numpy(grids), torch.from_numpy(times),
                                   torch.from_numpy(masks))  # fmt: skip
        np.testing.assert_allclose(priors, torch.softmax(logits, 1).numpy(), atol=2e-6)
        np.testing.assert_allclose(values, expected.numpy(), atol=2e-6)
        return values

    before = check()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    net.value.bias.sum().backward()
    optimizer.step()  # changes the value bias in place: the compiled net must see it
    np.testing.assert_allclose(check(), before - 0.5, atol=1e-5)
    net.value.bias = nn.Parameter(net.value.bias.detach() + 2.0)  # a new parameter object
    np.testing.assert_allclose(check(), before + 1.5, atol=1e-5)


def test_what_it_cannot_compile_is_refused():
    focal = build_network(NetworkConfig.for_rules(STAG_RULES, FOCAL), seed=0)
    with pytest.raises(ValueError, match=r"max_rows must be an integer >= 0, got -1"):
        CompiledFocalNet(focal, max_rows=-1)
    with pytest.raises(TypeError, match=r"must be a FocalNet, got GoalOpponentModel"):
        CompiledFocalNet(build_network(NetworkConfig.for_rules(STAG_RULES, GOAL_OM), seed=0))
    net = build_network(NetworkConfig.for_rules(STAG_RULES, FOCAL, conv_channels=(4,)), seed=0)
    net.trunk.convs[0] = nn.Conv2d(STAG_RULES.num_channels, 4, 5, padding=2)
    with pytest.raises(ValueError, match=r"3x3 same-padding convolutions with biases"):
        TrunkWeights(net)
