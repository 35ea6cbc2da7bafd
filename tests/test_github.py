"""Under GitHub Actions: annotations at the lines that define what failed, and a summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl.reports.github import annotation
from tests.conftest import REPO, run_cli

FAILING = """\
id: triage
name: Triage
description: Route support tickets.
provider: scripted
success_criteria:
  - id: routed
    description: Names a team
    metric: output_contains
    target: "team:"
  - id: polite
    description: Stays polite
    metric: custom
    check: "'sorry' not in text.lower()"
    weight: 0.2
constraints:
  - id: short
    description: At most 20 characters
    constraint_type: hard
    check: len(text) <= 20
  - id: no-caps
    description: No shouting
    constraint_type: soft
    check: text != text.upper()
responses: ["SORRY, NO IDEA WHAT TO DO"]
"""


@pytest.fixture
def failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = Path("triage.yaml")
    path.write_text(FAILING)
    return path


def test_annotations_and_summary_of_a_failed_run(
    failing: Path, tmp_path: Path, text_snapshot: SnapshotAssertion
) -> None:
    summary = tmp_path / "summary.md"
    result = run_cli(
        "run", str(failing), env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.exit_code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotations == [
        "::error file=triage.yaml,line=6,title=goalctl%3A criterion routed unmet::"
        "Names a team — 0/1 cases passed, needs 100%25: case-1: missing 'team:'",
        "::error file=triage.yaml,line=10,title=goalctl%3A criterion polite unmet::"
        "Stays polite — 0/1 cases passed, needs 100%25: case-1: 'sorry' not in text.lower() → false",
        "::error file=triage.yaml,line=16,title=goalctl%3A hard constraint short violated::"
        "At most 20 characters: case-1: len(text) <= 20 → false",
        "::warning file=triage.yaml,line=20,title=goalctl%3A soft constraint no-caps violated::"
        "No shouting: case-1: text != text.upper() → false",
    ]
    # Run ids are random; everything else in the summary is deterministic.
    assert re.sub(r"triage-[0-9a-f]{8}", "triage-<run-id>", summary.read_text()) == text_snapshot


def test_no_annotations_outside_github_actions(failing: Path) -> None:
    result = run_cli("run", str(failing))
    assert not any(line.startswith("::") for line in result.stdout.splitlines())


def test_run_json_stays_json_under_github_actions(failing: Path) -> None:
    # `goalctl run --json > out.json` in a workflow: the annotations go to stderr, where the
    # runner reads them too, and stdout holds one JSON document.
    result = run_cli("run", "--json", str(failing), env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 1
    assert json.loads(result.stdout)["runs"][0]["verdict"] == "not_achieved"
    annotations = [line for line in result.stderr.splitlines() if line.startswith("::")]
    assert len(annotations) == 4
    assert annotations[0].startswith("::error file=triage.yaml,line=6,")


def test_an_invalid_file_is_annotated_by_run(failing: Path) -> None:
    failing.write_text(FAILING.replace("weight: 0.2", "weight: 2"))
    result = run_cli("run", str(failing), env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "::error file=triage.yaml,line=14,col=13,title=goalctl validate::"
        "success_criteria[1].weight: must be at most 1.0, got 2"
    )


def test_an_errored_run_is_one_error_annotation(failing: Path) -> None:
    failing.write_text(
        FAILING.replace(
            'responses: ["SORRY, NO IDEA WHAT TO DO"]', "responses: [{match: zzz, reply: x}]"
        )
    )
    result = run_cli("run", str(failing), env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 3
    [line] = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert line.startswith(
        "::error file=triage.yaml,line=1,title=goalctl%3A triage@1.0.0 errored::the run errored"
    )


def test_annotation_escaping() -> None:
    assert annotation("error", "50% done\nnext", file="a,b:c.md", line=3, title="t: x") == (
        "::error file=a%2Cb%3Ac.md,line=3,title=t%3A x::50%25 done%0Anext"
    )


def test_examples_under_actions_are_quiet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, venv_on_path: None
) -> None:
    monkeypatch.chdir(REPO)
    summary = tmp_path / "summary.md"
    result = run_cli(
        "run", "scenarios", env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.exit_code == 0
    commands = [line for line in result.stdout.splitlines() if line.startswith("::")]
    # The one notice: the flaky case of the trials example, reported and never gating.
    assert commands == [
        "::notice file=scenarios/review-sentiment-trials.md,title=goalctl%3A "
        "review-sentiment@1.0.0 flaky::flaky case sarcasm: 7/10 trials passed "
        "(reported, never gates)"
    ]
    assert summary.read_text().count("✅ achieved") == len(
        list((REPO / "scenarios").glob("*.[my]*"))
    )
