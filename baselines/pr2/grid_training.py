"""Training discrete PR2 (:mod:`baselines.pr2.grid`) on the grid games, off-policy, in chunks.

The learner plays one focal seat of ``num_envs`` games at once
(:class:`baselines.vec_env.BatchedFocalVecEnv`: a seat drawn per episode, every other seat a
co-player drawn per episode from the env's *training* population, never a held-out one). Each
vector step:

1. **Act.** Before ``learning_starts`` env steps, uniformly among the legal actions (to fill
   the replay with joint actions the learned values can be fitted on); then by sampling the
   soft policy ``pi = softmax(Qbar / alpha)`` of the online network (the exploration is the
   policy's own temperature). ``alpha`` falls geometrically from ``alpha_start`` to
   ``alpha_end`` over the first ``anneal_fraction`` of ``total_steps``, then stays.
2. **Store** ``(s, joint action as run, r, s', terminal)`` in a uniform replay buffer of the
   last ``buffer_size`` transitions: the focal seat's own transitions with its co-players'
   actions (the env's ``joint_actions`` info, in observation order). ``terminal`` is the
   agent leaving the game; a time-limit end bootstraps. Legal actions and presence of every
   player are read off the stored grids when a batch is sampled
   (:func:`~baselines.pr2.grid.grid_masks`).
3. **Learn.** Every ``train_every`` vector steps, ``gradient_steps`` Adam steps on batches of
   ``batch_size``: the Huber loss of ``Q(s, a_i, a_-i)`` against
   ``r + gamma (1 - terminal) E_{pi'} Qbar'(s')`` where ``pi'`` and ``Qbar'`` (with ``rho'`` in
   closed form) come from a target network, which follows the online one by Polyak
   averaging with rate ``tau`` after every step. With ``twin_critics`` two Q networks learn
   side by side on the same batches, and the target takes the elementwise minimum of their
   target networks' ``Qbar'`` (each with its own ``rho'``) before ``pi'`` and the expectation
   (:func:`~baselines.pr2.grid.clipped_value`): clipped double Q, against the overestimation
   that the optimistic ``rho`` feeds back through the bootstrap. The agent acts with the first.

**Chunks and exact resume.** The run proceeds in chunks of ``chunk_steps`` env steps (rounded
up to whole vector steps). A chunk starts by re-seeding the games and the trainer's numpy RNG
(actions, batches) from ``(seed, chunk)`` and resetting every game; it ends with a checkpoint
(online and target networks, Adam's state and the replay buffer as safetensors, counters and
config as JSON; nothing pickled) and a row of ``log.csv``. Network initialisation is seeded by
``seed``. So a run resumed from a checkpoint continues exactly as the uninterrupted one.
The folder ``policy/`` of a run is what :class:`baselines.pr2.agent.PR2Agent` loads.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file

import hop_envs
from agents.hop.training.log import TrainingLog
from baselines.chunked_run import POLICY_DIR, RUN_FILE, read_run, train_chunks
from baselines.config_checks import grid_game, int_sizes, is_finite, is_int, training_coplayers
from baselines.pr2.checkpoint import contiguous, load_network, save_network
from baselines.pr2.grid import (
    NET_FORMAT,
    MaskTable,
    PR2NetConfig,
    PR2QNetwork,
    clipped_value,
    coplayer_marginals,
    evaluate,
    grid_masks,
    joint_q,
    q_loss,
    td_target,
)
from baselines.sb3.checkpoint import load_optimizer, save_optimizer
from baselines.vec_env import BatchedFocalVecEnv

RUN_FORMAT = "hop-bench-pr2-grid-run/1"
STATE_DIR = "trainer"
TARGET_WEIGHTS, REPLAY_WEIGHTS, REPLAY_JSON = (
    "target.safetensors",
    "replay.safetensors",
    "replay.json",
)
TWIN_WEIGHTS, TWIN_TARGET_WEIGHTS = "twin.safetensors", "twin_target.safetensors"
LOG_COLUMNS = (
    "chunk",
    "env_steps",
    "episodes",
    "mean_return_vs_population",
    "q_loss",
    "alpha",
    "policy_entropy",
    "updates",
    "wall_s",
    "env_steps_per_s",
)


@dataclass(frozen=True)
class PR2GridConfig:
    """The game, the budget and the learner's hyperparameters (saved in ``run.json``).

    Sources: Adam, a Polyak-averaged target network with ``tau = 0.005`` and the Huber loss
    are the usual off-policy value-learning choices (SAC, DQN; ``tau`` is SAC's); the batch of
    128 and ``lr = 1e-3`` are the settings of the PR2 authors' code (``ying-wen/malib``, as
    :mod:`baselines.pr2.differential` records); the convolutions ``(16, 16)`` and ``hidden =
    64`` match the LOLA grid learner's. The temperature schedule (1.0 down to 0.05 over the
    first half, in reward units), the replay of 50 000 transitions, the 5 000 uniform steps and
    one update of 128 samples per 16 env steps are ours, sized for a CPU budget of a few
    hundred thousand env steps. ``gamma = 0.95``, ``alpha_end = 0.05`` and ``rho_alpha = 1``
    (a fixed temperature for ``rho``, as in :mod:`baselines.pr2.differential`: at the policy's
    temperature the optimistic ``rho`` inflated the bootstrapped values until training
    diverged) come from small one-seed runs on the stag hunt's training population; the
    figures are in ``docs/baselines.md``.
    Nothing else is tuned.
    """

    env_id: str = "hop/MarkovStagHunt-v0"
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    total_steps: int = 300_000
    chunk_steps: int = 25_000
    num_envs: int = 16
    buffer_size: int = 50_000
    batch_size: int = 128
    learning_starts: int = 5_000
    train_every: int = 1
    gradient_steps: int = 1
    gamma: float = 0.95
    lr: float = 1e-3
    tau: float = 0.005
    alpha_start: float = 1.0
    alpha_end: float = 0.05
    anneal_fraction: float = 0.5
    #: The temperature of ``rho`` (``None``: the policy's ``alpha`` at each step).
    rho_alpha: float | None = 1.0
    #: Clipped double Q (TD3, SAC): a second Q network, and targets from the smaller of the two
    #: target networks' marginal values (module docstring). The agent acts with the first.
    twin_critics: bool = False
    max_grad_norm: float = 10.0
    conv_channels: tuple[int, ...] = (16, 16)
    hidden: int = 64
    #: The co-players: ``None`` for the env's whole training population, or some of its
    #: names (tests, ablations); never held-out ones.
    coplayers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        where = "PR2GridConfig"

        def fail(name: str, expected: str) -> None:
            raise ValueError(f"{where}.{name}={getattr(self, name)!r}: expected {expected}")

        full, env_kwargs = grid_game(where, self.env_id, self.env_kwargs, self.seed)
        object.__setattr__(self, "env_id", full)
        object.__setattr__(self, "env_kwargs", env_kwargs)
        if "reward_mode" in self.env_kwargs:
            fail("env_kwargs", "no reward_mode (PR2 trains on the selfish rewards)")
        for name in (
            "total_steps",
            "chunk_steps",
            "num_envs",
            "buffer_size",
            "batch_size",
            "train_every",
            "gradient_steps",
            "hidden",
        ):
            if not is_int(getattr(self, name)) or getattr(self, name) < 1:
                fail(name, "an int >= 1")
        if not is_int(self.learning_starts) or self.learning_starts < 0:
            fail("learning_starts", "an int >= 0")
        if not is_finite(self.gamma) or not 0.0 <= self.gamma <= 1.0:
            fail("gamma", "a float in [0, 1]")
        for name in ("lr", "alpha_start", "alpha_end", "max_grad_norm"):
            if not is_finite(getattr(self, name)) or getattr(self, name) <= 0:
                fail(name, "a finite float > 0")
        if not is_finite(self.tau) or not 0.0 < self.tau <= 1.0:
            fail("tau", "a float in (0, 1]")
        if not is_finite(self.anneal_fraction) or not 0.0 <= self.anneal_fraction <= 1.0:
            fail("anneal_fraction", "a float in [0, 1]")
        if self.rho_alpha is not None and (not is_finite(self.rho_alpha) or self.rho_alpha <= 0):
            fail("rho_alpha", "None or a finite float > 0")
        if not isinstance(self.twin_critics, bool):
            fail("twin_critics", "a bool")
        channels = int_sizes(where, "conv_channels", self.conv_channels)
        object.__setattr__(self, "conv_channels", channels)
        coplayers = training_coplayers(where, "coplayers", full, self.coplayers)
        object.__setattr__(self, "coplayers", coplayers)

    def alpha(self, env_steps: int) -> float:
        """The temperature after ``env_steps`` env steps (module docstring)."""
        span = self.anneal_fraction * self.total_steps
        progress = 1.0 if span <= 0 else min(env_steps / span, 1.0)
        return float(self.alpha_start * (self.alpha_end / self.alpha_start) ** progress)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["conv_channels"] = list(self.conv_channels)
        data["coplayers"] = None if self.coplayers is None else list(self.coplayers)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PR2GridConfig:
        data = dict(data)
        if "conv_channels" in data:
            data["conv_channels"] = tuple(data["conv_channels"])
        if data.get("coplayers") is not None:
            data["coplayers"] = tuple(data["coplayers"])
        return cls(**data)


class ReplayBuffer:
    """The last ``capacity`` focal transitions, in numpy arrays (a ring)."""

    FIELDS = ("obs", "next_obs", "actions", "rewards", "terminals")

    def __init__(self, capacity: int, observation_shape: tuple[int, ...], num_players: int):
        self.capacity = int(capacity)
        self.obs = np.zeros((capacity, *observation_shape), dtype=np.uint8)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros((capacity, num_players), dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminals = np.zeros(capacity, dtype=np.uint8)
        self.pos = 0
        self.size = 0

    def add(self, obs, next_obs, actions, rewards, terminals) -> None:
        """Append a batch of transitions (overwriting the oldest when full)."""
        count = len(obs)
        where = (self.pos + np.arange(count)) % self.capacity
        for name, value in zip(
            self.FIELDS, (obs, next_obs, actions, rewards, terminals), strict=True
        ):
            getattr(self, name)[where] = value
        self.pos = int((self.pos + count) % self.capacity)
        self.size = int(min(self.size + count, self.capacity))

    def save(self, directory: Path) -> None:
        arrays = {
            name: np.ascontiguousarray(getattr(self, name)[: self.size]) for name in self.FIELDS
        }
        save_numpy(arrays, str(directory / REPLAY_WEIGHTS))
        (directory / REPLAY_JSON).write_text(
            json.dumps({"capacity": self.capacity, "pos": self.pos, "size": self.size}) + "\n"
        )

    def load(self, directory: Path) -> None:
        meta = json.loads((directory / REPLAY_JSON).read_text())
        if int(meta["capacity"]) != self.capacity:
            raise ValueError(
                f"{directory / REPLAY_JSON}: capacity {meta['capacity']} does not match the "
                f"config's buffer_size {self.capacity}"
            )
        arrays = load_numpy(str(directory / REPLAY_WEIGHTS))
        self.size, self.pos = int(meta["size"]), int(meta["pos"])
        for name in self.FIELDS:
            getattr(self, name)[: self.size] = arrays[name]


class PR2GridTrainer:
    """One training run in ``directory`` (new; :meth:`resume` continues a saved one)."""

    def __init__(self, config: PR2GridConfig, directory: str | Path) -> None:
        self.config = config
        self.directory = Path(directory)
        self.rules = hop_envs.make(config.env_id, **config.env_kwargs).rules
        r = self.rules
        self.mask_table = MaskTable.of_rules(r)
        self.net_config = PR2NetConfig(
            observation_shape=(r.num_channels, r.height, r.width),
            num_actions=r.num_actions,
            num_players=r.num_players,
            conv_channels=config.conv_channels,
            hidden=config.hidden,
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.net = PR2QNetwork(self.net_config)
            # drawn after the first network, whose initialisation is unchanged by the option
            self.critics = [self.net] + (
                [PR2QNetwork(self.net_config)] if config.twin_critics else []
            )
        self.targets = [copy.deepcopy(net).requires_grad_(False) for net in self.critics]
        self.target = self.targets[0]
        self.optimizer = torch.optim.Adam(
            [p for net in self.critics for p in net.parameters()], lr=config.lr
        )
        self.buffer = ReplayBuffer(
            config.buffer_size, self.net_config.observation_shape, r.num_players
        )
        self.env = BatchedFocalVecEnv(
            env_id=config.env_id,
            num_envs=config.num_envs,
            coplayers=config.coplayers,
            env_kwargs=config.env_kwargs,
        )
        self.rng = np.random.default_rng(config.seed)
        self.chunk = 0
        self.env_steps = 0
        self.updates = 0
        self.log = TrainingLog(
            self.directory, tensorboard=False, columns=LOG_COLUMNS, step_column="chunk"
        )

    # -- sizes -----------------------------------------------------------------------------
    @property
    def steps_per_chunk(self) -> int:
        """``chunk_steps`` rounded up to whole vector steps."""
        n = self.config.num_envs
        return -(-self.config.chunk_steps // n) * n

    @property
    def num_chunks(self) -> int:
        return -(-self.config.total_steps // self.steps_per_chunk)

    # -- acting ----------------------------------------------------------------------------
    def policy(self, grids: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """``(B, A)`` float64 ``pi`` and ``(B, J, A)`` co-player marginals at ``grids``."""
        masks, present = grid_masks(self.mask_table, grids)
        with torch.no_grad():
            q0, qj = self.net(torch.as_tensor(grids))
            ev = evaluate(
                q0,
                qj,
                torch.as_tensor(masks),
                torch.as_tensor(present[:, 1:]),
                alpha,
                self.config.rho_alpha,
            )
            marginals = coplayer_marginals(ev.pi, ev.rho)
        return ev.pi.double().numpy(), marginals.double().numpy()

    def _act(self, grids: np.ndarray, masks: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
        if self.env_steps < self.config.learning_starts:
            probs = masks / masks.sum(1, keepdims=True)
        else:
            probs = self.policy(grids, alpha)[0]
        entropy = float(-(probs * np.log(np.where(probs > 0, probs, 1.0))).sum(1).mean())
        return sample(probs, self.rng), entropy

    # -- learning --------------------------------------------------------------------------
    def update(self, alpha: float) -> float:
        """One Adam step on a replay batch; the loss."""
        cfg, buf = self.config, self.buffer
        idx = self.rng.integers(0, buf.size, cfg.batch_size)
        obs, next_obs = buf.obs[idx], buf.next_obs[idx]
        _, present = grid_masks(self.mask_table, obs)
        next_masks, next_present = grid_masks(self.mask_table, next_obs)
        actions = torch.as_tensor(buf.actions[idx])
        with torch.no_grad():
            next_grids = torch.as_tensor(next_obs)
            evaluations = [
                evaluate(
                    *net(next_grids),
                    torch.as_tensor(next_masks),
                    torch.as_tensor(next_present[:, 1:]),
                    alpha,
                    cfg.rho_alpha,
                )
                for net in self.targets
            ]
            # with one critic this is that critic's own E_pi Qbar
            next_value = clipped_value(
                [ev.qbar for ev in evaluations], torch.as_tensor(next_masks[:, 0]), alpha
            )
            target = td_target(
                torch.as_tensor(buf.rewards[idx]),
                torch.as_tensor(buf.terminals[idx]),
                next_value,
                cfg.gamma,
            )
        grids, alive = torch.as_tensor(obs), torch.as_tensor(present[:, 1:])
        losses = []
        for net in self.critics:
            q0, qj = net(grids)
            q = joint_q(q0, qj, actions[:, 0], actions[:, 1:], alive)
            losses.append(q_loss(q, target))
        loss = sum(losses[1:], losses[0])
        self.optimizer.zero_grad()
        loss.backward()
        for net in self.critics:
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        with torch.no_grad():
            for net, target_net in zip(self.critics, self.targets, strict=True):
                for p, t in zip(net.parameters(), target_net.parameters(), strict=True):
                    t.mul_(1.0 - cfg.tau).add_(p, alpha=cfg.tau)
        self.updates += 1
        return float(loss.detach())

    # -- training --------------------------------------------------------------------------
    def train(self, progress: bool = False, until_chunk: int | None = None) -> None:
        """Train the remaining chunks (up to ``until_chunk``), checkpointing after each."""
        last = self.num_chunks if until_chunk is None else min(until_chunk, self.num_chunks)
        self.directory.mkdir(parents=True, exist_ok=True)
        train_chunks(
            description=f"train pr2 {self.config.env_id}",
            total_steps=self.config.total_steps,
            done_steps=self.env_steps,
            progress=progress,
            more=lambda: self.chunk < last,
            train_chunk=self._train_chunk,
        )

    def _train_chunk(self, bar: Any) -> None:
        cfg, env = self.config, self.env
        chunk_seed = cfg.seed * 1_000_003 + self.chunk
        self.rng = np.random.default_rng(chunk_seed)
        env.seed(chunk_seed)
        obs = env.reset()
        target = min((self.chunk + 1) * self.steps_per_chunk, cfg.total_steps)
        start, before, updates_before = time.perf_counter(), self.env_steps, self.updates
        running = np.zeros(env.num_envs)
        returns: list[float] = []
        losses: list[float] = []
        entropies: list[float] = []
        vector_steps = 0
        while self.env_steps < target:
            alpha = cfg.alpha(self.env_steps)
            actions, entropy = self._act(obs, env.action_masks(), alpha)
            entropies.append(entropy)
            next_obs, rewards, dones, infos = env.step(actions)
            stored_next = next_obs.copy()
            terminals = np.zeros(env.num_envs, dtype=np.uint8)
            for i in np.flatnonzero(dones).tolist():
                stored_next[i] = infos[i]["terminal_observation"]
                terminals[i] = not infos[i]["TimeLimit.truncated"]
            joint = np.stack([info["joint_actions"] for info in infos])
            self.buffer.add(obs, stored_next, joint, rewards, terminals)
            running += rewards
            for i in np.flatnonzero(dones).tolist():
                returns.append(float(running[i]))
                running[i] = 0.0
            obs = next_obs
            self.env_steps += env.num_envs
            vector_steps += 1
            if bar is not None:
                bar.update(env.num_envs)
            if (
                self.env_steps >= cfg.learning_starts
                and self.buffer.size >= cfg.batch_size
                and vector_steps % cfg.train_every == 0
            ):
                for _ in range(cfg.gradient_steps):
                    losses.append(self.update(alpha))
        wall = time.perf_counter() - start
        self.chunk += 1
        self.save()
        self.log.append(
            {
                "chunk": self.chunk,
                "env_steps": self.env_steps,
                "episodes": len(returns),
                "mean_return_vs_population": round(float(np.mean(returns)), 4) if returns else None,
                "q_loss": float(np.mean(losses)) if losses else None,
                "alpha": cfg.alpha(self.env_steps),
                "policy_entropy": float(np.mean(entropies)) if entropies else None,
                "updates": self.updates - updates_before,
                "wall_s": round(wall, 2),
                "env_steps_per_s": round((self.env_steps - before) / max(wall, 1e-9), 1),
            }
        )

    # -- checkpoints -----------------------------------------------------------------------
    def policy_meta(self) -> dict[str, Any]:
        """``policy/pr2.json``: what the agent needs to rebuild and run the network."""
        cfg = self.config
        return {
            "format": NET_FORMAT,
            "env_id": cfg.env_id,
            "env_kwargs": dict(cfg.env_kwargs),
            "network": self.net_config.to_json(),
            "alpha": cfg.alpha(self.env_steps),
            "rho_alpha": cfg.rho_alpha,
            "training": {"env_steps": self.env_steps, "seed": cfg.seed, "chunks": self.chunk},
        }

    def save(self) -> None:
        """The checkpoint of the chunk just finished (module docstring)."""
        policy, state = self.directory / POLICY_DIR, self.directory / STATE_DIR
        save_network(policy, self.net, self.policy_meta())
        state.mkdir(parents=True, exist_ok=True)
        save_file(contiguous(self.target.state_dict()), str(state / TARGET_WEIGHTS))
        if len(self.critics) > 1:
            save_file(contiguous(self.critics[1].state_dict()), str(state / TWIN_WEIGHTS))
            save_file(contiguous(self.targets[1].state_dict()), str(state / TWIN_TARGET_WEIGHTS))
        save_optimizer(state, self.optimizer)
        self.buffer.save(state)
        run = {
            "format": RUN_FORMAT,
            "config": self.config.to_json(),
            "chunks_done": self.chunk,
            "env_steps": self.env_steps,
            "updates": self.updates,
        }
        (self.directory / RUN_FILE).write_text(json.dumps(run, indent=2) + "\n")

    @classmethod
    def resume(cls, directory: str | Path) -> PR2GridTrainer:
        """The run saved in ``directory``, at its last checkpoint."""
        directory = Path(directory)
        run = read_run(directory, "a PR2 training run", RUN_FORMAT)
        trainer = cls(PR2GridConfig.from_json(run["config"]), directory)
        _, net = load_network(directory / POLICY_DIR)
        trainer.net.load_state_dict(net.state_dict())
        state = directory / STATE_DIR
        trainer.target.load_state_dict(load_file(str(state / TARGET_WEIGHTS)))
        if len(trainer.critics) > 1:
            trainer.critics[1].load_state_dict(load_file(str(state / TWIN_WEIGHTS)))
            trainer.targets[1].load_state_dict(load_file(str(state / TWIN_TARGET_WEIGHTS)))
        load_optimizer(state, trainer.optimizer)
        trainer.buffer.load(state)
        trainer.chunk = int(run["chunks_done"])
        trainer.env_steps = int(run["env_steps"])
        trainer.updates = int(run["updates"])
        trainer.log.truncate(trainer.chunk)
        return trainer


def sample(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(B,)`` actions drawn from the rows of ``probs`` ``(B, A)``, one uniform per row."""
    cumulative = np.cumsum(probs, axis=1)
    draws = rng.random(len(probs))[:, None] * cumulative[:, -1:]
    return np.minimum((cumulative <= draws).sum(1), probs.shape[1] - 1).astype(np.int64)


def train(
    config: PR2GridConfig | None,
    directory: str | Path,
    until_chunk: int | None = None,
    progress: bool = False,
) -> PR2GridTrainer:
    """Train (or go on training) the run in ``directory``: a new run from ``config``, or, when
    ``directory`` holds a run, that run resumed. ``config`` must then be ``None`` or equal to
    the saved one except perhaps in ``total_steps`` (a longer or shorter run: the temperature
    schedule, a fraction of ``total_steps``, stretches accordingly from then on).
    Checkpoints after every chunk; stops after ``until_chunk`` chunks in all."""
    directory = Path(directory)
    if (directory / RUN_FILE).is_file():
        trainer = PR2GridTrainer.resume(directory)
        if config is not None and config != trainer.config:
            if replace(config, total_steps=trainer.config.total_steps) != trainer.config:
                raise ValueError(
                    f"{directory / RUN_FILE} holds a run with a different config (only "
                    "total_steps may change); resume it with config=None or use a new folder "
                    f"(saved: {trainer.config}, given: {config})"
                )
            trainer.config = config
    else:
        if config is None:
            raise FileNotFoundError(f"no PR2 run in {directory} to resume, and no config given")
        trainer = PR2GridTrainer(config, directory)
    trainer.train(progress=progress, until_chunk=until_chunk)
    return trainer


def mean_return(
    directory: str | Path,
    episodes: int = 200,
    seed: int = 12345,
    num_envs: int = 16,
    alpha: float | None = None,
    coplayers: Sequence[str] | None = None,
) -> float:
    """The checkpoint's mean episode return against the training population (or
    ``coplayers``), sampling its soft policy at the checkpoint's temperature (or ``alpha``)
    with a fixed seed: the numbers of a learning curve, not an evaluation protocol."""
    meta, net = load_network(directory)
    env_id = meta["env_id"]
    rules = hop_envs.make(env_id, **meta["env_kwargs"]).rules
    table = MaskTable.of_rules(rules)
    temperature = float(meta["alpha"] if alpha is None else alpha)
    env = BatchedFocalVecEnv(
        env_id=env_id,
        num_envs=num_envs,
        coplayers=None if coplayers is None else list(coplayers),
        env_kwargs=meta["env_kwargs"],
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    obs = env.reset()
    running, returns = np.zeros(num_envs), []
    while len(returns) < episodes:
        masks, present = grid_masks(table, obs)
        with torch.no_grad():
            q0, qj = net(torch.as_tensor(obs))
            ev = evaluate(
                q0,
                qj,
                torch.as_tensor(masks),
                torch.as_tensor(present[:, 1:]),
                temperature,
                meta.get("rho_alpha"),
            )
        obs, rewards, dones, _ = env.step(sample(ev.pi.double().numpy(), rng))
        running += rewards
        for i in np.flatnonzero(dones).tolist():
            returns.append(float(running[i]))
            running[i] = 0.0
    return float(np.mean(returns[:episodes]))


__all__ = [
    "LOG_COLUMNS",
    "PR2GridConfig",
    "PR2GridTrainer",
    "ReplayBuffer",
    "mean_return",
    "sample",
    "train",
]
