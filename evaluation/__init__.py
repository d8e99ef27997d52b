"""evaluation: placeholder package docstring."""
