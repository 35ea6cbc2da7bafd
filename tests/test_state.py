"""The run store: ids, exact versioned state, atomic writes, locks, journals and liveness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from goalctl.errors import UsageError
from goalctl.state import (
    DamagedRun,
    RunState,
    RunStatus,
    RunStore,
    new_run_id,
    process_start_time,
    validate_run_id,
)
from goalctl.state.process import is_alive, parse_proc_stat

RUN = "calculator-1a2b3c4d"
FIXED_TIME = "2025-01-02T03:04:05.678Z"


def make_state(run_id: str = RUN, **changes: object) -> RunState:
    """A small but complete state; ``changes`` override any field."""
    values: dict[str, object] = {
        "run_id": run_id,
        "goal_id": run_id.rsplit("-", 1)[0],
        "goal_version": "1.2.0",
        "goal_name": "Calculator ✓",
        "scenario": "/scenarios/calculator.md",
        "created_at": "2025-01-01T00:00:00.000Z",
        "provider": "scripted",
        "model": "scripted-1",
        "agent": "llm",
    }
    values.update(changes)
    return RunState(**values)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "state", now=lambda: FIXED_TIME)


@pytest.fixture
def run(store: RunStore) -> str:
    store.create(make_state())
    return RUN


def state_path(store: RunStore, run_id: str = RUN) -> Path:
    return store.run_dir(run_id) / "state.json"


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code), *args]


@contextmanager
def child_process(code: str = "import sys; sys.stdin.read()") -> Iterator[subprocess.Popen[str]]:
    """A live Python process that waits on its stdin until the block ends."""
    with subprocess.Popen(python(code), stdin=subprocess.PIPE, text=True) as child:
        try:
            yield child
        finally:
            child.kill()


# -- run ids -------------------------------------------------------------------------------


def test_new_run_id_joins_goal_id_and_hex() -> None:
    assert new_run_id("calculator", random_hex=lambda: "1a2b3c4d") == "calculator-1a2b3c4d"
    first, second = new_run_id("calculator"), new_run_id("calculator")
    assert validate_run_id(first) == first
    assert first != second


def test_new_run_id_rejects_bad_random_hex() -> None:
    with pytest.raises(ValueError, match="8 lowercase hex digits"):
        new_run_id("calculator", random_hex=lambda: "XYZ")


@pytest.mark.parametrize(
    "run_id",
    [
        "calculator-1a2b3c4d",
        "a-00000000",
        "my.goal_v2-deadbeef",
        "a-b-c-12345678",
        "g" * 128 + "-0badf00d",
    ],
)
def test_good_run_ids(run_id: str) -> None:
    assert validate_run_id(run_id) == run_id


@pytest.mark.parametrize(
    "run_id",
    [
        "",
        "..",
        "../x",
        "../calculator-1a2b3c4d",
        "a/b",
        "calculator-1a2b3c4d/..",
        "/etc/passwd",
        "/tmp/calculator-1a2b3c4d",
        "calculator\x00-1a2b3c4d",
        "calculator-1a2b3c4d\n",
        "Calculator-1a2b3c4d",
        "calculator-1A2B3C4D",
        "calculator-1a2b3c4",
        "calculator-1a2b3c4dd",
        "calculator-1a2b3c4g",
        "calculator",
        "-1a2b3c4d",
        ".hidden-1a2b3c4d",
        "calc ulator-1a2b3c4d",
        "g" * 129 + "-0badf00d",
    ],
)
def test_bad_run_ids_are_usage_errors(run_id: str) -> None:
    with pytest.raises(UsageError) as info:
        validate_run_id(run_id)
    assert str(info.value) == f"invalid run id {run_id!r} (run ids look like calculator-1a2b3c4d)"


# -- state.json ----------------------------------------------------------------------------


def test_create_then_load_round_trips_exactly(store: RunStore) -> None:
    state = make_state(
        status=RunStatus.STOPPED,
        phase="execute",
        config={"temperature": 0.1, "tags": ["ä", "🙂"], "nested": {"k": None}},
        cases_total=3,
        cases_done=2,
        score=0.1 + 0.2,
        totals={"cost_usd": 1e-7, "input_tokens": 12},
        options={"concurrency": 4, "report_dir": None},
        stop_requested=True,
    )
    run_dir = store.create(state)
    assert run_dir == store.runs_dir / RUN
    assert store.load(RUN) == state
    text = state_path(store).read_text(encoding="utf-8")
    data = json.loads(text)
    assert next(iter(data)) == "version"
    assert data["version"] == 1
    assert list(data) == list(state.to_dict())
    assert "Calculator ✓" in text  # not \u escaped
    assert data["score"] == 0.1 + 0.2


def test_create_refuses_an_existing_run(store: RunStore, run: str) -> None:
    with pytest.raises(UsageError, match="run 'calculator-1a2b3c4d' already exists"):
        store.create(make_state())


def test_load_of_a_missing_run(store: RunStore) -> None:
    with pytest.raises(UsageError) as info:
        store.load("calculator-00000000")
    assert str(info.value) == "no run 'calculator-00000000' (`goalctl list` shows the runs)"


def test_update_changes_and_persists(store: RunStore, run: str) -> None:
    def change(state: RunState) -> None:
        state.phase = "report"
        state.totals["llm_calls"] = 3

    new = store.update(run, change)
    assert (new.phase, new.totals) == ("report", {"llm_calls": 3})
    assert store.load(run) == new


def test_update_that_raises_writes_nothing(store: RunStore, run: str) -> None:
    before = state_path(store).read_bytes()

    def change(state: RunState) -> None:
        state.phase = "report"
        raise KeyError("boom")

    with pytest.raises(KeyError):
        store.update(run, change)
    assert state_path(store).read_bytes() == before


def test_update_refuses_to_write_an_unreadable_state(store: RunStore, run: str) -> None:
    def change(state: RunState) -> None:
        state.cases_done = "3"  # type: ignore[assignment]

    with pytest.raises(ValueError, match="'cases_done' must be an integer"):
        store.update(run, change)
    assert store.load(run).cases_done == 0


def test_a_newer_state_version_is_refused(store: RunStore, run: str) -> None:
    data = json.loads(state_path(store).read_text())
    data["version"] = 2
    data["new_field"] = "from the future"
    state_path(store).write_text(json.dumps(data))
    with pytest.raises(UsageError) as info:
        store.load(run)
    assert str(info.value) == (
        "run calculator-1a2b3c4d was written by a newer goalctl (state version 2); upgrade goalctl"
    )


@pytest.mark.parametrize(
    ("edit", "detail"),
    [
        (lambda d: d.update(cases_done="2"), "'cases_done' must be an integer, got str '2'"),
        (lambda d: d.update(status="paused"), "'status' must be one of pending, running"),
        (lambda d: d.pop("goal_id"), "missing key 'goal_id'"),
        (lambda d: d.update(colour="red"), "unknown key 'colour'"),
        (lambda d: d.update(version=0), "'version' must be a positive integer, got 0"),
        (lambda d: d.update(stop_requested=1), "'stop_requested' must be true or false"),
        (lambda d: d.update(run_id="other-1a2b3c4d"), "belongs to run 'other-1a2b3c4d'"),
    ],
)
def test_a_damaged_state_names_the_file_and_the_problem(
    store: RunStore, run: str, edit: object, detail: str
) -> None:
    data = json.loads(state_path(store).read_text())
    edit(data)  # type: ignore[operator]
    state_path(store).write_text(json.dumps(data))
    with pytest.raises(DamagedRun) as info:
        store.load(run)
    message = str(info.value)
    assert message.startswith(f"run {run}'s state is damaged: state.json")
    assert detail in message
    assert message.endswith(f" — `goalctl cleanup --force {run}` removes it")


def test_state_that_is_not_json(store: RunStore, run: str) -> None:
    state_path(store).write_bytes(b'{"version": 1, "run_')
    with pytest.raises(DamagedRun) as info:
        store.load(run)
    assert str(info.value) == (
        f"run {run}'s state is damaged: state.json is not valid JSON: Unterminated string "
        f"starting at at line 1, column 16 — `goalctl cleanup --force {run}` removes it"
    )


def test_an_integer_score_reads_as_a_float(store: RunStore, run: str) -> None:
    data = json.loads(state_path(store).read_text())
    data["score"] = 1
    state_path(store).write_text(json.dumps(data))
    score = store.load(run).score
    assert score == 1.0
    assert isinstance(score, float)


# -- atomic writes -------------------------------------------------------------------------


def test_writes_leave_no_temp_files(store: RunStore, run: str) -> None:
    for phase in ("initialize", "execute", "report"):
        store.update(run, lambda s, p=phase: setattr(s, "phase", p))  # type: ignore[misc]
    store.save(store.load(run))
    store.write_report(run, "report.md", "# Report\n")
    assert sorted(os.listdir(store.run_dir(run))) == [".lock", "report.md", "state.json"]


def test_a_failed_replace_keeps_the_old_state(
    store: RunStore, run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = state_path(store).read_bytes()

    def crash(*args: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        store.update(run, lambda s: setattr(s, "phase", "execute"))
    assert state_path(store).read_bytes() == before
    assert sorted(os.listdir(store.run_dir(run))) == [".lock", "state.json"]


def test_a_process_killed_between_write_and_rename_leaves_the_old_state(
    store: RunStore, run: str
) -> None:
    before = state_path(store).read_bytes()
    code = """
        import os, sys
        from pathlib import Path
        from goalctl.state import RunStore
        os.replace = lambda *args: os._exit(9)
        RunStore(Path(sys.argv[1])).update(sys.argv[2], lambda s: setattr(s, "phase", "execute"))
    """
    result = subprocess.run(python(code, str(store.root), run), check=False)
    assert result.returncode == 9
    assert state_path(store).read_bytes() == before
    leftovers = [name for name in os.listdir(store.run_dir(run)) if name.endswith(".tmp")]
    assert len(leftovers) == 1
    assert json.loads((store.run_dir(run) / leftovers[0]).read_text())["phase"] == "execute"
    assert store.load(run).phase == ""
    store.claim(run)  # the next owner sweeps what the crash left
    assert sorted(os.listdir(store.run_dir(run))) == [".lock", "state.json"]


# -- concurrency: real processes -----------------------------------------------------------


def run_in_parallel(code: str, *args: str, processes: int = 2) -> None:
    """Start ``processes`` children, wait until each is ready, then release them together."""
    children = [
        subprocess.Popen(
            python(code, *args, str(n)), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for n in range(processes)
    ]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.close()
    for child in children:
        assert child.wait(timeout=60) == 0
        assert child.stdout is not None
        child.stdout.close()


def test_concurrent_updates_from_two_processes_lose_nothing(store: RunStore, run: str) -> None:
    code = """
        import sys
        from pathlib import Path
        from goalctl.state import RunStore
        store = RunStore(Path(sys.argv[1]))
        print("ready", flush=True)
        sys.stdin.readline()
        def bump(state):
            state.cases_done += 1
            state.totals[sys.argv[3]] = state.totals.get(sys.argv[3], 0) + 1
        for _ in range(150):
            store.update(sys.argv[2], bump)
    """
    run_in_parallel(code, str(store.root), run)
    state = store.load(run)
    assert state.cases_done == 300
    assert state.totals == {"0": 150, "1": 150}


def test_concurrent_appends_from_two_processes_keep_whole_lines(store: RunStore, run: str) -> None:
    code = """
        import sys
        from pathlib import Path
        from goalctl.state import RunStore
        store = RunStore(Path(sys.argv[1]))
        print("ready", flush=True)
        sys.stdin.readline()
        for i in range(400):
            size = 20_000 if i % 50 == 0 else 100
            store.append_event(sys.argv[2], "info", "execute", sys.argv[3] * size, n=i)
    """
    run_in_parallel(code, str(store.root), run)
    lines = (store.run_dir(run) / "events.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    events = [json.loads(line) for line in lines[:-1]]
    assert len(events) == 800
    for writer in ("0", "1"):
        mine = [e["n"] for e in events if e["message"][0] == writer]
        assert mine == list(range(400))
    assert all(set(e["message"]) == {e["message"][0]} for e in events)


# -- journals ------------------------------------------------------------------------------


def test_events_carry_time_level_phase_message_then_extras(store: RunStore, run: str) -> None:
    store.append_event(run, "warning", "execute", "case slow", case=2, elapsed_s=1.5)
    events, _ = store.read_events(run)
    assert events == [
        {
            "time": FIXED_TIME,
            "level": "warning",
            "phase": "execute",
            "message": "case slow",
            "case": 2,
            "elapsed_s": 1.5,
        }
    ]
    assert list(events[0]) == ["time", "level", "phase", "message", "case", "elapsed_s"]


def test_event_times_are_utc_iso_8601(tmp_path: Path) -> None:
    from datetime import datetime, timedelta

    store = RunStore(tmp_path / "real-clock")
    store.create(make_state())
    store.append_event(RUN, "info", "initialize", "hello")
    (event,), _ = store.read_events(RUN)
    assert event["time"].endswith("Z")
    assert datetime.fromisoformat(event["time"]).utcoffset() == timedelta(0)


def test_event_arguments_are_checked(store: RunStore, run: str) -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        store.append_event(run, "debug", "execute", "x")
    with pytest.raises(ValueError, match="'time' is set by the store"):
        store.append_event(run, "info", "execute", "x", time="yesterday")
    with pytest.raises(UsageError, match="no run 'calculator-00000000'"):
        store.append_event("calculator-00000000", "info", "execute", "x")


def test_read_events_returns_whole_lines_and_the_next_offset(store: RunStore, run: str) -> None:
    events_file = store.run_dir(run) / "events.jsonl"
    assert store.read_events(run) == ([], 0)
    store.append_event(run, "info", "initialize", "one")
    store.append_event(run, "info", "execute", "two")
    events, offset = store.read_events(run)
    assert [e["message"] for e in events] == ["one", "two"]
    assert offset == events_file.stat().st_size
    assert store.read_events(run, offset=offset) == ([], offset)

    line = json.dumps({"time": FIXED_TIME, "level": "info", "phase": "report", "message": "three"})
    with events_file.open("a") as file:
        file.write(line[:20])  # a writer in the middle of its line
    assert store.read_events(run, offset=offset) == ([], offset)
    with events_file.open("a") as file:
        file.write(line[20:] + "\n")
    events, new_offset = store.read_events(run, offset=offset)
    assert [e["message"] for e in events] == ["three"]
    assert new_offset == events_file.stat().st_size


def test_read_events_skips_a_fragment_left_by_a_killed_writer(store: RunStore, run: str) -> None:
    store.append_event(run, "info", "execute", "before")
    with (store.run_dir(run) / "events.jsonl").open("a") as file:
        file.write('{"time": "2025-01-0')
    events, _ = store.read_events(run)
    assert [e["message"] for e in events] == ["before"]
    store.claim(run)  # cuts torn tails, so a resumed run starts on a fresh line
    store.append_event(run, "info", "execute", "resumed")
    events, _ = store.read_events(run)
    assert [e["message"] for e in events] == ["before", "resumed"]


def test_a_fragment_in_the_middle_of_the_events_is_damage(store: RunStore, run: str) -> None:
    store.append_event(run, "info", "execute", "before")
    with (store.run_dir(run) / "events.jsonl").open("a") as file:
        file.write('{"time": "2025-01-0')
    store.append_event(run, "info", "execute", "after")  # nothing cut the fragment first
    with pytest.raises(DamagedRun, match=r"events\.jsonl line 2: the line is not valid JSON"):
        store.read_events(run)


def test_transcript_round_trip(store: RunStore, run: str) -> None:
    calls = [{"case": 0, "messages": [{"role": "user", "content": "2+2?"}], "reply": "4"}]
    store.append_transcript(run, calls[0])
    assert store.read_transcript(run) == calls


def case_record(case: int, name: str, **fields: object) -> dict[str, object]:
    """A checkpoint record with the fields every finished case has."""
    return {
        "case": case,
        "name": name,
        "status": "passed",
        "input": None,
        "expected": None,
        **fields,
    }


def test_checkpoint_round_trip_puts_case_and_name_first(store: RunStore, run: str) -> None:
    store.append_checkpoint(
        run, {"status": "passed", "input": 1, "expected": 2, "name": "adds", "case": 0}
    )
    store.append_checkpoint(run, case_record(1, "subtracts", status="failed"))
    records = store.read_checkpoint(run)
    assert records == [
        {"case": 0, "name": "adds", "status": "passed", "input": 1, "expected": 2},
        case_record(1, "subtracts", status="failed"),
    ]
    assert list(records[0]) == ["case", "name", "status", "input", "expected"]


@pytest.mark.parametrize("record", [{"name": "x"}, {"case": "0", "name": "x"}, {"case": 0}])
def test_checkpoint_records_need_case_and_name(
    store: RunStore, run: str, record: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match="needs 'case'"):
        store.append_checkpoint(run, record)


@pytest.mark.parametrize(
    "tail", [b'{"case": 2, "na', b'{"case": 2, "name": "c"}', b"garbage\n", b"\x00\x00\x00"]
)
def test_a_torn_or_invalid_last_checkpoint_line_is_ignored(
    store: RunStore, run: str, tail: bytes
) -> None:
    store.append_checkpoint(run, case_record(0, "a"))
    store.append_checkpoint(run, case_record(1, "b"))
    with (store.run_dir(run) / "checkpoint.jsonl").open("ab") as file:
        file.write(tail)
    assert [r["case"] for r in store.read_checkpoint(run)] == [0, 1]
    store.claim(run)  # drops the damaged tail before the resumed run appends
    store.append_checkpoint(run, case_record(2, "c"))
    assert [r["case"] for r in store.read_checkpoint(run)] == [0, 1, 2]


def test_a_damaged_checkpoint_line_in_the_middle_is_an_error(store: RunStore, run: str) -> None:
    path = store.run_dir(run) / "checkpoint.jsonl"
    store.append_checkpoint(run, case_record(0, "a"))
    with path.open("a") as file:
        file.write('{"case": 1, "na\n')
    store.append_checkpoint(run, case_record(2, "c"))
    with pytest.raises(DamagedRun) as info:
        store.read_checkpoint(run)
    assert str(info.value).startswith(
        f"run {run}'s state is damaged: checkpoint.jsonl line 2: the line is not valid JSON"
    )


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"case": 1, "name": "b"}, "'status' must be one of error, failed, passed"),
        ({"case": 1, "name": "b", "status": "passed"}, "missing key 'input'"),
        (case_record(1, "b", attempts="3"), "'attempts' must be int"),
        (case_record(1, "b", metrics={"cost_usd": "0.1"}), "'metrics' must hold only numbers"),
        (case_record(1, "b", colour="red"), "unknown key 'colour'"),
    ],
)
def test_a_checkpoint_line_with_bad_fields_is_damage(
    store: RunStore, run: str, record: dict[str, object], problem: str
) -> None:
    store.append_checkpoint(run, case_record(0, "a"))
    store.append_checkpoint(run, record)
    store.append_checkpoint(run, case_record(2, "c"))
    with pytest.raises(DamagedRun) as info:
        store.read_checkpoint(run)
    assert str(info.value).startswith(
        f"run {run}'s state is damaged: checkpoint.jsonl line 2: {problem} — "
    )


def test_every_field_a_finished_case_writes_reads_back(
    store: RunStore, run: str, tmp_path: Path
) -> None:
    """Resume trusts the checkpoint: what ``CaseRecord`` writes must never read as damage."""
    from goalctl.evaluation import CaseOutput, Check, Metrics
    from goalctl.reports.data import CaseRecord
    from goalctl.scenario.model import Case

    step = {"step": 1, "tool": "lookup", "args": {"id": 1}, "result": 2, "error": None}
    tried = CaseOutput("first", "first", 1)
    output = CaseOutput("second", "second", 2, None, [step])
    checks = [Check("c", True, "ok")]
    record = CaseRecord.finished(
        0, "a", Case(input={"q": 1}), output, Metrics(), checks, [], [(tried, checks)]
    )
    store.append_checkpoint(run, record.to_json())

    [line] = store.read_checkpoint(run)
    assert CaseRecord.from_json(line) == record
    assert line["earlier_attempts"][0]["text"] == "first"
    assert line["trajectory"] == [step]


def test_a_missing_checkpoint_is_empty(store: RunStore, run: str) -> None:
    assert store.read_checkpoint(run) == []


# -- resolve -------------------------------------------------------------------------------


@pytest.fixture
def three_runs(store: RunStore) -> RunStore:
    for run_id in ("calculator-1a2b3c4d", "calculator-1a2bffff", "weather-00000000"):
        store.create(make_state(run_id))
    return store


@pytest.mark.parametrize(
    ("text", "run_id"),
    [
        ("calculator-1a2b3c4d", "calculator-1a2b3c4d"),
        ("calculator-1a2b3", "calculator-1a2b3c4d"),
        ("calculator-1a2bf", "calculator-1a2bffff"),
        ("w", "weather-00000000"),
    ],
)
def test_resolve_exact_ids_and_unique_prefixes(
    three_runs: RunStore, text: str, run_id: str
) -> None:
    assert three_runs.resolve(text) == run_id


def test_resolve_ambiguous_prefix_lists_candidates(three_runs: RunStore) -> None:
    with pytest.raises(UsageError) as info:
        three_runs.resolve("calculator-1a2b")
    assert str(info.value) == (
        "run id 'calculator-1a2b' is ambiguous: it matches calculator-1a2b3c4d, "
        "calculator-1a2bffff; type more of it, or a goal id for its latest run: calculator"
    )


def test_resolve_a_prefix_of_two_goals_lists_both(three_runs: RunStore) -> None:
    three_runs.create(make_state("calc-v2-00000000"))
    with pytest.raises(UsageError) as info:
        three_runs.resolve("calc")
    assert str(info.value) == (
        "run id 'calc' is ambiguous: it matches calc-v2-00000000, calculator-1a2b3c4d, "
        "calculator-1a2bffff; type more of it, or a goal id for its latest run: "
        "calc-v2, calculator"
    )


@pytest.fixture
def goal_runs(store: RunStore) -> RunStore:
    """Three runs of `calc` (the newest is not last by name) and one of `calculator`."""
    for run_id, created in (
        ("calc-ffffffff", "2025-01-01T00:00:00.000Z"),
        ("calc-00000000", "2025-01-03T00:00:00.000Z"),
        ("calc-88888888", "2025-01-02T00:00:00.000Z"),
        ("calculator-00000000", "2025-01-04T00:00:00.000Z"),
    ):
        store.create(make_state(run_id, created_at=created))
    return store


def test_resolve_a_goal_id_names_its_latest_run(goal_runs: RunStore) -> None:
    assert goal_runs.resolve("calc") == "calc-00000000"
    assert goal_runs.resolve("calculator") == "calculator-00000000"


def test_resolve_the_start_of_one_goal_id_names_its_latest_run(goal_runs: RunStore) -> None:
    goal_runs.create(make_state("calculator-11111111", created_at="2025-01-05T00:00:00.000Z"))
    assert goal_runs.resolve("calcu") == "calculator-11111111"
    with pytest.raises(UsageError, match="'calculator-' is ambiguous"):
        goal_runs.resolve("calculator-")  # the start of run ids, not of the goal id


def test_resolve_a_run_id_prefix_still_names_one_run(goal_runs: RunStore) -> None:
    assert goal_runs.resolve("calc-f") == "calc-ffffffff"


def test_resolve_passes_over_a_damaged_run_of_the_goal(goal_runs: RunStore) -> None:
    (goal_runs.run_dir("calc-00000000") / "state.json").write_text("{")
    assert goal_runs.resolve("calc") == "calc-88888888"


def test_resolve_prefers_an_exact_id_over_longer_ones(store: RunStore) -> None:
    store.create(make_state("a-1a2b3c4d"))
    store.create(make_state("a-1a2b3c4d-00000000"))
    assert store.resolve("a-1a2b3c4d") == "a-1a2b3c4d"


def test_resolve_no_match(three_runs: RunStore) -> None:
    with pytest.raises(UsageError) as info:
        three_runs.resolve("zebra")
    assert str(info.value) == "no run matches 'zebra' (`goalctl list` shows the runs)"


@pytest.mark.parametrize(
    "text", ["", "..", "../calculator", "calculator/..", "/calc", "Calc", "c\x00"]
)
def test_resolve_rejects_path_tricks(three_runs: RunStore, text: str) -> None:
    with pytest.raises(UsageError, match="invalid run id"):
        three_runs.resolve(text)


def test_resolve_without_any_runs(store: RunStore) -> None:
    with pytest.raises(UsageError, match="no run matches 'calc'"):
        store.resolve("calc")


# -- liveness ------------------------------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_running_run_whose_pid_is_gone_reads_interrupted(store: RunStore) -> None:
    store.create(make_state(status=RunStatus.RUNNING, pid=dead_pid(), pid_start_time=1.0))
    assert store.load(RUN).status is RunStatus.INTERRUPTED
    assert json.loads(state_path(store).read_text())["status"] == "running"  # read-only view
    assert store.mark_interrupted_if_dead(RUN).status is RunStatus.INTERRUPTED
    assert json.loads(state_path(store).read_text())["status"] == "interrupted"


def test_a_reused_pid_reads_interrupted(store: RunStore) -> None:
    start = process_start_time(os.getpid())
    assert start is not None
    store.create(make_state(status=RunStatus.RUNNING, pid=os.getpid(), pid_start_time=start - 100))
    assert store.load(RUN).status is RunStatus.INTERRUPTED


def test_a_zombie_owner_reads_interrupted(store: RunStore) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
        store.create(
            make_state(
                status=RunStatus.RUNNING,
                pid=child.pid,
                pid_start_time=process_start_time(child.pid),
            )
        )
        assert store.load(RUN).status is RunStatus.INTERRUPTED
    finally:
        child.wait()


def test_claim_makes_this_process_the_live_owner(store: RunStore, run: str) -> None:
    state = store.claim(run)
    assert (state.status, state.pid) == (RunStatus.RUNNING, os.getpid())
    assert state.pid_start_time == process_start_time(os.getpid())
    assert state.started_at == FIXED_TIME
    assert store.load(run) == state
    assert [s.status for s in store.list()] == [RunStatus.RUNNING]
    assert store.claim(run) == state  # claiming again is harmless


def test_claim_keeps_the_first_start_time(store: RunStore) -> None:
    store.create(make_state(status=RunStatus.STOPPED, started_at="2024-12-31T00:00:00.000Z"))
    assert store.claim(RUN).started_at == "2024-12-31T00:00:00.000Z"


def test_claim_refuses_a_run_another_live_process_owns(store: RunStore, run: str) -> None:
    with child_process() as child:
        store.claim(run, pid=child.pid)
        with pytest.raises(UsageError) as info:
            store.claim(run)
        assert str(info.value) == (
            f"run 'calculator-1a2b3c4d' is already running (pid {child.pid}); "
            "stop it first with `goalctl stop calculator-1a2b3c4d`"
        )
    # once the owner is gone, the run can be resumed
    assert store.claim(run).pid == os.getpid()


@pytest.mark.parametrize("status", [RunStatus.COMPLETED, RunStatus.FAILED])
def test_claim_refuses_a_finished_run(store: RunStore, status: RunStatus) -> None:
    store.create(make_state(status=status))
    with pytest.raises(UsageError, match=f"has already {status}"):
        store.claim(RUN)


def test_process_start_time() -> None:
    assert process_start_time(dead_pid()) is None
    with child_process() as child:
        started = process_start_time(child.pid)
        assert started is not None
        assert is_alive(child.pid, started)
        assert not is_alive(child.pid, started + 0.5)
    assert not is_alive(None, None)


def test_parse_proc_stat_handles_parentheses_and_spaces_in_the_command() -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    fields = ["S", *map(str, range(4, 22)), str(250 * ticks), "0", "0"]
    stat = b"4242 (evil) (x y)) " + " ".join(fields).encode()
    assert parse_proc_stat(stat) == ("S", 250.0)
    assert parse_proc_stat(b"4242 (short) S 1 2") is None


def test_save_keeps_a_stop_request_from_another_process(store: RunStore, run: str) -> None:
    mine = store.claim(run)
    store.update(run, lambda s: setattr(s, "stop_requested", True))  # `goalctl stop`
    mine.cases_done = 1
    store.save(mine)
    assert mine.stop_requested
    assert store.load(run).stop_requested
    assert store.load(run).cases_done == 1


# -- listing -------------------------------------------------------------------------------


def test_list_is_ordered_by_creation_then_id_and_reports_broken_runs(store: RunStore) -> None:
    store.create(make_state("b-00000001", created_at="2025-01-02T00:00:00Z"))
    store.create(make_state("a-00000002", created_at="2025-01-02T00:00:00.000Z"))
    store.create(make_state("c-00000003", created_at="2025-01-01T23:00:00-02:00"))
    store.create(make_state("d-00000004", created_at="2024-06-01T00:00:00.000Z"))
    broken = store.create(make_state("e-00000005"))
    (broken / "state.json").write_text("{")
    (store.runs_dir / "f-00000006").mkdir()
    (store.runs_dir / "notes.txt").write_text("hello")
    (store.runs_dir / ".archive-tmp").mkdir()

    scan = store.scan()
    assert [s.run_id for s in scan.runs] == ["d-00000004", "a-00000002", "b-00000001", "c-00000003"]
    assert [s.run_id for s in store.list()] == [s.run_id for s in scan.runs]
    assert [p.path.name for p in scan.problems] == ["e-00000005", "f-00000006", "notes.txt"]
    assert str(scan.problems[0]).startswith("run e-00000005's state is damaged: state.json is")
    assert str(scan.problems[1]).startswith(
        "run f-00000006's state is damaged: state.json is missing"
    )
    assert [p.run_id for p in scan.problems] == ["e-00000005", "f-00000006", None]
    assert str(scan.problems[2]) == f"{store.runs_dir / 'notes.txt'} is not a run directory"


def test_list_of_an_empty_state_dir(store: RunStore) -> None:
    assert store.list() == []
    assert store.scan().problems == []


# -- reports, removal, secrets -------------------------------------------------------------


def test_write_report(store: RunStore, run: str) -> None:
    path = store.write_report(run, "report.md", "# Calculator ✓\n")
    assert path == store.run_dir(run) / "report.md"
    assert path.read_text(encoding="utf-8") == "# Calculator ✓\n"
    store.write_report(run, "report.md", "# again\n")
    assert path.read_text() == "# again\n"


@pytest.mark.parametrize("name", ["state.json", "events.jsonl", ".lock", "../x.md", "a/b.md", ""])
def test_write_report_refuses_other_names(store: RunStore, run: str, name: str) -> None:
    with pytest.raises(UsageError, match="invalid report file name"):
        store.write_report(run, name, "x")


def test_remove_and_archive(store: RunStore, tmp_path: Path) -> None:
    store.create(make_state("a-00000001"))
    store.create(make_state("b-00000002"))
    store.append_event("a-00000001", "info", "execute", "x")
    store.remove("a-00000001")
    assert not store.run_dir("a-00000001").exists()
    with pytest.raises(UsageError, match="no run 'a-00000001'"):
        store.append_event("a-00000001", "info", "execute", "x")

    archived = store.archive("b-00000002", tmp_path / "state" / "archive")
    assert archived == tmp_path / "state" / "archive" / "b-00000002"
    assert (archived / "state.json").is_file()
    assert [s.run_id for s in store.list()] == []


def test_a_running_run_is_not_removed_without_force(store: RunStore, run: str) -> None:
    store.claim(run)
    with pytest.raises(UsageError, match="is still running"):
        store.remove(run)
    store.remove(run, force=True)
    assert not store.run_dir(run).exists()


SECRET = "sk-ant-api03-0123456789abcdef"


def test_the_store_never_writes_the_api_key_and_never_fails_for_it(
    store: RunStore, run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET + "\n")
    store.append_event(run, "error", "execute", f"auth failed for {SECRET}")
    store.append_transcript(run, {"headers": {"x-api-key": SECRET + "\n"}})
    store.append_checkpoint(
        run, {"case": 0, "name": SECRET, "status": "passed", "input": None, "expected": None}
    )
    store.update(run, lambda s: s.config.update(key=repr(SECRET + "\n")))
    report = store.write_report(run, "report.md", SECRET)
    store.create(make_state("other-00000000", error=f"bad key {SECRET}"))
    run_dir = store.run_dir(run)
    written = [*run_dir.iterdir(), *store.run_dir("other-00000000").iterdir()]
    assert [p.name for p in written if SECRET in p.read_text()] == []
    assert report.read_text() == "[REDACTED]"
    assert store.read_checkpoint(run)[0]["name"] == "[REDACTED]"
    assert store.load(run).config["key"] == "'[REDACTED]\\n'"  # the repr's escaped newline
    assert store.load("other-00000000").error == "bad key [REDACTED]"


def test_short_values_are_not_treated_as_secrets(
    store: RunStore, run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    store.append_event(run, "info", "execute", "x marks the spot")
    assert len(store.read_events(run)[0]) == 1
