"""A user's agent in a detached run: stop kills its process group, start resumes, kill -9 of
goalctl's worker leaves no agent behind (the watchdog)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from goalctl.state import TERMINAL, RunStatus, RunStore
from tests.conftest import run_cli
from tests.test_command_agent import copy_agent, scenario
from tests.test_command_agent_gateway import process_gone
from tests.test_lifecycle import calls_per_case, detach, wait_for

CASES = 3


def sleepy_scenario(tmp_path: Path, sleep_s: float, cases: int = CASES) -> Path:
    agent = copy_agent(tmp_path, "sleepy_agent.py")
    starts = tmp_path / "agent-log" / "starts.txt"
    starts.parent.mkdir()
    rows = ", ".join(f"{{name: c{i}}}" for i in range(cases))
    return scenario(
        tmp_path,
        f"""
        config:
          command: [{json.dumps(sys.executable)}, {json.dumps(agent)}]
          env: {{STARTS: {json.dumps(str(starts))}, SLEEP_S: "{sleep_s}"}}
        success_criteria:
          - {{id: ok, description: Says ok, metric: output_contains, target: ok}}
        responses: [ok]
        cases: [{rows}]
        """,
    )


def starts_of(tmp_path: Path) -> list[str]:
    path = tmp_path / "agent-log" / "starts.txt"
    return path.read_text().split() if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running_agent(tmp_path: Path, store: RunStore, run_id: str) -> tuple[str, int] | None:
    """A case whose agent has started, is alive and has not finished (else None)."""
    finished = {line["name"] for line in store.read_checkpoint(run_id)}
    for case in reversed(starts_of(tmp_path)):
        pid_file = tmp_path / "agent-log" / f"{case}.pid"
        if case not in finished and pid_file.exists() and pid_file.read_text():
            pid = int(pid_file.read_text())
            if alive(pid):
                return case, pid
    return None


def test_stop_kills_the_agent_and_start_reruns_only_the_stopped_case(
    tmp_path: Path, isolated_environment: Path
) -> None:
    store = RunStore(isolated_environment)
    run_id = detach(sleepy_scenario(tmp_path, sleep_s=2.0), "--concurrency", "1")
    found: list[tuple[str, int]] = []

    def one_done_and_an_agent_running(state: object) -> bool:
        if len(store.read_checkpoint(run_id)) < 1:
            return False
        agent = running_agent(tmp_path, store, run_id)
        found[:] = [agent] if agent else []
        return agent is not None

    wait_for(store, run_id, one_done_and_an_agent_running)
    [(stopped_case, pid)] = found

    stopped = run_cli("stop", "--yes", run_id)

    assert stopped.exit_code == 0, stopped.stderr
    assert store.load(run_id).status is RunStatus.STOPPED
    assert process_gone(pid), "the stopped case's agent is still running"
    finished = {line["name"] for line in store.read_checkpoint(run_id)}
    assert stopped_case not in finished

    started = run_cli("start", run_id)
    assert started.exit_code == 0, started.stderr
    wait_for(store, run_id, lambda s: s.status in TERMINAL)
    final = store.load(run_id)
    assert (final.status, final.verdict, final.cases_done) == (
        RunStatus.COMPLETED,
        "achieved",
        CASES,
    )
    starts = Counter(starts_of(tmp_path))
    assert {case: starts[case] for case in finished} == dict.fromkeys(finished, 1)
    assert starts[stopped_case] == 2
    calls = calls_per_case(store.run_dir(run_id))
    assert {case: calls[case] for case in finished} == dict.fromkeys(finished, 1)


def test_kill_9_of_the_worker_leaves_no_agent_process(
    tmp_path: Path, isolated_environment: Path
) -> None:
    store = RunStore(isolated_environment)
    run_id = detach(sleepy_scenario(tmp_path, sleep_s=60, cases=1))
    found: list[tuple[str, int]] = []

    def agent_running(state: object) -> bool:
        agent = running_agent(tmp_path, store, run_id)
        found[:] = [agent] if agent else []
        return agent is not None

    wait_for(store, run_id, agent_running)
    [(_, pid)] = found
    worker = store.load(run_id).pid
    assert worker is not None

    try:
        os.kill(worker, signal.SIGKILL)
        assert process_gone(pid), "the agent outlived goalctl's worker"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
