"""`goalctl history --out DIR`: a static site over the state dir, checked file by file."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from goalctl.history.collect import GoalHistory, RunPoint, run_point
from goalctl.statistics import wilson_interval
from tests.conftest import SCENARIOS, run_cli
from tests.support.html_check import NS, check_html, elements, text_of

EXAMPLES = ("email_sender_v1.yaml", "email_sender_v2.md", "review-sentiment-trials.md")


@pytest.fixture(scope="module")
def saved_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two offline runs of each example: both versions of email-sender, and one with trials."""
    state = tmp_path_factory.mktemp("history") / "state"
    for _ in range(2):
        result = run_cli(
            "run",
            *(str(SCENARIOS / name) for name in EXAMPLES),
            env={"GOALCTL_STATE_DIR": str(state)},
        )
        assert result.exit_code == 0, result.stderr
    return state


@pytest.fixture
def state(saved_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's copy of the saved runs (tests may damage it)."""
    copy = tmp_path / "saved"
    shutil.copytree(saved_state, copy)
    monkeypatch.setenv("GOALCTL_STATE_DIR", str(copy))
    return copy


def reports(state: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((state / "runs").glob("*/report.json"))]


def build(out: Path, *goals: str) -> str:
    result = run_cli("history", *goals, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def page(path: Path) -> ET.Element:
    return check_html(path.read_text(encoding="utf-8"))


def test_site_has_an_index_a_page_per_goal_and_every_run(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert build(out).startswith(f"wrote {out / 'index.html'} (2 goals, 6 runs)")
    assert (out / "plotly.min.js").stat().st_size > 1_000_000  # the bundle, no CDN
    index = page(out / "index.html")
    links = [a.get("href") for a in elements(index, "a")]
    assert {"goal-email-sender.html", "goal-review-sentiment.html"} <= set(links)
    for report in reports(state):
        assert (out / "runs" / f"{report['run_id']}.html").is_file()


def test_every_link_and_script_is_relative_and_resolves(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(out)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 1 + 2 + 6
    for path in pages:
        root = page(path)
        for element in root.iter():
            for attribute in ("href", "src"):
                target = element.get(attribute)
                if target is None or target.startswith("#"):
                    continue
                parts = urlsplit(target)
                assert not parts.scheme
                assert not parts.netloc
                assert not target.startswith("/")
                assert (path.parent / unquote(parts.path)).resolve().is_file(), (path, target)


def test_goal_page_shows_lineage_with_the_evolution_reason(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(out, "email-sender")
    root = page(out / "goal-email-sender.html")
    lineage = next(d for d in elements(root, "div") if d.get("class") == "lineage")
    top = lineage.find(NS + "ul")
    assert top is not None
    roots = top.findall(NS + "li")
    assert len(roots) == 1
    assert text_of(roots[0]).startswith("1.0.0 — 2 runs, latest achieved")
    child = roots[0].find(NS + "ul/" + NS + "li")
    assert child is not None
    assert text_of(child).startswith("2.0.0 evolved from 1.0.0 — 2 runs")
    assert "Why: Added personalization and A/B testing based on low engagement" in text_of(child)
    assert not (out / "goal-review-sentiment.html").exists()  # only the goal named


def test_rates_over_cases_use_the_wilson_interval_of_passed_over_evaluated(
    state: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build(out)
    root = page(out / "goal-email-sender.html")
    table = next(t for t in elements(root, "table") if t.get("class") == "runs")
    heads = [text_of(th) for th in table.find(NS + "thead").iter(NS + "th")]  # type: ignore[union-attr]
    rows = table.find(NS + "tbody").findall(NS + "tr")  # type: ignore[union-attr]
    runs = sorted(
        (r for r in reports(state) if r["goal"]["id"] == "email-sender"),
        key=lambda r: r["finished_at"],
    )
    assert len(rows) == len(runs)
    for row, report in zip(rows, runs, strict=True):
        cells = [text_of(c) for c in row]
        assert cells[0].endswith(report["run_id"])
        assert cells[1] == report["goal"]["version"]
        for criterion in report["criteria"]:
            low, high = wilson_interval(criterion["passed"], criterion["evaluated"])
            rate = criterion["passed"] / criterion["evaluated"]
            expected = (
                f"{criterion['passed']}/{criterion['evaluated']} cases {rate:.0%} "
                f"({low:.0%}–{high:.0%})"
            )
            assert cells[heads.index(criterion["id"])] == expected


def test_rates_over_trials_are_the_reports_own(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(out, "review-sentiment")
    root = page(out / "goal-review-sentiment.html")
    report = next(r for r in reports(state) if r["goal"]["id"] == "review-sentiment")
    stats = report["criteria"][0]["trials"]
    low, high = stats["interval"]
    shown = f"{stats['passed']}/{stats['trials']} trials {stats['pass_rate']:.0%} ({low:.0%}–{high:.0%})"
    assert shown in [text_of(td) for td in elements(root, "td")]


def test_charts_are_plotly_figures_with_intervals_as_error_bars(
    state: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build(out, "email-sender")
    html = (out / "goal-email-sender.html").read_text(encoding="utf-8")
    root = check_html(html)
    assert [s.get("src") for s in elements(root, "script") if s.get("src")] == ["plotly.min.js"]
    charts = [
        d.get("id") for d in elements(root, "div") if "plotly-graph-div" in (d.get("class") or "")
    ]
    assert charts == [
        "chart-rates-email-sender",
        "chart-cost-email-sender",
        "chart-time-email-sender",
    ]
    assert '"symmetric":false,"type":"data"}' in html.replace(" ", "")  # error bars
    assert html.count('"arrayminus":[') == 3  # one per criterion of email-sender
    assert "Cost per run (simulated)" in html


def test_scenario_text_is_escaped_in_every_page(state: Path, tmp_path: Path) -> None:
    attack = "<script>alert(1)</script>"
    for path in (state / "runs").glob("email-sender-*/report.json"):
        report = json.loads(path.read_text())
        report["goal"]["name"] = attack
        report["goal"]["evolution_reason"] = attack
        path.write_text(json.dumps(report))
    out = tmp_path / "site"
    build(out)
    for name in ("index.html", "goal-email-sender.html"):
        root = page(out / name)
        scripts = [text_of(s) for s in elements(root, "script")]
        assert not any("alert(1)" in s for s in scripts)
        assert attack in text_of(root)


def test_a_damaged_report_is_left_out_and_named(state: Path, tmp_path: Path) -> None:
    damaged = sorted((state / "runs").glob("email-sender-*/report.json"))[0]
    damaged.write_text("{not json")
    result = run_cli("history", "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.stderr
    assert f"warning: run {damaged.parent.name} left out" in result.stderr
    assert "(2 goals, 5 runs)" in result.stdout
    index = page(tmp_path / "site" / "index.html")
    assert damaged.parent.name in text_of(index)  # the page says what it left out


def test_errors_have_table_exit_codes(state: Path, tmp_path: Path) -> None:
    unknown = run_cli("history", "no-such-goal", "--out", str(tmp_path / "a"))
    assert unknown.exit_code == 2
    assert (
        "no finished run of goal no-such-goal (goals with runs: email-sender, review-sentiment)"
        in unknown.stderr
    )
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert run_cli("history", "--out", str(blocked)).exit_code == 2
    missing = run_cli("history")
    assert missing.exit_code == 2
    assert "--out" in missing.stderr
    empty = run_cli(
        "history", "--out", str(tmp_path / "b"), env={"GOALCTL_STATE_DIR": str(tmp_path / "empty")}
    )
    assert empty.exit_code == 2
    assert "no finished runs in" in empty.stderr
    assert not (tmp_path / "b").exists()
    assert not (tmp_path / "a").exists()
    under_a_file = run_cli("history", "--out", str(blocked / "site"))
    assert under_a_file.exit_code == 2
    assert "--out" in under_a_file.stderr


def _point(version: str, parent: str | None, run_id: str) -> RunPoint:
    goal: dict[str, Any] = {"id": "g", "name": "G", "version": version}
    if parent is not None:
        goal["parent_version"] = parent
    return run_point(
        {
            "run_id": run_id,
            "goal": goal,
            "verdict": "achieved",
            "score": 1.0,
            "finished_at": "2026-01-01T00:00:00Z",
            "totals": {"cost_usd": 0.0, "elapsed_s": 0.0, "cases": 1, "cases_passed": 1},
            "criteria": [],
        }
    )


def test_lineage_keeps_unrun_parents_and_breaks_cycles() -> None:
    goal = GoalHistory("g", "G", [_point("1.1.0", "1.0.0", "g-1"), _point("2.0.0", "1.1.0", "g-2")])
    (root,) = goal.lineage()
    assert (root.version, root.runs) == ("1.0.0", 0)  # a parent that never ran
    assert [c.version for c in root.children] == ["1.1.0"]
    assert [c.version for c in root.children[0].children] == ["2.0.0"]
    cycle = GoalHistory(
        "g", "G", [_point("1.0.0", "2.0.0", "g-1"), _point("2.0.0", "1.0.0", "g-2")]
    )
    (top,) = cycle.lineage()
    assert top.version == "1.0.0"
    assert [c.version for c in top.children] == ["2.0.0"]
    assert top.children[0].children == []


def test_history_completes_the_goals_that_have_runs(tmp_path: Path) -> None:
    from tests.test_completion import complete, make_runs

    state = tmp_path / "state"  # the isolated state dir of this test
    make_runs(state, "calc-0000000a", "calc-0000000b", "triage-0000000c")
    (state / "runs" / "not-a-run").mkdir()
    assert complete("goalctl history ") == ["plain,calc", "plain,triage"]
    assert complete("goalctl history tr") == ["plain,triage"]
    assert complete("goalctl history calc ") == ["plain,triage"]  # not named twice


def test_browser_tests_are_collected_only_when_named() -> None:
    from tests.conftest import BROWSER_TESTS, pytest_ignore_collect

    class Config:
        def __init__(self, *args: str) -> None:
            self.args = list(args)
            self.invocation_params = SimpleNamespace(dir=BROWSER_TESTS.parent.parent)

    tests = BROWSER_TESTS.parent
    assert pytest_ignore_collect(BROWSER_TESTS, Config(str(tests))) is True  # type: ignore[arg-type]
    assert pytest_ignore_collect(BROWSER_TESTS, Config("tests/browser")) is False  # type: ignore[arg-type]
    named = Config(f"{BROWSER_TESTS / 'test_pages.py'}::test_report_page")
    assert pytest_ignore_collect(BROWSER_TESTS, named) is False  # type: ignore[arg-type]
    assert pytest_ignore_collect(tests / "support", Config(str(tests))) is None  # type: ignore[arg-type]


# -- saved baselines ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_faq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """faq v1 and v2 (v2 regressed on cites-source) run once each, beside v1's baseline."""
    root = tmp_path_factory.mktemp("faq")
    (root / "scenarios").mkdir()
    for name in ("faq-v1.md", "faq-v2.md", "faq-v1.baseline.json"):
        shutil.copy(SCENARIOS / name, root / "scenarios" / name)
    env: dict[str, str | None] = {"GOALCTL_STATE_DIR": str(root / "state")}
    for name in ("faq-v1.md", "faq-v2.md"):
        result = run_cli("run", str(root / "scenarios" / name), env=env)
        assert result.exit_code == 0, result.stderr
    return root


@pytest.fixture
def faq(saved_faq: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's copy of the faq runs and scenarios (scenario paths moved with them)."""
    copy = tmp_path / "faq"
    shutil.copytree(saved_faq, copy)
    for path in (copy / "state" / "runs").glob("*/report.json"):
        path.write_text(path.read_text().replace(str(saved_faq), str(copy)))
    monkeypatch.setenv("GOALCTL_STATE_DIR", str(copy / "state"))
    return copy


def _baselines_table(root: ET.Element) -> ET.Element:
    return next(t for t in elements(root, "table") if t.get("class") == "baselines")


def _row_cells(table: ET.Element) -> list[list[str]]:
    body = table.find(NS + "tbody")
    assert body is not None
    return [[text_of(cell) for cell in row] for row in body.findall(NS + "tr")]


def test_baselines_beside_the_scenarios_are_shown(faq: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert "(1 goal, 2 runs, 1 saved baseline)" in build(out)
    root = page(out / "goal-faq.html")
    table = _baselines_table(root)
    heads = [text_of(th) for th in table.iter(NS + "th") if th.get("scope") == "col"]
    assert heads == [
        "version",
        "file",
        "saved from run",
        "verdict",
        "provider, model",
        "cases",
        "answers",
        "cites-source",
        "cost",
    ]
    saved = json.loads((faq / "scenarios" / "faq-v1.baseline.json").read_text())
    ((version, file, run, verdict, model, cases, answers, cites, cost),) = _row_cells(table)
    assert (version, verdict, model, cases) == (
        "1.0.0",
        "achieved",
        "scripted, claude-sonnet-4-5",
        "10",
    )
    assert file.endswith("scenarios/faq-v1.baseline.json")
    # The saved run is not in this state dir: named, not linked.
    assert run == f"{saved['run_id']} (not in this history)"
    assert answers == cites == "10/10 cases 100% (72%–100%)"
    assert cost == f"${saved['totals']['cost_usd']:.6f} (simulated)"
    # The lineage marks the version that has a baseline, and only it.
    lineage = next(d for d in elements(root, "div") if d.get("class") == "lineage")
    items = list(lineage.iter(NS + "li"))
    assert [("baseline saved" in text_of(li).split("2.0.0")[0]) for li in items] == [True, False]
    # The chart draws each criterion's baseline rate as a dashed line across the runs.
    html = (out / "goal-faq.html").read_text(encoding="utf-8")
    assert html.count('"name":"answers: baseline 1.0.0"') == 1
    assert html.count('"name":"cites-source: baseline 1.0.0"') == 1
    assert '"dash":"dash"' in html
    assert '"x":[0.5,2.5],"y":[1.0,1.0]' in html.replace(" ", "")


def test_a_baseline_saved_from_a_run_in_the_site_links_to_it(faq: Path, tmp_path: Path) -> None:
    v2 = next(r for r in reports(faq / "state") if r["goal"]["version"] == "2.0.0")
    (tmp_path / "kept").mkdir()
    elsewhere = tmp_path / "kept" / "v2.baseline.json"
    saved = run_cli("baseline", "save", v2["run_id"], "--out", str(elsewhere))
    assert saved.exit_code == 0, saved.stderr
    out = tmp_path / "site"
    assert "2 saved baselines" in build(out, "--baseline", str(elsewhere))
    root = page(out / "goal-faq.html")
    rows = _row_cells(_baselines_table(root))
    assert [row[0] for row in rows] == ["1.0.0", "2.0.0"]  # oldest version first
    assert rows[1][2] == v2["run_id"]
    assert rows[1][7] == "5/10 cases 50% (24%–76%)"  # cites-source regressed in v2
    links = [a.get("href") for a in elements(root, "a")]
    assert f"runs/{v2['run_id']}.html" in links
    lineage = next(d for d in elements(root, "div") if d.get("class") == "lineage")
    assert text_of(lineage).count("baseline saved") == 2


def test_a_version_with_only_a_baseline_is_in_the_lineage(faq: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    for path in (faq / "state" / "runs").glob("*/report.json"):
        if json.loads(path.read_text())["goal"]["version"] == "1.0.0":
            shutil.rmtree(path.parent)
    build(out)
    root = page(out / "goal-faq.html")
    lineage = next(d for d in elements(root, "div") if d.get("class") == "lineage")
    assert text_of(lineage).startswith("1.0.0 — no runs here baseline saved")
    assert "2.0.0 evolved from 1.0.0 — 1 run" in text_of(lineage)


def test_a_damaged_baseline_is_a_warning_not_a_crash(faq: Path, tmp_path: Path) -> None:
    damaged = faq / "scenarios" / "faq-v0.baseline.json"
    damaged.write_text('{"format": "goalctl-baseline/1", "cases": 3}')
    newer = faq / "scenarios" / "faq-v9.baseline.json"
    newer.write_text('{"format": "goalctl-baseline/2"}')
    other = json.loads((faq / "scenarios" / "faq-v1.baseline.json").read_text())
    other["goal"]["id"] = "another-goal"
    (faq / "scenarios" / "other.baseline.json").write_text(json.dumps(other))
    result = run_cli("history", "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.stderr
    assert "(1 goal, 2 runs, 1 saved baseline)" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2  # another goal's file beside the scenarios is not a problem
    assert f"baseline {damaged} is damaged" in warnings[0]
    assert "written by a newer goalctl" in warnings[1]
    index = text_of(page(tmp_path / "site" / "index.html"))
    assert f"baseline {damaged} is damaged" in index
    assert str(newer) in index


def test_a_named_baseline_of_a_goal_not_shown_is_a_warning(faq: Path, tmp_path: Path) -> None:
    other = json.loads((faq / "scenarios" / "faq-v1.baseline.json").read_text())
    other["goal"]["id"] = "another-goal"
    named = tmp_path / "other.baseline.json"
    named.write_text(json.dumps(other))
    result = run_cli("history", "--out", str(tmp_path / "site"), "--baseline", str(named))
    assert result.exit_code == 0, result.stderr
    assert (
        f"warning: baseline {named} (goal another-goal) left out: no finished run of that goal"
        in result.stderr
    )
    missing = run_cli("history", "--out", str(tmp_path / "x"), "--baseline", str(tmp_path / "no"))
    assert missing.exit_code == 2
    assert "'--baseline'" in missing.stderr
    assert "does not exist" in missing.stderr
    assert not (tmp_path / "x").exists()


def test_goals_without_baselines_have_no_baselines_section(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert "saved baseline" not in build(out)
    root = page(out / "goal-email-sender.html")
    assert not [t for t in elements(root, "table") if t.get("class") == "baselines"]
    assert "baseline" not in (out / "goal-email-sender.html").read_text().lower()
