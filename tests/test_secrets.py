"""The API key never reaches a file goalctl writes (DESIGN §10), on a real anthropic run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.messages_server import MessagesServer, Status

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
