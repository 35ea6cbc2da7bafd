"""Reports show what a case's agent did, and name a tool call a hard constraint refused.

The report is a real offline run (the weather scenario of tests/support/weather.py) whose
``atlantis`` case is then edited as a refusal leaves it: a step refused by ``no-delete`` and the
hard constraint violated with the evidence its check gives ("refused step N: tool(args)").
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from goalctl.console import PlainDisplay
from goalctl.reports.data import CaseRecord
from goalctl.reports.github import run_annotations, step_summary
from goalctl.reports.junit import MAX_STEPS_OUT_CHARS, render_junit
from goalctl.reports.markdown import render_markdown
from goalctl.verdict import verdict_of
from tests.support.weather import weather_report

ARGS = {"account_id": 7, "note": "::error::forged %0A ##[x] <b>|`"}
CALL = f"delete_account({json.dumps(ARGS, ensure_ascii=False)})"
EVIDENCE = f"refused step 2: {CALL}"


@pytest.fixture(scope="module")
def weather(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("work")
    state = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        patch.setenv("GOALCTL_STATE_DIR", str(state))
        return weather_report(work, state)


def refused_report(weather: dict[str, Any]) -> dict[str, Any]:
    """The weather report with ``atlantis`` failed on a refused call at its step 2."""
    report = copy.deepcopy(weather)
    atlantis = next(c for c in report["cases"] if c["name"] == "atlantis")
    atlantis["trajectory"][0]["elapsed_s"] = 0.25
    atlantis["trajectory"].append(
        {
            "step": 2,
            "tool": "delete_account",
            "args": ARGS,
            "result": None,
            "error": "refused by hard constraint `no-delete` before it ran",
            "id": "toolu_2",
            "source": "model",
            "refused": "no-delete",
        }
    )
    atlantis["error"] = f"hard constraint `no-delete` refused the call {CALL} at step 2"
    atlantis["constraints"].append(
        {"constraint": "no-delete", "satisfied": False, "evidence": EVIDENCE, "error": None}
    )
    report["constraints"].append(
        {
            "id": "no-delete",
            "description": "Never deletes an account",
            "type": "hard",
            "category": "safety",
            "checked": True,
            "violated": True,
            "violations": [f"atlantis: {EVIDENCE}"],
            "line": 20,
        }
    )
    report["reasons"] = [r.to_json() for r in verdict_of(report).reasons]
    return report


def test_report_md_marks_the_refused_step_and_gives_the_elapsed_time(
    weather: dict[str, Any],
) -> None:
    markdown = render_markdown(refused_report(weather))

    table = markdown.split("### atlantis (failed)")[1].split("###")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows == [
        "| step | tool | arguments | result or error | elapsed |",
        '| 1 | get_weather | {"city": "Atlantis"} | ❌ error: no such city: Atlantis | 0.25s |',
        '| 2 | delete_account | {"account_id": 7, "note": "::error::forged %0A ##[x] \\<b>\\|\\`"} '
        "| ⛔ refused by `no-delete` | — |",
    ]
    why = markdown.split("## Why")[1].split("##")[0]
    assert (
        "- ❌ hard constraint `no-delete` violated — Never deletes an account: atlantis: "
        "refused step 2: delete_account" in why
    )


def test_report_json_keeps_every_step_whole(weather: dict[str, Any]) -> None:
    long = [
        {"step": n, "tool": "t", "args": {"n": n, "pad": "x" * 500}, "result": n, "error": None}
        for n in range(1, 121)
    ]
    record = CaseRecord.from_json({**copy.deepcopy(weather["cases"][0]), "trajectory": long})

    assert record.to_json()["trajectory"] == long
    markdown = render_markdown({**weather, "cases": [record.to_json()]})
    assert "70 more steps are in report.json." in markdown


def test_junit_names_the_refused_call_in_the_failure_and_lists_the_steps(
    weather: dict[str, Any],
) -> None:
    root = ET.fromstring(render_junit([refused_report(weather)]))

    case = next(c for c in root.iter("testcase") if c.get("name") == "constraint: no-delete")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == f"no-delete: hard constraint violated: atlantis: {EVIDENCE}"
    assert case.findtext("system-out") == (
        "steps of case atlantis:\n"
        '  #1 get_weather({"city": "Atlantis"}) → ERROR: no such city: Atlantis (0.25s)\n'
        f"  #2 {CALL} → REFUSED by no-delete"
    )


def test_junit_step_lists_are_bounded(weather: dict[str, Any]) -> None:
    report = refused_report(weather)
    steps = [
        {"step": n, "tool": "t", "args": {"pad": "x" * 300}, "result": "y" * 300, "error": None}
        for n in range(1, 51)
    ]
    for case in report["cases"]:
        case["trajectory"] = steps
        case["constraints"].append(
            {"constraint": "no-delete", "satisfied": False, "evidence": "e", "error": None}
        )

    root = ET.fromstring(render_junit([report]))

    case = next(c for c in root.iter("testcase") if c.get("name") == "constraint: no-delete")
    out = case.findtext("system-out") or ""
    assert MAX_STEPS_OUT_CHARS - 500 < len(out) <= MAX_STEPS_OUT_CHARS + 100
    assert out.endswith("… more steps in report.json")


def test_an_errored_run_lists_the_steps_of_the_case_that_errored(
    weather: dict[str, Any],
) -> None:
    report = copy.deepcopy(weather)
    atlantis = next(c for c in report["cases"] if c["name"] == "atlantis")
    atlantis.update(status="error", error="command exited with status 1", checks=[])
    report.update(verdict="error", error="case 'atlantis': command exited with status 1")

    root = ET.fromstring(render_junit([report]))

    for case in root.iter("testcase"):
        assert case.find("error") is not None
        assert case.findtext("system-out") == (
            "steps of case atlantis:\n"
            '  #1 get_weather({"city": "Atlantis"}) → ERROR: no such city: Atlantis'
        )


def test_the_error_annotation_carries_the_refused_call_escaped(weather: dict[str, Any]) -> None:
    annotations = run_annotations(refused_report(weather))

    [refusal] = [a for a in annotations if "no-delete" in a]
    head, _, message = refusal.partition("::error ")[2].partition("::")
    assert "title=goalctl%3A hard constraint no-delete violated" in head
    assert message == (
        "Never deletes an account: atlantis: refused step 2: delete_account("
        '{"account_id": 7, "note": "::error::forged %250A ##[x] <b>|`"})'
    )
    assert "\n" not in refusal


def test_the_step_summary_names_the_refused_call_and_the_constraint(
    weather: dict[str, Any],
) -> None:
    summary = step_summary([refused_report(weather)])

    assert "hard constraint `no-delete` violated" in summary
    lines = summary.splitlines()
    at = lines.index("| goal | case | step | call | refused by |")
    assert lines[at + 2] == (
        r"| `weather` | atlantis | 2 | delete\_account\(\{"
        r'"account\_id"\: 7, "note"\: "\:\:error\:\:forged %0A \#\#\[x\] \<b\>\|\`"\}\) '
        r"| no\-delete |"
    )
    assert lines[at + 3 :] == []
    assert "Tool calls refused by a hard constraint" in lines[at - 2]


def test_no_refusal_table_without_a_refused_call(weather: dict[str, Any]) -> None:
    assert "refused by" not in step_summary([weather])


def test_the_console_names_the_refused_call_on_the_case_line(weather: dict[str, Any]) -> None:
    report = refused_report(weather)
    atlantis = next(c for c in report["cases"] if c["name"] == "atlantis")
    lines: list[str] = []

    PlainDisplay(lines.append).case_finished("run-1", CaseRecord.from_json(atlantis))

    [line] = lines
    assert line.endswith(
        f"atlantis — hard constraint `no-delete` refused the call {CALL} at step 2"
    )


def test_report_md_shows_a_refusing_id_edited_into_markup_as_text(
    weather: dict[str, Any],
) -> None:
    report = refused_report(weather)
    atlantis = next(c for c in report["cases"] if c["name"] == "atlantis")
    atlantis["trajectory"][1]["refused"] = "`x` <img>"

    assert "⛔ refused by \\`x\\` \\<img> |" in render_markdown(report)
