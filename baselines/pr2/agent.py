"""A trained discrete-PR2 learner (:mod:`baselines.pr2.grid_training`) behind the Agent protocol.

``PR2Agent(checkpoint=DIR)`` loads the factored joint action value from the safetensors + JSON
checkpoint a :class:`~baselines.pr2.grid_training.PR2GridTrainer` saved (``DIR`` is the run
folder or its ``policy/``), plays with fixed weights (it does not learn while it plays) and
samples its soft policy ``pi = softmax(Qbar / alpha)`` at the checkpoint's temperature with
its own seeded RNG (``deterministic=True``: the most likely action; ``alpha`` overrides the
temperature).

:meth:`PR2Agent.predict_coplayers` answers with PR2's own belief about each co-player still in
the game: the marginal of its opponent-conditional policy under the agent's policy,
``sum_a pi(a | s) rho_j(. | s, a)`` (:mod:`baselines.pr2.grid`). ``rho`` is the co-players'
reaction that would suit the agent best (level-1 reasoning), not a fit of what they do, so
these predictions are the model's optimism, scored like any other. It draws nothing from the
RNG and changes nothing. ``checkpoint=None`` loads the one shipped for the seat's env
(``baselines/checkpoints/pr2/<EnvName-vN>/``); as a co-player it is a learned one.
Importing this module imports no torch; the network is built on the first ``reset``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from agents.base import Observation, SeatInfo
from agents.prediction import CoplayerPrediction
from baselines.checkpoint_agent import CheckpointAgent, TrainedOn


class PR2Agent(CheckpointAgent):
    """PR2, level-1 probabilistic recursive reasoning (Wen et al. 2019), discrete form,
    trained weights; predicts its co-players with its opponent-conditional policy."""

    learner_name = "pr2"

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        deterministic: bool = False,
        alpha: float | None = None,
        torch_threads: int | None = 1,
    ) -> None:
        super().__init__(checkpoint, deterministic, torch_threads)
        if alpha is not None and (
            isinstance(alpha, bool)
            or not isinstance(alpha, int | float)
            or not math.isfinite(alpha)
            or alpha <= 0
        ):
            raise ValueError(f"PR2Agent: alpha must be None or a finite float > 0, got {alpha!r}")
        self.alpha = alpha
        self.meta: Mapping[str, Any] | None = None
        self.net: Any = None
        self.mask_table: Any = None

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        assert seat is not None
        import hop_envs
        from baselines.pr2.grid import MaskTable

        self.mask_table = MaskTable.of_rules(
            hop_envs.make(seat.env_id, **dict(seat.env_kwargs)).rules
        )

    def _load(self, folder: Path) -> None:
        from baselines.pr2.checkpoint import load_network

        self.meta, self.net = load_network(folder)

    def _trained_on(self) -> TrainedOn:
        meta, net = self.meta, self.meta["network"]
        return TrainedOn(
            meta["env_id"],
            meta["env_kwargs"],
            net["observation_shape"],
            net["num_actions"],
            net["num_players"],
        )

    @property
    def temperature(self) -> float:
        if self.meta is None:
            raise RuntimeError("PR2Agent: call reset(seed=..., seat=...) first")
        return float(self.meta["alpha"] if self.alpha is None else self.alpha)

    def _evaluate(self, observation: Observation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``pi`` ``(A,)``, co-player marginals ``(J, A)`` and presence ``(J,)`` (float64)."""
        if self.net is None or self.meta is None:
            raise RuntimeError("PR2Agent: call reset(seed=..., seat=...) first")
        import torch

        from baselines.pr2.grid import coplayer_marginals, evaluate, grid_masks

        grid = np.asarray(observation["observation"])[None]
        masks, present = grid_masks(self.mask_table, grid)
        masks[:, 0] = np.asarray(observation["action_mask"], dtype=bool)  # the env's own mask
        rho_alpha = self.meta.get("rho_alpha")
        with torch.no_grad():
            q0, qj = self.net(torch.as_tensor(grid))
            ev = evaluate(
                q0.double(),
                qj.double(),
                torch.as_tensor(masks),
                torch.as_tensor(present[:, 1:]),
                self.temperature,
                None if rho_alpha is None else float(rho_alpha),
            )
            marginals = coplayer_marginals(ev.pi, ev.rho)
        return ev.pi[0].numpy(), marginals[0].numpy(), present[0, 1:]

    def action_probabilities(self, observation: Observation) -> np.ndarray:
        """The policy's action distribution (float64) for this observation."""
        return self._evaluate(observation)[0]

    def act(self, observation: Observation) -> int:
        return self.sample(self.action_probabilities(observation))

    def predict_coplayers(self, observation: Observation) -> dict[int, CoplayerPrediction]:
        """Seat -> ``sum_a pi(a|s) rho_j(.|s, a)`` for every other seat still in the game."""
        if self.seat is None:
            raise RuntimeError("PR2Agent: call reset(seed=..., seat=...) first")
        _, marginals, present = self._evaluate(observation)
        n, seat = self.seat.num_players, self.seat.seat
        return {
            (seat + k) % n: CoplayerPrediction(actions=marginals[k - 1] / marginals[k - 1].sum())
            for k in range(1, n)
            if present[k - 1]
        }


__all__ = ["PR2Agent"]
