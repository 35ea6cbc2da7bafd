"""Every example scenario runs offline, and its report is pinned by a snapshot.

The parametrization globs ``scenarios/``, so a new scenario is a new test whose snapshot does
not exist yet: the suite fails until its report is reviewed and pinned (``make snapshots``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from tests.conftest import REPO, SCENARIOS
from tests.support.clock import FrozenClock, fixed_id

EXAMPLES = sorted(p.name for p in SCENARIOS.iterdir() if p.suffix in (".md", ".yaml", ".yml"))


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch, venv_on_path: None) -> None:
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_report(name: str, tmp_path: Path, text_snapshot: SnapshotAssertion) -> None:
    summary = run_paths(
        [f"scenarios/{name}"],
        RunOptions(include_drafts=True),
        tmp_path,
        clock=FrozenClock(),
        make_id=fixed_id,
    )
    [outcome] = summary.outcomes
    run_dir = tmp_path / "runs" / outcome.run_id
    markdown = (run_dir / "report.md").read_text()
    report = json.loads((run_dir / "report.json").read_text())
    assert report["scenario"] == f"scenarios/{name}"
    # An example shows tools working: a step that errored would be pinned as if it were meant.
    failed_steps = [
        (case["name"], step["step"], step["error"])
        for case in report["cases"]
        for step in case.get("trajectory", [])
        if step["error"]
    ]
    assert failed_steps == []
    assert markdown == text_snapshot(name="report.md")
    assert json.dumps(report, indent=2, ensure_ascii=False) == text_snapshot(name="report.json")


def test_examples_are_achieved_offline(tmp_path: Path) -> None:
    summary = run_paths(["scenarios"], RunOptions(), tmp_path)
    verdicts = {o.scenario.path.name: o.verdict for o in summary.outcomes}
    assert verdicts == dict.fromkeys(EXAMPLES, "achieved")
    assert summary.exit_code == 0
