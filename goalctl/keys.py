"""API keys from the environment: read and normalised in one place, hidden in every form.

A key pasted from a file or a secret store often carries a trailing newline or space. The
provider sends it stripped, so the stripped value is what a server may echo back, while the
raw value is what the environment holds: redaction must know both. Whitespace *inside* a key
cannot be part of a key; an HTTP library would quote the whole value in an error, so such a
key is refused before any call, without echoing it.

:func:`secret_forms` lists every form in which a secret may reach text goalctl writes: raw and
stripped, each line of a multi-line value, and those escaped as JSON strings and Python reprs
(error messages quote values with ``repr``). The redactor and the run store's last line of
defence both use it.
"""

from __future__ import annotations

import json
import os
from typing import Final

from goalctl.errors import UsageError

SECRET_ENV_VARS: Final = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")
"""Environment variables whose values must never reach a file goalctl writes."""

MARK: Final = "[REDACTED]"
"""What a hidden value is replaced with, here and by ``redact:`` patterns."""

MIN_SECRET_LENGTH: Final = 8
"""Shorter values are not hidden: replacing them would mangle ordinary text."""


def read_key(name: str) -> str:
    """The key in environment variable ``name``, stripped; "" when unset or blank.

    Raises :class:`UsageError` (without the value) when anything but printable ASCII
    remains inside it.
    """
    value = os.environ.get(name, "").strip()
    for position, char in enumerate(value, 1):
        if not ("!" <= char <= "~"):  # HTTP libraries quote the whole value when they refuse it
            raise UsageError(
                f"{name} has whitespace, a control character or a non-ASCII character inside "
                f"it (at character {position}), so it cannot be a key; check how it was set "
                "(a line break copied with it?)"
            )
    return value


def secret_forms() -> list[str]:
    """Every form of every secret value in the environment, longest first."""
    values = [os.environ.get(name, "") for name in SECRET_ENV_VARS]
    if not any(values):
        return []
    forms: set[str] = set()
    for value in values:
        pieces = {value, value.strip(), *(line.strip() for line in value.splitlines())}
        for piece in pieces:
            if len(piece) >= MIN_SECRET_LENGTH:
                forms.update(_escaped(piece))
    return sorted(forms, key=lambda form: (-len(form), form))


def _escaped(value: str) -> set[str]:
    return {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        repr(value.encode("utf-8", "backslashreplace"))[2:-1],
    }


def hide_secrets(text: str) -> str:
    """``text`` with every form of every secret replaced by :data:`MARK`."""
    for form in secret_forms():
        text = text.replace(form, MARK)
    return text
