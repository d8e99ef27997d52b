"""A trained LOLA-OM learner (:mod:`baselines.lola.grid_training`) behind the Agent protocol.

``LOLAGridAgent(checkpoint=DIR)`` loads the policy and the co-player models from the
safetensors + JSON checkpoint a :class:`~baselines.lola.grid_training.LOLAGridTrainer`
saved, plays with fixed weights (it does not learn while it plays) and samples its actions
with its own seeded RNG (``deterministic=True``: the most likely action).

:meth:`LOLAGridAgent.predict_coplayers` answers from the co-player models: the model of
slot ``k`` (the ``k``-th seat after the agent's own, as the observation lists them) gets
that co-player's own view and legal actions, rebuilt from the agent's observation
(``coplayer_view`` and ``coplayer_masks`` of :mod:`baselines.lola.grid_policy`), for
every other seat still in the game. It draws nothing from the RNG and changes nothing.
``checkpoint=None`` loads the one shipped for the seat's env
(``baselines/checkpoints/lola/<EnvName-vN>/``). As a co-player it is a learned one. Importing
this module imports no torch; the networks are built on the first ``reset``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from agents.base import Observation, SeatInfo
from agents.prediction import CoplayerPrediction
from baselines.checkpoint_agent import CheckpointAgent, TrainedOn


class LOLAGridAgent(CheckpointAgent):
    """learning baseline: LOLA with opponent modelling (Foerster et al. 2018), shipped
    weights; predicts its co-players with its models of them."""

    learner_name = "lola"
    # set by reset: the checkpoint's JSON, its policy and co-player models, the game's rules
    meta: Mapping[str, Any] | None = None
    policy: Any = None
    models: Any = None
    rules: Any = None

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        assert seat is not None
        import hop_envs

        self.rules = hop_envs.make(seat.env_id, **dict(seat.env_kwargs)).rules

    def _load(self, folder: Path) -> None:
        from baselines.lola.grid_training import build_networks, load_weights, read_meta

        meta = read_meta(folder)
        policy, models = build_networks(meta)
        load_weights(folder, policy, models)
        self.meta, self.policy, self.models = meta, policy.eval(), models.eval()

    def _trained_on(self) -> TrainedOn:
        meta = self.meta
        return TrainedOn(
            meta["env_id"],
            meta["env_kwargs"],
            meta["observation_shape"],
            meta["num_actions"],
            meta["num_models"] + 1,
        )

    def action_probabilities(self, observation: Observation) -> np.ndarray:
        """The policy's action distribution (float64) for this observation."""
        if self.policy is None:
            raise RuntimeError("LOLAGridAgent: call reset(seed=..., seat=...) first")
        grid = np.asarray(observation["observation"])[None]
        mask = np.asarray(observation["action_mask"], dtype=bool)[None]
        return self._probabilities(self.policy, grid, mask)[0]

    @staticmethod
    def _probabilities(net: Any, grids: np.ndarray, masks: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            logp = net(
                torch.as_tensor(grids, dtype=torch.float32),
                torch.as_tensor(masks, dtype=torch.bool),
            )
        probs = logp.double().exp().numpy()
        return probs / probs.sum(1, keepdims=True)

    def act(self, observation: Observation) -> int:
        return self.sample(self.action_probabilities(observation))

    def predict_coplayers(self, observation: Observation) -> dict[int, CoplayerPrediction]:
        """Seat -> the model's action distribution, for every other seat still in the game."""
        if self.models is None or self.seat is None:
            raise RuntimeError("LOLAGridAgent: call reset(seed=..., seat=...) first")
        from baselines.lola.grid_policy import coplayer_masks, coplayer_view

        grid = np.asarray(observation["observation"])
        n = self.seat.num_players
        present = [k for k in range(1, n) if grid[k].any()]
        if not present:
            return {}
        masks = coplayer_masks(self.rules, grid)
        out: dict[int, CoplayerPrediction] = {}
        for k in present:
            view = coplayer_view(grid, n, k)[None]
            probs = self._probabilities(self.models[k - 1], view, masks[k][None])[0]
            out[(self.seat.seat + k) % n] = CoplayerPrediction(actions=probs)
        return out


__all__ = ["LOLAGridAgent"]
