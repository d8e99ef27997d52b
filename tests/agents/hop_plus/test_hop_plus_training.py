"""HOP+ training: the loss learns, one buffer serves both models from every seat, the hit
ratio on hand-built cases, prior pre-training on the training population only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hop_plus_episodes import snowdrift

from agents.hop.action_model_training import collect_rule_based_episodes
from agents.hop.networks import GOAL_OM, NetworkConfig
from agents.hop.networks import build_network as build_hop_network
from agents.hop.om_training import OMTrainingConfig, OpponentModelTrainer
from agents.hop_plus.buffer import SubgoalBuffer, subgoal_sequences
from agents.hop_plus.networks import (
    STATE_VAE,
    SUBGOAL_MODEL,
    GridSpec,
    SubgoalConfig,
    build_network,
    decoded_cells,
)
from agents.hop_plus.training import (
    PriorPretrainConfig,
    SubgoalTrainer,
    SubgoalTrainingConfig,
    position_cells,
    pretrain_prior,
    pretrain_prior_on_env,
    subgoal_hits,
    subgoal_loss,
    training_population,
)
from hop_envs.coplayers import HELD_OUT, coplayer_names

STAG_HUNT = "hop/MarkovStagHunt-v0"
TINY = {"hidden": 16, "conv_channels": (4,)}


def snowdrift_setup(**config):
    rules, episode = snowdrift()
    buffer = SubgoalBuffer(rules)
    buffer.add_episode(episode)
    spec = GridSpec.of_rules(rules)
    cfg = SubgoalConfig(goal_dim=4, **TINY, **config)
    model = build_network(SUBGOAL_MODEL, spec, cfg, 0)
    prior = build_network(STATE_VAE, spec, cfg, 1)
    return rules, episode, buffer, model, prior


def test_loss_decreases_over_a_few_steps_on_a_tiny_fixed_batch():
    _, _, buffer, model, prior = snowdrift_setup()
    data = buffer.sequences(5, "reference")
    with torch.no_grad():
        before = subgoal_loss(model, prior, data, sample=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(40):
        parts = subgoal_loss(model, prior, data, generator)
        optimizer.zero_grad()
        parts.total.backward()
        optimizer.step()
    with torch.no_grad():
        after = subgoal_loss(model, prior, data, sample=False)
    assert float(after.total) < 0.5 * float(before.total)
    assert after.recon < 0.5 * before.recon and after.policy_nll < before.policy_nll


def test_buffer_yields_sequences_from_every_coplayer_seat():
    _, _, buffer, _, _ = snowdrift_setup()
    data = buffer.sequences(5, "reference")
    assert sorted(data.seats.tolist()) == [1, 2] and data.lengths.tolist() == [6, 6]
    assert data.valid.all() and data.num_steps == len(buffer) == 12
    # A real 4-player env: every seat but the recorder's, from every episode.
    offline = collect_rule_based_episodes(STAG_HUNT, None, 2, seed=0)
    seq = subgoal_sequences(offline, 3, "reference")
    assert sorted(zip(seq.episodes.tolist(), seq.seats.tolist(), strict=True)) == [
        (e, s) for e in (0, 1) for s in (1, 2, 3)
    ]
    assert seq.num_steps == len(offline)
    for i, traj in enumerate(offline):
        k = len(traj)
        np.testing.assert_array_equal(seq.grids[i, :k], traj.grids)
        np.testing.assert_array_equal(seq.actions[i, :k], traj.actions)
        assert not seq.valid[i, k:].any()


def test_one_buffer_trains_the_opponent_model_then_the_subgoal_model():
    rules, _, buffer, model, prior = snowdrift_setup()
    om = build_hop_network(NetworkConfig.for_rules(rules, GOAL_OM, conv_channels=(4,), hidden=8), 0)
    om_stats = OpponentModelTrainer(om, rules, OMTrainingConfig(epochs=1)).train_round(
        buffer, clear=False
    )
    trainer = SubgoalTrainer(model, prior, rules, SubgoalTrainingConfig(epochs=2))
    stats = trainer.train_round(buffer)
    assert om_stats.samples == stats.steps == 12 and stats.sequences == 2
    assert len(buffer) == 0  # cleared after the round
    metrics = stats.metrics()
    for key in ("recon", "kl", "policy_nll", "hit_ratio"):
        assert np.isfinite(metrics[key])
    assert stats.counted == 10  # every step but each trajectory's last
    empty = trainer.train_round(buffer)
    assert not empty.trained and np.isnan(empty.hit_ratio)


def test_buffer_clears_every_n_episodes():
    rules, episode = snowdrift()
    buffer = SubgoalBuffer(rules, clear_every=2)
    for _ in range(2):
        buffer.add_episode(episode)
    assert len(buffer) == 24
    buffer.add_episode(episode)  # the third episode starts a new window
    assert len(buffer) == 12 and buffer.episodes_added == 3
    with pytest.raises(ValueError, match="clear_every must be None or an integer >= 1, got 0"):
        SubgoalBuffer(rules, clear_every=0)


def test_hit_ratio_on_hand_built_paths():
    # One co-player on a 1x5 strip, walking 0 -> 1 -> 2 -> 3; plane 0 is its own position.
    grids = np.zeros((1, 4, 2, 1, 5), dtype=np.uint8)
    for t in range(4):
        grids[0, t, 0, 0, t] = 1
    assert position_cells(grids).tolist() == [[0, 1, 2, 3]]
    lengths = np.array([4])
    reached = np.array([[1, 2, 3, 3]])  # the next state's cell
    hits, counted = subgoal_hits(reached, grids, lengths, 1)
    assert counted.tolist() == [[True, True, True, False]] and hits[counted].all()
    hits, _ = subgoal_hits(np.array([[3, 3, 3, 3]]), grids, lengths, 1)
    assert hits.tolist() == [[False, False, True, False]]  # H=1 sees only t+1
    hits, _ = subgoal_hits(np.array([[3, 3, 3, 3]]), grids, lengths, 3)
    assert hits.tolist() == [[True, True, True, False]]
    hits, _ = subgoal_hits(np.array([[4, 0, 0, 0]]), grids, lengths, 10)  # never there / past
    assert not hits.any()
    assert decoded_cells(grids.astype(np.float32)).tolist() == [[0, 1, 2, 3]]


def test_trainer_hit_ratio_is_one_when_decoding_the_reached_state_and_zero_when_impossible():
    rules, _, buffer, model, prior = snowdrift_setup()
    trainer = SubgoalTrainer(model, prior, rules)
    data = trainer.sequences(buffer)
    forced = torch.from_numpy(data.subgoals.astype(np.float32) * 20 - 10)
    model.decode = lambda z: forced  # the decoded subgoal is the hindsight state reached
    stats = trainer.evaluate(data)
    assert stats.counted == 10 and stats.hit_ratio == 1.0
    nowhere = torch.full(forced.shape, -10.0)
    nowhere[..., 0, 1, 2] = 10.0  # cell 6: neither co-player ever stands there
    model.decode = lambda z: nowhere
    assert trainer.evaluate(data).hit_ratio == 0.0


def test_value_based_selector_needs_a_value_and_trains_with_one():
    rules, _, buffer, model, prior = snowdrift_setup(selector="optimistic", horizon=3)
    with pytest.raises(ValueError, match="'optimistic' selector needs a value estimate"):
        SubgoalTrainer(model, prior, rules)

    def value(grids):  # prefer states where the co-player stands far right
        return (grids[:, 0] * np.arange(grids.shape[-1])).sum((1, 2))

    trainer = SubgoalTrainer(model, prior, rules, SubgoalTrainingConfig(epochs=1), value=value)
    data = trainer.sequences(buffer)
    seat1 = data.seats.tolist().index(1)
    # Seat 1 at cells 2, 3, 3, 7, 7, 7 (column 2, 3, 3, 3, 3, 3): the first column-3 state.
    assert data.subgoal_index[seat1].tolist() == [1, 2, 3, 4, 5, 5]
    assert trainer.train_round(buffer).trained


def test_prior_pretraining_uses_the_training_population_only():
    held_out = coplayer_names(STAG_HUNT, population=HELD_OUT)[0]
    with pytest.raises(ValueError, match=rf"{held_out!r} is a 'held-out' co-player"):
        training_population(STAG_HUNT, (held_out,))
    with pytest.raises(ValueError, match="does not play"):
        training_population(STAG_HUNT, ("cleaner",))
    assert training_population(STAG_HUNT) == ("nearest-hare", "nearest-stag", "random")
    spec = GridSpec.of_rules(collect_rule_based_episodes(STAG_HUNT, None, 1, 0).rules)
    cfg = SubgoalConfig(goal_dim=2, **TINY)
    vae = build_network(STATE_VAE, spec, cfg, 0)
    stats, offline = pretrain_prior_on_env(
        vae, STAG_HUNT, None, PriorPretrainConfig(episodes=2, epochs=4, batch_size=64)
    )
    assert stats.samples == len(offline) > 0
    assert stats.epoch_losses[-1] < stats.epoch_losses[0]
    with pytest.raises(ValueError, match=r"states must be \(M, \*\(7, 8, 8\)\)"):
        pretrain_prior(vae, np.zeros((3, 6, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"PriorPretrainConfig.episodes must be an integer >= 1"):
        PriorPretrainConfig(episodes=0)


def test_trainer_refuses_a_prior_of_another_size():
    rules, _, _, model, _ = snowdrift_setup()
    other = build_network(STATE_VAE, model.spec, SubgoalConfig(goal_dim=8, **TINY), 0)
    with pytest.raises(ValueError, match="does not match the subgoal model"):
        SubgoalTrainer(model, other, rules)
