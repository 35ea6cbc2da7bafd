"""The http agent's ``serve``: goalctl starts the team's service for the length of a run, on a
free port when the url says ``${PORT}``, and leaves nothing running afterwards, even after
``kill -9`` of its worker."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from goalctl.state import RunStore
from tests.conftest import run_cli
from tests.test_command_agent import copy_agent
from tests.test_command_agent_gateway import process_gone
from tests.test_lifecycle import detach, wait_for

HEADER = "id: svc\nname: Service\ndescription: My own service.\nprovider: scripted\nagent: http\n"


def served_scenario(
    tmp_path: Path, mode: str, *, url: str = "http://127.0.0.1:${PORT}/reply", extra: str = ""
) -> Path:
    app = copy_agent(tmp_path, "served_app.py")
    log = tmp_path / "service.log"
    serve = json.dumps([sys.executable, app, mode, str(log)])
    path = tmp_path / "service.yaml"
    path.write_text(
        HEADER
        + dedent(
            f"""\
            config:
              serve: {serve}
              url: {url}
              output: /reply
              serve_timeout_s: 10
              max_retries: 1
            {extra}
            success_criteria:
              - {{id: ok, description: Says ok, metric: output_contains, target: ok}}
            cases: [{{name: first}}, {{name: second}}]
            """
        )
    )
    return path


def started(tmp_path: Path) -> list[tuple[int, int]]:
    """(pid, port) of every start of the service, in order."""
    log = tmp_path / "service.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [(int(pid), int(port)) for pid, port in (line.split() for line in lines)]


def report(state: Path) -> dict[str, Any]:
    [run] = (state / "runs").iterdir()
    return json.loads((run / "report.json").read_text())  # type: ignore[no-any-return]


def events(state: Path) -> str:
    [run] = (state / "runs").iterdir()
    return (run / "events.jsonl").read_text()


def test_the_service_starts_on_a_free_port_serves_the_cases_and_is_stopped(
    tmp_path: Path, isolated_environment: Path
) -> None:
    result = run_cli("run", str(served_scenario(tmp_path, "ok")))

    assert result.exit_code == 0, result.stdout + result.stderr
    outputs = {case["name"]: case["output"] for case in report(isolated_environment)["cases"]}
    assert outputs == {"first": "ok first", "second": "ok second"}
    [(pid, port)] = started(tmp_path)
    assert port > 0
    assert process_gone(pid), "the service outlived its run"
    logged = events(isolated_environment)
    assert f"127.0.0.1:{port} accepts connections" in logged
    assert "serve: stopped" in logged


def test_a_fixed_port_that_is_taken_already_is_refused_before_any_case(
    tmp_path: Path, isolated_environment: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = served_scenario(tmp_path, "ok", url=f"http://127.0.0.1:{port}/reply")

        result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    assert f"serve: something already listens on 127.0.0.1:{port}" in result.stdout
    assert started(tmp_path) == [], "the service was started over a port in use"


def test_a_service_that_exits_before_listening_errors_the_run_with_its_output(
    tmp_path: Path, isolated_environment: Path
) -> None:
    result = run_cli("run", str(served_scenario(tmp_path, "exit")))

    assert result.exit_code == 3, result.stdout + result.stderr
    assert "exited before it accepted connections (with status 3)" in result.stdout
    assert "cannot open the database: no such file" in result.stdout
    assert report(isolated_environment)["cases"] == []


def test_a_service_that_never_listens_errors_the_run_after_serve_timeout_s_and_is_killed(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = served_scenario(tmp_path, "silent")
    path.write_text(path.read_text().replace("serve_timeout_s: 10", "serve_timeout_s: 1"))

    began = time.monotonic()
    result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    assert "did not accept connections" in result.stdout
    assert "within serve_timeout_s (1s)" in result.stdout
    assert time.monotonic() - began < 20
    [(pid, _)] = started(tmp_path)
    assert process_gone(pid)


def test_a_service_that_dies_mid_run_errors_the_later_cases_without_retrying(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = served_scenario(tmp_path, "die")

    result = run_cli("run", "--concurrency", "1", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    first, second = report(isolated_environment)["cases"]
    assert first["output"] == "ok first"
    assert "exited during the run (with status 0)" in second["error"]
    assert "served one request, leaving" in second["error"]
    assert "retrying" not in events(isolated_environment)


def test_a_serve_command_that_does_not_exist_is_a_clear_run_error(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = served_scenario(tmp_path, "ok")
    path.write_text(
        path.read_text().replace(
            f"serve: [{json.dumps(sys.executable)}", "serve: [no-such-server-program"
        )
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    assert "serve: command not found: 'no-such-server-program'" in result.stdout


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "{url: 'http://127.0.0.1:${PORT}/reply'}",
            "config.url: 'http://127.0.0.1:${PORT}/reply' says ${PORT}, which only serve sets",
        ),
        (
            "{url: 'https://agents.example.com/reply', serve: [python3, app.py]}",
            "config.url: 'https://agents.example.com/reply' is not on this machine",
        ),
        ("{url: 'http://127.0.0.1:${PORT}/reply', serve: []}", "config.serve: is an empty command"),
    ],
)
def test_validate_refuses_a_serve_config_that_cannot_work(
    tmp_path: Path, config: str, message: str
) -> None:
    path = tmp_path / "service.yaml"
    path.write_text(
        HEADER
        + f"config: {config}\n"
        + "success_criteria: [{id: ok, description: Ok, metric: output_contains, target: ok}]\n"
        + "cases: [{name: a}]\n"
    )

    result = run_cli("validate", str(path))

    assert result.exit_code == 1
    assert message in result.stdout, result.stdout


def test_kill_9_of_the_worker_leaves_no_service_process(
    tmp_path: Path, isolated_environment: Path
) -> None:
    store = RunStore(isolated_environment)
    # A slow case keeps the run going while the service is up.
    path = served_scenario(tmp_path, "slow", extra="  timeout_s: 120")
    run_id = detach(path)
    wait_for(store, run_id, lambda state: bool(started(tmp_path)))
    [(pid, _)] = started(tmp_path)
    worker = store.load(run_id).pid
    assert worker is not None

    try:
        os.kill(worker, signal.SIGKILL)
        assert process_gone(pid), "the service outlived goalctl's worker"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
