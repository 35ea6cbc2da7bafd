"""Run ids: ``<goal-id>-<8 hex>``, validated wherever one comes from outside goalctl.

A run id names a directory under ``runs/``, so an id from the command line is never trusted
as a path: it must match :data:`RUN_ID_PATTERN` exactly, which rules out ``..``, slashes,
absolute paths, NUL bytes and uppercase (two ids that differ only in case would collide on
case-insensitive file systems).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from goalctl.errors import UsageError

RUN_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,127}-[0-9a-f]{8}$"
"""A goal id (a slug of at most 128 characters), a dash and 8 lowercase hex digits."""

RUN_ID_PREFIX_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,136}$"
"""What ``resolve`` accepts as the start of a run id: a slug, never a path."""

_RUN_ID = re.compile(RUN_ID_PATTERN)
_RUN_ID_PREFIX = re.compile(RUN_ID_PREFIX_PATTERN)
_HEX8 = re.compile(r"^[0-9a-f]{8}$")
EXAMPLE_RUN_ID = "calculator-1a2b3c4d"


def new_run_id(goal_id: str, *, random_hex: Callable[[], str] | None = None) -> str:
    """A fresh id for a run of ``goal_id``; ``random_hex`` makes ids deterministic in tests."""
    suffix = random_hex() if random_hex is not None else secrets.token_hex(4)
    if not _HEX8.fullmatch(suffix):
        raise ValueError(f"random_hex must return 8 lowercase hex digits, got {suffix!r}")
    return validate_run_id(f"{goal_id}-{suffix}")


def validate_run_id(text: str) -> str:
    """Return ``text`` if it is a well-formed run id, else raise :class:`UsageError`."""
    if not _RUN_ID.fullmatch(text):
        raise UsageError(invalid_run_id_message(text))
    return text


def is_run_id(text: str) -> bool:
    return _RUN_ID.fullmatch(text) is not None


def goal_of_run_id(run_id: str) -> str:
    """The goal id a well-formed run id starts with (everything before ``-<8 hex>``)."""
    return run_id[: -len("-00000000")]


def is_run_id_prefix(text: str) -> bool:
    return _RUN_ID_PREFIX.fullmatch(text) is not None


def invalid_run_id_message(text: str) -> str:
    return f"invalid run id {text!r} (run ids look like {EXAMPLE_RUN_ID})"
