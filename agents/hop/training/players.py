"""The players of training episodes: the searching learner and the self-play co-player.

:class:`SearchLearner` is HOP's decision process (goal beliefs updated by Bayes' rule with
the opponent model, multi-tree PUCT search with the focal network's priors and values)
run with the networks being trained. For every decision it keeps the training target of the
focal policy (the search's acting policy, or its root visit counts) and the reward that
followed, and it records the whole episode for the opponent-model buffer (to the end of the
episode, also after the learner has left the game, so no co-player is censored).

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
from agents.hop.features import FeatureBuilder
from agents.hop.goal_sampling import BeliefGoalSampler
from agents.hop.goals import EpisodeRecorder, RecordedEpisode
from agents.hop.learned import LearnedCoplayerPolicy, NetworkEvaluator
from agents.hop.networks import FocalNet, GoalOpponentModel
from agents.hop.planner import MultiTreePlanner, PlannerConfig
from agents.hop.training.config import TrainConfig
from hop_envs.core import GridRules


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
        self.evaluator = NetworkEvaluator(focal_net, rules)
        self.planner = MultiTreePlanner(rules, planner_config(config))
        self.beliefs = GoalBeliefs(
            rules, self.policy, seat, BeliefConfig(alpha=config.belief_alpha)
        )
        self.recorder = EpisodeRecorder(rules, seat)
        self.decisions: list[Decision] = []
        self._pending: tuple[np.ndarray, int, np.ndarray, np.ndarray] | None = None

    def start_trial(self) -> None:
        """Forget the co-players (inter-episode priors)."""
        self.beliefs.reset()

    def begin(self, observation: Observation) -> None:
        state = self.recorder.begin(observation)
        self.beliefs.start_episode(state)
        self.decisions = []
        self._pending = None

    def act(self, observation: Observation) -> int:
        state = self.recorder.state
        if state is None:
            raise RuntimeError("SearchLearner.act: call begin(observation) first")
        rng = self.rng
        # As the ``hop`` agent does: per tree and co-player a goal ordering drawn from the
        # beliefs (snowdrift: the drift it goes for first, the others in random order, idle).
        goals = [self.beliefs.sample_orderings(rng) for _ in range(self.config.num_trees)]
        sampler = BeliefGoalSampler(self.rules, self.beliefs.weights())
        result = self.planner.plan(
            state, self.seat, self.policy, self.evaluator, rng, goal_sampler=sampler, goals=goals
        )
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
        before = self.recorder.state
        after = self.recorder.record(transition)
        if self._pending is not None and self.agent_id in transition.actions:
            grid, step, mask, target = self._pending
            reward = float(transition.rewards[self.agent_id])
            self.decisions.append(Decision(grid, step, mask, target, reward))
            self._pending = None
        learner_on = before is not None and bool(before.active[self.seat])
        if learner_on and after is not None and self.agent_id in transition.actions:
            seat_of = {f"player_{j}": j for j in range(self.rules.num_players)}
            actions = {seat_of[a]: int(x) for a, x in transition.actions.items()}
            self.beliefs.update(before, actions, after)

    def finish(self) -> RecordedEpisode:
        """The recorded episode; its outcomes update the inter-episode prior."""
        episode = self.recorder.finish()
        self.beliefs.end_episode(co.outcome for co in episode.coplayers.values())
        return episode


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
