"""``oracle-mcts``: the HOP planner given the co-players' true policies (a reference agent).

The runner tells agents whose class sets ``wants_privileged_info = True`` the name of the
player at every other seat (``SeatInfo.coplayer_names``). The oracle builds those rule-based
co-players (:func:`hop_envs.coplayers.make_coplayer`) and plans with their exact action
distributions, both inside the tree and in the rollouts that value its leaves. It needs no
goals: the true policies are goal-free.

The other focal seats (self-play, ``adapt-3v1``) are modelled by a documented stand-in:
uniform over the legal actions of that seat. A background co-player without an exact
``action_distribution`` (one that acts from memory, a learned or unknown player) is refused
with its name at ``reset``: the oracle never plans with a silent stand-in for a co-player.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

import hop_envs
from agents.base import BaseAgent, Observation, SeatInfo, Transition
from agents.hop.evaluators import RolloutEvaluator
from agents.hop.interfaces import PolicyQuery
from agents.hop.planner import MultiTreePlanner, PlannerConfig
from hop_envs.core import GridLayout, GridRules, GridState
from hop_envs.registry import UnknownNameError


class TrueCoplayerPolicy:
    """A :class:`~agents.hop.interfaces.CoplayerPolicy` backed by real co-player objects.

    ``models[seat]`` has ``action_distribution(observation)``; the observation is built from
    the queried state exactly as the env builds it (``rules.observation`` plus the action mask
    and the step). Seats without a model are uniform over their legal actions. Answers are
    cached per (seat, step, positions, who is in, which objects are left); the cache is
    dropped when the layout object changes, i.e. at every decision, since object positions
    and walls are fixed within one.
    """

    def __init__(self, rules: GridRules, models: Mapping[int, Any]) -> None:
        self.rules = rules
        self.models = dict(models)
        self._orders = [rules.channel_order(j) for j in range(rules.num_players)]
        self._layout: GridLayout | None = None
        self._cache: dict[tuple, np.ndarray] = {}

    def action_probs(self, queries: Sequence[PolicyQuery]) -> np.ndarray:
        out = np.empty((len(queries), self.rules.num_actions), dtype=np.float64)
        views: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for i, q in enumerate(queries):
            out[i] = self._probs(q.state, q.player, views)
        return out

    def _probs(
        self, state: GridState, player: int, views: dict[int, tuple[np.ndarray, np.ndarray]]
    ) -> np.ndarray:
        if state.layout is not self._layout:
            self._layout = state.layout
            self._cache.clear()
        key = (
            player,
            state.t,
            state.player_pos.tobytes(),
            state.active.tobytes(),
            state.object_alive.tobytes(),
        )
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        view = views.get(id(state))
        if view is None:
            view = (self.rules.layers(state), self.rules.action_masks(state))
            views[id(state)] = view
        grid, masks = view
        model = self.models.get(player)
        if model is None:
            probs = masks[player].astype(np.float64)
            probs /= probs.sum()
        else:
            observation = {
                "observation": grid.take(self._orders[player], axis=0),
                "action_mask": masks[player],
                "step": np.int64(state.t),
            }
            probs = np.asarray(model.action_distribution(observation), dtype=np.float64)
        self._cache[key] = probs
        return probs


def true_coplayer_models(seat: SeatInfo) -> dict[int, Any]:
    """Rule-based co-players for every background seat named in ``seat.coplayer_names``
    (``ValueError`` naming any that has no ``action_distribution``); the other focal seats
    are left out (they get the uniform stand-in)."""
    from hop_envs.coplayers import make_coplayer

    if seat.coplayer_names is None:
        raise ValueError(
            f"oracle-mcts at seat {seat.seat} of {seat.env_id!r} needs the co-players' names "
            "(SeatInfo.coplayer_names); the runner fills them only for classes with "
            "wants_privileged_info = True"
        )
    models: dict[int, Any] = {}
    for j, name in seat.coplayer_names.items():
        if j == seat.seat or j in seat.focal_seats:
            continue
        try:
            model = make_coplayer(name, seat.env_id)
        except UnknownNameError:
            model = None
        if not callable(getattr(model, "action_distribution", None)):
            raise ValueError(
                f"oracle-mcts cannot model the co-player {name!r} at seat {j}: it has no "
                "exact action_distribution (it acts from memory, or is not a registered "
                "co-player), and the oracle does not substitute a stand-in for a co-player"
            )
        model.reset(seed=0, seat=None)
        models[int(j)] = model
    return models


class OracleMCTSAgent(BaseAgent):
    """Multi-tree MCTS with the co-players' true policies and rollouts under them.

    Defaults trade some search for speed (an oracle is a reference, run across whole
    scenario tables): 2 trees of 100 simulations (the true policies need no goal samples, so
    few trees suffice), ``"best-kind"`` rollouts of 20 steps, and a nearly greedy Boltzmann
    root policy (``beta`` 100: Q gaps in the stag hunt are often a few hundredths, which
    HOP's beta 2 would leave almost uniform), and discount 0.99, close to the undiscounted
    return the benchmark scores (with 0.95 it pays to remove a drift now rather than wait 22
    steps for a cleaner to remove it for free).
    """

    wants_privileged_info: ClassVar[bool] = True

    def __init__(
        self,
        num_trees: int = 2,
        num_simulations: int = 100,
        rollout_depth: int = 20,
        rollout_policy: str = "best-kind",
        beta: float = 100.0,
        c_puct: float = 1.0,
        discount: float = 0.99,
        leaves_per_round: int = 1,
    ) -> None:
        super().__init__()
        self.config = PlannerConfig(
            num_trees=num_trees,
            num_simulations=num_simulations,
            beta=beta,
            c_puct=c_puct,
            discount=discount,
            leaves_per_round=leaves_per_round,
        )
        self.rollout_depth = rollout_depth
        self.rollout_policy = rollout_policy
        self.rules: GridRules | None = None
        self._first_capture_t = -1
        self.last_search = None

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        if seat is None:
            raise ValueError("OracleMCTSAgent.reset needs seat=SeatInfo(...) to know its env")
        env = hop_envs.make(seat.env_id, **dict(seat.env_kwargs))
        self.rules = env.unwrapped.rules
        self.policy = TrueCoplayerPolicy(self.rules, true_coplayer_models(seat))
        self.evaluator = RolloutEvaluator(
            self.rules,
            self.policy,
            depth=self.rollout_depth,
            discount=self.config.discount,
            focal_policy=self.rollout_policy,
            seed=int(self.rng.integers(2**63)),
        )
        self.planner = MultiTreePlanner(self.rules, self.config)

    def start_episode(self) -> None:
        self._first_capture_t = -1

    def act(self, observation: Observation) -> int:
        if self.rules is None or self.seat is None:
            raise RuntimeError("OracleMCTSAgent: call reset(seed=..., seat=...) before act()")
        state = self.rules.state_from_observation(
            observation["observation"],
            self.seat.seat,
            int(observation["step"]),
            self._first_capture_t,
        )
        result = self.planner.plan(state, self.seat.seat, self.policy, self.evaluator, self.rng)
        self.last_search = result
        return int(self.rng.choice(len(result.policy), p=result.policy))

    def observe(self, transition: Transition) -> None:
        if self._first_capture_t >= 0:
            return
        for info in transition.infos.values():
            if info.get("captured") or info.get("removed_drift") is not None:
                step = next(iter(transition.observations.values()))["step"]
                self._first_capture_t = int(step)
                return
