"""Pure rules of the Markov Stag-Hunt (DESIGN §3.1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hop_envs.core.goals import PreyKindGoals
from hop_envs.core.layout import NUM_MOVES, STAY
from hop_envs.core.rules import GridRules, check_choice, check_int, check_number
from hop_envs.core.state import GridState, StepOutcome

STAG, HARE = 0, 1
HUNT_STAG, HUNT_HARE = 5, 6
REWARD_MODES = ("selfish", "prosocial")


@dataclass(frozen=True)
class StagHuntConfig:
    """Arguments of ``MarkovStagHunt-v0``; every field is validated on construction."""

    num_players: int = 4
    grid_size: int = 8
    height: int | None = None
    width: int | None = None
    num_stags: int = 1
    num_hares: int = 4
    stag_reward: float = 10.0
    hare_reward: float = 1.0
    stag_hunters_required: int = 2
    player_strength: tuple[float, ...] | None = None
    time_reward: float = 0.0
    max_cycles: int = 35
    end_after_first_hunt: int | None = None
    num_wall_pieces: int = 5
    reward_mode: str = "selfish"
    strength: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_int("num_players", self.num_players, 2, 8)
        check_int("grid_size", self.grid_size, 2)
        for name in ("height", "width"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.grid_size)
            check_int(name, getattr(self, name), 2)
        check_int("num_stags", self.num_stags, 0)
        check_int("num_hares", self.num_hares, 0)
        if self.num_stags + self.num_hares == 0:
            raise ValueError("num_stags + num_hares must be >= 1, got 0 prey")
        if self.num_stags + self.num_hares > self.height * self.width:
            raise ValueError(
                f"num_stags + num_hares = {self.num_stags} + {self.num_hares} prey do not fit "
                f"on a {self.height}x{self.width} grid (height x width cells at most)"
            )
        check_number("stag_reward", self.stag_reward)
        check_number("hare_reward", self.hare_reward)
        check_number("time_reward", self.time_reward)
        check_int("stag_hunters_required", self.stag_hunters_required, 1, self.num_players)
        if self.player_strength is None:
            strength = (1.0,) * self.num_players
        else:
            if isinstance(self.player_strength, str) or not isinstance(
                self.player_strength, Sequence | np.ndarray
            ):
                raise ValueError(
                    f"player_strength must be None or a sequence of num_players="
                    f"{self.num_players} positive numbers, got {self.player_strength!r}"
                )
            strength = tuple(self.player_strength)
            if len(strength) != self.num_players:
                raise ValueError(
                    f"player_strength must have num_players={self.num_players} entries, "
                    f"got {len(strength)}: {self.player_strength!r}"
                )
            for i, s in enumerate(strength):
                check_number(f"player_strength[{i}]", s, non_negative=True)
                if s <= 0:
                    raise ValueError(f"player_strength[{i}] must be > 0, got {s!r}")
            object.__setattr__(self, "player_strength", strength)
        object.__setattr__(self, "strength", tuple(float(s) for s in strength))
        check_int("max_cycles", self.max_cycles, 1)
        if self.end_after_first_hunt is not None:
            check_int("end_after_first_hunt", self.end_after_first_hunt, 0)
        check_int("num_wall_pieces", self.num_wall_pieces, 0)
        check_choice("reward_mode", self.reward_mode, REWARD_MODES)


class StagHuntRules(GridRules):
    """Step function of the Markov Stag-Hunt.

    Hunts resolve at the hunters' cells while movers move. All players on one stag choosing
    hunt-stag form a group: with at least ``stag_hunters_required`` members it captures the
    stag and shares ``stag_reward`` by strength, otherwise it fails and stays. A hare is
    captured by any group of one or more and its reward is split equally. Capturers leave.
    """

    object_kinds = ("stag", "hare")
    action_names = ("up", "down", "left", "right", "stay", "hunt_stag", "hunt_hare")
    config: StagHuntConfig

    def return_bounds(self) -> tuple[float, float]:
        """A selfish player captures at most one prey (it leaves) and gets at most its
        reward; a prosocial one gets at most the mean of all prey; plus the time rewards."""
        cfg = self.config
        prey = max(cfg.stag_reward, cfg.hare_reward, 0.0)
        if cfg.reward_mode == "prosocial":
            total = cfg.num_stags * cfg.stag_reward + cfg.num_hares * cfg.hare_reward
            prey = max(prey, total / cfg.num_players)
        time = cfg.time_reward * cfg.max_cycles
        low = min(0.0, time, cfg.stag_reward, cfg.hare_reward)
        return low, prey + max(0.0, time)

    def __init__(self, config: StagHuntConfig) -> None:
        super().__init__(config)
        self._strength = list(config.strength)

    def reward_scale(self) -> float:
        """The larger of one hunter's stag share (stag reward over the hunters needed) and
        the hare reward, at least 1."""
        cfg = self.config
        scale = max(abs(cfg.stag_reward) / cfg.stag_hunters_required, abs(cfg.hare_reward))
        return max(float(scale), 1.0)

    def make_goal_space(self) -> PreyKindGoals:
        """Goals are prey kinds (:class:`~hop_envs.core.goals.PreyKindGoals`)."""
        return PreyKindGoals(self.object_kinds, self.height, self.width)

    def initial_object_kinds(self) -> list[int]:
        return [STAG] * self.config.num_stags + [HARE] * self.config.num_hares

    def object_action_legal(self, action: int, kind: int) -> bool:
        return (action == HUNT_STAG and kind == STAG) or (action == HUNT_HARE and kind == HARE)

    def step(self, state: GridState, actions: Sequence[int] | np.ndarray) -> StepOutcome:
        cfg = self.config
        n = self.num_players
        if state.over:
            raise RuntimeError("cannot step a finished stag-hunt state; reset first")
        acts = actions.tolist() if isinstance(actions, np.ndarray) else [int(a) for a in actions]
        pos = state.player_pos.tolist()
        active_start = state.active.tolist()
        neighbors = state.layout.neighbor_lists
        obj_pos = state.object_pos.tolist()
        obj_kind = state.object_kind.tolist()
        alive = state.object_alive.tolist()
        cell_obj = {p: k for k, p in enumerate(obj_pos) if alive[k]}

        rewards = [0.0] * n
        illegal = [False] * n
        failed = [False] * n
        target = [-1] * n
        new_pos = list(pos)
        hunters: dict[int, list[int]] = {}
        for i in range(n):
            if not active_start[i]:
                continue
            a = acts[i]
            if a < NUM_MOVES:
                nxt = neighbors[pos[i]][a]
                if nxt >= 0:
                    new_pos[i] = nxt
                else:
                    illegal[i] = True
            elif a != STAY:
                k = cell_obj.get(pos[i], -1)
                if k >= 0 and self.object_action_legal(a, obj_kind[k]):
                    hunters.setdefault(k, []).append(i)
                else:
                    illegal[i] = True

        captured_any = False
        for k, group in hunters.items():
            if obj_kind[k] == STAG:
                if len(group) < cfg.stag_hunters_required:
                    for i in group:
                        failed[i] = True
                    continue
                total = sum(self._strength[i] for i in group)
                for i in group:
                    rewards[i] += cfg.stag_reward * self._strength[i] / total
            else:
                for i in group:
                    rewards[i] += cfg.hare_reward / len(group)
            state.object_alive[k] = False
            alive[k] = False
            captured_any = True
            for i in group:
                target[i] = k

        if cfg.time_reward:
            for i in range(n):
                if active_start[i]:
                    rewards[i] += cfg.time_reward
        if cfg.reward_mode == "prosocial":
            mean = sum(rewards) / n
            rewards = [mean if active_start[i] else 0.0 for i in range(n)]

        state.player_pos[:] = new_pos
        terminated = [target[i] >= 0 for i in range(n)]
        state.t += 1
        if captured_any and state.first_capture_t < 0:
            state.first_capture_t = state.t

        remaining = [active_start[i] and not terminated[i] for i in range(n)]
        state.active[:] = remaining
        truncated = [False] * n
        if not any(alive):
            terminated = [terminated[i] or remaining[i] for i in range(n)]
            remaining = [False] * n
            state.active[:] = False
        elif state.t >= cfg.max_cycles or (
            cfg.end_after_first_hunt is not None
            and state.first_capture_t >= 0
            and state.t - state.first_capture_t >= cfg.end_after_first_hunt
        ):
            truncated = remaining
        state.over = not any(remaining) or any(truncated)
        return StepOutcome(
            rewards=np.asarray(rewards, dtype=np.float64),
            terminated=np.asarray(terminated, dtype=bool),
            truncated=np.asarray(truncated, dtype=bool),
            target=np.asarray(target, dtype=np.int64),
            failed=np.asarray(failed, dtype=bool),
            illegal=np.asarray(illegal, dtype=bool),
        )
