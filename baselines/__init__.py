"""baselines: placeholder package docstring."""
