"""``python -m goalctl``."""

from goalctl.cli import script

if __name__ == "__main__":
    script()
