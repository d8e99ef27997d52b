"""``oracle-mcts``: a search that plans with copies of the actual co-players (a reference).

The runner gives agents whose class sets ``wants_privileged_info = True`` the live
background co-player objects of the trial (``SeatInfo.coplayers``, by seat). At every
decision the oracle runs an open-loop MCTS over its own actions
(:mod:`agents.hop.simulation_search`) in which each simulation plays the game forward with
deep copies of those objects: they act, the trial's env steps, they observe the joint step,
exactly as in the real game. So the model is exact for every co-player: memory-less or
with memory (within an episode, and across episodes, since the live objects carry the
trial's history), rule-based or plug-in, with or without ``action_distribution``. Their
random draws are fresh in every simulation (sampled, not foreseen; see
:mod:`agents.hop.coplayer_copies`), and the live objects are never called nor changed.

It never substitutes a stand-in for a background co-player: one that ``copy.deepcopy``
cannot copy, or a background seat without a live object, raises ``ValueError`` naming it
(the runner turns that into a failed trial). The other *focal* seats (self-play,
``adapt-3v1``: instances of the oracle itself) are modelled by a documented stand-in:
uniform over the legal actions of that seat.

Co-player predictions (:mod:`agents.prediction`, ``predict_coplayers``): the models it plans
with, where their probabilities are known exactly: ``action_distribution`` of a memory-less
co-player (a pure read of the live object on the observation the env gives it, rebuilt from
the oracle's own: it draws nothing and changes nothing), and the uniform stand-in of another
focal seat. A co-player without ``action_distribution`` (one with memory, a learned one) has
no exact probabilities short of sampling its copies, so it is left out (not scored), not
estimated. No goal beliefs.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

import numpy as np

from agents.base import BaseAgent, Observation, SeatInfo, Transition
from agents.hop.coplayer_copies import CoplayerCopier, UncopyableCoplayerError
from agents.hop.simulation_search import (
    EpisodeEvents,
    GameSimulator,
    SearchConfig,
    SimulationSearch,
    SimulationSearchResult,
)
from agents.prediction import CoplayerPrediction


class OracleMCTSAgent(BaseAgent):
    """Open-loop MCTS with copies of the live co-players (see the module doc).

    Defaults keep a decision in the order of a few hundred milliseconds on one core
    (``benchmarks/oracle_decision.py``): 48 simulations, each valued by ``"best-option"``
    rollouts of 20 steps (greedy per object kind, and waiting); discount 0.99, close to the
    undiscounted return the benchmark scores (with 0.95 it pays to remove a drift now
    rather than wait 22 steps for a cleaner to remove it for free); PUCT constant 1 on
    min-max normalised Q values. The action is the most visited at the root. A decision
    costs what the simulated steps cost: the env's step plus every co-player's ``act`` and
    ``observe``, and one deep copy of the co-players per rollout, so heavy co-players (a
    learned one with its own network and search) make it correspondingly slower.
    """

    wants_privileged_info: ClassVar[bool] = True

    def __init__(
        self,
        num_simulations: int = 48,
        rollout_depth: int = 20,
        rollout_policy: str = "best-option",
        c_puct: float = 1.0,
        discount: float = 0.99,
    ) -> None:
        super().__init__()
        self.config = SearchConfig(
            num_simulations=num_simulations,
            rollout_depth=rollout_depth,
            rollout_policy=rollout_policy,
            c_puct=c_puct,
            discount=discount,
        )
        self.simulator: GameSimulator | None = None
        self.events: EpisodeEvents | None = None
        self.last_search: SimulationSearchResult | None = None

    def reset(self, seed: int | None = None, seat: SeatInfo | None = None) -> None:
        super().reset(seed, seat)
        if seat is None:
            raise ValueError("OracleMCTSAgent.reset needs seat=SeatInfo(...) to know its env")
        self.simulator = GameSimulator(seat.env_id, seat.env_kwargs)
        self.copier = CoplayerCopier(np.random.PCG64(int(self.rng.integers(2**63))))
        self.search = SimulationSearch(self.simulator, self.config, self.rng)
        self.events = EpisodeEvents(self.simulator.rules)
        self.last_search = None

    def start_episode(self) -> None:
        if self.events is not None:  # before reset there is no episode to track
            self.events.start()

    def act(self, observation: Observation) -> int:
        if self.simulator is None or self.seat is None:
            raise RuntimeError("OracleMCTSAgent: call reset(seed=..., seat=...) before act()")
        seat = self.seat
        coplayer_seats, stand_in_seats = self._seats()
        legal = np.flatnonzero(observation["action_mask"])
        if legal.size == 1:
            self.last_search = None
            return int(legal[0])
        names = seat.coplayer_names or {}
        live = [seat.coplayers[j] for j in coplayer_seats]
        labels = [
            f"{names.get(j, type(p).__name__)!r} at seat {j}"
            for j, p in zip(coplayer_seats, live, strict=True)
        ]
        root = self.simulator.root(observation, seat.seat, self.events)
        # Co-players that draw from Python's or numpy's global generators: fresh draws in
        # the simulations (as from their own), and both restored afterwards, so the real
        # game is untouched.
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            random.seed(int(self.rng.integers(2**63)))
            np.random.seed(int(self.rng.integers(2**32)))
            self.copier.prepare(live, labels)
            result = self.search.run(root, seat.seat, self.copier, coplayer_seats, stand_in_seats)
        except UncopyableCoplayerError as err:
            raise ValueError(
                f"oracle-mcts cannot plan with the co-player {err}; it plans with copies of "
                "the actual co-players and substitutes no stand-in for one"
            ) from err
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
        self.last_search = result
        return result.action

    def observe(self, transition: Transition) -> None:
        if self.events is not None:
            self.events.observe(transition)

    def predict_coplayers(self, observation: Observation) -> dict[int, CoplayerPrediction]:
        """The exact models of the co-players still in the game (module docstring); those
        without ``action_distribution`` are left out."""
        if self.simulator is None or self.seat is None or self.events is None:
            raise RuntimeError(
                "OracleMCTSAgent: call reset(seed=..., seat=...) before predict_coplayers()"
            )
        seat, sim = self.seat, self.simulator
        background, stand_ins = self._seats()
        state = sim.rules.state_from_observation(
            observation["observation"],
            seat.seat,
            int(observation["step"]),
            self.events.first_capture_t,
        )
        ids, live = sim.agent_ids, set(sim.agents(state))
        exact = {j: getattr(seat.coplayers[j], "action_distribution", None) for j in background}
        seats = [j for j in sorted(background + stand_ins) if ids[j] in live]
        seats = [j for j in seats if j in stand_ins or exact[j] is not None]
        views = sim.observations(state, [ids[j] for j in seats])
        out = {}
        for j in seats:
            view = views[ids[j]]
            if j in stand_ins:
                mask = np.asarray(view["action_mask"], dtype=np.float64)
                probs = mask / mask.sum()
            else:
                probs = np.asarray(exact[j](view), dtype=np.float64)  # type: ignore[misc]
            out[j] = CoplayerPrediction(probs)
        return out

    def _seats(self) -> tuple[list[int], list[int]]:
        """The background seats (planned with copies) and the other focal seats (stand-in);
        ``ValueError`` for a background seat without a live object."""
        seat = self.seat
        if seat.coplayers is None:
            raise ValueError(
                f"oracle-mcts at seat {seat.seat} of {seat.env_id!r} needs the live co-players "
                "(SeatInfo.coplayers); the runner fills them only for classes with "
                "wants_privileged_info = True"
            )
        coplayers: dict[int, Any] = dict(seat.coplayers)
        background, stand_ins = [], []
        for j in range(seat.num_players):
            if j == seat.seat:
                continue
            if j in seat.focal_seats:
                stand_ins.append(j)
            elif j in coplayers:
                background.append(j)
            else:
                name = (seat.coplayer_names or {}).get(j, "?")
                raise ValueError(
                    f"oracle-mcts has no live object for the co-player {name!r} at seat {j} "
                    "(SeatInfo.coplayers) and substitutes no stand-in for one"
                )
        return background, stand_ins
