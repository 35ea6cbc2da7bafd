"""The API key never reaches a file goalctl writes (DESIGN §10), on a real anthropic run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.chat_server import ChatServer
from tests.support.messages_server import MessagesServer, Reply, Status

KEY = "sk-ant-test-SENTINEL-9f8e7d6c5b4a"


def every_file(*roots: Path) -> list[Path]:
    return [path for root in roots if root.exists() for path in root.rglob("*") if path.is_file()]


def write_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "greet.yaml"
    path.write_text(
        "id: greet\nname: Greet\ndescription: Greet the user.\nprovider: anthropic\n"
        "model: claude-haiku-4-5\n"
        "success_criteria:\n"
        "  - {id: echoes, description: Echoes, metric: output_contains, target: echo}\n"
        "  - {id: judged, description: Judged, metric: llm_judge}\n"
        "cases: [{name: a, input: {who: Ana}}, {name: b, input: {who: Bo}}]\n"
    )
    return path


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesServer]:
    with MessagesServer() as running:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.url)
        yield running


def test_the_key_is_sent_but_never_written(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path
) -> None:
    scenario = write_scenario(tmp_path)
    reports = tmp_path / "reports"
    result = run_cli("run", "--record", "--report-dir", str(reports), "--json", str(scenario))
    assert result.exit_code == 1, result.stderr  # the echo judge gives no verdict: fails closed
    assert any(KEY in value for r in server.requests for value in r.headers.values())
    written = every_file(isolated_environment, reports, tmp_path)
    names = {p.name for p in written}
    assert {"state.json", "events.jsonl", "transcript.jsonl", "report.md", "report.json"} <= names
    assert "greet.cassette.jsonl" in names
    leaked = [str(p) for p in written if KEY.encode() in p.read_bytes()]
    assert leaked == []
    assert KEY not in result.stdout + result.stderr


def test_a_provider_error_message_never_carries_the_key(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path
) -> None:
    server.enqueue(Status(401), Status(401))
    result = run_cli("run", "--json", str(write_scenario(tmp_path)))
    assert result.exit_code == 3
    error = json.loads(result.stdout)["runs"][0]["error"]
    assert "authentication failed (401)" in error
    assert KEY not in result.stdout + result.stderr
    assert [
        str(p) for p in every_file(isolated_environment) if KEY.encode() in p.read_bytes()
    ] == []


def test_a_missing_key_stops_the_run_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_environment: Path
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = run_cli("run", str(write_scenario(tmp_path)))
    assert result.exit_code == 2
    assert result.stderr == (
        "goalctl: error: ANTHROPIC_API_KEY is not set; export it, or run offline with "
        "--provider scripted or replay\n"
    )
    assert not (isolated_environment / "runs").exists()


def test_the_cli_default_concurrency_is_the_runner_default(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without --concurrency and without a project file, a run gets the runner's default.
    from goalctl.planning import DEFAULT_CONCURRENCY

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "s.yaml"
    path.write_text(
        "id: demo\nname: Demo\ndescription: D.\nprovider: scripted\nresponses: [ok]\n"
        "success_criteria: [{id: ok, description: Ok, metric: output_contains, target: ok}]\n"
    )
    assert run_cli("run", str(path)).exit_code == 0
    [run] = (isolated_environment / "runs").iterdir()
    state = json.loads((run / "state.json").read_text())
    assert state["options"]["concurrency"] == DEFAULT_CONCURRENCY


def test_a_key_with_a_trailing_newline_is_stripped_and_never_written(
    tmp_path: Path,
    server: MessagesServer,
    isolated_environment: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY + " \n")
    server.enqueue(*[Reply(f"echo: you sent {KEY}") for _ in range(4)])
    scenario = write_scenario(tmp_path)
    reports = tmp_path / "reports"
    result = run_cli("run", "--record", "--report-dir", str(reports), "--json", str(scenario))
    assert result.exit_code == 1, result.stderr  # the judge's reply is not a verdict
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {KEY}"}
    written = every_file(isolated_environment, reports, tmp_path)
    assert "greet.cassette.jsonl" in {p.name for p in written}
    assert [str(p) for p in written if KEY.encode() in p.read_bytes()] == []
    assert KEY not in result.stdout + result.stderr


def test_a_reply_holding_the_key_is_redacted_and_the_run_goes_on(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path
) -> None:
    server.enqueue(
        Reply(f"echo: your key is {KEY}"),
        Reply(f'{{"pass": true, "score": 1, "reason": "it says {KEY}"}}'),
    )
    scenario = write_scenario(tmp_path)
    scenario.write_text(scenario.read_text().replace("{name: b, input: {who: Bo}}", ""))
    result = run_cli("run", "--json", str(scenario))
    assert result.exit_code == 0, result.stdout + result.stderr
    run_dir = next((isolated_environment / "runs").iterdir())
    report = json.loads((run_dir / "report.json").read_text())
    assert report["cases"][0]["output"] == "echo: your key is [REDACTED]"
    written = every_file(isolated_environment)
    assert [str(p) for p in written if KEY.encode() in p.read_bytes()] == []


@pytest.mark.parametrize("inner", ["\n", "\r\n", " ", "\t", "\x7f", "é"])
def test_a_key_with_whitespace_inside_is_refused_without_echoing_it(
    tmp_path: Path,
    server: MessagesServer,
    isolated_environment: Path,
    monkeypatch: pytest.MonkeyPatch,
    inner: str,
) -> None:
    first, second = KEY[:16], KEY[16:]
    monkeypatch.setenv("ANTHROPIC_API_KEY", first + inner + second)
    result = run_cli("run", str(write_scenario(tmp_path)))
    assert result.exit_code == 2
    assert result.stderr == (
        "goalctl: error: ANTHROPIC_API_KEY has whitespace, a control character or a non-ASCII "
        "character inside it (at character 17), so it cannot be a key; check how it was set "
        "(a line break copied with it?)\n"
    )
    assert server.requests == []
    assert not (isolated_environment / "runs").exists()


def test_an_openai_key_quoted_in_a_reply_is_never_written(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_key = "sk-openai-test-SENTINEL-1a2b3c4d5e"
    scenario = tmp_path / "greet.yaml"
    scenario.write_text(
        "id: greet\nname: Greet\ndescription: Greet the user.\nprovider: openai\n"
        "model: gpt-test\npricing: {gpt-test: {input: 1, output: 1}}\n"
        "success_criteria:\n"
        "  - {id: echoes, description: Echoes, metric: output_contains, target: key}\n"
    )
    monkeypatch.setenv("OPENAI_API_KEY", openai_key)
    with ChatServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        server.enqueue(Reply(f"your key is {openai_key}"))
        result = run_cli("run", "--record", "--json", str(scenario))
    assert result.exit_code == 0, result.stdout + result.stderr
    run_dir = next((isolated_environment / "runs").iterdir())
    report = json.loads((run_dir / "report.json").read_text())
    assert report["cases"][0]["output"] == "your key is [REDACTED]"
    written = every_file(isolated_environment, tmp_path)
    assert "greet.cassette.jsonl" in {p.name for p in written}
    assert [str(p) for p in written if openai_key.encode() in p.read_bytes()] == []
