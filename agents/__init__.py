"""agents: the Agent protocol, the agent registry and the HOP family (torch imported lazily)."""

from agents.base import Agent, BaseAgent, SeatInfo, Transition

__all__ = ["Agent", "BaseAgent", "SeatInfo", "Transition"]
