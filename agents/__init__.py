"""agents: placeholder package docstring."""
