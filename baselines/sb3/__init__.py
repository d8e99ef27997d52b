"""Stable-Baselines3 learners behind the Agent protocol: ``ppo`` (MaskablePPO), ``a2c``,
``prosocial-ppo`` and ``recurrent-ppo``.

:mod:`baselines.sb3.learners` names them (no torch); :mod:`baselines.sb3.policies` builds
their networks, :mod:`baselines.sb3.checkpoint` saves and loads them as safetensors + JSON,
:mod:`baselines.sb3.agent` plays them and :mod:`baselines.sb3.training` trains them.
"""
