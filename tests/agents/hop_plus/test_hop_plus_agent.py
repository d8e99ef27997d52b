"""The hop-plus agent and its variants: the decider's per-tree z draws, full episodes in both
envs for every tested goal_dim, online subgoal rounds, determinism, the save/load round trip,
hop-plus-no-inter / hop-plus-no-intra, and bad arguments. Untrained (seeded) networks or
folders saved here; tiny searches."""

from __future__ import annotations

import copy
import re
import shutil

import numpy as np
import pytest
import torch
from test_hop_plus_inference import hand_probs

import hop_envs
from agents.base import SeatInfo, Transition
from agents.hop_plus.agent import (
    HopPlusAgent,
    HopPlusNoInterAgent,
    HopPlusNoIntraAgent,
    load_networks,
)
from agents.hop_plus.inference import fuse
from agents.registry import make_agent
from hop_envs.coplayers import make_coplayer

SH, SD = "hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0"
TINY = {"num_trees": 2, "num_simulations": 3, "rollout_depth": 3}
RULE_BASED = {SH: "nearest-stag", SD: "cleaner"}


def seat_info(env_id: str, seat: int = 0) -> SeatInfo:
    env = hop_envs.make(env_id)
    return SeatInfo.of_env(env, env_id, seat, env_kwargs={}, focal_seats=(seat,))


def new_agent(env_id: str = SH, seed: int = 0, cls=HopPlusAgent, **kwargs) -> HopPlusAgent:
    options = {"weights": None, "goal_dim": 4, **TINY, **kwargs}
    agent = cls(**options)
    agent.reset(seed=seed, seat=seat_info(env_id))
    return agent


class Game:
    """One env, the agent at seat ``focal`` and seeded rule-based co-players elsewhere."""

    def __init__(self, env_id: str, seed: int = 0, focal: int = 0) -> None:
        self.env_id = env_id
        self.env = hop_envs.make(env_id)
        self.me = f"player_{focal}"
        self.players = {}
        for j in range(4):
            if j != focal:
                player = make_coplayer(RULE_BASED[env_id], env_id)
                player.reset(seed=seed + j, seat=seat_info(env_id, j))
                self.players[f"player_{j}"] = player

    def play(self, agent, seed: int, on_step=None) -> list[int]:
        """One full episode; ``on_step(obs, observations)`` after every act of the agent.
        The agent's actions."""
        observations, _ = self.env.reset(seed=seed)
        agent.start_episode()
        for p in self.players.values():
            p.start_episode()
        mine = []
        while self.env.agents:
            actions = {}
            for a in self.env.agents:
                if a == self.me:
                    actions[a] = agent.act(observations[a])
                    mine.append(actions[a])
                    if on_step is not None:
                        on_step(observations[a], observations)
                else:
                    actions[a] = self.players[a].act(observations[a])
            step = self.env.step(actions)
            transition = Transition(actions, *step)
            observations = step[0]
            agent.observe(transition)
            for p in self.players.values():
                p.observe(transition)
        agent.end_episode()
        for p in self.players.values():
            p.end_episode()
        return mine


def weights_of(nets) -> dict[str, torch.Tensor]:
    return {
        f"{i}.{k}": v.detach().clone()
        for i, net in enumerate(nets)
        for k, v in net.state_dict().items()
    }


def networks(agent) -> tuple:
    return agent.focal_net, agent.subgoal_model, agent.prior_vae


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and len(a) > 0
    for k in a:
        assert torch.equal(a[k], b[k]), k


def differs(a: dict, b: dict) -> bool:
    return any(not torch.equal(a[k], b[k]) for k in a)


# -- the decider -------------------------------------------------------------------------------
def begun(agent, env_id: str, seed: int = 0):
    env = hop_envs.make(env_id)
    observations, _ = env.reset(seed=seed)
    obs = observations["player_0"]
    agent.decider.begin(obs)
    return obs, agent.decider.state_from(obs)


@pytest.mark.parametrize("env_id", [SH, SD])
def test_search_fills_the_table_with_one_draw_per_tree_and_coplayer(env_id) -> None:
    agent = new_agent(env_id, num_trees=3)
    obs, state = begun(agent, env_id)
    dists = agent.inference.distributions(state)
    assert sorted(dists) == [1, 2, 3]
    rng, replay = np.random.default_rng(7), np.random.default_rng(7)
    agent.decider.search(obs, rng)
    # Trees in order, co-players by seat within a tree: z = mean + std * N(0, I).
    want = [
        dists[j][0] + dists[j][1] * replay.standard_normal(4) for _ in range(3) for j in (1, 2, 3)
    ]
    table = agent.table
    assert len(table) == 3 * 3
    assert [table.seat(k) for k in range(9)] == [1, 2, 3] * 3
    np.testing.assert_allclose(table.vectors(range(9)), np.stack(want), rtol=1e-6, atol=1e-6)
    # The next decision starts a fresh table.
    agent.decider.search(obs, rng)
    assert len(table) == 9


def seat_two_gone(env_id: str):
    """Seat 0's observation of a fresh state in which seat 2 has left the game."""
    env = hop_envs.make(env_id)
    env.reset(seed=0)
    rules = env.unwrapped.rules
    state = env.unwrapped.core_state.copy()
    state.active[2] = False
    return {"observation": rules.observation(state, 0), "step": 0}


def test_search_draws_from_the_inference_distributions(monkeypatch) -> None:
    agent = new_agent(SH, num_trees=4)
    obs = seat_two_gone(SH)
    agent.decider.begin(obs)
    state = agent.decider.state_from(obs)
    assert sorted(agent.inference.distributions(state)) == [1, 3]  # only who is still in
    means = {1: np.full(4, 0.5), 3: np.array([1.0, -2.0, 3.0, -4.0])}

    def fixed(s):
        assert not s.active[2]
        return {j: (m, np.zeros(4)) for j, m in means.items()}

    monkeypatch.setattr(agent.inference, "distributions", fixed)
    agent.decider.search(obs, np.random.default_rng(0))
    assert len(agent.table) == 4 * 2
    assert [agent.table.seat(k) for k in range(8)] == [1, 3] * 4
    np.testing.assert_array_equal(
        agent.table.vectors(range(8)), np.stack([means[1], means[3]] * 4).astype(np.float32)
    )


def test_decider_needs_begin_first() -> None:
    agent = new_agent(SH)
    obs = hop_envs.make(SH).reset(seed=0)[0]["player_0"]
    with pytest.raises(RuntimeError, match="begin"):
        agent.decider.search(obs, np.random.default_rng(0))


# -- full episodes -----------------------------------------------------------------------------
def check_episodes(env_id: str, goal_dim: int, episodes: int) -> None:
    agent = new_agent(env_id, seed=goal_dim, goal_dim=goal_dim)
    assert agent.table.goal_dim == goal_dim
    assert agent.subgoal_model.config.goal_dim == goal_dim
    rules = agent.rules
    start = weights_of([agent.subgoal_model])
    table = Game(env_id)
    predicted = []

    def on_step(obs, observations) -> None:
        state = table.env.unwrapped.core_state
        preds = agent.predict_coplayers(obs)
        active = sorted(j for j in range(1, 4) if state.active[j])
        assert sorted(preds) == active and "player_0" in observations
        masks = rules.action_masks(state)
        for j, p in preds.items():
            assert p.actions.shape == (rules.num_actions,) and p.goals is None
            assert abs(p.actions.sum() - 1.0) < 1e-6
            assert (p.actions[~masks[j].astype(bool)] == 0.0).all()
        predicted.append(len(preds))
        assert len(agent.table) == TINY["num_trees"] * len(active)

    for e in range(episodes):
        observed = []

        def record(obs, observations, observed=observed) -> None:
            observed.append(obs["action_mask"].copy())
            on_step(obs, observations)

        mine = table.play(agent, seed=e, on_step=record)
        assert len(mine) >= 1 and table.env.agents == []  # played to the end
        for a, mask in zip(mine, observed, strict=True):
            assert 0 <= a < rules.num_actions and mask[a] == 1
        # One online round after every episode, on that episode's co-player steps; the
        # buffer is emptied by it.
        assert len(agent.om_rounds) == e + 1
        stats = agent.om_rounds[-1].metrics()
        assert stats["sequences"] >= 1 and stats["steps"] >= stats["sequences"]
        assert len(agent.buffer) == 0
        assert agent.inference.inter_prior(1) is not None
        assert differs(start, weights_of([agent.subgoal_model]))
    assert sum(predicted) > 0
    # A new trial starts from the starting weights again and forgets the co-players.
    agent.reset(seed=goal_dim, seat=seat_info(env_id))
    assert_same_weights(start, weights_of([agent.subgoal_model]))
    assert agent.om_rounds == [] and agent.inference.inter_prior(1) is None


@pytest.mark.parametrize("goal_dim", [64, 16, 4, 2])
@pytest.mark.parametrize("env_id", [SH, SD])
def test_plays_full_episodes_and_learns_between_them(env_id, goal_dim) -> None:
    check_episodes(env_id, goal_dim, episodes=2)


def test_predictions_are_the_policy_at_the_mean_z(monkeypatch) -> None:
    agent = new_agent(SD, goal_dim=3)
    obs = seat_two_gone(SD)
    agent.start_episode()
    agent.act(obs)
    means = {1: np.array([1.0, 0.0, -1.0]), 3: np.array([-3.0, 2.0, 0.5])}
    monkeypatch.setattr(
        agent.inference,
        "distributions",
        lambda s: {j: (m, np.full(3, 5.0)) for j, m in means.items()},
    )
    rng_state = copy.deepcopy(agent.rng.bit_generator.state)
    rows = agent.table.vectors(range(len(agent.table))).copy()
    preds = agent.predict_coplayers(obs)
    assert sorted(preds) == [1, 3]
    state = agent.decider.state_from(obs)
    want, _ = hand_probs(
        agent.subgoal_model,
        agent.rules,
        [state, state],
        [1, 3],
        np.stack([means[1], means[3]]).astype(np.float32),
    )
    np.testing.assert_allclose(preds[1].actions, want[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(preds[3].actions, want[1], rtol=1e-5, atol=1e-7)
    # Draws nothing, changes nothing.
    assert agent.rng.bit_generator.state == rng_state
    np.testing.assert_array_equal(agent.table.vectors(range(len(agent.table))), rows)


@pytest.mark.parametrize("env_id", [SH, SD])
def test_a_focal_player_at_another_seat_models_the_other_three(env_id) -> None:
    agent = HopPlusAgent(weights=None, goal_dim=2, **TINY)
    agent.reset(seed=1, seat=seat_info(env_id, 2))
    table = Game(env_id, focal=2)
    seen = []

    def on_step(obs, observations) -> None:
        preds = agent.predict_coplayers(obs)
        seen.append(sorted(preds))
        assert {agent.table.seat(k) for k in range(len(agent.table))} <= {0, 1, 3}

    table.play(agent, seed=0, on_step=on_step)
    assert seen and all(set(s) <= {0, 1, 3} for s in seen) and seen[0] == [0, 1, 3]
    assert agent.inference.inter_prior(2) is None
    assert all(agent.inference.inter_prior(j) is not None for j in (0, 1, 3))
    assert len(agent.om_rounds) == 1 and len(agent.buffer) == 0


def test_without_online_training_the_subgoal_model_is_unchanged() -> None:
    agent = new_agent(SH, train_subgoal_model=False)
    before = weights_of(networks(agent))
    Game(SH).play(agent, seed=0)
    assert agent.om_rounds == [] and len(agent.buffer) == 0
    assert_same_weights(before, weights_of(networks(agent)))
    # Inter-OM still takes the episode in (it reads the posteriors, not the weights).
    assert agent.inference.inter_prior(1) is not None


def test_acting_before_reset_is_an_error() -> None:
    agent = HopPlusAgent(weights=None, **TINY)
    obs = hop_envs.make(SH).reset(seed=0)[0]["player_0"]
    with pytest.raises(RuntimeError, match="reset"):
        agent.act(obs)
    agent.reset(seed=0, seat=seat_info(SH))
    with pytest.raises(RuntimeError, match="act"):
        agent.predict_coplayers(obs)


# -- determinism -------------------------------------------------------------------------------
def test_same_seed_same_actions() -> None:
    runs = []
    for _ in range(2):
        agent = new_agent(SD, seed=11)
        table = Game(SD)
        runs.append([table.play(agent, seed=e) for e in range(2)])
    assert runs[0] == runs[1]


# -- save / load -------------------------------------------------------------------------------
def trace(agent, env_id: str, seed: int, episodes: int = 1):
    """Actions, search policies and co-player predictions of ``episodes`` episodes."""
    out = []
    table = Game(env_id)

    def on_step(obs, observations) -> None:
        preds = agent.predict_coplayers(obs)
        out.append(agent.last_search.policy.copy())
        out.extend(preds[j].actions.copy() for j in sorted(preds))

    for e in range(episodes):
        out.append(np.asarray(table.play(agent, seed=e, on_step=on_step), dtype=float))
    return out


def assert_same_trace(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_save_load_round_trip(tmp_path) -> None:
    # Train a little so the weights are not the seeded ones.
    trained = new_agent(SH, seed=5, goal_dim=4)
    initial = weights_of(networks(trained))
    Game(SH).play(trained, seed=0)
    memory = copy.deepcopy(networks(trained))
    assert differs(weights_of(memory), initial)
    folder = trained.save(tmp_path / "hp")
    assert folder == tmp_path / "hp"
    # Every tensor of the three networks comes back exactly, with its configuration.
    loaded = load_networks(folder)
    assert_same_weights(weights_of(memory), weights_of(loaded))
    for a, b in zip(memory[1:], loaded[1:], strict=True):
        assert a.spec == b.spec and a.config == b.config
    assert memory[0].config == loaded[0].config
    # Agents started from the folder act exactly as one started from the in-memory networks.
    from_folder = HopPlusAgent(weights=folder, **TINY)  # goal_dim is the checkpoint's
    from_folder.reset(seed=9, seat=seat_info(SH))
    assert from_folder.table.goal_dim == 4
    assert_same_weights(weights_of(memory), weights_of(networks(from_folder)))
    from_memory = HopPlusAgent(weights=None, goal_dim=4, **TINY)
    from_memory._loaded = copy.deepcopy(memory)
    from_memory.reset(seed=9, seat=seat_info(SH))
    trained.load(folder)  # the original agent, now starting every trial from the folder
    trained.reset(seed=9, seat=seat_info(SH))
    assert_same_weights(weights_of(memory), weights_of(networks(trained)))
    reference = trace(from_memory, SH, 9, episodes=2)
    assert_same_trace(trace(from_folder, SH, 9, episodes=2), reference)
    assert_same_trace(trace(trained, SH, 9, episodes=2), reference)
    # After learning online, a new trial starts from the folder's weights again.
    assert differs(weights_of(memory), weights_of(networks(from_folder)))
    from_folder.reset(seed=9, seat=seat_info(SH))
    assert_same_weights(weights_of(memory), weights_of(networks(from_folder)))
    # ...and differently from the untrained networks with the same seed.
    fresh = new_agent(SH, seed=5, goal_dim=4)
    fresh.reset(seed=9, seat=seat_info(SH))
    untrained = trace(fresh, SH, 9, episodes=1)
    n = min(len(untrained), len(reference))
    assert any(
        x.shape != y.shape or not np.array_equal(x, y)
        for x, y in zip(untrained[:n], reference[:n], strict=True)
    )


def test_weights_folder_missing_a_network(tmp_path) -> None:
    agent = new_agent(SH)
    folder = agent.save(tmp_path / "hp")
    shutil.rmtree(folder / "prior_vae")
    with pytest.raises(FileNotFoundError, match=re.escape(str(folder))):
        HopPlusAgent(weights=folder, **TINY)
    with pytest.raises(FileNotFoundError, match="prior_vae"):
        agent.load(folder)


# -- variants ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "cls", "flags"),
    [
        ("hop-plus", HopPlusAgent, (True, True)),
        ("hop-plus-no-inter", HopPlusNoInterAgent, (True, False)),
        ("hop-plus-no-intra", HopPlusNoIntraAgent, (False, True)),
    ],
)
def test_registered_variants_fix_their_flag(name, cls, flags) -> None:
    for env_id in (SH, SD):
        agent = make_agent(name, env_id=env_id, weights=None, inter_alpha=0.7, **TINY)
        assert type(agent) is cls
        cfg = agent.inference_config
        assert (cfg.intra, cfg.inter) == flags and cfg.alpha == 0.7
        assert agent.planner_config.num_trees == 2
        agent.reset(seed=0, seat=seat_info(env_id))
        assert agent.inference.config == cfg
    # The variant's own flag cannot be switched back on.
    assert HopPlusNoInterAgent(None, inter=True).inference_config.inter is False
    assert HopPlusNoIntraAgent(weights=None, intra=True).inference_config.intra is False


def distributions_per_step(agent, env_id: str, episodes: int):
    """Per episode, the (seat -> (mean, std)) planning drew from at every decision."""
    out = []
    table = Game(env_id)
    for e in range(episodes):
        steps = []

        def on_step(obs, observations, steps=steps) -> None:
            state = agent.decider.state_from(obs)
            steps.append(agent.inference.distributions(state))

        table.play(agent, seed=e, on_step=on_step)
        out.append(steps)
    return out


def test_no_intra_is_constant_within_an_episode_and_moves_between_them() -> None:
    agent = new_agent(SH, cls=HopPlusNoIntraAgent, seed=3, inter_alpha=0.5)
    first, second = distributions_per_step(agent, SH, 2)
    assert len(first) > 1 and len(second) > 1
    for dists in first:  # no episode has ended: N(0, I)
        for mean, std in dists.values():
            np.testing.assert_array_equal(mean, np.zeros(4))
            np.testing.assert_array_equal(std, np.ones(4))
    for dists in second:  # the inter prior of episode 1, whatever was observed since
        for j, (mean, std) in dists.items():
            prior_mean, prior_var = second[0][j][0], second[0][j][1] ** 2
            np.testing.assert_array_equal(mean, prior_mean)
            np.testing.assert_allclose(std**2, prior_var)
    for mean, std in second[0].values():
        assert not np.allclose(mean, 0.0) and not np.allclose(std, 1.0)


def first_decision_of_episode_two(agent, env_id: str):
    table = Game(env_id)
    table.play(agent, seed=0)
    seen = {}

    def on_step(obs, observations) -> None:
        if not seen:
            state = agent.decider.state_from(obs)
            seats = agent.inference.coplayer_seats(state)
            seen["state"], seen["seats"] = state, seats
            seen["dists"] = agent.inference.distributions(state)
            seen["posterior"] = agent.inference.posterior(state, seats)
            seen["prior"] = {j: agent.inference.inter_prior(j) for j in seats}

    table.play(agent, seed=1, on_step=on_step)
    return seen


def test_no_inter_plans_from_the_posterior_alone_in_episode_two() -> None:
    agent = new_agent(SH, cls=HopPlusNoInterAgent, seed=4)
    seen = first_decision_of_episode_two(agent, SH)
    mu, var = seen["posterior"]
    for i, j in enumerate(seen["seats"]):
        mean, std = seen["dists"][j]
        np.testing.assert_allclose(mean, mu[i], rtol=1e-6)
        np.testing.assert_allclose(std, np.sqrt(var[i]), rtol=1e-6)
        # The prior was summarised (so fusing it would have moved the distribution)...
        prior = seen["prior"][j]
        assert prior is not None
        fused_mean, _ = fuse(mu[i], var[i], *prior)
        assert not np.allclose(fused_mean, mean)


def test_hop_plus_fuses_posterior_and_prior_in_episode_two() -> None:
    agent = new_agent(SH, seed=4)
    seen = first_decision_of_episode_two(agent, SH)
    mu, var = seen["posterior"]
    for i, j in enumerate(seen["seats"]):
        mean, std = seen["dists"][j]
        fused_mean, fused_var = fuse(mu[i], var[i], *seen["prior"][j])
        np.testing.assert_allclose(mean, fused_mean, rtol=1e-6)
        np.testing.assert_allclose(std, np.sqrt(fused_var), rtol=1e-6)
        assert not np.allclose(mean, mu[i])


# -- bad arguments -----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, -1, True, 2.0, "4"])
def test_bad_goal_dim(bad) -> None:
    with pytest.raises(ValueError, match="goal_dim"):
        HopPlusAgent(weights=None, goal_dim=bad)


@pytest.mark.parametrize("bad", [0, True, 1.5])
def test_bad_clear_every(bad) -> None:
    with pytest.raises(ValueError, match="clear_every"):
        HopPlusAgent(weights=None, clear_every=bad)


@pytest.mark.parametrize("bad", [1.0, -0.5, True])
def test_bad_inter_alpha(bad) -> None:
    with pytest.raises(ValueError, match="alpha"):
        HopPlusAgent(weights=None, inter_alpha=bad)


def test_unknown_option_is_named() -> None:
    with pytest.raises(TypeError, match=r"HopPlusAgent: unknown option 'num_tree'.*num_trees"):
        HopPlusAgent(weights=None, num_tree=2)
    with pytest.raises(TypeError, match="'belief_alpha'"):
        make_agent("hop-plus-no-inter", weights=None, belief_alpha=0.5)


def test_too_many_trees_for_the_table() -> None:
    agent = HopPlusAgent(weights=None, num_trees=30, num_simulations=1)
    with pytest.raises(ValueError, match="fewer trees"):
        agent.reset(seed=0, seat=seat_info(SH))  # 30 x 3 > 64 cells
