"""Why the gateway refuses a request: one exception, carrying the HTTP status to answer with.

Each wire format words it in its own error body (:mod:`.anthropic_api`, :mod:`.openai_api`),
so an agent's SDK raises the exception it would raise against the real API.
"""

from __future__ import annotations


class WireError(Exception):
    """A request the gateway answers with an API error instead of a completion."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        """The API's error type, e.g. ``invalid_request_error``, ``authentication_error``."""


def invalid(message: str) -> WireError:
    """400: the body is not a request of this API."""
    return WireError(400, message)
