"""Redaction of everything a run keeps: replies as they arrive, then every file it writes.

A scenario lists regular expressions under ``redact`` (emails, account numbers, anything its
inputs carry that must not be kept); their matches become ``[REDACTED]``. The values of secret
environment variables are always redacted too, in every form they may take (see
:mod:`goalctl.keys`), whatever the scenario says.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from goalctl.keys import MARK, remembered_count, secret_forms
from goalctl.providers.base import Block, CompletionRequest, CompletionResponse
from goalctl.regexes import PatternError, substitute

GATEWAY_KEY = re.compile(r"gk-[A-Za-z0-9_-]{32}")
"""A per-case key of the model gateway (``gateway.server.KEY_PREFIX`` and 24 random bytes):
short-lived and loopback-only, but a key all the same, so never kept in a file either."""


class Redactor:
    """Replaces configured patterns and secret values in strings, lists and dicts."""

    def __init__(self, patterns: Sequence[str] = ()) -> None:
        self.patterns = list(patterns)
        self._secrets = secret_forms()
        self._remembered = remembered_count()

    @property
    def secrets(self) -> list[str]:
        """The forms of every secret; a value remembered during the run (an agent's ``env``
        secret, :func:`goalctl.keys.remember_secret`) is hidden from then on."""
        if remembered_count() != self._remembered:
            self._secrets = secret_forms()
            self._remembered = remembered_count()
        return self._secrets

    def __bool__(self) -> bool:
        return True  # gateway keys are hidden even where nothing else is to be

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, MARK)
        if "gk-" in value:
            value = GATEWAY_KEY.sub(MARK, value)
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

    def blocks(self, blocks: Sequence[Block]) -> tuple[Block, ...]:
        """Reply content blocks with what they say redacted — text, a call's input — and their
        structure kept: a pattern that matches ``tool_use`` or an id must not break a block."""
        if not self:
            return tuple(blocks)
        redacted: list[Block] = []
        for block in blocks:
            if block.get("type") == "text":
                block = {**block, "text": self.text(str(block.get("text", "")))}
            elif block.get("type") == "tool_use":
                block = {**block, "input": self.data(block.get("input"))}
            redacted.append(block)
        return tuple(redacted)

    def response(self, response: CompletionResponse) -> dict[str, Any]:
        """``response`` as cassette JSON, redacted as the meter redacts it on arrival: what
        it says, never its stop reason, which a replayed tool loop acts on."""
        data = response.to_json()
        data["text"] = self.text(response.text)
        if response.content:
            data["content"] = [dict(b) for b in self.blocks(response.content)]
        return data

    def key(self, request: CompletionRequest) -> str:
        """The key ``request`` is kept under in cassettes and transcripts.

        Without ``redact`` patterns it is :meth:`CompletionRequest.key`. With them, a hash of
        the request as sent would let anyone who reads the file recover a short redacted
        value (an account number) by hashing guesses, so the key hashes the redacted request
        and the case instead: the case keeps apart requests that differ only in what is
        redacted, and a replay, which redacts alike, computes the same key.
        """
        if not self.patterns:
            return request.key()
        keyed = {"case": request.case, "request": self.data(request.canonical())}
        if request.trial > 1:
            keyed["trial"] = request.trial
        text = json.dumps(keyed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
