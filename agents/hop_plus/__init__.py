"""HOP+: learned subgoals (after OMG) for HOP's multi-tree planner. Work in progress.

What exists: hindsight subgoal selection (:mod:`agents.hop_plus.subgoals`, numpy only, exported
here), the buffer that serves both HOP's opponent model and the subgoal model
(:mod:`agents.hop_plus.buffer`), the subgoal model and its prior VAE
(:mod:`agents.hop_plus.networks`, torch) and their training (:mod:`agents.hop_plus.training`,
torch). No agent is registered yet: the planner integration is still to come.
"""

from agents.hop_plus.subgoals import (
    CONSERVATIVE,
    DEFAULT_HORIZON,
    HORIZONS,
    OPTIMISTIC,
    REFERENCE,
    SELECTORS,
    achievement_steps,
    future_window,
    reference_indices,
    select_subgoals,
    subgoal_indices,
    value_indices,
)

__all__ = [
    "CONSERVATIVE",
    "DEFAULT_HORIZON",
    "HORIZONS",
    "OPTIMISTIC",
    "REFERENCE",
    "SELECTORS",
    "achievement_steps",
    "future_window",
    "reference_indices",
    "select_subgoals",
    "subgoal_indices",
    "value_indices",
]
