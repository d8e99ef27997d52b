"""The HOP agent family: opponent models, goal beliefs and the multi-tree MCTS planner.

The torch-free parts are exported here; the agents themselves (``HopAgent`` and its variants,
which import torch) are made through the registry (``agents.make_agent("hop")``) or imported
from their modules.
"""

from agents.hop.evaluators import RolloutEvaluator
from agents.hop.goal_sampling import BeliefGoalSampler
from agents.hop.interfaces import IDLE, CoplayerPolicy, Goal, LeafEvaluator, PolicyQuery
from agents.hop.planner import MultiTreePlanner, PlannerConfig, SearchResult

__all__ = [
    "IDLE",
    "BeliefGoalSampler",
    "CoplayerPolicy",
    "Goal",
    "LeafEvaluator",
    "MultiTreePlanner",
    "PlannerConfig",
    "PolicyQuery",
    "RolloutEvaluator",
    "SearchResult",
]
