"""``goalctl baseline save RUN_ID``: a finished run's results as a baseline file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goalctl.baselines.document import baseline_document, baseline_path, dump_baseline
from goalctl.errors import UsageError
from goalctl.state import RunStatus, RunStore


@dataclass(frozen=True)
class Saved:
    path: Path
    document: dict[str, Any]


def save_baseline(store: RunStore, run: str, out: Path | None = None) -> Saved:
    """Write the baseline of run ``run`` (an id, a unique prefix or a goal id) to ``out``,
    by default ``<scenario>.baseline.json`` beside the run's scenario.

    Only a completed run has results to keep: a run that errored has no verdict, and a
    stopped, interrupted or running one is not over (a refusal, exit 2).
    """
    from goalctl.reporting import load_report

    run_id = store.resolve(run)
    state = store.load(run_id)
    if state.status is RunStatus.FAILED:
        raise UsageError(
            f"run {run_id} errored ({state.error or 'no verdict'}): a baseline keeps the "
            "results of a completed run; fix the error and run the scenario again"
        )
    if state.status is not RunStatus.COMPLETED:
        raise UsageError(
            f"run {run_id} is {state.status.value}, not completed: a baseline keeps the "
            "results of a completed run" + _remedy(run_id, state.status)
        )
    report = load_report(store, run_id)
    if report["verdict"] == "error":
        raise UsageError(f"run {run_id} errored: a baseline keeps the results of a verdict")
    target = out if out is not None else baseline_path(Path(state.scenario))
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {target}: {target.parent} is not a directory")
    if target.is_dir():
        raise UsageError(f"cannot write {target}: it is a directory")
    document = baseline_document(report)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(dump_baseline(document), encoding="utf-8")
        temporary.replace(target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    return Saved(target, document)


def _remedy(run_id: str, status: RunStatus) -> str:
    if status in (RunStatus.STOPPED, RunStatus.INTERRUPTED):
        return f"; resume it with `goalctl start {run_id}` first"
    return f"; wait for it to finish (`goalctl logs {run_id} --follow`)"
