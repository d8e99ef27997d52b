"""What ``hop`` and its variants share: a planning agent on learned co-player models.

Validated options, the leaf evaluator (:mod:`agents.hop.leaf_values`), the env's rules at
each trial, the check that shipped weights fit the env, the episode bookkeeping (rebuilding
the state from the agent's own observation, the time of the first capture), acting on a
search result, and the co-player model's training rounds (the buffer of the agent's own
episodes, trained every ``om_train_every`` episodes and cleared). Subclasses build their
networks, planner and models in ``_build``.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

import hop_envs
from agents.base import BaseAgent, Observation, SeatInfo, Transition
from agents.hop.buffer import OpponentBuffer
from agents.hop.coplayer_cache import CACHE_MODES, CachedCoplayerPolicy
from agents.hop.goals import EpisodeRecorder
from agents.hop.interfaces import CoplayerPolicy, LeafEvaluator, PolicyQuery
from agents.hop.leaf_values import LeafValueConfig, build_leaf_evaluator
from agents.hop.learned import LearnedCoplayerPolicy
from agents.hop.networks import FocalNet
from agents.hop.om_training import OMTrainingConfig, OpponentModelTrainer
from agents.hop.planner import PlannerConfig, SearchResult
from agents.prediction import CoplayerPrediction
from hop_envs.core import GridRules, GridState

#: ``weights`` value naming the shipped checkpoint of the env being played.
DEFAULT_WEIGHTS = "default"


class PlanningAgent(BaseAgent):
    """Base of the agents that plan with the multi-tree search on learned models."""

    #: Options this agent acts with over the keyword defaults of :meth:`__init__` (explicit
    #: keywords override them); subclasses pass their options through :meth:`_options`.
    acting_defaults: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init__(
        self,
        *,
        weights: str | Path | None,
        num_trees: int = 5,
        num_simulations: int = 50,
        c_puct: float = 1.0,
        discount: float = 0.99,
        beta: float = 100.0,
        max_depth: int | None = None,
        leaves_per_round: int = 25,
        lcb_stderrs: float = 2.0,
        rollout_weight: float = 1.0,
        rollout_depth: int = 25,
        rollout_policy: str = "best-kind",
        num_rollouts: int = 1,
        om_train_every: int = 1,
        om_epochs: int = 5,
        om_learning_rate: float = 1e-3,
        om_cache: str = "own-cell",
        torch_threads: int | None = 1,
    ) -> None:
        """The options every planning agent shares (the subclasses take them as keywords):
        the search (:class:`~agents.hop.planner.PlannerConfig`), the leaf values
        (:class:`~agents.hop.leaf_values.LeafValueConfig`), the co-player model's training
        rounds, how the search caches co-player distributions within a decision
        (:mod:`agents.hop.coplayer_cache`) and the torch thread count. These defaults are
        the search ``hop-plus`` acts with; a subclass's :attr:`acting_defaults` go over them
        (``hop``, its ablations and ``direct-om``: :data:`~agents.hop.agent.ACTING_DEFAULTS`)."""
        super().__init__()
        name = type(self).__name__
        if isinstance(om_train_every, bool) or not isinstance(om_train_every, int):
            raise ValueError(f"{name}: om_train_every must be an int >= 1, got {om_train_every!r}")
        if om_train_every < 1:
            raise ValueError(f"{name}: om_train_every must be >= 1, got {om_train_every}")
        if torch_threads is not None and (
            isinstance(torch_threads, bool)
            or not isinstance(torch_threads, int)
            or torch_threads < 1
        ):
            raise ValueError(f"{name}: torch_threads must be None or >= 1, got {torch_threads!r}")
        if weights is not None and not isinstance(weights, str | Path):
            raise ValueError(
                f"{name}: weights must be 'default', None or a folder path, got {weights!r}"
            )
        self.weights: str | Path | None = (
            weights if weights in (None, DEFAULT_WEIGHTS) else Path(weights)
        )
        self.planner_config = PlannerConfig(
            num_trees=num_trees,
            num_simulations=num_simulations,
            c_puct=c_puct,
            discount=discount,
            beta=beta,
            max_depth=max_depth,
            leaves_per_round=leaves_per_round,
            lcb_stderrs=lcb_stderrs,
        )
        self.leaf_values = LeafValueConfig(
            rollout_weight=rollout_weight,
            rollout_depth=rollout_depth,
            rollout_policy=rollout_policy,
            num_rollouts=num_rollouts,
        )
        if om_cache not in CACHE_MODES:
            raise ValueError(
                f"{name}: om_cache must be one of {list(CACHE_MODES)}, got {om_cache!r}"
            )
        self.om_cache = om_cache
        self.om_training = OMTrainingConfig(epochs=om_epochs, learning_rate=om_learning_rate)
        self.om_train_every = om_train_every
        self.torch_threads = torch_threads
        self.rules: GridRules | None = None
        self.last_search: SearchResult | None = None
        self.om_rounds: list[Any] = []

    @classmethod
    def fingerprint_paths(cls, env_id: str, kwargs: Mapping[str, Any]) -> list[Path]:
        """The checkpoint folder these arguments load (the shipped one for ``"default"``), so
        that an evaluation's stored key changes with the weights' bytes."""
        from agents.hop.training.checkpoint import resolve_checkpoint

        weights = kwargs.get("weights", DEFAULT_WEIGHTS)
        try:
            path = resolve_checkpoint(weights, env_id)
        except (FileNotFoundError, ValueError):
            return []  # the agent itself reports the missing checkpoint when it is made
        return [] if path is None else [path]

    def _options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """A subclass's ``**options`` for :meth:`__init__`: checked (:meth:`_check_options`),
        over :attr:`acting_defaults`."""
        self._check_options(options)
        return {**self.acting_defaults, **options}

    def _check_options(self, options: Mapping[str, Any]) -> None:
        """Raise ``TypeError`` naming this agent, each unknown keyword, its close matches and
        every option the agent takes (its own and the shared planning ones)."""
        shared = _keywords(PlanningAgent) - {"weights"}
        own = set().union(*(_keywords(c) for c in type(self).__mro__ if "__init__" in vars(c)))
        known = sorted(shared | own)
        unknown = [name for name in options if name not in shared]
        if unknown:
            hints = [
                f"{name!r} (did you mean {', '.join(map(repr, close))}?)"
                if (close := difflib.get_close_matches(name, known, n=2))
                else repr(name)
                for name in unknown
            ]
            raise TypeError(
                f"{type(self).__name__}: unknown option {', '.join(hints)}; "
                f"its options are {', '.join(known)}"
            )

    # -- trial -----------------------------------------------------------------------------
    def _start_trial(self, seed: int | None, seat: SeatInfo | None) -> tuple[GridRules, SeatInfo]:
        """Seed, thread count and the env's rules for a new trial."""
        super().reset(seed, seat)
        if seat is None:
            raise ValueError(
                f"{type(self).__name__}.reset needs seat=SeatInfo(...) to know its env and seat"
            )
        if self.torch_threads is not None:
            torch.set_num_threads(self.torch_threads)
        self.rules = hop_envs.make(seat.env_id, **dict(seat.env_kwargs)).unwrapped.rules
        return self.rules, seat

    def _check_shipped_fit(self, env_id: str, nets: Iterable[nn.Module | None]) -> None:
        """Raise if the shipped checkpoint's networks do not fit this trial's env."""
        try:
            for net in nets:
                if net is not None:
                    net.config.check_rules(self.rules)
        except ValueError as err:
            raise ValueError(
                f"{type(self).__name__}: weights='default' is the shipped checkpoint of "
                f"{env_id}, trained with the env's default arguments, and it does not fit this "
                f"env ({err}); pass weights=None for untrained networks or the folder of a "
                "checkpoint trained for these arguments ('hop-bench train')"
            ) from None

    def _search_policy(
        self, rules: GridRules, policy: LearnedCoplayerPolicy
    ) -> CachedCoplayerPolicy:
        """The co-player policy the search asks (trees and rollouts): ``policy`` behind the
        per-decision cache ``om_cache``; beliefs keep asking ``policy`` itself."""
        return CachedCoplayerPolicy(policy, rules, self.om_cache)

    def _leaf_evaluator(
        self, rules: GridRules, focal_net: FocalNet, policy: CoplayerPolicy
    ) -> LeafEvaluator:
        """The search's leaf evaluator: focal-net priors, values as ``leaf_values`` says."""
        return build_leaf_evaluator(
            self.leaf_values,
            rules,
            focal_net,
            policy,
            discount=self.planner_config.discount,
            seed=int(self.rng.integers(2**31)),
        )

    def _start_learning(self, rules: GridRules, seat: int, model: nn.Module) -> None:
        """Fresh episode recorder, buffer and trainer of ``model`` for a new trial."""
        self.recorder = EpisodeRecorder(rules, seat)
        self.buffer = OpponentBuffer(rules)
        self.trainer = OpponentModelTrainer(
            model,
            rules,
            OMTrainingConfig(
                epochs=self.om_training.epochs,
                learning_rate=self.om_training.learning_rate,
                seed=int(self.rng.integers(2**31)),
            ),
        )
        self.om_rounds = []
        self._episodes = 0
        self._in_episode = False
        self._first_capture_t = -1

    # -- episode ---------------------------------------------------------------------------
    def start_episode(self) -> None:
        self._in_episode = False  # the episode is begun by the first observation in act()
        self._first_capture_t = -1

    def _state_from(self, observation: Observation) -> GridState:
        """The state rebuilt from this agent's own observation."""
        if self.rules is None or self.seat is None:
            raise RuntimeError(
                f"{type(self).__name__}: call reset(seed=..., seat=...) before act()"
            )
        return self.rules.state_from_observation(
            np.asarray(observation["observation"]),
            self.seat.seat,
            int(observation["step"]),
            self._first_capture_t,
        )

    def _choose(self, result: SearchResult) -> int:
        """Sample the action from the search's policy and keep the search for inspection."""
        self.last_search = result
        return int(self.rng.choice(len(result.policy), p=result.policy))

    def _note_capture(self, transition: Transition) -> None:
        """Remember the step of the episode's first capture (the env's end rule needs it)."""
        if self._first_capture_t < 0 and any_goal_achieved(self.rules, transition):
            self._first_capture_t = int(next(iter(transition.observations.values()))["step"])

    def _train_after(self, episode: Any, enabled: bool) -> None:
        """Count the episode; if learning, buffer it and train every ``om_train_every``."""
        self._episodes += 1
        if not enabled:
            return
        self.buffer.add_episode(episode)
        if self._episodes % self.om_train_every == 0:
            self.om_rounds.append(self.trainer.train_round(self.buffer))


def any_goal_achieved(rules: GridRules, transition: Transition) -> bool:
    """Whether any player achieved a goal (captured prey, removed a drift) in the joint
    step, read through the game's goal interface from the players' infos."""
    return any(rules.goals.info_goal(info) is not None for info in transition.infos.values())


def model_predictions(
    policy: CoplayerPolicy,
    state: GridState,
    seat: int,
    goal_weights: Mapping[int, Mapping[Any, float]] | None = None,
) -> dict[int, CoplayerPrediction]:
    """Predictions (:mod:`agents.prediction`) of every other player still in ``state`` from
    ``policy``: goal-free (``goal_weights`` None: one query with goal None per co-player), or
    goal-conditioned, mixed by ``goal_weights[j]`` (goal -> weight), which is also the goal
    belief given. One batched query; ``policy`` must be a pure model (no RNG, no state)."""
    seats = [j for j in range(state.active.shape[0]) if j != seat and bool(state.active[j])]
    queries: list[PolicyQuery] = []
    owners: list[tuple[int, float]] = []
    beliefs: dict[int, dict[int, float]] = {}
    for j in seats:
        if goal_weights is None:
            queries.append(PolicyQuery(state, j, None))
            owners.append((j, 1.0))
            continue
        weights = {int(g): float(w) for g, w in goal_weights[j].items()}
        total = sum(weights.values())
        if total <= 0.0:
            raise ValueError(f"model_predictions: the goal weights of seat {j} sum to {total}")
        beliefs[j] = {g: w / total for g, w in weights.items()}
        for g, w in beliefs[j].items():
            if w > 0.0:
                queries.append(PolicyQuery(state, j, g))
                owners.append((j, w))
    if not queries:
        return {}
    probs = np.asarray(policy.action_probs(queries), dtype=np.float64)
    mixed = {j: np.zeros(probs.shape[1]) for j in seats}
    for row, (j, w) in zip(probs, owners, strict=True):
        mixed[j] += w * row
    return {j: CoplayerPrediction(mixed[j] / mixed[j].sum(), beliefs.get(j)) for j in seats}


def _keywords(cls: type) -> set[str]:
    """The named keyword parameters of ``cls.__init__`` (no ``self``, ``*args``, ``**kw``)."""
    if "__init__" not in vars(cls) or cls is object:
        return set()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = inspect.signature(vars(cls)["__init__"]).parameters.values()
    return {p.name for p in params if p.kind in named and p.name != "self"}
