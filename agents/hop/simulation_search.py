"""Open-loop MCTS over the focal player's actions, simulating the real co-player objects.

Each simulation plays the game forward from the decision's position with **copies of the
actual co-player objects** (:mod:`agents.hop.coplayer_copies`): at every simulated step each
copy is asked ``act(observation)`` with the observation the env would give it, the env
steps, and every copy is shown the joint step with ``observe(transition)``, exactly as the
evaluation runner drives the live ones. So the model is exact for any co-player, whatever
it remembers; only its random draws are fresh (sampled, not foreseen).

The env in the loop. :class:`GameSimulator` steps a private instance of the trial's env
(same arguments) from a given core state, so observations, rewards, terminations,
truncations and infos (the event keys memory-based co-players read) are the env's own.
The position comes from the focal observation, which shows everything (the games are fully
observable) except two things that :class:`EpisodeEvents` keeps from the transitions: the
time of the first capture (for ``end_after_first_hunt``) and the ids of the objects
removed so far. The env numbers objects by kind (stags first) in an order drawn at reset
that no player sees, so :class:`RootPosition` gives the live objects of each kind the ids
of that kind not yet reported removed, in an order drawn afresh for every simulation: ids
in simulated infos are then distributed exactly as in the real game, given what the
players have seen.

The search (open-loop: a tree node is a sequence of focal actions, not a state; the
co-players' random choices make the states behind one node differ between simulations and
the values average over them). A simulation starts from fresh copies, walks down the tree
choosing focal actions by PUCT among the actions legal in *its* state (uniform priors;
every legal root action is tried once first; Q values min-max normalised over the tree; an
untried action counts as the node's mean value), adds one node, values it by rollouts
(below) and backs up ``reward + discount * value`` along its path. A simulation stops where
the focal player leaves the game or the episode ends (nothing after that is counted). The
decision is the most visited root action (ties: the higher Q, then at random), so an
action tried once cannot win by a lucky draw.

Leaf values: rollouts of at most ``rollout_depth`` steps under the same copies, the focal
player following a fixed policy (``rollout_policy``):

* ``"random"``: uniform over its legal actions;
* ``"greedy"``: the object action on an object's cell, else a step along a shortest path
  (around walls) to the nearest live object, ties at random;
* ``"best-kind"``: one greedy rollout per object kind, heading only for objects of that
  kind (a far stag next to a near hare), the leaf taking the best;
* ``"best-option"`` (default): as ``"best-kind"`` plus one rollout in which the focal player
  waits (stays put), for games where acting costs and the co-players may do the work (a
  snowdrift removal). With one rollout per option the maximum is slightly optimistic where
  the co-players' draws matter.

Every rollout but the last of a leaf runs on further copies of the leaf's co-players and
state; the last uses them directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import hop_envs
from agents.base import Observation, Transition
from agents.hop.coplayer_copies import CoplayerCopier
from agents.hop.search_tree import UniformStream
from hop_envs.core import NUM_MOVES, STAY, GridRules, GridState, bfs_distances

ROLLOUT_POLICIES = ("random", "greedy", "best-kind", "best-option")
#: Rollout options besides an object kind: head for any kind, wait, act at random.
ANY_KIND, WAIT, RANDOM = -1, -2, -3


@dataclass(frozen=True)
class SearchConfig:
    """Budget and constants of :class:`SimulationSearch` (validated)."""

    num_simulations: int = 48
    rollout_depth: int = 20
    rollout_policy: str = "best-option"
    c_puct: float = 1.0
    discount: float = 0.99

    def __post_init__(self) -> None:
        for name, low in (("num_simulations", 1), ("rollout_depth", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if self.rollout_policy not in ROLLOUT_POLICIES:
            raise ValueError(
                f"rollout_policy must be one of {list(ROLLOUT_POLICIES)}, "
                f"got {self.rollout_policy!r}"
            )
        if not isinstance(self.c_puct, int | float) or not self.c_puct >= 0:
            raise ValueError(f"c_puct must be a number >= 0, got {self.c_puct!r}")
        if not isinstance(self.discount, int | float) or not 0 <= self.discount <= 1:
            raise ValueError(f"discount must be in [0, 1], got {self.discount!r}")


@dataclass(frozen=True)
class SimulationSearchResult:
    """One decision: the action, root visit counts and Q values (NaN where never tried)."""

    action: int
    visits: np.ndarray
    q_values: np.ndarray

    @property
    def policy(self) -> np.ndarray:
        """Root visit frequencies, the forced first visit of every legal root action
        included (for inspection: the decision is the most visited action, and nothing
        trains on these frequencies; the planner's visit target leaves such visits out)."""
        return self.visits / max(int(self.visits.sum()), 1)


class EpisodeEvents:
    """What a focal observation does not show, kept from the observed transitions: the
    time step of the first capture or removal, and the ids of the objects removed."""

    def __init__(self, rules: GridRules) -> None:
        self.goals = rules.goals
        self.start()

    def start(self) -> None:
        self.first_capture_t = -1
        self.removed: set[int] = set()

    def observe(self, transition: Transition) -> None:
        for info in transition.infos.values():
            removed = self.goals.info_object(info)
            if removed is None:
                continue
            self.removed.add(removed)
            if self.first_capture_t < 0:
                step = next(iter(transition.observations.values()))["step"]
                self.first_capture_t = int(step)


class RootPosition:
    """A decision's position: the state the focal observation shows, with object ids
    sampled per simulation (see the module doc)."""

    def __init__(self, rules: GridRules, base: GridState, removed: set[int]) -> None:
        kinds = np.asarray(rules.initial_object_kinds(), dtype=np.int64)
        kinds.setflags(write=False)
        self._kinds = kinds
        self._base = base
        self._groups: list[tuple[list[int], list[int]]] = []
        for kind, name in enumerate(rules.object_kinds):
            ids = [i for i in np.flatnonzero(kinds == kind).tolist() if i not in removed]
            cells = base.object_pos[base.object_kind == kind].tolist()
            if len(cells) > len(ids):
                raise ValueError(
                    f"the observation shows {len(cells)} {name}(s) but only {len(ids)} of the "
                    f"env's {int((kinds == kind).sum())} are not reported removed"
                )
            self._groups.append((ids, cells))

    @property
    def layout(self):
        return self._base.layout

    def sample(self, uniforms: UniformStream) -> GridState:
        """A fresh state with the live objects under ids drawn without replacement."""
        m = self._kinds.shape[0]
        pos = np.zeros(m, dtype=np.int64)
        alive = np.zeros(m, dtype=bool)
        for ids, cells in self._groups:
            pool = list(ids)
            for cell in cells:
                i = pool.pop(int(uniforms.next() * len(pool)))
                pos[i] = cell
                alive[i] = True
        pos.setflags(write=False)
        base = self._base
        return GridState(
            layout=base.layout,
            player_pos=base.player_pos.copy(),
            active=base.active.copy(),
            object_pos=pos,
            object_kind=self._kinds,
            object_alive=alive,
            t=base.t,
            first_capture_t=base.first_capture_t,
        )


class GameSimulator:
    """The trial's env stepped from given core states, for simulations.

    It holds a private instance of the env (``env_id`` with ``env_kwargs``) and steps it
    with the env's own ``step`` after loading the state to step, so what a simulation
    produces is exactly what the env would (the one private hook is loading the state).
    """

    def __init__(self, env_id: str, env_kwargs: Mapping[str, Any]) -> None:
        self._env = hop_envs.make(env_id, **dict(env_kwargs)).unwrapped
        self.rules: GridRules = self._env.rules
        self.agent_ids: list[str] = list(self._env.possible_agents)
        self._orders = [self.rules.channel_order(j) for j in range(self.rules.num_players)]

    def root(self, observation: Observation, seat: int, events: EpisodeEvents) -> RootPosition:
        """The position of ``seat``'s observation, given the episode's events so far."""
        base = self.rules.state_from_observation(
            observation["observation"], seat, int(observation["step"]), events.first_capture_t
        )
        return RootPosition(self.rules, base, events.removed)

    def agents(self, state: GridState) -> list[str]:
        """The agents still in the game (``env.agents``) in ``state``."""
        if state.over:
            return []
        return [
            a for a, active in zip(self.agent_ids, state.active.tolist(), strict=True) if active
        ]

    def observations(self, state: GridState, agents: Sequence[str]) -> dict[str, Observation]:
        """The observations the env gives ``agents`` in ``state``."""
        grid, masks = self.rules.layers_and_masks(state)
        step = np.int64(state.t)
        out = {}
        for agent in agents:
            seat = self.agent_ids.index(agent)
            out[agent] = {
                "observation": grid.take(self._orders[seat], axis=0),
                "action_mask": masks[seat],
                "step": step,
            }
        return out

    def step(
        self, state: GridState, agents: list[str], actions: Mapping[str, int]
    ) -> tuple[Transition, list[str]]:
        """Advance ``state`` in place by the joint action of ``agents`` (those in the
        game); the transition as the runner builds it, and the agents left in the game."""
        env = self._env
        env._state = state
        env.agents = agents
        observations, rewards, terminations, truncations, infos = env.step(actions)
        transition = Transition(actions, observations, rewards, terminations, truncations, infos)
        return transition, env.agents


class _Node:
    """Statistics of the focal actions after one sequence of focal actions."""

    __slots__ = ("children", "count", "total", "value", "value_sum", "visits")

    def __init__(self, num_actions: int, value: float = 0.0) -> None:
        self.visits = [0] * num_actions
        self.value_sum = [0.0] * num_actions
        self.children: dict[int, _Node] = {}
        self.count = 0  # backups through this node
        self.total = 0.0  # sum of the returns backed up through it
        self.value = value  # the leaf value it got when it was added

    def mean(self) -> float:
        return (self.value + self.total) / (1 + self.count)


class SimulationSearch:
    """Open-loop PUCT search for ``player`` with co-player copies (see the module doc).

    ``coplayer_seats[i]`` is the seat of the i-th object the copier copies; the
    ``stand_in_seats`` (other focal seats) act uniformly over their legal actions.
    """

    def __init__(
        self, simulator: GameSimulator, config: SearchConfig, rng: np.random.Generator
    ) -> None:
        self.sim = simulator
        self.config = config
        self.uniforms = UniformStream(rng)
        rules = simulator.rules
        self._num_actions = rules.num_actions
        kinds = list(range(len(rules.object_kinds)))
        self._options = {
            "random": [RANDOM],
            "greedy": [ANY_KIND],
            "best-kind": kinds,
            "best-option": [*kinds, WAIT],
        }[config.rollout_policy]
        self._distances: tuple[bytes, list[list[int]], list[list[int]]] | None = None

    def run(
        self,
        root: RootPosition,
        player: int,
        copier: CoplayerCopier,
        coplayer_seats: Sequence[int],
        stand_in_seats: Sequence[int] = (),
    ) -> SimulationSearchResult:
        """Search from ``root`` for ``player``; the copier is prepared with the live
        co-players of ``coplayer_seats`` (in that order)."""
        sim = self.sim
        self._player = player
        self._focal = sim.agent_ids[player]
        self._copier = copier
        self._copy_of = {sim.agent_ids[s]: i for i, s in enumerate(coplayer_seats)}
        self._stand_ins = {sim.agent_ids[s] for s in stand_in_seats}
        self._set_distances(root.layout)
        self._low, self._high = math.inf, -math.inf
        tree = _Node(self._num_actions)
        for _ in range(self.config.num_simulations):
            self._simulate(root, tree)
        visits = np.asarray(tree.visits, dtype=np.int64)
        q = np.full(self._num_actions, np.nan)
        tried = visits > 0
        q[tried] = np.asarray(tree.value_sum)[tried] / visits[tried]
        best = visits.max()
        candidates = np.flatnonzero(visits == best)
        top_q = q[candidates].max()
        candidates = [int(a) for a in candidates if q[a] == top_q]
        action = candidates[int(self.uniforms.next() * len(candidates))]
        return SimulationSearchResult(action, visits, q)

    # -- one simulation --------------------------------------------------------------------
    def _simulate(self, root: RootPosition, tree: _Node) -> None:
        sim, focal, discount = self.sim, self._focal, self.config.discount
        self._copier.begin()
        state = root.sample(self.uniforms)
        copies = self._copier.copy_live()
        agents = sim.agents(state)
        observations = sim.observations(state, agents)
        node = tree
        path: list[tuple[_Node, int]] = []
        rewards: list[float] = []
        leaf = 0.0
        while True:
            legal = np.flatnonzero(observations[focal]["action_mask"]).tolist()
            action = self._select(node, legal, node is tree)
            path.append((node, action))
            transition, agents = self._step(state, agents, observations, copies, action)
            rewards.append(float(transition.rewards[focal]))
            if focal not in agents:
                break
            observations = transition.observations
            child = node.children.get(action)
            if child is None:
                leaf = self._leaf_value(state, agents, observations, copies)
                node.children[action] = _Node(self._num_actions, leaf)
                break
            node = child
        value = leaf
        for (node, action), reward in zip(reversed(path), reversed(rewards), strict=True):
            value = reward + discount * value
            node.visits[action] += 1
            node.value_sum[action] += value
            node.count += 1
            node.total += value
            q = node.value_sum[action] / node.visits[action]
            self._low = min(self._low, q)
            self._high = max(self._high, q)

    def _select(self, node: _Node, legal: list[int], at_root: bool) -> int:
        visits, value_sum = node.visits, node.value_sum
        if at_root:
            for action in legal:
                if visits[action] == 0:
                    return action
        low = self._low
        scale = 1.0 / (self._high - low) if self._high > low else 0.0
        fpu = node.mean()
        explore = self.config.c_puct * math.sqrt(max(node.count, 1)) / len(legal)
        best_action, best_score, ties = legal[0], -math.inf, 0
        for action in legal:
            n = visits[action]
            q = value_sum[action] / n if n else fpu
            score = (q - low) * scale if scale else 0.0
            score += explore / (1 + n)
            if score > best_score:
                best_action, best_score, ties = action, score, 1
            elif score == best_score:
                ties += 1  # reservoir sampling: each tied action with equal chance
                if self.uniforms.next() * ties < 1.0:
                    best_action = action
        return best_action

    def _step(
        self,
        state: GridState,
        agents: list[str],
        observations: Mapping[str, Observation],
        copies: Sequence[Any],
        focal_action: int,
    ) -> tuple[Transition, list[str]]:
        """One joint step as the runner plays it: every player in the game acts, the env
        steps, every co-player copy observes (also those that have left)."""
        actions: dict[str, int] = {}
        for agent in agents:
            if agent == self._focal:
                actions[agent] = focal_action
            elif agent in self._stand_ins:
                legal = np.flatnonzero(observations[agent]["action_mask"])
                actions[agent] = int(legal[int(self.uniforms.next() * legal.size)])
            else:
                actions[agent] = copies[self._copy_of[agent]].act(observations[agent])
        transition, agents = self.sim.step(state, agents, actions)
        for player in copies:
            player.observe(transition)
        return transition, agents

    # -- leaf values -----------------------------------------------------------------------
    def _leaf_value(
        self,
        state: GridState,
        agents: list[str],
        observations: Mapping[str, Observation],
        copies: list[Any],
    ) -> float:
        best = -math.inf
        last = len(self._options) - 1
        for i, option in enumerate(self._options):
            if i == last:
                value = self._rollout(state, agents, observations, copies, option)
            else:
                value = self._rollout(
                    state.copy(), agents, observations, self._copier.copy_copies(copies), option
                )
            best = max(best, value)
        return best

    def _rollout(
        self,
        state: GridState,
        agents: list[str],
        observations: Mapping[str, Observation],
        copies: list[Any],
        option: int,
    ) -> float:
        focal, discount = self._focal, self.config.discount
        total, weight = 0.0, 1.0
        for _ in range(self.config.rollout_depth):
            action = self._rollout_action(state, observations[focal]["action_mask"], option)
            transition, agents = self._step(state, agents, observations, copies, action)
            total += weight * float(transition.rewards[focal])
            if focal not in agents:
                break
            observations = transition.observations
            weight *= discount
        return total

    def _rollout_action(self, state: GridState, mask: np.ndarray, option: int) -> int:
        if option == WAIT:
            return STAY
        if option == RANDOM:
            legal = np.flatnonzero(mask)
            return int(legal[int(self.uniforms.next() * legal.size)])
        dist, neighbors = self._distances[1], self._distances[2]
        cell = int(state.player_pos[self._player])
        row = dist[cell]
        best, target = -1, -1
        for pos, kind, alive in zip(
            state.object_pos.tolist(),
            state.object_kind.tolist(),
            state.object_alive.tolist(),
            strict=True,
        ):
            if not alive or (option != ANY_KIND and kind != option):
                continue
            d = row[pos]
            if d == 0:
                for action in range(NUM_MOVES + 1, self._num_actions):
                    if mask[action]:
                        return action
            elif d > 0 and (best < 0 or d < best):
                best, target = d, pos
        if target < 0:
            return STAY
        moves = [
            a for a, nxt in enumerate(neighbors[cell]) if nxt >= 0 and dist[nxt][target] == best - 1
        ]
        return moves[int(self.uniforms.next() * len(moves))] if len(moves) > 1 else moves[0]

    def _set_distances(self, layout: Any) -> None:
        """All-pairs move counts of ``layout`` as nested lists, kept while the walls stay."""
        key = layout.walls.tobytes()
        if self._distances is None or self._distances[0] != key:
            cells = layout.neighbors.shape[0]
            dist = [bfs_distances(layout.neighbors, c).tolist() for c in range(cells)]
            self._distances = (key, dist, layout.neighbors.tolist())
