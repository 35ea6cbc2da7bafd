"""Tampered or damaged state is reported, never trusted (issue 10 item 8).

Every verb that reads a run gives one message, exit 2: what is damaged and that
`goalctl cleanup --force RUN` removes it; `list` shows the run as damaged; `cleanup --force`
really removes it. A torn last line of a journal stays the normal kill -9 case.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goalctl.state import RunStatus, RunStore
from tests.conftest import run_cli
from tests.test_lifecycle import slow_scenario
from tests.test_lifecycle_truth import RUN, stopped_state

VERBS: list[tuple[str, ...]] = [
    ("status",),
    ("logs",),
    ("logs", "--follow"),
    ("stop", "--yes"),
    ("start",),
    ("report",),
    ("cleanup", "--yes"),
]
EXIT_CODES = {0, 1, 2, 3, 130}  # the table without 4: a traceback is never the answer


def finished_run(tmp_path: Path) -> str:
    result = run_cli("run", "--json", str(slow_scenario(tmp_path, latency_ms=0, cases=1)))
    assert result.exit_code == 0, result.stderr
    run_id: str = json.loads(result.stdout)["runs"][0]["run_id"]
    return run_id


def damaged_message(run_id: str, problem: str) -> str:
    return (
        f"goalctl: error: run {run_id}'s state is damaged: {problem} — "
        f"`goalctl cleanup --force {run_id}` removes it\n"
    )


def edit_state(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


DEEP = "[" * 5000 + "]" * 5000

STATE_DAMAGE: list[tuple[str, Callable[[Path], object], str]] = [
    (
        "string-for-number",
        lambda p: edit_state(p, lambda d: d.update(cases_done="1")),
        "state.json: 'cases_done' must be an integer, got str '1'",
    ),
    (
        "string-in-totals",
        lambda p: edit_state(p, lambda d: d["totals"].update(cost_usd="free")),
        "state.json: 'totals' must hold only numbers (not 'cost_usd'), got",
    ),
    (
        "bad-timestamp",
        lambda p: edit_state(p, lambda d: d.update(created_at="yesterday")),
        "state.json: 'created_at' must be an ISO-8601 time with a time zone, got 'yesterday'",
    ),
    (
        "naive-timestamp",
        lambda p: edit_state(p, lambda d: d.update(finished_at="2025-01-01T00:00:00")),
        "state.json: 'finished_at' must be an ISO-8601 time with a time zone, got",
    ),
    (
        "huge-pid",
        lambda p: edit_state(p, lambda d: d.update(pid=2**40, status="running")),
        "state.json: 'pid' must be a process id (1 to 2147483647), got 1099511627776",
    ),
    (
        "deep-json",
        lambda p: p.write_text(p.read_text().replace('"options": {', f'"deep": {DEEP}, "x": {{')),
        "state.json is nested too deeply (more than 64 levels)",
    ),
    (
        "not-utf8",
        lambda p: p.write_bytes(b'{"version": 1, "run_id": "\xff"}'),
        "state.json is not valid UTF-8: byte 0xff at offset 26 (line 1, column 27)",
    ),
    ("missing", lambda p: p.unlink(), "state.json is missing"),
    ("a-directory", lambda p: (p.unlink(), p.mkdir()), "state file "),
]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [(damage, problem) for _, damage, problem in STATE_DAMAGE],
    ids=[name for name, _, _ in STATE_DAMAGE],
)
def test_every_verb_reports_a_damaged_state_json(
    tmp_path: Path, isolated_environment: Path, damage: Callable[[Path], object], problem: str
) -> None:
    run_id = finished_run(tmp_path)
    run_dir = RunStore(isolated_environment).run_dir(run_id)
    damage(run_dir / "state.json")
    for verb in VERBS:
        result = run_cli(*verb, run_id)
        assert result.exit_code == 2, (verb, result)
        assert result.stdout == "", verb
        start = damaged_message(run_id, problem).partition(problem)[0]
        assert result.stderr.startswith(start + problem), (verb, result.stderr)
        assert result.stderr.endswith(f" — `goalctl cleanup --force {run_id}` removes it\n")

    listed = run_cli("list")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[1].split() == [run_id, "damaged", "-", "-", "-"]
    assert listed.stderr.startswith(f"run {run_id}'s state is damaged: ")
    as_json = json.loads(run_cli("list", "--json").stdout)
    assert as_json == [{"run_id": run_id, "status": "damaged", "error": listed.stderr.strip()}]
    assert json.loads(run_cli("list", "--status", "damaged", "--json").stdout) == as_json

    removed = run_cli("cleanup", "--yes", "--force", run_id)
    assert (removed.exit_code, removed.stdout) == (0, f"removed {run_id}\n")
    assert not run_dir.exists()
    assert run_cli("list").stdout == "no runs\n"


def test_a_newer_state_version_is_not_damage(tmp_path: Path, isolated_environment: Path) -> None:
    run_id = finished_run(tmp_path)
    path = RunStore(isolated_environment).run_dir(run_id) / "state.json"
    edit_state(path, lambda d: d.update(version=99))
    result = run_cli("status", run_id)
    assert (result.exit_code, result.stderr) == (
        2,
        f"goalctl: error: run {run_id} was written by a newer goalctl (state version 99); "
        "upgrade goalctl\n",
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (DEEP, "report.json is nested too deeply (more than 64 levels)"),
        ("[1, 2]", "report.json is not a goalctl report (not a JSON object)"),
        ('{"version": 1', "report.json is not valid JSON: Expecting ',' delimiter"),
    ],
    ids=["deep", "not-an-object", "torn"],
)
def test_a_damaged_report_json_is_reported(
    tmp_path: Path, isolated_environment: Path, content: str, problem: str
) -> None:
    run_id = finished_run(tmp_path)
    (RunStore(isolated_environment).run_dir(run_id) / "report.json").write_text(content)
    result = run_cli("report", run_id)
    assert result.exit_code == 2, result
    assert result.stderr.startswith(f"goalctl: error: run {run_id}'s state is damaged: {problem}")
    assert result.stderr.endswith(f" — `goalctl cleanup --force {run_id}` removes it\n")


def test_a_damaged_event_line_is_reported_by_logs(
    tmp_path: Path, isolated_environment: Path
) -> None:
    run_id = finished_run(tmp_path)
    events = RunStore(isolated_environment).run_dir(run_id) / "events.jsonl"
    lines = events.read_text().splitlines(keepends=True)
    lines[1] = json.dumps({"time": "noon", "level": "info", "phase": "", "message": "x"}) + "\n"
    events.write_text("".join(lines))
    for verb in (("logs",), ("logs", "--follow")):
        result = run_cli(*verb, run_id)
        assert (result.exit_code, result.stderr) == (
            2,
            damaged_message(
                run_id, "events.jsonl line 2: 'time' must be an ISO-8601 time with a time zone"
            ),
        )


def test_a_torn_last_event_line_is_not_damage(tmp_path: Path, isolated_environment: Path) -> None:
    run_id = finished_run(tmp_path)
    events = RunStore(isolated_environment).run_dir(run_id) / "events.jsonl"
    whole = run_cli("logs", run_id).stdout
    with events.open("a") as file:
        file.write('{"time": "2025-01-0')  # a writer killed mid-line
    result = run_cli("logs", run_id)
    assert (result.exit_code, result.stdout) == (0, whole)


def test_start_refuses_a_run_with_a_damaged_checkpoint(
    tmp_path: Path, isolated_environment: Path
) -> None:
    scenario = slow_scenario(tmp_path, cases=3)
    store = RunStore(isolated_environment)
    store.create(stopped_state(scenario, cases_total=3))
    good = {"case": 0, "name": "c0", "status": "passed", "input": None, "expected": None}
    (store.run_dir(RUN) / "checkpoint.jsonl").write_text(
        json.dumps(good) + "\n" + json.dumps({"case": 1}) + "\n" + json.dumps(good) + "\n"
    )
    result = run_cli("start", RUN)
    assert (result.exit_code, result.stderr) == (
        2,
        damaged_message(RUN, "checkpoint.jsonl line 2: 'name' must be a string"),
    )
    assert store.load(RUN).status is RunStatus.STOPPED
    assert not (store.run_dir(RUN) / "worker.log").exists()


def test_start_resumes_past_a_torn_last_checkpoint_line(
    tmp_path: Path, isolated_environment: Path
) -> None:
    scenario = slow_scenario(tmp_path, latency_ms=0, cases=2)
    store = RunStore(isolated_environment)
    store.create(stopped_state(scenario, cases_total=2))
    with (store.run_dir(RUN) / "checkpoint.jsonl").open("w") as file:
        file.write('{"case": 0, "name": "c0", "sta')  # killed mid-line: not damage
    result = run_cli("start", RUN)
    assert result.exit_code == 0, result.stderr
    deadline = time.monotonic() + 60
    while store.load(RUN).status is not RunStatus.COMPLETED:
        assert time.monotonic() < deadline, store.load(RUN)
        time.sleep(0.05)
    assert sorted(r["name"] for r in store.read_checkpoint(RUN)) == ["c0", "c1"]


# -- fuzz ---------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)
NESTING = st.integers(1, 3000).flatmap(
    lambda n: st.sampled_from([b"[" * n + b"]" * n, b'{"a":' * n + b"1" + b"}" * n, b"[" * n])
)
FILES = ("state.json", "checkpoint.jsonl", "events.jsonl")


def valid_state_dict(scenario: Path) -> dict[str, Any]:
    return stopped_state(scenario).to_dict()


@st.composite
def damaged_contents(draw: st.DrawFn, scenario: Path) -> tuple[str, bytes]:
    """A state file of one kind replaced by bytes, deep nesting, or a state with one bad field."""
    name = draw(st.sampled_from(FILES))
    kind = draw(st.sampled_from(["bytes", "nesting", "field", "lines"]))
    if kind == "bytes":
        return name, draw(st.binary(max_size=300))
    if kind == "nesting":
        return name, draw(NESTING) + b"\n"
    if kind == "lines":
        values = draw(st.lists(JSON_VALUES, max_size=4))
        return name, b"".join(json.dumps(v).encode() + b"\n" for v in values)
    data = valid_state_dict(scenario)
    data[draw(st.sampled_from(sorted(data)))] = draw(JSON_VALUES)
    return "state.json", json.dumps(data).encode()


@settings(
    max_examples=60,
    deadline=5000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_state_files_get_an_exit_code_from_the_table(
    tmp_path: Path, isolated_environment: Path, data: st.DataObject
) -> None:
    scenario = slow_scenario(tmp_path, cases=1)
    store = RunStore(isolated_environment)
    run_dir = store.run_dir(RUN)
    if not run_dir.exists():
        store.create(stopped_state(scenario))
    state = json.dumps(valid_state_dict(scenario)).encode()
    (run_dir / "state.json").write_bytes(state)
    for name in ("checkpoint.jsonl", "events.jsonl"):
        with open(run_dir / name, "wb"):
            pass
    name, content = data.draw(damaged_contents(scenario))
    (run_dir / name).write_bytes(content)
    for verb in (("status",), ("logs",), ("logs", "--follow"), ("list",), ("status", "--json")):
        started = time.monotonic()
        args = (*verb, RUN) if verb[0] != "list" else verb
        result = run_cli(*args)
        assert result.exit_code in EXIT_CODES - {1, 3, 130}, (verb, name, content[:200], result)
        assert "Traceback" not in result.stderr
        assert "crash" not in result.stderr
        assert time.monotonic() - started < 5, verb
        if result.exit_code == 2:
            assert result.stderr.startswith("goalctl: error: "), result.stderr
    assert os.path.isdir(run_dir)
