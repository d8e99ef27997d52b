"""HOP's multi-tree MCTS planner (DESIGN §7), run over the pure game core.

For each of ``num_trees`` trees the co-players' goals are drawn from the beliefs (a
:class:`~agents.hop.goal_sampling.GoalSampler`) or given by the caller; each tree is a PUCT
search over the focal player's actions in which the co-players' actions are drawn from a
:class:`~agents.hop.interfaces.CoplayerPolicy` given their goals (see
:mod:`agents.hop.search_tree` for chance nodes, terminals and removed goals). The trees run
in one process, advanced in lock-step: each simulation step selects one leaf per tree; the
nodes of all trees whose co-player distributions are needed go to a single
:class:`~agents.hop.interfaces.CoplayerPolicy` call and the new leaves of all trees to a
single :class:`~agents.hop.interfaces.LeafEvaluator` call, so each network is asked at most
``num_simulations`` times per decision, never ``num_trees x`` that (the co-player policy
fewer, since nodes are expanded lazily, see :mod:`agents.hop.search_tree`).

Batching: with ``leaves_per_round = k > 1`` every tree selects up to ``k`` leaves per round
before the batched evaluation, each pending leaf counting as a visit on its path whose
return is the tree's lowest Q ("virtual loss", a loss also when the values are negative;
removed exactly before the real backup) so the ``k`` selections spread out. A selection
that ends at a leaf the round already holds (a *collision*: e.g. in the first round, when
no root child has a value yet, every selection after the forced ones ends at one of them)
is dropped without spending a simulation (a tree makes ``k`` attempts per round), so every
simulation backs up a leaf of its own: ``num_simulations`` per tree always means that many
distinct evaluations or terminals, never the same value counted twice. This cuts the number
of network calls by up to ``k`` at the price of slightly less sequential search; ``k = 1``
(the default) is plain sequential PUCT in every tree.

Root values: the trees are combined by visits, ``Q(a)`` = the sum of the returns backed up
through root action ``a`` in all trees over its visits in all trees (an action tried once
in one tree does not weigh as much as one tried 40 times in another, as an unweighted mean
of the trees' Q would make it). Every legal root action is tried once per tree before PUCT
takes over, so when ``num_simulations`` is at least the number of legal actions all of them
have a Q (actions no tree tried get probability 0).

Root policy: ``"q_boltzmann"`` (default) returns ``softmax(beta * L)`` over the tried
actions, where ``L(a) = Q(a) - lcb_stderrs * se(a)`` is a lower confidence bound on the
action's value and ``se(a) = sigma(a) / sqrt(n(a))`` the standard error of its mean return:
``sigma(a)^2 = (M2(a) + s^2) / n(a)`` with ``M2(a)`` the sum of squared deviations of its
``n(a)`` returns from ``Q(a)`` and ``s^2 = sum_a M2(a) / sum_a (n(a) - 1)`` the root's pooled
within-action variance, counted as one pseudo-return so that an action visited once still
has a spread (``s = 0``, all returns alike: ``L = Q``). So an action tried once with a lucky
return does not beat one tried 40 times with a slightly lower mean: its bound sits
``lcb_stderrs`` root standard deviations below its one return. Between well-visited actions
the bounds sit a few standard errors of the mean below Q: larger Q gaps still decide, and
smaller ones, which the search cannot tell from noise, lean towards the more visited
action. A value mixed towards the root's mean for rarely visited actions (mctx's "completed
Q") would not do: with two actions the root mean lies between them, so the lucky one stays
ahead. With ``lcb_stderrs = 0`` the policy is ``softmax(beta * Q)``. ``"visits"`` returns
the visit target (``SearchResult.visit_policy``).

Visit target: the focal net learns from the root visits PUCT chose on its own. The forced
first visit of every root action is subtracted, and with root noise
(``dirichlet_fraction``) the visits an action's noisy prior bought beyond what the
noise-free prior would have given it are removed (KataGo-style policy-target pruning, see
:meth:`~agents.hop.search_tree.SearchTree.target_visits`); ``SearchResult.visit_counts``
keeps the raw counts.
Any number of players is supported: the co-players are every other seat still in the game.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from agents.hop.coplayer_cache import CachedCoplayerPolicy
from agents.hop.goal_sampling import (
    GoalSampler,
    SamplerRedraw,
    UniformGoalSampler,
    goal_exists,
)
from agents.hop.interfaces import (
    NO_GOAL,
    CoplayerPolicy,
    Goal,
    LeafEvaluator,
    PolicyQuery,
)
from agents.hop.search_tree import (
    DEPTH_LIMIT,
    EVALUATE,
    EXPAND,
    NEW,
    TERMINAL,
    Goals,
    Node,
    Redraw,
    SearchTree,
    UniformStream,
    create_children,
    node_batch,
)
from agents.hop.stacked_states import StackedStates
from hop_envs.core import BatchedGame, BatchedState, GridRules, GridState

ROOT_SELECTIONS = ("q_boltzmann", "visits")
#: One simulation in flight: its tree, the nodes on its path and the actions between them.
Path = tuple[SearchTree, list[Node], list[int]]


@dataclass(frozen=True)
class PlannerConfig:
    """Search settings; the defaults are HOP's (5 trees x 200 simulations, c_puct 1,
    discount 0.95, Boltzmann root policy with beta 2, no root noise). ``lcb_stderrs`` is how
    many standard errors below its mean return an action's acting value sits (see the
    module doc, "Root policy")."""

    num_trees: int = 5
    num_simulations: int = 200
    c_puct: float = 1.0
    discount: float = 0.95
    beta: float = 2.0
    root_selection: str = "q_boltzmann"
    dirichlet_alpha: float = 0.3
    dirichlet_fraction: float = 0.0
    max_depth: int | None = None
    normalize_q: bool = True
    leaves_per_round: int = 1
    lcb_stderrs: float = 2.0

    def __post_init__(self) -> None:
        _check_int("num_trees", self.num_trees, 1)
        _check_int("num_simulations", self.num_simulations, 1)
        _check_real("c_puct", self.c_puct, low=0.0)
        _check_real("discount", self.discount, low=0.0, high=1.0)
        _check_real("beta", self.beta, low=0.0)
        if self.root_selection not in ROOT_SELECTIONS:
            raise ValueError(
                f"PlannerConfig.root_selection must be one of {list(ROOT_SELECTIONS)}, "
                f"got {self.root_selection!r}"
            )
        _check_real("dirichlet_alpha", self.dirichlet_alpha, low=0.0, strict=True)
        _check_real("dirichlet_fraction", self.dirichlet_fraction, low=0.0, high=1.0)
        if self.max_depth is not None:
            _check_int("max_depth", self.max_depth, 1)
        _check_int("leaves_per_round", self.leaves_per_round, 1)
        _check_real("lcb_stderrs", self.lcb_stderrs, low=0.0)
        if not isinstance(self.normalize_q, bool):
            raise ValueError(f"PlannerConfig.normalize_q must be a bool, got {self.normalize_q!r}")


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one decision's search.

    ``policy`` is the action distribution to act from; ``q_values`` the root Q of each action
    combined over the trees by visits: the sum of its backed-up returns in all trees over its
    visits in all trees, i.e. the visit-weighted mean of ``tree_q`` (NaN for actions no tree
    tried); ``q_lower`` the lower confidence bound the ``"q_boltzmann"`` policy acts on (see
    the module doc, "Root policy"); ``tree_q`` and
    ``visit_counts`` (the raw root visit counts, forced and noise-driven visits included)
    are per tree ``(num_trees, num_actions)``; so is ``target_visits``, the root visits PUCT
    chose on its own (:meth:`~agents.hop.search_tree.SearchTree.target_visits`: the forced
    first visit of every root action and the visits root noise bought left out).
    """

    policy: np.ndarray
    q_values: np.ndarray
    tree_q: np.ndarray
    visit_counts: np.ndarray
    legal: np.ndarray
    target_visits: np.ndarray
    q_lower: np.ndarray

    @property
    def visit_policy(self) -> np.ndarray:
        """The focal net's visit training target: ``target_visits`` summed over the trees
        and normalised, so neither the forced root visits nor root noise are in it (the
        raw visit counts when the search was too short to leave any target visit)."""
        return _visit_policy(self.visit_counts, self.target_visits)

    @property
    def value(self) -> float:
        """The root value under ``policy``: ``sum_a policy[a] * q_values[a]`` over the tried
        actions (the mean returns, not the bounds the policy was chosen by)."""
        tried = self.policy > 0
        return float((self.policy[tried] * self.q_values[tried]).sum())


@runtime_checkable
class GoalAwareEvaluator(Protocol):
    """A leaf evaluator that needs the co-players' goals (e.g. rollouts with a
    goal-conditioned opponent model). The planner calls this instead of ``evaluate``."""

    def evaluate_with_goals(
        self,
        states: Sequence[GridState],
        player: int,
        goals: Sequence[Goals],
        redraw: Redraw,
    ) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class PriorEvaluator(Protocol):
    """A leaf evaluator that can give the priors alone, more cheaply than with values (e.g.
    without rollouts); the planner uses it for the root, whose value it never reads."""

    def priors(self, states: Sequence[GridState], player: int) -> np.ndarray: ...


@runtime_checkable
class SplitEvaluator(Protocol):
    """A goal-aware leaf evaluator whose values and priors come separately: the planner asks
    for a new leaf's value at once and for its priors only when the search goes through it
    (see :meth:`MultiTreePlanner._expand`)."""

    def priors(self, states: Sequence[GridState], player: int) -> np.ndarray: ...

    def values_with_goals(
        self,
        states: Sequence[GridState],
        player: int,
        goals: Sequence[Goals],
        redraw: Redraw,
    ) -> np.ndarray: ...


class MultiTreePlanner:
    """Plans the focal player's action with ``config.num_trees`` lock-stepped PUCT trees."""

    def __init__(self, rules: GridRules, config: PlannerConfig | None = None) -> None:
        self.rules = rules
        self.config = PlannerConfig() if config is None else config
        if not isinstance(self.config, PlannerConfig):
            raise TypeError(
                f"MultiTreePlanner: config must be a PlannerConfig, got {type(config).__name__}"
            )
        self.num_actions = rules.num_actions
        self._game = BatchedGame(rules)

    def plan(
        self,
        state: GridState,
        player: int,
        coplayer_policy: CoplayerPolicy,
        evaluator: LeafEvaluator,
        rng: np.random.Generator,
        *,
        goal_sampler: GoalSampler | None = None,
        goals: Sequence[Mapping[int, Goal | Sequence[Goal]]] | None = None,
    ) -> SearchResult:
        """Search from ``state`` for ``player``.

        Co-player goals per tree: ``goals[t][seat]`` when given, either one goal or an
        ordering of goals (the co-player pursues the first that exists, and when it is gone
        the next one that exists, in this tree); else drawn with ``goal_sampler``; else
        ``None`` for every co-player (goal-free models and true policies). A goal that
        disappears inside a tree (and is not followed by an existing goal of its ordering) is
        redrawn with ``goal_sampler``, or uniformly from the goals left (IDLE when none is
        left) when no sampler is given. ``rng`` drives every random choice.
        """
        self._check_root(state, player)
        cfg = self.config
        n = self.rules.num_players
        co_seats = [j for j in range(n) if j != player and bool(state.active[j])]
        sampler = goal_sampler if goal_sampler is not None else UniformGoalSampler(self.rules)

        redraw = SamplerRedraw(sampler, rng)
        tree_goals, orderings = self._root_goals(state, co_seats, rng, goal_sampler, goals, redraw)
        uniforms = UniformStream(rng)
        goal_aware = isinstance(evaluator, GoalAwareEvaluator)
        roots = [Node(state.copy(), 0.0, False, 0, g) for g in tree_goals]
        root_batch = BatchedState.stack([root.state for root in roots])
        for i, root in enumerate(roots):
            root.source = (root_batch, i)
        # The roots share a state: one evaluation; their goals differ: one query each. The
        # search never reads a root's value (its edges hold the backed-up returns), so an
        # evaluator that can give priors alone (no rollouts) is asked only for those.
        self._evaluate(roots[:1], player, evaluator, redraw, goal_aware, priors_only=True)
        for root in roots[1:]:
            root.set_evaluation(list(roots[0].legal), list(roots[0].prior), roots[0].value)
        self._expand(roots, player, coplayer_policy)
        clean_prior = list(roots[0].prior)  # before root noise: the visit target's reference
        if cfg.dirichlet_fraction > 0.0:
            for root in roots:
                self._add_noise(root, rng)
        trees = [
            SearchTree(
                self.rules,
                player,
                root,
                c_puct=cfg.c_puct,
                discount=cfg.discount,
                max_depth=cfg.max_depth,
                normalize_q=cfg.normalize_q,
                uniforms=uniforms,
                redraw=redraw,
                orderings=ordering,
            )
            for root, ordering in zip(roots, orderings, strict=True)
        ]
        remaining = [cfg.num_simulations] * len(trees)
        virtual = cfg.leaves_per_round > 1
        while any(remaining):
            to_evaluate: list[Path] = []
            to_expand: list[Path] = []
            to_create: list[Path] = []
            queues = (to_evaluate, to_expand, to_create)
            queued: set[int] = set()  # the leaves this round already evaluates or creates
            for t, tree in enumerate(trees):
                for _ in range(min(cfg.leaves_per_round, remaining[t])):
                    path: Path = (tree, [tree.root], [])
                    status = tree.descend(path[1], path[2])
                    if status in (EVALUATE, NEW) and id(path[1][-1]) in queued:
                        continue  # a collision: dropped, the simulation is not spent
                    remaining[t] -= 1
                    if status in (EVALUATE, NEW):
                        queued.add(id(path[1][-1]))
                    self._route(path, status, queues, virtual)
            if to_expand:
                self._expand(_unique_leaves(to_expand), player, coplayer_policy, evaluator)
                for path in to_expand:
                    tree, nodes, actions = path
                    if virtual:
                        tree.remove_virtual_visit(nodes, actions)
                    status = tree.descend(nodes, actions)
                    if status == EXPAND:  # cannot happen: an unexpanded node has no children
                        raise RuntimeError("planner: a node needed expansion twice in a round")
                    if status in (EVALUATE, NEW) and id(nodes[-1]) in queued:
                        remaining[trees.index(tree)] += 1  # a collision: retried next round
                        continue
                    if status in (EVALUATE, NEW):
                        queued.add(id(nodes[-1]))
                    self._route(path, status, queues, virtual)
            if to_create:
                create_children(self._game, [(tree, nodes[-1]) for tree, nodes, _ in to_create])
                for tree, nodes, actions in to_create:
                    if not nodes[-1].terminal:
                        to_evaluate.append((tree, nodes, actions))  # its virtual visit stays
                        continue
                    if virtual:
                        tree.remove_virtual_visit(nodes, actions)
                    tree.backup(nodes, actions, 0.0)
            if to_evaluate:
                self._evaluate(_unique_leaves(to_evaluate), player, evaluator, redraw, goal_aware)
                for tree, nodes, actions in to_evaluate:
                    if virtual:
                        tree.remove_virtual_visit(nodes, actions)
                    tree.backup(nodes, actions, nodes[-1].value)
        return self._result(trees, clean_prior, state, player)

    @staticmethod
    def _route(
        path: Path, status: str, queues: tuple[list[Path], list[Path], list[Path]], virtual: bool
    ) -> None:
        """Back up a finished simulation now, or queue it for the batched calls (to
        evaluate, to expand, to create: with a virtual visit on its path when several leaves
        per tree are collected)."""
        tree, nodes, actions = path
        if status == TERMINAL:
            tree.backup(nodes, actions, 0.0)
        elif status == DEPTH_LIMIT:
            tree.backup(nodes, actions, nodes[-1].value)
        else:
            if virtual:
                tree.add_virtual_visit(nodes, actions)
            to_evaluate, to_expand, to_create = queues
            {EVALUATE: to_evaluate, EXPAND: to_expand, NEW: to_create}[status].append(path)

    # -- set-up ----------------------------------------------------------------------------
    def _check_root(self, state: GridState, player: int) -> None:
        n = self.rules.num_players
        if isinstance(player, bool) or not isinstance(player, int | np.integer):
            raise ValueError(f"plan: player must be an int seat in [0, {n - 1}], got {player!r}")
        if not 0 <= player < n:
            raise ValueError(f"plan: player must be a seat in [0, {n - 1}], got {player}")
        if state.num_players != n:
            raise ValueError(f"plan: state has {state.num_players} players but the rules have {n}")
        if state.over:
            raise ValueError(f"plan: the episode is over (t={state.t}); nothing to plan")
        if not state.active[player]:
            raise ValueError(f"plan: player {player} has left the game; nothing to plan")

    def _root_goals(
        self,
        state: GridState,
        co_seats: list[int],
        rng: np.random.Generator,
        goal_sampler: GoalSampler | None,
        goals: Sequence[Mapping[int, Goal | Sequence[Goal]]] | None,
        redraw: Redraw,
    ) -> tuple[list[Goals], list[dict[int, tuple[Goal, ...]]]]:
        """Each tree's root goals and its goal orderings (seat -> goals in order)."""
        n, num_trees = self.rules.num_players, self.config.num_trees
        out: list[Goals] = []
        orderings: list[dict[int, tuple[Goal, ...]]] = [{} for _ in range(num_trees)]
        if goals is not None:
            if len(goals) != num_trees:
                raise ValueError(
                    f"plan: goals must give one mapping per tree ({num_trees}), got {len(goals)}"
                )
            for t, per_tree in enumerate(goals):
                missing = [j for j in co_seats if j not in per_tree]
                if missing:
                    raise ValueError(
                        f"plan: goals[{t}] has no goal for co-player seats {missing}; "
                        f"it must cover {co_seats}"
                    )
                row: list[Goal | None] = [None] * n
                for j in co_seats:
                    given = per_tree[j]
                    order = tuple(int(g) for g in given) if _is_sequence(given) else (int(given),)
                    if not order:
                        raise ValueError(f"plan: goals[{t}][{j}] is an empty goal ordering")
                    orderings[t][j] = order
                    row[j] = _first_existing(self.rules, state, order)
                    if row[j] is None:
                        row[j] = redraw(state, j)
                out.append(tuple(row))
        elif goal_sampler is not None:
            for _ in range(num_trees):
                row = [None] * n
                for j in co_seats:
                    row[j] = int(goal_sampler(state, j, rng))
                out.append(tuple(row))
        else:
            out = [(None,) * n for _ in range(num_trees)]
        return out, orderings

    def _add_noise(self, root: Node, rng: np.random.Generator) -> None:
        cfg = self.config
        noise = rng.dirichlet([cfg.dirichlet_alpha] * len(root.legal))
        for a, eta in zip(root.legal, noise.tolist(), strict=True):
            root.prior[a] = (1.0 - cfg.dirichlet_fraction) * root.prior[a] + (
                cfg.dirichlet_fraction * eta
            )

    # -- evaluation ------------------------------------------------------------------------
    def _evaluate(
        self,
        leaves: list[Node],
        player: int,
        evaluator: LeafEvaluator,
        redraw: Redraw,
        goal_aware: bool,
        *,
        priors_only: bool = False,
    ) -> None:
        """Values, legal actions and (masked, renormalised) priors of ``leaves``, in one
        evaluator call (``priors_only``: value 0 from an evaluator with a ``priors`` method,
        see :class:`PriorEvaluator`)."""
        a_n = self.num_actions
        states = StackedStates([leaf.state for leaf in leaves], lambda: node_batch(leaves))
        if not priors_only and isinstance(evaluator, SplitEvaluator):
            # Values now, priors when (if ever) the leaf is expanded: most leaves of a wide
            # chance tree are visited once, so most priors are never needed.
            goals = [leaf.goals for leaf in leaves]
            values = np.asarray(
                evaluator.values_with_goals(states, player, goals, redraw), dtype=np.float64
            )
            if values.shape != (len(states),) or not np.isfinite(values).all():
                raise ValueError(
                    f"{type(evaluator).__name__}.values_with_goals must return "
                    f"{len(states)} finite values, got {values!r}"
                )
            for leaf, v in zip(leaves, values.tolist(), strict=True):
                leaf.set_value(v)
            return
        if priors_only and isinstance(evaluator, PriorEvaluator):
            priors, values = evaluator.priors(states, player), np.zeros(len(states))
        elif goal_aware:
            goals = [leaf.goals for leaf in leaves]
            aware: GoalAwareEvaluator = evaluator  # type: ignore[assignment]
            priors, values = aware.evaluate_with_goals(states, player, goals, redraw)
        else:
            priors, values = evaluator.evaluate(states, player)
        priors = np.asarray(priors, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if priors.shape != (len(states), a_n) or values.shape != (len(states),):
            raise ValueError(
                f"{type(evaluator).__name__}.evaluate must return priors of shape "
                f"{(len(states), a_n)} and values of shape {(len(states),)}, got "
                f"{priors.shape} and {values.shape}"
            )
        if not (np.isfinite(priors).all() and np.isfinite(values).all()):
            raise ValueError(f"{type(evaluator).__name__}.evaluate returned non-finite numbers")
        self._set_priors(leaves, priors, player)
        for leaf, v in zip(leaves, values.tolist(), strict=True):
            leaf.set_value(v)

    def _set_priors(self, nodes: list[Node], priors: np.ndarray, player: int) -> None:
        """Mask ``priors`` to each node's legal actions and renormalise (uniform over the
        legal actions when nothing legal has mass)."""
        masks = self._game.action_masks(node_batch(nodes))[:, player] > 0
        prior = np.where(masks, np.maximum(priors, 0.0), 0.0)
        total = prior.sum(1, keepdims=True)
        uniform = masks / masks.sum(1, keepdims=True)
        prior = np.where(total > 0.0, prior / np.where(total > 0.0, total, 1.0), uniform)
        for node, p, m in zip(nodes, prior.tolist(), masks.tolist(), strict=True):
            node.set_priors([a for a, ok in enumerate(m) if ok], p)

    def _expand(
        self,
        nodes: list[Node],
        player: int,
        policy: CoplayerPolicy,
        evaluator: LeafEvaluator | None = None,
    ) -> None:
        """The co-players' action distributions at ``nodes``, in one policy call, and the
        focal priors of those that have none yet, in one evaluator call."""
        lacking = [node for node in nodes if not node.has_priors]
        if lacking:
            states = StackedStates([node.state for node in lacking], lambda: node_batch(lacking))
            priors = np.asarray(evaluator.priors(states, player), dtype=np.float64)  # type: ignore[union-attr]
            if priors.shape != (len(states), self.num_actions) or not np.isfinite(priors).all():
                raise ValueError(
                    f"{type(evaluator).__name__}.priors must return finite priors of shape "
                    f"{(len(states), self.num_actions)}, got {priors.shape}"
                )
            self._set_priors(lacking, priors, player)
        seats_of = [_coplayer_seats(node.state, player) for node in nodes]
        dists = self._coplayer_dists(policy, nodes, seats_of)
        k = 0
        for node, seats in zip(nodes, seats_of, strict=True):
            node.set_coplayers(seats, dists[k : k + len(seats)])
            k += len(seats)

    def _coplayer_dists(
        self, policy: CoplayerPolicy, nodes: list[Node], seats_of: list[list[int]]
    ) -> list[int | list[float]]:
        """The distributions of the co-players ``seats_of[i]`` at ``nodes[i]`` (each an int
        for a certain action, else the cumulative distribution), in one policy call. The
        search's cache is asked on the nodes' batch: its ``action_probs`` stacks the states
        and makes that very call, so the answers are the same."""
        pairs = [(node, j) for node, ss in zip(nodes, seats_of, strict=True) for j in ss]
        if not pairs:
            return []
        seats = [j for _, j in pairs]
        goals = [node.goals[j] for node, j in pairs]
        if isinstance(policy, CachedCoplayerPolicy):
            rows = np.repeat(np.arange(len(nodes)), [len(s) for s in seats_of])
            codes = np.asarray([NO_GOAL if g is None else int(g) for g in goals], dtype=np.int64)
            probs = policy.batch_action_probs(
                node_batch(nodes), rows, np.asarray(seats, dtype=np.int64), codes
            )
        else:
            probs = policy.action_probs(
                [PolicyQuery(node.state, j, g) for (node, j), g in zip(pairs, goals, strict=True)]
            )
        probs = np.asarray(probs, dtype=np.float64)
        expected = (len(seats), self.num_actions)
        if probs.shape != expected:
            raise ValueError(
                f"{type(policy).__name__}.action_probs must return shape {expected}, "
                f"got {probs.shape}"
            )
        sums = probs.sum(1)
        if not np.isfinite(probs).all() or (probs < 0).any() or np.abs(sums - 1.0).max() > 1e-4:
            bad = int(np.argmax(np.abs(sums - 1.0)))
            raise ValueError(
                f"{type(policy).__name__}.action_probs must return non-negative rows summing "
                f"to 1; row {bad} (player {seats[bad]}) is {probs[bad].tolist()}"
            )
        cdf = np.cumsum(probs, axis=1).tolist()
        certain = (probs.max(1) >= 1.0 - 1e-9).tolist()
        argmax = probs.argmax(1).tolist()
        return [a if c else row for a, c, row in zip(argmax, certain, cdf, strict=True)]

    # -- result ----------------------------------------------------------------------------
    def _result(
        self, trees: list[SearchTree], clean_prior: list[float], state: GridState, player: int
    ) -> SearchResult:
        cfg = self.config
        a_n = self.num_actions
        roots = [tree.root for tree in trees]
        visits = np.asarray([root.visits for root in roots], dtype=np.int64)
        targets = np.asarray([tree.target_visits(clean_prior) for tree in trees], dtype=np.int64)
        tree_q = np.asarray([[root.q(a) for a in range(a_n)] for root in roots])
        value_sums = np.asarray([root.value_sum for root in roots], dtype=np.float64)
        square_sums = np.asarray([tree.root_squares for tree in trees], dtype=np.float64)
        q, lower = root_values(visits, value_sums, square_sums, cfg.lcb_stderrs)
        tried = visits.sum(0) > 0
        policy = np.zeros(a_n)
        if cfg.root_selection == "q_boltzmann":
            logits = cfg.beta * lower[tried]
            weights = np.exp(logits - logits.max())
            policy[tried] = weights / weights.sum()
        else:
            policy = _visit_policy(visits, targets)
        legal = self.rules.action_masks(state)[player].astype(bool)
        return SearchResult(policy, q, tree_q, visits, legal, targets, lower)


def root_values(
    visits: np.ndarray, value_sums: np.ndarray, square_sums: np.ndarray, stderrs: float
) -> tuple[np.ndarray, np.ndarray]:
    """Root Q and its lower confidence bound per action from the trees' root statistics
    (each ``(num_trees, num_actions)``: visits, sums of the backed-up returns, sums of their
    squares), as the module doc's "Root values" and "Root policy" define them; NaN for
    actions no tree tried."""
    n = visits.sum(0).astype(np.float64)
    total = value_sums.sum(0)
    squares = square_sums.sum(0)
    tried = n > 0
    q = np.full(n.shape, math.nan)
    lower = np.full(n.shape, math.nan)
    if not tried.any():
        return q, lower
    nt = n[tried]
    q[tried] = total[tried] / nt
    m2 = np.maximum(squares[tried] - total[tried] * q[tried], 0.0)
    dof = float((nt - 1.0).sum())
    pooled = float(m2.sum()) / dof if dof > 0 else 0.0
    stderr = np.sqrt((m2 + pooled) / nt) / np.sqrt(nt)
    lower[tried] = q[tried] - stderrs * stderr
    return q, lower


def _visit_policy(visits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The summed target visits, normalised; the raw visits when no target visit is left
    (a search too short to get past the forced visits)."""
    total = targets.sum(0).astype(np.float64)
    if total.sum() <= 0:
        total = visits.sum(0).astype(np.float64)
    return total / total.sum()


def _is_sequence(value: object) -> bool:
    return isinstance(value, Sequence | np.ndarray) and not isinstance(value, str)


def _first_existing(rules: GridRules, state: GridState, order: Sequence[Goal]) -> Goal | None:
    """The first goal of ``order`` that exists in ``state`` (None if none does)."""
    for goal in order:
        if goal_exists(rules, state, goal):
            return goal
    return None


def _unique_leaves(paths: list[Path]) -> list[Node]:
    """The last node of each path, each node once (two simulations may end at one node)."""
    seen: dict[int, Node] = {}
    for _, nodes, _ in paths:
        seen.setdefault(id(nodes[-1]), nodes[-1])
    return list(seen.values())


def _coplayer_seats(state: GridState, player: int) -> list[int]:
    """Every other seat still in the game."""
    return [j for j, on in enumerate(state.active.tolist()) if on and j != player]


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"PlannerConfig.{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"PlannerConfig.{name} must be >= {low}, got {value!r}")


def _check_real(
    name: str,
    value: object,
    *,
    low: float,
    high: float | None = None,
    strict: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"PlannerConfig.{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < low or (strict and v == low) or (high is not None and v > high):
        bound = f"{'>' if strict else '>='} {low}" + (f" and <= {high}" if high else "")
        raise ValueError(f"PlannerConfig.{name} must be {bound}, got {value!r}")
