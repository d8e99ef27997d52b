"""``resample_on_reach``: a tree's co-player draws a new ``z`` on reaching its subgoal's cell."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_hop_plus_agent import SD, SH, Game, begun, new_agent, seat_info
from test_hop_plus_inference import three_key_space

import hop_envs
from agents.hop_plus.agent import HopPlusAgent
from agents.hop_plus.latent_goals import NO_TARGET, LatentGoalTable


# -- the table's target cells and the goal space ------------------------------------------------
def test_a_key_stops_existing_while_its_coplayer_stands_on_its_target() -> None:
    rules, table, space, state = three_key_space()
    here = int(state.player_pos[2])
    table.set_targets([1, 2], [here, here])  # key 1 is seat 2's; key 2 is seat 3's
    assert [table.target(k) for k in (0, 1, 2)] == [NO_TARGET, here, here]
    same_cell = int(state.player_pos[3]) == here
    assert [space.exists(state, k) for k in (0, 1, 2)] == [True, False, not same_cell]
    state.active[2] = False  # a co-player that has left reaches nothing
    assert space.exists(state, 1)
    state.active[2] = True
    state.player_pos[2] = (here + 1) % (rules.height * rules.width)
    assert space.exists(state, 1)
    # the batched test (rollouts) has no positions: every key exists there
    got = space.exists_batch(np.zeros((3, 1)), np.zeros((3, 1), bool), np.zeros((3, 1)), [0, 1, 2])
    assert got.all()
    table.clear()
    table.add(2, [0.0, 0.0])
    assert table.target(0) == NO_TARGET  # a new key of a cleared table has no target


def test_set_targets_checks_its_arguments() -> None:
    table = LatentGoalTable(2, 4)
    table.add(1, [0.0, 0.0])
    with pytest.raises(ValueError, match="goal 1 is not a subgoal"):
        table.set_targets([1], [3])
    with pytest.raises(ValueError, match="cells must be 1 flat cell indices or -1, got \\[-2\\]"):
        table.set_targets([0], [-2])
    with pytest.raises(ValueError, match="cells must be 1"):
        table.set_targets([0], [3, 4])


def test_subgoal_cells_is_the_peak_of_the_decoded_own_position_plane() -> None:
    agent = new_agent(SH)
    model = agent.subgoal_model
    last = model.decoder.net[-1]
    h, w = model.spec.height, model.spec.width
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
        bias = last.bias.view(model.spec.in_channels, h, w)
        bias[0, 2, 5] = 3.0  # own-position plane: cell (2, 5)
        bias[1, 6, 1] = 9.0  # another player's plane is not the co-player's position
    cells = model.subgoal_cells(torch.randn(3, model.config.goal_dim))
    assert cells.tolist() == [2 * w + 5] * 3


# -- the decider ----------------------------------------------------------------------------------
def fixed_distributions(agent, monkeypatch, std: float = 1.0) -> dict[int, np.ndarray]:
    means = {j: np.full(4, float(j)) for j in (1, 2, 3)}
    monkeypatch.setattr(
        agent.inference,
        "distributions",
        lambda s: {j: (m, np.full(4, std)) for j, m in means.items()},
    )
    return means


def test_the_pool_keeps_the_trees_draws_and_adds_spares_and_posterior_means(monkeypatch) -> None:
    agent = new_agent(SH, num_trees=3, resample_on_reach=True)
    obs, _ = begun(agent, SH)
    means = fixed_distributions(agent, monkeypatch)
    plain = new_agent(SH, num_trees=3)
    begun(plain, SH)
    fixed_distributions(plain, monkeypatch)
    agent.decider.search(obs, np.random.default_rng(5))
    plain.decider.search(obs, np.random.default_rng(5))
    table = agent.table
    # 3 trees x 3 co-players, then 3 spares per co-player, then one posterior mean each
    assert len(table) == 9 + 9 + 3
    np.testing.assert_array_equal(table.vectors(range(9)), plain.table.vectors(range(9)))
    assert [table.seat(k) for k in range(9, 21)] == [1] * 3 + [2] * 3 + [3] * 3 + [1, 2, 3]
    for k, j in zip(range(18, 21), (1, 2, 3), strict=True):
        np.testing.assert_array_equal(table.vectors([k])[0], means[j])
        assert table.target(k) == NO_TARGET
    with torch.no_grad():
        want = agent.subgoal_model.subgoal_cells(torch.from_numpy(table.vectors(range(18))))
    assert [table.target(k) for k in range(18)] == want.tolist()


def test_redraw_picks_a_draw_whose_cell_the_coplayer_is_not_on(monkeypatch) -> None:
    agent = new_agent(SH, num_trees=3, resample_on_reach=True)
    _, state = begun(agent, SH)
    dists = {1: (np.zeros(4), np.ones(4))}
    table = agent.table
    table.clear()
    rng = np.random.default_rng(0)

    def draw(seat: int) -> int:
        return table.add(seat, rng.standard_normal(4))

    goals = [{1: draw(1)} for _ in range(3)]
    # the pool of seat 1: the trees' keys 0, 1, 2 and the spares 3, 4, 5
    cells = torch.tensor([5, 5, 9, 5, 12, 5])
    monkeypatch.setattr(agent.subgoal_model, "subgoal_cells", lambda z: cells[: len(z)])
    redraw = agent.decider._redraw_on_reach(dists, goals, draw)
    assert len(table) == 7 and table.target(6) == NO_TARGET  # key 6: the posterior mean
    r = np.random.default_rng(1)
    state.player_pos[1] = 5
    assert {redraw(state, 1, r) for _ in range(200)} == {2, 4}  # the keys not targeting cell 5
    state.player_pos[1] = 7
    assert {redraw(state, 1, r) for _ in range(200)} == set(range(6))
    cells[:] = 5
    redraw = agent.decider._redraw_on_reach(dists, goals, draw)
    state.player_pos[1] = 5
    assert redraw(state, 1, r) == len(table) - 1  # every cell reached: the posterior mean


def queried_z(agent, obs, monkeypatch) -> np.ndarray:
    """Every ``z`` the co-player policy is asked with during one search."""
    seen: list[np.ndarray] = []
    run = agent.policy._run

    def spy(features, z):
        seen.append(z.copy())
        return run(features, z)

    monkeypatch.setattr(agent.policy, "_run", spy)
    agent.decider.search(obs, np.random.default_rng(3))
    return np.concatenate(seen)


def test_coplayers_on_every_target_plan_with_their_posterior_means(monkeypatch) -> None:
    # Every draw's cell is its co-player's start cell: at the roots each tree's co-player has
    # reached its subgoal, so it takes its posterior mean, which is never re-sampled; every
    # co-player query of the search is asked with a mean. Without the option, none is.
    for option in (True, False):
        agent = new_agent(SH, num_trees=2, resample_on_reach=option)
        obs, state = begun(agent, SH)
        means = fixed_distributions(agent, monkeypatch)
        # the decoder is asked for seat 1's 2 tree draws and 2 spares, then seat 2's, seat 3's
        start = torch.tensor([int(state.player_pos[j]) for j in (1, 2, 3) for _ in range(4)])
        monkeypatch.setattr(agent.subgoal_model, "subgoal_cells", lambda z, c=start: c[: len(z)])
        rows = queried_z(agent, obs, monkeypatch)
        is_mean = np.array([any(np.array_equal(z, m) for m in means.values()) for z in rows])
        assert len(rows) > 0 and (is_mean.all() if option else not is_mean.any())


def test_the_option_counts_its_rows_against_the_table() -> None:
    seat = seat_info(SH)
    # (2 x 10 + 1) x 3 co-players = 63 rows fit the 64 cells of the 8x8 grid
    HopPlusAgent(weights=None, num_trees=10, num_simulations=1, resample_on_reach=True).reset(
        seed=0, seat=seat
    )
    agent = HopPlusAgent(weights=None, num_trees=11, num_simulations=1, resample_on_reach=True)
    with pytest.raises(ValueError, match=r"11 trees x 3 co-players need 69 subgoals"):
        agent.reset(seed=0, seat=seat)
    # without the option 11 trees need only 33
    HopPlusAgent(weights=None, num_trees=11, num_simulations=1).reset(seed=0, seat=seat)


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_bad_resample_on_reach(bad) -> None:
    with pytest.raises(ValueError, match=f"resample_on_reach must be a bool, got {bad!r}"):
        HopPlusAgent(weights=None, resample_on_reach=bad)


def test_a_full_episode_with_the_option(monkeypatch) -> None:
    # Every draw's cell is its co-player's cell at the decision (snowdrift: nobody leaves), so
    # every decision re-samples at its roots; the episode must play through.
    agent = new_agent(SD, num_trees=2, num_simulations=6, resample_on_reach=True)

    def cells_now(z):
        pos = agent.recorder.state.player_pos
        return torch.tensor([int(pos[j]) for j in (1, 2, 3) for _ in range(4)])[: len(z)]

    monkeypatch.setattr(agent.subgoal_model, "subgoal_cells", cells_now)
    settled = []
    make = agent.decider._redraw_on_reach

    def counted(*args):
        inner = make(*args)

        def redraw(s, seat, r):
            key = inner(s, seat, r)
            settled.append(agent.table.target(key) == NO_TARGET)
            return key

        return redraw

    monkeypatch.setattr(agent.decider, "_redraw_on_reach", counted)
    actions = Game(SD, seed=2).play(agent, seed=2)
    assert len(actions) == len(agent.last_episode.states) > 0
    assert len(settled) >= 3 * len(actions)  # at least every co-player at every root


def test_a_decision_with_every_coplayer_gone(monkeypatch) -> None:
    # The stag hunt's co-players leave on a capture; with none left there is nothing to draw,
    # decode or re-sample, and the search still runs (it once failed decoding zero rows).
    agent = new_agent(SH, resample_on_reach=True)
    env = hop_envs.make(SH)
    env.reset(seed=0)
    state = env.unwrapped.core_state.copy()
    state.active[1:] = False
    obs = {"observation": env.unwrapped.rules.observation(state, 0), "step": 0}
    agent.decider.begin(obs)
    result = agent.decider.search(obs, np.random.default_rng(0))
    assert len(agent.table) == 0 and np.isclose(result.policy.sum(), 1.0)
