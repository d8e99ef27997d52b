"""One focal seat of many games at once, as a Stable-Baselines3 ``VecEnv`` on the batched core.

:class:`BatchedFocalVecEnv` steps ``num_envs`` games of one env in a single
:class:`hop_envs.BatchedGame` and plays every other seat with the batched rule-based
co-players (:mod:`hop_envs.coplayers.batched`, grouped by name), so a training step costs a
few numpy calls instead of ``num_envs`` Python env steps. It follows the contract of the
single-env view :class:`baselines.focal_env.FocalSeatEnv` (one game episode per episode):
the learner sees its seat's observation grid (``Box(0, 1, (C, H, W), uint8)``) exactly as the
PettingZoo env gives it, gets its seat's env reward (``reward_mode`` decides which), an illegal
action runs as stay, and its episode ends when its seat leaves the game. Then the entry
auto-resets with SB3's conventions (``terminal_observation``, ``TimeLimit.truncated``) and a
new layout, co-player draw and (if drawn) focal seat. Only memoryless co-players can be
batched; use ``FocalSeatEnv`` for held-out or plug-in co-players.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

import hop_envs
from baselines.focal_env import check_focal_seat
from hop_envs import BatchedGame
from hop_envs.coplayers import batched_names, batched_policy
from hop_envs.core.layout import STAY

#: Attributes :meth:`BatchedFocalVecEnv.get_attr` reads per entry (all others are shared).
PER_ENTRY_ATTRS = ("focal_seat", "coplayer_names", "action_masks")
#: Methods :meth:`BatchedFocalVecEnv.env_method` calls per entry.
ENTRY_METHODS = ("action_masks",)


class BatchedFocalVecEnv(VecEnv):
    """``num_envs`` games of ``env_id`` seen from one focal seat, co-players batched.

    Arguments (keywords):
        ``env_id``: the game, with or without the ``hop/`` namespace.
        ``num_envs``: number of games stepped together.
        ``coplayers``: ``None`` (the env's batched training population), a co-player name
        (every other seat) or a sequence of names (a population: each other seat draws one
        uniformly and independently at every episode start).
        ``focal_seat``: the learner's seat, or ``None`` to draw it uniformly per episode.
        ``seed``: seeds the one RNG behind layouts, draws and co-player actions (as
        :meth:`seed` followed by :meth:`reset` would); ``None``: fresh entropy.
        ``env_kwargs``: the game's own arguments (``num_players``, ``reward_mode``, ...).
    """

    def __init__(
        self,
        *,
        env_id: str = "hop/MarkovStagHunt-v0",
        num_envs: int,
        coplayers: str | Sequence[str] | None = None,
        focal_seat: int | None = None,
        seed: int | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.env_id = hop_envs.full_env_id(env_id)
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(
                f"BatchedFocalVecEnv: num_envs must be an integer >= 1, got {num_envs!r}"
            )
        self.env_kwargs = dict(env_kwargs or {})
        self.rules = hop_envs.make(self.env_id, **self.env_kwargs).rules
        self.game = BatchedGame(self.rules)
        self.num_players = self.rules.num_players
        check_focal_seat(focal_seat, self.num_players, self.env_id, "BatchedFocalVecEnv")
        self.fixed_seat = None if focal_seat is None else int(focal_seat)
        self.population = self._read_population(coplayers)
        self.policy_names = tuple(dict.fromkeys(self.population))
        self._policies = [batched_policy(name, self.env_id) for name in self.policy_names]
        # Population entry -> index of its (deduplicated) batched policy.
        self._policy_of_entry = np.asarray(
            [self.policy_names.index(name) for name in self.population], dtype=np.int64
        )
        self.render_mode = None  # read by VecEnv.__init__ through get_attr
        observation_space = spaces.Box(
            0, 1, (self.rules.num_channels, self.rules.height, self.rules.width), np.uint8
        )
        action_space = spaces.Discrete(self.rules.num_actions)
        super().__init__(int(num_envs), observation_space, action_space)
        self._rows = np.arange(self.num_envs)
        self._seat_offsets = np.arange(self.num_players)
        self._rng = np.random.default_rng()
        self._state: hop_envs.BatchedState | None = None
        self._grids = np.zeros(0, dtype=np.uint8)  # (B, n, C, H, W): every seat's view
        self._masks = np.zeros(0, dtype=np.int8)  # (B, n, A)
        self._seat = np.zeros(self.num_envs, dtype=np.int64)
        self._assigned = np.zeros((self.num_envs, self.num_players), dtype=np.int64)
        self._names_per_entry: list[tuple[str, ...]] = [() for _ in range(self.num_envs)]
        self._actions: np.ndarray | None = None
        self.closed = False
        if seed is not None:
            self.seed(seed)

    def _read_population(self, coplayers: str | Sequence[str] | None) -> tuple[str, ...]:
        """The population of names, each checked to have a batched policy for the env."""
        if coplayers is None:
            population = tuple(batched_names(self.env_id))
        elif isinstance(coplayers, str):
            population = (coplayers,)
        elif (
            isinstance(coplayers, Sequence)
            and coplayers
            and all(isinstance(c, str) for c in coplayers)
        ):
            population = tuple(coplayers)
        else:
            raise ValueError(
                "BatchedFocalVecEnv: coplayers must be None, a co-player name or a non-empty "
                f"sequence of names (batched co-players of {self.env_id}: "
                f"{batched_names(self.env_id)}), got {coplayers!r}"
            )
        for name in population:  # fail now, naming the supported co-players
            batched_policy(name, self.env_id)
        return population

    @property
    def state(self) -> hop_envs.BatchedState:
        """The live batched state of the ``num_envs`` games (a reference: do not change it;
        use :meth:`put_states`)."""
        if self._state is None:
            raise RuntimeError("BatchedFocalVecEnv: call reset() before reading the state")
        return self._state

    # -- VecEnv API --------------------------------------------------------------------------
    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed the next :meth:`reset` (SB3 convention: entry ``i`` is listed with
        ``seed + i``; the one RNG of the batch is seeded with ``seed``)."""
        return super().seed(seed)

    def reset(self) -> np.ndarray:
        """New episodes in every entry; the focal observations ``(num_envs, C, H, W)``."""
        if self._seeds[0] is not None:
            self._rng = np.random.default_rng(self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        self._state = self.game.reset(self._rng, self.num_envs)
        self._draw_players(self._rows)
        self._grids, self._masks = self.game.observe(self._state)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._actions = None
        return self._grids[self._rows, self._seat]

    def step_async(self, actions: np.ndarray) -> None:
        """Store the focal actions ``(num_envs,)`` for :meth:`step_wait`."""
        if self._state is None:
            raise RuntimeError("BatchedFocalVecEnv: call reset() before step()")
        acts = np.asarray(actions)
        whole = np.issubdtype(acts.dtype, np.integer) or (
            np.issubdtype(acts.dtype, np.floating) and bool((acts == np.round(acts)).all())
        )
        if acts.size != self.num_envs or not whole:
            raise ValueError(
                f"BatchedFocalVecEnv: actions must be {self.num_envs} whole numbers (one per "
                f"entry), got shape {acts.shape} and dtype {acts.dtype}"
            )
        acts = acts.reshape(self.num_envs).astype(np.int64)
        bad = (acts < 0) | (acts >= self.rules.num_actions)
        if bad.any():
            row = int(bad.argmax())
            raise ValueError(
                f"BatchedFocalVecEnv: action of entry {row} must be in "
                f"0..{self.rules.num_actions - 1} (the actions "
                f"{list(self.rules.action_names)}), got {int(acts[row])}"
            )
        self._actions = acts

    def step_wait(self) -> VecEnvStepReturn:
        """One joint step of every entry; finished focal episodes auto-reset."""
        state, actions = self._state, self._actions
        if state is None or actions is None:
            raise RuntimeError("BatchedFocalVecEnv: call step_async(actions) before step_wait()")
        self._actions = None
        rows, seat = self._rows, self._seat
        joint = np.full((self.num_envs, self.num_players), STAY, dtype=np.int64)
        joint[rows, seat] = actions
        acting = state.active & (self._assigned >= 0)
        for index, policy in enumerate(self._policies):
            r, s = np.nonzero(acting & (self._assigned == index))
            if r.size:
                joint[r, s] = policy.act(self._grids[r, s], self._masks[r, s], self._rng)
        outcome = self.game.step(state, joint)
        rewards = outcome.rewards[rows, seat].astype(np.float32)
        terminated = outcome.terminated[rows, seat]
        truncated = outcome.truncated[rows, seat] & ~terminated
        dones = terminated | outcome.truncated[rows, seat]
        illegal = outcome.illegal[rows, seat].tolist()
        names = self._names_per_entry
        # Every seat's action as run and who is still in the game, in the focal observation's
        # order (the focal seat first, then the others in seat order after it): the
        # social-influence learner's MOA reads them.
        order = (seat[:, None] + self._seat_offsets) % self.num_players
        joint_seen = np.where(outcome.illegal, STAY, joint)[rows[:, None], order]  # as run
        present = state.active[rows[:, None], order[:, 1:]]
        infos: list[dict[str, Any]] = [
            {
                "illegal_action": illegal[i],
                "seat": int(seat[i]),
                "coplayers": names[i],
                "joint_actions": joint_seen[i],
                "present": present[i],
            }
            for i in range(self.num_envs)
        ]
        self._grids, self._masks = self.game.observe(state)
        done_rows = np.flatnonzero(dones)
        if done_rows.size:
            last = self._grids[done_rows, seat[done_rows]]
            for k, row in enumerate(done_rows.tolist()):
                infos[row]["terminal_observation"] = last[k]
                infos[row]["TimeLimit.truncated"] = bool(truncated[row])
            self._restart(done_rows)
        return self._grids[rows, self._seat], rewards, dones, infos

    def action_masks(self) -> np.ndarray:
        """``(num_envs, A)`` bool: the focal seat's legal actions now (MaskablePPO's hook)."""
        if self._state is None:
            raise RuntimeError("BatchedFocalVecEnv: call reset() before action_masks()")
        return self._masks[self._rows, self._seat].astype(bool)

    def put_states(self, rows: Sequence[int] | np.ndarray, states: hop_envs.BatchedState) -> None:
        """Replace the running episodes of the entries ``rows`` by ``states`` (one per row,
        e.g. hand-built with ``BatchedState.stack``), keeping their focal seats and
        co-players: for tests and chosen starts. Call after :meth:`reset`."""
        if self._state is None:
            raise RuntimeError("BatchedFocalVecEnv: call reset() before put_states()")
        rows = np.asarray(self._index_list(list(np.atleast_1d(rows))), dtype=np.int64)
        if states.batch_size != rows.size:
            raise ValueError(
                f"BatchedFocalVecEnv.put_states: {rows.size} row(s) but {states.batch_size} "
                "state(s); give one state per row"
            )
        self._state.put(rows, states)
        grids, masks = self.game.observe(states)
        self._grids[rows] = grids
        self._masks[rows] = masks

    def close(self) -> None:
        """Nothing to release (no subprocesses, no windows)."""
        self.closed = True

    def render(self, mode: str | None = None) -> np.ndarray | None:
        raise NotImplementedError(
            "BatchedFocalVecEnv does not render; to watch an episode make one env with "
            f"hop_envs.make({self.env_id!r}, render_mode='ansi') or use "
            "baselines.focal_env.FocalSeatEnv"
        )

    def get_images(self) -> Sequence[np.ndarray | None]:
        return self.render()  # raises NotImplementedError

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """``attr_name`` per entry: ``focal_seat``, ``coplayer_names`` (one name per seat,
        ``None`` at the focal seat) and ``action_masks`` (a callable per entry) differ by
        entry; every other attribute is this object's own, shared by all entries."""
        index = self._index_list(indices)
        if attr_name == "focal_seat":
            return [int(self._seat[i]) for i in index]
        if attr_name == "coplayer_names":
            return [self._seat_names(i) for i in index]
        if attr_name == "action_masks":
            return [partial(self._entry_mask, i) for i in index]
        if not hasattr(self, attr_name):
            raise AttributeError(
                f"BatchedFocalVecEnv has no attribute {attr_name!r} (per-entry attributes: "
                f"{list(PER_ENTRY_ATTRS)}; shared ones are this object's attributes)"
            )
        value = getattr(self, attr_name)
        return [value for _ in index]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set a shared attribute (every entry at once; ``indices`` must cover them all)."""
        index = self._index_list(indices)
        if sorted(set(index)) != list(range(self.num_envs)):
            raise ValueError(
                f"BatchedFocalVecEnv: attributes are shared by all {self.num_envs} entries, so "
                f"set_attr({attr_name!r}) needs indices=None (all entries), got {index}"
            )
        if attr_name in PER_ENTRY_ATTRS:
            raise ValueError(
                f"BatchedFocalVecEnv: {attr_name!r} is read per entry and cannot be set"
            )
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs
    ) -> list[Any]:
        """Per-entry results of ``method_name``: only ``action_masks`` (each entry's ``(A,)``
        bool mask, as ``sb3_contrib``'s ``get_action_masks`` reads it)."""
        if method_name not in ENTRY_METHODS:
            raise AttributeError(
                f"BatchedFocalVecEnv.env_method supports {list(ENTRY_METHODS)}, got {method_name!r}"
            )
        if method_args or method_kwargs:
            raise ValueError(
                f"BatchedFocalVecEnv.env_method({method_name!r}) takes no arguments, got "
                f"{method_args!r} {method_kwargs!r}"
            )
        masks = self.action_masks()
        return [masks[i] for i in self._index_list(indices)]

    def env_is_wrapped(
        self, wrapper_class: type[gymnasium.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        """No entry is a wrapped Gymnasium env."""
        return [False for _ in self._index_list(indices)]

    # -- internals ---------------------------------------------------------------------------
    def _index_list(self, indices: VecEnvIndices) -> list[int]:
        index = [int(i) for i in self._get_indices(indices)]
        bad = [i for i in index if not 0 <= i < self.num_envs]
        if bad:
            raise IndexError(
                f"BatchedFocalVecEnv: entry indices must be in 0..{self.num_envs - 1}, got {bad}"
            )
        return index

    def _entry_mask(self, row: int) -> np.ndarray:
        return self.action_masks()[row]

    def _seat_names(self, row: int) -> tuple[str | None, ...]:
        return tuple(None if k < 0 else self.policy_names[k] for k in self._assigned[row].tolist())

    def _draw_players(self, rows: np.ndarray) -> None:
        """Draw the focal seat and the co-players of the entries ``rows`` (episode start)."""
        size = rows.size
        if self.fixed_seat is None:
            seats = self._rng.integers(0, self.num_players, size)
        else:
            seats = np.full(size, self.fixed_seat, dtype=np.int64)
        self._seat[rows] = seats
        drawn = self._rng.integers(0, len(self.population), (size, self.num_players))
        assigned = self._policy_of_entry[drawn]
        assigned[np.arange(size), seats] = -1
        self._assigned[rows] = assigned
        self._refresh_names(rows)

    def _refresh_names(self, rows: np.ndarray) -> None:
        """The co-player names of each entry in seat order, the focal seat left out (as
        ``FocalSeatEnv``'s ``info["coplayers"]``)."""
        for row in rows.tolist():
            self._names_per_entry[row] = tuple(
                self.policy_names[k] for k in self._assigned[row].tolist() if k >= 0
            )

    def _restart(self, rows: np.ndarray) -> None:
        """New episodes in the entries ``rows``: a new layout, co-players and focal seat."""
        state = self._state
        assert state is not None
        state.put(rows, self.game.reset(self._rng, rows.size))
        self._draw_players(rows)
        grids, masks = self.game.observe(state.take(rows))
        self._grids[rows] = grids
        self._masks[rows] = masks


__all__ = ["ENTRY_METHODS", "PER_ENTRY_ATTRS", "BatchedFocalVecEnv"]
