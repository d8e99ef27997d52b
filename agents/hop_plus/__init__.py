"""HOP+: learned subgoals (after OMG) in HOP's multi-tree planner (DESIGN §8).

Modules: hindsight subgoal selection (:mod:`agents.hop_plus.subgoals`, numpy only, exported
here), the one buffer of the opponent model and the subgoal model
(:mod:`agents.hop_plus.buffer`), the subgoal model and its prior VAE
(:mod:`agents.hop_plus.networks`) and their training (:mod:`agents.hop_plus.training`), the
subgoals as planner goals (:mod:`agents.hop_plus.latent_goals`) and the co-player policy
``pi(a | s, z)`` (:mod:`agents.hop_plus.policy`), intra- and inter-OM over ``z``
(:mod:`agents.hop_plus.inference`), the decision process (:mod:`agents.hop_plus.decision`),
the ``hop-plus`` agent and its variants (:mod:`agents.hop_plus.agent`), weights folders
(:mod:`agents.hop_plus.checkpoint`) and ``hop-bench train --agent hop-plus``
(:mod:`agents.hop_plus.train`). Only the numpy part is imported here (torch loads with the
agent).
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
