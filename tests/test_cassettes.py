"""Cassettes: a replayed run is the run that recorded it; cassettes are bounded, merged input.

Recordings are made with the real anthropic provider against a loopback Messages API server,
because recording an offline provider is refused (it would overwrite a live recording).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goalctl.errors import GoalctlError
from goalctl.providers.base import CompletionResponse
from goalctl.providers.replay import read_cassette
from goalctl.reading import ReadError
from tests import strategies as gen
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


GREET = """
success_criteria:
  - {id: greets, description: Greets, metric: output_contains, target: Hello}
cases:
  - {name: ana, input: {name: Ana}}
prompt: "Greet {{ input.name }}"
"""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class TestRecording:
    def test_record_then_replay_then_miss(
        self, tmp_path: Path, server: MessagesServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        server.enqueue(Reply(text="Hello Ana"))
        path = scenario(tmp_path, GREET)
        assert run_cli("run", "--record", str(path)).exit_code == 0
        [record] = read_jsonl(tmp_path / "s.cassette.jsonl")
        assert list(record)[:2] == ["version", "provider"]
        assert (record["version"], record["provider"]) == (2, "anthropic")
        assert record["response"]["text"] == "Hello Ana"
        assert record["request"]["messages"] == [{"role": "user", "content": "Greet Ana"}]

        monkeypatch.delenv("ANTHROPIC_API_KEY")
        replayed = run_cli("run", "--provider", "replay", "--json", str(path))
        assert replayed.exit_code == 0
        assert json.loads(replayed.stdout)["runs"][0]["verdict"] == "achieved"

        path.write_text(path.read_text().replace("Greet {{", "Welcome {{"))
        missed = run_cli("run", "--provider", "replay", "--json", str(path))
        assert missed.exit_code == 3
        error = json.loads(missed.stdout)["runs"][0]["error"]
        assert "replay: no recorded response for request" in error
        assert "prompt starts: 'Welcome Ana'" in error
        assert "record it with `goalctl run --record`" in error

    @pytest.mark.parametrize("provider", ["scripted", "replay"])
    def test_recording_an_offline_provider_is_refused_and_keeps_the_cassette(
        self, tmp_path: Path, provider: str, isolated_environment: Path
    ) -> None:
        path = scenario(tmp_path, GREET + 'responses: ["Hello Ana"]\n')
        cassette = tmp_path / "s.cassette.jsonl"
        cassette.write_text(
            '{"version": 2, "provider": "anthropic", "key": "k", "response": {"text": "x"}}\n'
        )
        before = cassette.read_bytes()
        result = run_cli("run", "--record", "--provider", provider, str(path))
        assert result.exit_code == 2
        assert result.stderr == (
            f"goalctl: error: --record needs a live provider, and {provider!r} is offline: "
            f"recording it would overwrite {cassette} with replies that never came from a "
            "model; record with the provider that answers live (e.g. --provider anthropic)\n"
        )
        assert cassette.read_bytes() == before
        assert not (isolated_environment / "runs").exists()

    def test_a_cassette_without_version_or_provider_still_replays(
        self, tmp_path: Path, server: MessagesServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        server.enqueue(Reply(text="Hello Ana"))
        path = scenario(tmp_path, GREET)
        assert run_cli("run", "--record", str(path)).exit_code == 0
        cassette = tmp_path / "s.cassette.jsonl"
        [record] = read_jsonl(cassette)
        old = {k: v for k, v in record.items() if k not in ("version", "provider")}
        cassette.write_text(json.dumps(old) + "\n")
        monkeypatch.delenv("ANTHROPIC_API_KEY")
        replayed = run_cli("run", "--provider", "replay", "--json", str(path))
        assert replayed.exit_code == 0, replayed.stdout + replayed.stderr
        assert json.loads(replayed.stdout)["runs"][0]["verdict"] == "achieved"


class TestBadCassettes:
    """A cassette comes from a pull request like a scenario: read within bounds, exit 2."""

    def replay(self, tmp_path: Path) -> Any:
        return run_cli("run", "--provider", "replay", str(scenario(tmp_path, GREET)))

    def test_a_symlink_to_dev_zero(self, tmp_path: Path) -> None:
        (tmp_path / "s.cassette.jsonl").symlink_to("/dev/zero")
        result = self.replay(tmp_path)
        assert result.exit_code == 2
        assert result.stderr == (
            f"goalctl: error: cassette file {tmp_path / 's.cassette.jsonl'} is not a regular "
            "file: it is a device\n"
        )

    def test_a_fifo_never_blocks(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "s.cassette.jsonl")
        result = self.replay(tmp_path)
        assert result.exit_code == 2
        assert "is not a regular file: it is a named pipe (FIFO)" in result.stderr

    def test_bad_utf8(self, tmp_path: Path) -> None:
        (tmp_path / "s.cassette.jsonl").write_bytes(b'{"key": "\xff"}\n')
        result = self.replay(tmp_path)
        assert result.exit_code == 2
        assert result.stderr == (
            f"goalctl: error: cassette file {tmp_path / 's.cassette.jsonl'} is not valid "
            "UTF-8: byte 0xff at offset 9 (line 1, column 10)\n"
        )

    def test_deep_json_in_a_line(self, tmp_path: Path) -> None:
        line = '{"key": "k", "response": ' + "[" * 10_000 + "]" * 10_000 + "}\n"
        (tmp_path / "s.cassette.jsonl").write_text(line)
        result = self.replay(tmp_path)
        assert result.exit_code == 2
        assert result.stderr == (
            f"goalctl: error: cassette {tmp_path / 's.cassette.jsonl'}:1 is nested too deeply "
            "(more than 64 levels)\n"
        )

    @pytest.mark.parametrize(
        ("line", "why"),
        [
            ("[1, 2]", "not an object"),
            ('{"response": {"text": "x"}}', "'key' is not a string"),
            ('{"key": "k", "response": {"text": 3}}', "'response.text' is not a string"),
            (
                '{"key": "k", "response": {"text": "x", "usage": {"input_tokens": "a"}}}',
                "'response' is not a recorded response",
            ),
        ],
    )
    def test_a_line_that_is_not_a_record(self, tmp_path: Path, line: str, why: str) -> None:
        cassette = tmp_path / "s.cassette.jsonl"
        cassette.write_text("\n" + line + "\n")
        result = self.replay(tmp_path)
        assert result.exit_code == 2
        assert result.stderr == (
            f"goalctl: error: cassette {cassette}:2 is not a cassette record: {why}\n"
        )

    def test_a_newer_version_is_refused(self, tmp_path: Path) -> None:
        cassette = tmp_path / "s.cassette.jsonl"
        cassette.write_text('{"version": 3, "key": "k", "response": {"text": "x"}}\n')
        result = self.replay(tmp_path)
        assert result.exit_code == 2
        assert result.stderr == (
            f"goalctl: error: cassette {cassette}:1 was written by a newer goalctl "
            "(cassette version 3; this one reads up to 2); upgrade goalctl\n"
        )

    def test_the_reader_raises_read_error(self, tmp_path: Path) -> None:
        cassette = tmp_path / "c.jsonl"
        cassette.write_text("{")
        with pytest.raises(ReadError):
            read_cassette(cassette)
        assert read_cassette(tmp_path / "missing.jsonl") == {}


RECORDER = """
import asyncio, sys
from pathlib import Path
from goalctl.providers.base import CompletionRequest, CompletionResponse, Message
from goalctl.providers.replay import RecordingProvider

class Live:
    name = "live"
    async def complete(self, request):
        return CompletionResponse(text="reply to " + request.messages[0].content, model="m")
    async def aclose(self):
        return None

async def main(path, who, sessions):
    for n in range(sessions):
        recorder = RecordingProvider(Live(), path)
        await recorder.complete(CompletionRequest("m", (Message("user", f"{who}-{n}"),)))
        await recorder.aclose()

asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
"""


def test_concurrent_recordings_lose_nothing(tmp_path: Path) -> None:
    cassette = tmp_path / "s.cassette.jsonl"
    sessions = 10
    children = [
        subprocess.Popen([sys.executable, "-c", RECORDER, str(cassette), who, str(sessions)])
        for who in ("a", "b", "c")
    ]
    try:
        codes = [child.wait(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert codes == [0, 0, 0]
    records = read_cassette(cassette)
    texts = sorted(r["response"]["text"] for r in records.values())
    assert texts == sorted(f"reply to {w}-{n}" for w in "abc" for n in range(sessions))
    assert {r["provider"] for r in records.values()} == {"live"}


# -- fuzz: arbitrary bytes and nesting give a clean result or a clean error, quickly -------------


class _Hung(BaseException):
    """Raised by the alarm: a BaseException, so that no `except Exception` can swallow it."""


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    def ring(signum: int, frame: object) -> None:
        raise _Hung

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Hung:
        pytest.fail(f"still running after {seconds}s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def nested(depth: int, opening: str) -> str:
    closing = {"[": "]", "{": "}"}[opening]
    inner = '"k": ' if opening == "{" else ""
    return (opening + inner) * depth + "1" + closing * depth


record_like = st.fixed_dictionaries(
    {"key": st.text(max_size=8) | st.integers()},
    optional={
        "version": st.integers(-2, 4) | st.booleans() | st.text(max_size=3),
        "provider": st.text(max_size=8),
        "response": gen.json_values()
        | st.fixed_dictionaries(
            {"text": st.text(max_size=10) | st.integers()},
            optional={
                "usage": gen.json_values(),
                "latency_s": gen.json_values(),
                "model": gen.json_values(),
            },
        ),
    },
)
cassette_lines = (
    st.binary(max_size=300)
    | record_like.map(lambda r: json.dumps(r).encode())
    | gen.json_values().map(lambda v: json.dumps(v).encode())
    | st.builds(nested, st.integers(0, 2000), st.sampled_from("[{")).map(str.encode)
    | st.builds(lambda n: b"[" * n, st.integers(0, 20_000))
)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.lists(cassette_lines, max_size=6))
def test_the_cassette_reader_gives_records_or_a_clean_error(lines: list[bytes]) -> None:
    error: GoalctlError | None = None
    records: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.cassette.jsonl"
        path.write_bytes(b"\n".join(lines))
        with alarm(5):
            try:
                records = read_cassette(path)
            except GoalctlError as exc:
                error = exc
    if error is not None:
        assert isinstance(error, ReadError)
        assert str(error).startswith(("cassette ", "cannot read cassette"))
    for key, record in records.items():
        assert record["key"] == key
        CompletionResponse.from_json(record["response"])  # replaying it cannot fail


def test_a_judge_named_in_config_is_replayed_too(
    tmp_path: Path, server: MessagesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.enqueue(Reply("Hello Ana"), Reply('{"pass": true, "score": 1, "reason": "greets"}'))
    path = scenario(
        tmp_path,
        """
        config: {judge_provider: anthropic, judge_model: claude-haiku-4-5}
        success_criteria:
          - {id: greets, description: Greets warmly, metric: llm_judge}
        cases:
          - {name: ana, input: {name: Ana}}
        prompt: "Greet {{ input.name }}"
        """,
    )
    recorded, replayed = record_then_replay(path, monkeypatch)
    assert recorded[:2] == (0, "achieved")
    assert replayed == recorded
    assert len(server.requests) == 2


def test_a_redacted_value_cannot_be_recovered_from_the_keys(
    tmp_path: Path, server: MessagesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.enqueue(Reply("Account checked."))
    path = scenario(
        tmp_path,
        """
        redact: ['ACCT-\\d+']
        success_criteria:
          - {id: checks, description: Checks, metric: output_contains, target: checked}
        cases:
          - {name: ana, input: {account: ACCT-991}}
        prompt: "Check account {{ input.account }}"
        """,
    )
    recorded, replayed = record_then_replay(path, monkeypatch)
    assert replayed == recorded
    [record] = read_jsonl(tmp_path / "s.cassette.jsonl")
    runs = (tmp_path / "state" / "runs").iterdir()
    calls = [call for run in runs for call in read_jsonl(run / "transcript.jsonl")]
    stored = json.dumps(
        record["request"], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert "ACCT-991" not in stored
    guesses = {
        hashlib.sha256(stored.replace("[REDACTED]", f"ACCT-{n:03}").encode()).hexdigest()[:32]
        for n in range(1000)
    }
    assert record["key"] not in guesses
    assert [call["key"] for call in calls] == [record["key"]] * 2


def test_a_version_1_cassette_keyed_by_the_request_as_sent_still_replays(
    tmp_path: Path, server: MessagesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.enqueue(Reply("Account checked."))
    path = scenario(
        tmp_path,
        """
        redact: ['ACCT-\\d+']
        success_criteria:
          - {id: checks, description: Checks, metric: output_contains, target: checked}
        cases:
          - {name: ana, input: {account: ACCT-991}}
        prompt: "Check account {{ input.account }}"
        """,
    )
    assert run_cli("run", "--record", str(path)).exit_code == 0
    cassette = tmp_path / "s.cassette.jsonl"
    [record] = read_jsonl(cassette)
    sent = json.dumps(record["request"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    sent = sent.replace("[REDACTED]", "ACCT-991")
    old_key = hashlib.sha256(sent.encode()).hexdigest()[:32]
    old = {"version": 1, "key": old_key, "response": record["response"]}
    cassette.write_text(json.dumps(old) + "\n")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    replayed = run_cli("run", "--provider", "replay", "--json", str(path))
    assert replayed.exit_code == 0, replayed.stdout
