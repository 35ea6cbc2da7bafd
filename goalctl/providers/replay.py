"""Cassettes: record a live provider's calls beside the scenario, replay them with no network.

``<scenario stem>.cassette.jsonl`` holds one call per line, keyed by the hash of the canonical
request (model, system, messages with their content blocks, max_tokens, temperature, stop,
tools). A reply that calls tools keeps its ``content`` blocks, and a replay serves them
again, ids included, so an agent's tool loop replays step by step. Each line starts with the
format ``version`` and the ``provider`` that answered it. Lines without them (version 1, before
providers were named) still replay; a newer version is refused.

Replay = record: the meter redacts every reply as it arrives, so the recording run already
worked with the reply the cassette keeps, and its later requests (a retry quotes the reply)
are the ones a replay makes. With ``redact`` patterns, keys hash the redacted request and its
case (:meth:`Redactor.key`), so no redacted value can be recovered from a key by guessing.

A cassette is input like a scenario (it comes in pull requests), so it is read through
:mod:`goalctl.reading`: a regular file, within a size limit, strict UTF-8, bounded JSON per
line; any problem is a :class:`ReadError` (exit 2). Recordings from several processes are
merged under a lock on the cassette's directory, so none of them is lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from goalctl.errors import ProviderError, UsageError
from goalctl.providers.base import CompletionRequest, CompletionResponse, Provider, ProviderContext
from goalctl.reading import ReadError, decode, loads_json, read_bytes
from goalctl.redaction import Redactor
from goalctl.state.files import write_atomic

CASSETTE_VERSION: Final = 2
OFFLINE_PROVIDERS: Final = frozenset({"scripted", "replay"})
"""Providers whose replies never come from a model: recording them is refused."""


def cassette_path(scenario_path: Path) -> Path:
    return scenario_path.with_name(f"{scenario_path.stem}.cassette.jsonl")


def refuse_offline_recording(provider_name: str, scenario_path: Path) -> None:
    """``--record`` of an offline provider would replace a live recording with fiction."""
    if provider_name in OFFLINE_PROVIDERS:
        raise UsageError(
            f"--record needs a live provider, and {provider_name!r} is offline: recording it "
            f"would overwrite {cassette_path(scenario_path)} with replies that never came "
            "from a model; record with the provider that answers live (e.g. --provider anthropic)"
        )


def read_cassette(path: Path) -> dict[str, dict[str, Any]]:
    """Records by request key; later records win (re-recording replaces). None: empty."""
    try:
        raw = read_bytes(path, "cassette")
    except ReadError:
        if not os.path.lexists(path):
            return {}
        raise
    text = decode(raw, f"cassette file {path}")
    records: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            record = parse_record(line, f"cassette {path}:{number}")
            records[record["key"]] = record
    return records


def parse_record(line: str, where: str) -> dict[str, Any]:
    """One cassette line, checked enough that replaying it cannot fail later."""
    record = loads_json(line, where)
    problem = _record_problem(record)
    if problem is not None:
        raise ReadError(f"{where} is not a cassette record: {problem}")
    version = record.get("version", 1)
    if version > CASSETTE_VERSION:
        raise ReadError(
            f"{where} was written by a newer goalctl (cassette version {version}; this one "
            f"reads up to {CASSETTE_VERSION}); upgrade goalctl"
        )
    return dict(record)


def _record_problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "not an object"
    version = record.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return "'version' is not a positive integer"
    if not isinstance(record.get("key"), str):
        return "'key' is not a string"
    response = record.get("response")
    if not isinstance(response, dict):
        return "'response' is not an object"
    if not isinstance(response.get("text"), str):
        return "'response.text' is not a string"
    if response.get("content") is not None:
        problem = _content_problem(response["content"])
        if problem is not None:
            return f"'response.content' {problem}"
    try:
        CompletionResponse.from_json(response)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return "'response' is not a recorded response"
    return None


def _content_problem(content: Any) -> str | None:
    """Why recorded content blocks could not be served to an agent again, if they could not."""
    if not isinstance(content, list):
        return "is not a list of content blocks"
    for index, block in enumerate(content):
        if not isinstance(block, dict):
            return f"item {index} is not an object"
        kind = block.get("type")
        if kind == "text":
            if not isinstance(block.get("text"), str):
                return f"item {index} is a text block without text"
        elif kind == "tool_use":
            if not (isinstance(block.get("id"), str) and isinstance(block.get("name"), str)):
                return f"item {index} is a tool_use block without an id and a name"
            if not isinstance(block.get("input"), dict):
                return f"item {index} is a tool_use block whose input is not an object"
        else:
            return f"item {index} is not a text or tool_use block"
    return None


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the directory itself: no lock file is left beside scenarios."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def merge_into_cassette(path: Path, new: dict[str, dict[str, Any]]) -> None:
    """Add ``new`` records to the cassette at ``path``; concurrent writers never lose one."""
    with _directory_lock(path.parent):
        records = read_cassette(path)
        records.update(new)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records.values())
        write_atomic(path, text)


class ReplayProvider:
    name = "replay"

    def __init__(self, path: Path, redactor: Redactor | None = None) -> None:
        self.path = path
        self.redactor = redactor or Redactor()
        self._records = read_cassette(path)

    def _find(self, request: CompletionRequest) -> dict[str, Any] | None:
        record = self._records.get(self.redactor.key(request))
        if record is None:
            # Version 1 keyed every request by its hash as sent, redacted or not.
            old = self._records.get(request.key())
            if old is not None and old.get("version", 1) < CASSETTE_VERSION:
                record = old
        return record

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        record = self._find(request)
        if record is None:
            preview = " ".join(request.last_user_message.split())[:80]
            case = f", case {request.case!r}" if request.case else ""
            if request.trial > 1:
                case += f", trial {request.trial}"
            raise ProviderError(
                f"replay: no recorded response for request {self.redactor.key(request)[:12]} "
                f"({request.purpose} call, model {request.model!r}{case}, "
                f"prompt starts: {preview!r}) "
                f"in {self.path}; record it with `goalctl run --record`"
            )
        return CompletionResponse.from_json(record["response"])

    async def aclose(self) -> None:
        return None


class RecordingProvider:
    """Wraps a live provider; on close, merges this session's calls into the cassette."""

    def __init__(self, inner: Provider, path: Path, redactor: Redactor | None = None) -> None:
        self.inner = inner
        self.redactor = redactor or Redactor()
        self.name = inner.name
        self.path = path
        self._new: dict[str, dict[str, Any]] = {}
        read_cassette(path)  # a damaged cassette is refused before any call is made

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        response = await self.inner.complete(request)
        key = self.redactor.key(request)
        self._new[key] = {
            "version": CASSETTE_VERSION,
            "provider": self.inner.name,
            "key": key,
            "purpose": request.purpose,
            "case": request.case,
            **({"trial": request.trial} if request.trial > 1 else {}),
            "request": self.redactor.data(request.canonical()),
            "response": self.redactor.response(response),
        }
        return response

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            if self._new:
                self.flush()

    def flush(self) -> None:
        merge_into_cassette(self.path, self._new)
        self._new = {}


OPTIONS: dict[str, Any] = {}
"""Replay takes no options: it answers from the cassette alone."""


def create(context: ProviderContext) -> ReplayProvider:
    return ReplayProvider(cassette_path(context.scenario_path), Redactor(context.redact))
