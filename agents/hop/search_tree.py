"""One PUCT search tree over the pure game core, planning only the focal player's actions.

Chance nodes. Co-player actions are not chosen by the search but drawn from the co-player
model, so an edge (node, focal action) leads to a random next state. A node stores the
co-players' action distributions once (computed when it is expanded) and **draws a fresh
co-player joint action on every visit**; its children are keyed by (focal action, co-player
joint action), so each distinct sampled outcome gets its own child and the statistics of the
edge average over the outcomes in proportion to how often they are drawn. This is "sampled at
each node" (DESIGN §7); it estimates the expectation over co-player behaviour instead of
committing an edge to one sampled future.

Values and terminals. The reward an edge earns is stored on the child it leads to. A child
is terminal when the episode is over or the focal player has left the game; a terminal node
is never expanded nor evaluated and has value 0, so its entering reward is counted exactly
once and nothing is bootstrapped past it. A backup adds ``reward + discount * value`` up the
path. Unvisited edges count as a return of 0 (nothing gained) in the PUCT score, and a
visit still pending in a batch (virtual loss, see :meth:`SearchTree.add_virtual_visit`) as
a return of the tree's lowest Q, a loss whatever the sign of the values; Q values are
min-max normalised over the tree (MuZero style, 0 always inside the bounds) unless the
config turns that off, so ``c_puct`` does not depend on the reward scale.

Lazy expansion. A new node is only evaluated (value, focal priors); the co-players' action
distributions at a node are asked for when a simulation first needs to go through it (its
second visit). Most leaves of a wide chance tree are visited once, so this saves most
opponent-model queries without changing the search.

Goals. Each node carries the co-players' goals. A child inherits its parent's goals; when a
transition captures prey or removes a drift, every co-player whose goal no longer exists is
given a new goal (drawn once, when the child is created, and kept for its subtree): the next
goal that still exists in the tree's ordering for that co-player when the caller gave one
(e.g. the order in which it will clear drifts), otherwise a draw from the goal sampler. So
removed goals are never pursued inside the tree.
"""

from __future__ import annotations

import dataclasses
import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from agents.hop.goal_sampling import goal_exists
from agents.hop.interfaces import IDLE, Goal
from hop_envs.core import STAY, BatchedGame, BatchedState, GridRules, GridState

Goals = tuple[Goal | None, ...]
#: Why :meth:`SearchTree.descend` stopped.
TERMINAL, EVALUATE, EXPAND, DEPTH_LIMIT = "terminal", "evaluate", "expand", "depth_limit"
#: :meth:`SearchTree.descend` stopped at a child not created yet (see :func:`create_children`).
NEW = "new"
#: Draws a replacement goal for ``player`` in ``state`` (see ``goal_sampling.GoalSampler``).
Redraw = Callable[[GridState, int], Goal]


class UniformStream:
    """Uniform [0, 1) numbers drawn from one generator in blocks (cheap one at a time)."""

    __slots__ = ("_block", "_buffer", "_index", "_rng")

    def __init__(self, rng: np.random.Generator, block: int = 2048) -> None:
        self._rng = rng
        self._block = block
        self._buffer: list[float] = []
        self._index = 0

    def next(self) -> float:
        if self._index >= len(self._buffer):
            self._buffer = self._rng.random(self._block).tolist()
            self._index = 0
        u = self._buffer[self._index]
        self._index += 1
        return u


class Node:
    """A state reached in the tree, with the statistics of its focal-action edges."""

    __slots__ = (
        "children",
        "co_dists",
        "co_seats",
        "depth",
        "evaluated",
        "expanded",
        "goals",
        "has_priors",
        "legal",
        "origin",
        "pending",
        "prior",
        "reward",
        "source",
        "state",
        "terminal",
        "total_visits",
        "value",
        "value_sum",
        "visits",
    )

    def __init__(
        self, state: GridState, reward: float, terminal: bool, depth: int, goals: Goals
    ) -> None:
        self.state = state
        self.reward = reward  # focal reward of the transition into this node
        self.terminal = terminal
        self.depth = depth
        self.goals = goals
        self.evaluated = False  # the leaf evaluator gave it a value
        self.has_priors = False  # its legal focal actions and their priors are set
        self.expanded = False  # the co-players' action distributions (and priors) are set
        self.value = 0.0
        self.legal: list[int] = []
        self.prior: list[float] = []
        self.visits: list[int] = []
        self.value_sum: list[float] = []
        self.pending: list[int] = []  # virtual visits in flight, included in ``visits``
        # (parent, focal action, co-player actions) of a child not created yet, else None.
        self.origin: tuple[Node, int, tuple[int, ...]] | None = None
        self.total_visits = 0
        self.co_seats: list[int] = []
        # Per co-player: an int (a certain action) or the cumulative distribution as a list.
        self.co_dists: list[int | list[float]] = []
        self.children: dict[tuple[int, tuple[int, ...]], Node] = {}
        # The batch entry that holds ``state`` too (read-only; see :func:`node_batch`).
        self.source: tuple[BatchedState, int] | None = None

    def set_evaluation(self, legal: list[int], prior: list[float], value: float) -> None:
        """The leaf evaluator's answer: legal focal actions, their priors, the value."""
        self.set_priors(legal, prior)
        self.set_value(value)

    def set_value(self, value: float) -> None:
        """The leaf's value (its priors may come later, when the node is expanded)."""
        self.value = value
        self.evaluated = True

    def set_priors(self, legal: list[int], prior: list[float]) -> None:
        """Legal focal actions and their priors (needed to choose an action here)."""
        self.legal = legal
        self.prior = prior
        self.visits = [0] * len(prior)
        self.value_sum = [0.0] * len(prior)
        self.pending = [0] * len(prior)
        self.has_priors = True

    def set_coplayers(self, co_seats: list[int], co_dists: list[int | list[float]]) -> None:
        """The co-players' action distributions (needed to descend through this node)."""
        self.co_seats = co_seats
        self.co_dists = co_dists
        self.expanded = True

    def sample_coplayers(self, uniforms: UniformStream) -> tuple[int, ...]:
        """One joint action of the co-players, drawn from the stored distributions."""
        out = []
        for dist in self.co_dists:
            if isinstance(dist, int):
                out.append(dist)
            else:
                out.append(bisect_right(dist, uniforms.next() * dist[-1]))
        return tuple(out)

    def q(self, action: int) -> float:
        """Mean backed-up return of ``action`` (NaN when never tried)."""
        n = self.visits[action]
        return self.value_sum[action] / n if n else math.nan


class SearchTree:
    """A PUCT tree for ``player`` rooted at an expanded :class:`Node`."""

    def __init__(
        self,
        rules: GridRules,
        player: int,
        root: Node,
        *,
        c_puct: float,
        discount: float,
        max_depth: int | None,
        normalize_q: bool,
        uniforms: UniformStream,
        redraw: Redraw,
        orderings: Mapping[int, Sequence[Goal]] | None = None,
    ) -> None:
        self.rules = rules
        self.player = player
        self.root = root
        self.c_puct = c_puct
        self.discount = discount
        self.max_depth = max_depth
        self.normalize_q = normalize_q
        self.uniforms = uniforms
        self.redraw = redraw
        self.orderings = dict(orderings or {})
        self.q_low = 0.0
        self.q_high = 0.0
        self._num_players = rules.num_players
        # Root actions in descending prior order: each is tried once before PUCT takes over,
        # so every legal root action has a Q value to average over trees. ``forced[a]``
        # counts those visits (left out of the visit target, see :meth:`target_visits`).
        self._root_order = sorted(root.legal, key=lambda a: -root.prior[a])
        self.forced = [0] * len(root.visits)
        # Per root action, the sum of the squares of its backed-up returns (the spread of
        # its returns, for the planner's lower confidence bound on its value).
        self.root_squares = [0.0] * len(root.visits)

    # -- selection -------------------------------------------------------------------------
    def descend(self, nodes: list[Node], actions: list[int]) -> str:
        """Walk down from ``nodes[-1]`` (appending to ``nodes``/``actions``) and say why it
        stopped: :data:`NEW` (a child reached for the first time: it is appended but its
        state is only computed by :func:`create_children`, batched with the round's other new
        children), :data:`TERMINAL`, :data:`EVALUATE` (a node without a value),
        :data:`EXPAND` (a node whose co-player distributions are needed to go on) or
        :data:`DEPTH_LIMIT` (an evaluated node at ``max_depth``)."""
        node = nodes[-1]
        while True:
            if node.terminal:
                return TERMINAL
            if not node.evaluated:
                return EVALUATE
            if not node.expanded:
                if self.max_depth is not None and node.depth >= self.max_depth:
                    return DEPTH_LIMIT
                return EXPAND
            action = self._choose(node)
            co = node.sample_coplayers(self.uniforms)
            key = (action, co)
            child = node.children.get(key)
            actions.append(action)
            if child is None:  # its state comes with the round's other new children
                child = Node(node.state, 0.0, False, node.depth + 1, node.goals)
                child.origin = (node, action, co)
                node.children[key] = child
            nodes.append(child)
            if child.origin is not None:
                return NEW
            node = child

    def _choose(self, node: Node) -> int:
        visits = node.visits
        if node is self.root:
            for action in self._root_order:
                if visits[action] == 0:
                    self.forced[action] += 1
                    return action
        value_sum = node.value_sum
        pending = node.pending
        prior = node.prior
        low = self.q_low
        span = self.q_high - low
        scale = 1.0 / span if (self.normalize_q and span > 0.0) else 0.0
        normalize = self.normalize_q
        explore = self.c_puct * math.sqrt(max(node.total_visits, 1))
        best_action = -1
        best_score = -math.inf
        ties = 0
        for action in node.legal:
            n = visits[action]
            # A pending (virtual) visit counts as a return of ``low``, the tree's lowest Q.
            q = (value_sum[action] + pending[action] * low) / n if n else 0.0
            if normalize:
                q = (q - low) * scale
            score = q + explore * prior[action] / (1 + n)
            if score > best_score:
                best_action, best_score, ties = action, score, 1
            elif score == best_score:
                ties += 1  # reservoir sampling keeps each tied action with equal chance
                if self.uniforms.next() * ties < 1.0:
                    best_action = action
        return best_action

    def _normalised_q(self, node: Node, action: int) -> float:
        """The Q term of ``action``'s PUCT score at ``node`` (as :meth:`_choose` uses it)."""
        n = node.visits[action]
        q = node.value_sum[action] / n if n else 0.0
        span = self.q_high - self.q_low
        if self.normalize_q and span > 0.0:
            return (q - self.q_low) / span
        return 0.0 if self.normalize_q else q

    # -- the visit target --------------------------------------------------------------------
    def target_visits(self, clean_prior: Sequence[float]) -> list[int]:
        """The root visit counts that PUCT chose on its own, for the focal net's policy
        target (KataGo-style policy-target pruning; ``root.prior`` is the prior the search
        used, ``clean_prior`` the same prior before root noise).

        * The forced first visit of each root action (:attr:`forced`) is subtracted.
        * Let ``b`` be the most visited action (ties: the higher Q, then the lower index) and
          ``E = c_puct * sqrt(N)`` with ``N`` the root's visits. For every other action ``a``
          whose prior the noise raised, only the visits PUCT with the noise-free prior would
          have given it against ``b`` are kept: the largest ``k`` with
          ``Q(a) + E * P(a) / k >= Q(b) + E * P(b) / (1 + n(b))`` (the ``k``-th visit is the
          one taken at count ``k - 1``; Q as PUCT sees it, normalised when the tree
          normalises, ``P`` the noise-free prior), or all of them when ``Q(a)`` alone reaches
          the right-hand side. Those beyond ``k`` are the visits its noisy prior bought.

        So ``target = n - forced`` for ``b``, for actions whose prior the noise did not raise
        and for all actions without noise; ``min(n, max(k, forced)) - forced`` for the others.
        An action left with 0 gets 0.
        """
        root = self.root
        visits = root.visits
        forced = self.forced
        out = [0] * len(visits)
        tried = [a for a in root.legal if visits[a] > 0]
        for a in tried:
            out[a] = visits[a] - forced[a]
        noisy = root.prior
        raised = [a for a in tried if noisy[a] > clean_prior[a]]
        if not raised:
            return out
        best = max(tried, key=lambda a: (visits[a], self._normalised_q(root, a), -a))
        explore = self.c_puct * math.sqrt(max(root.total_visits, 1))
        best_score = self._normalised_q(root, best) + explore * clean_prior[best] / (
            1 + visits[best]
        )
        for a in raised:
            if a == best:
                continue
            gap = best_score - self._normalised_q(root, a)
            if gap <= 0.0:
                continue  # its Q alone earns it every visit
            deserved = math.floor(explore * clean_prior[a] / gap + 1e-9)
            out[a] = min(visits[a], max(deserved, forced[a])) - forced[a]
        return out

    def _redraw_removed(self, state: GridState, goals: Goals) -> Goals:
        """Goals whose object was just captured or removed, replaced by the next existing
        goal of the tree's ordering for that co-player, else by a new draw."""
        new = list(goals)
        changed = False
        for seat, goal in enumerate(goals):
            if goal is None or goal == IDLE or not state.active[seat]:
                continue
            if not goal_exists(self.rules, state, goal):
                new[seat] = self._next_goal(state, seat)
                changed = True
        return tuple(new) if changed else goals

    def _next_goal(self, state: GridState, seat: int) -> Goal:
        for goal in self.orderings.get(seat, ()):
            if goal_exists(self.rules, state, goal):
                return goal
        return self.redraw(state, seat)

    # -- backup ----------------------------------------------------------------------------
    def add_virtual_visit(self, nodes: list[Node], actions: list[int]) -> None:
        """Count a pending simulation as a lost visit along its path ("virtual loss"): a
        visit whose return is the tree's lowest Q (``q_low``, never above 0) at the time a
        PUCT score is computed, whatever the sign of the values. Only counts change (the
        value sums are untouched), so :meth:`remove_virtual_visit` undoes it exactly."""
        for node, action in zip(nodes, actions, strict=False):
            node.visits[action] += 1
            node.pending[action] += 1
            node.total_visits += 1

    def remove_virtual_visit(self, nodes: list[Node], actions: list[int]) -> None:
        for node, action in zip(nodes, actions, strict=False):
            node.visits[action] -= 1
            node.pending[action] -= 1
            node.total_visits -= 1

    def backup(self, nodes: list[Node], actions: list[int], leaf_value: float) -> None:
        """Add ``reward + discount * value`` along the path, leaf to root."""
        value = leaf_value
        discount = self.discount
        for i in range(len(actions) - 1, -1, -1):
            child = nodes[i + 1]
            node = nodes[i]
            action = actions[i]
            value = child.reward + discount * value
            n = node.visits[action] + 1
            node.visits[action] = n
            node.value_sum[action] += value
            node.total_visits += 1
            q = node.value_sum[action] / n
            if q < self.q_low:
                self.q_low = q
            elif q > self.q_high:
                self.q_high = q
        if actions:  # ``value`` is now the return backed up through the root
            self.root_squares[actions[0]] += value * value


def create_children(game: BatchedGame, new: Sequence[tuple[SearchTree, Node]]) -> None:
    """Give the children :meth:`SearchTree.descend` left uncreated (``origin`` set) their
    state, entering reward, terminal flag and goals, stepping all of them in one batched
    step (each child once, even if several simulations reached it)."""
    if not new:
        return
    parents = [child.origin[0] for _, child in new]  # type: ignore[index]
    batch = node_batch(parents)
    joint = np.full(batch.player_pos.shape, STAY, dtype=np.int64)
    for i, (tree, child) in enumerate(new):
        parent, action, co = child.origin  # type: ignore[misc]
        joint[i, tree.player] = action
        joint[i, parent.co_seats] = co
    outcome = game.step(batch, joint)
    removed = (outcome.target >= 0).any(1).tolist()
    for i, (tree, child) in enumerate(new):
        parent = parents[i]
        state = batch.state_at(i, parent.state.layout)
        terminal = bool(state.over) or not bool(state.active[tree.player])
        child.state = state
        child.source = (batch, i)
        child.reward = float(outcome.rewards[i, tree.player])
        child.terminal = terminal
        if not terminal and removed[i]:
            child.goals = tree._redraw_removed(state, parent.goals)
        child.origin = None


def node_batch(nodes: Sequence[Node]) -> BatchedState:
    """``BatchedState.stack([node.state for node in nodes])``, the same arrays built faster
    from the batches the states already live in (:attr:`Node.source`, set by
    :func:`create_children` and the planner for its roots): one ``take`` per source batch
    instead of a stack of every state's arrays. Falls back to stacking when a node has no
    source or the sources are not one board's (then ``stack`` decides ``shared_board``)."""
    sources = [node.source for node in nodes]
    if not nodes or any(source is None for source in sources):
        return BatchedState.stack([node.state for node in nodes])
    first = sources[0][0]  # type: ignore[index]
    if all(source[0] is first for source in sources):  # type: ignore[index]
        if not first.shared_board:
            return BatchedState.stack([node.state for node in nodes])
        return first.take([source[1] for source in sources])  # type: ignore[index]
    batches: dict[int, BatchedState] = {}
    for batch, _ in sources:  # type: ignore[misc]
        batches.setdefault(id(batch), batch)
    if not all(
        b.shared_board and np.array_equal(b.object_pos[0], first.object_pos[0])
        for b in batches.values()
    ):
        return BatchedState.stack([node.state for node in nodes])
    group = {key: g for g, key in enumerate(batches)}
    groups = np.fromiter((group[id(b)] for b, _ in sources), np.int64, len(nodes))  # type: ignore[misc]
    rows = np.fromiter((r for _, r in sources), np.int64, len(nodes))  # type: ignore[misc]
    return _gather(list(batches.values()), groups, rows)


def _gather(batches: Sequence[BatchedState], groups: np.ndarray, rows: np.ndarray) -> BatchedState:
    """One batch (one board, one set of object kinds) whose entry ``i`` is entry
    ``rows[i]`` of ``batches[groups[i]]``."""
    masks = [groups == g for g in range(len(batches))]
    fields: dict[str, np.ndarray] = {}
    for f in dataclasses.fields(BatchedState):
        if f.name in ("object_kind", "shared_board"):
            continue
        first = getattr(batches[0], f.name)
        out = np.empty((rows.size, *first.shape[1:]), dtype=first.dtype)
        for batch, mask in zip(batches, masks, strict=True):
            out[mask] = getattr(batch, f.name)[rows[mask]]
        fields[f.name] = out
    return BatchedState(**fields, object_kind=batches[0].object_kind, shared_board=True)
