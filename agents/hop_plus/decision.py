"""HOP+'s decision process: HOP's multi-tree search with learned subgoals (DESIGN §8).

:class:`HopPlusDecider` is what ``hop-plus`` does at every step of an episode, the
counterpart of :class:`~agents.hop.decision.HopDecider`:

* :meth:`~HopPlusDecider.begin`: the state is rebuilt from the focal player's first
  observation (the episode recorder) and every co-player's recurrent posterior starts afresh;
* :meth:`~HopPlusDecider.search`: per tree, each co-player's ``z`` is drawn from the
  distribution :class:`~agents.hop_plus.inference.SubgoalInference` gives (its posterior, fused
  with its inter-episode prior) and stored in the decision's
  :class:`~agents.hop_plus.latent_goals.LatentGoalTable`; the trees carry the table's keys
  as goals, so inside every tree (nodes and rollouts) the co-players act from
  ``pi(a | s, z)``; the multi-tree search is HOP's own
  :class:`~agents.hop.planner.MultiTreePlanner`. With ``resample_on_reach``, every drawn
  ``z`` gets the cell its decoded subgoal puts the co-player on, and ``num_trees`` spare
  draws per co-player are made with it; when a tree's imagined co-player stands on its
  ``z``'s cell (in the tree's nodes), it takes one of its draws whose cell it is not on, at
  random, or, when every draw's cell is that one, its posterior mean, never re-sampled;
* :meth:`~HopPlusDecider.observe`: the step is recorded (the buffer's hindsight subgoals)
  and every co-player's GRU takes it in;
* :meth:`~HopPlusDecider.finish`: the recorded episode; the inter priors take its posteriors.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from agents.base import Observation, Transition
from agents.hop.coplayer_cache import CachedCoplayerPolicy
from agents.hop.goals import EpisodeRecorder, RecordedEpisode
from agents.hop.interfaces import Goal, LeafEvaluator
from agents.hop.planner import MultiTreePlanner, SearchResult
from agents.hop.planning_agent import any_goal_achieved
from agents.hop_plus.inference import SubgoalInference
from agents.hop_plus.latent_goals import LatentGoalTable
from hop_envs.core import GridRules, GridState

__all__ = ["HopPlusDecider", "subgoals_per_decision"]


def subgoals_per_decision(num_trees: int, coplayers: int, resample_on_reach: bool) -> int:
    """How many ``z`` one decision of :class:`HopPlusDecider` stores in its table: one per tree
    and co-player, and with ``resample_on_reach`` as many spares plus a posterior mean."""
    per_coplayer = 2 * num_trees + 1 if resample_on_reach else num_trees
    return per_coplayer * coplayers


class HopPlusDecider:
    """HOP+'s per-step logic for the focal player at ``seat`` (module docstring). ``rules``
    are the game's; ``planner``, ``search_policy`` and ``evaluator`` work on the latent rules
    over ``table`` (:func:`~agents.hop_plus.latent_goals.latent_rules`)."""

    def __init__(
        self,
        rules: GridRules,
        seat: int,
        *,
        planner: MultiTreePlanner,
        search_policy: CachedCoplayerPolicy,
        evaluator: LeafEvaluator,
        inference: SubgoalInference,
        recorder: EpisodeRecorder,
        table: LatentGoalTable,
        resample_on_reach: bool = False,
    ) -> None:
        for part, name in ((inference, "inference"), (recorder, "recorder")):
            if part.focal_seat != seat:
                raise ValueError(
                    f"HopPlusDecider: the {name} is for seat {part.focal_seat}, not seat {seat}"
                )
        self.rules = rules
        self.seat = int(seat)
        self.agent_id = f"player_{self.seat}"
        self.planner = planner
        self.search_policy = search_policy
        self.evaluator = evaluator
        self.inference = inference
        self.recorder = recorder
        self.table = table
        self.resample_on_reach = bool(resample_on_reach)
        self._seat_of = {f"player_{j}": j for j in range(rules.num_players)}
        self.first_capture_t = -1
        self.begun = False

    def reset(self) -> None:
        """A new trial: forget the co-players (posteriors and inter priors)."""
        self.inference.reset()
        self.first_capture_t = -1
        self.begun = False

    def begin(self, observation: Observation) -> GridState:
        self.first_capture_t = -1
        state = self.recorder.begin(observation)
        self.inference.start_episode(state)
        self.begun = True
        return state

    def state_from(self, observation: Observation) -> GridState:
        """The state rebuilt from the focal player's ``observation``."""
        return self.rules.state_from_observation(
            np.asarray(observation["observation"]),
            self.seat,
            int(observation["step"]),
            self.first_capture_t,
        )

    def search(self, observation: Observation, rng: np.random.Generator) -> SearchResult:
        """Plan from ``observation``: one ``z`` per tree and co-player, then the search."""
        if not self.begun:
            raise RuntimeError("HopPlusDecider.search: call begin(observation) first")
        return self.plan_from(self.state_from(observation), rng)

    def plan_from(self, state: GridState, rng: np.random.Generator) -> SearchResult:
        """The search of :meth:`search` from ``state`` (the posteriors as they stand)."""
        dists = self.inference.distributions(state)
        self.table.clear()
        d = self.table.goal_dim

        def draw(seat: int) -> int:
            mean, std = dists[seat]
            return self.table.add(seat, mean + std * rng.standard_normal(d))

        goals = [{j: draw(j) for j in sorted(dists)} for _ in range(self.planner.config.num_trees)]

        def redraw(s: GridState, seat: int, r: np.random.Generator) -> Goal:
            return draw(seat)  # latent subgoals never disappear; kept for the contract

        if self.resample_on_reach and dists:  # no co-player left: nothing to re-sample
            redraw = self._redraw_on_reach(dists, goals, draw)
        self.search_policy.clear()
        return self.planner.plan(
            state,
            self.seat,
            self.search_policy,
            self.evaluator,
            rng,
            goal_sampler=redraw,
            goals=goals,
        )

    def _redraw_on_reach(
        self,
        dists: dict[int, tuple[np.ndarray, np.ndarray]],
        goals: list[dict[int, int]],
        draw: Callable[[int], int],
    ) -> Callable[[GridState, int, np.random.Generator], Goal]:
        """The redraw of ``resample_on_reach`` (module docstring): spare draws, target cells
        for every draw (one decoder pass), a never-reached posterior mean per co-player."""
        trees = len(goals)
        pool = {j: [row[j] for row in goals] + [draw(j) for _ in range(trees)] for j in dists}
        keys = np.array([k for j in sorted(pool) for k in pool[j]], dtype=np.int64)
        cells = self.inference.model.subgoal_cells(torch.from_numpy(self.table.vectors(keys)))
        self.table.set_targets(keys, cells)
        settled = {j: self.table.add(j, dists[j][0]) for j in sorted(dists)}
        cell_of = dict(zip(keys.tolist(), cells.tolist(), strict=True))
        targets = {j: np.array([cell_of[k] for k in pool[j]]) for j in pool}

        def redraw(s: GridState, seat: int, r: np.random.Generator) -> Goal:
            away = np.flatnonzero(targets[seat] != int(s.player_pos[seat]))
            if away.size == 0:
                return settled[seat]
            return pool[seat][int(away[r.integers(away.size)])]

        return redraw

    def observe(self, transition: Transition) -> None:
        """Record one joint step and step every co-player's posterior with it."""
        if not self.begun:
            raise RuntimeError("HopPlusDecider.observe: call begin(observation) first")
        if self.first_capture_t < 0 and any_goal_achieved(self.rules, transition):
            self.first_capture_t = int(next(iter(transition.observations.values()))["step"])
        before = self.recorder.state
        if before is None:
            return
        self.recorder.record(transition)
        actions = {self._seat_of[a]: int(x) for a, x in transition.actions.items()}
        self.inference.observe(before, actions)

    def finish(self) -> RecordedEpisode:
        """The recorded episode; the inter priors take in its posteriors."""
        if not self.begun:
            raise RuntimeError("HopPlusDecider.finish: call begin(observation) first")
        self.begun = False
        self.inference.end_episode()
        return self.recorder.finish()
