"""Configuration beyond a scenario: the project file (``goalctl.toml``) and model prices."""
