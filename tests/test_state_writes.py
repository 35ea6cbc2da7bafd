"""How often a run writes state.json (issue 15: ≤ 2 ms of goalctl per scenario).

A short scenario writes its state twice: created (already running) and finished; phases and
progress reach state.json by timer (:data:`goalctl.runner.PROGRESS_INTERVAL_S`), so a phase
that lasts is still visible to ``status``. Durability is unchanged: every write is fsynced and
atomic — the first is made in the run's directory while it is still hidden, the others replace
the file (tests/test_faults.py kills runs at every moment).
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from goalctl.state import files

SCENARIO = """\
id: demo
name: Demo
description: A demo goal.
provider: scripted
provider_options: {latency_ms: LATENCY}
success_criteria:
  - {id: says, description: Says hi, metric: output_contains, target: hi}
cases: [{name: one}, {name: two}]
responses: ["hi", "hi"]
"""


def writes_of_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, latency_ms: int, scenario: str = SCENARIO
) -> list:
    """The states written to state.json during one run, in order."""
    written: list[dict] = []
    original, original_new = files.write_atomic, files.write_new

    def recording(path: Path, text: str, **kwargs: object) -> None:
        if path.name == "state.json":
            written.append(json.loads(text))
        original(path, text, **kwargs)  # type: ignore[arg-type]

    def recording_new(path: Path, text: str) -> None:  # a run's first state, while hidden
        written.append(json.loads(text))
        original_new(path, text)

    monkeypatch.setattr(files, "write_atomic", recording)
    monkeypatch.setattr("goalctl.state.store.write_atomic", recording)
    monkeypatch.setattr("goalctl.state.store.write_new", recording_new)
    path = tmp_path / "s.yaml"
    path.write_text(dedent(scenario).replace("LATENCY", str(latency_ms)))
    summary = run_paths([str(path)], RunOptions(), tmp_path / "state")
    assert [o.verdict for o in summary.outcomes] == ["achieved"]
    return written


def test_a_short_run_writes_its_state_twice_created_running_and_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = writes_of_state(tmp_path, monkeypatch, 0)

    assert [(s["status"], s["phase"], s["cases_done"]) for s in written] == [
        ("running", "", 0),
        ("completed", "", 2),
    ]


def test_a_phase_that_lasts_reaches_state_json_by_timer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("goalctl.runner.PROGRESS_INTERVAL_S", 0.05)
    # Each reply takes 0.4 s: the execute phase lasts long enough for the timer.
    written = writes_of_state(tmp_path, monkeypatch, 400)

    assert written[0]["status"] == "running"
    assert ("running", "execute") in [(s["status"], s["phase"]) for s in written[1:-1]]
    assert written[-1]["status"] == "completed"
    assert written[-1]["phase"] == ""


def test_progress_reaches_state_json_while_cases_that_never_wait_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scripted replies come back without the loop ever waiting: the workers still give the
    loop its turn after each case, so the progress timer (and a stop's signal handler) runs
    while the cases do, not only once they are all done."""
    monkeypatch.setattr("goalctl.runner.PROGRESS_INTERVAL_S", 0.01)
    cases = ", ".join(f"{{name: c{n}}}" for n in range(1_000))
    scenario = SCENARIO.replace("cases: [{name: one}, {name: two}]", f"cases: [{cases}]")
    written = writes_of_state(tmp_path, monkeypatch, 0, scenario)

    progress = [s["cases_done"] for s in written[1:-1] if s["phase"] == "execute"]
    assert any(0 < done < 1_000 for done in progress), progress
    assert written[-1]["cases_done"] == 1_000
