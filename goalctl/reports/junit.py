"""JUnit XML, the test-report format CI systems read (GitHub, GitLab, Jenkins).

Each run is a ``<testsuite>``; each success criterion and each constraint is a ``<testcase>``
pointing at the scenario line that defines it. With trials, a criterion's testcase carries its
pass rate, 95% interval, pass@k and pass^k as ``<properties>`` (the criterion is what gates, so
its testcase is where the numbers belong), and each flaky case is a ``<skipped>`` testcase with
its pass rate: reported, never failing the suite. Only what fails the goal is a ``<failure>`` —
the reasons of :func:`goalctl.verdict.verdict_of`, the same reasons every other output names. A
warning (a violated soft constraint, or an unmet criterion when the met ones carry 90% of the
weight anyway) only writes ``<system-out>``, so CI readers count it as passed and a goal that
exits 0 has no failure. A constraint without a ``check`` is ``<skipped>``: it guides the agent
and is never verified. When the run errored there is no verdict, so every verifiable testcase
carries an ``<error>`` instead.
"""

from __future__ import annotations

import copy
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from goalctl.errors import UsageError
from goalctl.reports.markdown import percent  # thresholds read as in report.md
from goalctl.reports.steps import cases_with_steps, step_lines
from goalctl.verdict import FAILURE, Reason, verdict_of

XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
STEP_WIDTH = 200
"""Widest argument or result of a step listed under a failure; report.json has them whole."""
MAX_STEPS_OUT_CHARS = 16_000
"""The most step text under one testcase; report.json has every step."""
UNCHECKED = "no check: guides the agent but is not verified"

# Characters XML 1.0 cannot hold, even as character references: C0 controls except tab,
# newline and carriage return, lone surrogates (from JSON "\ud800"), U+FFFE and U+FFFF.
_N = TypeVar("_N", int, float)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Totals:
    """The counts JUnit readers show for a suite, or summed over suites."""

    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    time: float = 0.0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.tests + other.tests,
            self.failures + other.failures,
            self.errors + other.errors,
            self.skipped + other.skipped,
            self.time + other.time,
        )


def xml_text(value: Any) -> str:
    """``value`` as text XML can hold: forbidden characters become visible escapes."""
    return _NOT_XML.sub(_escape_char, str(value))


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text:
        element.text = xml_text(text)
    return element


def _seconds(value: Any) -> str:
    return f"{float(value or 0):.3f}"


def _totals_element(parent: ET.Element | None, tag: str, name: str) -> ET.Element:
    """An element whose count attributes follow its name (ElementTree keeps the order)."""
    attrs = {"name": xml_text(name), **_totals_attrs(Totals())}
    return ET.Element(tag, attrs) if parent is None else ET.SubElement(parent, tag, attrs)


def _totals_attrs(totals: Totals) -> dict[str, str]:
    return {
        "tests": str(totals.tests),
        "failures": str(totals.failures),
        "errors": str(totals.errors),
        "skipped": str(totals.skipped),
        "time": _seconds(totals.time),
    }


def _serialize(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return XML_DECLARATION + "\n" + ET.tostring(root, encoding="unicode") + "\n"


# -- rendering ----------------------------------------------------------------------------


def render_junit(reports: Sequence[dict[str, Any]]) -> str:
    """One JUnit document with a ``<testsuite>`` per run report (``report.json`` data)."""
    root = _totals_element(None, "testsuites", "goalctl")
    totals = sum((_add_suite(root, report) for report in reports), Totals())
    root.attrib.update(_totals_attrs(totals))
    return _serialize(root)


def _add_suite(root: ET.Element, report: dict[str, Any]) -> Totals:
    goal = report["goal"]
    name = f"{goal['id']}@{goal['version']}"
    if report.get("models"):
        name += f" [{report['model']}]"  # compared models: one suite each, told apart
    suite = _totals_element(root, "testsuite", name)
    if report.get("started_at"):
        suite.set("timestamp", xml_text(report["started_at"]))
    verdict = verdict_of(report)
    properties = _element(suite, "properties")
    for key in ("run_id", "scenario", "agent", "provider", "model", "verdict"):
        _element(properties, "property", name=key, value=report.get(key, ""))
    if verdict.scored:  # an errored run has no verdict, so no score either
        _element(properties, "property", name="score", value=report.get("score", ""))
    if verdict.reasons:
        _element(properties, "property", name="why", value=verdict.explanation())
    trials = report.get("trials")
    if trials:
        for key in ("planned", "run", "saved"):
            _element(properties, "property", name=f"trials_{key}", value=trials[key])
    error = None
    if report["verdict"] == "error":
        error = report["error"] or "the run errored"
    reasons = {(r.kind, r.id): r for r in verdict.reasons}
    for criterion in report["criteria"]:
        _add_criterion(suite, report, criterion, reasons.get(("criterion", criterion["id"])), error)
    for constraint in report["constraints"]:
        reason = reasons.get(("constraint", constraint["id"]))
        _add_constraint(suite, report, constraint, reason, error)
    for flaky in (c for c in report.get("cases", ()) if c.get("flaky")):
        _add_flaky(suite, report, flaky)
    for reason in verdict.reasons:
        if reason.kind == "run" and reason.level == FAILURE:
            item = {"id": goal["id"], "line": reason.line}
            case = _testcase(suite, report, "verdict", item)
            _element(case, "failure", reason.detail, message=reason.summary, type="verdict")
        elif reason.kind == "regression":
            # A regression against the baseline fails the suite only with --fail-on-regression.
            item = {"id": reason.id, "line": reason.line}
            case = _testcase(suite, report, "regression", item)
            if reason.level == FAILURE:
                _element(case, "failure", reason.detail, message=reason.summary, type="regression")
            else:
                _element(case, "system-out", f"warning: {reason.summary}: {reason.detail}")
    cases = suite.findall("testcase")
    totals = Totals(
        len(cases),
        _count(cases, "failure"),
        _count(cases, "error"),
        _count(cases, "skipped"),
        float(report["totals"].get("elapsed_s") or 0),
    )
    suite.attrib.update(_totals_attrs(totals))
    return totals


def _testcase(
    suite: ET.Element, report: dict[str, Any], kind: str, item: dict[str, Any]
) -> ET.Element:
    return _element(
        suite,
        "testcase",
        classname=report["scenario"],
        name=f"{kind}: {item['id']}",
        file=report["scenario"],
        line=item["line"],
        time="0",
    )


def _add_criterion(
    suite: ET.Element,
    report: dict[str, Any],
    criterion: dict[str, Any],
    reason: Reason | None,
    error: str | None,
) -> None:
    case = _testcase(suite, report, "criterion", criterion)
    stats = criterion.get("trials")
    if stats:
        _trial_properties(case, stats)
    evidence = "\n".join(criterion["evidence"])
    if error is not None:
        _element(case, "error", error, message=error, type="run-error")
        _steps_out(case, _errored_cases(report))
    elif reason is not None and reason.level == FAILURE:
        message = (
            f"{criterion['id']}: {criterion['passed']}/{criterion['evaluated']} passed, "
            f"needs {percent(criterion['threshold'])}"
        )
        _element(case, "failure", evidence, message=message, type="criterion")
        _steps_out(case, (c for c in cases_with_steps(report["cases"]) if _unmet(c, criterion)))
    elif reason is not None:
        _element(
            case,
            "system-out",
            f"warning: criterion {criterion['id']} unmet (weight {criterion['weight']:g}; "
            f"the other criteria carry 90% without it)\n{evidence}",
        )


def _trial_properties(testcase: ET.Element, stats: Mapping[str, Any]) -> None:
    properties = _element(testcase, "properties")
    low, high = stats["interval"]
    values = {
        "trials_passed": f"{stats['passed']}/{stats['trials']}",
        "pass_rate": stats["pass_rate"],
        "interval_95": f"{low}-{high}",
        "k": stats["k"],
        "pass_at_k": stats["pass_at_k"],
        "pass_hat_k": stats["pass_hat_k"],
    }
    for name, value in values.items():
        _element(properties, "property", name=name, value=value)


def _add_flaky(suite: ET.Element, report: dict[str, Any], case: Mapping[str, Any]) -> None:
    """A flaky case: skipped, so CI counts it neither passed nor failed, with its numbers."""
    item = {"id": case["name"], "line": 1}
    testcase = _testcase(suite, report, "flaky case", item)
    stats = case.get("trials")
    if stats:
        _trial_properties(testcase, {**stats, "trials": stats["run"]})
        rate = f"{stats['passed']}/{stats['run']} trials passed"
    else:
        rate = f"{case['status']} (one trial)"
    message = f"flaky: reported, never gates: {rate}"
    _element(testcase, "skipped", message=message)


def _add_constraint(
    suite: ET.Element,
    report: dict[str, Any],
    constraint: dict[str, Any],
    reason: Reason | None,
    error: str | None,
) -> None:
    case = _testcase(suite, report, "constraint", constraint)
    violations = "\n".join(constraint["violations"])
    if not constraint["checked"]:
        _element(case, "skipped", message=UNCHECKED)
    elif error is not None:
        _element(case, "error", error, message=error, type="run-error")
        _steps_out(case, _errored_cases(report))
    elif reason is not None and reason.level == FAILURE:
        first = constraint["violations"][0] if constraint["violations"] else "violated"
        message = f"{constraint['id']}: hard constraint violated: {first}"
        _element(case, "failure", violations, message=message, type="constraint")
        failed = (c for c in cases_with_steps(report["cases"]) if _violated(c, constraint))
        _steps_out(case, failed)
    elif reason is not None:
        _element(
            case,
            "system-out",
            f"warning: soft constraint {constraint['id']} violated "
            f"(does not fail the goal)\n{violations}",
        )


def _steps_out(testcase: ET.Element, failed_cases: Iterable[Mapping[str, Any]]) -> None:
    """``<system-out>``: the steps of each case that failed the testcase, to show how; at
    most :data:`MAX_STEPS_OUT_CHARS` of them (CI pages show all of it, for every testcase)."""
    lines: list[str] = []
    size = 0
    for case in failed_cases:
        for line in step_lines(case["name"], case["trajectory"], STEP_WIDTH):
            if size + len(line) + 1 > MAX_STEPS_OUT_CHARS:
                lines.append("… more steps in report.json")
                _element(testcase, "system-out", "\n".join(lines))
                return
            lines.append(line)
            size += len(line) + 1
    if lines:
        _element(testcase, "system-out", "\n".join(lines))


def _errored_cases(report: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The cases that errored the run and called tools first, as they are read: their
    steps show how far they got."""
    return (c for c in cases_with_steps(report["cases"]) if c.get("status") == "error")


def _unmet(case: Mapping[str, Any], criterion: Mapping[str, Any]) -> bool:
    return any(c["criterion"] == criterion["id"] and not c["passed"] for c in case["checks"])


def _violated(case: Mapping[str, Any], constraint: Mapping[str, Any]) -> bool:
    checks = case["constraints"]
    return any(c["constraint"] == constraint["id"] and not c["satisfied"] for c in checks)


# -- merging ------------------------------------------------------------------------------

MAX_XML_DEPTH = 64
"""Deepest element nesting accepted in a JUnit file to merge: copying and writing elements
recurse, and JUnit needs four or five levels (a few more with PHPUnit's nested suites)."""


def merge_junit(documents: Sequence[str], *, names: Sequence[str] | None = None) -> str:
    """One ``<testsuites>`` holding every suite of ``documents``, with recomputed totals.

    Accepts documents with a ``<testsuites>`` root (render_junit, pytest, most tools) or a
    bare ``<testsuite>`` root (Maven Surefire, older tools). ``names`` (file names, say)
    label the documents in error messages.
    """
    labels = list(names) if names is not None else []
    root = _totals_element(None, "testsuites", "goalctl")
    totals = Totals()
    for index, text in enumerate(documents):
        label = labels[index] if index < len(labels) else f"JUnit document {index + 1}"
        for suite in _suites(text, label):
            counts = suite_totals(suite)
            merged = copy.deepcopy(suite)
            merged.attrib.update(_totals_attrs(counts))  # fills gaps; valid counts stay the same
            root.append(merged)
            totals += counts
    root.attrib.update(_totals_attrs(totals))
    return _serialize(root)


def _suites(text: str, label: str) -> list[ET.Element]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise UsageError(f"{label} is not well-formed XML ({exc}); pass a JUnit XML file") from None
    if _nests_deeper(root, MAX_XML_DEPTH):
        raise UsageError(
            f"{label} nests elements deeper than {MAX_XML_DEPTH} levels; pass a JUnit XML file"
        )
    if root.tag == "testsuite":
        return [root]
    if root.tag == "testsuites":
        return root.findall("testsuite")
    raise UsageError(
        f"{label} is not JUnit XML: its root element is <{root.tag}>, "
        "expected <testsuites> or <testsuite>"
    )


def _nests_deeper(root: ET.Element, limit: int) -> bool:
    """Whether elements under ``root`` nest deeper than ``limit``; iterative, unlike the
    copying and writing it protects."""
    pending = [(root, 1)]
    while pending:
        element, depth = pending.pop()
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in element)
    return False


def suite_totals(suite: ET.Element) -> Totals:
    """A suite's counts: its own attributes where valid, else counted from its testcases.

    Nested suites (PHPUnit writes them) are counted through, since a parent suite's
    attributes already include its children.
    """
    cases = list(suite.iter("testcase"))
    case_time = sum(_attribute(case, "time", float, 0.0) for case in cases)
    return Totals(
        _attribute(suite, "tests", int, len(cases)),
        _attribute(suite, "failures", int, _count(cases, "failure")),
        _attribute(suite, "errors", int, _count(cases, "error")),
        _attribute(suite, "skipped", int, _count(cases, "skipped")),
        _attribute(suite, "time", float, case_time),
    )


def _attribute(element: ET.Element, name: str, parse: Callable[[str], _N], fallback: _N) -> _N:
    """A non-negative number from an attribute; ``fallback`` when missing or invalid."""
    try:
        value = parse(element.get(name, ""))
    except ValueError:
        return fallback
    return value if math.isfinite(value) and value >= 0 else fallback


def _count(cases: Sequence[ET.Element], tag: str) -> int:
    return sum(case.find(tag) is not None for case in cases)
