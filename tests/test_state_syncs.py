"""What a run's state costs per scenario (issue 15): an owner never reads back the state it
wrote, and its reports share the directory sync of its final state — while every write stays
atomic and durable, and another process's stop request is never lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from goalctl.state import RunStatus, RunStore, files
from goalctl.state import store as store_module
from goalctl.state.store import LATEST_FILE
from tests.test_state import make_state

RUN = "calc-0000000a"


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "state")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run ids whose state.json was read from disk."""
    seen: list[str] = []
    original = store_module.read_state

    def counting(run_dir: Path, run_id: str) -> object:
        seen.append(run_id)
        return original(run_dir, run_id)

    monkeypatch.setattr(store_module, "read_state", counting)
    return seen


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the directories synced."""
    seen: list[str] = []
    original = files.fsync_directory

    def counting(directory: Path) -> None:
        seen.append(directory.name)
        original(directory)

    monkeypatch.setattr(files, "fsync_directory", counting)
    monkeypatch.setattr(store_module, "fsync_directory", counting)
    return seen


def test_an_owner_updates_its_run_without_reading_it_back(
    store: RunStore, reads: list[str]
) -> None:
    store.create(make_state(RUN), claimed=True)
    for done in range(1, 4):
        store.update(RUN, lambda s, done=done: setattr(s, "cases_done", done))

    assert reads == []
    assert store.load(RUN).cases_done == 3  # what is on disk


def test_a_stop_request_from_another_process_reaches_the_owner(
    store: RunStore, reads: list[str]
) -> None:
    store.create(make_state(RUN), claimed=True)
    other = RunStore(store.root)  # `goalctl stop` in another shell
    other.update(RUN, lambda s: setattr(s, "stop_requested", True))
    reads.clear()

    state = store.update(RUN, lambda s: setattr(s, "phase", "execute"))

    assert reads == [RUN]  # the file is no longer the one this store wrote: read
    assert state.stop_requested
    assert json.loads((store.run_dir(RUN) / "state.json").read_text())["stop_requested"]


def test_a_failed_change_leaves_the_remembered_state_untouched(store: RunStore) -> None:
    store.create(make_state(RUN), claimed=True)

    def broken(state: object) -> None:
        state.totals["x"] = 1  # type: ignore[attr-defined]
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        store.update(RUN, broken)

    assert store.update(RUN, lambda s: None).totals == {}


def test_reports_of_a_running_run_share_the_sync_of_its_final_state(
    store: RunStore, syncs: list[str]
) -> None:
    store.create(make_state(RUN), claimed=True)
    hidden, runs = syncs  # the run's directory while hidden, then runs/ after the rename
    assert (hidden.startswith(f".{RUN}."), runs) == (True, "runs")
    syncs.clear()

    store.update(RUN, lambda s: setattr(s, "phase", "execute"))  # progress: durable too
    assert syncs == [RUN]
    syncs.clear()
    store.write_reports(RUN, {"report.md": "# r\n", "report.json": "{}\n"})
    assert syncs == []  # this process runs it: its final state syncs the directory
    store.update(RUN, lambda s: setattr(s, "status", RunStatus.COMPLETED))
    assert syncs == [RUN]

    syncs.clear()
    store.write_reports(RUN, {"report.md": "# again\n"})  # a finished run (rescore, attach)
    assert syncs == [RUN]


def test_reports_of_another_process_s_run_are_synced_at_once(
    store: RunStore, syncs: list[str]
) -> None:
    store.create(make_state(RUN), claimed=True)
    other = RunStore(store.root)
    syncs.clear()

    other.write_reports(RUN, {"report.md": "# r\n"})

    assert syncs == [RUN]


def test_the_latest_run_is_noted_in_place(store: RunStore) -> None:
    store.create(make_state("calc-00000001", created_at="2025-01-01T00:00:05Z"))
    store.create(make_state("calc-00000002", created_at="2025-01-01T00:00:09Z"))
    store.create(make_state("calc-00000003", created_at="2025-01-01T00:00:01Z"))  # older

    assert json.loads((store.root / LATEST_FILE).read_text()) == {
        "run_id": "calc-00000002",
        "created_at": "2025-01-01T00:00:09Z",
    }
    assert not list(store.root.glob(f"{LATEST_FILE}.*.tmp"))
    latest = store.latest()
    assert latest is not None
    assert latest.run_id == "calc-00000002"


def test_a_latest_note_torn_by_a_kill_is_rebuilt(store: RunStore) -> None:
    store.create(make_state("calc-00000001", created_at="2025-01-01T00:00:05Z"))
    (store.root / LATEST_FILE).write_text('{"run_id": "calc-00000001", "crea')

    latest = store.latest()

    assert latest is not None
    assert latest.run_id == "calc-00000001"
    assert json.loads((store.root / LATEST_FILE).read_text())["run_id"] == "calc-00000001"
