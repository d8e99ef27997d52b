"""HOP networks and their numpy features: hand-built inputs, masks, save/load, determinism."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import safe_open

from agents.hop.features import DRIFT_CELL, PREY_KIND, FeatureBuilder, goal_encoding_of
from agents.hop.interfaces import IDLE
from agents.hop.networks import (
    ACTION_MODEL,
    FOCAL,
    GOAL_OM,
    KINDS,
    ActionModel,
    FocalNet,
    GoalOpponentModel,
    NetworkConfig,
    build_network,
    load_network,
    save_network,
)
from hop_envs.core import (
    HARE,
    STAG,
    GridLayout,
    PreyKindGoals,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)

STAG_RULES = StagHuntRules(StagHuntConfig(num_wall_pieces=3))
DRIFT_RULES = SnowdriftRules(SnowdriftConfig(num_wall_pieces=2))
SMALL = {"conv_channels": (8, 8), "hidden": 32}


def random_states(rules, seed: int, count: int):
    """``count`` states reached by random legal play from random resets, and a seat each."""
    rng = np.random.default_rng(seed)
    states, players = [], []
    for _ in range(count):
        s = rules.reset(rng)
        for _ in range(int(rng.integers(0, 25))):
            if s.over:
                break
            masks = rules.action_masks(s)
            rules.step(s, [int(rng.choice(np.flatnonzero(m))) for m in masks])
        states.append(s)
        players.append(int(rng.integers(rules.num_players)))
    return states, players


def random_goals(rules, states, players, rng):
    """A goal per state: a prey kind / a live drift's cell, or IDLE."""
    goals = []
    for s in states:
        if isinstance(rules, StagHuntRules):
            goals.append(int(rng.choice([STAG, HARE, IDLE])))
        else:
            cells = [*s.object_pos[s.object_alive].tolist(), IDLE]
            goals.append(int(rng.choice(cells)))
    return goals


# -- features: a hand-built state ------------------------------------------------------------
def hand_stag_state():
    """3x3 grid, wall at (1,1); p0 on the hare at (0,1), p1 at (2,2), p2 gone; stag (2,0)."""
    rules = StagHuntRules(
        StagHuntConfig(num_players=3, grid_size=3, num_hares=1, num_wall_pieces=0, max_cycles=10)
    )
    walls = np.zeros((3, 3), dtype=bool)
    walls[1, 1] = True
    state = rules.state_from_positions(
        GridLayout.from_walls(walls),
        player_pos=[1, 8, 2],
        object_pos=[6, 1],  # stag at (2,0), hare at (0,1)
        active=[True, True, False],
        t=4,
    )
    return rules, state


def test_features_of_a_hand_built_state():
    rules, state = hand_stag_state()
    f = FeatureBuilder(rules).build([state, state, state], [1, 0, 2], [STAG, HARE, IDLE])
    grid = f.grids[0]  # player 1's view: itself, seat 2 (gone), seat 0, walls, stags, hares
    assert grid.shape == (6, 3, 3) and grid.dtype == np.float32
    expected = np.zeros((6, 3, 3), dtype=np.float32)
    expected[0, 2, 2] = 1  # player 1
    expected[2, 0, 1] = 1  # seat 0
    expected[3, 1, 1] = 1  # wall
    expected[4, 2, 0] = 1  # stag
    expected[5, 0, 1] = 1  # hare
    np.testing.assert_array_equal(grid, expected)
    # Player 0's view puts seat 0 first, then seat 1, then seat 2 (gone).
    assert f.grids[1][0, 0, 1] == 1 and f.grids[1][1, 2, 2] == 1 and f.grids[1][2].sum() == 0
    np.testing.assert_allclose(f.times, [0.4, 0.4, 0.4])
    # Player 1 at (2,2): up to (1,2) and left to (2,1) are free, down/right leave the grid.
    np.testing.assert_array_equal(f.masks[0], [1, 0, 1, 0, 1, 0, 0])
    # Player 0 at (0,1) on the hare: left, right, stay and hunt-hare; down is the wall.
    np.testing.assert_array_equal(f.masks[1], [0, 0, 1, 1, 1, 0, 1])
    # Player 2 has left: stay only.
    np.testing.assert_array_equal(f.masks[2], [0, 0, 0, 0, 1, 0, 0])
    assert f.goals is not None
    assert f.goals[0, 0].min() == 1 and f.goals[0, 1].max() == 0  # STAG: plane 0 all ones
    assert f.goals[1, 1].min() == 1 and f.goals[1, 0].max() == 0  # HARE: plane 1 all ones
    assert f.goals[2].max() == 0  # IDLE: nothing


def test_snowdrift_goal_planes_mark_the_target_cell_or_idle():
    rules = SnowdriftRules(SnowdriftConfig(num_players=2, grid_size=3, num_drifts=2))
    planes = FeatureBuilder(rules).goal_planes([5, IDLE])
    assert planes.shape == (2, 2, 3, 3)
    expected = np.zeros((3, 3), dtype=np.float32)
    expected[1, 2] = 1  # cell 5 = (1, 2)
    np.testing.assert_array_equal(planes[0, 0], expected)
    assert planes[0, 1].max() == 0
    assert planes[1, 0].max() == 0 and planes[1, 1].min() == 1


def test_goal_planes_reject_goals_outside_the_game():
    with pytest.raises(ValueError, match=r"prey kinds in \[0, 1\].*got 2"):
        FeatureBuilder(STAG_RULES).goal_planes([STAG, 2])
    with pytest.raises(ValueError, match=r"flat cells in \[0, 63\].*got 64"):
        FeatureBuilder(DRIFT_RULES).goal_planes([64])
    with pytest.raises(ValueError, match="expected 2 goals, got 1"):
        FeatureBuilder(STAG_RULES).goal_planes([STAG], expected=2)


def test_feature_builder_rejects_bad_batches():
    rules, state = hand_stag_state()
    fb = FeatureBuilder(rules)
    with pytest.raises(ValueError, match=r"players must be seats in \[0, 2\], got \[3\]"):
        fb.build([state], [3])
    with pytest.raises(ValueError, match="got 2 states but 1 players"):
        fb.build([state, state], [0])
    with pytest.raises(ValueError, match="empty batch"):
        fb.build([], [])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), drift=st.booleans())
def test_features_match_the_rules_observation_and_mask(seed, drift):
    rules = DRIFT_RULES if drift else STAG_RULES
    states, players = random_states(rules, seed, 12)
    fb = FeatureBuilder(rules)
    f = fb.build(states, players)
    for k, (s, p) in enumerate(zip(states, players, strict=True)):
        np.testing.assert_array_equal(f.grids[k], rules.observation(s, p))
        np.testing.assert_array_equal(f.masks[k], rules.action_mask(s, p).astype(bool))
        assert f.times[k] == np.float32(s.t / rules.config.max_cycles)
    # Stored uint8 observations give the same features back.
    again = fb.from_observations(
        fb.grids(states, players, dtype=np.uint8), [s.t for s in states], f.masks
    )
    np.testing.assert_array_equal(again.grids, f.grids)
    np.testing.assert_array_equal(again.times, f.times)


def test_goal_encoding_per_game():
    assert goal_encoding_of(STAG_RULES) == PREY_KIND
    assert goal_encoding_of(DRIFT_RULES) == DRIFT_CELL
    with pytest.raises(TypeError, match="no goal encoding for rules of type object"):
        goal_encoding_of(object())  # type: ignore[arg-type]


# -- networks --------------------------------------------------------------------------------
def run(net, features):
    with torch.inference_mode():
        out = net.run(features)
    return out if isinstance(out, tuple) else (out, None)


@pytest.mark.parametrize("rules", [STAG_RULES, DRIFT_RULES], ids=["stag_hunt", "snowdrift"])
@pytest.mark.parametrize("kind", KINDS)
def test_masked_actions_get_probability_exactly_zero(rules, kind):
    net = build_network(NetworkConfig.for_rules(rules, kind, **SMALL), seed=1)
    states, players = random_states(rules, seed=7, count=40)
    goals = random_goals(rules, states, players, np.random.default_rng(0))
    f = FeatureBuilder(rules).build(states, players, goals if kind == GOAL_OM else None)
    logits, values = run(net, f)
    assert logits.shape == (40, rules.num_actions)
    probs = torch.softmax(logits, dim=1).numpy()
    assert (probs[~f.masks] == 0.0).all()
    assert torch.isinf(logits[torch.from_numpy(~f.masks)]).all()
    assert (probs[f.masks] > 0.0).all()
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    if kind == FOCAL:
        assert values is not None and values.shape == (40,)
    else:
        assert values is None


def test_the_opponent_model_depends_on_the_goal():
    net = build_network(NetworkConfig.for_rules(STAG_RULES, GOAL_OM, **SMALL), seed=3)
    states, players = random_states(STAG_RULES, seed=2, count=5)
    fb = FeatureBuilder(STAG_RULES)
    stag, _ = run(net, fb.build(states, players, [STAG] * 5))
    hare, _ = run(net, fb.build(states, players, [HARE] * 5))
    assert not torch.equal(stag, hare)


def test_goal_model_needs_goal_planes():
    net = build_network(NetworkConfig.for_rules(STAG_RULES, GOAL_OM, **SMALL), seed=3)
    states, players = random_states(STAG_RULES, seed=2, count=2)
    with pytest.raises(ValueError, match="needs goal planes"):
        net.run(FeatureBuilder(STAG_RULES).build(states, players))


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip_gives_identical_outputs(tmp_path, kind):
    rules = DRIFT_RULES
    net = build_network(NetworkConfig.for_rules(rules, kind, **SMALL), seed=11)
    states, players = random_states(rules, seed=5, count=9)
    goals = random_goals(rules, states, players, np.random.default_rng(1))
    f = FeatureBuilder(rules).build(states, players, goals if kind == GOAL_OM else None)
    path = save_network(net, tmp_path / kind)
    loaded = load_network(path, expected_kind=kind)
    assert type(loaded) is type(net) and loaded.config == net.config
    before, after = run(net, f), run(loaded, f)
    assert torch.equal(before[0], after[0])
    if kind == FOCAL:
        assert torch.equal(before[1], after[1])
    meta = json.loads((path / "config.json").read_text())
    assert meta["config"]["kind"] == kind and meta["config"]["conv_channels"] == [8, 8]
    with safe_open(str(path / "weights.safetensors"), framework="pt") as weights:
        assert set(weights.keys()) == set(net.state_dict())


def test_load_checks_kind_version_and_files(tmp_path):
    net = build_network(NetworkConfig.for_rules(STAG_RULES, FOCAL, **SMALL), seed=0)
    path = net.save(tmp_path / "focal")
    with pytest.raises(ValueError, match="holds a 'focal' network, expected 'goal_om'"):
        load_network(path, expected_kind=GOAL_OM)
    meta = json.loads((path / "config.json").read_text())
    meta["format_version"] = 99
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="format_version 99"):
        load_network(path)
    with pytest.raises(FileNotFoundError, match=r"config\.json does not exist"):
        load_network(tmp_path / "nowhere")


def test_same_seed_same_weights_and_the_global_rng_is_untouched():
    config = NetworkConfig.for_rules(STAG_RULES, ACTION_MODEL, **SMALL)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = build_network(config, seed=5)
    assert torch.equal(torch.rand(3), expected_next)
    b = build_network(config, seed=5)
    c = build_network(config, seed=6)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name
    assert any(
        not torch.equal(x, z)
        for x, z in zip(a.state_dict().values(), c.state_dict().values(), strict=True)
    )


def test_network_classes_by_kind():
    for kind, cls in ((FOCAL, FocalNet), (GOAL_OM, GoalOpponentModel), (ACTION_MODEL, ActionModel)):
        net = build_network(NetworkConfig.for_rules(DRIFT_RULES, kind, **SMALL), seed=0)
        assert isinstance(net, cls)
    with pytest.raises(ValueError, match="FocalNet needs a config of kind 'focal'"):
        FocalNet(NetworkConfig.for_rules(DRIFT_RULES, ACTION_MODEL))


def test_network_config_validation():
    with pytest.raises(ValueError, match=r"kind must be one of .* got 'critic'"):
        NetworkConfig("critic", 7, 8, 8, 7)
    with pytest.raises(ValueError, match="in_channels must be an integer >= 1, got 0"):
        NetworkConfig(FOCAL, 0, 8, 8, 7)
    with pytest.raises(ValueError, match="conv_channels must be a non-empty sequence"):
        NetworkConfig(FOCAL, 7, 8, 8, 7, conv_channels=())
    with pytest.raises(ValueError, match="goal_encoding must name the goal space's encoding"):
        NetworkConfig(GOAL_OM, 7, 8, 8, 7)
    with pytest.raises(ValueError, match="goal_encoding must be None for kind 'focal'"):
        NetworkConfig(FOCAL, 7, 8, 8, 7, goal_encoding=PREY_KIND)
    with pytest.raises(ValueError, match="num_goal_planes must be an integer >= 1, got 0"):
        NetworkConfig(GOAL_OM, 7, 8, 8, 7, goal_encoding=PREY_KIND, num_goal_planes=0)
    with pytest.raises(ValueError, match="leave it at 2 for kind 'action_model', got 3"):
        NetworkConfig(ACTION_MODEL, 7, 8, 8, 7, num_goal_planes=3)
    with pytest.raises(ValueError, match="seed must be an integer"):
        build_network(NetworkConfig(FOCAL, 7, 8, 8, 7), seed=1.5)  # type: ignore[arg-type]


def test_check_rules_names_the_mismatch():
    config = NetworkConfig.for_rules(STAG_RULES, GOAL_OM)
    config.check_rules(STAG_RULES)
    with pytest.raises(ValueError, match="goal_om network does not fit SnowdriftRules"):
        config.check_rules(DRIFT_RULES)


# -- goal spaces other than the shipped games' -------------------------------------------------
class ThreePlaneGoals(PreyKindGoals):
    """A goal space of its own: prey kinds encoded in three planes under another name (what a
    learned subgoal space with its own encoding looks like to the networks)."""

    encoding = "learned_code"
    num_planes = 3


class ThreePlaneRules(StagHuntRules):
    def make_goal_space(self) -> PreyKindGoals:
        return ThreePlaneGoals(self.object_kinds, self.height, self.width)


def test_the_opponent_model_takes_the_goal_space_encoding_and_plane_count():
    rules = ThreePlaneRules(StagHuntConfig(num_wall_pieces=3))
    config = NetworkConfig.for_rules(rules, GOAL_OM, **SMALL)
    assert (config.goal_encoding, config.num_goal_planes) == ("learned_code", 3)
    config.check_rules(rules)
    net = build_network(config, seed=0)
    # the grid's channels (4 players, walls, stag, hare: 7) plus the three goal planes
    assert rules.num_channels == 7
    assert net.trunk.convs[0].in_channels == 10
    states, players = random_states(STAG_RULES, seed=4, count=3)
    plain = FeatureBuilder(STAG_RULES).build(states, players)
    goals = rules.goals.encode([STAG, HARE, IDLE])
    assert goals.shape == (3, 3, 8, 8)
    logits, _ = run(net, dataclasses.replace(plain, goals=goals))
    assert logits.shape == (3, rules.num_actions)
    two_planes = dataclasses.replace(plain, goals=goals[:, :2])
    with pytest.raises(ValueError, match=r"takes 3 goal planes \('learned_code'\), got .* 2"):
        net.run(two_planes)
    # a network for the shipped encoding does not fit, and the message says why
    shipped = NetworkConfig.for_rules(STAG_RULES, GOAL_OM)
    assert (shipped.goal_encoding, shipped.num_goal_planes) == (PREY_KIND, 2)
    with pytest.raises(ValueError, match=r"goals 'prey_kind' \(2 planes\); .*'learned_code' \(3"):
        shipped.check_rules(rules)
    # focal nets and action models have no goal input and fit both
    NetworkConfig.for_rules(STAG_RULES, FOCAL).check_rules(rules)
    NetworkConfig.for_rules(STAG_RULES, ACTION_MODEL).check_rules(rules)


def test_a_saved_config_without_num_goal_planes_loads_with_two(tmp_path):
    net = build_network(NetworkConfig.for_rules(DRIFT_RULES, GOAL_OM, **SMALL), seed=2)
    path = save_network(net, tmp_path / "om")
    meta = json.loads((path / "config.json").read_text())
    assert meta["config"]["num_goal_planes"] == 2
    del meta["config"]["num_goal_planes"]  # as written before the field existed
    (path / "config.json").write_text(json.dumps(meta))
    loaded = load_network(path, expected_kind=GOAL_OM)
    assert loaded.config == net.config and loaded.config.num_goal_planes == 2
    loaded.config.check_rules(DRIFT_RULES)
