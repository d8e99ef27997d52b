"""HOP+'s opponent modelling over learned subgoals: intra-OM and inter-OM (DESIGN §8).

**Intra-OM** (within an episode) is the subgoal model's recurrent posterior
``q(z | tau_0..t, s_t)``: every co-player's GRU is stepped with its own view of each state it
acted in and the action it executed before (a start token first), exactly the inputs the
model was trained on (:class:`~agents.hop_plus.networks.SubgoalModel`). At a decision in
state ``s_t`` the posterior takes one more, uncommitted, step on ``s_t``.

**Inter-OM** (across the episodes of a trial) is a per-co-player Gaussian prior over ``z``:
at the end of every episode the co-player's posteriors of that episode are summarised by
their moments (the mean of the posterior means and of the second moments ``sigma^2 + mu^2``,
i.e. the moment-matched Gaussian of the mixture of its per-step posteriors), and these enter an
exponential moving average with weight ``alpha``, bias-corrected like Adam's moments
(``m / (1 - alpha^k)`` after ``k`` episodes), so that the first episode's summary is not
shrunk towards zero. Before any episode there is no inter prior.

**What planning samples from** (:meth:`SubgoalInference.distributions`), per co-player:

* both (``hop-plus``): the product of the posterior and the inter prior (precision-weighted
  fusion of two Gaussians, treating them as independent evidence about ``z``); the posterior
  alone before the first episode has ended;
* intra only (``hop-plus-no-inter``): the posterior;
* inter only (``hop-plus-no-intra``): the inter prior, or ``N(0, I)`` (the state VAE's prior,
  which the posterior is pulled towards) before the first episode has ended;
* neither: ``N(0, I)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agents.hop.features import FeatureBuilder
from agents.hop.goals import executed_actions
from agents.hop_plus.networks import SubgoalModel
from hop_envs.core import GridRules, GridState

__all__ = ["InferenceConfig", "SubgoalInference", "fuse"]

#: Smallest variance a summary or fused Gaussian may have (keeps the precisions finite).
MIN_VARIANCE = 1e-4


@dataclass(frozen=True)
class InferenceConfig:
    """Which parts of opponent modelling are on, and the inter prior's EMA weight."""

    intra: bool = True
    inter: bool = True
    alpha: float = 0.99

    def __post_init__(self) -> None:
        for name in ("intra", "inter"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"InferenceConfig.{name} must be a bool, got {getattr(self, name)!r}"
                )
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, int | float) or not 0.0 <= a < 1.0:
            raise ValueError(f"InferenceConfig.alpha must be in [0, 1), got {a!r}")


def fuse(
    mu_a: np.ndarray, var_a: np.ndarray, mu_b: np.ndarray, var_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The normalised product of two diagonal Gaussians: mean and variance."""
    precision = 1.0 / np.maximum(var_a, MIN_VARIANCE) + 1.0 / np.maximum(var_b, MIN_VARIANCE)
    var = 1.0 / precision
    mu = var * (mu_a / np.maximum(var_a, MIN_VARIANCE) + mu_b / np.maximum(var_b, MIN_VARIANCE))
    return mu, var


class SubgoalInference:
    """Per-co-player posteriors and inter-episode priors over ``z`` for the focal player at
    ``focal_seat`` (module docstring). Lifecycle: :meth:`reset` per trial, then per episode
    :meth:`start_episode`, :meth:`observe` for every joint step, :meth:`end_episode`."""

    def __init__(
        self,
        model: SubgoalModel,
        rules: GridRules,
        focal_seat: int,
        config: InferenceConfig | None = None,
    ) -> None:
        if not isinstance(model, SubgoalModel):
            raise TypeError(
                f"SubgoalInference: model must be a SubgoalModel, got {type(model).__name__}"
            )
        model.spec.check_rules(rules)
        self.model = model
        self.rules = rules
        self.focal_seat = int(focal_seat)
        self.config = config or InferenceConfig()
        self.features = FeatureBuilder(rules)
        n, d = rules.num_players, model.config.goal_dim
        self.goal_dim = d
        self._m1 = np.zeros((n, d))
        self._m2 = np.zeros((n, d))
        self._episodes = np.zeros(n, dtype=np.int64)
        self.start_episode()

    # -- lifecycle -------------------------------------------------------------------------
    def reset(self) -> None:
        """A new trial: forget every co-player (the inter priors too)."""
        self._m1[:] = 0.0
        self._m2[:] = 0.0
        self._episodes[:] = 0
        self.start_episode()

    def start_episode(self, state: GridState | None = None) -> None:
        """Fresh GRU states and previous actions (the start token) for every seat."""
        n = self.rules.num_players
        self._hidden = torch.zeros(1, n, self.model.config.hidden)
        self._prev = np.full(n, self.model.start_action, dtype=np.int64)
        self._sum1 = np.zeros((n, self.goal_dim))
        self._sum2 = np.zeros((n, self.goal_dim))
        self._steps = np.zeros(n, dtype=np.int64)

    def observe(self, before: GridState, actions: dict[int, int]) -> None:
        """Step the GRU of every co-player that acted in ``before`` (``actions``: seat ->
        action as chosen; the executed action is what the model sees next)."""
        seats = [
            j
            for j in sorted(actions)
            if j != self.focal_seat and 0 <= j < before.num_players and bool(before.active[j])
        ]
        if not seats:
            return
        executed = executed_actions(self.rules, before, actions)
        mu, logvar, hidden = self._step(before, seats)
        index = torch.as_tensor(seats)
        self._hidden[:, index] = hidden
        var = np.exp(logvar)
        self._sum1[seats] += mu
        self._sum2[seats] += var + mu**2
        self._steps[seats] += 1
        self._prev[seats] = [executed[j] for j in seats]

    def end_episode(self) -> None:
        """Fold this episode's posterior moments into each co-player's inter prior."""
        a = self.config.alpha
        seen = np.flatnonzero(self._steps > 0)
        for j in seen.tolist():
            k = float(self._steps[j])
            self._m1[j] = a * self._m1[j] + (1 - a) * self._sum1[j] / k
            self._m2[j] = a * self._m2[j] + (1 - a) * self._sum2[j] / k
            self._episodes[j] += 1
        self.start_episode()

    # -- queries ---------------------------------------------------------------------------
    def coplayer_seats(self, state: GridState) -> list[int]:
        return [
            j
            for j in range(self.rules.num_players)
            if j != self.focal_seat and bool(state.active[j])
        ]

    def posterior(self, state: GridState, seats: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """``q(z | tau_0..t, s_t)`` of ``seats`` in ``state``: means and variances
        ``(len(seats), goal_dim)`` (the GRU state is not advanced)."""
        if not seats:
            return np.zeros((0, self.goal_dim)), np.zeros((0, self.goal_dim))
        mu, logvar, _ = self._step(state, seats)
        return mu, np.exp(logvar)

    def inter_prior(self, seat: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The inter-episode prior of ``seat`` (mean, variance), None before any episode."""
        k = int(self._episodes[seat])
        if k == 0:
            return None
        correction = 1.0 - self.config.alpha**k
        mean = self._m1[seat] / correction
        var = np.maximum(self._m2[seat] / correction - mean**2, MIN_VARIANCE)
        return mean, var

    def distributions(self, state: GridState) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Seat -> (mean, standard deviation) of the ``z`` planning draws for every co-player
        still in ``state`` (module docstring, "What planning samples from")."""
        seats = self.coplayer_seats(state)
        cfg = self.config
        if cfg.intra:
            mu, var = self.posterior(state, seats)
        else:
            mu = np.zeros((len(seats), self.goal_dim))
            var = np.ones((len(seats), self.goal_dim))
        out = {}
        for i, j in enumerate(seats):
            m, v = mu[i], var[i]
            prior = self.inter_prior(j) if cfg.inter else None
            if prior is not None:
                m, v = fuse(m, v, *prior) if cfg.intra else prior
            out[j] = (m, np.sqrt(v))
        return out

    def _step(
        self, state: GridState, seats: list[int]
    ) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
        grids = self.features.grids([state] * len(seats), seats)
        index = torch.as_tensor(seats)
        with torch.inference_mode():
            mu, logvar, hidden = self.model.posterior_step(
                torch.from_numpy(grids),
                torch.from_numpy(self._prev[seats]),
                self._hidden[:, index].contiguous(),
            )
        return mu.numpy().astype(np.float64), logvar.numpy().astype(np.float64), hidden
