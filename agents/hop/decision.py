"""HOP's decision process, one implementation for the ``hop`` agent and for training.

:class:`HopDecider` is what HOP does at every step of an episode (DESIGN §7):

* :meth:`~HopDecider.begin`: with the episode's first observation, the state is rebuilt from
  the focal player's own view (the episode recorder) and every co-player's goal belief
  starts at its prior (the inter-episode prior, or uniform);
* :meth:`~HopDecider.search` (observation -> search result): the state is rebuilt from the
  observation (with the step of the episode's first capture, which the env's end rule
  needs); per tree, one goal ordering per co-player is drawn from the beliefs (snowdrift:
  the drift it goes for first, then the others in random order, then idle); the search's
  co-player cache is cleared; the multi-tree search runs with a
  :class:`~agents.hop.goal_sampling.BeliefGoalSampler` redrawing goals that disappear
  inside a tree;
* :meth:`~HopDecider.observe` (a joint step -> beliefs): the step is recorded (hindsight
  labels for the opponent model), the first capture noted, and, while the focal player is in
  the game, every co-player's belief is updated by Bayes' rule with the opponent model;
* :meth:`~HopDecider.finish`: the recorded episode, whose outcomes update the inter-episode
  prior.

What differs between the agent (:class:`~agents.hop.agent.HopAgent`) and training
(:class:`~agents.hop.training.players.SearchLearner`) is only what the parts are built with:
the search settings, the leaf evaluator, the cache mode of the search's co-player policy, the
belief settings, the networks. The beliefs ask the opponent model itself (exact
likelihoods); the search asks ``search_policy``, the same model behind the per-decision
cache of :mod:`agents.hop.coplayer_cache`. How to act on the search result (sample its
policy, keep a training target) is the caller's.
"""

from __future__ import annotations

import numpy as np

from agents.base import Observation, Transition
from agents.hop.beliefs import GoalBeliefs
from agents.hop.coplayer_cache import CachedCoplayerPolicy
from agents.hop.goal_sampling import BeliefGoalSampler
from agents.hop.goals import EpisodeRecorder, RecordedEpisode
from agents.hop.interfaces import LeafEvaluator
from agents.hop.planner import MultiTreePlanner, SearchResult
from agents.hop.planning_agent import any_goal_achieved
from hop_envs.core import GridRules, GridState

__all__ = ["HopDecider"]


class HopDecider:
    """HOP's per-step logic for the focal player at ``seat`` (module docstring).

    Lifecycle: :meth:`reset` for a new trial (forget the co-players), then per episode
    :meth:`begin`, :meth:`search` for each decision and :meth:`observe` for every joint step
    (also after the focal player has left, so no co-player is censored), :meth:`finish`.
    """

    def __init__(
        self,
        rules: GridRules,
        seat: int,
        *,
        planner: MultiTreePlanner,
        search_policy: CachedCoplayerPolicy,
        evaluator: LeafEvaluator,
        beliefs: GoalBeliefs,
        recorder: EpisodeRecorder,
    ) -> None:
        for part, name in ((beliefs, "beliefs"), (recorder, "recorder")):
            if part.focal_seat != seat:
                raise ValueError(
                    f"HopDecider: the {name} are for seat {part.focal_seat}, not seat {seat}"
                )
        self.rules = rules
        self.seat = int(seat)
        self.agent_id = f"player_{self.seat}"
        self.planner = planner
        self.search_policy = search_policy
        self.evaluator = evaluator
        self.beliefs = beliefs
        self.recorder = recorder
        self._seat_of = {f"player_{j}": j for j in range(rules.num_players)}
        self.first_capture_t = -1
        self.begun = False

    def reset(self) -> None:
        """A new trial: forget the co-players (beliefs and inter-episode prior)."""
        self.beliefs.reset()
        self.first_capture_t = -1
        self.begun = False

    def begin(self, observation: Observation) -> GridState:
        """Start an episode from the focal player's first observation of it."""
        self.first_capture_t = -1
        state = self.recorder.begin(observation)
        self.beliefs.start_episode(state)
        self.begun = True
        return state

    def state_from(self, observation: Observation) -> GridState:
        """The state rebuilt from the focal player's ``observation`` (with the step of the
        episode's first capture, so the search knows when the env will end the episode)."""
        return self.rules.state_from_observation(
            np.asarray(observation["observation"]),
            self.seat,
            int(observation["step"]),
            self.first_capture_t,
        )

    def search(self, observation: Observation, rng: np.random.Generator) -> SearchResult:
        """Plan from ``observation``: goal orderings drawn from the beliefs, one per tree,
        then the multi-tree search (``rng`` drives every random choice)."""
        if not self.begun:
            raise RuntimeError("HopDecider.search: call begin(observation) first")
        state = self.state_from(observation)
        goals = [self.beliefs.sample_orderings(rng) for _ in range(self.planner.config.num_trees)]
        sampler = BeliefGoalSampler(self.rules, self.beliefs.weights())
        self.search_policy.clear()
        return self.planner.plan(
            state,
            self.seat,
            self.search_policy,
            self.evaluator,
            rng,
            goal_sampler=sampler,
            goals=goals,
        )

    def observe(self, transition: Transition) -> None:
        """Record one joint step; update the beliefs when the focal player took part in it."""
        if not self.begun:
            raise RuntimeError("HopDecider.observe: call begin(observation) first")
        if self.first_capture_t < 0 and any_goal_achieved(self.rules, transition):
            self.first_capture_t = int(next(iter(transition.observations.values()))["step"])
        before = self.recorder.state
        if before is None:
            return
        after = self.recorder.record(transition)
        if (
            after is not None
            and bool(before.active[self.seat])
            and self.agent_id in transition.actions
        ):
            actions = {self._seat_of[a]: int(x) for a, x in transition.actions.items()}
            self.beliefs.update(before, actions, after)

    def finish(self) -> RecordedEpisode:
        """The recorded episode; its co-players' outcomes update the inter-episode prior."""
        if not self.begun:
            raise RuntimeError("HopDecider.finish: call begin(observation) first")
        self.begun = False
        episode = self.recorder.finish()
        self.beliefs.end_episode(co.outcome for co in episode.coplayers.values())
        return episode
