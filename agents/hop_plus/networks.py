"""HOP+'s networks: the subgoal model (a CVAE over co-player histories, after OMG) and the
state VAE that gives its prior.

:class:`SubgoalModel` holds, for one game:

* a **history encoder**: each step's own-view grid ``s_k`` embedded by a small conv trunk,
  joined with the one-hot of the co-player's **previous** action ``a_{k-1}`` (a start token at
  ``k = 0``), through a GRU. Its output at ``t`` has seen ``s_0..s_t`` and ``a_0..a_{t-1}``,
  never ``a_t``, so the policy below cannot read the action it predicts from ``z``;
* the **posterior** ``q(z | tau_0..t, s_t)``: a diagonal Gaussian from the GRU output and the
  embedding of ``s_t``, sampled by reparameterisation;
* the **decoder** ``p(g | z)``: logits of every binary plane of the subgoal's own-view grid
  (Bernoulli, trained with binary cross-entropy);
* the **subgoal-conditioned policy** ``pi(a | s, z)``: its own conv trunk over ``s_t``, with
  ``z`` and the time ``t / max_cycles``, to masked logits (illegal actions ``-inf``, as
  :func:`agents.hop.networks.masked_logits`). With :attr:`SubgoalConfig.policy_condition`
  ``"target_map"`` the trunk also sees ``z`` in space: one more input channel, the softmax
  over cells of the decoded subgoal's own-position plane (where ``z`` puts the co-player),
  as HOP's goal-conditioned opponent model sees its goal as planes.

:class:`StateVAE` is a plain VAE over own-view grids (its own encoder and decoder),
pre-trained on offline rule-based states; its encoder ``p(z | s)`` is the KL target of the
posterior (:attr:`SubgoalConfig.prior_input` says which state it encodes).

Weights are saved with ``safetensors`` beside a JSON config, the pattern of
:mod:`agents.hop.networks` (no pickle anywhere): :func:`save_network`, :func:`load_network`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from agents.hop.networks import (
    CONFIG_FILE,
    config_from_json,
    config_to_json,
    conv_stack,
    masked_logits,
    read_network_meta,
    restore_weights,
    write_network_files,
)
from agents.hop_plus.subgoals import DEFAULT_HORIZON, REFERENCE, check_horizon, check_selector
from hop_envs.core import GridRules

__all__ = [
    "GOAL_DIMS_TESTED",
    "POLICY_CONDITIONS",
    "PRIOR_INPUTS",
    "STATE_VAE",
    "SUBGOAL_MODEL",
    "GridDecoder",
    "GridEncoder",
    "GridSpec",
    "StateVAE",
    "SubgoalConfig",
    "SubgoalModel",
    "build_network",
    "decoded_cells",
    "load_network",
    "save_network",
]

SUBGOAL_MODEL, STATE_VAE = "subgoal_model", "state_vae"
FORMAT_VERSION = 1
#: The subgoal sizes the issue asks to work end to end (any integer >= 1 is accepted).
GOAL_DIMS_TESTED = (64, 16, 4, 2)
#: What the prior VAE encodes as the KL target: the hindsight subgoal or the current state.
PRIOR_INPUTS = ("subgoal", "state")
#: How the policy sees ``z``: after its trunk only, or also as a map of the decoded target.
POLICY_CONDITIONS = ("latent", "target_map")
#: Log-variances are clamped to this range (keeps exp() finite early in training).
LOGVAR_RANGE = (-10.0, 10.0)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def _non_negative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class GridSpec:
    """The game's shapes a network is built for: own-view channels, grid size, actions and
    ``max_cycles`` (the time input is ``t / max_cycles``)."""

    in_channels: int
    height: int
    width: int
    num_actions: int
    max_cycles: int

    def __post_init__(self) -> None:
        for name in ("in_channels", "height", "width", "num_actions", "max_cycles"):
            _positive_int(getattr(self, name), f"GridSpec.{name}")

    @classmethod
    def of_rules(cls, rules: GridRules) -> GridSpec:
        return cls(
            in_channels=int(rules.num_channels),
            height=int(rules.height),
            width=int(rules.width),
            num_actions=int(rules.num_actions),
            max_cycles=int(rules.config.max_cycles),
        )

    def check_rules(self, rules: GridRules) -> None:
        """``ValueError`` unless a network of this spec fits ``rules``."""
        expected = GridSpec.of_rules(rules)
        if expected != self:
            raise ValueError(
                f"network built for {self} does not fit {type(rules).__name__}, which needs "
                f"{expected}"
            )


@dataclass(frozen=True)
class SubgoalConfig:
    """Sizes and loss weights of the subgoal model (saved as JSON beside its weights).

    Defaults: ``goal_dim`` 16 (the size of ``z``; 64, 16, 4 and 2 are tested), ``hidden`` 64
    (trunk output, GRU state and policy layer), ``conv_channels`` (16, 16) (3x3 convolutions),
    ``horizon`` 5 and ``selector`` ``"reference"`` (:mod:`agents.hop_plus.subgoals`),
    ``prior_input`` ``"subgoal"`` (the KL target is the state VAE's ``p(z | g)`` of the
    hindsight subgoal, which anchors ``z`` in the VAE's latent space of states, as OMG does;
    ``"state"``: ``p(z | s_t)`` of the current state). Loss weights all 1: ``recon_weight``
    x the Bernoulli negative log-likelihood of the subgoal grid (summed over its planes and
    cells) + ``kl_weight`` x KL(q || prior) (summed over ``z``), i.e. the plain negative ELBO,
    + ``policy_weight`` x the policy's action NLL; each averaged over valid steps.
    ``prior_kl_weight`` (1: a plain VAE) weighs the state VAE's KL to N(0, I) in its
    pre-training. ``policy_condition`` (module docstring): ``"latent"`` (``z`` joins after the
    policy's trunk) or ``"target_map"`` (also a map channel of the trunk); configs saved
    before it existed load as ``"latent"``."""

    goal_dim: int = 16
    hidden: int = 64
    conv_channels: tuple[int, ...] = (16, 16)
    horizon: int = DEFAULT_HORIZON
    selector: str = REFERENCE
    prior_input: str = "subgoal"
    kl_weight: float = 1.0
    recon_weight: float = 1.0
    policy_weight: float = 1.0
    prior_kl_weight: float = 1.0
    policy_condition: str = "latent"

    def __post_init__(self) -> None:
        _positive_int(self.goal_dim, "SubgoalConfig.goal_dim")
        _positive_int(self.hidden, "SubgoalConfig.hidden")
        try:
            channels = tuple(self.conv_channels)
        except TypeError:
            channels = ()
        if not channels or any(
            isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels
        ):
            raise ValueError(
                "SubgoalConfig.conv_channels must be a non-empty sequence of integers >= 1, "
                f"got {self.conv_channels!r}"
            )
        object.__setattr__(self, "conv_channels", channels)
        check_horizon(self.horizon, "SubgoalConfig")
        check_selector(self.selector, "SubgoalConfig")
        if self.prior_input not in PRIOR_INPUTS:
            raise ValueError(
                f"SubgoalConfig.prior_input must be one of {list(PRIOR_INPUTS)}, "
                f"got {self.prior_input!r}"
            )
        if self.policy_condition not in POLICY_CONDITIONS:
            raise ValueError(
                f"SubgoalConfig.policy_condition must be one of {list(POLICY_CONDITIONS)}, "
                f"got {self.policy_condition!r}"
            )
        for name in ("kl_weight", "recon_weight", "policy_weight", "prior_kl_weight"):
            object.__setattr__(
                self, name, _non_negative(getattr(self, name), f"SubgoalConfig.{name}")
            )
        if self.kl_weight + self.recon_weight + self.policy_weight == 0:
            raise ValueError(
                "SubgoalConfig: kl_weight, recon_weight and policy_weight are all 0; "
                "at least one loss term must count"
            )

    def to_json(self) -> dict[str, Any]:
        return config_to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubgoalConfig:
        return config_from_json(cls, data)


class GridEncoder(nn.Module):
    """Conv stack (3x3, same padding, ReLU) -> flatten -> hidden layer (ReLU), over the
    own-view planes plus ``extra_channels``."""

    def __init__(self, spec: GridSpec, config: SubgoalConfig, extra_channels: int = 0) -> None:
        super().__init__()
        channels = spec.in_channels + extra_channels
        self.convs, previous = conv_stack(channels, config.conv_channels)
        self.hidden = nn.Linear(previous * spec.height * spec.width, config.hidden)

    def forward(self, grids: torch.Tensor) -> torch.Tensor:
        """``(..., C, H, W)`` -> ``(..., hidden)``."""
        lead = grids.shape[:-3]
        x = self.convs(grids.reshape(-1, *grids.shape[-3:])).flatten(1)
        return torch.relu(self.hidden(x)).reshape(*lead, -1)


class GridDecoder(nn.Module):
    """``z`` -> hidden (ReLU) -> logits of every plane cell, shaped ``(..., C, H, W)``."""

    def __init__(self, spec: GridSpec, config: SubgoalConfig) -> None:
        super().__init__()
        self.shape = (spec.in_channels, spec.height, spec.width)
        self.net = nn.Sequential(
            nn.Linear(config.goal_dim, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, spec.in_channels * spec.height * spec.width),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).reshape(*z.shape[:-1], *self.shape)


def decoded_cells(logits: np.ndarray | torch.Tensor) -> np.ndarray:
    """``(...)`` int: the most likely own-position cell of decoded subgoal grids (plane-0
    logits or probabilities ``(..., C, H, W)``)."""
    arr = logits.detach().numpy() if isinstance(logits, torch.Tensor) else np.asarray(logits)
    return arr[..., 0, :, :].reshape(*arr.shape[:-3], -1).argmax(-1).astype(np.int64)


def _gaussian(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mu, logvar = params.chunk(2, dim=-1)
    return mu, logvar.clamp(*LOGVAR_RANGE)


def reparameterise(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)`` drawn from ``generator``."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


class _SubgoalNetwork(nn.Module):
    kind: ClassVar[str]

    def __init__(self, spec: GridSpec, config: SubgoalConfig) -> None:
        super().__init__()
        if not isinstance(spec, GridSpec) or not isinstance(config, SubgoalConfig):
            raise TypeError(
                f"{type(self).__name__}(spec, config) needs a GridSpec and a SubgoalConfig, "
                f"got {type(spec).__name__} and {type(config).__name__}"
            )
        self.spec = spec
        self.config = config

    def save(self, directory: str | Path) -> Path:
        return save_network(self, directory)


class StateVAE(_SubgoalNetwork):
    """A VAE over own-view grids: ``p(z | s)`` (:meth:`encode`) and ``p(s | z)``
    (:meth:`decode`, plane logits); the prior of the subgoal model."""

    kind = STATE_VAE

    def __init__(self, spec: GridSpec, config: SubgoalConfig) -> None:
        super().__init__(spec, config)
        self.encoder = GridEncoder(spec, config)
        self.head = nn.Linear(config.hidden, 2 * config.goal_dim)
        self.decoder = GridDecoder(spec, config)

    def encode(self, grids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(..., C, H, W)`` float -> mean and log-variance ``(..., goal_dim)``."""
        return _gaussian(self.head(self.encoder(grids)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(
        self, grids: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction logits, mean and log-variance of ``grids``."""
        mu, logvar = self.encode(grids)
        return self.decode(reparameterise(mu, logvar, generator)), mu, logvar


class SubgoalModel(_SubgoalNetwork):
    """History encoder, posterior, subgoal decoder and subgoal-conditioned policy (module
    docstring). Grids are float tensors of the own-view planes."""

    kind = SUBGOAL_MODEL

    def __init__(self, spec: GridSpec, config: SubgoalConfig) -> None:
        super().__init__(spec, config)
        h, d, a = config.hidden, config.goal_dim, spec.num_actions
        self.embed = GridEncoder(spec, config)
        self.gru = nn.GRU(h + a + 1, h, batch_first=True)
        self.posterior_head = nn.Linear(2 * h, 2 * d)
        self.decoder = GridDecoder(spec, config)
        self.target_map = config.policy_condition == "target_map"
        self.policy_trunk = GridEncoder(spec, config, extra_channels=int(self.target_map))
        self.policy_head = nn.Sequential(nn.Linear(h + d + 1, h), nn.ReLU(), nn.Linear(h, a))

    @property
    def start_action(self) -> int:
        """The previous-action token of a history's first step."""
        return self.spec.num_actions

    def previous_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """``(N, T)`` actions -> ``(N, T)`` previous actions (the start token first)."""
        start = torch.full_like(actions[:, :1], self.start_action)
        return torch.cat([start, actions[:, :-1]], dim=1)

    def _inputs(self, grids: torch.Tensor, prev_actions: torch.Tensor):
        e = self.embed(grids)
        onehot = nn.functional.one_hot(prev_actions, self.spec.num_actions + 1).to(e.dtype)
        return e, torch.cat([e, onehot], dim=-1)

    def posterior(
        self,
        grids: torch.Tensor,
        prev_actions: torch.Tensor,
        state: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``q(z | tau_0..t, s_t)`` for every step of ``grids`` ``(N, T, C, H, W)`` with
        ``prev_actions`` ``(N, T)``: mean and log-variance ``(N, T, goal_dim)`` and the GRU
        state after the last step (``(1, N, hidden)``; pass it back as ``state`` to go on)."""
        e, x = self._inputs(grids, prev_actions)
        out, last = self.gru(x, state)
        mu, logvar = _gaussian(self.posterior_head(torch.cat([out, e], dim=-1)))
        return mu, logvar, last

    def posterior_step(
        self, grid: torch.Tensor, prev_action: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step of :meth:`posterior` for ``N`` co-players at once (``grid``
        ``(N, C, H, W)``, ``prev_action`` ``(N,)``): ``(N, goal_dim)`` mean and log-variance
        and the new GRU state. Online inference (intra-OM) steps through this."""
        mu, logvar, last = self.posterior(grid.unsqueeze(1), prev_action.unsqueeze(1), state)
        return mu[:, 0], logvar[:, 0], last

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``p(g | z)``: subgoal-grid plane logits ``(..., C, H, W)``."""
        return self.decoder(z)

    def subgoal_cells(self, z: torch.Tensor) -> np.ndarray:
        """``(N,)`` int: the flat grid cell each ``z`` ``(N, goal_dim)`` puts its co-player
        on (:func:`decoded_cells` of its decoded subgoal)."""
        with torch.no_grad():
            return decoded_cells(self.decode(z))

    def target_maps(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)``: per ``z`` ``(B, goal_dim)``, the softmax over cells of its decoded
        subgoal's own-position plane (where ``z`` puts the co-player)."""
        plane = self.decode(z)[:, 0]
        return torch.softmax(plane.flatten(1), dim=-1).reshape(plane.shape).unsqueeze(1)

    def policy(
        self, grids: torch.Tensor, times: torch.Tensor, masks: torch.Tensor, z: torch.Tensor
    ) -> torch.Tensor:
        """``pi(a | s, z)``: masked logits ``(B, A)`` from ``grids`` ``(B, C, H, W)``,
        ``times`` ``(B,)`` (``t / max_cycles``), ``masks`` ``(B, A)`` bool and ``z``; with
        ``policy_condition="target_map"`` the trunk also reads :meth:`target_maps`."""
        if self.target_map:
            grids = torch.cat([grids, self.target_maps(z)], dim=1)
        h = self.policy_trunk(grids)
        logits = self.policy_head(torch.cat([h, z, times.unsqueeze(-1)], dim=-1))
        return masked_logits(logits, masks)


NETWORK_CLASSES: dict[str, type[_SubgoalNetwork]] = {
    SUBGOAL_MODEL: SubgoalModel,
    STATE_VAE: StateVAE,
}


def build_network(kind: str, spec: GridSpec, config: SubgoalConfig, seed: int) -> Any:
    """A fresh ``kind`` network (:data:`SUBGOAL_MODEL` or :data:`STATE_VAE`); the same seed
    gives the same weights (the global torch RNG is left untouched)."""
    if kind not in NETWORK_CLASSES:
        raise ValueError(
            f"build_network: kind must be one of {list(NETWORK_CLASSES)}, got {kind!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"build_network: seed must be an integer, got {seed!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NETWORK_CLASSES[kind](spec, config)


def save_network(network: _SubgoalNetwork, directory: str | Path) -> Path:
    """Save as ``directory/config.json`` (kind, spec, config) + ``weights.safetensors``."""
    if not isinstance(network, _SubgoalNetwork):
        raise TypeError(f"save_network: expected a HOP+ network, got {type(network).__name__}")
    meta = {"kind": network.kind, "spec": asdict(network.spec), "config": network.config.to_json()}
    return write_network_files(network, directory, network.kind, meta, FORMAT_VERSION)


def load_network(directory: str | Path, expected_kind: str | None = None) -> Any:
    """Load a network saved by :func:`save_network` (safetensors + JSON: nothing is
    unpickled, no code runs). Returned in eval mode."""
    meta, weights_path = read_network_meta(directory, FORMAT_VERSION)
    config_path = Path(directory) / CONFIG_FILE
    kind = meta.get("kind")
    if kind not in NETWORK_CLASSES:
        raise ValueError(
            f"load_network: {config_path} names kind {kind!r}; expected one of "
            f"{list(NETWORK_CLASSES)}"
        )
    if expected_kind is not None and kind != expected_kind:
        raise ValueError(
            f"load_network: {directory} holds a {kind!r} network, expected {expected_kind!r}"
        )
    network = NETWORK_CLASSES[kind](
        GridSpec(**meta["spec"]), SubgoalConfig.from_json(meta["config"])
    )
    return restore_weights(network, weights_path)
