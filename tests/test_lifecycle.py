"""Durable runs with real worker processes: detach, stop, start, kill -9, follow, cleanup."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from goalctl.state import TERMINAL, RunStatus, RunStore
from tests.conftest import run_cli

CASES = 8


def slow_scenario(tmp_path: Path, latency_ms: int = 150, cases: int = CASES) -> Path:
    rows = ", ".join(f"{{name: c{i}}}" for i in range(cases))
    path = tmp_path / "slow.yaml"
    path.write_text(
        "id: slow\nname: Slow\ndescription: Cases that take a while.\nprovider: scripted\n"
        f"provider_options: {{latency_ms: {latency_ms}}}\n"
        "success_criteria: [{id: ok, description: Says ok, metric: output_contains, target: ok}]\n"
        f"responses: [ok]\ncases: [{rows}]\n"
    )
    return path


def detach(path: Path, *extra: str) -> str:
    result = run_cli("run", "--detach", "--concurrency", "2", *extra, str(path))
    assert result.exit_code == 0, result.stderr
    [run_id] = result.stdout.split()
    return run_id


def wait_for(store: RunStore, run_id: str, predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = store.load(run_id)
        if predicate(state):  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out; run is {store.load(run_id).status}")


def calls_per_case(run_dir: Path) -> Counter[str]:
    lines = (run_dir / "transcript.jsonl").read_text().splitlines()
    return Counter(json.loads(line)["case"] for line in lines)


def test_detach_stop_start_completes_without_running_a_case_twice(
    tmp_path: Path, isolated_environment: Path
) -> None:
    store = RunStore(isolated_environment)
    run_id = detach(slow_scenario(tmp_path))
    wait_for(
        store,
        run_id,
        lambda s: s.status is RunStatus.RUNNING and len(store.read_checkpoint(run_id)) >= 2,
    )
    assert run_cli("status", run_id).stdout.splitlines()[2] == "Status:   running"

    stopped = run_cli("stop", "--yes", run_id)
    assert stopped.exit_code == 0, stopped.stderr
    state = store.load(run_id)
    assert state.status is RunStatus.STOPPED
    finished = {line["name"] for line in store.read_checkpoint(run_id)}
    assert 2 <= len(finished) < CASES
    assert stopped.stdout == (
        f"stopped {run_id} ({state.cases_done}/{CASES} cases finished); `goalctl start {run_id}` resumes it\n"
    )

    started = run_cli("start", run_id)
    assert started.exit_code == 0, started.stderr
    wait_for(store, run_id, lambda s: s.status in TERMINAL)
    final = store.load(run_id)
    assert (final.status, final.verdict, final.cases_done) == (
        RunStatus.COMPLETED,
        "achieved",
        CASES,
    )
    run_dir = store.run_dir(run_id)
    assert calls_per_case(run_dir) == Counter({f"c{i}": 1 for i in range(CASES)})
    report = json.loads((run_dir / "report.json").read_text())
    assert [case["name"] for case in report["cases"]] == [f"c{i}" for i in range(CASES)]
    events = [e["message"] for e in store.read_events(run_id)[0]]
    assert f"resumed: {len(finished)} of {CASES} cases already finished" in events


def test_kill_9_at_random_moments_never_tears_a_file_and_start_finishes(
    tmp_path: Path, isolated_environment: Path
) -> None:
    store = RunStore(isolated_environment)
    scenario = slow_scenario(tmp_path, latency_ms=40, cases=6)
    chooser = random.Random(20261121)
    for trial in range(8):
        run_id = detach(scenario)
        wait_for(store, run_id, lambda s: s.pid is not None)
        time.sleep(chooser.uniform(0.0, 0.6))
        pid = store.load(run_id).pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):  # it may have finished already
                os.kill(pid, signal.SIGKILL)
        wait_for(store, run_id, lambda s: s.status is not RunStatus.RUNNING)
        run_dir = store.run_dir(run_id)
        json.loads((run_dir / "state.json").read_text())  # never torn
        for name in ("events.jsonl", "checkpoint.jsonl", "transcript.jsonl"):
            if (run_dir / name).exists():
                lines = (run_dir / name).read_text().splitlines()
                for line in lines[:-1]:
                    json.loads(line)  # only the last line may be torn
        state = store.load(run_id)
        assert state.status in (RunStatus.INTERRUPTED, RunStatus.COMPLETED), f"trial {trial}"
        if state.status is RunStatus.INTERRUPTED:
            assert run_cli("start", run_id).exit_code == 0
            wait_for(store, run_id, lambda s: s.status in TERMINAL)
        final = store.load(run_id)
        assert (final.status, final.cases_done) == (RunStatus.COMPLETED, 6), f"trial {trial}"
        names = [line["name"] for line in store.read_checkpoint(run_id)]
        assert sorted(names) == [f"c{i}" for i in range(6)], f"trial {trial}: each case once"


def test_logs_follow_exits_when_the_run_ends(tmp_path: Path, isolated_environment: Path) -> None:
    run_id = detach(slow_scenario(tmp_path, latency_ms=60))
    follow = subprocess.run(
        [
            sys.executable,
            "-m",
            "goalctl",
            "--state-dir",
            str(isolated_environment),
            "logs",
            "-f",
            run_id,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert follow.returncode == 0, follow.stderr
    lines = follow.stdout.splitlines()
    assert lines[-1].endswith("verdict: achieved (score 100%)")
    assert sum("case c" in line for line in lines) == CASES


def test_ctrl_c_stops_a_foreground_run_cleanly(tmp_path: Path, isolated_environment: Path) -> None:
    scenario = slow_scenario(tmp_path, latency_ms=200, cases=20)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "goalctl",
            "--state-dir",
            str(isolated_environment),
            "run",
            "--concurrency",
            "1",
            str(scenario),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = RunStore(isolated_environment)
    deadline = time.monotonic() + 30
    while not list(store.list()) or not store.read_checkpoint(store.list()[0].run_id):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 130
    [state] = store.list()
    assert state.status is RunStatus.STOPPED
    assert 1 <= state.cases_done < 20
    lines = out.splitlines()
    assert f"{state.run_id}: stopped — {state.cases_done}/20 cases finished" in lines
    assert lines[-1] == f"  goalctl start {state.run_id}"


class TestStopAndStart:
    def test_stop_asks_for_yes_without_a_terminal(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        store = RunStore(isolated_environment)
        run_id = detach(slow_scenario(tmp_path, latency_ms=300))
        result = run_cli("stop", run_id)
        assert (result.exit_code, result.stderr) == (
            2,
            f"goalctl: error: Stop run {run_id}: confirm with --yes (no terminal to ask on)\n",
        )
        assert run_cli("stop", "--yes", run_id).exit_code == 0
        assert store.load(run_id).status is RunStatus.STOPPED

    def test_a_changed_scenario_is_not_resumed(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        store = RunStore(isolated_environment)
        scenario = slow_scenario(tmp_path, latency_ms=300)
        run_id = detach(scenario)
        assert run_cli("stop", "--yes", run_id).exit_code == 0
        scenario.write_text(scenario.read_text().replace("Says ok", "Says OK"))
        result = run_cli("start", run_id)
        assert result.exit_code == 2
        assert result.stderr == (
            f"goalctl: error: {scenario} changed since run {run_id} started; start a new run with `goalctl run`\n"
        )
        assert store.load(run_id).status is RunStatus.STOPPED


class TestCleanup:
    def finished_run(self, tmp_path: Path) -> str:
        result = run_cli("run", "--json", str(slow_scenario(tmp_path, latency_ms=0, cases=1)))
        run_id: str = json.loads(result.stdout)["runs"][0]["run_id"]
        return run_id

    def test_remove_and_archive(self, tmp_path: Path, isolated_environment: Path) -> None:
        first, second = self.finished_run(tmp_path), self.finished_run(tmp_path)
        removed = run_cli("cleanup", "--yes", first)
        assert (removed.exit_code, removed.stdout) == (0, f"removed {first}\n")
        archived = run_cli("cleanup", "--yes", "--archive", second)
        assert archived.exit_code == 0
        assert (isolated_environment / "archive" / second / "state.json").is_file()
        assert not (isolated_environment / "runs" / first).exists()
        assert run_cli("list").stdout == "no runs\n"

    def test_finished_and_older_than_select(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        run_id = self.finished_run(tmp_path)
        young = run_cli("cleanup", "--yes", "--finished", "--older-than", "1h")
        assert young.stdout == "no runs to clean up\n"
        old = run_cli("cleanup", "--yes", "--finished", "--older-than", "0s", "--json")
        assert json.loads(old.stdout)["results"] == [
            {"run_id": run_id, "ok": True, "message": f"removed {run_id}"}
        ]

    def test_a_running_run_is_refused_unless_forced(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        store = RunStore(isolated_environment)
        run_id = detach(slow_scenario(tmp_path, latency_ms=300))
        wait_for(store, run_id, lambda s: s.status is RunStatus.RUNNING)
        refused = run_cli("cleanup", "--yes", run_id)
        assert (refused.exit_code, refused.stderr) == (
            2,
            f"{run_id} is running; stop it first or use --force\n",
        )
        forced = run_cli("cleanup", "--yes", "--force", run_id)
        assert (forced.exit_code, forced.stdout) == (0, f"removed {run_id}\n")
        assert not (isolated_environment / "runs" / run_id).exists()

    @pytest.mark.parametrize("age", ["7", "seven days", "7y", "9" * 5000 + "d"])
    def test_a_bad_age_is_a_usage_error(self, age: str) -> None:
        result = run_cli("cleanup", "--finished", "--older-than", age)
        assert (result.exit_code, result.stderr) == (
            2,
            f"goalctl: error: invalid age {age!r} (use a number and a unit: 30m, 12h, 7d, 2w)\n",
        )

    @pytest.mark.parametrize("age", ["99999999999d", "5300w", "3153600001s"])
    def test_an_age_past_a_century_is_a_usage_error(self, age: str) -> None:
        result = run_cli("cleanup", "--finished", "--older-than", age)
        assert (result.exit_code, result.stderr) == (
            2,
            f"goalctl: error: age {age!r} is too long (at most 100 years: 36500d, 5214w)\n",
        )

    def test_nothing_selected_is_a_usage_error(self) -> None:
        result = run_cli("cleanup")
        assert result.exit_code == 2
        assert "name the runs to clean up" in result.stderr
