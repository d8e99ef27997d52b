"""Social influence as intrinsic motivation (Jaques et al., ICML 2019), MOA variant.

A model of other agents (MOA) predicts every co-player's next action from the learner's
observation and the step's joint action; the learner is rewarded for the causal influence of
its own action on those predictions (:mod:`.influence`). The policy is sb3-contrib's
MaskablePPO, trained by :class:`baselines.sb3.training.LearnerTrainer` with the influence
reward added by :class:`.callback.InfluenceCallback`.
"""
