"""Adds the influence reward to MaskablePPO's rollouts and trains the MOA on them.

SB3 computes a rollout's returns and advantages before calling ``on_rollout_end``; this
callback then (1) rewards every step with the weighted influence of the learner's action on
its co-players (:func:`.influence.influence_reward`, with the MOA as it was before this
rollout), (2) recomputes returns and advantages, and (3) fits the MOA to the rollout's
observed next actions of the co-players. The envs must report, in each step's info,
``joint_actions`` (the step's actions, learner first, the others in observation order) and
``present`` (which of those co-players are still in the game after the step);
:class:`baselines.vec_env.BatchedFocalVecEnv` and the self-play view do. Entries without them
get no influence reward and give the MOA no data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import obs_as_tensor

from baselines.social_influence.influence import InfluenceConfig, influence_reward
from baselines.social_influence.moa import MOANetwork

#: Rows per forward pass when scoring a rollout.
CHUNK = 4096


class InfluenceCallback(BaseCallback):
    """The influence reward and the MOA's training, once per rollout."""

    def __init__(self, moa: MOANetwork, optimizer: torch.optim.Optimizer, config: InfluenceConfig):
        super().__init__()
        self.moa = moa
        self.optimizer = optimizer
        self.config = config
        self._joint: list[np.ndarray] = []
        self._present: list[np.ndarray] = []
        self._known: list[np.ndarray] = []

    def _on_rollout_start(self) -> None:
        self._joint, self._present, self._known = [], [], []

    def _on_step(self) -> bool:
        infos = self.locals["infos"]
        cfg = self.moa.config
        joint = np.zeros((len(infos), cfg.num_players), dtype=np.int64)
        present = np.zeros((len(infos), cfg.num_coplayers), dtype=bool)
        known = np.zeros(len(infos), dtype=bool)
        for i, info in enumerate(infos):
            actions = info.get("joint_actions")
            if actions is not None:
                joint[i] = actions
                present[i] = info["present"]
                known[i] = True
        self._joint.append(joint)
        self._present.append(present)
        self._known.append(known)
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        steps, envs = buffer.rewards.shape
        if len(self._joint) != steps:
            raise RuntimeError(
                f"InfluenceCallback: saw {len(self._joint)} steps, the rollout has {steps}"
            )
        joint = np.stack(self._joint)  # (T, E, n)
        present = np.stack(self._present)  # (T, E, J)
        known = np.stack(self._known)  # (T, E)
        flat_obs = buffer.observations.reshape(steps * envs, *buffer.observations.shape[2:])
        flat_joint = joint.reshape(steps * envs, -1)
        rewards = self._influence(flat_obs, buffer, flat_joint, present.reshape(steps * envs, -1))
        rewards = rewards.reshape(steps, envs) * known
        weight = self.config.weight_at(self.model.num_timesteps)
        buffer.rewards += (weight * rewards).astype(buffer.rewards.dtype)
        with torch.no_grad():
            last_values = self.model.policy.predict_values(
                obs_as_tensor(self.model._last_obs, self.model.device)
            )
        buffer.compute_returns_and_advantage(last_values=last_values, dones=self.locals["dones"])
        loss, accuracy = self._fit_moa(buffer, joint, present, known)
        self.logger.record("influence/weight", weight)
        self.logger.record(
            "influence/mean_reward", float(rewards[known].mean()) if known.any() else 0.0
        )
        self.logger.record("moa/loss", loss)
        self.logger.record("moa/accuracy", accuracy)

    def _influence(
        self, obs: np.ndarray, buffer: Any, joint: np.ndarray, present: np.ndarray
    ) -> np.ndarray:
        """Unweighted influence reward of every (step, entry) of the rollout, flat."""
        policy = self.model.policy
        actions = buffer.actions.reshape(-1).astype(np.int64)
        masks = getattr(buffer, "action_masks", None)
        flat_masks = None if masks is None else masks.reshape(actions.size, -1)
        out = np.zeros(actions.size, dtype=np.float64)
        with torch.no_grad():
            for start in range(0, actions.size, CHUNK):
                rows = slice(start, start + CHUNK)
                grids = torch.as_tensor(obs[rows], dtype=torch.float32)
                chunk_masks = None if flat_masks is None else flat_masks[rows]
                own = policy.get_distribution(grids, action_masks=chunk_masks).distribution.probs
                counterfactual = self.moa.counterfactual_probs(grids, torch.as_tensor(joint[rows]))
                out[rows] = influence_reward(
                    counterfactual.double().numpy(),
                    own.double().numpy(),
                    actions[rows],
                    present[rows],
                    self.config.clip,
                )
        return out

    def _fit_moa(
        self, buffer: Any, joint: np.ndarray, present: np.ndarray, known: np.ndarray
    ) -> tuple[float, float]:
        """Fit the MOA to the co-players' actions at ``t + 1`` (where the same episode goes
        on and the co-player is still in it); the mean loss and accuracy before fitting."""
        starts = buffer.episode_starts.astype(bool)  # (T, E): obs_t began an episode
        valid = np.zeros_like(present)
        valid[:-1] = present[:-1] & (known[:-1] & known[1:] & ~starts[1:])[..., None]
        rows_t, rows_e = np.nonzero(valid.any(axis=2))
        if rows_t.size == 0:
            return 0.0, 0.0
        grids = torch.as_tensor(buffer.observations[rows_t, rows_e], dtype=torch.float32)
        inputs = torch.as_tensor(joint[rows_t, rows_e])
        targets = torch.as_tensor(joint[rows_t + 1, rows_e][:, 1:])
        weights = torch.as_tensor(valid[rows_t, rows_e], dtype=torch.float32)
        with torch.no_grad():
            logits = self.moa(grids, inputs)
            first_loss = float(_masked_loss(logits, targets, weights))
            hits = (logits.argmax(-1) == targets).float()
            accuracy = float((hits * weights).sum() / weights.sum())
        self.moa.train()
        size, batch = rows_t.size, self.config.moa_batch_size
        for _ in range(self.config.moa_epochs):
            order = torch.randperm(size)
            for start in range(0, size, batch):
                idx = order[start : start + batch]
                loss = _masked_loss(self.moa(grids[idx], inputs[idx]), targets[idx], weights[idx])
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
        self.moa.eval()
        return first_loss, accuracy


def _masked_loss(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Mean cross-entropy over the (row, co-player) pairs with weight 1."""
    losses = torch.nn.functional.cross_entropy(
        logits.flatten(0, 1), targets.flatten(), reduction="none"
    ).view_as(weights)
    return (losses * weights).sum() / weights.sum().clamp_min(1.0)
