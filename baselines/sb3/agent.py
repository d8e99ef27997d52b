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

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from agents.base import BaseAgent, Observation, SeatInfo, Transition
from baselines.sb3.learners import learner
from baselines.shipped import shipped_checkpoint
from hop_envs.coplayers import LEARNED, SNOWDRIFT_ID, STAG_HUNT_ID
from hop_envs.registration import full_env_id


class LearnerAgent(BaseAgent):
    """A learning baseline playing with fixed weights (it does not learn while it plays).

    ``checkpoint``: a checkpoint folder, or ``None`` for the shipped one of the seat's env.
    """

    learner_name: ClassVar[str]
    #: As a co-player: a learned one (public, not held-out; see ``coplayer_population``).
    population: ClassVar[str] = LEARNED
    supported_envs: ClassVar[tuple[str, ...]] = (STAG_HUNT_ID, SNOWDRIFT_ID)

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        deterministic: bool = False,
        torch_threads: int | None = 1,
    ):
        """``torch_threads`` is applied with ``torch.set_num_threads`` at ``reset`` (one
        observation per call: extra intra-op threads only add synchronisation, and
        evaluation runs seats and workers side by side); ``None`` leaves torch alone."""
        super().__init__()
        if torch_threads is not None and (
            isinstance(torch_threads, bool)
            or not isinstance(torch_threads, int)
            or torch_threads < 1
        ):
            raise ValueError(
                f"{type(self).__name__}: torch_threads must be None or an integer >= 1, "
                f"got {torch_threads!r}"
            )
        self.torch_threads = torch_threads
        self.spec = learner(self.learner_name)
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.deterministic = bool(deterministic)
        self.meta: Any = None  # baselines.sb3.checkpoint.PolicyMeta once loaded
        self.policy: Any = None
        self._loaded_from: Path | None = None
        self._lstm_states: Any = None
        self._trial_start = True

    @property
    def name(self) -> str:
        return self.learner_name

    @classmethod
    def fingerprint_paths(cls, env_id: str, kwargs: Mapping[str, Any]) -> list[Path]:
        """The checkpoint these arguments load (the shipped one by default), so that stored
        results are keyed by the weights' bytes."""
        checkpoint = kwargs.get("checkpoint")
        folder = Path(checkpoint) if checkpoint else shipped_checkpoint(cls.learner_name, env_id)
        return [folder] if folder.exists() else []

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        if seat is None:
            raise ValueError(
                f"{type(self).__name__}.reset: needs seat=SeatInfo(...) to know which env's "
                "checkpoint to load"
            )
        if self.torch_threads is not None:
            import torch

            torch.set_num_threads(self.torch_threads)
        folder = self.checkpoint or shipped_checkpoint(self.learner_name, seat.env_id)
        if folder != self._loaded_from:
            if self.checkpoint is None and not folder.is_dir():
                raise FileNotFoundError(
                    f"{self.learner_name!r}: no shipped checkpoint for {seat.env_id} "
                    f"(looked in {folder}); train one with `hop-bench train --agent "
                    f"{self.learner_name} --env {seat.env_id}` and pass checkpoint=DIR"
                )
            from baselines.sb3.checkpoint import load_policy  # torch, on first use

            self.meta, self.policy = load_policy(folder)
            self._loaded_from = folder
        self._check_fit(seat)
        self._lstm_states = None
        self._trial_start = True

    def _check_fit(self, seat: SeatInfo) -> None:
        meta = self.meta
        assert meta is not None
        if meta.learner != self.learner_name:
            raise ValueError(
                f"{self._loaded_from}: a {meta.learner!r} checkpoint, but this agent is "
                f"{self.learner_name!r}"
            )
        if full_env_id(meta.env_id) != full_env_id(seat.env_id):
            raise ValueError(
                f"{self._loaded_from}: trained for {meta.env_id}, but the seat is in {seat.env_id}"
            )
        shape = tuple(seat.observation_space["observation"].shape)
        if shape != tuple(meta.observation_shape) or seat.action_space.n != meta.num_actions:
            raise ValueError(
                f"{self._loaded_from}: trained on observations {tuple(meta.observation_shape)} "
                f"and {meta.num_actions} actions, but the seat has {shape} and "
                f"{seat.action_space.n} (env arguments {dict(seat.env_kwargs)}; trained with "
                f"{dict(meta.env_kwargs)})"
            )

    def act(self, observation: Observation) -> int:
        if self.policy is None:
            raise RuntimeError(f"{type(self).__name__}: call reset(seed=..., seat=...) first")
        probs = self.action_probabilities(observation)
        if self.deterministic:
            return int(probs.argmax())
        cumulative = np.cumsum(probs)
        draw = self.rng.random() * cumulative[-1]
        return int(min(np.searchsorted(cumulative, draw, side="right"), probs.size - 1))

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
