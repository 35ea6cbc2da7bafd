"""JUnit XML for CI systems: one suite per run, one testcase per criterion and constraint.

Reports come from real offline runs (a passing example, a failing scenario, an errored one),
so the XML is checked against what goalctl actually writes, not against hand-made dicts.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl.errors import UsageError
from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from goalctl.reports.junit import merge_junit, render_junit
from tests.conftest import REPO
from tests.support.clock import FrozenClock, fixed_id
from tests.support.weather import weather_report

FAILING = """\
id: triage
name: Ticket Triage
description: Route support tickets to the team that owns them.
version: 2.1.0
provider: scripted
success_criteria:
  - {id: names-team, description: Routes to billing, metric: output_contains, target: billing}
  - {id: polite, description: Says please, metric: output_contains, target: please}
constraints:
  - id: no-card-numbers
    description: Never repeats a card number
    constraint_type: hard
    category: safety
    check: "'4242' not in output"
  - id: brief
    description: Stays under 40 characters
    constraint_type: soft
    category: quality
    check: len(output) < 40
  - id: no-promises
    description: Promises no refunds
    constraint_type: hard
    category: scope
cases:
  - name: card-dispute
    input: {ticket: I was charged twice on card 4242}
responses:
  - "please send this to sales: card 4242 was charged twice"
prompt: "Route this ticket: {{ input.ticket }}"
"""

ERRORED = """\
id: outage
name: Outage
description: The provider has no reply for this case.
provider: scripted
success_criteria:
  - {id: answers, description: Answers at all, metric: output_contains, target: ok}
constraints:
  - {id: brief, description: Stays short, constraint_type: soft, category: quality, check: len(output) < 40}
  - {id: kind, description: Is kind, constraint_type: soft, category: quality}
cases:
  - name: unanswered
responses:
  - {match: this never matches, reply: ok}
prompt: "Say ok."
"""


def run_report(path: str, state: Path) -> dict[str, Any]:
    """Run one scenario offline (relative to the working directory) and return its report."""
    summary = run_paths([path], RunOptions(), state, clock=FrozenClock(), make_id=fixed_id)
    [outcome] = summary.outcomes
    report: dict[str, Any] = json.loads(
        (state / "runs" / outcome.run_id / "report.json").read_text()
    )
    return report


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """An achieved example run, a run that fails, and a run that errors."""
    monkeypatch.chdir(REPO)
    achieved = run_report("scenarios/calculator.md", tmp_path / "state-a")
    work = tmp_path / "work"
    (work / "scenarios").mkdir(parents=True)
    (work / "scenarios" / "triage.yaml").write_text(FAILING)
    (work / "scenarios" / "outage.yaml").write_text(ERRORED)
    monkeypatch.chdir(work)  # relative scenario paths, as in a repository checkout
    failed = run_report("scenarios/triage.yaml", tmp_path / "state-b")
    errored = run_report("scenarios/outage.yaml", tmp_path / "state-c")
    assert [r["verdict"] for r in (achieved, failed, errored)] == [
        "achieved",
        "not_achieved",
        "error",
    ]
    return {"achieved": achieved, "failed": failed, "errored": errored}


def _int(element: ET.Element, name: str) -> int:
    value = element.get(name)
    assert value is not None, f"<{element.tag}> has no {name!r} attribute"
    assert value.isdigit(), f"<{element.tag} {name}={value!r}> is not a count"
    return int(value)


def _seconds(element: ET.Element) -> float:
    value = element.get("time")
    assert value is not None, f"<{element.tag}> has no 'time' attribute"
    seconds = float(value)
    assert seconds >= 0
    return seconds


def assert_junit_shape(xml: str) -> ET.Element:
    """The JUnit shape GitHub, GitLab and Jenkins readers rely on; returns the parsed root.

    Stands in for an XSD check: a ``<testsuites>`` root whose totals are the sums over its
    suites; suites with name and counts that match their testcases; testcases with
    classname, name and time; at most one outcome per testcase, and outcomes only there.
    """
    assert xml.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == "testsuites"
    suites = list(root)
    assert all(suite.tag == "testsuite" for suite in suites)
    sums = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    total_time = 0.0
    for suite in suites:
        assert suite.get("name")
        cases = suite.findall("testcase")
        assert {child.tag for child in suite} <= {"properties", "testcase", "system-out"}
        counts = {
            "tests": len(cases),
            "failures": sum(case.find("failure") is not None for case in cases),
            "errors": sum(case.find("error") is not None for case in cases),
            "skipped": sum(case.find("skipped") is not None for case in cases),
        }
        assert {key: _int(suite, key) for key in counts} == counts, suite.get("name")
        for key, value in counts.items():
            sums[key] += value
        total_time += _seconds(suite)
        for case in cases:
            assert case.get("classname")
            assert case.get("name")
            _seconds(case)
            outcomes = [child for child in case if child.tag in ("failure", "error", "skipped")]
            assert len(outcomes) <= 1, case.get("name")
            for outcome in outcomes:
                if outcome.tag != "skipped":
                    assert outcome.get("message")
                    assert outcome.get("type")
    assert {key: _int(root, key) for key in sums} == sums
    assert _seconds(root) == pytest.approx(total_time, abs=0.001 * (len(suites) + 1))
    parents = {child: parent for parent in root.iter() for child in parent}
    for tag in ("failure", "error", "skipped"):
        for element in root.iter(tag):
            assert parents[element].tag == "testcase"
    return root


def find_case(root: ET.Element, suite: str, name: str) -> ET.Element:
    found = root.find(f"testsuite[@name='{suite}']/testcase[@name='{name}']")
    assert found is not None, f"no testcase {name!r} in suite {suite!r}"
    return found


class TestRender:
    def test_passing_failing_and_errored_runs(
        self, reports: dict[str, dict[str, Any]], text_snapshot: SnapshotAssertion
    ) -> None:
        xml = render_junit(list(reports.values()))
        root = assert_junit_shape(xml)
        assert xml == text_snapshot
        totals = {key: root.get(key) for key in ("tests", "failures", "errors", "skipped")}
        assert totals == {"tests": "12", "failures": "2", "errors": "2", "skipped": "2"}
        suites = [(s.get("name"), s.get("tests"), s.get("timestamp")) for s in root]
        assert suites == [
            ("calculator@1.0.0", "4", "2026-01-01T00:00:00+00:00"),
            ("triage@2.1.0", "5", "2026-01-01T00:00:00+00:00"),
            ("outage@1.0.0", "3", "2026-01-01T00:00:00+00:00"),
        ]

    def test_a_suite_carries_the_run_as_properties(
        self, reports: dict[str, dict[str, Any]]
    ) -> None:
        root = assert_junit_shape(render_junit([reports["failed"]]))
        properties = {p.get("name"): p.get("value") for p in root.iter("property")}
        assert properties == {
            "run_id": "triage-00000000",
            "scenario": "scenarios/triage.yaml",
            "agent": "llm",
            "provider": "scripted",
            "model": "claude-sonnet-4-5",
            "verdict": "not_achieved",
            "score": "0.5",
            "why": "criterion `names-team` unmet; hard constraint `no-card-numbers` violated; "
            "warning: soft constraint `brief` violated",
        }

    def test_an_unmet_criterion_fails_with_its_evidence_at_its_line(
        self, reports: dict[str, dict[str, Any]]
    ) -> None:
        root = assert_junit_shape(render_junit([reports["failed"]]))
        case = find_case(root, "triage@2.1.0", "criterion: names-team")
        assert case.attrib == {
            "classname": "scenarios/triage.yaml",
            "name": "criterion: names-team",
            "file": "scenarios/triage.yaml",
            "line": "7",
            "time": "0",
        }
        assert FAILING.splitlines()[6].startswith("  - {id: names-team")
        failure = case.find("failure")
        assert failure is not None
        assert failure.attrib == {
            "message": "names-team: 0/1 passed, needs 100%",
            "type": "criterion",
        }
        assert failure.text == "card-dispute: missing 'billing'"
        assert list(find_case(root, "triage@2.1.0", "criterion: polite")) == []

    def test_a_violated_hard_constraint_fails_with_its_violations(
        self, reports: dict[str, dict[str, Any]]
    ) -> None:
        root = assert_junit_shape(render_junit([reports["failed"]]))
        case = find_case(root, "triage@2.1.0", "constraint: no-card-numbers")
        failure = case.find("failure")
        assert failure is not None
        assert failure.attrib == {
            "message": "no-card-numbers: hard constraint violated: "
            "card-dispute: '4242' not in output → false",
            "type": "constraint",
        }
        assert failure.text == "card-dispute: '4242' not in output → false"

    def test_a_violated_soft_constraint_is_a_passing_testcase_with_a_warning(
        self, reports: dict[str, dict[str, Any]]
    ) -> None:
        report = reports["failed"]
        assert report["constraints"][1]["violated"] is True
        root = assert_junit_shape(render_junit([report]))
        case = find_case(root, "triage@2.1.0", "constraint: brief")
        assert [child.tag for child in case] == ["system-out"]
        assert case.findtext("system-out") == (
            "warning: soft constraint brief violated (does not fail the goal)\n"
            "card-dispute: len(output) < 40 → false"
        )

    def test_a_constraint_without_a_check_is_skipped(
        self, reports: dict[str, dict[str, Any]]
    ) -> None:
        root = assert_junit_shape(render_junit([reports["failed"]]))
        case = find_case(root, "triage@2.1.0", "constraint: no-promises")
        skipped = case.find("skipped")
        assert skipped is not None
        assert skipped.attrib == {"message": "no check: guides the agent but is not verified"}

    def test_an_errored_run_has_errors_instead_of_verdicts(
        self, reports: dict[str, dict[str, Any]]
    ) -> None:
        report = reports["errored"]
        root = assert_junit_shape(render_junit([report]))
        [suite] = root
        counts = [suite.get(key) for key in ("tests", "failures", "errors", "skipped")]
        assert counts == ["3", "0", "2", "1"]
        error = find_case(root, "outage@1.0.0", "criterion: answers").find("error")
        assert error is not None
        assert error.get("type") == "run-error"
        assert error.get("message") == error.text == report["error"]
        assert report["error"].startswith("case 'unanswered': scripted: no reply")
        brief = find_case(root, "outage@1.0.0", "constraint: brief")
        assert [child.tag for child in brief] == ["error"]
        kind = find_case(root, "outage@1.0.0", "constraint: kind")
        assert [child.tag for child in kind] == ["skipped"]

    def test_no_reports_is_an_empty_document(self) -> None:
        xml = render_junit([])
        root = assert_junit_shape(xml)
        assert xml == (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<testsuites name="goalctl" tests="0" failures="0" errors="0" skipped="0" '
            'time="0.000" />\n'
        )
        assert list(root) == []

    def test_markup_quotes_newlines_and_control_characters_are_escaped(
        self, reports: dict[str, dict[str, Any]]
    ) -> None:
        nasty = "a <b> & \"c\" 'd'\nline two \x01 \x00 \ud800 \ufffe end"
        failed = copy.deepcopy(reports["failed"])
        failed["criteria"][0]["evidence"] = [nasty]
        failed["constraints"][0]["violations"] = [nasty]
        failed["model"] = nasty
        errored = copy.deepcopy(reports["errored"])
        errored["error"] = nasty
        xml = render_junit([failed, errored])
        root = assert_junit_shape(xml)
        shown = "a <b> & \"c\" 'd'\nline two \\x01 \\x00 \\ud800 \\ufffe end"
        criterion = find_case(root, "triage@2.1.0", "criterion: names-team")
        assert criterion.findtext("failure") == shown
        constraint = find_case(root, "triage@2.1.0", "constraint: no-card-numbers")
        assert constraint.find("failure") is not None
        assert constraint.findtext("failure") == shown
        assert constraint.find("failure").get("message").endswith(shown)  # type: ignore[union-attr]
        model = root.find("testsuite/properties/property[@name='model']")
        assert model is not None
        assert model.get("value") == shown
        error = find_case(root, "outage@1.0.0", "criterion: answers").find("error")
        assert error is not None
        assert error.get("message") == error.text == shown
        assert "\x01" not in xml
        assert "&lt;b&gt; &amp;" in xml


SUREFIRE = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.AppTest" tests="3" failures="1" errors="0" skipped="1" time="1.5">
  <testcase classname="com.example.AppTest" name="adds" time="0.5"/>
  <testcase classname="com.example.AppTest" name="divides" time="1.0">
    <failure message="expected 3.5" type="AssertionError">at AppTest.java:12</failure>
  </testcase>
  <testcase classname="com.example.AppTest" name="later" time="0"><skipped/></testcase>
</testsuite>
"""

BARE_COUNTS = """<testsuites>
  <testsuite name="bare">
    <testcase classname="t" name="one" time="0.25"><error message="boom" type="E"/></testcase>
    <testcase classname="t" name="two" time="0.5"/>
  </testsuite>
</testsuites>
"""


class TestMerge:
    def test_merging_rendered_documents_equals_rendering_them_together(
        self, reports: dict[str, dict[str, Any]]
    ) -> None:
        achieved, failed, errored = reports.values()
        first = render_junit([achieved])
        second = render_junit([failed, errored])
        merged = merge_junit([first, second])
        assert merged == render_junit([achieved, failed, errored])
        root = assert_junit_shape(merged)
        assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("12", "2", "2")

    def test_a_bare_testsuite_root_merges_and_totals_add_up(
        self, reports: dict[str, dict[str, Any]]
    ) -> None:
        merged = merge_junit([render_junit([reports["failed"]]), SUREFIRE])
        root = assert_junit_shape(merged)
        assert [suite.get("name") for suite in root] == ["triage@2.1.0", "com.example.AppTest"]
        totals = {key: root.get(key) for key in ("tests", "failures", "errors", "skipped", "time")}
        assert totals == {
            "tests": "8",
            "failures": "3",
            "errors": "0",
            "skipped": "2",
            "time": "1.500",
        }
        surefire = root[1]
        assert [surefire.get(k) for k in ("tests", "failures", "skipped", "time")] == [
            "3",
            "1",
            "1",
            "1.500",
        ]

    def test_missing_suite_counts_are_counted_from_the_testcases(self) -> None:
        root = assert_junit_shape(merge_junit([BARE_COUNTS]))
        [suite] = root
        assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped", "time")} == {
            "tests": "2",
            "failures": "0",
            "errors": "1",
            "skipped": "0",
            "time": "0.750",
        }
        assert root.get("errors") == "1"

    def test_invalid_suite_counts_are_counted_from_the_testcases(self) -> None:
        document = (
            '\ufeff<?xml version="1.0"?>'
            '<testsuite name="odd" tests="many" failures="-2" time="nan">'
            '<testcase classname="c" name="n" time="0.2"><failure message="m" type="t"/>'
            "</testcase></testsuite>"
        )
        root = assert_junit_shape(merge_junit([document]))
        assert [root[0].get(k) for k in ("tests", "failures", "errors", "time")] == [
            "1",
            "1",
            "0",
            "0.200",
        ]

    def test_nothing_to_merge_is_an_empty_document(self) -> None:
        assert merge_junit([]) == render_junit([])

    def test_xml_that_does_not_parse_is_a_usage_error(self) -> None:
        with pytest.raises(UsageError) as caught:
            merge_junit([render_junit([]), "<testsuites><testsuite>"], names=["a.xml", "b.xml"])
        assert str(caught.value).startswith("b.xml is not well-formed XML (no element found:")
        assert str(caught.value).endswith("; pass a JUnit XML file")

    def test_xml_that_is_not_junit_is_a_usage_error(self) -> None:
        with pytest.raises(UsageError) as caught:
            merge_junit(["<html><body/></html>"])
        assert str(caught.value) == (
            "JUnit document 1 is not JUnit XML: its root element is <html>, "
            "expected <testsuites> or <testsuite>"
        )

    @pytest.mark.parametrize("garbage", ["", "not xml at all", "{}", "<a></b>"])
    def test_garbage_is_a_usage_error(self, garbage: str) -> None:
        with pytest.raises(UsageError, match=r"^JUnit document 1 is not well-formed XML"):
            merge_junit([garbage])


class TestTrajectories:
    def test_a_failure_lists_the_steps_of_the_cases_that_failed_it(
        self,
        tmp_path: Path,
        isolated_environment: Path,
        monkeypatch: pytest.MonkeyPatch,
        text_snapshot: SnapshotAssertion,
    ) -> None:
        (tmp_path / "work").mkdir()
        monkeypatch.chdir(tmp_path / "work")
        xml = render_junit([weather_report(tmp_path / "work", isolated_environment)])
        root = assert_junit_shape(xml)
        expected = (
            "steps of case atlantis:\n"
            '  #1 get_weather({"city": "Atlantis"}) → ERROR: no such city: Atlantis'
        )
        for name in ("criterion: sunny", "constraint: finds-the-city"):
            case = find_case(root, "weather@1.0.0", name)
            assert case.find("failure") is not None
            assert case.findtext("system-out") == expected
        assert xml == text_snapshot
