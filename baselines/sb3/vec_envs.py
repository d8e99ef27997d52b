"""The vector envs the learners train on: the focal seat against co-players, and self-play.

* :func:`population_vec_env`: ``num_envs`` copies of the focal-seat view
  (:class:`baselines.focal_env.FocalSeatEnv`) against co-players drawn from a population.
* :func:`self_play_vec_env`: every seat of ``num_games`` games is a vector entry played by the
  same policy (parameter sharing), through SuperSuit's conversion of the PettingZoo env, the
  pattern of PettingZoo's SB3 tutorials. A seat that has left the game stays an entry until the
  game ends: it sees its (departed) observation, may only stay and gets no reward.
* :class:`ConcatVecEnv` joins vector envs with the same spaces into one, so one SB3 model
  trains on both at once; ``action_masks()`` (read by MaskablePPO) is concatenated too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.wrappers import BaseParallelWrapper
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecEnvWrapper
from supersuit.vector import ConcatVecEnv as ConcatSuperSuitVecEnv
from supersuit.vector import MarkovVectorEnv
from supersuit.vector.sb3_vector_wrapper import SB3VecEnvWrapper

import hop_envs
from baselines.focal_env import FocalSeatEnv
from baselines.vec_env import BatchedFocalVecEnv
from hop_envs.coplayers import batched_names
from hop_envs.core.layout import STAY


class SelfPlayView(BaseParallelWrapper):
    """A PettingZoo game where every seat stays listed until the game ends.

    Observations are the grids alone; a seat that has left gets its departed observation,
    reward 0 and may only stay (its actions are ignored); all seats end together. The last
    action masks are kept for :meth:`action_masks`.
    """

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self._space = env.observation_space(env.possible_agents[0])["observation"]
        stay_only = np.zeros(env.action_space(env.possible_agents[0]).n, dtype=bool)
        stay_only[STAY] = True
        self._stay_only = stay_only
        self._last: dict[str, dict[str, Any]] = {}
        self.masks: dict[str, np.ndarray] = {}

    def observation_space(self, agent: str) -> spaces.Box:
        return self._space

    def reset(self, seed: int | None = None, options: dict | None = None):
        observations, infos = self.env.reset(seed=seed, options=options)
        self._last = dict(observations)
        self.agents = list(self.env.possible_agents)
        self.masks = {a: o["action_mask"].astype(bool) for a, o in observations.items()}
        return {a: o["observation"] for a, o in observations.items()}, infos

    def step(self, actions: Mapping[str, Any]):
        live = set(self.env.agents)
        observations, rewards, _, truncs, infos = self.env.step(
            {a: int(actions[a]) for a in self.env.agents}
        )
        self._last.update(observations)
        over = not self.env.agents
        for agent in self.possible_agents:
            if agent in live and agent in self.env.agents:
                self.masks[agent] = observations[agent]["action_mask"].astype(bool)
            else:
                self.masks[agent] = self._stay_only
        truncated = over and any(truncs.values())
        out_terms = dict.fromkeys(self.possible_agents, over and not truncated)
        out_truncs = dict.fromkeys(self.possible_agents, truncated)
        out_rewards = {a: float(rewards.get(a, 0.0)) for a in self.possible_agents}
        out_infos = {a: dict(infos.get(a, {})) for a in self.possible_agents}
        # Each seat's view of the joint action as run (its own first, then the others in seat
        # order after it; departed seats and illegal actions ran as stay) and who is still in
        # the game: the social-influence learner's MOA reads them.
        seats = self.possible_agents
        ran = np.asarray(
            [
                int(actions[a])
                if a in live and not infos.get(a, {}).get("illegal_action")
                else STAY
                for a in seats
            ],
            np.int64,
        )
        still = np.asarray([a in self.env.agents for a in seats], dtype=bool)
        n = len(seats)
        for seat, agent in enumerate(seats):
            order = (seat + np.arange(n)) % n
            out_infos[agent]["joint_actions"] = ran[order]
            out_infos[agent]["present"] = still[order[1:]]
        grids = {a: self._last[a]["observation"] for a in self.possible_agents}
        if over:
            self.agents = []
        return grids, out_rewards, out_terms, out_truncs, out_infos


class SelfPlayVecEnv(VecEnvWrapper):
    """SuperSuit's SB3 vector env of :class:`SelfPlayView` games, with seeding that reaches
    the games and the masks MaskablePPO asks for."""

    def __init__(self, env_id: str, num_games: int, env_kwargs: Mapping[str, Any] | None):
        if num_games < 1:
            raise ValueError(f"self-play needs num_games >= 1, got {num_games}")
        self.views = [
            SelfPlayView(hop_envs.make(env_id, **dict(env_kwargs or {}))) for _ in range(num_games)
        ]
        # What pettingzoo_env_to_vec_env_v1 + concat_vec_envs_v1(num_cpus=0,
        # base_class="stable_baselines3") build, made from our own views (concat_vec_envs
        # would copy the env) so that their masks stay reachable.
        inner = SB3VecEnvWrapper(
            ConcatSuperSuitVecEnv([lambda v=v: MarkovVectorEnv(v) for v in self.views])
        )
        super().__init__(inner)
        self.num_envs = inner.num_envs
        self._next_seed: int | None = None

    def seed(self, seed: int | None = None) -> list[int | None]:
        self._next_seed = seed
        return [seed] * self.num_envs

    def reset(self) -> np.ndarray:
        observations, infos = self.venv.venv.reset(seed=self._next_seed)
        self.venv.reset_infos = infos
        self._next_seed = None
        return observations

    def step_wait(self):
        return self.venv.step_wait()

    def action_masks(self) -> np.ndarray:
        return np.stack([view.masks[a] for view in self.views for a in view.possible_agents])

    def has_attr(self, attr_name: str) -> bool:
        return attr_name == "action_masks" or self.venv.has_attr(attr_name)

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        if attr_name == "render_mode":  # the games are made without one
            return [None] * len(self._get_indices(indices))
        return self.venv.get_attr(attr_name, indices)

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any):
        if method_name == "action_masks":
            return list(self.action_masks()[self._get_indices(indices)])
        return self.venv.env_method(method_name, *args, indices=indices, **kwargs)


class ConcatVecEnv(VecEnv):
    """Several SB3 vector envs with the same spaces as one (entries in the given order)."""

    def __init__(self, parts: Sequence[VecEnv]) -> None:
        if not parts:
            raise ValueError("ConcatVecEnv needs at least one vector env")
        first = parts[0]
        for part in parts[1:]:
            if part.observation_space != first.observation_space or (
                part.action_space != first.action_space
            ):
                raise ValueError(
                    f"ConcatVecEnv: spaces differ: {part.observation_space}, "
                    f"{part.action_space} vs {first.observation_space}, {first.action_space}"
                )
        self.parts = list(parts)
        self._bounds = np.cumsum([0] + [p.num_envs for p in parts])
        super().__init__(int(self._bounds[-1]), first.observation_space, first.action_space)

    def seed(self, seed: int | None = None) -> list[int | None]:
        seeds: list[int | None] = []
        for i, part in enumerate(self.parts):
            seeds += list(part.seed(None if seed is None else seed + 7919 * i))
        return seeds

    def reset(self) -> np.ndarray:
        self.reset_infos = []
        observations = []
        for part in self.parts:
            observations.append(part.reset())
            self.reset_infos += list(getattr(part, "reset_infos", [{}] * part.num_envs))
        return np.concatenate(observations)

    def step_async(self, actions: np.ndarray) -> None:
        for part, lo, hi in zip(self.parts, self._bounds[:-1], self._bounds[1:], strict=True):
            part.step_async(actions[lo:hi])

    def step_wait(self):
        results = [part.step_wait() for part in self.parts]
        observations = np.concatenate([r[0] for r in results])
        rewards = np.concatenate([np.asarray(r[1], dtype=np.float32) for r in results])
        dones = np.concatenate([np.asarray(r[2], dtype=bool) for r in results])
        infos = [info for r in results for info in r[3]]
        return observations, rewards, dones, infos

    def action_masks(self) -> np.ndarray:
        return np.concatenate([np.stack(part.env_method("action_masks")) for part in self.parts])

    def has_attr(self, attr_name: str) -> bool:
        return all(part.has_attr(attr_name) for part in self.parts)

    def close(self) -> None:
        for part in self.parts:
            part.close()

    def _split(self, indices: Any) -> list[tuple[VecEnv, list[int]]]:
        chosen = self._get_indices(indices)
        out = []
        for part, lo, hi in zip(self.parts, self._bounds[:-1], self._bounds[1:], strict=True):
            inside = [i - lo for i in chosen if lo <= i < hi]
            if inside:
                out.append((part, inside))
        return out

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [v for part, idx in self._split(indices) for v in part.get_attr(attr_name, idx)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        for part, idx in self._split(indices):
            part.set_attr(attr_name, value, idx)

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any):
        if method_name == "action_masks" and indices is None:
            return list(self.action_masks())
        return [
            v
            for part, idx in self._split(indices)
            for v in part.env_method(method_name, *args, indices=idx, **kwargs)
        ]

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [
            v for part, idx in self._split(indices) for v in part.env_is_wrapped(wrapper_class, idx)
        ]


def population_vec_env(
    env_id: str,
    num_envs: int,
    coplayers: Sequence[str],
    env_kwargs: Mapping[str, Any] | None,
    episodes_per_trial: int = 1,
    batched: bool | None = None,
) -> VecEnv:
    """``num_envs`` focal-seat envs against ``coplayers`` (a population), seat drawn.

    ``batched``: step them on the batched core (:class:`BatchedFocalVecEnv`), which needs
    one-episode trials and memoryless co-players; ``None`` chooses it whenever it can, else
    ``num_envs`` :class:`FocalSeatEnv` in SB3's ``DummyVecEnv``.
    """
    if num_envs < 1:
        raise ValueError(f"population_vec_env: num_envs must be >= 1, got {num_envs}")
    kwargs = dict(env_kwargs or {})
    can_batch = episodes_per_trial == 1 and set(coplayers) <= set(batched_names(env_id))
    if batched and not can_batch:
        raise ValueError(
            f"population_vec_env: batched=True needs episodes_per_trial=1 (got "
            f"{episodes_per_trial}) and co-players with a batched policy "
            f"{batched_names(env_id)}, got {list(coplayers)}"
        )
    if can_batch and batched is not False:
        return BatchedFocalVecEnv(
            env_id=env_id, num_envs=num_envs, coplayers=list(coplayers), env_kwargs=kwargs
        )

    def make() -> FocalSeatEnv:
        return FocalSeatEnv(
            env_id, coplayers=list(coplayers), episodes_per_trial=episodes_per_trial, **kwargs
        )

    return DummyVecEnv([make] * num_envs)
