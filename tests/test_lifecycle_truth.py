"""Lifecycle verbs tell the truth, and processes goalctl cannot prove it owns are left alone.

Issue 9 item 8 (exit codes and checks of stop/start/cleanup, a worker that dies on start) and
issue 10 item 9 (unverifiable pids, runs orphaned before their worker spawned, racing starts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from goalctl.planning import scenario_digest
from goalctl.state import RunState, RunStatus, RunStore, process_start_time
from tests.conftest import run_cli
from tests.test_lifecycle import calls_per_case, detach, slow_scenario, wait_for

RUN = "slow-0badc0de"


def stopped_state(scenario: Path, **changes: object) -> RunState:
    """A stopped run of ``scenario`` as `goalctl run --detach` + `stop` would leave it."""
    values: dict[str, object] = {
        "run_id": RUN,
        "goal_id": "slow",
        "goal_version": "1.0.0",
        "goal_name": "Slow",
        "scenario": str(scenario.resolve()),
        "status": RunStatus.STOPPED,
        "provider": "scripted",
        "model": "scripted-1",
        "agent": "llm",
        "cases_total": 1,
        "options": {"concurrency": 2, "scenario_sha256": scenario_digest(scenario)},
    }
    values.update(changes)
    return RunState(**values)  # type: ignore[arg-type]


@contextmanager
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process that leads its own process group, as a detached worker would."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        yield child
    finally:
        child.kill()
        child.wait()


# -- exit codes of the lifecycle verbs (issue 9 item 8) ------------------------------------------


def finished_run(tmp_path: Path) -> str:
    result = run_cli("run", "--json", str(slow_scenario(tmp_path, latency_ms=0, cases=1)))
    run_id: str = json.loads(result.stdout)["runs"][0]["run_id"]
    return run_id


def test_stopping_a_finished_run_is_a_no_op_that_says_so(tmp_path: Path) -> None:
    run_id = finished_run(tmp_path)
    for _ in range(2):
        stopped = run_cli("stop", "--yes", run_id)
        assert (stopped.exit_code, stopped.stdout, stopped.stderr) == (
            0,
            f"run {run_id} has already completed; nothing to stop\n",
            "",
        )


def test_stopping_a_finished_run_needs_no_confirmation(tmp_path: Path) -> None:
    # Nothing will be stopped, so there is nothing to confirm: no --yes, no terminal, exit 0.
    run_id = finished_run(tmp_path)
    stopped = run_cli("stop", run_id)
    assert (stopped.exit_code, stopped.stdout, stopped.stderr) == (
        0,
        f"run {run_id} has already completed; nothing to stop\n",
        "",
    )


def test_starting_a_finished_run_is_refused_with_exit_2(tmp_path: Path) -> None:
    run_id = finished_run(tmp_path)
    started = run_cli("start", run_id)
    assert (started.exit_code, started.stderr) == (
        2,
        f"goalctl: error: run {run_id} has already completed; it cannot be resumed "
        "(start a new run with `goalctl run`)\n",
    )


def test_stopping_a_stopped_run_twice_is_a_no_op(
    tmp_path: Path, isolated_environment: Path
) -> None:
    scenario = slow_scenario(tmp_path, cases=1)
    RunStore(isolated_environment).create(stopped_state(scenario))
    stopped = run_cli("stop", "--yes", RUN)
    assert (stopped.exit_code, stopped.stdout) == (
        0,
        f"run {RUN} has already been stopped; nothing to stop\n",
    )


def test_cleanup_of_a_running_run_is_refused_with_exit_2(
    tmp_path: Path, isolated_environment: Path
) -> None:
    store = RunStore(isolated_environment)
    run_id = detach(slow_scenario(tmp_path, latency_ms=300))
    wait_for(store, run_id, lambda s: s.status is RunStatus.RUNNING)
    refused = run_cli("cleanup", "--yes", run_id)
    assert (refused.exit_code, refused.stderr) == (
        2,
        f"{run_id} is running; stop it first or use --force\n",
    )
    assert run_cli("cleanup", "--yes", "--force", run_id).exit_code == 0


def test_start_checks_the_api_key_before_spawning_a_worker(
    tmp_path: Path, isolated_environment: Path
) -> None:
    scenario = slow_scenario(tmp_path, cases=1)
    store = RunStore(isolated_environment)
    store.create(stopped_state(scenario, provider="anthropic", model="claude-sonnet-4-5"))
    started = run_cli("start", RUN)
    assert started.exit_code == 2, started
    assert started.stderr.startswith("goalctl: error: ")
    assert "ANTHROPIC_API_KEY" in started.stderr
    assert store.load(RUN).status is RunStatus.STOPPED
    assert not (store.run_dir(RUN) / "worker.log").exists()  # no worker was spawned


def test_start_checks_the_provider_name_before_spawning_a_worker(
    tmp_path: Path, isolated_environment: Path
) -> None:
    scenario = slow_scenario(tmp_path, cases=1)
    store = RunStore(isolated_environment)
    store.create(stopped_state(scenario, provider="no-such-provider"))
    started = run_cli("start", RUN)
    assert started.exit_code == 2, started
    assert "no-such-provider" in started.stderr
    assert not (store.run_dir(RUN) / "worker.log").exists()


def test_a_worker_that_dies_on_start_leaves_its_reason_in_status_and_logs(
    tmp_path: Path, isolated_environment: Path
) -> None:
    scenario = slow_scenario(tmp_path, cases=1)
    store = RunStore(isolated_environment)
    store.create(stopped_state(scenario, provider="anthropic", model="claude-sonnet-4-5"))
    worker = run_cli("_worker", RUN)  # as if the key vanished between `start` and the worker
    assert worker.exit_code == 2
    state = store.load(RUN)
    assert state.status is RunStatus.INTERRUPTED
    assert state.error is not None
    assert "ANTHROPIC_API_KEY" in state.error
    status = run_cli("status", RUN)
    assert f"Error:    the worker could not start: {state.error.split(': ', 1)[1]}" in (
        status.stdout
    )
    logs = run_cli("logs", RUN)
    assert logs.exit_code == 0
    assert "ERROR the worker could not start: " in logs.stdout
    assert "ANTHROPIC_API_KEY" in logs.stdout


# -- processes (issue 10 item 9) -----------------------------------------------------------------


def test_stop_never_signals_a_pid_without_a_start_time(
    tmp_path: Path, isolated_environment: Path
) -> None:
    scenario = slow_scenario(tmp_path, cases=1)
    store = RunStore(isolated_environment)
    with stranger() as child:
        store.create(stopped_state(scenario, status=RunStatus.RUNNING, pid=child.pid))
        assert store.load(RUN).status is RunStatus.INTERRUPTED  # nothing proves it is ours
        stopped = run_cli("stop", "--yes", "--timeout", "0.5", RUN)
        assert stopped.exit_code == 0, stopped
        time.sleep(0.2)
        assert child.poll() is None, "an unrelated process was signalled"
        assert store.load(RUN).status is RunStatus.STOPPED


def test_cleanup_force_never_signals_a_pid_without_a_start_time(
    tmp_path: Path, isolated_environment: Path
) -> None:
    scenario = slow_scenario(tmp_path, cases=1)
    store = RunStore(isolated_environment)
    with stranger() as child:
        store.create(stopped_state(scenario, status=RunStatus.RUNNING, pid=child.pid))
        assert run_cli("cleanup", "--yes", "--force", RUN).exit_code == 0
        time.sleep(0.2)
        assert child.poll() is None, "an unrelated process was signalled"


CREATE_AND_DIE = """
import os, sys
from goalctl.state import RunState, RunStore
RunStore(sys.argv[1]).create(RunState(
    run_id=sys.argv[2], goal_id="slow", goal_version="1.0.0", goal_name="Slow",
    scenario=sys.argv[3], provider="scripted", model="scripted-1", agent="llm",
    cases_total=1, options={"scenario_sha256": sys.argv[4]},
))
os._exit(0)  # killed before it could spawn the worker
"""


def test_a_run_whose_creator_died_before_spawning_reads_interrupted(
    tmp_path: Path, isolated_environment: Path
) -> None:
    scenario = slow_scenario(tmp_path, latency_ms=0, cases=1)
    args = [str(isolated_environment), RUN, str(scenario.resolve()), scenario_digest(scenario)]
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CREATE_AND_DIE), *args], check=True, timeout=60
    )
    store = RunStore(isolated_environment)
    assert store.load(RUN).status is RunStatus.INTERRUPTED
    follow = run_cli("logs", "--follow", RUN)  # returns: the run is not active
    assert follow.exit_code == 0
    started = run_cli("start", RUN)
    assert started.exit_code == 0, started.stderr
    wait_for(store, RUN, lambda s: s.status is RunStatus.COMPLETED)


def test_a_pending_run_owned_by_a_live_creator_stays_pending(
    tmp_path: Path, isolated_environment: Path
) -> None:
    scenario = slow_scenario(tmp_path, cases=1)
    store = RunStore(isolated_environment)
    store.create(stopped_state(scenario, status=RunStatus.PENDING))
    state = store.load(RUN)
    assert state.status is RunStatus.PENDING
    assert (state.pid, state.pid_start_time) == (os.getpid(), process_start_time(os.getpid()))


def test_two_simultaneous_starts_spawn_exactly_one_worker(
    tmp_path: Path, isolated_environment: Path
) -> None:
    store = RunStore(isolated_environment)
    scenario = slow_scenario(tmp_path, latency_ms=100, cases=4)
    run_id = detach(scenario)
    assert run_cli("stop", "--yes", run_id).exit_code == 0
    env = {**os.environ, "GOALCTL_STATE_DIR": str(isolated_environment)}
    argv = [sys.executable, "-m", "goalctl", "start", run_id]
    starts = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [(p.wait(timeout=60), *p.communicate()) for p in starts]
    resumed = [o for o in outputs if o[1].startswith(f"resumed {run_id}")]
    refused = [o for o in outputs if not o[1].startswith(f"resumed {run_id}")]
    assert len(resumed) == 1, outputs
    assert len(refused) == 1, outputs
    code, out, err = refused[0]
    assert (code, err) == (0, ""), outputs
    assert out.startswith(f"run {run_id} is already running"), outputs
    wait_for(store, run_id, lambda s: s.status is RunStatus.COMPLETED)
    assert set(calls_per_case(store.run_dir(run_id)).values()) == {1}
    assert "already running" not in (store.run_dir(run_id) / "worker.log").read_text()


def test_a_detached_worker_that_dies_on_start_leaves_its_reason_in_status(
    tmp_path: Path, isolated_environment: Path
) -> None:
    from goalctl.lifecycle import spawn_worker

    scenario = slow_scenario(tmp_path, cases=1)
    store = RunStore(isolated_environment)
    store.create(stopped_state(scenario, status=RunStatus.PENDING, provider="no-such-provider"))
    spawn_worker(store, RUN)  # as `start` does, but past its checks
    wait_for(store, RUN, lambda s: s.error is not None)
    state = store.load(RUN)
    assert state.status is RunStatus.INTERRUPTED
    assert state.error is not None
    assert state.error.startswith("the worker could not start: ")
    assert "no-such-provider" in state.error
    assert f"Error:    {state.error}" in run_cli("status", RUN).stdout
    assert f"ERROR {state.error}" in run_cli("logs", RUN).stdout
