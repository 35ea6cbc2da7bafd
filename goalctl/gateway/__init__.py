"""The model gateway (DESIGN §11): agents' model calls served by the run's provider."""

from goalctl.gateway.errors import WireError
from goalctl.gateway.server import Gateway, Session

__all__ = ["Gateway", "Session", "WireError"]
