"""Beliefs over co-players' goals: within an episode (intra-OM) and across episodes (inter-OM).

**Intra-OM.** For every co-player j, a distribution b_j(g) over the goals of the episode's
start state plus ``IDLE`` (see :func:`~agents.hop.goals.goal_space`). It starts at the prior
(the inter-OM prior, or uniform over the available goals without inter-OM, or one given by
the caller) and after each joint step becomes, by Bayes' rule,
``b_j(g) ∝ b_j(g) · [(1 - ε) · pi(a_j | s, t, g) + ε]`` with one batched
:class:`~agents.hop.interfaces.CoplayerPolicy` call for all co-players and goals.
``ε = likelihood_floor`` (default 0: exact Bayes) lets a belief recover from a model that
gives the true goal's action probability 0. Goals that no longer exist after the step get 0.

*Fallback.* When every goal of a co-player reaches 0 (the model ruled out every goal still
there), its belief is reset to the episode's prior restricted to the goals that still exist,
renormalised; if the prior gives those no mass, to uniform over the available goals
(``IDLE`` when none is left). :attr:`GoalBeliefs.fallbacks` counts these resets.

**Inter-OM.** Per co-player, an exponential moving average over the trial's past episodes of
what it went for. We use the bias-corrected EMA (as in Adam): with weight ``alpha`` on the
past, an episode ``k`` episodes old weighs ``alpha**k`` and the estimate is the weighted
mean, so the first episode counts fully rather than being shrunk towards zero. ``alpha`` must
lie in [0, 1]: 0 keeps only the last episode, 1 weighs all episodes equally; HOP's range is
0.98-0.995 (default 0.99). Each estimate also holds ``pseudo_count`` episodes of the
uninformed prior, so one episode does not make a goal impossible. What a goal is comes from
the game (``rules.goals``, :mod:`hop_envs.core.goals`); the summaries are the same for every
game:

* ``pursue``: the chance the co-player pursues goals at all: the share of its steps whose
  hindsight label is a goal other than ``IDLE`` (stag hunt: 1 when it captured, 0 when it
  did not; snowdrift: the share of its steps spent heading to a drift it then removed);
* ``preference``: for goals that mean the same thing in every episode
  (``rules.goals.recurring_goals``: the stag hunt's prey kinds), how often it achieved each;
  None for goals drawn anew every episode (the snowdrift's drift cells);
* ``achievements``: the goals it achieves per episode (stag hunt: captures, at most 1;
  snowdrift: drifts removed), a plain discounted mean without pseudo-count.

The prior of a new episode is ``pursue · preference(g)`` over the live goals (uniform when
there is no preference) and ``1 - pursue`` on ``IDLE``. The uninformed value of ``pursue``
is the share of non-idle goals among the available ones, so with no history the prior is
exactly uniform over the available goals. Censored outcomes (see :mod:`agents.hop.goals`)
are skipped.

**Goal orderings.** :meth:`GoalBeliefs.sample_orderings` gives each planning tree, per
co-player, the goals it pursues in order; the tree moves a co-player on to the next goal of
its ordering that still exists when its goal disappears. The first goal is drawn from the
posterior. In a game where a player achieves at most one goal per episode (the stag hunt: a
capturer leaves) the ordering is that goal alone. Otherwise (the snowdrift) the number ``n``
of goals the co-player goes on to achieve this episode comes from the inter-OM: its expected
remaining count, ``achievements`` minus the goals it already achieved this episode
(:meth:`GoalBeliefs.update` counts them from the states), clipped at 0 and stochastically
rounded (``floor(r)``, plus one with probability ``r - floor(r)``), capped by the goals that
exist. ``n = 0`` gives ``[IDLE]``; otherwise the ordering is the first goal, ``n - 1`` other
goals in a uniformly random order, then ``IDLE``. So a co-player that removes one drift per
episode and has not removed one yet is planned as removing exactly one, and as idle once it
has. Without history (no past episode of that co-player, or inter-OM switched off) ``n`` is
unbounded: every other live goal follows the first in random order, then ``IDLE``. The
orderings are fixed per tree, so a co-player whose target is taken by someone else moves on
as if it had achieved it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from agents.hop.goals import CoplayerOutcome, executed_actions, goal_exists, goal_space
from agents.hop.interfaces import IDLE, CoplayerPolicy, Goal, PolicyQuery
from hop_envs.core import GridRules, GridState

__all__ = [
    "BeliefConfig",
    "CoplayerSummary",
    "GoalBeliefs",
    "InterEpisodePrior",
]


def _check_real(name: str, value: object, low: float, high: float, *, high_open: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise ValueError(f"BeliefConfig.{name} must be a number, got {value!r}")
    ok = low <= value < high if high_open else low <= value <= high
    if not ok:
        interval = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ValueError(f"BeliefConfig.{name} must be in {interval}, got {value!r}")


@dataclass(frozen=True)
class BeliefConfig:
    """Settings of the goal beliefs (module docstring). ``intra``/``inter`` switch the two
    levels off for HOP's ablations."""

    alpha: float = 0.99
    pseudo_count: float = 1.0
    likelihood_floor: float = 0.0
    intra: bool = True
    inter: bool = True

    def __post_init__(self) -> None:
        _check_real("alpha", self.alpha, 0.0, 1.0, high_open=False)
        _check_real("pseudo_count", self.pseudo_count, 0.0, float("inf"), high_open=True)
        _check_real("likelihood_floor", self.likelihood_floor, 0.0, 1.0, high_open=True)
        for name in ("intra", "inter"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"BeliefConfig.{name} must be a bool, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class CoplayerSummary:
    """Inter-OM estimates for one co-player (module docstring). ``preference`` is indexed
    like ``rules.goals.recurring_goals`` (None when the game's goals do not recur);
    ``achievements`` is None without history."""

    weight: float
    pursue: float | None
    preference: np.ndarray | None
    achievements: float | None


class InterEpisodePrior:
    """Discounted summaries of each co-player's past episodes in the trial (module docs)."""

    def __init__(self, rules: GridRules, alpha: float = 0.99, pseudo_count: float = 1.0) -> None:
        BeliefConfig(alpha=alpha, pseudo_count=pseudo_count)  # validates both
        self.rules = rules
        self.alpha = float(alpha)
        self.pseudo_count = float(pseudo_count)
        self.recurring = rules.goals.recurring_goals
        self._index = {g: i for i, g in enumerate(self.recurring or ())}
        self.reset()

    def reset(self) -> None:
        """Forget every co-player (a new trial)."""
        self._weight: dict[int, float] = {}
        self._pursue: dict[int, float] = {}
        self._achievements: dict[int, float] = {}
        self._goal_weight: dict[int, float] = {}
        self._goal_counts: dict[int, np.ndarray] = {}

    def update(self, outcomes: Iterable[CoplayerOutcome]) -> None:
        """Fold one episode's outcomes in (censored ones are skipped)."""
        a = self.alpha
        for o in outcomes:
            if o.censored:
                continue
            j = o.seat
            self._weight[j] = a * self._weight.get(j, 0.0) + 1.0
            self._pursue[j] = a * self._pursue.get(j, 0.0) + o.pursuing_fraction
            self._achievements[j] = a * self._achievements.get(j, 0.0) + o.achievements
            if self.recurring is not None:
                counts = a * self._goal_counts.get(j, np.zeros(len(self.recurring)))
                for g in o.achieved:
                    if g not in self._index:
                        raise ValueError(
                            f"InterEpisodePrior: seat {j} achieved goal {g!r}, not one of the "
                            f"game's recurring goals {list(self.recurring)}"
                        )
                    counts[self._index[g]] += 1.0
                self._goal_counts[j] = counts
                self._goal_weight[j] = a * self._goal_weight.get(j, 0.0) + len(o.achieved)

    def summary(self, seat: int, uninformed_pursue: float = 1.0) -> CoplayerSummary:
        """The estimates for ``seat``; ``uninformed_pursue`` is the pseudo-count's value."""
        c = self.pseudo_count
        w = self._weight.get(seat, 0.0)
        pursue = _blend(self._pursue.get(seat, 0.0), w, uninformed_pursue, c)
        achievements = self._achievements.get(seat, 0.0) / w if w > 0 else None
        preference = None
        if self.recurring is not None:
            k = len(self.recurring)
            uniform = np.full(k, 1.0 / k)
            gw = self._goal_weight.get(seat, 0.0)
            counts = self._goal_counts.get(seat, np.zeros(k))
            preference = (counts + c * uniform) / (gw + c) if gw + c > 0 else uniform
        return CoplayerSummary(w, pursue, preference, achievements)

    def prior(self, seat: int, state: GridState) -> dict[Goal, float]:
        """The prior over ``state``'s goals (and IDLE) for ``seat``'s next episode."""
        goals = goal_space(self.rules, state)
        targets = [g for g in goals if g != IDLE]
        if not targets:
            return {IDLE: 1.0}
        summary = self.summary(seat, uninformed_pursue=len(targets) / len(goals))
        pursue = float(summary.pursue)  # type: ignore[arg-type]
        if summary.preference is not None:
            pref = np.asarray([summary.preference[self._index[g]] for g in targets])
            pref = pref / pref.sum()
        else:
            pref = np.full(len(targets), 1.0 / len(targets))
        out = {g: pursue * float(p) for g, p in zip(targets, pref, strict=True)}
        out[IDLE] = 1.0 - pursue
        return out


def _blend(total: float, weight: float, uninformed: float, pseudo: float) -> float:
    """(discounted sum + pseudo-count x uninformed value) / (discounted weight + pseudo)."""
    if weight + pseudo <= 0:
        return uninformed
    return (total + pseudo * uninformed) / (weight + pseudo)


class GoalBeliefs:
    """Intra-OM goal beliefs for every co-player of ``focal_seat``, with an inter-OM prior.

    Lifecycle: :meth:`reset` (a new trial), :meth:`start_episode` (with the first state),
    :meth:`update` after every joint step, :meth:`end_episode` with the co-players'
    outcomes. :meth:`sample_goals` draws one goal per co-player for one planning tree.
    """

    def __init__(
        self,
        rules: GridRules,
        policy: CoplayerPolicy,
        focal_seat: int,
        config: BeliefConfig | None = None,
    ) -> None:
        n = rules.num_players
        if isinstance(focal_seat, bool) or not isinstance(focal_seat, int | np.integer):
            raise ValueError(f"GoalBeliefs: focal_seat must be an integer, got {focal_seat!r}")
        if not 0 <= focal_seat < n:
            raise ValueError(f"GoalBeliefs: focal_seat must be in [0, {n - 1}], got {focal_seat}")
        self.rules = rules
        self.policy = policy
        self.focal_seat = int(focal_seat)
        self.config = config or BeliefConfig()
        self.coplayers = [j for j in range(n) if j != self.focal_seat]
        self.inter = InterEpisodePrior(rules, self.config.alpha, self.config.pseudo_count)
        self.fallbacks = 0
        self._goals: dict[int, list[Goal]] = {}
        self._prior: dict[int, np.ndarray] = {}
        self._belief: dict[int, np.ndarray] = {}
        self._achieved: dict[int, int] = {}
        self._state: GridState | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def reset(self) -> None:
        """A new trial: forget the inter-episode history and the current beliefs."""
        self.inter.reset()
        self.fallbacks = 0
        self._goals, self._prior, self._belief, self._state = {}, {}, {}, None
        self._achieved = {}

    def start_episode(
        self, state: GridState, priors: Mapping[int, Mapping[Goal, float]] | None = None
    ) -> None:
        """Set every co-player's belief to its prior in the episode's first ``state``:
        ``priors[seat]`` if given, else the inter-OM prior (or uniform without inter-OM)."""
        self._state = state
        self._achieved = {j: 0 for j in self.coplayers}
        space = goal_space(self.rules, state)
        for j in self.coplayers:
            goals = [*space] if IDLE in space else [*space, IDLE]
            if priors is not None and j in priors:
                weights = self._given_prior(j, priors[j], goals)
            elif self.config.inter:
                inter = self.inter.prior(j, state)
                weights = np.asarray([inter.get(g, 0.0) for g in goals])
            else:
                weights = np.asarray([1.0 if g in space else 0.0 for g in goals])
            weights = weights * np.asarray([goal_exists(self.rules, state, g) for g in goals])
            if weights.sum() <= 0:
                weights = np.asarray([1.0 if g in space else 0.0 for g in goals])
                if weights.sum() <= 0:
                    weights = np.asarray([1.0 if g == IDLE else 0.0 for g in goals])
            self._goals[j] = goals
            self._prior[j] = weights / weights.sum()
            self._belief[j] = self._prior[j].copy()

    def update(self, state: GridState, actions: Mapping[int, int], next_state: GridState) -> None:
        """Bayes' rule for every co-player that acted in ``state`` (``actions``: seat ->
        action), then zero the goals gone in ``next_state`` (fallback if all are gone).
        Also counts the goals each co-player achieved in the step (:meth:`achieved`)."""
        if not self._belief:
            raise RuntimeError("GoalBeliefs.update: call start_episode(state) first")
        n = self.rules.num_players
        unknown = [j for j in actions if not (isinstance(j, int | np.integer) and 0 <= j < n)]
        if unknown:
            raise ValueError(
                f"GoalBeliefs.update: actions must be keyed by seats in [0, {n - 1}], "
                f"got keys {unknown}"
            )
        seats = [j for j in self.coplayers if j in actions and bool(state.active[j])]
        before = {j: self._belief[j].copy() for j in seats}
        executed = executed_actions(self.rules, state, {j: actions[j] for j in seats})
        for j in self.rules.goals.achieved_between(state, executed, next_state):
            self._achieved[j] = self._achieved.get(j, 0) + 1
        if self.config.intra and seats:
            queries: list[PolicyQuery] = []
            owners: list[tuple[int, int]] = []
            for j in seats:
                for i, g in enumerate(self._goals[j]):
                    if self._belief[j][i] > 0.0:
                        queries.append(PolicyQuery(state, j, g))
                        owners.append((j, i))
            if queries:
                probs = np.asarray(self.policy.action_probs(queries), dtype=np.float64)
                expected = (len(queries), self.rules.num_actions)
                if probs.shape != expected:
                    raise ValueError(
                        f"{type(self.policy).__name__}.action_probs returned shape "
                        f"{probs.shape}, expected {expected}"
                    )
                eps = self.config.likelihood_floor
                for q, (j, i) in enumerate(owners):
                    likelihood = probs[q, executed[j]]
                    self._belief[j][i] *= (1.0 - eps) * likelihood + eps
        for j in self.coplayers:
            if bool(next_state.active[j]):
                self._drop_missing(j, next_state)
            elif j in before:  # it left in this step: keep the normalised posterior
                total = self._belief[j].sum()
                self._belief[j] = self._belief[j] / total if total > 0 else before[j]
        self._state = next_state

    def end_episode(self, outcomes: Iterable[CoplayerOutcome]) -> None:
        """Fold the finished episode's outcomes into the inter-OM prior."""
        self.inter.update([o for o in outcomes if o.seat != self.focal_seat])

    # -- queries ---------------------------------------------------------------------------
    def posterior(self, seat: int) -> dict[Goal, float]:
        """The current belief over ``seat``'s goals (zeros included)."""
        if seat not in self._belief:
            raise KeyError(
                f"GoalBeliefs: no belief for seat {seat}; co-players with beliefs are "
                f"{sorted(self._belief)}"
            )
        return dict(zip(self._goals[seat], self._belief[seat].tolist(), strict=True))

    def prior(self, seat: int) -> dict[Goal, float]:
        """The episode's prior over ``seat``'s goals."""
        if seat not in self._prior:
            raise KeyError(f"GoalBeliefs: no prior for seat {seat}; call start_episode first")
        return dict(zip(self._goals[seat], self._prior[seat].tolist(), strict=True))

    def achieved(self, seat: int) -> int:
        """How many goals ``seat`` achieved so far this episode (counted by :meth:`update`)."""
        return self._achieved.get(seat, 0)

    def weights(self) -> dict[int, dict[Goal, float]]:
        """Every co-player's posterior (for ``goal_sampling.BeliefGoalSampler``)."""
        return {j: self.posterior(j) for j in self._belief}

    def sample_goals(self, rng: np.random.Generator) -> dict[int, Goal]:
        """One goal per co-player still in the game, drawn from its posterior."""
        out = {}
        for j in self._active_coplayers():
            goals, b = self._goals[j], self._belief[j]
            out[j] = goals[int(np.searchsorted(np.cumsum(b), rng.random() * b.sum(), "right"))]
        return out

    def sample_orderings(self, rng: np.random.Generator) -> dict[int, list[Goal]]:
        """Per co-player still in the game, an ordering of goals for one tree (module
        docstring): the first drawn from the posterior; where a player can achieve several
        goals, as many more as the inter-OM expects it to go on achieving (all the live goals
        without history) in a uniformly random order, then ``IDLE``."""
        first = self.sample_goals(rng)
        state = self._state
        assert state is not None  # sample_goals checked it
        single = self.rules.goals.max_achievements == 1
        out = {}
        for j, goal in first.items():
            if goal == IDLE:
                out[j] = [IDLE]
                continue
            if single:
                out[j] = [goal]
                continue
            rest = [g for g in goal_space(self.rules, state) if g not in (goal, IDLE)]
            count = self._remaining(j, rng, cap=len(rest) + 1)
            if count == 0:
                out[j] = [IDLE]
                continue
            order = rng.permutation(len(rest)).tolist()
            if count is not None:
                order = order[: count - 1]
            out[j] = [goal, *(rest[i] for i in order), IDLE]
        return out

    def expected_remaining(self, seat: int) -> float | None:
        """The inter-OM's expected number of goals ``seat`` goes on to achieve this episode
        (its achievements per episode minus those of this episode so far, at least 0); None
        without history or with inter-OM off."""
        if not self.config.inter:
            return None
        summary = self.inter.summary(seat)
        if summary.weight <= 0 or summary.achievements is None:
            return None
        return max(0.0, summary.achievements - self.achieved(seat))

    # -- helpers ---------------------------------------------------------------------------
    def _remaining(self, seat: int, rng: np.random.Generator, cap: int) -> int | None:
        """:meth:`expected_remaining`, stochastically rounded and capped at ``cap`` (None:
        no bound)."""
        expected = self.expected_remaining(seat)
        if expected is None:
            return None
        expected = round(expected, 9)  # an EMA of equal counts is that count, up to rounding
        count = int(np.floor(expected))
        if expected > count and rng.random() < expected - count:
            count += 1
        return min(count, cap)

    def _active_coplayers(self) -> list[int]:
        state = self._state
        if state is None:
            raise RuntimeError("GoalBeliefs: call start_episode(state) first")
        return [j for j in self.coplayers if j in self._belief and bool(state.active[j])]

    def _given_prior(self, seat: int, prior: Mapping[Goal, float], goals: list[Goal]) -> np.ndarray:
        unknown = [g for g in prior if g not in goals]
        if unknown:
            raise ValueError(
                f"GoalBeliefs.start_episode: prior of seat {seat} names goals {unknown} that are "
                f"not goals of this state; goals are {goals}"
            )
        weights = np.asarray([float(prior.get(g, 0.0)) for g in goals])
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError(
                f"GoalBeliefs.start_episode: prior of seat {seat} must have finite weights >= 0, "
                f"got {dict(prior)}"
            )
        return weights

    def _drop_missing(self, seat: int, state: GridState) -> None:
        goals, belief = self._goals[seat], self._belief[seat]
        exists = np.asarray([goal_exists(self.rules, state, g) for g in goals])
        belief[~exists] = 0.0
        total = belief.sum()
        if total > 0.0:
            belief /= total
            return
        self.fallbacks += 1
        weights = self._prior[seat] * exists
        if weights.sum() <= 0.0:
            space = goal_space(self.rules, state)
            weights = np.asarray([1.0 if g in space else 0.0 for g in goals])
            if weights.sum() <= 0.0:
                weights = np.asarray([1.0 if g == IDLE else 0.0 for g in goals])
        self._belief[seat] = weights / weights.sum()
