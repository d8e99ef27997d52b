"""``hop/MarkovStagHunt-v0``: the Markov Stag-Hunt of the HOP paper as a PettingZoo env."""

from __future__ import annotations

from typing import Any, ClassVar

from pettingzoo.utils import OrderEnforcingWrapper, parallel_to_aec

from hop_envs.core.stag_hunt import STAG, StagHuntConfig, StagHuntRules
from hop_envs.core.state import StepOutcome
from hop_envs.envs.base import RENDER_MODES, GridGameEnv


class MarkovStagHuntEnv(GridGameEnv):
    """Markov Stag-Hunt (Huang et al., ICML 2024).

    Description:
        Players hunt prey on a grid with random wall pieces. A stag is worth much more than a
        hare but needs ``stag_hunters_required`` players hunting it together in the same step;
        a hare can be taken alone. Captured prey never respawn; players who capture leave.

    Agents:
        ``player_0 … player_{n-1}``, acting simultaneously.

    Actions:
        ``Discrete(7)``: 0 up (row-1), 1 down (row+1), 2 left (col-1), 3 right (col+1),
        4 stay, 5 hunt-stag (legal only on a stag), 6 hunt-hare (legal only on a hare).
        Moves into walls or off the grid are illegal. A masked action runs as stay and sets
        ``infos[agent]["illegal_action"]``; with ``strict=True`` it raises instead.

    Observations:
        A dict: ``"observation"`` ``Box(0, 1, (n + 3, H, W), uint8)`` with channel 0 the
        observer, channels 1..n-1 the others in seat order after the observer, then walls,
        stags, hares (a departed player's channel is all zero); ``"action_mask"``
        ``Box(0, 1, (7,), int8)``; ``"step"`` ``Discrete(max_cycles + 1)``. Fully observable.

    Rewards:
        A captured stag pays ``stag_reward`` split among its hunters in proportion to
        ``player_strength``; a hare pays ``hare_reward`` split equally. ``time_reward`` goes
        to every active player each step. ``reward_mode="prosocial"`` gives every active
        player the mean reward of all players.

    Episode end:
        A capturing player is terminated. When no prey is left the others are terminated.
        ``max_cycles`` steps, or ``end_after_first_hunt`` steps after the first capture,
        truncate the episode for everyone left. Events are in ``infos[agent]``:
        ``captured`` ("stag", "hare" or None), ``prey_id``, ``failed_stag_hunt``.

    Arguments:
        ``num_players`` (4), ``grid_size`` (8; or ``height``/``width``), ``num_stags`` (1),
        ``num_hares`` (4), ``stag_reward`` (10), ``hare_reward`` (1),
        ``stag_hunters_required`` (2), ``player_strength`` (all 1), ``time_reward`` (0),
        ``max_cycles`` (35), ``end_after_first_hunt`` (None), ``num_wall_pieces`` (5),
        ``reward_mode`` ("selfish"), ``render_mode`` (None), ``strict`` (False).

    Version history:
        v0: first release, following the original HOP configuration.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "markov_stag_hunt_v0",
        "render_modes": list(RENDER_MODES),
        "render_fps": 5,
        "is_parallelizable": True,
    }
    rules_class = StagHuntRules
    config_class = StagHuntConfig

    def event_info(self, seat: int, outcome: StepOutcome) -> dict[str, Any]:
        prey = int(outcome.target[seat])
        captured = None
        if prey >= 0:
            captured = "stag" if int(self.core_state.object_kind[prey]) == STAG else "hare"
        return {
            "captured": captured,
            "prey_id": prey,
            "failed_stag_hunt": bool(outcome.failed[seat]),
        }


def parallel_env(**kwargs: Any) -> MarkovStagHuntEnv:
    """The parallel form (entry point of ``hop/MarkovStagHunt-v0``)."""
    return MarkovStagHuntEnv(**kwargs)


def aec_env(**kwargs: Any):
    """The AEC form, through PettingZoo's parallel-to-AEC conversion."""
    return OrderEnforcingWrapper(parallel_to_aec(MarkovStagHuntEnv(**kwargs)))
