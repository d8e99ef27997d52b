"""LOLA (Foerster et al., AAMAS 2018): the exact form on the iterated prisoner's dilemma."""
