"""The HOP agent family: opponent models, goal beliefs and the multi-tree MCTS planner."""
