"""baselines: learners from the literature behind the Agent protocol (DESIGN §1, §5).

Not built yet: PPO/A2C (in place of A3C), prosocial, social influence / MOA, LOLA and PR2 are
planned on stable-baselines3 and torch. Until then the package only reserves the name, and
the shipped comparison is HOP, its variants, ``oracle-mcts`` and the rule-based agents.
"""

__all__: list[str] = []
