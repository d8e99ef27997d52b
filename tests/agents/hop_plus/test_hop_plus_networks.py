"""HOP+ networks: config validation, every goal_dim end to end, save/load round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hop_plus_episodes import snowdrift

from agents.hop_plus.buffer import SubgoalBuffer
from agents.hop_plus.networks import (
    GOAL_DIMS_TESTED,
    STATE_VAE,
    SUBGOAL_MODEL,
    GridSpec,
    SubgoalConfig,
    build_network,
    load_network,
    save_network,
)
from agents.hop_plus.training import subgoal_loss

TINY = {"hidden": 8, "conv_channels": (4,)}


def tiny_pair(goal_dim: int = 4, **extra):
    rules, episode = snowdrift()
    spec = GridSpec.of_rules(rules)
    config = SubgoalConfig(goal_dim=goal_dim, **TINY, **extra)
    model = build_network(SUBGOAL_MODEL, spec, config, 0)
    prior = build_network(STATE_VAE, spec, config, 1)
    buffer = SubgoalBuffer(rules)
    buffer.add_episode(episode)
    return rules, model, prior, buffer.sequences(config.horizon, config.selector)


def test_defaults_are_documented_values():
    c = SubgoalConfig()
    assert (c.goal_dim, c.horizon, c.selector, c.prior_input) == (16, 5, "reference", "subgoal")
    assert (c.kl_weight, c.recon_weight, c.policy_weight) == (1.0, 1.0, 1.0)
    assert c.conv_channels == (16, 16) and c.hidden == 64
    assert c.policy_condition == "latent"


def test_a_config_saved_before_policy_condition_loads_as_latent():
    data = SubgoalConfig(goal_dim=2).to_json()
    del data["policy_condition"]
    assert SubgoalConfig.from_json(data) == SubgoalConfig(goal_dim=2)


def test_target_map_is_the_softmax_of_the_decoded_own_position_plane():
    _, model, _, _ = tiny_pair(2, policy_condition="target_map")
    h, w = model.spec.height, model.spec.width
    # A hand-set decoder: the own-position plane's logit is 0 everywhere but cell 5,
    # where it is z[0]; the other planes' logits are large and must not matter.
    last = model.decoder.net[-1]
    with torch.no_grad():
        model.decoder.net[0].weight.zero_()
        model.decoder.net[0].weight[0, 0] = 1.0
        model.decoder.net[0].bias.zero_()
        last.weight.zero_()
        last.bias.zero_()
        last.bias[h * w :] = 50.0
        last.weight[5, 0] = 1.0
        maps = model.target_maps(torch.tensor([[0.0, 3.0], [float(np.log(h * w - 1)), 0.0]]))
    assert maps.shape == (2, 1, h, w)
    flat = maps.flatten(1)
    # z[0] = 0: every cell's logit is 0, a uniform map.
    torch.testing.assert_close(flat[0], torch.full((h * w,), 1.0 / (h * w)))
    # z[0] = log(n - 1): cell 5 weighs n - 1, the other n - 1 cells 1 each: half on cell 5.
    assert float(flat[1, 5]) == pytest.approx(0.5)
    assert float(flat[1].sum()) == pytest.approx(1.0)
    assert float(flat[1, 0]) == pytest.approx(0.5 / (h * w - 1))


def test_the_policy_reads_the_target_map_only_when_asked():
    for condition, reads in (("latent", False), ("target_map", True)):
        _, model, _, data = tiny_pair(2, policy_condition=condition)
        assert model.policy_trunk.convs[0].in_channels == model.spec.in_channels + int(reads)
        grids = torch.from_numpy(data.grids[:, 0].astype(np.float32))
        masks = torch.from_numpy(data.masks[:, 0])
        t, z = torch.zeros(len(data)), torch.ones(len(data), 2)
        with torch.no_grad():
            before = model.policy(grids, t, masks, z)
            model.decoder.net[-1].bias[0] += 5.0  # the map's cell 0 only
            after = model.policy(grids, t, masks, z)
        assert torch.equal(before, after) is not reads


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"goal_dim": 0}, r"SubgoalConfig.goal_dim must be an integer >= 1, got 0"),
        ({"goal_dim": 2.5}, r"SubgoalConfig.goal_dim must be an integer >= 1, got 2.5"),
        ({"hidden": True}, r"SubgoalConfig.hidden must be an integer >= 1, got True"),
        ({"conv_channels": ()}, r"SubgoalConfig.conv_channels must be a non-empty sequence"),
        ({"conv_channels": (8, 0)}, r"SubgoalConfig.conv_channels .* got \(8, 0\)"),
        ({"horizon": 4}, r"SubgoalConfig: horizon must be one of \[1, 3, 5, 10\], got 4"),
        ({"selector": "best"}, r"SubgoalConfig: selector must be one of .*'best'"),
        ({"prior_input": "goal"}, r"SubgoalConfig.prior_input must be one of .*'goal'"),
        (
            {"policy_condition": "goal"},
            r"SubgoalConfig.policy_condition must be one of \['latent', 'target_map'\], "
            r"got 'goal'",
        ),
        ({"kl_weight": -1}, r"SubgoalConfig.kl_weight must be a number >= 0, got -1"),
        ({"recon_weight": float("nan")}, r"SubgoalConfig.recon_weight must be a number >= 0"),
        (
            {"kl_weight": 0, "recon_weight": 0, "policy_weight": 0},
            r"at least one loss term must count",
        ),
    ],
)
def test_config_validation_names_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SubgoalConfig(**kwargs)


def test_grid_spec_validation_and_rules_check():
    with pytest.raises(ValueError, match=r"GridSpec.height must be an integer >= 1, got 0"):
        GridSpec(in_channels=6, height=0, width=4, num_actions=6, max_cycles=20)
    rules, model, _, _ = tiny_pair()
    model.spec.check_rules(rules)
    other = GridSpec(in_channels=6, height=8, width=8, num_actions=6, max_cycles=50)
    with pytest.raises(ValueError, match="does not fit"):
        other.check_rules(rules)


@pytest.mark.parametrize("goal_dim", GOAL_DIMS_TESTED)
def test_every_goal_dim_runs_forward_and_backward(goal_dim):
    _, model, prior, data = tiny_pair(goal_dim)
    parts = subgoal_loss(model, prior, data, torch.Generator().manual_seed(0))
    assert torch.isfinite(parts.total)
    parts.total.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads)
    grids = torch.from_numpy(data.grids.astype(np.float32))
    actions = torch.from_numpy(data.actions)
    mu, logvar, state = model.posterior(grids, model.previous_actions(actions))
    assert mu.shape == logvar.shape == (len(data), data.grids.shape[1], goal_dim)
    assert model.decode(mu).shape == data.grids.shape
    assert prior.encode(grids)[0].shape == mu.shape and state.shape == (1, len(data), 8)


def test_policy_masks_illegal_actions_and_history_ignores_the_current_action():
    _, model, _, data = tiny_pair()
    grids = torch.from_numpy(data.grids[:, 0].astype(np.float32))
    masks = torch.from_numpy(data.masks[:, 0])
    z = torch.zeros(len(data), 4)
    logits = model.policy(grids, torch.zeros(len(data)), masks, z)
    assert torch.isinf(logits[~masks]).all() and torch.isfinite(logits[masks]).all()
    # z_t must not see a_t: changing the last action leaves every posterior unchanged.
    seq = torch.from_numpy(data.grids.astype(np.float32))
    actions = torch.from_numpy(data.actions)
    changed = actions.clone()
    changed[:, -1] = (changed[:, -1] + 1) % model.spec.num_actions
    with torch.no_grad():
        a = model.posterior(seq, model.previous_actions(actions))[0]
        b = model.posterior(seq, model.previous_actions(changed))[0]
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_posterior_step_matches_the_whole_sequence():
    _, model, _, data = tiny_pair()
    seq = torch.from_numpy(data.grids.astype(np.float32))
    prev = model.previous_actions(torch.from_numpy(data.actions))
    with torch.no_grad():
        whole = model.posterior(seq, prev)[0]
        state = None
        for t in range(seq.shape[1]):
            mu, _, state = model.posterior_step(seq[:, t], prev[:, t], state)
            torch.testing.assert_close(mu, whole[:, t])


@pytest.mark.parametrize("condition", ["latent", "target_map"])
def test_save_load_round_trip_gives_identical_outputs(tmp_path, condition):
    _, model, prior, data = tiny_pair(
        2, prior_input="state", kl_weight=0.5, policy_condition=condition
    )
    save_network(model, tmp_path / "subgoal")
    prior.save(tmp_path / "prior")
    meta = json.loads((tmp_path / "subgoal" / "config.json").read_text())
    assert meta["kind"] == SUBGOAL_MODEL and meta["config"]["goal_dim"] == 2
    assert meta["config"]["policy_condition"] == condition
    loaded = load_network(tmp_path / "subgoal", expected_kind=SUBGOAL_MODEL)
    loaded_prior = load_network(tmp_path / "prior", expected_kind=STATE_VAE)
    assert loaded.config == model.config and loaded.spec == model.spec
    model.eval()
    prior.eval()
    seq = torch.from_numpy(data.grids.astype(np.float32))
    prev = model.previous_actions(torch.from_numpy(data.actions))
    flat = seq[:, 0]
    masks = torch.from_numpy(data.masks[:, 0])
    with torch.no_grad():
        for a, b in [(model, loaded)]:
            mu_a, lv_a, h_a = a.posterior(seq, prev)
            mu_b, lv_b, h_b = b.posterior(seq, prev)
            for x, y in [(mu_a, mu_b), (lv_a, lv_b), (h_a, h_b)]:
                torch.testing.assert_close(x, y, rtol=0, atol=0)
            torch.testing.assert_close(a.decode(mu_a), b.decode(mu_b), rtol=0, atol=0)
            t = torch.full((len(data),), 0.1)
            torch.testing.assert_close(
                a.policy(flat, t, masks, mu_a[:, 0]),
                b.policy(flat, t, masks, mu_b[:, 0]),
                rtol=0,
                atol=0,
            )
        for x, y in zip(prior.encode(flat), loaded_prior.encode(flat), strict=True):
            torch.testing.assert_close(x, y, rtol=0, atol=0)
        z = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
        torch.testing.assert_close(prior.decode(z), loaded_prior.decode(z), rtol=0, atol=0)
        ga, gb = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
        la = subgoal_loss(model, prior, data, ga).total
        lb = subgoal_loss(loaded, loaded_prior, data, gb).total
    assert float(la) == float(lb)


def test_load_refuses_the_wrong_kind_and_missing_files(tmp_path):
    _, model, _, _ = tiny_pair()
    model.save(tmp_path / "m")
    with pytest.raises(ValueError, match="holds a 'subgoal_model' network, expected 'state_vae'"):
        load_network(tmp_path / "m", expected_kind=STATE_VAE)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_network(tmp_path / "nothing")
