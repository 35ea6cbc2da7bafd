"""The HTML report (`report --format html`, `run --html DIR`): valid, self-contained, escaped,
and saying what report.json says."""

from __future__ import annotations

import copy
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from goalctl.reports.html import render_html
from goalctl.reports.view import SHOWN_CHARS
from goalctl.templates import MAX_OUTPUT
from goalctl.trials.summary import interval_text
from goalctl.verdict import verdict_of
from tests.conftest import SCENARIOS, run_cli
from tests.support.html_check import NS, check_html, elements, parse_html, text_of

EXAMPLES = ("refund-support-tools.md", "table-booking-turns.md", "review-sentiment-trials.md")


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state dir with one offline run of each example (tools, turns, trials)."""
    state = tmp_path_factory.mktemp("html") / "state"
    result = run_cli(
        "run",
        *(str(SCENARIOS / name) for name in EXAMPLES),
        env={"GOALCTL_STATE_DIR": str(state)},
    )
    assert result.exit_code == 0, result.stderr
    return state


@pytest.fixture
def runs(state: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """Each run's report.json by goal id; the state dir is this test's."""
    monkeypatch.setenv("GOALCTL_STATE_DIR", str(state))
    reports = [json.loads(p.read_text()) for p in (state / "runs").glob("*/report.json")]
    return {report["goal"]["id"]: report for report in reports}


def html_of(run_id: str, env: dict[str, str] | None = None) -> str:
    result = run_cli("report", run_id, "--format", "html", env=env)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def criterion_rows(root: ET.Element) -> dict[str, ET.Element]:
    return {
        row.get("data-criterion", ""): row
        for row in elements(root, "tr")
        if row.get("data-criterion")
    }


def cell(row: ET.Element, name: str) -> str:
    found = [td for td in row.iter(NS + "td") if name in (td.get("class") or "").split()]
    assert len(found) == 1, name
    return text_of(found[0])


@pytest.mark.parametrize(
    "goal", ["refund-support-tools", "table-booking-turns", "review-sentiment"]
)
def test_html_says_what_report_json_says(goal: str, runs: dict[str, dict[str, Any]]) -> None:
    report = runs[goal]
    root = check_html(html_of(report["run_id"]))
    heading = elements(root, "h1")[0]
    assert "verdict-achieved" in (heading.get("class") or "")
    assert text_of(heading).endswith(f"{report['goal']['name']} — achieved")
    rows = criterion_rows(root)
    assert list(rows) == [c["id"] for c in report["criteria"]]
    for criterion in report["criteria"]:
        row = rows[criterion["id"]]
        assert cell(row, "passed") == f"{criterion['passed']}/{criterion['evaluated']}"
        assert cell(row, "rate") == f"{criterion['success_rate'] * 100:.1f}%".replace(".0%", "%")
        assert cell(row, "threshold") == f"{criterion['threshold'] * 100:.1f}%".replace(".0%", "%")
        assert cell(row, "result") == ("✓ met" if criterion["met"] else "✗ unmet")


def test_reasons_and_verdict_of_a_failed_run_match_report_json(
    runs: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    report = copy.deepcopy(runs["refund-support-tools"])
    criterion = report["criteria"][0]
    criterion.update(passed=1, success_rate=0.5, met=False, evidence=["partial-grinder: no lookup"])
    report["verdict"] = "not_achieved"
    report["score"] = 0.75
    report["reasons"] = [r.to_json() for r in verdict_of(report).reasons]
    root = check_html(render_html([report]))
    heading = elements(root, "h1")[0]
    assert "verdict-not_achieved" in (heading.get("class") or "")
    assert "not achieved" in text_of(heading)
    shown = [text_of(li) for li in elements(root, "li") if "reason" in (li.get("class") or "")]
    assert len(shown) == len(report["reasons"]) == 1
    reason = report["reasons"][0]
    assert shown[0].startswith(reason["summary"])
    assert reason["detail"] in shown[0]
    assert f"(scenario line {reason['line']})" in shown[0]
    assert cell(criterion_rows(root)[criterion["id"]], "passed") == "1/2"


def test_trials_show_each_criterion_interval_and_each_case_trial(
    runs: dict[str, dict[str, Any]],
) -> None:
    report = runs["review-sentiment"]
    root = check_html(html_of(report["run_id"]))
    for criterion in report["criteria"]:
        rows = [
            r for r in elements(root, "tr") if r.get("data-criterion-trials") == criterion["id"]
        ]
        assert len(rows) == 1
        stats = criterion["trials"]
        assert interval_text(stats["interval"]) in text_of(rows[0])
        assert f"{stats['passed']}/{stats['trials']}" in text_of(rows[0])
    captions = [text_of(c) for c in elements(root, "caption") if text_of(c).startswith("Trials of")]
    assert len(captions) == len(report["cases"])
    trial_rows = sum(len(case["trials"]["records"]) for case in report["cases"])
    shown = [t for t in elements(root, "table") if "trials" in (t.get("class") or "").split()]
    assert sum(len(elements(t.find(NS + "tbody"), "tr")) for t in shown[1:]) == trial_rows


def test_steps_refusals_and_turns_are_shown(runs: dict[str, dict[str, Any]]) -> None:
    tools = check_html(html_of(runs["refund-support-tools"]["run_id"]))
    steps = [t for t in elements(tools, "table") if "steps" in (t.get("class") or "")]
    assert len(steps) == len(runs["refund-support-tools"]["cases"])
    assert "issue_refund" in text_of(steps[0])
    turns = runs["table-booking-turns"]
    root = check_html(html_of(turns["run_id"]))
    answers = [text_of(li) for li in elements(root, "ol") for li in li.iter(NS + "li")]
    assert len(answers) == len(turns["cases"][0]["answers"]) > 1


def test_a_refused_step_names_its_constraint(runs: dict[str, dict[str, Any]]) -> None:
    report = copy.deepcopy(runs["refund-support-tools"])
    step = report["cases"][0]["trajectory"][-1]
    step.update(result=None, error="refused", refused="refund-within-total")
    root = check_html(render_html([report]))
    refused = [r for r in elements(root, "tr") if r.get("class") == "refused"]
    assert len(refused) == 1
    assert "refused by refund-within-total" in text_of(refused[0])


def test_cost_is_labelled_simulated_as_in_report_md(runs: dict[str, dict[str, Any]]) -> None:
    root = check_html(html_of(runs["refund-support-tools"]["run_id"]))
    facts = {text_of(div[0]): text_of(div[1]) for div in elements(root, "dl")[0]}
    assert facts["Cost"].startswith(
        f"${runs['refund-support-tools']['totals']['cost_usd']:.6f} (simulated)"
    )
    assert "cost (simulated)" in [text_of(th) for th in elements(root, "th")]


def test_scenario_text_and_model_output_are_escaped(runs: dict[str, dict[str, Any]]) -> None:
    report = copy.deepcopy(runs["refund-support-tools"])
    attack = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    report["goal"]["name"] = attack
    report["goal"]["description"] = attack
    report["criteria"][0]["description"] = attack
    report["criteria"][0]["evidence"] = [attack]
    report["cases"][0]["name"] = attack
    report["cases"][0]["text"] = attack
    report["cases"][0]["output"] = attack
    report["cases"][0]["trajectory"][0]["args"] = {"q": attack}
    html = render_html([report])
    root = parse_html(html)
    assert elements(root, "script") == []
    assert elements(root, "img") == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert attack in text_of(elements(root, "h1")[0])  # shown as the text it is


def test_a_huge_output_is_cut_on_the_page_not_refused(runs: dict[str, dict[str, Any]]) -> None:
    report = copy.deepcopy(runs["refund-support-tools"])
    report["cases"][0]["text"] = "x" * 1_100_000  # beyond one render's output limit
    report["cases"][0]["output"] = report["cases"][0]["text"]
    html = render_html([report])
    check_html(html)
    assert f"{1_100_000 - SHOWN_CHARS:,} more characters in report.json" in html
    assert len(html) < 200_000


def test_several_runs_share_one_valid_page(runs: dict[str, dict[str, Any]]) -> None:
    result = run_cli("report", *(r["run_id"] for r in runs.values()), "--format", "html")
    assert result.exit_code == 0, result.stderr
    root = check_html(result.stdout)
    assert text_of(elements(root, "h1")[0]) == "Reports of 3 runs"
    assert len(elements(root, "article")) == 3


def test_run_html_writes_the_page_report_renders(tmp_path: Path) -> None:
    out = tmp_path / "html"
    result = run_cli("run", str(SCENARIOS / "calculator.md"), "--html", str(out))
    assert result.exit_code == 0, result.stderr
    written = out / "calculator-1.0.0.html"
    # The summary names the page, as it names the other reports.
    assert "HTML reports (--html):" in result.stdout
    assert "calculator-1.0.0.html" in result.stdout
    run_id = json.loads(run_cli("list", "--json").stdout)[0]["run_id"]
    assert written.read_text(encoding="utf-8") == html_of(run_id)
    check_html(written.read_text(encoding="utf-8"))


def test_report_html_to_a_file_and_bad_destinations(
    runs: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    run_id = runs["table-booking-turns"]["run_id"]
    target = tmp_path / "page.html"
    assert run_cli("report", run_id, "--format", "html", "-o", str(target)).exit_code == 0
    check_html(target.read_text(encoding="utf-8"))
    blocked = tmp_path / "file"
    blocked.write_text("")
    result = run_cli("run", str(SCENARIOS / "calculator.md"), "--html", str(blocked))
    assert result.exit_code == 2
    assert "--html" in result.stderr
    result = run_cli("report", run_id, "--format", "htm")
    assert result.exit_code == 2
    assert "'htm' is not one of" in result.stderr


def test_a_run_of_many_cases_is_one_page_beyond_one_renders_limits(
    runs: dict[str, dict[str, Any]],
) -> None:
    report = copy.deepcopy(runs["refund-support-tools"])
    cases = []
    for index in range(600):
        case = copy.deepcopy(report["cases"][index % 2])
        case.update(case=index, name=f"case-{index}")
        cases.append(case)
    report["cases"] = cases
    html = render_html([report])
    assert len(html) > MAX_OUTPUT  # more than one render may write
    root = check_html(html)
    table = next(t for t in elements(root, "table") if t.get("class") == "cases")
    assert len(table.findall(f"{NS}tbody/{NS}tr")) == 600
    sections = [s for s in elements(root, "section") if "case" in (s.get("class") or "").split()]
    assert [text_of(s.find(NS + "h3")) for s in sections[:2]] == [  # type: ignore[arg-type]
        "✓ Case case-0 — passed",
        "✓ Case case-1 — passed",
    ]
    assert len(sections) == 600


def test_an_errored_run_shows_its_error_and_no_score(runs: dict[str, dict[str, Any]]) -> None:
    report = copy.deepcopy(runs["refund-support-tools"])
    report.update(
        verdict="error", error="case 'broken-kettle': anthropic: authentication failed (401)"
    )
    report["budget_stop"] = {"constraint": "few-calls", "evidence": "9 calls, the limit is 8"}
    report["reasons"] = [r.to_json() for r in verdict_of(report).reasons]
    root = check_html(render_html([report]))
    heading = elements(root, "h1")[0]
    assert "verdict-error" in (heading.get("class") or "")
    assert text_of(heading).endswith("— error (no verdict)")
    alerts = [text_of(p) for p in elements(root, "p") if "alert" in (p.get("class") or "")]
    assert alerts == [
        f"Error: {report['error']}",
        "Stopped by budget few-calls: 9 calls, the limit is 8",
    ]
    facts = [text_of(dt) for dt in elements(root, "dt")]
    assert "Weighted score" not in facts  # an errored run has no score, as in report.md


def test_a_detached_or_resumed_run_keeps_its_html_dir(tmp_path: Path) -> None:
    from goalctl.planning import RunOptions
    from goalctl.scenario.loader import load_scenario
    from goalctl.state.model import RunState, StateFormatError

    scenario = load_scenario(SCENARIOS / "calculator.md")
    asked = RunOptions(html_dir=tmp_path / "html")
    options = json.loads(json.dumps(asked.to_state(scenario)))
    assert options["html_dir"] == str((tmp_path / "html").resolve())
    assert RunOptions.from_state(options).html_dir == (tmp_path / "html").resolve()
    assert "html_dir" not in RunOptions().to_state(scenario)  # state.json as it was without
    state = RunState(
        run_id="calculator-0000000a",
        goal_id="calculator",
        goal_version="1.0.0",
        goal_name="Calculator",
        scenario=str(scenario.path),
        provider="scripted",
        model="m",
        agent="llm",
        options={"html_dir": 7},
    )
    with pytest.raises(StateFormatError, match="html_dir"):
        RunState.from_dict(json.loads(json.dumps(state.to_dict())))


# -- sections report.md has: compared with baseline, models side by side ------------------------


def _table(root: ET.Element, name: str) -> ET.Element:
    found = [t for t in elements(root, "table") if name in (t.get("class") or "").split()]
    assert len(found) == 1, name
    return found[0]


def test_the_baseline_comparison_says_what_report_md_says(tmp_path: Path) -> None:
    for name in ("faq-v1.md", "faq-v2.md", "faq-v1.baseline.json"):
        shutil.copy(SCENARIOS / name, tmp_path / name)
    out = tmp_path / "html"
    env = {"GOALCTL_STATE_DIR": str(tmp_path / "state")}
    result = run_cli(
        "run", "--html", str(out), "--fail-on-regression", str(tmp_path / "faq-v2.md"), env=env
    )
    assert result.exit_code == 1, result.stderr
    (report_json,) = (tmp_path / "state" / "runs").glob("*/report.json")
    report = json.loads(report_json.read_text())
    markdown = (report_json.parent / "report.md").read_text()
    page = (out / "faq-2.0.0.html").read_text()
    assert page == html_of(report["run_id"], env)
    root = check_html(page)
    table = _table(root, "baseline")
    rows = {
        row.get("data-compared"): row for row in elements(table, "tr") if row.get("data-compared")
    }
    assert list(rows) == [item["id"] for item in report["comparison"]["items"]]
    regressed = rows["cites-source"]
    assert regressed.get("class") == "failure"
    assert cell(regressed, "before") == "10/10 (100%)"
    assert cell(regressed, "after") == "5/10 (50%)"
    assert cell(regressed, "change") == "−50.0 pts"
    assert cell(regressed, "p-value") == "0.0312 (McNemar)"
    assert cell(regressed, "verdict") == "regressed"
    # Every row of report.md's table is on the page, cell for cell.
    md_rows = [
        line
        for line in markdown.splitlines()
        if line.startswith(("| criterion", "| constraint", "| cost", "| latency"))
    ]
    assert len(md_rows) == len(rows)
    for line, row in zip(md_rows, rows.values(), strict=True):
        md_cells = [c.strip() for c in line.strip("|").split("|")]
        shown = [cell(row, name) for name in ("before", "after", "change", "p-value")]
        assert md_cells[1:5] == shown
    alert = [p for p in elements(root, "p") if "alert" in (p.get("class") or "")]
    assert [text_of(p) for p in alert] == [
        "Regressed: cites-source — the run fails (--fail-on-regression)."
    ]
    assert "Against the baseline of its parent version: version 1.0.0" in text_of(root)
    # The section is linked from the page's table of contents.
    assert any(a.get("href", "").endswith("-baseline") for a in elements(root, "a"))


def test_a_run_without_comparisons_has_neither_section(runs: dict[str, dict[str, Any]]) -> None:
    root = check_html(html_of(runs["refund-support-tools"]["run_id"]))
    tables = {c for t in elements(root, "table") for c in (t.get("class") or "").split()}
    assert "criteria" in tables
    assert not tables & {"baseline", "models"}


def test_models_side_by_side_says_what_report_json_says(tmp_path: Path) -> None:
    out = tmp_path / "html"
    env = {"GOALCTL_STATE_DIR": str(tmp_path / "state")}
    result = run_cli(
        "run", "--html", str(out), str(SCENARIOS / "ticket-priority-models.md"), env=env
    )
    assert result.exit_code == 0, result.stderr
    reports = {
        r["model"]: r
        for r in (
            json.loads(p.read_text()) for p in (tmp_path / "state").glob("runs/*/report.json")
        )
    }
    for model, report in reports.items():
        page = (out / f"ticket-priority-1.0.0-{model}.html").read_text()
        root = check_html(page)
        table = _table(root, "models")
        headers = [text_of(th) for th in elements(table.find(NS + "thead"), "th")]
        assert headers == [
            "model",
            "verdict",
            "priority",
            "one-word",
            "cost",
            "latency median / p95",
        ]
        body = elements(table.find(NS + "tbody"), "tr")
        comparison = report["models"]
        assert [row.get("data-model") for row in body] == [r["model"] for r in comparison["runs"]]
        current = [row for row in body if row.get("class") == "current"]
        assert [row.get("data-model") for row in current] == [model]
        haiku = next(row for row in body if row.get("data-model") == "claude-haiku-4-5")
        texts = [text_of(td) for td in elements(haiku, "td")]
        assert texts[:3] == ["achieved", "3/3 100% (44%–100%)", "2/3 67% (21%–94%) ✗"]
        unmet = [td for td in elements(haiku, "td") if "failure" in (td.get("class") or "")]
        assert [text_of(td) for td in unmet] == ["2/3 67% (21%–94%) ✗"]
        assert texts[3] == "$0.000383 (simulated)"
        assert "The models differ on: one-word." in text_of(root)
