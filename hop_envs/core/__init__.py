"""The pure game cores: compact copyable states, step functions and their batched form."""

from hop_envs.core.batched import (
    BatchedGame,
    BatchedObservation,
    BatchedOutcome,
    BatchedState,
)
from hop_envs.core.goals import (
    DRIFT_CELL,
    IDLE,
    PREY_KIND,
    DriftCellGoals,
    GoalSpace,
    ObjectGoalSpace,
    PreyKindGoals,
)
from hop_envs.core.layout import (
    MOVE_DELTAS,
    NUM_MOVES,
    STAY,
    GridLayout,
    all_pairs_distances,
    bfs_distances,
)
from hop_envs.core.rules import GridRules
from hop_envs.core.snowdrift import DRIFT, REMOVE, SnowdriftConfig, SnowdriftRules
from hop_envs.core.stag_hunt import (
    HARE,
    HUNT_HARE,
    HUNT_STAG,
    STAG,
    StagHuntConfig,
    StagHuntRules,
)
from hop_envs.core.state import GridState, StepOutcome

__all__ = [
    "DRIFT",
    "DRIFT_CELL",
    "HARE",
    "HUNT_HARE",
    "HUNT_STAG",
    "IDLE",
    "MOVE_DELTAS",
    "NUM_MOVES",
    "PREY_KIND",
    "REMOVE",
    "STAG",
    "STAY",
    "BatchedGame",
    "BatchedObservation",
    "BatchedOutcome",
    "BatchedState",
    "DriftCellGoals",
    "GoalSpace",
    "GridLayout",
    "GridRules",
    "GridState",
    "ObjectGoalSpace",
    "PreyKindGoals",
    "SnowdriftConfig",
    "SnowdriftRules",
    "StagHuntConfig",
    "StagHuntRules",
    "StepOutcome",
    "all_pairs_distances",
    "bfs_distances",
]
