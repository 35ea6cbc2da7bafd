"""goalctl: goal-seeking agents described in files."""

__version__ = "0.1.0"
