"""``python -m goalctl``."""

from goalctl.cli import main

if __name__ == "__main__":
    main()
