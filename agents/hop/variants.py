"""HOP's variants (DESIGN §7): ``hop-no-inter``, ``hop-no-intra`` and ``direct-om``.

* :class:`HopNoInterAgent` is HOP without inter-OM: no cross-episode prior, every episode's
  goal beliefs start uniform over the available goals (the within-episode Bayes update stays).
* :class:`HopNoIntraAgent` is HOP without intra-OM: no within-episode Bayes update, goals are
  drawn from the inter-OM prior only (which still learns across episodes).

  Both are :class:`~agents.hop.agent.HopAgent` with one flag fixed; every other argument is
  forwarded, so they load the same shipped checkpoints (``weights="default"``).

* :class:`DirectOMAgent` plans with a goal-free action model pi(a | s, t) for the co-players:
  no goals and no beliefs, every co-player query of the planner carries ``goal=None``. The
  action model is trained like HOP's opponent model, from the agent's own current episodes
  (every co-player step is a sample, no hindsight labels needed), in rounds after every
  ``om_train_every`` episodes, the buffer cleared after each round. Its starting weights
  (``action_model_init``):

  - ``"auto"`` (default): the ``action_model/`` network of the weights folder when it has
    one, else pre-trained at first use on offline rule-based episodes
    (:mod:`agents.hop.action_model_training`, fixed ``pretrain_seed``, ``pretrain_episodes``
    episodes x ``pretrain_epochs`` epochs; a few seconds, once per process);
  - ``"checkpoint"``: the folder's ``action_model/``, an error when it has none;
  - ``"pretrain"``: always pre-trained as above;
  - ``"untrained"``: freshly initialised from the trial seed (only when asked for).

  The focal policy/value net comes from ``weights`` as in ``hop``: ``"default"`` is the
  shipped checkpoint of the env (``agents/hop/checkpoints/<env>/focal``), a path is a folder
  holding ``focal/`` (and maybe ``action_model/``), ``None`` is an untrained focal net.
  Per trial (``reset``) both networks go back to their starting weights.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

from agents.base import Observation, SeatInfo, Transition
from agents.hop.action_model_training import (
    DEFAULT_PRETRAIN_EPISODES,
    DEFAULT_PRETRAIN_EPOCHS,
    PretrainConfig,
    cached_pretrained_action_model,
)
from agents.hop.agent import ACTING_DEFAULTS, FOCAL_DIR, HopAgent
from agents.hop.learned import LearnedCoplayerPolicy
from agents.hop.networks import (
    ACTION_MODEL,
    FOCAL,
    ActionModel,
    FocalNet,
    NetworkConfig,
    build_network,
    load_network,
    save_network,
)
from agents.hop.planner import MultiTreePlanner
from agents.hop.planning_agent import DEFAULT_WEIGHTS, PlanningAgent, model_predictions
from agents.prediction import CoplayerPrediction
from hop_envs.core import GridRules

__all__ = [
    "ACTION_MODEL_DIR",
    "ACTION_MODEL_INITS",
    "DirectOMAgent",
    "HopNoInterAgent",
    "HopNoIntraAgent",
]

#: Sub-folder of a checkpoint holding the goal-free action model (as ``hop-bench train``
#: writes it, see ``agents.hop.training.checkpoint.NETWORK_DIRS``).
ACTION_MODEL_DIR = "action_model"
#: Where direct-OM's action model starts from (module docstring).
ACTION_MODEL_INITS = ("auto", "checkpoint", "pretrain", "untrained")


def _forward_without(flag: str, cls: str, kwargs: dict[str, Any]) -> None:
    if flag in kwargs:
        raise ValueError(
            f"{cls}: {flag!r} is fixed to False by this variant, got {flag}={kwargs[flag]!r}; "
            "use the 'hop' agent to choose it"
        )


class HopNoInterAgent(HopAgent):
    """HOP without inter-OM: every episode's beliefs start uniform (no cross-episode prior)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _forward_without("inter", type(self).__name__, kwargs)
        super().__init__(*args, inter=False, **kwargs)


class HopNoIntraAgent(HopAgent):
    """HOP without intra-OM: no Bayes update within an episode; goals come from the inter-OM
    prior only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _forward_without("intra", type(self).__name__, kwargs)
        super().__init__(*args, intra=False, **kwargs)


class DirectOMAgent(PlanningAgent):
    """direct-OM: HOP's planner with a goal-free co-player action model (module docstring)."""

    acting_defaults = ACTING_DEFAULTS

    def __init__(
        self,
        weights: str | Path | None = DEFAULT_WEIGHTS,
        action_model_init: str = "auto",
        pretrain_episodes: int = DEFAULT_PRETRAIN_EPISODES,
        pretrain_epochs: int = DEFAULT_PRETRAIN_EPOCHS,
        pretrain_seed: int = 0,
        train_action_model: bool = True,
        **options: Any,
    ) -> None:
        """``options``: the search, leaf-value and training-round keywords of
        :class:`~agents.hop.planning_agent.PlanningAgent`, over ``hop``'s
        :data:`~agents.hop.agent.ACTING_DEFAULTS` (the same search as ``hop``)."""
        name = type(self).__name__
        if action_model_init not in ACTION_MODEL_INITS:
            raise ValueError(
                f"{name}: action_model_init must be one of {list(ACTION_MODEL_INITS)}, "
                f"got {action_model_init!r}"
            )
        super().__init__(weights=weights, **self._options(options))
        self.pretrain_config = PretrainConfig(
            episodes=pretrain_episodes, epochs=pretrain_epochs, seed=pretrain_seed
        )
        if not isinstance(train_action_model, bool):
            raise ValueError(
                f"{name}: train_action_model must be a bool, got {train_action_model!r}"
            )
        if action_model_init == "checkpoint" and self.weights is None:
            raise ValueError(
                f"{name}: action_model_init='checkpoint' needs a weights folder, got weights=None"
            )
        self.action_model_init = action_model_init
        self.train_action_model = train_action_model
        self._loaded: tuple[FocalNet, ActionModel | None] | None = None
        if isinstance(self.weights, Path):
            self._loaded = _load_folder(self.weights)
            self._check_checkpoint_has_model(self.weights)
        #: Where the current trial's action model came from ("checkpoint", "pretrain",
        #: "untrained").
        self.action_model_source: str | None = None

    # -- Agent protocol --------------------------------------------------------------------
    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        rules, seat = self._start_trial(seed, seat)
        if self.weights == DEFAULT_WEIGHTS:
            self._loaded = _shipped_folder(seat.env_id)
            self._check_checkpoint_has_model(f"the shipped checkpoint of {seat.env_id}")
            self._check_shipped_fit(seat.env_id, self._loaded)
        self._build(rules, seat)

    def _build(self, rules: GridRules, seat: SeatInfo) -> None:
        """Starting weights, co-player policy, evaluator, planner, recorder, buffer, trainer."""
        self.focal_net = self._fresh_focal(rules)
        self.action_model = self._fresh_action_model(rules, seat)
        self.policy = LearnedCoplayerPolicy(self.action_model, rules)
        self.search_policy = self._search_policy(rules, self.policy)
        self.evaluator = self._leaf_evaluator(rules, self.focal_net, self.search_policy)
        self.planner = MultiTreePlanner(rules, self.planner_config)
        self._start_learning(rules, seat.seat, self.action_model)

    def act(self, observation: Observation) -> int:
        state = self._state_from(observation)
        if not self._in_episode:
            self.recorder.begin(observation)
            self._in_episode = True
        # No goals and no goal sampler: the planner asks the co-player policy with goal=None.
        self.search_policy.clear()
        result = self.planner.plan(
            state, self.seat.seat, self.search_policy, self.evaluator, self.rng
        )
        return self._choose(result)

    def observe(self, transition: Transition) -> None:
        if not self._in_episode or self.recorder.state is None:
            return
        self._note_capture(transition)
        self.recorder.record(transition)

    def predict_coplayers(self, observation: Observation) -> dict[int, CoplayerPrediction]:
        """Every co-player still in the game (:mod:`agents.prediction`): the goal-free
        action model's distribution, no goal belief. Draws nothing, changes nothing."""
        if self.seat is None or self.rules is None:
            raise RuntimeError(
                f"{type(self).__name__}.predict_coplayers: call reset(...) and act(...) first"
            )
        state = self._state_from(observation)
        return model_predictions(self.policy, state, self.seat.seat)

    def end_episode(self) -> None:
        if not self._in_episode:
            return
        self._in_episode = False
        self._train_after(self.recorder.finish(), self.train_action_model)

    # -- weights ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the current networks to ``path/focal`` and ``path/action_model``."""
        if self.rules is None:
            raise RuntimeError(f"{type(self).__name__}.save: call reset(...) first")
        root = Path(path)
        save_network(self.focal_net, root / FOCAL_DIR)
        save_network(self.action_model, root / ACTION_MODEL_DIR)
        return root

    def load(self, path: str | Path) -> None:
        """Use the networks saved at ``path`` as the starting weights of every trial; after
        ``reset`` this also restarts the current trial's learning state."""
        self.weights = Path(path)
        self._loaded = _load_folder(self.weights)
        self._check_checkpoint_has_model(self.weights)
        if self.rules is not None and self.seat is not None:
            self._build(self.rules, self.seat)

    # -- helpers ---------------------------------------------------------------------------
    def _check_checkpoint_has_model(self, where: object) -> None:
        if self.action_model_init == "checkpoint" and (
            self._loaded is None or self._loaded[1] is None
        ):
            raise FileNotFoundError(
                f"{type(self).__name__}: action_model_init='checkpoint' but {where} has no "
                f"{ACTION_MODEL_DIR}/ network; use action_model_init='auto' or 'pretrain'"
            )

    def _fresh_focal(self, rules: GridRules) -> FocalNet:
        if self._loaded is not None:
            focal = copy.deepcopy(self._loaded[0])
            focal.config.check_rules(rules)
        else:
            config = NetworkConfig.for_rules(rules, FOCAL)
            focal = build_network(config, int(self.rng.integers(2**31)))  # type: ignore[assignment]
        focal.eval()
        return focal

    def _fresh_action_model(self, rules: GridRules, seat: SeatInfo) -> ActionModel:
        init = self.action_model_init
        stored = None if self._loaded is None else self._loaded[1]
        if init in ("auto", "checkpoint") and stored is not None:
            model = copy.deepcopy(stored)
            model.config.check_rules(rules)
            self.action_model_source = "checkpoint"
        elif init == "untrained":
            config = NetworkConfig.for_rules(rules, ACTION_MODEL)
            model = build_network(config, int(self.rng.integers(2**31)))  # type: ignore[assignment]
            self.action_model_source = "untrained"
        else:  # "pretrain", or "auto" without a stored action model
            model = cached_pretrained_action_model(
                seat.env_id, seat.env_kwargs, self.pretrain_config
            )
            self.action_model_source = "pretrain"
        model.eval()
        return model


@functools.cache
def _shipped_folder(env_id: str) -> tuple[FocalNet, ActionModel | None]:
    """The shipped checkpoint's focal net and action model (loaded once per process)."""
    from agents.hop.training.checkpoint import resolve_checkpoint

    path = resolve_checkpoint(DEFAULT_WEIGHTS, env_id)
    assert path is not None
    return _load_folder(path)


def _load_folder(path: Path) -> tuple[FocalNet, ActionModel | None]:
    """``path/focal`` and, when the folder has one, ``path/action_model``."""
    focal = load_network(path / FOCAL_DIR, expected_kind=FOCAL)
    model = None
    if (path / ACTION_MODEL_DIR).is_dir():
        model = load_network(path / ACTION_MODEL_DIR, expected_kind=ACTION_MODEL)
    return focal, model  # type: ignore[return-value]
