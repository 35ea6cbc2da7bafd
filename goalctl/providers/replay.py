"""Cassettes: record any provider's calls beside the scenario, replay them with no network.

``<scenario stem>.cassette.jsonl`` holds one call per line, keyed by the hash of the canonical
request (model, system, messages, max_tokens, temperature, stop). Requests carry no secrets,
so neither do cassettes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from goalctl.errors import ProviderError
from goalctl.providers.base import CompletionRequest, CompletionResponse, Provider, ProviderContext
from goalctl.redaction import Redactor
from goalctl.state.files import write_atomic

CASSETTE_VERSION = 1


def cassette_path(scenario_path: Path) -> Path:
    return scenario_path.with_name(f"{scenario_path.stem}.cassette.jsonl")


def read_cassette(path: Path) -> dict[str, dict[str, Any]]:
    """Records by request key; later records win (re-recording replaces)."""
    records: dict[str, dict[str, Any]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return records
    except OSError as exc:
        raise ProviderError(f"replay: cannot read cassette {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if record.get("version", CASSETTE_VERSION) > CASSETTE_VERSION:
                raise ProviderError(
                    f"replay: {path} was written by a newer goalctl; upgrade goalctl"
                )
            records[str(record["key"])] = record
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ProviderError(f"replay: {path}:{number}: not a cassette record") from None
    return records


class ReplayProvider:
    name = "replay"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records = read_cassette(path)

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        record = self._records.get(request.key())
        if record is None:
            preview = " ".join(request.last_user_message.split())[:80]
            case = f", case {request.case!r}" if request.case else ""
            raise ProviderError(
                f"replay: no recorded response for request {request.key()[:12]} "
                f"({request.purpose} call, model {request.model!r}{case}, "
                f"prompt starts: {preview!r}) "
                f"in {self.path}; record it with `goalctl run --record`"
            )
        return CompletionResponse.from_json(record["response"])

    async def aclose(self) -> None:
        return None


class RecordingProvider:
    """Wraps a provider; on close, merges this session's calls into the cassette atomically."""

    def __init__(self, inner: Provider, path: Path, redactor: Redactor | None = None) -> None:
        self.inner = inner
        self.redactor = redactor or Redactor()
        self.name = inner.name
        self.path = path
        self._new: dict[str, dict[str, Any]] = {}

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        response = await self.inner.complete(request)
        self._new[request.key()] = {
            "version": CASSETTE_VERSION,
            "key": request.key(),
            "purpose": request.purpose,
            "case": request.case,
            # The key hashes the real request, so a redacted cassette still replays.
            "request": self.redactor.data(request.canonical()),
            "response": self.redactor.data(response.to_json()),
        }
        return response

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            if self._new:
                self.flush()

    def flush(self) -> None:
        records = read_cassette(self.path)
        records.update(self._new)
        text = "".join(
            json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records.values()
        )
        # The store's atomic write: no torn cassette, and a tripwire for secrets.
        write_atomic(self.path, text)


OPTIONS: dict[str, Any] = {}
"""Replay takes no options: it answers from the cassette alone."""


def create(context: ProviderContext) -> ReplayProvider:
    return ReplayProvider(cassette_path(context.scenario_path))
