"""The configuration of one HOP training run, saved as JSON beside every checkpoint.

Everything that decides the numbers of a run lives in :class:`TrainConfig` (the env, the
seed, the population, the search and learning settings); how it is run (the number of
worker processes, progress bars) does not, because results must not depend on it. Every
field is validated on construction with an error naming the field, the value and what is
allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import hop_envs
from hop_envs.registration import full_env_id

#: The population entry that stands for the learner's own current network (self-play).
SELF = "self"
#: Policy targets of the focal network: the search's root visit counts (default) or its acting
#: policy (the Boltzmann policy over root Q values, nearly uniform when Q values are close).
POLICY_TARGETS = ("visits", "search")
CONFIG_FORMAT = 1

#: Default training populations per env (rule-based co-players and self-play), see
#: ``docs/training.md`` for why.
DEFAULT_POPULATIONS: dict[str, tuple[str, ...]] = {
    "hop/MarkovStagHunt-v0": ("nearest-stag", "nearest-hare", "random", SELF),
    "hop/MarkovSnowdrift-v0": ("cleaner", "free-rider", "random", SELF),
}


def _where(name: str) -> str:
    return f"TrainConfig.{name}"


def check_int(name: str, value: Any, low: int) -> None:
    """``ValueError`` unless ``value`` is an int ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{_where(name)} must be an integer >= {low}, got {value!r}")


def check_real(
    name: str, value: Any, low: float, high: float = math.inf, *, strict_low: bool = False
) -> None:
    """``ValueError`` unless ``value`` is a finite number in ``[low, high]`` (``(low, high]``
    with ``strict_low``)."""
    ok_type = not isinstance(value, bool) and isinstance(value, int | float)
    ok = ok_type and math.isfinite(value) and value <= high
    ok = ok and (value > low if strict_low else value >= low)
    if not ok:
        left = "(" if strict_low else "["
        right = "]" if math.isfinite(high) else ")"
        raise ValueError(
            f"{_where(name)} must be a number in {left}{low}, {high}{right}, got {value!r}"
        )


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a HOP training run (``hop-bench train``); see ``docs/training.md``.

    Phase 1 (pre-training) plays ``pretrain_episodes`` episodes of rule-based co-players
    only and fits the opponent model (``pretrain_om_epochs`` epochs) and the focal network
    (``pretrain_focal_epochs``) on them. Phase 2 runs ``iterations`` iterations; each plays
    ``trials_per_iteration`` trials of ``episodes_per_trial`` episodes in which one seat is
    the learner (multi-tree search with the current networks and goal beliefs) and the others
    are drawn per trial from ``population`` (``"self"``: the current focal network's policy),
    then trains the focal network on the search policies and discounted returns and the
    opponent models on the hindsight-labelled co-player steps of those episodes.
    """

    env_id: str = "hop/MarkovStagHunt-v0"
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    iterations: int = 40
    trials_per_iteration: int = 8
    episodes_per_trial: int = 2
    population: tuple[str, ...] = ()
    # search (HOP's planner; smaller than the evaluation default for speed)
    num_trees: int = 5
    num_simulations: int = 16
    c_puct: float = 1.0
    discount: float = 0.95
    beta: float = 2.0
    dirichlet_fraction: float = 0.25
    dirichlet_alpha: float = 0.3
    belief_alpha: float = 0.99
    policy_target: str = "visits"
    # networks
    conv_channels: tuple[int, ...] = (16, 16)
    hidden: int = 128
    # focal network learning
    focal_learning_rate: float = 1e-3
    focal_batch_size: int = 128
    focal_epochs: int = 4
    value_coef: float = 1.0
    max_grad_norm: float = 5.0
    # opponent models (goal-conditioned OM and the goal-free action model of direct-OM)
    om_learning_rate: float = 1e-3
    om_batch_size: int = 128
    om_epochs: int = 2
    train_action_model: bool = True
    # phase 1: offline rule-based episodes
    pretrain_episodes: int = 400
    pretrain_om_epochs: int = 8
    pretrain_focal_epochs: int = 4
    #: Held-out rule-based episodes on which the opponent model is scored after every
    #: iteration (``om_eval_*`` in the log); 0 turns the score off.
    holdout_episodes: int = 200
    # housekeeping
    checkpoint_every: int = 5
    torch_threads: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str):
            raise ValueError(f"{_where('env_id')} must be an env id string, got {self.env_id!r}")
        object.__setattr__(self, "env_id", full_env_id(self.env_id))
        if not isinstance(self.env_kwargs, Mapping):
            raise ValueError(
                f"{_where('env_kwargs')} must be a mapping of env arguments, got "
                f"{self.env_kwargs!r}"
            )
        env_kwargs = dict(self.env_kwargs)
        if "render_mode" in env_kwargs:
            raise ValueError(f"{_where('env_kwargs')} may not set 'render_mode'")
        hop_envs.make(self.env_id, **env_kwargs)  # validates the env arguments
        object.__setattr__(self, "env_kwargs", env_kwargs)
        check_int("seed", self.seed, 0)
        for name in (
            "trials_per_iteration",
            "episodes_per_trial",
            "num_trees",
            "num_simulations",
            "hidden",
            "focal_batch_size",
            "focal_epochs",
            "om_batch_size",
            "om_epochs",
            "checkpoint_every",
            "torch_threads",
        ):
            check_int(name, getattr(self, name), 1)
        check_int("iterations", self.iterations, 0)
        for name in (
            "pretrain_episodes",
            "pretrain_om_epochs",
            "pretrain_focal_epochs",
            "holdout_episodes",
        ):
            check_int(name, getattr(self, name), 0)
        check_real("c_puct", self.c_puct, 0.0)
        check_real("discount", self.discount, 0.0, 1.0)
        check_real("beta", self.beta, 0.0)
        check_real("dirichlet_fraction", self.dirichlet_fraction, 0.0, 1.0)
        check_real("dirichlet_alpha", self.dirichlet_alpha, 0.0, strict_low=True)
        check_real("belief_alpha", self.belief_alpha, 0.0, 1.0)
        for name in ("focal_learning_rate", "om_learning_rate", "max_grad_norm"):
            check_real(name, getattr(self, name), 0.0, strict_low=True)
        check_real("value_coef", self.value_coef, 0.0)
        if self.policy_target not in POLICY_TARGETS:
            raise ValueError(
                f"{_where('policy_target')} must be one of {list(POLICY_TARGETS)}, "
                f"got {self.policy_target!r}"
            )
        if not isinstance(self.train_action_model, bool):
            raise ValueError(
                f"{_where('train_action_model')} must be a bool, got {self.train_action_model!r}"
            )
        channels = self.conv_channels
        if (
            isinstance(channels, str)
            or not isinstance(channels, Sequence)
            or not channels
            or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels)
        ):
            raise ValueError(
                f"{_where('conv_channels')} must be a non-empty sequence of integers >= 1, "
                f"got {channels!r}"
            )
        object.__setattr__(self, "conv_channels", tuple(channels))
        object.__setattr__(self, "population", self._checked_population())

    def _checked_population(self) -> tuple[str, ...]:
        from hop_envs.coplayers import HELD_OUT, coplayer_names, coplayer_population

        population = self.population
        if isinstance(population, str) or not isinstance(population, Sequence):
            raise ValueError(
                f"{_where('population')} must be a sequence of co-player names, got {population!r}"
            )
        if not population:
            population = DEFAULT_POPULATIONS.get(self.env_id, (SELF,))
        known = coplayer_names(self.env_id)
        for name in population:
            if coplayer_population(str(name)) == HELD_OUT:
                raise ValueError(
                    f"{_where('population')}: {name!r} is a held-out co-player (evaluation "
                    "only, never trained or tuned on); train on the training population: "
                    f"{coplayer_names(self.env_id, population='training')}"
                )
            if name != SELF and name not in known and ":" not in str(name):
                raise ValueError(
                    f"{_where('population')}: unknown co-player {name!r} for {self.env_id}; "
                    f"known co-players are {known}, plus {SELF!r} (self-play) or a "
                    "'module:Class' path"
                )
        return tuple(str(n) for n in population)

    @property
    def rule_based_population(self) -> tuple[str, ...]:
        """The population without self-play (the players of the pre-training phase)."""
        rest = tuple(n for n in self.population if n != SELF)
        if not rest:
            from hop_envs.coplayers import coplayer_names

            rest = tuple(coplayer_names(self.env_id, population="training"))
        return rest

    # -- JSON ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["env_kwargs"] = dict(self.env_kwargs)
        data["population"] = list(self.population)
        data["conv_channels"] = list(self.conv_channels)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(
                f"TrainConfig: unknown fields {unknown} in the saved configuration; "
                f"known fields are {sorted(names)}"
            )
        values = dict(data)
        for key in ("population", "conv_channels"):
            if key in values and isinstance(values[key], list):
                values[key] = tuple(values[key])
        return cls(**values)
