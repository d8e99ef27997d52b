"""Goal beliefs: Bayes updates, goals that disappear, the fallback and the inter-episode EMA,
all against numbers worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.hop.beliefs import BeliefConfig, GoalBeliefs, InterEpisodePrior
from agents.hop.goal_sampling import BeliefGoalSampler
from agents.hop.goals import CoplayerOutcome, goal_exists
from agents.hop.interfaces import IDLE, PolicyQuery
from hop_envs.core import (
    HARE,
    HUNT_HARE,
    HUNT_STAG,
    REMOVE,
    STAG,
    STAY,
    GridLayout,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
OPEN_2x4 = GridLayout.from_walls(np.zeros((2, 4), dtype=bool))
STAG_RULES = StagHuntRules(
    StagHuntConfig(num_players=3, height=2, width=4, num_stags=1, num_hares=1, num_wall_pieces=0)
)
DRIFT_RULES = SnowdriftRules(
    SnowdriftConfig(num_players=3, height=2, width=4, num_drifts=3, num_wall_pieces=0)
)


def row(**probs: float) -> np.ndarray:
    """A 7-action stag-hunt probability row from action names."""
    names = {"up": UP, "down": DOWN, "left": LEFT, "right": RIGHT, "stay": STAY}
    out = np.zeros(7)
    for name, p in probs.items():
        out[names[name]] = p
    return out


class TablePolicy:
    """A CoplayerPolicy answering from a table ``(player, goal) -> row``; records calls."""

    def __init__(self, table: dict) -> None:
        self.table = table
        self.calls: list[list[PolicyQuery]] = []

    def action_probs(self, queries):
        self.calls.append(list(queries))
        return np.stack([self.table[(q.player, q.goal)] for q in queries])


def stag_state(players=(0, 1, 6), alive=(True, True)):
    """2x4 grid (cells 0-3 top, 4-7 bottom), stag at 3, hare at 4."""
    return STAG_RULES.state_from_positions(OPEN_2x4, list(players), [3, 4], object_alive=alive)


def step(rules, state, joint):
    nxt = state.copy()
    rules.step(nxt, joint)
    return nxt


def test_two_bayes_updates_by_hand():
    policy = TablePolicy(
        {
            (1, STAG): row(right=0.8, left=0.1, stay=0.1),
            (1, HARE): row(right=0.2, left=0.7, stay=0.1),
            (2, STAG): row(stay=0.5, up=0.5),
            (2, HARE): row(stay=0.5, up=0.5),
        }
    )
    beliefs = GoalBeliefs(STAG_RULES, policy, focal_seat=0, config=BeliefConfig(inter=False))
    s0 = stag_state()
    beliefs.start_episode(s0)
    assert beliefs.posterior(1) == {STAG: 0.5, HARE: 0.5, IDLE: 0.0}
    s1 = step(STAG_RULES, s0, [STAY, RIGHT, STAY])
    beliefs.update(s0, {0: STAY, 1: RIGHT, 2: STAY}, s1)
    assert beliefs.posterior(1)[STAG] == pytest.approx(0.8)
    # One batched call: both co-players, both goals with mass (IDLE has none), never the focal.
    assert len(policy.calls) == 1
    asked = sorted((q.player, q.goal) for q in policy.calls[0])
    assert asked == [(1, STAG), (1, HARE), (2, STAG), (2, HARE)]
    assert all(q.state is s0 for q in policy.calls[0])
    policy.table[(1, STAG)] = row(right=0.6, stay=0.4)
    policy.table[(1, HARE)] = row(right=0.3, stay=0.7)
    s2 = step(STAG_RULES, s1, [STAY, RIGHT, STAY])
    beliefs.update(s1, {0: STAY, 1: RIGHT, 2: STAY}, s2)
    # 0.5*0.8*0.6 / (0.5*0.8*0.6 + 0.5*0.2*0.3) = 0.48 / 0.54 = 8/9
    assert beliefs.posterior(1)[STAG] == pytest.approx(8 / 9)
    assert beliefs.posterior(1)[HARE] == pytest.approx(1 / 9)
    assert beliefs.posterior(2) == {STAG: 0.5, HARE: 0.5, IDLE: 0.0}
    assert beliefs.fallbacks == 0


def test_likelihood_floor_by_hand():
    policy = TablePolicy(
        {
            (j, g): row(right=0.8, stay=0.2) if g == STAG else row(right=0.2, stay=0.8)
            for j in (1, 2)
            for g in (STAG, HARE)
        }
    )
    config = BeliefConfig(inter=False, likelihood_floor=0.1)
    beliefs = GoalBeliefs(STAG_RULES, policy, 0, config)
    s0 = stag_state()
    beliefs.start_episode(s0)
    beliefs.update(s0, {0: STAY, 1: RIGHT, 2: STAY}, step(STAG_RULES, s0, [STAY, RIGHT, STAY]))
    # (0.9*0.8 + 0.1) / ((0.9*0.8 + 0.1) + (0.9*0.2 + 0.1)) = 0.82 / 1.10
    assert beliefs.posterior(1)[STAG] == pytest.approx(0.82 / 1.10)


def test_an_illegal_observed_action_counts_as_the_stay_it_ran_as():
    policy = TablePolicy(
        {
            (j, g): row(right=0.9, stay=0.1) if g == STAG else row(right=0.7, stay=0.3)
            for j in (1, 2)
            for g in (STAG, HARE)
        }
    )
    beliefs = GoalBeliefs(STAG_RULES, policy, 0, BeliefConfig(inter=False))
    s0 = stag_state()
    beliefs.start_episode(s0)
    # Seat 1 at cell 1 is not on a stag: its hunt-stag runs as stay.
    beliefs.update(s0, {0: STAY, 1: HUNT_STAG, 2: STAY}, step(STAG_RULES, s0, [STAY, STAY, STAY]))
    assert beliefs.posterior(1)[STAG] == pytest.approx(0.1 / 0.4)


def test_a_goal_that_disappears_gets_zero():
    uniform = row(stay=0.5, up=0.5)
    policy = TablePolicy({(j, g): uniform for j in (1, 2) for g in (STAG, HARE)})
    policy.table[(2, HARE)] = np.eye(7)[HUNT_HARE]
    policy.table[(2, STAG)] = np.zeros(7)
    beliefs = GoalBeliefs(STAG_RULES, policy, 0, BeliefConfig(inter=False))
    s0 = stag_state(players=(0, 1, 4))  # seat 2 stands on the hare
    beliefs.start_episode(s0, priors={1: {STAG: 0.1, HARE: 0.9}})
    s1 = step(STAG_RULES, s0, [STAY, STAY, HUNT_HARE])  # seat 2 takes the hare and leaves
    assert not s1.active[2] and not s1.object_alive[1]
    beliefs.update(s0, {0: STAY, 1: STAY, 2: HUNT_HARE}, s1)
    assert beliefs.posterior(1) == {STAG: 1.0, HARE: 0.0, IDLE: 0.0}
    assert beliefs.posterior(2)[HARE] == 1.0  # it left: its last posterior is kept
    assert beliefs.fallbacks == 0
    assert beliefs.sample_goals(np.random.default_rng(0)).keys() == {1}


def test_snowdrift_removed_drift_gets_zero():
    policy = TablePolicy({})
    beliefs = GoalBeliefs(DRIFT_RULES, policy, 0, BeliefConfig(inter=False, intra=False))
    s0 = DRIFT_RULES.state_from_positions(OPEN_2x4, [0, 1, 7], [3, 5, 7])
    beliefs.start_episode(s0)
    assert beliefs.posterior(1) == {3: 0.25, 5: 0.25, 7: 0.25, IDLE: 0.25}
    s1 = step(DRIFT_RULES, s0, [STAY, STAY, REMOVE])
    beliefs.update(s0, {0: STAY, 1: STAY, 2: REMOVE}, s1)
    assert policy.calls == []  # intra-OM off: no likelihoods
    assert beliefs.posterior(1) == pytest.approx({3: 1 / 3, 5: 1 / 3, 7: 0.0, IDLE: 1 / 3})


def test_fallback_when_every_goal_reaches_zero():
    never = row(up=1.0)  # the observed action (stay) has probability 0 under every goal
    policy = TablePolicy({(j, g): never for j in (1, 2) for g in (STAG, HARE)})
    beliefs = GoalBeliefs(STAG_RULES, policy, 0, BeliefConfig(inter=False))
    s0 = stag_state()
    beliefs.start_episode(s0, priors={1: {STAG: 0.7, HARE: 0.3}, 2: {HARE: 1.0}})
    s1 = step(STAG_RULES, s0, [STAY, STAY, STAY])
    beliefs.update(s0, {0: STAY, 1: STAY, 2: STAY}, s1)
    assert beliefs.posterior(1) == pytest.approx({STAG: 0.7, HARE: 0.3, IDLE: 0.0})
    assert beliefs.fallbacks == 2
    # The hare is gone in the next state (given by hand): seat 2's prior has no mass on what
    # is left, so its fallback is uniform over the available goals (the stag only).
    s2 = stag_state(alive=(True, False))
    beliefs.update(s1, {0: STAY, 1: STAY, 2: STAY}, s2)
    assert beliefs.posterior(2) == {STAG: 1.0, HARE: 0.0, IDLE: 0.0}
    assert beliefs.posterior(1) == {STAG: 1.0, HARE: 0.0, IDLE: 0.0}  # 0.7 renormalised
    assert beliefs.fallbacks == 4


def test_without_intra_om_only_disappearing_goals_change_the_belief():
    policy = TablePolicy({})
    beliefs = GoalBeliefs(STAG_RULES, policy, 0, BeliefConfig(inter=False, intra=False))
    s0 = stag_state()
    beliefs.start_episode(s0)
    beliefs.update(s0, {0: STAY, 1: RIGHT, 2: STAY}, step(STAG_RULES, s0, [STAY, RIGHT, STAY]))
    assert beliefs.posterior(1) == {STAG: 0.5, HARE: 0.5, IDLE: 0.0}
    assert policy.calls == []


# -- inter-OM ---------------------------------------------------------------------------------
def outcome(seat, captured=None, steps=6, censored=False):
    """A stag-hunt outcome: a capturer's steps are all labelled with its prey, a non-capturer's
    all IDLE (so it pursued on every step or on none)."""
    if captured is None:
        return CoplayerOutcome(seat, steps, (), 0, censored)
    return CoplayerOutcome(seat, steps, (captured,), steps, censored)


def drift_outcome(seat, removed=(), pursuing=0, steps=6):
    """A snowdrift outcome: the cells it removed and its steps labelled with a drift."""
    return CoplayerOutcome(seat, steps, tuple(removed), pursuing, False)


def test_stag_hunt_ema_after_three_episodes_by_hand():
    inter = InterEpisodePrior(STAG_RULES, alpha=0.99, pseudo_count=1.0)
    inter.update([outcome(1, STAG)])
    inter.update([outcome(1, HARE)])
    inter.update([outcome(1, None), outcome(2, None, censored=True)])
    # Weights: stag episode 0.99^2 = 0.9801, hare 0.99, nothing 1 -> total 2.9701.
    summary = inter.summary(1)
    assert summary.weight == pytest.approx(2.9701)
    # Captures per episode: (0.9801 + 0.99 + 0) / 2.9701.
    assert summary.achievements == pytest.approx(1.9701 / 2.9701)
    # Pursued in 0.9801 + 0.99 = 1.9701; with one pseudo-episode at 1: 2.9701 / 3.9701.
    pursue = 2.9701 / 3.9701
    assert summary.pursue == pytest.approx(pursue)
    # Captures: stag 0.9801, hare 0.99 (weight 1.9701) plus one pseudo-episode at (1/2, 1/2).
    assert summary.preference == pytest.approx([1.4801 / 2.9701, 1.49 / 2.9701])
    prior = inter.prior(1, stag_state())
    assert prior == pytest.approx(
        {STAG: pursue * 1.4801 / 2.9701, HARE: pursue * 1.49 / 2.9701, IDLE: 1 - pursue}
    )
    # Only hares left: the preference is renormalised over them.
    assert inter.prior(1, stag_state(alive=(False, True))) == pytest.approx(
        {HARE: pursue, IDLE: 1 - pursue}
    )
    # Seat 2's only episode was censored: it still has the uninformed prior.
    assert inter.prior(2, stag_state()) == {STAG: 0.5, HARE: 0.5, IDLE: 0.0}


def test_alpha_zero_keeps_only_the_last_episode():
    inter = InterEpisodePrior(STAG_RULES, alpha=0.0, pseudo_count=1.0)
    inter.update([outcome(1, STAG)])
    inter.update([outcome(1, HARE)])
    summary = inter.summary(1)
    assert summary.pursue == pytest.approx(1.0)
    assert summary.preference == pytest.approx([0.25, 0.75])  # ([0, 1] + 0.5) / 2


def test_snowdrift_ema_by_hand():
    inter = InterEpisodePrior(DRIFT_RULES, alpha=0.5, pseudo_count=1.0)
    state = DRIFT_RULES.state_from_positions(OPEN_2x4, [0, 1, 2], [3, 5, 7])
    assert inter.prior(1, state) == pytest.approx({3: 0.25, 5: 0.25, 7: 0.25, IDLE: 0.25})
    inter.update([drift_outcome(1, removed=(3, 7), pursuing=4)])
    inter.update([drift_outcome(1)])
    summary = inter.summary(1, uninformed_pursue=0.75)
    # Weight 0.5 + 1 = 1.5; removals (0.5*2 + 0) / 1.5; pursue (0.5*4/6 + 0.75) / 2.5.
    assert summary.achievements == pytest.approx(2 / 3)
    assert summary.preference is None  # drift cells are drawn anew every episode
    pursue = (0.5 * 4 / 6 + 0.75) / 2.5
    assert summary.pursue == pytest.approx(pursue)
    assert inter.prior(1, state) == pytest.approx(
        {3: pursue / 3, 5: pursue / 3, 7: pursue / 3, IDLE: 1 - pursue}
    )


def test_the_inter_prior_seeds_the_next_episode():
    uniform = row(stay=0.5, up=0.5)
    policy = TablePolicy({(j, g): uniform for j in (1, 2) for g in (STAG, HARE, IDLE)})
    beliefs = GoalBeliefs(STAG_RULES, policy, 0, BeliefConfig(alpha=0.99, pseudo_count=1.0))
    beliefs.start_episode(stag_state())
    assert beliefs.prior(1) == {STAG: 0.5, HARE: 0.5, IDLE: 0.0}
    beliefs.end_episode([outcome(0, HARE), outcome(1, STAG), outcome(2, None)])
    beliefs.start_episode(stag_state())
    # Seat 1: pursue (1 + 1)/(1 + 1) = 1, stag (1 + 0.5)/(1 + 1) = 0.75.
    assert beliefs.prior(1) == pytest.approx({STAG: 0.75, HARE: 0.25, IDLE: 0.0})
    # Seat 2 captured nothing: pursue (0 + 1)/(1 + 1) = 1/2, preference still even.
    assert beliefs.prior(2) == pytest.approx({STAG: 0.25, HARE: 0.25, IDLE: 0.5})
    assert beliefs.posterior(2) == beliefs.prior(2)
    assert beliefs.inter.summary(0).weight == 0.0  # the focal agent's own outcome is ignored
    # Without inter-OM the prior stays uniform over the available goals.
    plain = GoalBeliefs(STAG_RULES, policy, 0, BeliefConfig(inter=False))
    plain.end_episode([outcome(1, STAG)])
    plain.start_episode(stag_state())
    assert plain.prior(1) == {STAG: 0.5, HARE: 0.5, IDLE: 0.0}
    beliefs.reset()
    beliefs.start_episode(stag_state())
    assert beliefs.prior(2) == {STAG: 0.5, HARE: 0.5, IDLE: 0.0}


# -- sampling ---------------------------------------------------------------------------------
def test_sample_goals_follows_the_posterior_and_the_seed():
    beliefs = GoalBeliefs(STAG_RULES, TablePolicy({}), 0, BeliefConfig(inter=False))
    beliefs.start_episode(stag_state(), priors={1: {STAG: 0.8, HARE: 0.2}, 2: {IDLE: 1.0}})
    rng = np.random.default_rng(0)
    draws = [beliefs.sample_goals(rng) for _ in range(4000)]
    assert all(d[2] == IDLE for d in draws)
    assert np.mean([d[1] == STAG for d in draws]) == pytest.approx(0.8, abs=0.025)
    a = [beliefs.sample_goals(np.random.default_rng(5)) for _ in range(3)]
    b = [beliefs.sample_goals(np.random.default_rng(5)) for _ in range(3)]
    assert a == b
    # The planner's goal sampler accepts the beliefs as they are.
    sampler = BeliefGoalSampler(STAG_RULES, beliefs.weights())
    assert sampler(stag_state(), 2, np.random.default_rng(0)) == IDLE


def test_snowdrift_orderings_start_from_the_posterior_and_end_idle():
    beliefs = GoalBeliefs(DRIFT_RULES, TablePolicy({}), 0, BeliefConfig(inter=False))
    s0 = DRIFT_RULES.state_from_positions(OPEN_2x4, [0, 1, 2], [3, 5, 7])
    beliefs.start_episode(s0, priors={1: {5: 1.0}, 2: {IDLE: 1.0}})
    orderings = beliefs.sample_orderings(np.random.default_rng(1))
    assert orderings[2] == [IDLE]
    assert orderings[1][0] == 5 and orderings[1][-1] == IDLE
    assert sorted(orderings[1][1:3]) == [3, 7]
    seen = {tuple(beliefs.sample_orderings(np.random.default_rng(s))[1]) for s in range(30)}
    assert seen == {(5, 3, 7, IDLE), (5, 7, 3, IDLE)}


def test_snowdrift_orderings_without_history_take_every_drift_even_with_inter_om():
    beliefs = GoalBeliefs(DRIFT_RULES, TablePolicy({}), 0, BeliefConfig(intra=False))
    s0 = DRIFT_RULES.state_from_positions(OPEN_2x4, [0, 1, 2], [3, 5, 7])
    beliefs.start_episode(s0, priors={1: {5: 1.0}, 2: {3: 1.0}})
    assert beliefs.expected_remaining(1) is None
    for seed in range(10):
        orderings = beliefs.sample_orderings(np.random.default_rng(seed))
        assert orderings[1][0] == 5 and sorted(orderings[1][1:3]) == [3, 7]
        assert orderings[1][3:] == [IDLE]


def one_removal_history(config=None):
    """Snowdrift beliefs whose co-player 1 removed exactly one drift in each of 2 episodes
    (co-player 2: three) and is now sure to head for the drift at 5 (first on its cell)."""
    beliefs = GoalBeliefs(DRIFT_RULES, TablePolicy({}), 0, config or BeliefConfig(intra=False))
    for _ in range(2):
        beliefs.end_episode([drift_outcome(1, (3,), 2), drift_outcome(2, (3, 5, 7), 5)])
    s0 = DRIFT_RULES.state_from_positions(OPEN_2x4, [0, 5, 2], [3, 5, 7])
    beliefs.start_episode(s0, priors={1: {5: 1.0}, 2: {3: 1.0}})
    return beliefs, s0


def test_orderings_follow_the_inter_om_removal_count():
    beliefs, s0 = one_removal_history()
    # One removal per episode, none yet: it removes its first drift, then idles.
    assert beliefs.expected_remaining(1) == pytest.approx(1.0)
    # Three per episode and three drifts: the first, the two others in random order, IDLE.
    assert beliefs.expected_remaining(2) == pytest.approx(3.0)
    seen = set()
    for seed in range(20):
        orderings = beliefs.sample_orderings(np.random.default_rng(seed))
        assert orderings[1] == [5, IDLE]
        assert orderings[2][0] == 3 and sorted(orderings[2][1:3]) == [5, 7]
        assert orderings[2][3] == IDLE
        seen.add(tuple(orderings[2]))
    assert seen == {(3, 5, 7, IDLE), (3, 7, 5, IDLE)}
    # Seat 1 removes the drift at 5 (seat 2 walks): its one removal of the episode is done.
    s1 = step(DRIFT_RULES, s0, [STAY, REMOVE, LEFT])
    beliefs.update(s0, {0: STAY, 1: REMOVE, 2: LEFT}, s1)
    assert (beliefs.achieved(1), beliefs.achieved(2)) == (1, 0)
    assert beliefs.expected_remaining(1) == 0.0
    for seed in range(20):
        assert beliefs.sample_orderings(np.random.default_rng(seed))[1] == [IDLE]
    # A new episode starts the count again.
    beliefs.start_episode(s0, priors={1: {5: 1.0}, 2: {3: 1.0}})
    assert beliefs.achieved(1) == 0
    assert beliefs.sample_orderings(np.random.default_rng(0))[1] == [5, IDLE]


def test_orderings_round_a_fractional_removal_count_at_random():
    # alpha = 1: episodes weigh equally; removals 1 and 2 -> 1.5 per episode. So with 0
    # removed so far the co-player goes on to remove 1 or 2 drifts, each with chance 1/2:
    # orderings [5, IDLE] or [5, d, IDLE] with d one of the other two drifts.
    beliefs = GoalBeliefs(DRIFT_RULES, TablePolicy({}), 0, BeliefConfig(alpha=1.0, intra=False))
    beliefs.end_episode([drift_outcome(1, (3,), 2)])
    beliefs.end_episode([drift_outcome(1, (3, 7), 4)])
    s0 = DRIFT_RULES.state_from_positions(OPEN_2x4, [0, 1, 2], [3, 5, 7])
    beliefs.start_episode(s0, priors={1: {5: 1.0}})
    assert beliefs.expected_remaining(1) == pytest.approx(1.5)
    rng = np.random.default_rng(3)
    lengths = [len(beliefs.sample_orderings(rng)[1]) for _ in range(4000)]
    assert set(lengths) == {2, 3}
    assert np.mean(np.asarray(lengths) == 3) == pytest.approx(0.5, abs=0.03)


def test_orderings_ignore_the_removal_count_without_inter_om():
    beliefs, _ = one_removal_history(BeliefConfig(inter=False, intra=False))
    assert beliefs.expected_remaining(1) is None
    orderings = beliefs.sample_orderings(np.random.default_rng(0))
    assert orderings[1][0] == 5 and sorted(orderings[1][1:3]) == [3, 7]


def test_stag_hunt_orderings_are_the_drawn_goal_alone():
    beliefs = GoalBeliefs(STAG_RULES, TablePolicy({}), 0, BeliefConfig(intra=False))
    beliefs.end_episode([outcome(1, STAG), outcome(2, None)])
    beliefs.start_episode(stag_state(), priors={1: {HARE: 1.0}, 2: {IDLE: 1.0}})
    for seed in range(5):
        assert beliefs.sample_orderings(np.random.default_rng(seed)) == {1: [HARE], 2: [IDLE]}


def test_updates_count_captures_in_the_stag_hunt():
    beliefs = GoalBeliefs(STAG_RULES, TablePolicy({}), 0, BeliefConfig(intra=False))
    s0 = stag_state(players=(3, 4, 3))  # p0 and p2 on the stag, p1 on the hare
    beliefs.start_episode(s0)
    joint = [HUNT_STAG, HUNT_HARE, HUNT_STAG]
    beliefs.update(s0, dict(enumerate(joint)), step(STAG_RULES, s0, joint))
    assert (beliefs.achieved(1), beliefs.achieved(2)) == (1, 1)


def test_any_number_of_players_in_one_batched_call():
    rules = StagHuntRules(StagHuntConfig(num_players=6, grid_size=4, num_wall_pieces=0))
    policy = TablePolicy(
        {
            (j, g): row(stay=0.5, up=0.5) if g == STAG else row(stay=0.25, up=0.75)
            for j in range(6)
            for g in (STAG, HARE)
        }
    )
    beliefs = GoalBeliefs(rules, policy, focal_seat=3, config=BeliefConfig(inter=False))
    state = rules.reset(np.random.default_rng(0))
    beliefs.start_episode(state)
    joint = [STAY] * 6
    beliefs.update(state, dict(enumerate(joint)), step(rules, state, joint))
    assert len(policy.calls) == 1 and len(policy.calls[0]) == 10
    for j in (0, 1, 2, 4, 5):
        assert beliefs.posterior(j)[STAG] == pytest.approx(0.5 / 0.75)
    with pytest.raises(KeyError, match="no belief for seat 3"):
        beliefs.posterior(3)


def test_bad_settings_and_misuse_raise_clear_errors():
    with pytest.raises(ValueError, match=r"alpha must be in \[0.0, 1.0\], got 1.5"):
        BeliefConfig(alpha=1.5)
    with pytest.raises(ValueError, match=r"likelihood_floor must be in \[0.0, 1.0\), got 1.0"):
        BeliefConfig(likelihood_floor=1.0)
    with pytest.raises(ValueError, match="pseudo_count must be in"):
        BeliefConfig(pseudo_count=-1.0)
    with pytest.raises(ValueError, match="intra must be a bool"):
        BeliefConfig(intra=1)  # type: ignore[arg-type]
    beliefs = GoalBeliefs(STAG_RULES, TablePolicy({}), 0)
    s0 = stag_state()
    with pytest.raises(RuntimeError, match=r"call start_episode\(state\) first"):
        beliefs.update(s0, {}, s0)
    beliefs.start_episode(s0)
    with pytest.raises(ValueError, match=r"keyed by seats in \[0, 2\], got keys \['player_1'\]"):
        beliefs.update(s0, {"player_1": STAY}, s0)  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r"action of seat 1 must be in \[0, 6\], got 7"):
        beliefs.update(s0, {1: 7}, s0)
    with pytest.raises(ValueError, match=r"names goals \[7\] that are not goals of this state"):
        beliefs.start_episode(s0, priors={1: {7: 1.0}})
    with pytest.raises(ValueError, match="finite weights >= 0"):
        beliefs.start_episode(s0, priors={1: {STAG: -1.0}})
    with pytest.raises(ValueError, match=r"focal_seat must be in \[0, 2\], got 5"):
        GoalBeliefs(STAG_RULES, TablePolicy({}), 5)


class RandomPolicy:
    """Likelihoods drawn at random per query (zero on masked actions), to exercise updates."""

    def __init__(self, rules, seed: int) -> None:
        self.rules = rules
        self.rng = np.random.default_rng(seed)

    def action_probs(self, queries):
        rows = []
        for q in queries:
            mask = self.rules.action_mask(q.state, q.player).astype(float)
            weights = self.rng.random(mask.shape) * mask
            weights[self.rng.random(mask.shape) < 0.2] = 0.0  # some actions ruled out
            rows.append(weights / weights.sum() if weights.sum() > 0 else mask / mask.sum())
        return np.stack(rows)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), drift=st.booleans(), floor=st.sampled_from([0.0, 0.05]))
def test_beliefs_stay_distributions_over_existing_goals(seed, drift, floor):
    rules = (
        SnowdriftRules(SnowdriftConfig(num_players=3, grid_size=4, num_drifts=4))
        if drift
        else StagHuntRules(StagHuntConfig(num_players=3, grid_size=4, num_wall_pieces=0))
    )
    rng = np.random.default_rng(seed)
    beliefs = GoalBeliefs(rules, RandomPolicy(rules, seed), 0, BeliefConfig(likelihood_floor=floor))
    state = rules.reset(rng)
    beliefs.start_episode(state)
    while not state.over and state.active[0]:
        joint = [int(rng.choice(np.flatnonzero(m))) for m in rules.action_masks(state)]
        nxt = state.copy()
        rules.step(nxt, joint)
        beliefs.update(state, {j: joint[j] for j in range(3) if state.active[j]}, nxt)
        for j in (1, 2):
            if not nxt.active[j]:
                continue
            posterior = beliefs.posterior(j)
            assert sum(posterior.values()) == pytest.approx(1.0)
            assert all(p >= 0.0 for p in posterior.values())
            for goal, p in posterior.items():
                if p > 0.0:
                    assert goal_exists(rules, nxt, goal)
        state = nxt
