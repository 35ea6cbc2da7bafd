"""``logs --lines N`` reads the event log from its end (issue 15): same events as a full read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goalctl.state import RunStore, readers
from goalctl.state.readers import DamagedRun, read_journal_tail


def event(number: int, width: int) -> bytes:
    record = {"time": "2026-01-01T00:00:00+00:00", "level": "info", "phase": "execute"}
    record["message"] = f"event {number} " + "x" * width
    return json.dumps(record).encode() + b"\n"


def store_with(tmp_path: Path, body: bytes) -> tuple[RunStore, str]:
    run_id = "demo-0123abcd"
    run_dir = tmp_path / "runs" / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "events.jsonl").write_bytes(body)
    return RunStore(tmp_path), run_id


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(0, 40),
    widths=st.lists(st.integers(0, 300), max_size=40),
    torn=st.binary(max_size=20).filter(lambda b: b"\n" not in b),
    block=st.sampled_from([7, 64, 1024]),
)
def test_the_last_lines_match_a_full_read(
    tmp_path_factory: pytest.TempPathFactory, count: int, widths: list[int], torn: bytes, block: int
) -> None:
    tmp_path = tmp_path_factory.mktemp("tail")
    body = b"".join(event(i, w) for i, w in enumerate(widths)) + torn
    store, run_id = store_with(tmp_path, body)
    everything, full_offset = store.read_events(run_id)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "TAIL_BLOCK", block)
        events, offset = store.read_last_events(run_id, count)

    assert events == (everything[-count:] if count else [])
    assert offset == full_offset  # --follow goes on from the same place


def test_a_long_log_is_read_from_its_end_only(tmp_path: Path) -> None:
    body = b"".join(event(i, 100) for i in range(50_000))
    store, run_id = store_with(tmp_path, body)

    data, start = read_journal_tail(tmp_path / "runs" / run_id, run_id, "events.jsonl", 20)

    assert len(data) < 2 * readers.TAIL_BLOCK
    assert start == len(body) - len(data)
    events, _ = store.read_last_events(run_id, 20)
    assert [e["message"].split()[1] for e in events] == [str(n) for n in range(49_980, 50_000)]


def test_damage_in_the_tail_is_reported_with_its_line_number(tmp_path: Path) -> None:
    body = event(0, 1) + b"not json\n" + event(2, 1)
    store, run_id = store_with(tmp_path, body)

    with pytest.raises(DamagedRun, match=r"events\.jsonl line 2"):
        store.read_last_events(run_id, 5)
