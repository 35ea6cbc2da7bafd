"""The index of the latest run (issue 15): ``status``/``logs`` without an id cost the same for
any number of runs, and always agree with a scan of every run."""

from __future__ import annotations

from pathlib import Path

import pytest

from goalctl.state import RunStatus, RunStore
from goalctl.state.store import LATEST_FILE
from tests.test_state import make_state

TIMES = {
    "calc-00000001": "2025-01-01T00:00:03Z",
    "calc-00000002": "2025-01-01T00:00:09Z",  # the latest, though not created last
    "calc-00000003": "2025-01-01T00:00:05Z",
}


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    store = RunStore(tmp_path)
    for run_id, created in TIMES.items():
        store.create(make_state(run_id, created_at=created, status=RunStatus.COMPLETED))
    return store


def scanned_latest(store: RunStore) -> str:
    return store.list()[-1].run_id


def test_the_index_names_the_run_created_latest_and_needs_no_scan(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert scanned_latest(store) == "calc-00000002"

    def no_scan() -> list[object]:
        raise AssertionError("scanned every run")

    monkeypatch.setattr(store, "list", no_scan)
    latest = store.latest()

    assert latest is not None
    assert latest.run_id == "calc-00000002"
    assert latest.status is RunStatus.COMPLETED  # read from the run itself


@pytest.mark.parametrize("damage", ["", "{not json", '{"run_id": "../../etc"}', "[1]"])
def test_a_missing_or_damaged_index_is_rebuilt_from_a_scan(store: RunStore, damage: str) -> None:
    index = store.root / LATEST_FILE
    if damage:
        index.write_text(damage)
    else:
        index.unlink()

    latest = store.latest()

    assert latest is not None
    assert latest.run_id == "calc-00000002"
    assert '"calc-00000002"' in index.read_text()


def test_an_index_naming_a_removed_run_falls_back_to_the_newest_left(store: RunStore) -> None:
    store.remove("calc-00000002")

    latest = store.latest()

    assert latest is not None
    assert latest.run_id == scanned_latest(store) == "calc-00000003"
    assert '"calc-00000003"' in (store.root / LATEST_FILE).read_text()  # rebuilt


def test_no_runs_no_latest(tmp_path: Path) -> None:
    assert RunStore(tmp_path).latest() is None


def test_the_index_is_not_a_run(store: RunStore) -> None:
    scan = store.scan()

    assert [run.run_id for run in scan.runs] == ["calc-00000001", "calc-00000003", "calc-00000002"]
    assert scan.problems == []
