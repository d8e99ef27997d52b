"""``hop-plus``: HOP's multi-tree search with learned subgoals (DESIGN §8), and its variants.

Parts: the focal policy/value net (HOP's :class:`~agents.hop.networks.FocalNet`: the search's
priors), the subgoal model (recurrent posterior ``q(z | tau, s)``, subgoal decoder and
``pi(a | s, z)``, :class:`~agents.hop_plus.networks.SubgoalModel`), the state VAE that is its
KL prior (:class:`~agents.hop_plus.networks.StateVAE`), intra- and inter-OM over ``z``
(:mod:`agents.hop_plus.inference`), one buffer of the agent's own episodes that trains the
subgoal model between episodes (every co-player seat; cleared after every round, and
optionally every ``clear_every`` episodes), and HOP's planner, searching with the subgoals
as goals (:mod:`agents.hop_plus.latent_goals`, :class:`~agents.hop_plus.decision.HopPlusDecider`).

Per trial (``reset``) every network goes back to its starting weights and the inter priors
and the buffer are emptied, so nothing learnt about one trial's co-players leaks into the
next. The search settings, leaf values (rollouts in which the co-players act from
``pi(a | s, z)``), acting policy and threads are ``hop``'s
(:class:`~agents.hop.planning_agent.PlanningAgent`); ``om_epochs`` and ``om_learning_rate``
are the subgoal model's online rounds.

Weights (``weights``, :meth:`HopPlusAgent.save` / :meth:`HopPlusAgent.load`): a folder with
``focal/``, ``subgoal_model/`` and ``prior_vae/``, each safetensors + JSON (nothing is
unpickled). ``"default"`` is the shipped checkpoint of the env (``agents/hop_plus/
checkpoints/<env>/``, made by ``hop-bench train --agent hop-plus``); ``None`` gives untrained
networks with ``goal_dim`` (default 16) sized subgoals.

Variants: ``hop-plus-no-inter`` (no inter-episode prior: every episode plans from the
posterior alone) and ``hop-plus-no-intra`` (no within-episode posterior: ``z`` drawn from the
inter-episode prior only, ``N(0, I)`` in a trial's first episode).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import numpy as np

from agents.base import Observation, SeatInfo, Transition
from agents.hop.coplayer_cache import CachedCoplayerPolicy
from agents.hop.goals import EpisodeRecorder, RecordedEpisode
from agents.hop.networks import FOCAL, FocalNet, NetworkConfig
from agents.hop.networks import build_network as build_hop_network
from agents.hop.networks import load_network as load_hop_network
from agents.hop.networks import save_network as save_hop_network
from agents.hop.planner import MultiTreePlanner
from agents.hop.planning_agent import DEFAULT_WEIGHTS, PlanningAgent
from agents.hop_plus.buffer import SubgoalBuffer
from agents.hop_plus.checkpoint import (
    FOCAL_DIR,
    PRIOR_DIR,
    SUBGOAL_DIR,
    resolve_weights,
)
from agents.hop_plus.decision import HopPlusDecider, subgoals_per_decision
from agents.hop_plus.inference import InferenceConfig, SubgoalInference
from agents.hop_plus.latent_goals import LatentGoalTable, latent_rules
from agents.hop_plus.networks import (
    STATE_VAE,
    SUBGOAL_MODEL,
    GridSpec,
    StateVAE,
    SubgoalConfig,
    SubgoalModel,
    build_network,
    load_network,
    save_network,
)
from agents.hop_plus.policy import LatentCoplayerPolicy
from agents.hop_plus.training import SubgoalTrainer, SubgoalTrainingConfig
from agents.prediction import CoplayerPrediction
from hop_envs.core import GridRules

__all__ = ["HopPlusAgent", "HopPlusNoInterAgent", "HopPlusNoIntraAgent", "Networks"]

#: (focal net, subgoal model, prior VAE)
Networks = tuple[FocalNet, SubgoalModel, StateVAE]


class HopPlusAgent(PlanningAgent):
    """HOP+ with untrained (seeded) or loaded weights; every argument has a default."""

    def __init__(
        self,
        weights: str | Path | None = DEFAULT_WEIGHTS,
        goal_dim: int = 16,
        inter_alpha: float = 0.99,
        intra: bool = True,
        inter: bool = True,
        train_subgoal_model: bool = True,
        clear_every: int | None = None,
        resample_on_reach: bool = False,
        **options: Any,
    ) -> None:
        """``goal_dim``: the size of ``z`` of untrained networks (``weights=None``; a loaded
        checkpoint has its own). ``inter_alpha``: the inter prior's EMA weight.
        ``train_subgoal_model``: learn from the trial's own episodes. ``resample_on_reach``:
        a tree's co-player draws a new ``z`` when it reaches its decoded subgoal's cell
        (:mod:`agents.hop_plus.decision`). ``options``: the
        search, leaf-value and training-round keywords of
        :class:`~agents.hop.planning_agent.PlanningAgent`."""
        super().__init__(weights=weights, **self._options(options))
        name = type(self).__name__
        if isinstance(goal_dim, bool) or not isinstance(goal_dim, int) or goal_dim < 1:
            raise ValueError(f"{name}: goal_dim must be an integer >= 1, got {goal_dim!r}")
        self.goal_dim = goal_dim
        self.inference_config = InferenceConfig(intra=intra, inter=inter, alpha=inter_alpha)
        self.train_subgoal_model = bool(train_subgoal_model)
        if clear_every is not None and (
            isinstance(clear_every, bool) or not isinstance(clear_every, int) or clear_every < 1
        ):
            raise ValueError(
                f"{name}: clear_every must be None or an int >= 1, got {clear_every!r}"
            )
        self.clear_every = clear_every
        if not isinstance(resample_on_reach, bool):
            raise ValueError(f"{name}: resample_on_reach must be a bool, got {resample_on_reach!r}")
        self.resample_on_reach = resample_on_reach
        self._loaded: Networks | None = None
        self.decider: HopPlusDecider | None = None
        self.last_episode: RecordedEpisode | None = None
        if isinstance(self.weights, Path):
            self._loaded = load_networks(_folder(self.weights))

    @classmethod
    def from_networks(cls, networks: Networks, **options: Any) -> HopPlusAgent:
        """An agent whose starting weights are copies of ``networks`` (focal net, subgoal
        model, prior VAE), e.g. the networks of a training run."""
        agent = cls(weights=None, **options)
        agent._loaded = tuple(networks)  # type: ignore[assignment]
        return agent

    @classmethod
    def fingerprint_paths(cls, env_id: str, kwargs: dict[str, Any]) -> list[Path]:
        try:
            path = resolve_weights(kwargs.get("weights", DEFAULT_WEIGHTS), env_id)
        except (FileNotFoundError, ValueError):
            return []
        return [] if path is None else [path]

    # -- Agent protocol --------------------------------------------------------------------
    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        rules, seat = self._start_trial(seed, seat)
        if self.weights == DEFAULT_WEIGHTS:
            self._loaded = _shipped_networks(seat.env_id)
            try:
                _check_fit(self._loaded, rules)
            except ValueError as err:
                raise ValueError(
                    f"{type(self).__name__}: weights='default' is the shipped checkpoint of "
                    f"{seat.env_id}, trained with the env's default arguments, and it does not "
                    f"fit this env ({err}); pass weights=None for untrained networks or the "
                    "folder of a checkpoint trained for these arguments"
                ) from None
        self._build(rules, seat.seat)

    def _build(self, rules: GridRules, seat: int) -> None:
        self.focal_net, self.subgoal_model, self.prior_vae = self._fresh_networks(rules)
        n = rules.num_players
        capacity = rules.height * rules.width
        self.table = LatentGoalTable(self.subgoal_model.config.goal_dim, capacity)
        search_rules = latent_rules(rules, self.table)
        self.policy = LatentCoplayerPolicy(self.subgoal_model, search_rules, self.table)
        trees = self.planner_config.num_trees
        needed = subgoals_per_decision(trees, n - 1, self.resample_on_reach)
        if needed > capacity:
            raise ValueError(
                f"{type(self).__name__}: {trees} trees x {n - 1} co-players need {needed} "
                f"subgoals per decision, more than the {capacity} the search's cache can key; "
                "use fewer trees"
            )
        self.search_policy = CachedCoplayerPolicy(self.policy, search_rules, self.om_cache)
        self.evaluator = self._leaf_evaluator(search_rules, self.focal_net, self.search_policy)
        self.planner = MultiTreePlanner(search_rules, self.planner_config)
        self.inference = SubgoalInference(self.subgoal_model, rules, seat, self.inference_config)
        self.recorder = EpisodeRecorder(rules, seat)
        self.buffer = SubgoalBuffer(rules, clear_every=self.clear_every)
        self.trainer = SubgoalTrainer(
            self.subgoal_model,
            self.prior_vae,
            rules,
            SubgoalTrainingConfig(
                epochs=self.om_training.epochs,
                learning_rate=self.om_training.learning_rate,
                seed=int(self.rng.integers(2**31)),
            ),
            value=focal_value_fn(self.focal_net, rules),
        )
        self.om_rounds = []
        self._episodes = 0
        self._in_episode = False
        self._first_capture_t = -1
        self.decider = HopPlusDecider(
            rules,
            seat,
            planner=self.planner,
            search_policy=self.search_policy,
            evaluator=self.evaluator,
            inference=self.inference,
            recorder=self.recorder,
            table=self.table,
            resample_on_reach=self.resample_on_reach,
        )

    def act(self, observation: Observation) -> int:
        if self.decider is None:
            raise RuntimeError(
                f"{type(self).__name__}: call reset(seed=..., seat=...) before act()"
            )
        if not self._in_episode:
            self.decider.begin(observation)
            self._in_episode = True
        return self._choose(self.decider.search(observation, self.rng))

    def observe(self, transition: Transition) -> None:
        if not self._in_episode or self.decider is None:
            return
        self.decider.observe(transition)

    def predict_coplayers(self, observation: Observation) -> dict[int, CoplayerPrediction]:
        """Every co-player still in the game (:mod:`agents.prediction`): ``pi(a | s, z)`` at
        the mean of the distribution planning draws ``z`` from (no goal belief: HOP+'s
        goals are latent). Draws nothing, changes nothing. Call after :meth:`act`."""
        if self.decider is None or not self._in_episode:
            raise RuntimeError(
                f"{type(self).__name__}.predict_coplayers: call act(observation) first"
            )
        state = self.decider.state_from(observation)
        dists = self.inference.distributions(state)
        seats = sorted(dists)
        if not seats:
            return {}
        z = np.stack([dists[j][0] for j in seats])
        probs = self.policy.probs_for([state] * len(seats), seats, z)
        return {j: CoplayerPrediction(p) for j, p in zip(seats, probs, strict=True)}

    def end_episode(self) -> None:
        if not self._in_episode or self.decider is None:
            return
        self._in_episode = False
        self.last_episode = self.decider.finish()
        self._train_after(self.last_episode, self.train_subgoal_model)

    # -- weights ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the current networks to ``path/focal``, ``subgoal_model``, ``prior_vae``."""
        if self.rules is None:
            raise RuntimeError(f"{type(self).__name__}.save: call reset(...) first")
        return save_networks((self.focal_net, self.subgoal_model, self.prior_vae), path)

    def load(self, path: str | Path) -> None:
        """Use the networks saved at ``path`` as the starting weights of every trial."""
        self.weights = Path(path)
        self._loaded = load_networks(_folder(self.weights))
        if self.rules is not None and self.seat is not None:
            self._build(self.rules, self.seat.seat)

    def _fresh_networks(self, rules: GridRules) -> Networks:
        if self._loaded is not None:
            focal, model, prior = (copy.deepcopy(net) for net in self._loaded)
            _check_fit((focal, model, prior), rules)
        else:
            spec = GridSpec.of_rules(rules)
            config = SubgoalConfig(goal_dim=self.goal_dim)
            focal = build_hop_network(
                NetworkConfig.for_rules(rules, FOCAL), int(self.rng.integers(2**31))
            )
            model = build_network(SUBGOAL_MODEL, spec, config, int(self.rng.integers(2**31)))
            prior = build_network(STATE_VAE, spec, config, int(self.rng.integers(2**31)))
        for net in (focal, model, prior):
            net.eval()
        return focal, model, prior  # type: ignore[return-value]


class HopPlusNoInterAgent(HopPlusAgent):
    """``hop-plus`` without inter-OM: every episode plans from the posterior alone."""

    def __init__(self, weights: str | Path | None = DEFAULT_WEIGHTS, **options: Any) -> None:
        options.pop("inter", None)
        super().__init__(weights, inter=False, **options)


class HopPlusNoIntraAgent(HopPlusAgent):
    """``hop-plus`` without intra-OM: ``z`` from the inter-episode prior only."""

    def __init__(self, weights: str | Path | None = DEFAULT_WEIGHTS, **options: Any) -> None:
        options.pop("intra", None)
        super().__init__(weights, intra=False, **options)


def _check_fit(networks: Networks, rules: GridRules) -> None:
    """``ValueError`` unless every network fits ``rules``."""
    focal, model, prior = networks
    focal.config.check_rules(rules)
    model.spec.check_rules(rules)
    prior.spec.check_rules(rules)


def focal_value_fn(focal_net: FocalNet, rules: GridRules):
    """Own-view grids ``(K, C, H, W)`` -> the focal net's values (time 0, every action
    legal): the value estimate of the ``"optimistic"``/``"conservative"`` subgoal
    selectors."""
    import torch

    from agents.hop.features import Features

    def value(grids: np.ndarray) -> np.ndarray:
        k = grids.shape[0]
        features = Features(
            grids=np.asarray(grids, dtype=np.float32),
            times=np.zeros(k, dtype=np.float32),
            masks=np.ones((k, rules.num_actions), dtype=bool),
        )
        with torch.inference_mode():
            _, values = focal_net.run(features)
        return values.numpy().astype(np.float64)

    return value


def save_networks(networks: Networks, path: str | Path) -> Path:
    """Write (focal net, subgoal model, prior VAE) to ``path`` (safetensors + JSON)."""
    focal, model, prior = networks
    root = Path(path)
    save_hop_network(focal, root / FOCAL_DIR)
    save_network(model, root / SUBGOAL_DIR)
    save_network(prior, root / PRIOR_DIR)
    return root


def load_networks(path: Path) -> Networks:
    """The three networks of a HOP+ weights folder (``ValueError`` when they do not match)."""
    focal = load_hop_network(path / FOCAL_DIR, expected_kind=FOCAL)
    model = load_network(path / SUBGOAL_DIR, expected_kind=SUBGOAL_MODEL)
    prior = load_network(path / PRIOR_DIR, expected_kind=STATE_VAE)
    if prior.spec != model.spec or prior.config.goal_dim != model.config.goal_dim:
        raise ValueError(
            f"HOP+ weights {path}: the prior VAE (goal_dim {prior.config.goal_dim}) does not "
            f"match the subgoal model (goal_dim {model.config.goal_dim})"
        )
    return focal, model, prior  # type: ignore[return-value]


def _folder(path: Path) -> Path:
    resolved = resolve_weights(path, "")
    assert resolved is not None
    return resolved


@functools.cache
def _shipped_networks(env_id: str) -> Networks:
    path = resolve_weights(DEFAULT_WEIGHTS, env_id)
    assert path is not None
    return load_networks(path)
