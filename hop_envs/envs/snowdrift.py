"""``hop/MarkovSnowdrift-v0``: the Markov Snowdrift game of the HOP paper."""

from __future__ import annotations

from typing import Any, ClassVar

from pettingzoo.utils import OrderEnforcingWrapper, parallel_to_aec

from hop_envs.core.snowdrift import SnowdriftConfig, SnowdriftRules
from hop_envs.core.state import StepOutcome
from hop_envs.envs.base import RENDER_MODES, GridGameEnv


class MarkovSnowdriftEnv(GridGameEnv):
    """Markov Snowdrift (Huang et al., ICML 2024).

    Description:
        Snowdrifts block a grid. Removing one benefits everybody, but costs the removers;
        so each player would rather let the others do the work.

    Agents:
        ``player_0 … player_{n-1}``, acting simultaneously; nobody leaves early.

    Actions:
        ``Discrete(6)``: 0 up, 1 down, 2 left, 3 right, 4 stay, 5 remove (legal only on a
        drift). A masked action runs as stay and sets ``infos[agent]["illegal_action"]``;
        with ``strict=True`` it raises instead.

    Observations:
        A dict: ``"observation"`` ``Box(0, 1, (n + 2, H, W), uint8)`` with channel 0 the
        observer, then the others in seat order after the observer, walls, drifts;
        ``"action_mask"`` ``Box(0, 1, (6,), int8)``; ``"step"`` ``Discrete(max_cycles + 1)``.

    Rewards:
        Each removed drift gives ``removal_reward`` to every player and costs its removers
        ``removal_cost`` split equally (a lone remover nets +2, everyone else +6 by default).
        ``reward_mode="prosocial"`` gives every player the mean reward.

    Episode end:
        Terminated for all when no drift is left; truncated at ``max_cycles``. Events are in
        ``infos[agent]``: ``removed_drift`` (the drift id or None) and ``drift_cell``.

    Arguments:
        ``num_players`` (4), ``grid_size`` (8; or ``height``/``width``), ``num_drifts`` (6),
        ``removal_reward`` (6), ``removal_cost`` (4), ``max_cycles`` (50),
        ``num_wall_pieces`` (0), ``reward_mode`` ("selfish"), ``render_mode`` (None),
        ``strict`` (False).

    Version history:
        v0: first release, following the original HOP configuration.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "markov_snowdrift_v0",
        "render_modes": list(RENDER_MODES),
        "render_fps": 5,
        "is_parallelizable": True,
    }
    rules_class = SnowdriftRules
    config_class = SnowdriftConfig

    def event_info(self, seat: int, outcome: StepOutcome) -> dict[str, Any]:
        drift = int(outcome.target[seat])
        if drift < 0:
            return {"removed_drift": None, "drift_cell": None}
        cell = divmod(int(self.core_state.object_pos[drift]), self.config.width)
        return {"removed_drift": drift, "drift_cell": cell}


def parallel_env(**kwargs: Any) -> MarkovSnowdriftEnv:
    """The parallel form (entry point of ``hop/MarkovSnowdrift-v0``)."""
    return MarkovSnowdriftEnv(**kwargs)


def aec_env(**kwargs: Any):
    """The AEC form, through PettingZoo's parallel-to-AEC conversion."""
    return OrderEnforcingWrapper(parallel_to_aec(MarkovSnowdriftEnv(**kwargs)))
