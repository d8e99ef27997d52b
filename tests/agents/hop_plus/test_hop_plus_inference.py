"""HOP+'s parts below the agent: the product of Gaussians, the inter-episode prior (a
bias-corrected EMA) and the intra-episode posterior (online GRU steps equal the training-time
sequence computation), the latent goal table and goal space, and pi(a | s, z)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hop_envs
from agents.hop.features import FeatureBuilder
from agents.hop.interfaces import PolicyQuery
from agents.hop_plus.inference import InferenceConfig, SubgoalInference, fuse
from agents.hop_plus.latent_goals import LatentGoalSpace, LatentGoalTable, latent_rules
from agents.hop_plus.networks import SUBGOAL_MODEL, GridSpec, SubgoalConfig, build_network
from agents.hop_plus.policy import LatentCoplayerPolicy
from hop_envs.core import IDLE, STAY, BatchedState

SH, SD = "hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0"
TINY = {"hidden": 16, "conv_channels": (4,)}


def env_rules(env_id: str = SH):
    return hop_envs.make(env_id).unwrapped.rules


def small_model(rules, goal_dim: int = 3, seed: int = 0):
    spec = GridSpec.of_rules(rules)
    return build_network(SUBGOAL_MODEL, spec, SubgoalConfig(goal_dim=goal_dim, **TINY), seed)


def random_walk(rules, steps: int, seed: int):
    """``steps`` (state before, seat -> action) pairs of random, sometimes illegal, actions
    (a masked action runs as stay), and the state after the last."""
    rng = np.random.default_rng(seed)
    state = rules.reset(rng)
    out = []
    for _ in range(steps):
        actions = {j: int(rng.integers(rules.num_actions)) for j in range(rules.num_players)}
        out.append((state.copy(), actions))
        rules.step(state, [actions[j] for j in range(rules.num_players)])
        if state.over:
            break
    return out, state


# -- fuse --------------------------------------------------------------------------------------
def test_fuse_is_the_normalised_product_of_two_gaussians() -> None:
    mu, var = fuse(np.array([0.0]), np.array([1.0]), np.array([2.0]), np.array([1.0]))
    np.testing.assert_allclose(mu, [1.0])
    np.testing.assert_allclose(var, [0.5])
    # precisions 1 + 1/3 = 4/3 -> var 3/4; mean 3/4 * (0/1 + 3/3) = 3/4.
    mu, var = fuse(np.array([0.0]), np.array([1.0]), np.array([3.0]), np.array([3.0]))
    np.testing.assert_allclose(mu, [0.75])
    np.testing.assert_allclose(var, [0.75])
    # Diagonal: every dimension on its own; the product is symmetric.
    a = (np.array([1.0, -2.0]), np.array([4.0, 0.5]))
    b = (np.array([-1.0, 2.0]), np.array([4.0, 1.5]))
    mu, var = fuse(*a, *b)
    np.testing.assert_allclose(var, [2.0, 0.375])
    np.testing.assert_allclose(mu, [0.0, 0.375 * (-2.0 / 0.5 + 2.0 / 1.5)])
    mu2, var2 = fuse(*b, *a)
    np.testing.assert_allclose(mu2, mu)
    np.testing.assert_allclose(var2, var)


# -- inter-OM: the bias-corrected EMA prior ----------------------------------------------------
class StubSteps:
    """Replaces ``SubgoalInference._step``: every stepped seat gets the next (mu, var) of
    ``script`` (one dimension, broadcast over goal_dim); seat-dependent offsets optional."""

    def __init__(self, inference: SubgoalInference) -> None:
        self.inference = inference
        self.mu, self.var = 0.0, 1.0
        self.offset: dict[int, float] = {}

    def __call__(self, state, seats):
        d = self.inference.goal_dim
        mu = np.array([[self.mu + self.offset.get(j, 0.0)] * d for j in seats])
        logvar = np.full((len(seats), d), np.log(self.var))
        hidden = torch.zeros(1, len(seats), self.inference.model.config.hidden)
        return mu, logvar, hidden


def stubbed_inference(monkeypatch, alpha: float = 0.5, **flags):
    rules = env_rules()
    inf = SubgoalInference(small_model(rules, goal_dim=2), rules, 0, InferenceConfig(alpha=alpha))
    stub = StubSteps(inf)
    monkeypatch.setattr(inf, "_step", stub)
    state = rules.reset(np.random.default_rng(0))
    return inf, stub, state


def feed(inf, stub, state, steps, seats=(0, 1, 2, 3)) -> None:
    """One observed step per (mu, var) in ``steps`` for ``seats`` (0 is the focal seat)."""
    for mu, var in steps:
        stub.mu, stub.var = mu, var
        inf.observe(state, dict.fromkeys(seats, STAY))


def test_inter_prior_is_the_bias_corrected_ema_of_each_episodes_posterior_moments(
    monkeypatch,
) -> None:
    inf, stub, state = stubbed_inference(monkeypatch, alpha=0.5)
    assert inf.inter_prior(1) is None  # no episode yet
    # Episode 1: posteriors N(1, 1) then N(3, 1). Mean of means 2; second moments
    # (1 + 1 + 9 + 1) / 2 = 6. EMA 0.5 * 2 = 1, corrected by 1 - 0.5 = 0.5 -> 2; E[.^2] 6.
    stub.offset = {2: 10.0}  # seat 2's means are 11 and 13
    feed(inf, stub, state, [(1.0, 1.0), (3.0, 1.0)])
    inf.end_episode()
    mean, var = inf.inter_prior(1)
    np.testing.assert_allclose(mean, [2.0, 2.0])
    np.testing.assert_allclose(var, [6.0 - 4.0] * 2)  # E[sigma^2 + mu^2] - mean^2
    mean2, var2 = inf.inter_prior(2)
    np.testing.assert_allclose(mean2, [12.0, 12.0])
    np.testing.assert_allclose(var2, [(1 + 121 + 1 + 169) / 2 - 144.0] * 2)
    assert inf.inter_prior(0) is None  # the focal seat is never modelled
    # Episode 2, only seats 0 and 1 act: N(-2, 4), one step. Raw EMA m1 = 0.5 * 1 + 0.5 * -2
    # = -0.5, m2 = 0.5 * 3 + 0.5 * (4 + 4) = 5.5; corrected by 1 - 0.25 = 0.75.
    feed(inf, stub, state, [(-2.0, 4.0)], seats=(0, 1))
    inf.end_episode()
    mean, var = inf.inter_prior(1)
    np.testing.assert_allclose(mean, [-2.0 / 3.0] * 2)
    np.testing.assert_allclose(var, [22.0 / 3.0 - 4.0 / 9.0] * 2)
    # Seat 2 took no step in episode 2: its prior is still its one-episode summary.
    np.testing.assert_allclose(inf.inter_prior(2)[0], [12.0, 12.0])
    # An episode in which nobody acted changes nothing.
    inf.end_episode()
    np.testing.assert_allclose(inf.inter_prior(1)[0], [-2.0 / 3.0] * 2)


def test_the_prior_variance_never_drops_below_the_floor(monkeypatch) -> None:
    inf, stub, state = stubbed_inference(monkeypatch, alpha=0.5)
    feed(inf, stub, state, [(5.0, 1e-9), (5.0, 1e-9)])  # a point mass: variance ~ 0
    inf.end_episode()
    mean, var = inf.inter_prior(1)
    np.testing.assert_allclose(mean, [5.0, 5.0])
    assert (var >= 1e-4).all() and (var <= 1e-3).all()


@pytest.mark.parametrize(
    ("intra", "inter", "after_one"),
    [
        # posterior N(0, 2) x prior N(2, 2): precisions 1/2 + 1/2 -> var 1, mean 1.
        (True, True, (1.0, 1.0)),
        (True, False, (0.0, np.sqrt(2.0))),
        (False, True, (2.0, np.sqrt(2.0))),
        (False, False, (0.0, 1.0)),
    ],
)
def test_distributions_of_each_configuration(monkeypatch, intra, inter, after_one) -> None:
    inf, stub, state = stubbed_inference(monkeypatch, alpha=0.5)
    inf.config = InferenceConfig(intra=intra, inter=inter, alpha=0.5)
    stub.mu, stub.var = 0.0, 2.0  # the posterior at any decision: N(0, 2)
    before = inf.distributions(state)
    assert sorted(before) == [1, 2, 3]
    # Before any episode has ended: the posterior if intra, else N(0, I).
    for mean, std in before.values():
        np.testing.assert_allclose(mean, [0.0, 0.0])
        np.testing.assert_allclose(std, [np.sqrt(2.0) if intra else 1.0] * 2)
    # One episode whose posteriors were N(1, 1) and N(3, 1): prior N(2, 2) (previous test).
    feed(inf, stub, state, [(1.0, 1.0), (3.0, 1.0)])
    inf.end_episode()
    stub.mu, stub.var = 0.0, 2.0
    for mean, std in inf.distributions(state).values():
        np.testing.assert_allclose(mean, [after_one[0]] * 2)
        np.testing.assert_allclose(std, [after_one[1]] * 2)
    # reset() forgets the priors: back to the first-episode answer.
    inf.reset()
    assert inf.inter_prior(1) is None
    for j, (mean, std) in inf.distributions(state).items():
        np.testing.assert_allclose(mean, before[j][0])
        np.testing.assert_allclose(std, before[j][1])
    # ... entirely: the next episode's prior is that episode's summary alone, N(5, 1).
    feed(inf, stub, state, [(5.0, 1.0)])
    inf.end_episode()
    np.testing.assert_allclose(inf.inter_prior(1)[0], [5.0, 5.0])
    np.testing.assert_allclose(inf.inter_prior(1)[1], [1.0, 1.0])


def test_distributions_cover_only_the_coplayers_still_in_the_game(monkeypatch) -> None:
    inf, _, state = stubbed_inference(monkeypatch)
    state.active[2] = False
    assert sorted(inf.distributions(state)) == [1, 3]


def test_inference_config_is_validated() -> None:
    for bad in (1.0, -0.1, True, "0.5"):
        with pytest.raises(ValueError, match="alpha"):
            InferenceConfig(alpha=bad)
    with pytest.raises(ValueError, match="intra"):
        InferenceConfig(intra=1)


# -- intra-OM: online steps == the training-time sequence computation -------------------------
@pytest.mark.parametrize("env_id", [SH, SD])
def test_online_posterior_equals_the_posterior_of_the_whole_sequence(env_id) -> None:
    rules = env_rules(env_id)
    model = small_model(rules, goal_dim=3, seed=4)
    inf = SubgoalInference(model, rules, 0)
    walk, last = random_walk(rules, 8, seed=1)
    assert len(walk) == 8
    gone_at = 5  # seat 3 leaves (artificially) before step 5: it is not stepped after that
    features = FeatureBuilder(rules)
    illegal = 0
    for t, (before, actions) in enumerate(walk):
        if t >= gone_at:
            before.active[3] = False
        masks = rules.action_masks(before)
        illegal += sum(not masks[j, a] for j, a in actions.items() if j != 0)
        inf.observe(before, actions)
    assert illegal > 0  # some actions ran as stay, so 'executed' matters
    last.active[3] = False
    for j in (1, 2, 3):
        steps = [(s, a) for s, a in walk if s.active[j]]  # (a capture may end a seat early)
        if j == 3:
            assert len(steps) <= gone_at
        states = [s for s, _ in steps]
        executed = []
        for s, a in steps:
            mask = rules.action_masks(s)[j]
            executed.append(a[j] if mask[a[j]] else STAY)
        grids = torch.from_numpy(features.grids(states, [j] * len(states)))
        prev = torch.tensor([model.start_action, *executed[:-1]])
        with torch.no_grad():
            mu, logvar, hidden = model.posterior(grids[None], prev[None])
        torch.testing.assert_close(inf._hidden[:, j], hidden[:, 0], rtol=1e-5, atol=1e-5)
        # The episode's moment sums (inter-OM's input) are those of the per-step posteriors.
        mu, var = mu[0].numpy(), np.exp(logvar[0].numpy())
        np.testing.assert_allclose(inf._sum1[j], mu.sum(0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(inf._sum2[j], (var + mu**2).sum(0), rtol=1e-4, atol=1e-5)
        assert inf._steps[j] == len(steps)
        if j == 3:
            continue
        # The decision's uncommitted step on the state after the last one is the sequence
        # computation one step longer (previous action: the last executed one).
        grids2 = torch.from_numpy(features.grids([*states, last], [j] * (len(states) + 1)))
        prev2 = torch.tensor([model.start_action, *executed])
        with torch.no_grad():
            mu2, logvar2, _ = model.posterior(grids2[None], prev2[None])
        got_mu, got_var = inf.posterior(last, [j])
        np.testing.assert_allclose(got_mu[0], mu2[0, -1].numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got_var[0], np.exp(logvar2[0, -1].numpy()), rtol=1e-4)
    # The posterior query did not advance the GRU; the focal seat was never stepped.
    assert inf._steps[0] == 0 and float(inf._hidden[:, 0].abs().sum()) == 0.0
    # start_episode: fresh GRU states and the start token.
    inf.start_episode()
    assert float(inf._hidden.abs().sum()) == 0.0
    assert (inf._prev == model.start_action).all()


# -- the latent goal table and goal space ------------------------------------------------------
def test_latent_goal_table_keys_capacity_and_errors() -> None:
    table = LatentGoalTable(2, 3)
    assert len(table) == 0
    assert table.add(1, [0.5, -1.0]) == 0 and table.add(3, np.array([2.0, 2.0])) == 1
    np.testing.assert_array_equal(table.vectors([1, 0, 1]), [[2, 2], [0.5, -1], [2, 2]])
    assert table.seat(0) == 1 and table.seat(1) == 3
    assert table.contains(1) and not table.contains(2) and not table.contains(None)
    with pytest.raises(ValueError, match=r"goal 2 is not a subgoal of this decision \(keys 0..1\)"):
        table.vectors([0, 2])
    with pytest.raises(ValueError, match="goal -1 is not a subgoal"):
        table.vectors([-1])
    with pytest.raises(ValueError, match="2 finite numbers"):
        table.add(1, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        table.add(1, [np.nan, 0.0])
    assert table.add(2, [0.0, 0.0]) == 2
    with pytest.raises(ValueError, match="at most 3 subgoals"):
        table.add(1, [0.0, 0.0])
    table.clear()
    assert len(table) == 0 and not table.contains(0)
    with pytest.raises(ValueError, match="not a subgoal"):
        table.vectors([0])
    assert table.add(2, [7.0, 7.0]) == 0  # keys start again at 0
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match="goal_dim"):
            LatentGoalTable(bad, 3)
        with pytest.raises(ValueError, match="capacity"):
            LatentGoalTable(2, bad)


def three_key_space():
    """Stag-hunt rules, a table with one 2-d key per co-player seat 1, 2, 3 (keys 0, 1, 2),
    its goal space and a fresh state."""
    rules = env_rules()
    table = LatentGoalTable(2, 8)
    for j in (1, 2, 3):
        table.add(j, [float(j), 0.0])
    return rules, table, LatentGoalSpace(rules.goals, table), rules.reset(np.random.default_rng(0))


def test_latent_goal_space_says_every_table_key_exists() -> None:
    rules, table, space, state = three_key_space()
    assert [space.exists(state, g) for g in (0, 1, 2, 3, None, IDLE, -2)] == [
        True,
        True,
        True,
        False,
        True,
        True,
        False,
    ]
    assert space.available(state) == [0, 1, 2]
    goals = np.array([0, 2, 3, IDLE, -5, 100])
    got = space.exists_batch(np.zeros((6, 1)), np.zeros((6, 1), bool), np.zeros((6, 1)), goals)
    np.testing.assert_array_equal(got, [True, True, False, True, False, False])
    with pytest.raises(TypeError, match="not goal planes"):
        space.encode([0])
    assert space.event_key == rules.goals.event_key
    table.add(1, [0.0, 0.0])  # the space reads the live table
    assert space.exists(state, 3)


def test_latent_rules_swap_only_the_goal_space() -> None:
    for env_id in (SH, SD):
        rules = env_rules(env_id)
        goals = rules.goals
        table = LatentGoalTable(2, 4)
        table.add(1, [0.0, 0.0])
        lrules = latent_rules(rules, table)
        assert rules.goals is goals and not isinstance(rules.goals, LatentGoalSpace)
        assert isinstance(lrules.goals, LatentGoalSpace) and lrules.goals.base is goals
        assert lrules.goals.table is table
        rng = np.random.default_rng(3)
        a = rules.reset(rng)
        b = a.copy()
        for _ in range(10):
            actions = [int(rng.integers(rules.num_actions)) for _ in range(rules.num_players)]
            np.testing.assert_array_equal(rules.action_masks(a), lrules.action_masks(b))
            out_a, out_b = rules.step(a, actions), lrules.step(b, actions)
            for x, y in zip(out_a, out_b, strict=True):
                np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(a.player_pos, b.player_pos)
            np.testing.assert_array_equal(a.active, b.active)
            if a.over:
                break


# -- pi(a | s, z) ------------------------------------------------------------------------------
def hand_probs(model, rules, states, players, z) -> np.ndarray:
    """softmax of the policy head's raw logits, masked by the game's action masks."""
    grids = torch.from_numpy(FeatureBuilder(rules).grids(states, players))
    times = torch.tensor([s.t / rules.config.max_cycles for s in states], dtype=torch.float32)
    with torch.no_grad():
        h = model.policy_trunk(grids)
        raw = model.policy_head(torch.cat([h, torch.from_numpy(z), times[:, None]], dim=1))
    raw = raw.numpy().astype(np.float64)
    masks = np.stack([rules.action_mask(s, p) for s, p in zip(states, players, strict=True)])
    masks = masks.astype(bool)
    e = np.where(masks, np.exp(raw - raw.max(axis=1, keepdims=True)), 0.0)
    return e / e.sum(axis=1, keepdims=True), masks


@pytest.mark.parametrize("env_id", [SH, SD])
def test_latent_policy_is_the_softmax_of_the_policy_head_at_each_keys_z(env_id) -> None:
    rules = env_rules(env_id)
    model = small_model(rules, goal_dim=3, seed=2)
    table = LatentGoalTable(3, 16)
    rng = np.random.default_rng(0)
    zs = rng.normal(size=(3, 3)).astype(np.float32) * 3
    for j, z in zip((1, 2, 3), zs, strict=True):
        table.add(j, z)
    policy = LatentCoplayerPolicy(model, latent_rules(rules, table), table)
    walk, _ = random_walk(rules, 12, seed=5)
    states = [s for s, _ in walk]
    players = [int(p) for p in rng.integers(1, rules.num_players, size=len(states))]
    keys = [int(k) for k in rng.integers(0, 3, size=len(states))]
    got = policy.action_probs(
        [PolicyQuery(s, p, k) for s, p, k in zip(states, players, keys, strict=True)]
    )
    want, masks = hand_probs(model, rules, states, players, zs[keys])
    assert not masks.all()  # some actions are masked
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert (got[~masks] == 0.0).all()
    np.testing.assert_allclose(got.sum(axis=1), 1.0)
    # The key matters: another key's z gives other probabilities.
    other = policy.action_probs([PolicyQuery(states[0], players[0], (keys[0] + 1) % 3)])
    assert not np.allclose(other[0], got[0])
    # Batched queries give the same answers.
    batch = BatchedState.stack(states)
    batched = policy.batch_action_probs(batch, np.arange(len(states)), players, keys)
    np.testing.assert_allclose(batched, got, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        policy.probs_for(states, players, zs[keys]), got, rtol=1e-6, atol=1e-8
    )
    assert policy.action_probs([]).shape == (0, rules.num_actions)


def test_latent_policy_rejects_goal_free_and_unknown_queries() -> None:
    rules = env_rules()
    model = small_model(rules, goal_dim=2)
    table = LatentGoalTable(2, 4)
    table.add(1, [0.0, 1.0])
    policy = LatentCoplayerPolicy(model, latent_rules(rules, table), table)
    state = rules.reset(np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"query 1 \(player 2\) has goal None"):
        policy.action_probs([PolicyQuery(state, 1, 0), PolicyQuery(state, 2, None)])
    with pytest.raises(ValueError, match="goal 1 is not a subgoal"):
        policy.action_probs([PolicyQuery(state, 1, 1)])
    with pytest.raises(ValueError, match="goal_dim is 2"):
        LatentCoplayerPolicy(model, rules, LatentGoalTable(3, 4))
    with pytest.raises(TypeError, match="SubgoalModel"):
        LatentCoplayerPolicy(object(), rules, table)
