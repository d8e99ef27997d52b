"""PR2 and independent learners on the differential game "max of two quadratics".

The game (Wei et al. 2018, "Multiagent soft Q-learning"; used again in Wen et al. 2019,
"Probabilistic recursive reasoning for multi-agent reinforcement learning", ICLR, §5.2): two
players act once, simultaneously, with continuous actions ``a1, a2`` in ``[-10, 10]`` and both
receive ``r = max(f1, f2)`` with

* ``f1 = 0.8 * (-((a1 + 5) / 3) ** 2 - ((a2 + 5) / 3) ** 2)``: a wide, low peak, ``0`` at
  ``(-5, -5)`` (the local optimum);
* ``f2 = 1.0 * (-((a1 - 5) / 1) ** 2 - ((a2 - 5) / 1) ** 2) + 10``: a narrow, high peak, ``10``
  at ``(5, 5)`` (the global optimum).

This is the formula as the papers print it. The authors' code in ``ying-wen/malib``
(``malib/environments/differential_game.py``, game ``"ma_softq"``) divides the squared
distance by the width (``(a - x) ** 2 / s``) instead of squaring the scaled distance; the peaks
are at the same places with the same heights, only the widths differ (the low peak is narrower
there: ``-13.3`` rather than ``-4.4`` at the origin). This module follows the papers.

Two learners play it from a seed (:func:`run`), with the same data, temperatures, optimiser and
network sizes:

``"pr2"``
    Level-1 probabilistic recursive reasoning in the soft actor-critic form (PR2-AC with the
    entropy terms of the paper's soft objective). Player ``i`` keeps a joint action value
    ``Q_i(a_i, a_-i)`` regressed on the observed rewards (one step: the target is the reward),
    an opponent-conditional policy ``rho_i(a_-i | a_i)``, a tanh-squashed Gaussian whose mean and
    log-std are an MLP of ``a_i``, fitted by variational inference to the soft target
    ``exp(Q_i(a_i, a_-i) / alpha) / Z(a_i)`` (reparameterised, minimising
    ``E_rho[alpha * log rho - Q_i]``, i.e. ``alpha * KL(rho || exp(Q_i / alpha) / Z)`` up to a
    term that does not depend on ``rho``), and its own policy ``pi_i(a_i)``, a tanh-squashed
    Gaussian trained to maximise ``E_{a_i ~ pi_i} [E_{a_-i ~ rho_i(.|a_i)} Q_i(a_i, a_-i)
    - alpha * log pi_i(a_i)]`` (the level-1 value marginalised over the conditional opponent, plus
    entropy).
``"independent"``
    Each player treats the other as part of the environment: ``Q_i(a_i)`` regressed on the same
    observed rewards (so it averages over whatever the other player did), and the same soft
    actor, trained to maximise ``E_{a_i ~ pi_i} [Q_i(a_i) - alpha * log pi_i(a_i)]``
    (independent soft actor-critic).

Exploration and schedule: the replay buffer starts with ``explore_steps`` uniformly random joint
actions (the authors' trainer has an exploration phase of 1000 steps). The critics (and, for
PR2, the opponent models) are then fitted to that data for ``warmup_steps`` gradient steps
before the actors move; after that, every step both players sample from their current policies
and each takes one gradient step on each of its networks. The temperature ``alpha`` of the
players' own entropy is annealed geometrically from ``alpha_start`` to ``alpha_end`` over the
first ``anneal_fraction`` of the training steps and then held. The opponent model's temperature
is ``rho_alpha`` (default 1: ``rho ∝ exp(Q_i(a_i, a_-i) - Q_i(a_i))`` at unit temperature, the
form of the paper's Theorem 1; ``None`` uses the annealed ``alpha`` as well).

Why the warm-up: without it the critic has not yet fitted the narrow peak when the actors
commit. A critic-only fit of 1000 uniform samples at this batch size and learning rate values
``(5, 5)`` at about -1 to -2.5 after 500 Adam steps and at about 10 only after 1000 to 1500
(4 seeds). In our runs of 1500 training steps, PR2 with no warm-up (and the opponent model's
temperature annealed with ``alpha``) reached the global peak on 0 of 4 seeds, 3 of them on the
low peak: its value of ``a_i = 5`` was still about -8 when the actors moved; with 500 warm-up
steps it reached it on 3 of 6 seeds (``rho_alpha = 1``), and in the other 3 one player's critic
still missed the peak, so that player stayed at the low peak while the other went to 5. Both
learners get the same warm-up.

The opponent model's temperature matters too: with the warm-up but ``rho_alpha=None`` (rho
annealed from 10 with the players' ``alpha``), PR2 reached the global peak on 3 of seeds 0-5
(two runs had one player at each peak, one ended at (5.1, 6.3)), against 6 of 6 with
``rho_alpha = 1``: a hot opponent model spreads ``a_-i`` over the box, so the marginal value
``E_rho Q_i`` is close to the independent learner's average while the actors are still moving.

With these defaults ``benchmarks/pr2_differential_game.py`` (seeds 0-9) gives PR2 the global
peak on 9 of 10 seeds (the tenth ended at (6.08, 4.97), reward 8.8, just outside the tolerance)
and independent learners on 1 of 10; the other 9 ended on the low peak's side (both actions
negative, reward between -2.0 and 0), 3 of them within the tolerance of (-5, -5).

Outcome of a run: each player's final action is its policy's mean pushed through the squash,
``10 * tanh(mu_i)`` (the usual evaluation action of a squashed-Gaussian actor). The run
*reached the global peak* when both final actions are within ``global_tolerance`` (default 1.0)
of 5; there ``f2 >= 8 > f1``, so the reward is at least 8. It *settled on the local peak* when
both are within the same distance of -5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from baselines.config_checks import is_finite, is_int

#: Each action lies in ``[-ACTION_BOUND, ACTION_BOUND]``.
ACTION_BOUND = 10.0
#: Where the two peaks are (both coordinates), and their values.
GLOBAL_PEAK, GLOBAL_VALUE = 5.0, 10.0
LOCAL_PEAK, LOCAL_VALUE = -5.0, 0.0
LEARNERS = ("pr2", "independent")
_LOG_STD_MIN, _LOG_STD_MAX = -5.0, 2.0


def reward(a1, a2):
    """The shared reward ``max(f1, f2)`` of the game (module docstring).

    Floats give a float; NumPy arrays or torch tensors give the elementwise array or tensor.
    """
    f1 = 0.8 * (-(((a1 + 5.0) / 3.0) ** 2) - ((a2 + 5.0) / 3.0) ** 2)
    f2 = 1.0 * (-(((a1 - 5.0) / 1.0) ** 2) - ((a2 - 5.0) / 1.0) ** 2) + 10.0
    if isinstance(f1, torch.Tensor):
        return torch.maximum(f1, f2)
    out = np.maximum(f1, f2)
    return float(out) if np.ndim(out) == 0 else out


def _check(name: str, value, ok: bool, expected: str) -> None:
    if not ok:
        raise ValueError(f"{name} must be {expected}, got {value!r}")


@dataclass(frozen=True)
class DifferentialConfig:
    """One run of one learner on the differential game.

    Where the defaults come from:

    * the authors' code (``ying-wen/malib``: ``examples/run_trainer.py``, ``PR2Agent``,
      ``trainers/utils.add_annealing``): batch 128, Adam at 1e-3, 16 opponent particles per own
      action (``value_n_particles``), 1000 uniform exploration steps, the temperature floor 0.1;
    * the paper (Theorem 1, and the unannealed opponent loss of the authors' soft PR2):
      ``rho_alpha = 1``;
    * a measurement: ``warmup_steps = 1500``, the number of critic steps a critic-only fit of
      the exploration data needs to value the high peak at about 10 (module docstring);
    * ours: two hidden layers of 64, 1500 training steps, 32 own-action samples per actor step
      (the one-state policy has no input; the samples only average its gradient), and the
      anneal from ``alpha_start = 10`` (of the order of the high peak's value, so the players'
      policies first spread over the whole box) to the floor over the first half of training,
      the second half fine-tuning at the floor.
    """

    learner: Literal["pr2", "independent"] = "pr2"
    seed: int = 0
    train_steps: int = 1500
    explore_steps: int = 1000
    batch_size: int = 128
    hidden: int = 64
    lr: float = 1e-3
    alpha_start: float = 10.0
    alpha_end: float = 0.1
    anneal_fraction: float = 0.5
    particles: int = 16
    rho_alpha: float | None = 1.0
    warmup_steps: int = 1500
    actor_samples: int = 32
    global_tolerance: float = 1.0

    def __post_init__(self) -> None:
        _check("learner", self.learner, self.learner in LEARNERS, f"one of {LEARNERS}")
        _check("seed", self.seed, is_int(self.seed) and self.seed >= 0, "an int >= 0")
        for name in ("train_steps", "batch_size", "hidden", "particles", "actor_samples"):
            value = getattr(self, name)
            _check(name, value, is_int(value) and value >= 1, "an int >= 1")
        _check(
            "explore_steps",
            self.explore_steps,
            is_int(self.explore_steps) and self.explore_steps >= 0,
            "an int >= 0",
        )
        _check(
            "warmup_steps",
            self.warmup_steps,
            is_int(self.warmup_steps)
            and self.warmup_steps >= 0
            and (self.warmup_steps == 0 or self.explore_steps >= 1),
            "an int >= 0 (and 0 when explore_steps is 0: warm-up fits the exploration data)",
        )
        _check(
            "explore_steps + train_steps",
            self.explore_steps + self.train_steps,
            self.explore_steps + self.train_steps >= self.batch_size,
            f"at least batch_size ({self.batch_size}) so that a batch can be drawn",
        )
        for name in ("lr", "alpha_end", "global_tolerance"):
            value = getattr(self, name)
            _check(name, value, is_finite(value) and value > 0, "a finite float > 0")
        _check(
            "rho_alpha",
            self.rho_alpha,
            self.rho_alpha is None or (is_finite(self.rho_alpha) and self.rho_alpha > 0),
            "None (use the annealed alpha) or a finite float > 0",
        )
        _check(
            "alpha_start",
            self.alpha_start,
            is_finite(self.alpha_start) and self.alpha_start >= self.alpha_end,
            f"a finite float >= alpha_end ({self.alpha_end})",
        )
        _check(
            "anneal_fraction",
            self.anneal_fraction,
            is_finite(self.anneal_fraction) and 0.0 < self.anneal_fraction <= 1.0,
            "a float in (0, 1]",
        )

    def alpha(self, step: int) -> float:
        """The temperature at training step ``step`` (geometric anneal, then the floor)."""
        span = max(1, round(self.anneal_fraction * self.train_steps))
        progress = min(step / span, 1.0)
        return self.alpha_start * (self.alpha_end / self.alpha_start) ** progress


@dataclass(frozen=True)
class RunResult:
    """The end of one run: final actions ``10 * tanh(mu_i)``, their reward, and the outcome."""

    learner: str
    seed: int
    actions: tuple[float, float]
    reward: float
    reached_global: bool
    reached_local: bool


def _mlp(inputs: int, outputs: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inputs, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, outputs),
    )


class SquashedGaussian(nn.Module):
    """A Gaussian pushed through ``ACTION_BOUND * tanh``.

    Its mean and log-std are an MLP of the condition, given scaled to ``[-1, 1]`` (the
    opponent-conditional policy ``rho(a_-i | a_i)``), or with ``condition_dim == 0`` of the
    one-state game's constant observation, ``1`` (a player's own policy; the authors' policies
    are likewise MLPs of a constant observation, which moves the output much faster under Adam
    than a free mean and log-std would).
    """

    def __init__(self, condition_dim: int, hidden: int) -> None:
        super().__init__()
        self.condition_dim = condition_dim
        self.net = _mlp(max(condition_dim, 1), 2, hidden)

    def stats(self, condition: torch.Tensor | None, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.condition_dim:
            out = self.net(condition / ACTION_BOUND)
        else:
            out = self.net(torch.ones(1, 1)).expand(n, 2)
        mean, log_std = out[:, 0], out[:, 1].clamp(_LOG_STD_MIN, _LOG_STD_MAX)
        return mean, log_std

    def sample(
        self, condition: torch.Tensor | None, n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` reparameterised actions (one per condition row when conditional) and their log
        densities on the action scale."""
        mean, log_std = self.stats(condition, n)
        noise = torch.randn(mean.shape, generator=generator)
        pre = mean + log_std.exp() * noise
        log_prob = -0.5 * noise.square() - log_std - 0.5 * math.log(2 * math.pi)
        # d(B tanh u)/du = B (1 - tanh^2 u); log(1 - tanh^2 u) = 2 (log 2 - u - softplus(-2u)).
        log_prob = log_prob - (
            math.log(ACTION_BOUND)
            + 2.0 * (math.log(2.0) - pre - nn.functional.softplus(-2.0 * pre))
        )
        return ACTION_BOUND * torch.tanh(pre), log_prob

    def mode(self, condition: torch.Tensor | None = None, n: int = 1) -> torch.Tensor:
        """The mean pushed through the squash: ``ACTION_BOUND * tanh(mu)``."""
        return ACTION_BOUND * torch.tanh(self.stats(condition, n)[0])


class QNet(nn.Module):
    """An MLP value of one or two actions (given on the action scale, fed in scaled)."""

    def __init__(self, inputs: int, hidden: int) -> None:
        super().__init__()
        self.net = _mlp(inputs, 1, hidden)

    def forward(self, *actions: torch.Tensor) -> torch.Tensor:
        return self.net(torch.stack(actions, dim=-1) / ACTION_BOUND).squeeze(-1)


def opponent_loss(
    rho: SquashedGaussian,
    q_fn,
    own: torch.Tensor,
    alpha: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """``E_{a_-i ~ rho(.|a_i)} [alpha * log rho(a_-i | a_i) - Q(a_i, a_-i)]`` averaged over the
    own actions ``own``: ``alpha`` times the KL divergence from ``rho(.|a_i)`` to
    ``exp(Q(a_i, .) / alpha) / Z(a_i)``, less ``alpha * log Z(a_i)`` (free of ``rho``)."""
    other, log_prob = rho.sample(own.unsqueeze(-1), own.shape[0], generator)
    return (alpha * log_prob - q_fn(own, other)).mean()


def fit_opponent_model(
    q_fn,
    alpha: float,
    *,
    steps: int = 1000,
    batch_size: int = 128,
    hidden: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
) -> SquashedGaussian:
    """Fit ``rho(a_-i | a_i)`` to ``exp(q_fn(a_i, a_-i) / alpha)`` for a fixed value ``q_fn``
    (two tensors in, one tensor out), with own actions drawn uniformly from the action box.
    The same update the PR2 learner makes each step, on its own."""
    _check("alpha", alpha, is_finite(alpha) and alpha > 0, "a finite float > 0")
    _check("steps", steps, is_int(steps) and steps >= 1, "an int >= 1")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        rho = SquashedGaussian(1, hidden)
        optimiser = torch.optim.Adam(rho.parameters(), lr=lr)
        for _ in range(steps):
            own = (torch.rand(batch_size, generator=generator) * 2 - 1) * ACTION_BOUND
            loss = opponent_loss(rho, q_fn, own, alpha, generator)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return rho


class _Player:
    """One player's networks and their updates."""

    def __init__(self, config: DifferentialConfig) -> None:
        self.config = config
        self.pr2 = config.learner == "pr2"
        self.policy = SquashedGaussian(0, config.hidden)
        self.q = QNet(2 if self.pr2 else 1, config.hidden)
        self.q_optimiser = torch.optim.Adam(self.q.parameters(), lr=config.lr)
        self.policy_optimiser = torch.optim.Adam(self.policy.parameters(), lr=config.lr)
        if self.pr2:
            self.rho = SquashedGaussian(1, config.hidden)
            self.rho_optimiser = torch.optim.Adam(self.rho.parameters(), lr=config.lr)

    def value(self, own: torch.Tensor, other: torch.Tensor | None = None) -> torch.Tensor:
        return self.q(own, other) if self.pr2 else self.q(own)

    def update(
        self,
        own: torch.Tensor,
        other: torch.Tensor,
        rewards: torch.Tensor,
        alpha: float,
        generator: torch.Generator,
        actor: bool = True,
    ) -> None:
        n = own.shape[0]
        # Critic: one-step game, so the target of Q is the observed reward.
        q_loss = (self.value(own, other) - rewards).square().mean()
        self.q_optimiser.zero_grad()
        q_loss.backward()
        self.q_optimiser.step()

        self.q.requires_grad_(False)
        if self.pr2:
            # rho(.|a_i) for own actions from the current policy and, to keep the amortised
            # model right wherever the policy may move, as many uniform over the box.
            with torch.no_grad():
                from_policy = self.policy.sample(None, n // 2, generator)[0]
            uniform = (torch.rand(n - n // 2, generator=generator) * 2 - 1) * ACTION_BOUND
            conditions = torch.cat([from_policy, uniform])
            rho_alpha = alpha if self.config.rho_alpha is None else self.config.rho_alpha
            rho_loss = opponent_loss(self.rho, self.q, conditions, rho_alpha, generator)
            self.rho_optimiser.zero_grad()
            rho_loss.backward()
            self.rho_optimiser.step()
        if not actor:
            self.q.requires_grad_(True)
            return

        # Actor: the own action's value (marginalised over rho for PR2) plus entropy, as a
        # Monte Carlo average over actor_samples own actions (the policy has no input).
        n = self.config.actor_samples
        actions, log_prob = self.policy.sample(None, n, generator)
        if self.pr2:
            self.rho.requires_grad_(False)
            k = self.config.particles
            repeated = actions.repeat_interleave(k)
            others = self.rho.sample(repeated.unsqueeze(-1), n * k, generator)[0]
            values = self.q(repeated, others).view(n, k).mean(dim=1)
            self.rho.requires_grad_(True)
        else:
            values = self.q(actions)
        policy_loss = (alpha * log_prob - values).mean()
        self.policy_optimiser.zero_grad()
        policy_loss.backward()
        self.policy_optimiser.step()
        self.q.requires_grad_(True)


def run(config: DifferentialConfig) -> RunResult:
    """Train both players of ``config.learner`` from ``config.seed`` and report the outcome.

    Deterministic given the config (torch's global random state is restored afterwards).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = torch.Generator().manual_seed(config.seed)
        players = [_Player(config), _Player(config)]
        size = config.explore_steps + config.train_steps
        joint = torch.zeros(size, 2)
        rewards = torch.zeros(size)
        explore = config.explore_steps
        joint[:explore] = (torch.rand(explore, 2, generator=generator) * 2 - 1) * ACTION_BOUND
        rewards[:explore] = reward(joint[:explore, 0], joint[:explore, 1])
        for _ in range(config.warmup_steps):
            index = torch.randint(0, explore, (config.batch_size,), generator=generator)
            batch, batch_rewards = joint[index], rewards[index]
            for i, player in enumerate(players):
                player.update(
                    batch[:, i], batch[:, 1 - i], batch_rewards, config.alpha(0), generator, False
                )
        for step in range(config.train_steps):
            filled = explore + step
            with torch.no_grad():
                for i, player in enumerate(players):
                    joint[filled, i] = player.policy.sample(None, 1, generator)[0][0]
            rewards[filled] = reward(joint[filled, 0], joint[filled, 1])
            filled += 1
            index = torch.randint(0, filled, (config.batch_size,), generator=generator)
            batch, batch_rewards = joint[index], rewards[index]
            alpha = config.alpha(step)
            for i, player in enumerate(players):
                player.update(batch[:, i], batch[:, 1 - i], batch_rewards, alpha, generator)
        with torch.no_grad():
            a1, a2 = (float(player.policy.mode()[0]) for player in players)
    tolerance = config.global_tolerance
    return RunResult(
        learner=config.learner,
        seed=config.seed,
        actions=(a1, a2),
        reward=reward(a1, a2),
        reached_global=abs(a1 - GLOBAL_PEAK) <= tolerance and abs(a2 - GLOBAL_PEAK) <= tolerance,
        reached_local=abs(a1 - LOCAL_PEAK) <= tolerance and abs(a2 - LOCAL_PEAK) <= tolerance,
    )
