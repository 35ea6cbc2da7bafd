"""Redaction of what goalctl keeps of a conversation: transcripts and cassettes.

A scenario lists regular expressions under ``redact`` (emails, account numbers, anything its
inputs carry that must not be kept); their matches become ``[REDACTED]``. The values of secret
environment variables are always redacted too, whatever the scenario says: the run store
refuses to write them anyway, so redacting first keeps a run alive instead of failing it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from goalctl.regexes import PatternError, substitute
from goalctl.state.files import SECRET_ENV_VARS

MARK = "[REDACTED]"
_MIN_SECRET_LENGTH = 8


class Redactor:
    """Replaces configured patterns and secret values in strings, lists and dicts."""

    def __init__(self, patterns: Sequence[str] = ()) -> None:
        self.patterns = list(patterns)
        secrets = [os.environ.get(name, "") for name in SECRET_ENV_VARS]
        self.secrets = [value for value in secrets if len(value) >= _MIN_SECRET_LENGTH]

    def __bool__(self) -> bool:
        return bool(self.patterns or self.secrets)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, MARK)
        for pattern in self.patterns:
            try:
                value = substitute(pattern, MARK, value)
            except PatternError:
                return f"{MARK} (a redact pattern ran out of time on this text)"
        return value

    def data(self, value: Any) -> Any:
        """``value`` with every string in it redacted (keys of mappings are kept)."""
        if not self:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value
