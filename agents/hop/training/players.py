"""The players of training episodes: the searching learner and the self-play co-player.

:class:`SearchLearner` is HOP's decision process run with the networks being trained: it
holds a :class:`~agents.hop.decision.HopDecider`, the same code the ``hop`` agent decides
with (goal beliefs updated by Bayes' rule with the opponent model, goal orderings drawn from
them per tree, multi-tree PUCT search, the state rebuilt from the learner's observations).
What is training's own: the search settings (:func:`planner_config`: DESIGN's, with root
Dirichlet noise for exploration), the focal network's value at the leaves, the co-player
cache :data:`SEARCH_CACHE` and, for every decision, the training target of the focal policy
(the search's root visits or its acting policy, ``TrainConfig.policy_target``) and the reward
that followed. The episode is recorded for the opponent-model buffer to its end, also after
the learner has left the game, so no co-player is censored.

:class:`NetworkPolicyPlayer` is the cheap self-play co-player: it samples from the current
focal network's policy (no search), so a trial with several self-play seats costs one
search per step, not one per seat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agents.base import Observation, Transition
from agents.hop.beliefs import BeliefConfig, GoalBeliefs
from agents.hop.coplayer_cache import CachedCoplayerPolicy
from agents.hop.decision import HopDecider
from agents.hop.features import FeatureBuilder
from agents.hop.goals import EpisodeRecorder, RecordedEpisode
from agents.hop.learned import LearnedCoplayerPolicy, NetworkEvaluator
from agents.hop.networks import FocalNet, GoalOpponentModel
from agents.hop.planner import MultiTreePlanner, PlannerConfig, SearchResult
from agents.hop.training.config import TrainConfig
from hop_envs.core import GridRules

#: The co-player cache of the training search (:mod:`agents.hop.coplayer_cache`): ``"exact"``
#: answers with the opponent model's own distributions (the agent's default ``"own-cell"``
#: approximates them); a game too large for its keys falls back to ``"none"``.
SEARCH_CACHE = "exact"


def planner_config(config: TrainConfig, *, explore: bool = True) -> PlannerConfig:
    """The search settings of training (root Dirichlet noise only when ``explore``)."""
    return PlannerConfig(
        num_trees=config.num_trees,
        num_simulations=config.num_simulations,
        c_puct=config.c_puct,
        discount=config.discount,
        beta=config.beta,
        dirichlet_alpha=config.dirichlet_alpha,
        dirichlet_fraction=config.dirichlet_fraction if explore else 0.0,
    )


def search_policy(policy: LearnedCoplayerPolicy, rules: GridRules) -> CachedCoplayerPolicy:
    """The training search's co-player policy: ``policy`` behind the :data:`SEARCH_CACHE`
    cache (``"none"`` where the game's keys do not fit it)."""
    try:
        return CachedCoplayerPolicy(policy, rules, SEARCH_CACHE)
    except ValueError:
        return CachedCoplayerPolicy(policy, rules, "none")


@dataclass(frozen=True)
class Decision:
    """One learner decision: its own view, the step, legal actions, the policy target and
    the reward the joint step gave it."""

    grid: np.ndarray
    step: int
    mask: np.ndarray
    target: np.ndarray
    reward: float


class SearchLearner:
    """The learning seat of a training trial (one RNG, given at construction).

    Lifecycle per trial: :meth:`start_trial`, then per episode :meth:`begin`, :meth:`act`
    and :meth:`observe` for every joint step, :meth:`finish`.
    """

    def __init__(
        self,
        rules: GridRules,
        seat: int,
        focal_net: FocalNet,
        opponent_model: GoalOpponentModel,
        config: TrainConfig,
        rng: np.random.Generator,
    ) -> None:
        self.rules = rules
        self.seat = seat
        self.agent_id = f"player_{seat}"
        self.config = config
        self.rng = rng
        self.policy = LearnedCoplayerPolicy(opponent_model, rules)
        self.decider = HopDecider(
            rules,
            seat,
            planner=MultiTreePlanner(rules, planner_config(config)),
            search_policy=search_policy(self.policy, rules),
            evaluator=NetworkEvaluator(focal_net, rules),
            beliefs=GoalBeliefs(rules, self.policy, seat, BeliefConfig(alpha=config.belief_alpha)),
            recorder=EpisodeRecorder(rules, seat),
        )
        self.decisions: list[Decision] = []
        self.last_search: SearchResult | None = None
        self._pending: tuple[np.ndarray, int, np.ndarray, np.ndarray] | None = None

    @property
    def beliefs(self) -> GoalBeliefs:
        return self.decider.beliefs

    @property
    def recorder(self) -> EpisodeRecorder:
        return self.decider.recorder

    def start_trial(self) -> None:
        """Forget the co-players (inter-episode priors)."""
        self.decider.reset()

    def begin(self, observation: Observation) -> None:
        self.decider.begin(observation)
        self.decisions = []
        self._pending = None

    def act(self, observation: Observation) -> int:
        rng = self.rng
        result = self.decider.search(observation, rng)
        self.last_search = result
        target = result.policy if self.config.policy_target == "search" else result.visit_policy
        action = int(rng.choice(len(result.policy), p=result.policy))
        self._pending = (
            np.asarray(observation["observation"], dtype=np.uint8),
            int(observation["step"]),
            np.asarray(observation["action_mask"], dtype=bool),
            np.asarray(target, dtype=np.float32),
        )
        return action

    def observe(self, transition: Transition) -> None:
        if self._pending is not None and self.agent_id in transition.actions:
            grid, step, mask, target = self._pending
            reward = float(transition.rewards[self.agent_id])
            self.decisions.append(Decision(grid, step, mask, target, reward))
            self._pending = None
        self.decider.observe(transition)

    def finish(self) -> RecordedEpisode:
        """The recorded episode; its outcomes update the inter-episode prior."""
        return self.decider.finish()


class NetworkPolicyPlayer:
    """Self-play co-player: samples from the focal network's masked policy (temperature 1).

    Follows the Agent protocol; seeded through :meth:`reset`.
    """

    def __init__(self, focal_net: FocalNet, rules: GridRules) -> None:
        self.net = focal_net
        self.features = FeatureBuilder(rules)
        self.rng = np.random.default_rng()

    def reset(self, seed: int | None = None, seat: object = None) -> None:
        self.rng = np.random.default_rng(seed)

    def start_episode(self) -> None:
        return None

    def act(self, observation: Observation) -> int:
        grid = np.asarray(observation["observation"])[None]
        mask = np.asarray(observation["action_mask"], dtype=bool)[None]
        features = self.features.from_observations(grid, [int(observation["step"])], mask)
        with torch.inference_mode():
            logits, _ = self.net.run(features)
            probs = torch.softmax(logits, dim=1)[0].numpy().astype(np.float64)
        probs /= probs.sum()
        return int(self.rng.choice(probs.shape[0], p=probs))

    def observe(self, transition: Transition) -> None:
        return None

    def end_episode(self) -> None:
        return None
