"""Probabilistic recursive reasoning (PR2; Wen et al., "Probabilistic Recursive Reasoning for
Multi-Agent Reinforcement Learning", ICLR 2019). The one-step differential game "max of two
quadratics", PR2 and independent learners on it: :mod:`baselines.pr2.differential`.
"""
