"""``hop``: the composed HOP agent (DESIGN §7) behind the Agent protocol.

Parts: the focal policy/value net (priors and leaf values of the search), the
goal-conditioned opponent model pi(a | s, t, g) (co-player moves inside the search and the
likelihood of the intra-OM belief update), the intra- and inter-OM goal beliefs, the
opponent-model buffer filled from the agent's own episodes and trained on after them, and the
multi-tree planner.

Per trial (``reset``): the env's rules come from ``SeatInfo``; the networks are restored to
their starting weights (loaded from ``weights``, or freshly initialised from the trial seed),
so nothing learnt about one trial's co-players leaks into the next; beliefs and the buffer
are emptied. Per episode: the state is rebuilt from the agent's own observations
(``rules.state_from_observation``), beliefs start at the inter-OM prior and are updated by
Bayes' rule after every observed step; each decision samples, per tree, each co-player's goal
(snowdrift: an ordering of drifts) from the beliefs and plans (this decision process is
:class:`~agents.hop.decision.HopDecider`, the one training's learner runs too). At the end of
an episode its hindsight-labelled co-player steps go to the buffer and, every
``om_train_every`` episodes, the opponent model is trained on the buffer, which is then
cleared (HOP learns only from its current episodes).

Acting defaults, and where they leave DESIGN §7 (measured, ``docs/training.md``):

* Leaf values come from rollouts of ``rollout_depth`` 25 steps in which the co-players act
  from the opponent model pursuing the goals the tree drew from the beliefs, and the focal
  player heads for the best kind of object (``rollout_weight`` 1.0; 0 is DESIGN's value
  network, anything between mixes the two, see :mod:`agents.hop.leaf_values`). The focal
  net still gives the priors. The value net cannot see what the co-players are after, so it
  values a state by what the training population did; with it the agent did not adapt (it
  scored 0.20 against three hare hunters, where any hare-hunting rule gets 0.94). 25 steps,
  not 15: shorter rollouts cut off the removals cleaners make late in a snowdrift episode,
  so removing a drift oneself looked better than leaving it to them.
* 5 trees x 40 simulations (DESIGN: 200; :data:`ACTING_DEFAULTS`): rollout values are
  informative enough that 40 suffice. Each tree collects up to 20 leaves per round
  (``leaves_per_round``), two rounds a tree (more where selections collide), whose rollouts
  run as one batch on the batched core, and the search asks the opponent model through the
  per-decision ``"own-cell"`` cache (``om_cache``, see :mod:`agents.hop.coplayer_cache`).
  The cache and the batched rounds were chosen on the training-population scenarios against
  the earlier 10 leaves per round with exact answers, and 40 x 20 against the previous
  50 x 25, which returned as much and cost about a tenth more a decision (the cost is per
  rollout step, not per leaf; ``benchmarks/hop_settings_quality.py``,
  ``benchmarks/hop_decision.py``; figures in ``docs/hop.md``). The other planning agents
  keep the shared defaults of :class:`~agents.hop.planning_agent.PlanningAgent` (50 x 25)
  unless they say otherwise.
* The acting policy is ``softmax(beta * L)`` on a lower confidence bound ``L`` of each root
  action's value (``lcb_stderrs`` 2, see :mod:`agents.hop.planner`), so an action tried
  once cannot win on one lucky rollout.
* ``beta`` 100 (DESIGN: 2) and ``discount`` 0.99 (DESIGN: 0.95): root Q gaps are often a few
  hundredths of a reward, which ``beta`` 2 leaves nearly uniform; 0.99 is close to the
  undiscounted return the benchmark scores (the ``oracle-mcts`` reasoning).

``hop-bench train`` keeps DESIGN's search settings for self-play data; these are acting
settings only.

Threads: ``torch_threads`` (default 1) is applied with ``torch.set_num_threads`` at
``reset``. HOP's networks are small and queried with small batches, where extra intra-op
threads only add synchronisation, and evaluation runs several seats and workers side by side
(measured: a second thread made the stag-hunt self-play trial several times slower on a busy
2-core machine). ``None`` leaves torch's setting alone.

Weights: ``weights`` (and :meth:`save`/:meth:`load`) use a directory holding ``focal/`` and
``opponent_model/``, each written by :func:`agents.hop.networks.save_network`
(``safetensors`` + JSON, no pickle). ``weights="default"`` (the default) is the shipped
checkpoint of the env, ``agents/hop/checkpoints/<env>/``, made by ``hop-bench train`` for the
env's default arguments (``docs/training.md``); ``None`` gives untrained networks.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from agents.base import Observation, SeatInfo, Transition
from agents.hop.beliefs import BeliefConfig, GoalBeliefs
from agents.hop.decision import HopDecider
from agents.hop.learned import LearnedCoplayerPolicy
from agents.hop.networks import (
    FOCAL,
    GOAL_OM,
    FocalNet,
    GoalOpponentModel,
    NetworkConfig,
    build_network,
    load_network,
    save_network,
)
from agents.hop.planner import MultiTreePlanner
from agents.hop.planning_agent import DEFAULT_WEIGHTS, PlanningAgent, model_predictions
from agents.prediction import CoplayerPrediction
from hop_envs.core import GridRules

FOCAL_DIR, OM_DIR = "focal", "opponent_model"

__all__ = ["ACTING_DEFAULTS", "DEFAULT_WEIGHTS", "FOCAL_DIR", "OM_DIR", "HopAgent"]

#: Where ``hop``'s acting search leaves the shared planning defaults (module doc): 40
#: simulations a tree in two rounds of 20 leaves. Explicit keywords override them.
ACTING_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {"num_simulations": 40, "leaves_per_round": 20}
)


class HopAgent(PlanningAgent):
    """HOP with untrained (seeded) or loaded weights; every argument has a default."""

    acting_defaults = ACTING_DEFAULTS

    def __init__(
        self,
        weights: str | None = DEFAULT_WEIGHTS,
        belief_alpha: float = 0.99,
        intra: bool = True,
        inter: bool = True,
        train_opponent_model: bool = True,
        **options: Any,
    ) -> None:
        """``options``: the search, leaf-value and training-round keywords of
        :class:`~agents.hop.planning_agent.PlanningAgent` (``num_trees``, ``num_simulations``,
        ``beta``, ``rollout_weight``, ``om_epochs``, ...), over :data:`ACTING_DEFAULTS`."""
        super().__init__(weights=weights, **self._options(options))
        self.belief_config = BeliefConfig(alpha=belief_alpha, intra=intra, inter=inter)
        self.train_opponent_model = bool(train_opponent_model)
        self._loaded: tuple[FocalNet, GoalOpponentModel] | None = None
        self.decider: HopDecider | None = None
        if isinstance(self.weights, Path):
            self._loaded = _load_pair(self.weights)

    # -- Agent protocol --------------------------------------------------------------------
    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        rules, seat = self._start_trial(seed, seat)
        if self.weights == DEFAULT_WEIGHTS:
            self._loaded = _shipped_pair(seat.env_id)
            self._check_shipped_fit(seat.env_id, self._loaded)
        self._build(rules, seat.seat)

    def _build(self, rules: GridRules, seat: int) -> None:
        """Fresh networks (starting weights), models, beliefs, buffer and trainer, and the
        decision process (:class:`~agents.hop.decision.HopDecider`) acting on them."""
        self.focal_net, self.opponent_model = self._fresh_networks(rules)
        self.policy = LearnedCoplayerPolicy(self.opponent_model, rules)
        self.search_policy = self._search_policy(rules, self.policy)
        self.evaluator = self._leaf_evaluator(rules, self.focal_net, self.search_policy)
        self.planner = MultiTreePlanner(rules, self.planner_config)
        self.beliefs = GoalBeliefs(rules, self.policy, seat, self.belief_config)
        self._start_learning(rules, seat, self.opponent_model)
        self.decider = HopDecider(
            rules,
            seat,
            planner=self.planner,
            search_policy=self.search_policy,
            evaluator=self.evaluator,
            beliefs=self.beliefs,
            recorder=self.recorder,
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
        """Every co-player still in the game (:mod:`agents.prediction`): the goal-conditioned
        opponent model mixed by the current goal belief, and that belief. Uses the exact
        model (the beliefs' likelihood, not the search's cache); draws nothing, changes
        nothing. Call after :meth:`act` on the same observation."""
        if self.decider is None or not self._in_episode:
            raise RuntimeError(
                f"{type(self).__name__}.predict_coplayers: call act(observation) first"
            )
        state = self.decider.state_from(observation)
        return model_predictions(self.policy, state, self.decider.seat, self.beliefs.weights())

    def end_episode(self) -> None:
        if not self._in_episode or self.decider is None:
            return
        self._in_episode = False
        self._train_after(self.decider.finish(), self.train_opponent_model)

    # -- weights ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the current networks to ``path/focal`` and ``path/opponent_model``."""
        if self.rules is None:
            raise RuntimeError("HopAgent.save: call reset(...) first, there are no networks yet")
        root = Path(path)
        save_network(self.focal_net, root / FOCAL_DIR)
        save_network(self.opponent_model, root / OM_DIR)
        return root

    def load(self, path: str | Path) -> None:
        """Use the networks saved at ``path`` as the starting weights of every trial; after
        ``reset`` this also restarts the current trial's learning state (beliefs, buffer)."""
        self.weights = Path(path)
        self._loaded = _load_pair(self.weights)
        if self.rules is not None and self.seat is not None:
            self._build(self.rules, self.seat.seat)

    def _fresh_networks(self, rules: GridRules) -> tuple[FocalNet, GoalOpponentModel]:
        if self._loaded is not None:
            focal, om = (copy.deepcopy(net) for net in self._loaded)
            focal.config.check_rules(rules)
            om.config.check_rules(rules)
        else:
            focal = build_network(
                NetworkConfig.for_rules(rules, FOCAL), int(self.rng.integers(2**31))
            )
            om = build_network(
                NetworkConfig.for_rules(rules, GOAL_OM), int(self.rng.integers(2**31))
            )
        focal.eval()
        om.eval()
        return focal, om  # type: ignore[return-value]


@functools.cache
def _shipped_pair(env_id: str) -> tuple[FocalNet, GoalOpponentModel]:
    """The shipped checkpoint's networks (loaded once; trials work on deep copies)."""
    from agents.hop.training.checkpoint import resolve_checkpoint

    path = resolve_checkpoint(DEFAULT_WEIGHTS, env_id)
    assert path is not None
    return _load_pair(path)


def _load_pair(path: Path) -> tuple[FocalNet, GoalOpponentModel]:
    focal = load_network(path / FOCAL_DIR, expected_kind=FOCAL)
    om = load_network(path / OM_DIR, expected_kind=GOAL_OM)
    return focal, om  # type: ignore[return-value]
