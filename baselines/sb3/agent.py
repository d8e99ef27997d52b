"""A trained SB3 learner behind the Agent protocol (as a focal agent or as a co-player).

The policy is rebuilt from a safetensors + JSON checkpoint (:mod:`baselines.sb3.checkpoint`):
by default the one shipped for the seat's env under ``baselines/checkpoints/<learner>/``.
Actions are sampled from the policy with the agent's own seeded RNG (so one seed reproduces a
trial); ``deterministic=True`` takes the most likely action instead. The recurrent learner's
LSTM state is kept across the episodes of a trial and cleared only by ``reset``: its memory of
the co-players is what it adapts with. Importing this module imports no torch (listing the
co-players reads these classes); the policy is built on the first ``reset``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.base import Observation, SeatInfo, Transition
from baselines.checkpoint_agent import CheckpointAgent, TrainedOn
from baselines.sb3.learners import learner


class LearnerAgent(CheckpointAgent):
    """A learning baseline playing with fixed weights (it does not learn while it plays).

    ``checkpoint``: a checkpoint folder (or a run folder), or ``None`` for the shipped one of
    the seat's env.
    """

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        deterministic: bool = False,
        torch_threads: int | None = 1,
    ):
        super().__init__(checkpoint, deterministic, torch_threads)
        self.spec = learner(self.learner_name)
        self.meta: Any = None  # baselines.sb3.checkpoint.PolicyMeta once loaded
        self.policy: Any = None
        self._lstm_states: Any = None
        self._trial_start = True

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        self._lstm_states = None
        self._trial_start = True

    def _load(self, folder: Path) -> None:
        from baselines.sb3.checkpoint import load_policy  # torch, on first use

        meta, policy = load_policy(folder)
        if meta.learner != self.learner_name:
            raise ValueError(
                f"{folder}: a {meta.learner!r} checkpoint, but this agent is {self.learner_name!r}"
            )
        self.meta, self.policy = meta, policy

    def _trained_on(self) -> TrainedOn:
        meta = self.meta
        return TrainedOn(meta.env_id, meta.env_kwargs, meta.observation_shape, meta.num_actions)

    def act(self, observation: Observation) -> int:
        if self.policy is None:
            raise RuntimeError(f"{type(self).__name__}: call reset(seed=..., seat=...) first")
        return self.sample(self.action_probabilities(observation))

    def action_probabilities(self, observation: Observation) -> np.ndarray:
        """The policy's action distribution (float64) for this observation; a recurrent
        learner's memory moves on by one step."""
        import torch  # on first use: importing this module imports no torch

        with torch.no_grad():
            return self._probabilities(observation)

    def _probabilities(self, observation: Observation) -> np.ndarray:
        import torch

        grid = torch.as_tensor(np.asarray(observation["observation"]), dtype=torch.float32)
        obs = grid.unsqueeze(0)
        mask = np.asarray(observation["action_mask"], dtype=bool)
        if self.spec.recurrent:
            if self._lstm_states is None:
                size = self.policy.lstm_actor.hidden_size
                layers = self.policy.lstm_actor.num_layers
                zeros = torch.zeros(layers, 1, size)
                self._lstm_states = (zeros, zeros.clone())
            starts = torch.tensor([1.0 if self._trial_start else 0.0])
            distribution, self._lstm_states = self.policy.get_distribution(
                obs, self._lstm_states, starts
            )
            self._trial_start = False
            logits = distribution.distribution.logits[0]
        else:
            # The actor's path of SB3's get_distribution, without building a distribution.
            policy = self.policy
            features = policy.extract_features(obs, policy.pi_features_extractor)
            logits = policy.action_net(policy.mlp_extractor.forward_actor(features))[0]
        scores = logits.double().numpy()
        if self.spec.uses_masks:
            scores = np.where(mask, scores, -np.inf)
        scores = np.exp(scores - scores.max())
        return scores / scores.sum()

    def observe(self, transition: Transition) -> None:
        return None


class PPOAgent(LearnerAgent):
    """learning baseline: MaskablePPO (sb3-contrib) on its own reward, shipped weights."""

    learner_name = "ppo"


class A2CAgent(LearnerAgent):
    """learning baseline: A2C (SB3), the synchronous stand-in for A3C, shipped weights."""

    learner_name = "a2c"


class ProsocialPPOAgent(LearnerAgent):
    """learning baseline: MaskablePPO trained on the prosocial reward, shipped weights."""

    learner_name = "prosocial-ppo"


class RecurrentPPOAgent(LearnerAgent):
    """learning baseline: RecurrentPPO whose LSTM memory spans the episodes of a trial."""

    learner_name = "recurrent-ppo"


#: Agent class of every learner, by name.
LEARNER_AGENTS: dict[str, type[LearnerAgent]] = {
    cls.learner_name: cls for cls in (PPOAgent, A2CAgent, ProsocialPPOAgent, RecurrentPPOAgent)
}
