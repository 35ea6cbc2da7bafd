"""Every output of a run tells the same story: exit code, console line, report.md, report.json,
JUnit, annotations and the step summary name the same reasons at the same severity."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_cli

SCENARIO = """\
id: pitch
name: Pitch
description: Write a sales pitch.
provider: scripted
success_criteria:
  - id: mentions-price
    description: Mentions the price
    metric: output_contains
    target: "$"
  - id: friendly
    description: Says thanks
    metric: output_contains
    target: thanks
    weight: 0.1
constraints:
  - id: no-guarantees
    description: Never guarantees results
    constraint_type: hard
    check: "'guarantee' not in text.lower()"
  - id: brief
    description: Stays brief
    constraint_type: soft
    check: len(text) <= 40
responses: [RESPONSE]
"""


@dataclass(frozen=True)
class Expected:
    response: str
    exit_code: int
    verdict: str
    failures: frozenset[str]
    """Ids that fail the goal: an error everywhere."""
    warnings: frozenset[str]
    """Ids that are reported but do not fail the goal."""


CASES = {
    "achieved": Expected('"Costs $5, thanks!"', 0, "achieved", frozenset(), frozenset()),
    "achieved-with-unmet-low-weight-criterion": Expected(
        '"Costs $5."', 0, "achieved", frozenset(), frozenset({"friendly"})
    ),
    "hard-constraint-violated": Expected(
        '"Costs $5, thanks, results guaranteed for a year!"',
        1,
        "not_achieved",
        frozenset({"no-guarantees"}),
        frozenset({"brief"}),
    ),
    # The weight rule holds, so the unmet low-weight criterion is no reason for the verdict.
    "hard-constraint-violated-and-low-weight-criterion-unmet": Expected(
        '"Costs $5. Results guaranteed for many years!"',
        1,
        "not_achieved",
        frozenset({"no-guarantees"}),
        frozenset({"brief", "friendly"}),
    ),
    "criterion-unmet": Expected(
        '"Free, thanks!"', 1, "not_achieved", frozenset({"mentions-price"}), frozenset()
    ),
    "errored": Expected("{match: zzz, reply: x}", 3, "error", frozenset(), frozenset()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_output_agrees(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = CASES[name]
    monkeypatch.chdir(tmp_path)
    Path("pitch.yaml").write_text(SCENARIO.replace("RESPONSE", expected.response))
    summary = tmp_path / "summary.md"
    result = run_cli(
        "run",
        "pitch.yaml",
        "--junit",
        "junit.xml",
        "--report-dir",
        "out",
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == expected.exit_code, result.stdout + result.stderr
    report = json.loads(Path("out/pitch-1.0.0.json").read_text())
    markdown = Path("out/pitch-1.0.0.md").read_text()
    assert report["verdict"] == expected.verdict

    # report.json: one list of reasons with their severity
    levels = {r["id"]: r["level"] for r in report["reasons"] if r["id"]}
    assert {i for i, level in levels.items() if level == "failure"} == expected.failures
    assert {i for i, level in levels.items() if level == "warning"} == expected.warnings

    # annotations: an ::error per failure, a ::warning per warning, nothing else
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    errors = [line for line in annotations if line.startswith("::error")]
    warnings = [line for line in annotations if line.startswith("::warning")]
    if expected.verdict == "error":
        assert len(errors) == 1
        assert not warnings
    else:
        assert {_annotated_id(line) for line in errors} == expected.failures
        assert {_annotated_id(line) for line in warnings} == expected.warnings

    # JUnit: a failure per failing id, none for an achieved goal; an errored run has errors
    suite = ET.parse("junit.xml").getroot().find("testsuite")
    assert suite is not None
    failed = {
        case.get("name", "").split(": ", 1)[1]
        for case in suite.iter("testcase")
        if case.find("failure") is not None
    }
    assert failed == set(expected.failures)
    assert (int(suite.get("errors", "0")) > 0) == (expected.verdict == "error")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    for reason_id in expected.failures | expected.warnings:
        assert f"`{reason_id}`" in properties["why"]
    assert ("score" in properties) == (expected.verdict != "error")
    warned = {
        case.get("name", "").split(": ", 1)[1]
        for case in suite.iter("testcase")
        if "warning:" in (case.findtext("system-out") or "")
    }
    assert warned == set(expected.warnings)

    # the console line, report.md and the step summary name every reason
    outcome = re.compile(r"pitch-[0-9a-f]+: (achieved|not achieved|errored) — ")
    [line] = [line for line in result.stdout.splitlines() if outcome.match(line)]
    headline = markdown.splitlines()[0]
    table = [r.split(" | ") for r in summary.read_text().splitlines() if r.startswith("|")]
    row = dict(zip(table[0], table[2], strict=True))
    for text in (line, headline, row["why"]):
        for reason_id in expected.failures | expected.warnings:
            assert f"`{reason_id}`" in text, text
    for reason_id in expected.failures:
        assert "violated" in line or "unmet" in line
        assert f"`{reason_id}`" in markdown.split("## Success criteria")[0]
    if expected.verdict == "error":
        assert "score" not in line
        assert "Weighted score" not in markdown
        assert "%" not in row["score"]
        assert "score" not in run_cli("status").stdout
    if expected.failures & {"no-guarantees"}:
        assert "no hard constraint violated" not in markdown
        assert "hard constraint `no-guarantees` violated" in line


def _annotated_id(line: str) -> str:
    match = re.search(r"title=goalctl%3A [a-z ]+ ([a-z0-9_.-]+) ", line)
    assert match, line
    return match.group(1)


@pytest.mark.parametrize("name", ["hard-constraint-violated", "errored"])
def test_the_json_summary_agrees(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = CASES[name]
    monkeypatch.chdir(tmp_path)
    Path("pitch.yaml").write_text(SCENARIO.replace("RESPONSE", expected.response))
    result = run_cli("run", "pitch.yaml", "--json")
    assert result.exit_code == expected.exit_code
    [run] = json.loads(result.stdout)["runs"]
    failing = {r["id"] for r in run["reasons"] if r["level"] == "failure"}
    assert failing == expected.failures
    assert (run["score"] is None) == (expected.verdict == "error")


def test_a_goal_missed_for_no_named_reason_still_fails_in_junit() -> None:
    # Criteria met and no violation, yet not achieved: not every case ran. JUnit must not
    # pass what exit code 1 fails.
    from goalctl.reports.junit import render_junit
    from goalctl.verdict import verdict_of

    report = {
        "run_id": "pitch-00000000",
        "scenario": "pitch.yaml",
        "goal": {"id": "pitch", "version": "1.0.0"},
        "verdict": "not_achieved",
        "score": 1.0,
        "error": None,
        "budget_stop": None,
        "totals": {"cases": 2, "cases_run": 1, "elapsed_s": 0},
        "criteria": [
            {
                "id": "a",
                "met": True,
                "weight": 1.0,
                "line": 3,
                "passed": 1,
                "evaluated": 1,
                "threshold": 1.0,
                "evidence": [],
            }
        ],
        "constraints": [],
    }
    [reason] = verdict_of(report).failures
    assert reason.summary == "only 1 of 2 cases ran"
    suite = ET.fromstring(render_junit([report])).find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "1"
