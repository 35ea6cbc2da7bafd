"""Cassettes: a replayed run is the run that recorded it; cassettes are bounded, merged input.

Recordings are made with the real anthropic provider against a loopback Messages API server,
because recording an offline provider is refused (it would overwrite a live recording).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from goalctl.errors import GoalctlError
from goalctl.providers.replay import read_cassette
from goalctl.reading import ReadError
from tests.conftest import run_cli
from tests.support.messages_server import MessagesServer, Reply

KEY = "sk-ant-test-cassette-0123456789"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesServer]:
    with MessagesServer() as running:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.url)
        yield running


def scenario(tmp_path: Path, body: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    header = (
        "id: demo\nname: Demo\ndescription: A demo goal.\nprovider: anthropic\n"
        "model: claude-haiku-4-5\n"
    )
    path.write_text(header + dedent(body))
    return path


def verdict_of(result: Any) -> tuple[int, str, list[Any], list[Any]]:
    """Exit code, verdict, and what each criterion and constraint concluded."""
    [run] = json.loads(result.stdout)["runs"]
    report = json.loads((Path(run["reports"][1])).read_text())
    criteria = [(c["id"], c["met"], c["evidence"]) for c in report["criteria"]]
    constraints = [(c["id"], c["violated"], c["violations"]) for c in report["constraints"]]
    return result.exit_code, report["verdict"], criteria, constraints


def record_then_replay(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    recorded = run_cli("run", "--record", "--json", str(path))
    assert recorded.exit_code in (0, 1), recorded.stdout + recorded.stderr
    monkeypatch.delenv("ANTHROPIC_API_KEY")  # the replay needs no key and no network
    replayed = run_cli("run", "--provider", "replay", "--json", str(path))
    return verdict_of(recorded), verdict_of(replayed)


class TestReplayIsRecord:
    def test_a_redacted_reply_gives_the_same_verdict_on_replay(
        self, tmp_path: Path, server: MessagesServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        server.enqueue(Reply(text="Write to ana@example.com for help."))
        path = scenario(
            tmp_path,
            """
            redact: ['[\\w.]+@example\\.com']
            success_criteria:
              - {id: helps, description: Helps, metric: output_contains, target: help}
            constraints:
              - {id: no-email, description: No email, check: "'@example.com' not in output"}
            """,
        )
        recorded, replayed = record_then_replay(path, monkeypatch)
        assert replayed == recorded
        assert recorded[:2] == (0, "achieved")
        cassette = (tmp_path / "s.cassette.jsonl").read_text()
        assert "ana@example.com" not in cassette

    def test_a_retry_after_a_redacted_reply_replays(
        self, tmp_path: Path, server: MessagesServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        server.enqueue(Reply(text="wrong, ask ana@example.com"), Reply(text="right"))
        path = scenario(
            tmp_path,
            """
            redact: ['[\\w.]+@example\\.com']
            config: {max_attempts: 2}
            success_criteria:
              - {id: right, description: Says right, metric: output_contains, target: right}
            """,
        )
        recorded, replayed = record_then_replay(path, monkeypatch)
        assert recorded[:2] == (0, "achieved")
        assert replayed == recorded
