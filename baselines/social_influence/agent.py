"""The trained social-influence learner behind the Agent protocol, with its MOA's predictions.

It plays like any learner (:class:`baselines.sb3.agent.LearnerAgent`: its MaskablePPO policy
with fixed weights) and answers :meth:`predict_coplayers` with its model of other agents: the
co-players' actions at step ``t`` predicted from its observation at ``t - 1`` and that step's
joint action, which it records in :meth:`observe`. At an episode's first step there is no
previous step, so it predicts nothing (nothing is scored). Importing this module imports no
torch.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from agents.base import Observation, SeatInfo, Transition
from agents.prediction import CoplayerPrediction
from baselines.checkpoint_agent import TrainedOn
from baselines.sb3.agent import LearnerAgent
from hop_envs.core.layout import STAY


class SocialInfluenceAgent(LearnerAgent):
    """learning baseline: MaskablePPO with the social-influence reward and a MOA (Jaques et
    al., 2019), shipped weights; predicts its co-players' actions with the MOA."""

    learner_name = "social-influence"

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        deterministic: bool = False,
        torch_threads: int | None = 1,
    ):
        super().__init__(checkpoint, deterministic, torch_threads)
        self.moa: Any = None
        self._last_grid: np.ndarray | None = None
        self._predicted: dict[int, CoplayerPrediction] = {}

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        self.start_episode()

    def _load(self, folder: Path) -> None:
        super()._load(folder)
        from baselines.social_influence.moa import load_moa  # torch, on first use

        self.moa = load_moa(folder)

    def _trained_on(self) -> TrainedOn:
        return replace(super()._trained_on(), num_players=self.moa.config.num_players)

    def start_episode(self) -> None:
        self._last_grid = None
        self._predicted = {}

    def act(self, observation: Observation) -> int:
        action = super().act(observation)
        self._last_grid = np.asarray(observation["observation"])
        return action

    def observe(self, transition: Transition) -> None:
        """Predict the co-players' next actions from this step (the MOA's input)."""
        seat = self.seat
        if seat is None or self._last_grid is None:
            return
        n = seat.num_players
        order = [(seat.seat + k) % n for k in range(n)]
        ids = [f"player_{s}" for s in order]
        if ids[0] not in transition.actions:  # this agent had already left
            self._predicted = {}
            return
        joint = np.asarray(  # the actions as run: an illegal one ran as stay
            [
                STAY
                if a not in transition.actions or transition.infos.get(a, {}).get("illegal_action")
                else int(transition.actions[a])
                for a in ids
            ],
            dtype=np.int64,
        )
        import torch

        with torch.no_grad():
            logits = self.moa(
                torch.as_tensor(self._last_grid, dtype=torch.float32).unsqueeze(0),
                torch.as_tensor(joint).unsqueeze(0),
            )[0]
            probs = torch.softmax(logits.double(), dim=-1).numpy()
        still = {
            a
            for a in transition.actions
            if not (transition.terminations.get(a) or transition.truncations.get(a))
        }
        self._predicted = {
            s: CoplayerPrediction(probs[k - 1] / probs[k - 1].sum())
            for k, s in enumerate(order)
            if k > 0 and ids[k] in still
        }

    def predict_coplayers(self, observation: Observation) -> dict[int, CoplayerPrediction]:
        """The MOA's prediction of every co-player still in the game, made from the previous
        step; empty at an episode's first step. Draws nothing, changes nothing."""
        if int(observation.get("step", 0)) == 0:
            return {}
        return dict(self._predicted)
