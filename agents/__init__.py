"""agents: the Agent protocol, the agent registry and the HOP family (torch imported lazily)."""

from agents.base import Agent, BaseAgent, SeatInfo, Transition
from agents.prediction import CoplayerPrediction, PredictsCoplayers, predicts_coplayers
from agents.registry import (
    AGENT_ENTRY_POINT_GROUP,
    AGENTS,
    agent_entry,
    agent_names,
    make_agent,
    register_agent,
)

__all__ = [
    "AGENTS",
    "AGENT_ENTRY_POINT_GROUP",
    "Agent",
    "BaseAgent",
    "CoplayerPrediction",
    "PredictsCoplayers",
    "SeatInfo",
    "Transition",
    "agent_entry",
    "agent_names",
    "make_agent",
    "predicts_coplayers",
    "register_agent",
]
