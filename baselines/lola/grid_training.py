"""Training LOLA with opponent modelling on the grid games (the HOP stag hunt and snowdrift).

One iteration of :class:`LOLAGridTrainer` (section 3.4 of Foerster et al. 2018, LOLA with
opponent modelling, policy-gradient form; the update itself is :mod:`baselines.lola.grid`):

1. **Real episodes.** ``real_episodes`` whole episodes in the batched core, the learner at
   a seat drawn uniformly per episode, every other seat played by a co-player drawn
   uniformly per episode from the env's *training* population
   (:func:`baselines.focal_env.training_population`, or the part of it named in
   ``config.coplayers``; held-out co-players are refused).
2. **Co-player models, maximum likelihood.** The model of each co-player slot ``k`` (the
   ``k``-th player after the learner in observation order) takes ``model_steps`` Adam
   steps on the negative log-likelihood of the actions the real co-players in that slot
   took while in the game, given their own views and masks (:mod:`baselines.lola.grid_policy`).
3. **Learner update.** ``theta`` ascends, with Adam, the sum of
   - the naive policy gradient of its own return on the real episodes (DiCE with only its
     own log-probabilities, i.e. REINFORCE with the batch-mean reward-to-go baseline),
     plus ``entropy_coef`` times its mean policy entropy on them; and
   - the LOLA correction: ``d/dtheta V_i(theta, phi'(theta))`` through ``phi'`` only, with
     ``phi_k' = phi_k + lookahead_lr * grad_{phi_k} V_k(theta, phi)``, all on *simulated*
     episodes in the batched core where the co-players act with their models (two
     batches of ``sim_episodes``: one for the imagined steps, one after them).
   ``form="full"`` replaces the sum by the whole lookahead gradient on simulated episodes
   (LOLA-DiCE's form: the co-player models stand in for the real co-players throughout;
   the entropy bonus still comes from the real episodes);
   ``lookahead_lr = 0`` gives the naive learner (no simulation).

The real co-players are rule-based and do not learn: LOLA's assumption that they follow
their policy gradient is the method's, not the population's.

Command line (the trainer's checkpoint folder is also what ``LOLAGridAgent`` loads)::

    python -m baselines.lola.grid_training --env hop/MarkovStagHunt-v0 --steps 200000 \
        --out runs/lola-om/stag [--seed 0] [--save-every 50] [--resume]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.func import functional_call

import hop_envs
from baselines.config_checks import grid_game, int_sizes, is_finite, is_int, training_coplayers
from baselines.focal_env import training_population
from baselines.lola.grid import SimulatedBatch, dice_value, lola_gradient
from baselines.lola.grid_policy import GridPolicy, sample
from baselines.sb3.checkpoint import load_optimizer, save_optimizer
from hop_envs import BatchedGame
from hop_envs.coplayers import batched_policy
from hop_envs.core.layout import STAY

FORMAT = "hop-bench-lola-om/1"
CONFIG_JSON, WEIGHTS, STATE_JSON = "lola.json", "weights.safetensors", "trainer.json"
FORMS = ("shaping", "full")


@dataclass(frozen=True)
class LOLAGridConfig:
    """The game, the budget per iteration and the learner's hyperparameters.

    Sources: ``gamma = 0.96`` is the reference code's discount for the IPD and the coin
    game (``alshedivat/lola``, ``scripts/run_lola.py``; its coin game uses Adam at 0.005 on
    batches of 4000 episodes, not taken here).
    The imagined step ``lookahead_lr = 0.03``: ``alexis-jacq/LOLA_DiCE`` uses ``lr_in =
    0.3`` on tabular IPD policies, but on these networks 0.3 made the correction's norm
    (about 4) swamp the naive gradient's (about 0.5) and the learner did not improve in 150
    iterations on the stag hunt; 0.1 and 0.03 both learned (one seed each, 150 iterations:
    a sanity check, not a tuning study), 0.03 keeping more weight on the naive gradient.
    Everything else is a general default, not tuned: Adam ``lr = 1e-3`` for the policy
    and ``model_lr = 1e-3`` for the models, ``model_steps = 4`` likelihood steps per
    iteration, ``entropy_coef = 0.01``, gradient-norm clip ``max_grad_norm = 1.0`` (of the
    sum of the naive gradient and the correction), 32 real episodes and 2 x 16 simulated
    episodes per iteration, convolutions ``(16, 16)`` and ``hidden = 64``.
    """

    env_id: str = "hop/MarkovStagHunt-v0"
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    real_episodes: int = 32
    sim_episodes: int = 16
    gamma: float = 0.96
    lr: float = 1e-3
    model_lr: float = 1e-3
    model_steps: int = 4
    lookahead_lr: float = 0.03
    form: str = "shaping"
    entropy_coef: float = 0.01
    max_grad_norm: float = 1.0
    conv_channels: tuple[int, ...] = (16, 16)
    hidden: int = 64
    #: The co-players of the real episodes: ``None`` for the env's whole training
    #: population, or some of its names (tests, ablations); never held-out ones.
    coplayers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        where = "LOLAGridConfig"

        def fail(name: str, expected: str) -> None:
            raise ValueError(f"{where}.{name}={getattr(self, name)!r}: expected {expected}")

        full, env_kwargs = grid_game(where, self.env_id, self.env_kwargs, self.seed)
        object.__setattr__(self, "env_id", full)
        object.__setattr__(self, "env_kwargs", env_kwargs)
        for name in ("real_episodes", "sim_episodes", "hidden"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 1:
                fail(name, "an int >= 1")
        if not is_int(self.model_steps) or self.model_steps < 0:
            fail("model_steps", "an int >= 0")
        if not is_finite(self.gamma) or not 0.0 < self.gamma <= 1.0:
            fail("gamma", "a float in (0, 1]")
        for name in ("lr", "model_lr", "max_grad_norm"):
            if not is_finite(getattr(self, name)) or getattr(self, name) <= 0:
                fail(name, "a finite float > 0")
        for name in ("lookahead_lr", "entropy_coef"):
            if not is_finite(getattr(self, name)) or getattr(self, name) < 0:
                fail(name, "a finite float >= 0")
        if self.form not in FORMS:
            fail("form", f"one of {FORMS}")
        if self.form == "full" and self.lookahead_lr == 0:
            fail("lookahead_lr", "> 0 with form='full' (the whole gradient is simulated)")
        channels = int_sizes(where, "conv_channels", self.conv_channels)
        object.__setattr__(self, "conv_channels", channels)
        coplayers = training_coplayers(where, "coplayers", full, self.coplayers)
        object.__setattr__(self, "coplayers", coplayers)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["conv_channels"] = list(self.conv_channels)
        data["coplayers"] = None if self.coplayers is None else list(self.coplayers)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LOLAGridConfig:
        data = dict(data)
        data["conv_channels"] = tuple(data.get("conv_channels", (16, 16)))
        if data.get("coplayers") is not None:
            data["coplayers"] = tuple(data["coplayers"])
        return cls(**data)


class Episodes(NamedTuple):
    """A batch of whole episodes, every array ``(B, T, n, ...)`` in the learner's
    observation order (slot 0 the learner, slot ``k`` the ``k``-th player after it).

    ``views``: each player's *own* observation grid; ``masks`` its legal actions;
    ``actions``; ``acting``: whether it chose an action in the step (in the game, the game
    not over); ``rewards``; ``live`` ``(B, T)``: whether the game was still running."""

    views: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    acting: np.ndarray
    rewards: np.ndarray
    live: np.ndarray

    @property
    def env_steps(self) -> int:
        return int(self.live.sum())


#: ``act(slot, grids (N, C, H, W), masks (N, A), rows)`` -> ``(N,)`` actions of the players
#: in observation slot ``slot`` of the entries ``rows``.
ActFn = Callable[[int, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def play(game: BatchedGame, size: int, rng: np.random.Generator, act: ActFn) -> Episodes:
    """``size`` whole episodes from fresh states, the learner's seat drawn per episode."""
    rules = game.rules
    n = rules.num_players
    state = game.reset(rng, size)
    seat = rng.integers(0, n, size)
    rows = np.arange(size)[:, None]
    order = (seat[:, None] + np.arange(n)) % n  # (B, n): slot -> seat
    out: dict[str, list[np.ndarray]] = {k: [] for k in Episodes._fields}
    for _ in range(rules.config.max_cycles):
        if state.over.all():
            break
        grids, masks = game.observe(state)
        views, masks = grids[rows, order], masks[rows, order]
        acting = state.active[rows, order] & ~state.over[:, None]
        actions = np.full((size, n), STAY, dtype=np.int64)
        for slot in range(n):
            r = np.flatnonzero(acting[:, slot])
            if r.size:
                actions[r, slot] = act(slot, views[r, slot], masks[r, slot], r)
        joint = np.empty_like(actions)
        joint[rows, order] = actions
        live = ~state.over
        outcome = game.step(state, joint)
        for name, value in zip(
            Episodes._fields,
            (views, masks, actions, acting, outcome.rewards[rows, order], live),
            strict=True,
        ):
            out[name].append(value)
    return Episodes(*(np.stack(out[name], axis=1) for name in Episodes._fields))


def _tensor(grids: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(grids, dtype=torch.float32)


class LOLAGridTrainer:
    """The learner, its co-player models, their optimizers and the RNG: one training run.

    Deterministic from ``config.seed`` (torch's initialisation and one numpy Generator for
    layouts, seats, co-player draws and every sampled action); :meth:`save` and
    :meth:`load` carry all of it, so a resumed run continues exactly.
    """

    def __init__(self, config: LOLAGridConfig) -> None:
        self.config = config
        self.env_id = hop_envs.full_env_id(config.env_id)
        self.rules = hop_envs.make(self.env_id, **config.env_kwargs).rules
        self.game = BatchedGame(self.rules, reset_reserve=0)
        r = self.rules
        self.num_players = r.num_players
        self.observation_shape = (r.num_channels, r.height, r.width)
        self.num_actions = r.num_actions
        self.population = config.coplayers or training_population(self.env_id)
        self._policies = [batched_policy(name, self.env_id) for name in self.population]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.policy = self._network()
            self.models = torch.nn.ModuleList(self._network() for _ in range(self.num_players - 1))
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.lr)
        self.model_optimizer = torch.optim.Adam(self.models.parameters(), lr=config.model_lr)
        self.rng = np.random.default_rng(config.seed)
        self.iteration = 0
        self.env_steps = 0
        self.sim_steps = 0
        self.history: list[dict[str, float]] = []

    def _network(self) -> GridPolicy:
        c, h, w = self.observation_shape
        cfg = self.config
        return GridPolicy(c, h, w, self.num_actions, cfg.conv_channels, cfg.hidden)

    # -- acting ------------------------------------------------------------------------------
    def population_actor(self, size: int) -> ActFn:
        """Co-players drawn per episode and slot from the training population; the learner
        (slot 0) samples from its policy."""
        drawn = self.rng.integers(0, len(self._policies), (size, self.num_players))

        def act(slot: int, grids: np.ndarray, masks: np.ndarray, rows: np.ndarray) -> np.ndarray:
            if slot == 0:
                with torch.no_grad():
                    logp = self.policy(_tensor(grids), torch.as_tensor(masks, dtype=torch.bool))
                return sample(logp, self.rng)
            out = np.empty(rows.size, dtype=np.int64)
            for index, policy in enumerate(self._policies):
                pick = drawn[rows, slot] == index
                if pick.any():
                    out[pick] = policy.act(grids[pick], masks[pick], self.rng)
            return out

        return act

    def model_actor(self, theta: Mapping[str, torch.Tensor], phis) -> ActFn:
        """Everyone from networks: the learner with ``theta``, slot ``k`` with model
        ``k - 1``'s parameters ``phis[k - 1]`` (values only)."""
        nets = [(self.policy, theta), *zip(self.models, phis, strict=True)]

        def act(slot: int, grids: np.ndarray, masks: np.ndarray, rows: np.ndarray) -> np.ndarray:
            net, params = nets[slot]
            with torch.no_grad():
                detached = {k: v.detach() for k, v in params.items()}
                logp = functional_call(
                    net, detached, (_tensor(grids), torch.as_tensor(masks, dtype=torch.bool))
                )
            return sample(logp, self.rng)

        return act

    @staticmethod
    def _log_probs(net, params, episodes: Episodes, slot: int) -> torch.Tensor:
        """``(B, T)`` log-probability of slot ``slot``'s actions (0 where it did not act),
        computed with ``params`` (gradients kept)."""
        acting = episodes.acting[:, :, slot]
        where = np.flatnonzero(acting)
        out = torch.zeros(acting.size)
        if where.size:
            grids = episodes.views[:, :, slot].reshape(-1, *episodes.views.shape[3:])[where]
            masks = episodes.masks[:, :, slot].reshape(-1, episodes.masks.shape[-1])[where]
            actions = episodes.actions[:, :, slot].reshape(-1)[where]
            logp = functional_call(
                net, dict(params), (_tensor(grids), torch.as_tensor(masks, dtype=torch.bool))
            )
            taken = logp.gather(1, torch.as_tensor(actions)[:, None])[:, 0]
            out = out.index_put((torch.as_tensor(where),), taken)
        return out.reshape(acting.shape)

    def simulate(self, theta, phis) -> SimulatedBatch:
        """A :data:`baselines.lola.grid.Simulator` on the batched core: ``sim_episodes``
        episodes where the learner plays ``theta`` and every co-player its model."""
        episodes = play(
            self.game, self.config.sim_episodes, self.rng, self.model_actor(theta, phis)
        )
        self.sim_steps += episodes.env_steps
        own = self._log_probs(self.policy, theta, episodes, 0)
        coplayers = torch.stack(
            [
                self._log_probs(model, phi, episodes, k + 1)
                for k, (model, phi) in enumerate(zip(self.models, phis, strict=True))
            ],
            dim=-1,
        )
        rewards = torch.as_tensor(episodes.rewards, dtype=torch.float32)
        return SimulatedBatch(own, coplayers, rewards)

    # -- one iteration -----------------------------------------------------------------------
    def fit_models(self, episodes: Episodes) -> dict[str, float]:
        """``model_steps`` likelihood steps of every model on the co-players' real actions;
        the models' accuracy and NLL on these episodes *before* the steps (so they are
        scores on unseen data)."""
        data = []
        for k in range(1, self.num_players):
            where = episodes.acting[:, :, k]
            data.append(
                (
                    _tensor(episodes.views[:, :, k][where]),
                    torch.as_tensor(episodes.masks[:, :, k][where], dtype=torch.bool),
                    torch.as_tensor(episodes.actions[:, :, k][where]),
                )
            )
        stats: dict[str, float] = {}
        for step in range(max(self.config.model_steps, 1)):
            total, hits, count = 0.0, 0, 0
            loss = torch.zeros(())
            for model, (grids, masks, actions) in zip(self.models, data, strict=True):
                if not len(actions):
                    continue
                logp = model(grids, masks)
                nll = -logp.gather(1, actions[:, None])[:, 0]
                loss = loss + nll.mean()
                total += float(nll.detach().sum())
                hits += int((logp.argmax(1) == actions).sum())
                count += len(actions)
            if step == 0:
                stats = {"model_nll": total / max(count, 1), "model_accuracy": hits / max(count, 1)}
            if self.config.model_steps == 0 or not loss.requires_grad:
                break
            self.model_optimizer.zero_grad()
            loss.backward()
            self.model_optimizer.step()
        return stats

    def update_policy(self, episodes: Episodes) -> dict[str, float]:
        """One Adam step of the learner (module docstring, step 3)."""
        cfg = self.config
        theta = dict(self.policy.named_parameters())
        self.optimizer.zero_grad()
        where = np.flatnonzero(episodes.acting[:, :, 0])
        grids = episodes.views[:, :, 0].reshape(-1, *episodes.views.shape[3:])[where]
        masks = episodes.masks[:, :, 0].reshape(-1, episodes.masks.shape[-1])[where]
        logp_all = self.policy(_tensor(grids), torch.as_tensor(masks, dtype=torch.bool))
        probs = logp_all.exp()
        entropy = -(probs * logp_all.masked_fill(probs == 0, 0.0)).sum(1).mean()
        objective = cfg.entropy_coef * entropy
        if cfg.form == "shaping":
            own = self._log_probs(self.policy, theta, episodes, 0)
            rewards = torch.as_tensor(episodes.rewards[:, :, 0], dtype=torch.float32)
            objective = objective + dice_value(own, rewards, cfg.gamma)
        if objective.requires_grad:
            (-objective).backward()
        for p in theta.values():
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        shaping_norm = 0.0
        if cfg.lookahead_lr > 0:
            phis = [
                {k: v.detach().clone().requires_grad_(True) for k, v in m.named_parameters()}
                for m in self.models
            ]
            lola = lola_gradient(theta, phis, self.simulate, cfg.lookahead_lr, cfg.gamma, cfg.form)
            for name, p in theta.items():
                p.grad = p.grad - lola[name]
            shaping_norm = float(torch.sqrt(sum((g**2).sum() for g in lola.values())))
        norm = torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        return {
            "entropy": float(entropy.detach()),
            "grad_norm": float(norm),
            "lola_norm": shaping_norm,
        }

    def iterate(self) -> dict[str, float]:
        """One iteration: real episodes, model fit, learner update; its log row."""
        start = time.perf_counter()
        sim_before = self.sim_steps
        episodes = play(
            self.game,
            self.config.real_episodes,
            self.rng,
            self.population_actor(self.config.real_episodes),
        )
        self.env_steps += episodes.env_steps
        row: dict[str, float] = {
            "iteration": float(self.iteration),
            "mean_return": float(episodes.rewards[:, :, 0].sum(1).mean()),
        }
        row.update(self.fit_models(episodes))
        row.update(self.update_policy(episodes))
        self.iteration += 1
        seconds = time.perf_counter() - start
        row.update(
            env_steps=float(self.env_steps),
            sim_steps=float(self.sim_steps - sim_before),
            seconds=seconds,
            env_steps_per_s=episodes.env_steps / seconds,
        )
        self.history.append(row)
        return row

    def train(self, total_steps: int, log: Callable[[dict[str, float]], None] | None = None):
        """Iterate until ``total_steps`` real env steps (joint steps of live games) are done
        in all (counting those of a resumed run); the log rows of this call."""
        if not is_int(total_steps) or total_steps < 0:
            raise ValueError(f"train total_steps={total_steps!r}: expected an int >= 0")
        rows = []
        while self.env_steps < total_steps:
            rows.append(self.iterate())
            if log is not None:
                log(rows[-1])
        return rows

    # -- checkpoints -------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "env_id": self.env_id,
            "env_kwargs": dict(self.config.env_kwargs),
            "observation_shape": list(self.observation_shape),
            "num_actions": self.num_actions,
            "num_models": len(self.models),
            "config": self.config.to_json(),
        }

    def save(self, directory: str | Path) -> Path:
        """Weights (policy and models, safetensors), config (JSON) and the trainer's state
        (optimizers as safetensors + JSON, RNG state and counters as JSON)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {f"policy.{k}": v for k, v in self.policy.state_dict().items()}
        tensors.update({f"models.{k}": v for k, v in self.models.state_dict().items()})
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(directory / WEIGHTS))
        (directory / CONFIG_JSON).write_text(json.dumps(self.meta(), indent=2) + "\n")
        for name, opt in (("optimizer", self.optimizer), ("model_optimizer", self.model_optimizer)):
            (directory / name).mkdir(exist_ok=True)
            save_optimizer(directory / name, opt)
        state = {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "sim_steps": self.sim_steps,
            "rng": self.rng.bit_generator.state,
            "history": self.history,
        }
        (directory / STATE_JSON).write_text(json.dumps(state) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> LOLAGridTrainer:
        """A trainer that continues the run saved in ``directory``."""
        directory = Path(directory)
        meta = read_meta(directory)
        trainer = cls(LOLAGridConfig.from_json(meta["config"]))
        load_weights(directory, trainer.policy, trainer.models)
        load_optimizer(directory / "optimizer", trainer.optimizer)
        load_optimizer(directory / "model_optimizer", trainer.model_optimizer)
        state = json.loads((directory / STATE_JSON).read_text())
        trainer.iteration = int(state["iteration"])
        trainer.env_steps = int(state["env_steps"])
        trainer.sim_steps = int(state["sim_steps"])
        trainer.rng.bit_generator.state = state["rng"]
        trainer.history = list(state["history"])
        return trainer


def read_meta(directory: str | Path) -> dict[str, Any]:
    """The checkpoint's JSON (``FileNotFoundError`` / ``ValueError`` naming the folder)."""
    path = Path(directory) / CONFIG_JSON
    if not path.is_file():
        raise FileNotFoundError(f"no LOLA checkpoint in {Path(directory)}: {path} is missing")
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: format must be {FORMAT!r}, got {meta.get('format')!r}")
    return meta


def load_weights(directory: str | Path, policy: torch.nn.Module, models: torch.nn.Module) -> None:
    """Fill ``policy`` and ``models`` from the checkpoint's safetensors (strict)."""
    tensors = load_file(str(Path(directory) / WEIGHTS))
    for prefix, module in (("policy.", policy), ("models.", models)):
        part = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        module.load_state_dict(part, strict=True)


def build_networks(meta: Mapping[str, Any]) -> tuple[GridPolicy, torch.nn.ModuleList]:
    """The policy and models a checkpoint's JSON describes (untrained weights)."""
    config = LOLAGridConfig.from_json(meta["config"])
    c, h, w = meta["observation_shape"]
    a = int(meta["num_actions"])

    def net() -> GridPolicy:
        return GridPolicy(c, h, w, a, config.conv_channels, config.hidden)

    return net(), torch.nn.ModuleList(net() for _ in range(int(meta["num_models"])))


def main(argv: Sequence[str] | None = None) -> int:
    """Train (or resume) a run and save its checkpoint every ``--save-every`` iterations
    and at the end; one line per iteration on stdout."""
    parser = argparse.ArgumentParser(description="Train LOLA-OM on a HOP grid game.")
    parser.add_argument("--env", default="hop/MarkovStagHunt-v0")
    parser.add_argument("--steps", type=int, required=True, help="real env steps in all")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lookahead-lr", type=float, default=LOLAGridConfig.lookahead_lr)
    parser.add_argument("--form", choices=FORMS, default="shaping")
    parser.add_argument("--save-every", type=int, default=50, help="iterations")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.resume:
        trainer = LOLAGridTrainer.load(args.out)
    else:
        config = LOLAGridConfig(
            env_id=args.env, seed=args.seed, lookahead_lr=args.lookahead_lr, form=args.form
        )
        trainer = LOLAGridTrainer(config)
    while trainer.env_steps < args.steps:
        row = trainer.iterate()
        print(" ".join(f"{k}={v:.4g}" for k, v in row.items()), flush=True)
        if trainer.iteration % max(args.save_every, 1) == 0:
            trainer.save(args.out)
    trainer.save(args.out)
    return 0


__all__ = [
    "FORMS",
    "Episodes",
    "LOLAGridConfig",
    "LOLAGridTrainer",
    "build_networks",
    "load_weights",
    "play",
    "read_meta",
]


if __name__ == "__main__":
    sys.exit(main())
