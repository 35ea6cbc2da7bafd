"""Errors that would hit every case stop the run at the first one (issue 9, item 9).

A rejected key (401/403), an unknown model (404) or a request the API refuses (400) fails the
same way for every case, so the run stops after the first with one message and exit 3, and
says how many cases were not run. Tested with the real SDK against the local Messages API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent

import pytest

from goalctl.errors import ExitCode
from tests.conftest import run_cli
from tests.support.chat_server import ChatServer
from tests.support.messages_server import MessagesServer, RecordedRequest, Status

CASES = 6


@pytest.fixture
def api(isolated_environment: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesServer]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-NOT-A-REAL-KEY")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with MessagesServer() as running:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.url)
        yield running


def live_scenario(tmp_path: Path) -> Path:
    cases = ", ".join(f"{{name: c{i}}}" for i in range(CASES))
    path = tmp_path / "live.yaml"
    path.write_text(
        dedent(
            f"""\
            id: live
            name: Live
            description: A goal run against the local Messages API.
            provider: anthropic
            model: claude-test
            success_criteria:
              - {{id: any, description: Anything, metric: output_contains, target: ""}}
            cases: [{cases}]
            """
        )
    )
    return path


def answer_with(code: int) -> object:
    def responder(request: RecordedRequest) -> Status:
        return Status(code)

    return responder


def report_of(isolated_environment: Path) -> dict[str, object]:
    [directory] = (isolated_environment / "runs").iterdir()
    report: dict[str, object] = json.loads((directory / "report.json").read_text())
    return report


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (401, "authentication failed (401)"),
        (403, "permission denied (403)"),
        (404, "not found (404)"),
        (400, "bad request (400)"),
    ],
)
@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_an_error_that_hits_every_case_stops_the_run_at_the_first(
    api: MessagesServer,
    tmp_path: Path,
    isolated_environment: Path,
    code: int,
    words: str,
    concurrency: str,
) -> None:
    api.responder = answer_with(code)  # type: ignore[assignment]
    result = run_cli("run", "--concurrency", concurrency, str(live_scenario(tmp_path)))
    assert result.exit_code == ExitCode.RUN_ERROR, result.stderr
    # Calls already in flight may finish, but no new case starts after the first error.
    assert len(api.requests) <= int(concurrency)
    report = report_of(isolated_environment)
    assert report["verdict"] == "error"
    error = str(report["error"])
    assert words in error
    assert "stopped the run: this error would fail every case" in error
    assert error.endswith("cases not run")
    totals = report["totals"]
    assert isinstance(totals, dict)
    assert f"{CASES - totals['cases_run']} of {CASES} cases not run" in error
    # The case that met the error ran, and errored: it is in the report, not among those
    # not run (README: "so 9 of 10 cases not run").
    assert 1 <= totals["cases_errored"] == totals["cases_run"] < CASES
    # One message, not one per case.
    assert (result.stdout + result.stderr).count(words) == 1, result.stdout + result.stderr
    [directory] = (isolated_environment / "runs").iterdir()
    state = json.loads((directory / "state.json").read_text())
    assert state["error"] == error
    assert state["status"] == "failed"


def test_a_server_error_is_still_one_error_per_case(
    api: MessagesServer, tmp_path: Path, isolated_environment: Path
) -> None:
    api.responder = answer_with(500)  # type: ignore[assignment]
    result = run_cli("run", "--concurrency", "1", str(live_scenario(tmp_path)))
    assert result.exit_code == ExitCode.RUN_ERROR, result.stderr
    report = report_of(isolated_environment)
    totals = report["totals"]
    assert isinstance(totals, dict)
    assert totals["cases_run"] == CASES
    assert totals["cases_errored"] == CASES


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (401, "authentication failed (401)"),
        (403, "permission denied (403)"),
        (404, "not found (404)"),
        (400, "bad request (400)"),
    ],
)
def test_the_openai_provider_stops_the_run_at_the_first_too(
    tmp_path: Path,
    isolated_environment: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    words: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-NOT-A-REAL-KEY")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    scenario = live_scenario(tmp_path)
    scenario.write_text(scenario.read_text().replace("provider: anthropic", "provider: openai"))
    with ChatServer() as api:
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        api.responder = answer_with(code)  # type: ignore[assignment]
        result = run_cli("run", "--concurrency", "1", str(scenario))
        assert result.exit_code == ExitCode.RUN_ERROR, result.stderr
        assert len(api.requests) == 1
    error = str(report_of(isolated_environment)["error"])
    assert f"openai: {words}" in error
    assert error.endswith(f"{CASES - 1} of {CASES} cases not run")
    totals = report_of(isolated_environment)["totals"]
    assert isinstance(totals, dict)
    assert (totals["cases_run"], totals["cases_errored"]) == (1, 1)
