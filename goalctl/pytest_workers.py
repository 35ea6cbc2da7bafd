"""One run of a scenario for all pytest-xdist workers of a test session.

Under ``--dist load`` (xdist's default) the items of one scenario may go to several workers.
Each worker would run the scenario for its items; instead, the first worker to need a
scenario runs it under a lock and leaves a record of the outcome (the run id, the reason it
was skipped, or the error that kept it from running); the others wait on the lock and read
the run back from the run store. The records live in the temp dir, under the session's
``testrunuid`` that xdist gives every worker, so that nothing is added to the state dir.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from goalctl.api.results import ScenarioResult
    from goalctl.errors import GoalctlError
    from goalctl.scenario.model import Scenario

    Outcome = ScenarioResult | str | GoalctlError


def session_id(workerinput: dict[str, Any] | None) -> str | None:
    """The test session's id when this process is an xdist worker; None otherwise."""
    if not workerinput:
        return None
    uid = workerinput.get("testrunuid")
    return str(uid) if uid else None


def shared_outcome(
    uid: str, path: Path, scenario: Scenario, state_dir: Path, run: Callable[[], Outcome]
) -> Outcome:
    """The outcome of the scenario at ``path`` in session ``uid``: ``run()``'s, in the first
    worker that asks, read back from ``state_dir`` in the others."""
    from goalctl.state.files import exclusive_lock

    folder = Path(tempfile.gettempdir()) / f"goalctl-pytest-{_safe(uid)}"
    folder.mkdir(exist_ok=True)
    key = hashlib.sha256(str(path.absolute()).encode()).hexdigest()[:32]
    record = folder / f"{key}.json"
    with exclusive_lock(folder / f"{key}.lock"):
        if record.exists():
            return _read(json.loads(record.read_text(encoding="utf-8")), scenario, state_dir)
        outcome = run()
        record.write_text(json.dumps(_record(outcome)), encoding="utf-8")
        return outcome


def _safe(uid: str) -> str:
    return "".join(c for c in uid if c.isalnum())[:64] or "session"


def _record(outcome: Outcome) -> dict[str, str]:
    if isinstance(outcome, str):
        return {"skipped": outcome}
    if isinstance(outcome, Exception):
        return {"error": str(outcome)}
    return {"run_id": outcome.run_id}


def _read(record: dict[str, str], scenario: Scenario, state_dir: Path) -> Outcome:
    from goalctl.errors import GoalctlError

    if "skipped" in record:
        return record["skipped"]
    if "error" in record:
        return GoalctlError(record["error"])
    from goalctl.api.results import ScenarioResult
    from goalctl.outcomes import RunOutcome
    from goalctl.state import RunStore

    store = RunStore(state_dir)
    run_id = record["run_id"]
    state = store.load(run_id)
    report_file = store.run_dir(run_id) / "report.json"
    if not report_file.exists():  # stopped: no report
        stopped = RunOutcome(run_id, scenario, state.status, None, {})
        return ScenarioResult.from_outcome(stopped)
    report = json.loads(report_file.read_text(encoding="utf-8"))
    paths = [report_file.with_suffix(".md"), report_file]
    return ScenarioResult.from_outcome(
        RunOutcome(run_id, scenario, state.status, report["verdict"], report, paths)
    )
