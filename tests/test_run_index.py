"""The run index (issue 15): ``list`` reads only the runs it shows, and always agrees with a
scan of every run — whatever happened to the index (missing, damaged, stale, torn by a kill,
raced by other processes, written by another version)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from goalctl.state import RunState, RunStatus, RunStore
from goalctl.state.index import INDEX_FILE, RunIndex
from goalctl.state.selection import DAMAGED, select_runs
from tests.conftest import run_cli
from tests.test_state import make_state

FINISHED = [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED, RunStatus.INTERRUPTED]


def run_id(n: int, goal: str = "calc") -> str:
    return f"{goal}-{n:08x}"


def created(n: int) -> str:
    return f"2025-01-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"


def fill(store: RunStore, count: int, goal: str = "calc", first: int = 0) -> list[str]:
    """``count`` finished runs, created one second apart (statuses take turns)."""
    ids = []
    for n in range(first, first + count):
        state = make_state(run_id(n, goal), created_at=created(n))
        store.create(state)
        status = FINISHED[n % len(FINISHED)]
        store.update(state.run_id, lambda s, status=status: setattr(s, "status", status))
        ids.append(state.run_id)
    return ids


def scanned(
    store: RunStore, statuses: tuple[str, ...] = (), goals: tuple[str, ...] = ()
) -> list[str]:
    """What ``list --all`` must show: a scan of every run's state, filtered."""
    return [
        state.run_id
        for state in store.list()
        if (not statuses or state.status.value in statuses)
        and (not goals or state.goal_id in goals)
    ]


def listed(store: RunStore, **filters: object) -> list[str]:
    return [state.run_id for state in select_runs(store, **filters).runs]  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "state")


@pytest.fixture
def reads(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The runs whose state.json is read, in order."""
    seen: list[str] = []
    original = store.load_indexed

    def counting(run_id: str) -> tuple[RunState, object]:
        seen.append(run_id)
        return original(run_id)  # type: ignore[return-value]

    monkeypatch.setattr(store, "load_indexed", counting)
    return seen


def index_lines(store: RunStore) -> list[list[object]]:
    text = (store.root / INDEX_FILE).read_text()
    return [json.loads(line) for line in text.split("\n") if line]


# -- what the index holds --------------------------------------------------------------------


def test_creating_a_run_and_each_new_status_add_a_record_with_the_state_signature(
    store: RunStore,
) -> None:
    state = make_state(run_id(1), created_at=created(1))
    store.create(state)
    store.claim(state.run_id)
    store.update(state.run_id, lambda s: setattr(s, "phase", "execute"))  # same status
    store.update(state.run_id, lambda s: setattr(s, "status", RunStatus.COMPLETED))

    lines = index_lines(store)
    assert [line[:4] for line in lines] == [
        [1, run_id(1), created(1), "pending"],
        [1, run_id(1), created(1), "running"],
        [1, run_id(1), created(1), "completed"],
    ]
    stat = os.stat(store.run_dir(run_id(1)) / "state.json")
    assert lines[-1][4:] == [stat.st_ino, stat.st_mtime_ns, stat.st_size]
    # Each record starts with its newline, so a torn one cannot swallow the next.
    assert (store.root / INDEX_FILE).read_text().startswith("\n[1,")


# -- list shows the newest runs, reading only those ------------------------------------------


def test_list_reads_only_the_runs_it_shows(store: RunStore, reads: list[str]) -> None:
    ids = fill(store, 60)

    selection = select_runs(store, limit=5)

    assert [state.run_id for state in selection.runs] == ids[-5:]  # oldest first
    assert selection.older == 55
    assert sorted(reads) == sorted(ids[-5:])


def test_a_goal_filter_needs_no_reads_either(store: RunStore, reads: list[str]) -> None:
    fill(store, 30)
    other = fill(store, 3, goal="email", first=100)

    assert listed(store, goals=["email"], limit=20) == other
    assert sorted(reads) == sorted(other)


def test_a_status_filter_trusts_the_index_while_the_state_file_is_the_one_it_recorded(
    store: RunStore, reads: list[str]
) -> None:
    fill(store, 40)

    completed = listed(store, statuses=["completed"])

    assert completed == scanned(store, ("completed",))
    assert sorted(reads) == sorted(completed)  # the shown ones; no other run was read


@pytest.mark.parametrize("statuses", [(), ("completed",), ("stopped", "failed"), (DAMAGED,)])
@pytest.mark.parametrize("goals", [(), ("calc",), ("email", "nope")])
def test_list_all_agrees_with_a_scan_of_every_run(
    store: RunStore, statuses: tuple[str, ...], goals: tuple[str, ...]
) -> None:
    fill(store, 13)
    fill(store, 6, goal="email", first=50)

    assert listed(store, statuses=statuses, goals=goals) == scanned(store, statuses, goals)


def test_runs_created_at_the_same_time_keep_the_order_of_a_scan(store: RunStore) -> None:
    for n in (7, 3, 5):
        store.create(make_state(run_id(n), created_at=created(0)))

    assert listed(store) == scanned(store) == [run_id(3), run_id(5), run_id(7)]


# -- an index that cannot be trusted ---------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        "",
        "garbage",
        '\n[1,"calc-00000003","2025-01-01T00:00:03Z","comp',  # torn by a kill
        '\n[2,"calc-00000001","2030-01-01T00:00:00Z","running",1,2,3]',  # another version
        '\n{"run_id": "calc-00000001"}\n[1,"calc-00000001",7,"running",1,2,3]',
        '\n[1,"calc-00000001","2025-01-01T00:00:01Z","bogus",1,2,3]\n1,2',
    ],
    ids=["missing", "garbage", "torn", "version-2", "wrong-shapes", "bad-values"],
)
def test_a_missing_or_damaged_index_gives_the_same_answer(store: RunStore, damage: str) -> None:
    fill(store, 9)
    expected = scanned(store)
    path = store.root / INDEX_FILE
    if damage:
        with path.open("a") as index:
            index.write(damage)
    else:
        path.unlink()

    assert listed(store) == expected
    assert listed(store, statuses=["completed"]) == scanned(store, ("completed",))
    assert listed(store, limit=2) == expected[-2:]


def test_a_record_torn_by_a_kill_does_not_swallow_the_next_one(store: RunStore) -> None:
    fill(store, 2)
    with (store.root / INDEX_FILE).open("a") as index:
        index.write('\n[1,"calc-00000000","2025-01-01T00:00:00Z","compl')  # no newline after
    store.create(make_state(run_id(9), created_at=created(9)))

    entries = store.index.read().entries

    assert entries[run_id(9)].status == "pending"
    assert store.index.read().damaged == 1


def test_an_index_without_some_runs_reads_them_and_records_them(
    store: RunStore, reads: list[str]
) -> None:
    ids = fill(store, 10)
    (store.root / INDEX_FILE).unlink()  # as if written by a goalctl without the index

    assert listed(store, limit=3) == ids[-3:]
    assert sorted(reads) == sorted(ids)  # every run read once: its time was unknown

    reads.clear()
    assert listed(store, limit=3) == ids[-3:]
    assert sorted(reads) == sorted(ids[-3:])  # learned


def test_a_state_changed_behind_the_index_is_read_again(store: RunStore) -> None:
    """A goalctl without the index (or a hand edit) rewrote a run's state: the status it
    recorded no longer belongs to the state.json that is there."""
    fill(store, 8)
    target = run_id(1)  # failed
    path = store.run_dir(target) / "state.json"
    data = json.loads(path.read_text())
    data["status"] = "completed"
    data["verdict"] = "achieved"
    replaced = path.with_name("state.json.new")
    replaced.write_text(json.dumps(data))
    os.replace(replaced, path)

    assert target in listed(store, statuses=["completed"])
    assert target not in listed(store, statuses=["failed"])
    assert listed(store, statuses=["completed"]) == scanned(store, ("completed",))
    # What list prints is always read from the run itself.
    shown = {state.run_id: state for state in select_runs(store).runs}
    assert shown[target].verdict == "achieved"


def test_a_damaged_run_is_listed_as_damaged(store: RunStore) -> None:
    ids = fill(store, 5)
    (store.run_dir(ids[-1]) / "state.json").write_text("{broken")

    selection = select_runs(store, limit=2)

    assert [state.run_id for state in selection.runs] == ids[-3:-1]  # the limit is filled
    assert [problem.run_id for problem in selection.damaged] == [ids[-1]]
    assert [p.run_id for p in select_runs(store, statuses=[DAMAGED]).damaged] == [ids[-1]]
    assert select_runs(store, statuses=["completed"]).damaged == []


def test_a_running_run_whose_owner_died_reads_interrupted(store: RunStore) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    state = make_state(run_id(1), created_at=created(1))
    store.create(state)
    store.claim(state.run_id, pid=child.pid)  # a dead pid: the run is not running any more

    assert listed(store, statuses=["running"]) == []
    assert listed(store, statuses=["interrupted"]) == [run_id(1)]


def test_removed_runs_leave_the_list_and_in_time_the_index(store: RunStore) -> None:
    ids = fill(store, 150)
    for gone in ids[:140]:
        store.remove(gone)

    assert listed(store) == ids[140:]
    assert len(index_lines(store)) == 10  # mostly outdated: rewritten with one per run


def test_an_index_that_cannot_be_written_is_not_an_error(store: RunStore) -> None:
    fill(store, 3)
    entries = store.index.read().entries
    unwritable = RunIndex(store.root / "no" / "such" / "dir")

    unwritable.append(entries.values())
    unwritable.rewrite(entries.values())
    store.index = unwritable
    assert listed(store) == scanned(store)
    assert not (store.root / "no").exists()


# -- processes -------------------------------------------------------------------------------

WRITER = """
    import sys
    from pathlib import Path
    from goalctl.state import RunStatus, RunStore
    from tests.test_state import make_state
    store = RunStore(Path(sys.argv[1]))
    print("ready", flush=True)
    sys.stdin.readline()
    for n in range(int(sys.argv[2]), int(sys.argv[2]) + int(sys.argv[3])):
        run = f"calc-{n:08x}"
        store.create(make_state(run, created_at=f"2025-01-01T00:00:{n % 60:02d}Z"))
        store.claim(run)
        store.update(run, lambda s: setattr(s, "status", RunStatus.COMPLETED))
"""


def writers(root: Path, *ranges: tuple[int, int]) -> list[subprocess.Popen[str]]:
    repo = Path(__file__).resolve().parent.parent
    return [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WRITER), str(root), str(first), str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=repo,
        )
        for first, count in ranges
    ]


def release(children: list[subprocess.Popen[str]]) -> None:
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.close()


def test_two_processes_creating_runs_while_lists_rewrite_the_index_lose_none(
    store: RunStore,
) -> None:
    children = writers(store.root, (0, 60), (1000, 60))
    release(children)
    try:
        while any(child.poll() is None for child in children):
            # Lists race the writers, and rewrites of the index race their records.
            shown = listed(store, limit=20)
            assert set(shown) <= set(scanned(store))  # no run is ever removed here
            store.index.rewrite(store.index.read().entries.values())
    finally:
        for child in children:
            assert child.wait(timeout=60) == 0
            assert child.stdout is not None
            child.stdout.close()

    assert len(scanned(store)) == 120
    assert listed(store, statuses=["completed"]) == scanned(store, ("completed",))
    assert len(listed(store, statuses=["completed"])) == 120
    assert listed(store) == scanned(store)


def test_a_writer_killed_mid_run_leaves_a_list_that_agrees_with_a_scan(store: RunStore) -> None:
    (child,) = writers(store.root, (0, 100_000))
    release([child])
    deadline = time.monotonic() + 60
    while len(scanned(store)) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # some runs created, one half-written
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.stdout is not None
    child.stdout.close()

    assert scanned(store)
    for statuses in ((), ("completed",), ("running",), ("interrupted",), ("pending",)):
        assert listed(store, statuses=statuses) == scanned(store, statuses)


# -- the command -----------------------------------------------------------------------------


@pytest.fixture
def many(isolated_environment: Path) -> list[str]:
    return fill(RunStore(isolated_environment), 25)


def test_list_shows_the_newest_twenty_and_says_how_many_are_older(many: list[str]) -> None:
    result = run_cli("list")

    assert result.exit_code == 0
    rows = result.stdout.splitlines()[1:]
    assert [row.split()[0] for row in rows] == many[-20:]
    assert result.stderr == (
        "5 older runs not shown (--limit N shows the newest N, --all every run)\n"
    )


def test_list_limit_and_all(many: list[str]) -> None:
    limited = run_cli("list", "--limit", "3", "--json")
    assert [run["run_id"] for run in json.loads(limited.stdout)] == many[-3:]
    assert limited.stderr.startswith("22 older runs not shown")
    assert [r["run_id"] for r in json.loads(run_cli("list", "-n", "1", "--json").stdout)] == [
        many[-1]
    ]

    every = run_cli("list", "--all")
    assert [row.split()[0] for row in every.stdout.splitlines()[1:]] == many
    assert every.stderr == ""

    completed = run_cli("list", "--all", "--status", "completed", "--json")
    assert [r["run_id"] for r in json.loads(completed.stdout)] == many[0::4]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--limit", "0"), "Invalid value for '--limit' / '-n': 0 is not in the range x>=1."),
        (("--all", "--limit", "5"), "goalctl: error: give --limit N or --all, not both"),
    ],
)
def test_list_refuses_a_bad_limit(many: list[str], args: tuple[str, ...], message: str) -> None:
    result = run_cli("list", *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_list_after_cleanup(many: list[str]) -> None:
    result = run_cli("cleanup", "--yes", *many[-3:])
    assert result.exit_code == 0, result.stderr

    listed_ids = [row.split()[0] for row in run_cli("list").stdout.splitlines()[1:]]
    assert listed_ids == many[2:-3]
