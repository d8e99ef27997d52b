"""Pure rules of the Markov Snowdrift game (DESIGN §3.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hop_envs.core.goals import DriftCellGoals
from hop_envs.core.layout import NUM_MOVES, STAY
from hop_envs.core.rules import GridRules, check_choice, check_int, check_number
from hop_envs.core.stag_hunt import REWARD_MODES
from hop_envs.core.state import GridState, StepOutcome

DRIFT = 0
REMOVE = 5


@dataclass(frozen=True)
class SnowdriftConfig:
    """Arguments of ``MarkovSnowdrift-v0``; every field is validated on construction."""

    num_players: int = 4
    grid_size: int = 8
    height: int | None = None
    width: int | None = None
    num_drifts: int = 6
    removal_reward: float = 6.0
    removal_cost: float = 4.0
    max_cycles: int = 50
    num_wall_pieces: int = 0
    reward_mode: str = "selfish"

    def __post_init__(self) -> None:
        check_int("num_players", self.num_players, 2, 8)
        check_int("grid_size", self.grid_size, 2)
        for name in ("height", "width"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.grid_size)
            check_int(name, getattr(self, name), 2)
        check_int("num_drifts", self.num_drifts, 1, self.height * self.width)
        check_number("removal_reward", self.removal_reward)
        check_number("removal_cost", self.removal_cost)
        check_int("max_cycles", self.max_cycles, 1)
        check_int("num_wall_pieces", self.num_wall_pieces, 0)
        check_choice("reward_mode", self.reward_mode, REWARD_MODES)


class SnowdriftRules(GridRules):
    """Step function of the Markov Snowdrift game.

    All players on one drift choosing remove in the same step remove it together: every
    player receives ``removal_reward`` and the removers share ``removal_cost``. Players never
    leave; the episode ends when no drift is left or at the time limit.
    """

    object_kinds = ("drift",)
    action_names = ("up", "down", "left", "right", "stay", "remove")
    config: SnowdriftConfig

    def return_bounds(self) -> tuple[float, float]:
        """Every drift pays each player at most ``removal_reward``; a lone remover of every
        drift pays ``removal_cost`` for each."""
        cfg = self.config
        gain = cfg.num_drifts * cfg.removal_reward
        net = cfg.num_drifts * (cfg.removal_reward - cfg.removal_cost)
        return min(0.0, net), max(0.0, gain)

    def reward_scale(self) -> float:
        """The removal reward, at least 1."""
        return max(float(abs(self.config.removal_reward)), 1.0)

    def make_goal_space(self) -> DriftCellGoals:
        """Goals are drift cells (:class:`~hop_envs.core.goals.DriftCellGoals`)."""
        return DriftCellGoals(self.height, self.width)

    def initial_object_kinds(self) -> list[int]:
        return [DRIFT] * self.config.num_drifts

    def object_action_legal(self, action: int, kind: int) -> bool:
        return action == REMOVE and kind == DRIFT

    def step(self, state: GridState, actions: Sequence[int] | np.ndarray) -> StepOutcome:
        cfg = self.config
        n = self.num_players
        if state.over:
            raise RuntimeError("cannot step a finished snowdrift state; reset first")
        acts = actions.tolist() if isinstance(actions, np.ndarray) else [int(a) for a in actions]
        pos = state.player_pos.tolist()
        neighbors = state.layout.neighbor_lists
        obj_pos = state.object_pos.tolist()
        alive = state.object_alive.tolist()
        cell_obj = {p: k for k, p in enumerate(obj_pos) if alive[k]}

        illegal = [False] * n
        target = [-1] * n
        new_pos = list(pos)
        removers: dict[int, list[int]] = {}
        for i in range(n):
            a = acts[i]
            if a < NUM_MOVES:
                nxt = neighbors[pos[i]][a]
                if nxt >= 0:
                    new_pos[i] = nxt
                else:
                    illegal[i] = True
            elif a != STAY:
                k = cell_obj.get(pos[i], -1)
                if k >= 0 and a == REMOVE:
                    removers.setdefault(k, []).append(i)
                else:
                    illegal[i] = True

        rewards = [cfg.removal_reward * len(removers)] * n
        for k, group in removers.items():
            for i in group:
                rewards[i] -= cfg.removal_cost / len(group)
                target[i] = k
            state.object_alive[k] = False
            alive[k] = False
        if cfg.reward_mode == "prosocial":
            rewards = [sum(rewards) / n] * n

        state.player_pos[:] = new_pos
        state.t += 1
        if removers and state.first_capture_t < 0:
            state.first_capture_t = state.t
        cleared = not any(alive)
        truncated = not cleared and state.t >= cfg.max_cycles
        state.over = cleared or truncated
        return StepOutcome(
            rewards=np.asarray(rewards, dtype=np.float64),
            terminated=np.full(n, cleared, dtype=bool),
            truncated=np.full(n, truncated, dtype=bool),
            target=np.asarray(target, dtype=np.int64),
            failed=np.zeros(n, dtype=bool),
            illegal=np.asarray(illegal, dtype=bool),
        )
