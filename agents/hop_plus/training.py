"""Training of HOP+'s subgoal model from the opponent-model buffer, and pre-training of its
prior VAE on offline rule-based states.

**Loss** (:func:`subgoal_loss`), on a batch of co-player sequences with hindsight subgoals
(:class:`~agents.hop_plus.buffer.SubgoalSequences`), averaged over valid (non-padding) steps:

``recon_weight * BCE(decode(z_t), g_t) + kl_weight * KL(q(z_t | tau_0..t, s_t) || p(z | x_t))
+ policy_weight * NLL(a_t | pi(. | s_t, z_t))``

with ``z_t`` sampled from the posterior by reparameterisation, the BCE summed over the
subgoal grid's planes and cells, the KL summed over ``z``, and ``x_t`` the hindsight subgoal
``g_t`` or the current state ``s_t`` (``SubgoalConfig.prior_input``). The prior VAE is frozen
while the subgoal model trains (its encoder only gives the KL target).

**Data**: one buffer. :meth:`SubgoalTrainer.train_round` reads the sequences of every stored
co-player trajectory (every seat) from the same :class:`~agents.hop.buffer.OpponentBuffer`
that trains HOP's opponent model (``OpponentModelTrainer.train_round(buffer, clear=False)``
first, then this one, which clears it), so nothing is stored twice and no episode is re-run.

**Subgoal hit ratio** (:func:`subgoal_hits`): a step's inferred subgoal is the decoder's
output at the posterior **mean**; its position is the most likely cell of plane 0 of the
decoded grid (plane 0 of an own view is the co-player's own position). The co-player
**reaches** it when its own position at one of the next steps ``t+1 .. min(t+H, T-1)`` of the
same trajectory is that cell. Steps with no later step in their trajectory (the last one) are
not counted. The ratio is hits / counted steps (OMG reports about 0.14 for its own tasks).

**Prior pre-training** (:func:`pretrain_prior`, :func:`pretrain_prior_on_env`): a plain VAE
(reconstruction BCE + ``prior_kl_weight`` x KL to N(0, I)) on the own-view grids of every
co-player step of offline episodes played by rule-based co-players of the **training
population only** (:func:`training_population` refuses held-out and plug-in co-players),
collected with :func:`agents.hop.action_model_training.collect_rule_based_episodes`.

Everything is deterministic given the configs' seeds (minibatch order and reparameterisation
noise come from generators seeded with (seed, round)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import hop_envs
from agents.hop.action_model_training import collect_rule_based_episodes
from agents.hop.buffer import OpponentBuffer
from agents.hop_plus.buffer import SubgoalSequences, subgoal_sequences
from agents.hop_plus.networks import (
    GridSpec,
    StateVAE,
    SubgoalModel,
    decoded_cells,
    reparameterise,
)
from agents.hop_plus.subgoals import ValueFn, check_horizon
from hop_envs.coplayers import TRAINING, coplayer_names, coplayer_population
from hop_envs.core import GridRules
from hop_envs.registration import full_env_id

__all__ = [
    "LossParts",
    "PriorPretrainConfig",
    "PriorStats",
    "SubgoalRoundStats",
    "SubgoalTrainer",
    "SubgoalTrainingConfig",
    "gaussian_kl",
    "offline_states",
    "position_cells",
    "pretrain_prior",
    "pretrain_prior_on_env",
    "subgoal_hits",
    "subgoal_loss",
    "training_population",
]


def _check_int(value: Any, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_positive(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a number > 0, got {value!r}")


@dataclass(frozen=True)
class SubgoalTrainingConfig:
    """One training round of the subgoal model: ``epochs`` passes of Adam over the round's
    sequences in minibatches of ``batch_size`` sequences (whole co-player trajectories)."""

    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    max_grad_norm: float | None = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        _check_int(self.epochs, "SubgoalTrainingConfig.epochs", 1)
        _check_int(self.batch_size, "SubgoalTrainingConfig.batch_size", 1)
        _check_positive(self.learning_rate, "SubgoalTrainingConfig.learning_rate")
        if self.max_grad_norm is not None:
            _check_positive(self.max_grad_norm, "SubgoalTrainingConfig.max_grad_norm")
        _check_int(self.seed, "SubgoalTrainingConfig.seed", 0)


@dataclass(frozen=True)
class LossParts:
    """The loss of one batch: ``total`` (a tensor to back-propagate) and its three terms
    (unweighted means over valid steps)."""

    total: torch.Tensor
    recon: float
    kl: float
    policy_nll: float


def gaussian_kl(
    mu: torch.Tensor, logvar: torch.Tensor, prior_mu: torch.Tensor, prior_logvar: torch.Tensor
) -> torch.Tensor:
    """KL(N(mu, e^logvar) || N(prior_mu, e^prior_logvar)), summed over the last axis."""
    ratio = torch.exp(logvar - prior_logvar)
    return 0.5 * (
        prior_logvar - logvar + ratio + (mu - prior_mu) ** 2 / torch.exp(prior_logvar) - 1
    ).sum(-1)


def _tensors(batch: SubgoalSequences, spec: GridSpec) -> dict[str, torch.Tensor]:
    return {
        "grids": torch.from_numpy(batch.grids.astype(np.float32)),
        "subgoals": torch.from_numpy(batch.subgoals.astype(np.float32)),
        "times": torch.from_numpy((batch.steps / spec.max_cycles).astype(np.float32)),
        "masks": torch.from_numpy(batch.masks),
        "actions": torch.from_numpy(batch.actions),
        "valid": torch.from_numpy(batch.valid),
    }


def subgoal_loss(
    model: SubgoalModel,
    prior: StateVAE,
    batch: SubgoalSequences,
    generator: torch.Generator | None = None,
    *,
    sample: bool = True,
) -> LossParts:
    """The weighted loss of the module docstring on ``batch`` (``sample=False``: ``z`` is the
    posterior mean, for evaluation)."""
    if batch.num_steps == 0:
        raise ValueError("subgoal_loss: the batch has no valid step")
    cfg = model.config
    t = _tensors(batch, model.spec)
    valid = t["valid"]
    mu, logvar, _ = model.posterior(t["grids"], model.previous_actions(t["actions"]))
    z = reparameterise(mu, logvar, generator) if sample else mu
    bce = F.binary_cross_entropy_with_logits(model.decode(z), t["subgoals"], reduction="none")
    recon = bce.sum((-3, -2, -1))[valid].mean()
    with torch.no_grad():
        target = t["subgoals"] if cfg.prior_input == "subgoal" else t["grids"]
        prior_mu, prior_logvar = prior.encode(target)
    kl = gaussian_kl(mu, logvar, prior_mu, prior_logvar)[valid].mean()
    logits = model.policy(t["grids"][valid], t["times"][valid], t["masks"][valid], z[valid])
    nll = F.cross_entropy(logits, t["actions"][valid])
    total = cfg.recon_weight * recon + cfg.kl_weight * kl + cfg.policy_weight * nll
    return LossParts(total, float(recon.detach()), float(kl.detach()), float(nll.detach()))


def position_cells(grids: np.ndarray) -> np.ndarray:
    """``(...)`` int: the flat cell of plane 0 (own position) of own-view ``grids``
    ``(..., C, H, W)``; -1 where plane 0 is empty (a player out of the game, padding)."""
    g = np.asarray(grids)
    plane = g[..., 0, :, :].reshape(*g.shape[:-3], -1)
    cells = plane.argmax(-1)
    return np.where(plane.max(-1) > 0, cells, -1).astype(np.int64)


def subgoal_hits(
    predicted: np.ndarray, grids: np.ndarray, lengths: np.ndarray, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which inferred subgoals the co-player reaches (module docstring).

    ``predicted`` ``(N, T)`` flat cells (:func:`decoded_cells`), ``grids`` ``(N, T, C, H, W)``
    the co-players' own views, ``lengths`` ``(N,)``. Returns ``(hits, counted)``, both
    ``(N, T)`` bool: ``counted`` marks steps with at least one later step in their
    trajectory, ``hits`` those whose cell is the co-player's position at a step in
    ``t+1 .. min(t+H, T-1)``."""
    horizon = check_horizon(horizon, "subgoal_hits")
    pred = np.asarray(predicted, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    n, t_max = pred.shape
    if grids.shape[:2] != (n, t_max) or lengths.shape != (n,):
        raise ValueError(
            f"subgoal_hits: predicted {pred.shape}, grids {grids.shape[:2]} and lengths "
            f"{lengths.shape} do not match"
        )
    pos = position_cells(grids)
    hits = np.zeros((n, t_max), dtype=bool)
    counted = np.zeros((n, t_max), dtype=bool)
    for i in range(n):
        k = int(lengths[i])
        for t in range(k - 1):
            counted[i, t] = True
            future = pos[i, t + 1 : min(t + horizon, k - 1) + 1]
            hits[i, t] = bool((future == pred[i, t]).any())
    return hits, counted


@dataclass(frozen=True)
class SubgoalRoundStats:
    """One round: sequences and steps used, the mean training loss per epoch, then on the
    round's data with ``z`` at the posterior mean: the three loss terms and the hit ratio
    (``hits`` of ``counted`` steps; NaN when none counted)."""

    round: int
    sequences: int
    steps: int
    epoch_losses: tuple[float, ...]
    recon: float
    kl: float
    policy_nll: float
    hits: int
    counted: int

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.counted if self.counted else float("nan")

    @property
    def trained(self) -> bool:
        return self.steps > 0

    def metrics(self) -> dict[str, float]:
        """Flat metrics for a log (reconstruction, KL, policy NLL, hit ratio, ...)."""
        return {
            "round": float(self.round),
            "sequences": float(self.sequences),
            "steps": float(self.steps),
            "loss": self.epoch_losses[-1] if self.epoch_losses else float("nan"),
            "recon": self.recon,
            "kl": self.kl,
            "policy_nll": self.policy_nll,
            "hit_ratio": self.hit_ratio,
        }


def _check_pair(model: SubgoalModel, prior: StateVAE, where: str) -> None:
    if not isinstance(model, SubgoalModel) or not isinstance(prior, StateVAE):
        raise TypeError(
            f"{where}: needs a SubgoalModel and a StateVAE, got {type(model).__name__} and "
            f"{type(prior).__name__}"
        )
    if prior.spec != model.spec or prior.config.goal_dim != model.config.goal_dim:
        raise ValueError(
            f"{where}: the prior VAE ({prior.spec}, goal_dim {prior.config.goal_dim}) does not "
            f"match the subgoal model ({model.spec}, goal_dim {model.config.goal_dim})"
        )


class SubgoalTrainer:
    """Trains a :class:`SubgoalModel` round after round against a frozen prior VAE; the
    optimizer state carries over between rounds. ``value``: the value estimate of the
    ``"optimistic"``/``"conservative"`` selectors (own-view grids -> values)."""

    def __init__(
        self,
        model: SubgoalModel,
        prior: StateVAE,
        rules: GridRules,
        config: SubgoalTrainingConfig | None = None,
        value: ValueFn | None = None,
    ) -> None:
        _check_pair(model, prior, "SubgoalTrainer")
        model.spec.check_rules(rules)
        if model.config.selector != "reference" and value is None:
            raise ValueError(
                f"SubgoalTrainer: the {model.config.selector!r} selector needs a value "
                "estimate (value=...)"
            )
        self.model, self.prior, self.rules = model, prior, rules
        self.config = config or SubgoalTrainingConfig()
        self.value = value
        for p in prior.parameters():
            p.requires_grad_(False)
        prior.eval()
        self.optimizer = torch.optim.Adam(model.parameters(), lr=self.config.learning_rate)
        self.rounds = 0

    def sequences(self, buffer: OpponentBuffer) -> SubgoalSequences:
        """The buffer's trajectories (every seat) as sequences with hindsight subgoals."""
        cfg = self.model.config
        return subgoal_sequences(
            buffer, cfg.horizon, cfg.selector, value=self.value, rules=self.rules
        )

    def train_round(self, buffer: OpponentBuffer, *, clear: bool = True) -> SubgoalRoundStats:
        """Train on every trajectory of ``buffer``, then clear it (unless ``clear=False``)."""
        stats = self.fit(self.sequences(buffer))
        if clear:
            buffer.clear()
        return stats

    def fit(self, data: SubgoalSequences) -> SubgoalRoundStats:
        """One round on ``data`` (no valid step: nothing changes, NaN metrics)."""
        index = self.rounds
        self.rounds += 1
        if data.num_steps == 0:
            nan = float("nan")
            return SubgoalRoundStats(index, 0, 0, (), nan, nan, nan, 0, 0)
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, index])
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        self.model.train()
        epoch_losses = []
        for _ in range(cfg.epochs):
            order = rng.permutation(len(data))
            total, steps = 0.0, 0
            for start in range(0, len(data), cfg.batch_size):
                batch = data.subset(order[start : start + cfg.batch_size])
                parts = subgoal_loss(self.model, self.prior, batch, generator)
                self.optimizer.zero_grad(set_to_none=True)
                parts.total.backward()
                if cfg.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                total += float(parts.total.detach()) * batch.num_steps
                steps += batch.num_steps
            epoch_losses.append(total / steps)
        self.model.eval()
        return self.evaluate(data, index, tuple(epoch_losses))

    def evaluate(
        self, data: SubgoalSequences, round_index: int = -1, epoch_losses: tuple = ()
    ) -> SubgoalRoundStats:
        """Loss terms and hit ratio on ``data`` with ``z`` at the posterior mean."""
        with torch.inference_mode():
            parts = subgoal_loss(self.model, self.prior, data, sample=False)
            t = _tensors(data, self.model.spec)
            mu, _, _ = self.model.posterior(t["grids"], self.model.previous_actions(t["actions"]))
            predicted = decoded_cells(self.model.decode(mu))
        hits, counted = subgoal_hits(predicted, data.grids, data.lengths, self.model.config.horizon)
        return SubgoalRoundStats(
            round_index,
            len(data),
            data.num_steps,
            epoch_losses,
            parts.recon,
            parts.kl,
            parts.policy_nll,
            int(hits.sum()),
            int(counted.sum()),
        )


# -- prior pre-training on offline rule-based states ------------------------------------------


@dataclass(frozen=True)
class PriorPretrainConfig:
    """Budget of the prior VAE's pre-training: ``episodes`` offline episodes (every seat a
    rule-based co-player of ``population``, default the env's whole training population),
    ``epochs`` passes over their co-player states in minibatches of ``batch_size``."""

    episodes: int = 20
    epochs: int = 10
    batch_size: int = 256
    learning_rate: float = 1e-3
    seed: int = 0
    population: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check_int(self.episodes, "PriorPretrainConfig.episodes", 1)
        _check_int(self.epochs, "PriorPretrainConfig.epochs", 1)
        _check_int(self.batch_size, "PriorPretrainConfig.batch_size", 1)
        _check_positive(self.learning_rate, "PriorPretrainConfig.learning_rate")
        _check_int(self.seed, "PriorPretrainConfig.seed", 0)
        if self.population is not None:
            names = (self.population,) if isinstance(self.population, str) else self.population
            names = tuple(names)
            if not names or not all(isinstance(n, str) for n in names):
                raise ValueError(
                    "PriorPretrainConfig.population must be None or a non-empty sequence of "
                    f"co-player names, got {self.population!r}"
                )
            object.__setattr__(self, "population", names)


@dataclass(frozen=True)
class PriorStats:
    """Pre-training: states used, mean loss per epoch, final reconstruction and KL."""

    samples: int
    epoch_losses: tuple[float, ...]
    recon: float
    kl: float


def training_population(env_id: str, population: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The co-players offline data may come from: ``population`` checked to be training
    co-players that play ``env_id`` (``ValueError`` naming any held-out or plug-in one), or
    all of the env's training co-players."""
    env_id = full_env_id(env_id)
    allowed = tuple(coplayer_names(env_id, population=TRAINING))
    if population is None:
        if not allowed:
            raise ValueError(f"training_population: no training co-player plays {env_id}")
        return allowed
    for name in population:
        kind = coplayer_population(name)
        if kind != TRAINING:
            raise ValueError(
                f"training_population: {name!r} is a {kind!r} co-player; HOP+'s prior trains "
                f"on the training population only ({list(allowed)})"
            )
        if name not in allowed:
            raise ValueError(
                f"training_population: {name!r} does not play {env_id}; training co-players "
                f"of {env_id} are {list(allowed)}"
            )
    return tuple(population)


def offline_states(buffer: OpponentBuffer) -> np.ndarray:
    """``(M, C, H, W)`` uint8: every co-player step's own view stored in ``buffer``."""
    grids = [t.grids for t in buffer]
    if not grids:
        f = buffer.features
        return np.zeros((0, f.num_channels, f.height, f.width), dtype=np.uint8)
    return np.concatenate(grids)


def _vae_loss(
    vae: StateVAE, x: torch.Tensor, generator: torch.Generator | None, sample: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    mu, logvar = vae.encode(x)
    z = reparameterise(mu, logvar, generator) if sample else mu
    recon = F.binary_cross_entropy_with_logits(vae.decode(z), x, reduction="none")
    recon = recon.sum((-3, -2, -1)).mean()
    kl = gaussian_kl(mu, logvar, torch.zeros_like(mu), torch.zeros_like(logvar)).mean()
    return recon + vae.config.prior_kl_weight * kl, recon, kl


def pretrain_prior(
    vae: StateVAE, states: np.ndarray, config: PriorPretrainConfig | None = None
) -> PriorStats:
    """Fit ``vae`` to own-view ``states`` ``(M, C, H, W)`` (a plain VAE, module docstring);
    returns in eval mode."""
    if not isinstance(vae, StateVAE):
        raise TypeError(f"pretrain_prior: needs a StateVAE, got {type(vae).__name__}")
    cfg = config or PriorPretrainConfig()
    x_all = np.asarray(states)
    expected = (vae.spec.in_channels, vae.spec.height, vae.spec.width)
    if x_all.ndim != 4 or x_all.shape[1:] != expected or x_all.shape[0] == 0:
        raise ValueError(
            f"pretrain_prior: states must be (M, *{expected}) with M >= 1, got {x_all.shape}"
        )
    x_all = torch.from_numpy(x_all.astype(np.float32))
    rng = np.random.default_rng([cfg.seed, 2])
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    optimizer = torch.optim.Adam(vae.parameters(), lr=cfg.learning_rate)
    vae.train()
    epoch_losses = []
    n = x_all.shape[0]
    for _ in range(cfg.epochs):
        order = torch.from_numpy(rng.permutation(n))
        total = 0.0
        for start in range(0, n, cfg.batch_size):
            x = x_all[order[start : start + cfg.batch_size]]
            loss, _, _ = _vae_loss(vae, x, generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * x.shape[0]
        epoch_losses.append(total / n)
    vae.eval()
    with torch.inference_mode():
        _, recon, kl = _vae_loss(vae, x_all, None, sample=False)
    return PriorStats(n, tuple(epoch_losses), float(recon), float(kl))


def pretrain_prior_on_env(
    vae: StateVAE,
    env_id: str,
    env_kwargs: Mapping[str, Any] | None = None,
    config: PriorPretrainConfig | None = None,
) -> tuple[PriorStats, OpponentBuffer]:
    """Collect offline episodes of ``env_id`` with training co-players only
    (:func:`training_population`), pre-train ``vae`` on their co-player states. Returns the
    stats and the offline buffer (its trajectories can also pre-train the subgoal model)."""
    cfg = config or PriorPretrainConfig()
    env_id = full_env_id(env_id)
    rules = hop_envs.make(env_id, **dict(env_kwargs or {})).unwrapped.rules
    vae.spec.check_rules(rules)
    population = training_population(env_id, cfg.population)
    buffer = collect_rule_based_episodes(env_id, env_kwargs, cfg.episodes, cfg.seed, population)
    return pretrain_prior(vae, offline_states(buffer), cfg), buffer
