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
from tests.support.clock import FrozenClock, fixed_ids

EXAMPLES = sorted(p.name for p in SCENARIOS.iterdir() if p.suffix in (".md", ".yaml", ".yml"))
MODELS_EXAMPLE = "ticket-priority-models.md"


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
        make_id=fixed_ids(),
    )
    # One run per scenario, or one per model when the scenario compares models.
    compared = [o.model for o in summary.outcomes] if len(summary.outcomes) > 1 else [""]
    assert len(compared) == len(summary.outcomes)
    for outcome, model in zip(summary.outcomes, compared, strict=True):
        run_dir = tmp_path / "runs" / outcome.run_id
        markdown = (run_dir / "report.md").read_text()
        report = json.loads((run_dir / "report.json").read_text())
        assert report["scenario"] == f"scenarios/{name}"
        # An example shows tools working: a step that errored would be pinned as if meant.
        failed_steps = [
            (case["name"], step["step"], step["error"])
            for case in report["cases"]
            for step in case.get("trajectory", [])
            if step["error"]
        ]
        assert failed_steps == []
        suffix = f" {model}" if model else ""
        assert markdown == text_snapshot(name=f"report.md{suffix}")
        text = json.dumps(report, indent=2, ensure_ascii=False)
        assert text == text_snapshot(name=f"report.json{suffix}")


def test_examples_are_achieved_offline(tmp_path: Path) -> None:
    summary = run_paths(["scenarios"], RunOptions(), tmp_path)
    verdicts = {(o.scenario.path.name, o.verdict) for o in summary.outcomes}
    assert verdicts == {(name, "achieved") for name in EXAMPLES}
    compared = [o.model for o in summary.outcomes if o.scenario.path.name == MODELS_EXAMPLE]
    assert compared == ["claude-sonnet-4-5", "claude-haiku-4-5"]
    assert summary.exit_code == 0
