"""The v1 → v2 example pair: v2 still achieves its goal, yet half its answers lost their
source link, and `goalctl run --baseline --fail-on-regression` catches it against v1's
committed baseline — the same way in every output."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl.baselines import BaselineSettings, save_baseline
from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from goalctl.state import RunStore
from tests.conftest import REPO, SCENARIOS, run_cli
from tests.support.clock import FrozenClock, fixed_id

GATE = RunOptions(baseline=BaselineSettings(fail_on_regression=True))


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def cites_source_line() -> int:
    lines = (SCENARIOS / "faq-v2.md").read_text().splitlines()
    return lines.index("  - id: cites-source") + 1


def test_the_committed_baseline_is_what_baseline_save_writes(tmp_path: Path) -> None:
    summary = run_paths(
        ["scenarios/faq-v1.md"], RunOptions(), tmp_path, clock=FrozenClock(), make_id=fixed_id
    )
    out = tmp_path / "faq-v1.baseline.json"
    save_baseline(RunStore(tmp_path), summary.outcomes[0].run_id, out)
    assert out.read_text() == (SCENARIOS / "faq-v1.baseline.json").read_text()


def test_report_names_the_regression(tmp_path: Path, text_snapshot: SnapshotAssertion) -> None:
    summary = run_paths(
        ["scenarios/faq-v2.md"], GATE, tmp_path, clock=FrozenClock(), make_id=fixed_id
    )
    [outcome] = summary.outcomes
    assert summary.exit_code == 1
    report = json.loads((tmp_path / "runs" / outcome.run_id / "report.json").read_text())
    assert report["verdict"] == "not_achieved"
    assert report["score"] == 1.0  # every criterion met: only the comparison fails it
    comparison = report["comparison"]
    assert comparison["regressions"] == ["cites-source"]
    assert comparison["baseline"]["relation"] == "parent"
    [reason] = report["reasons"]
    assert (reason["kind"], reason["id"], reason["level"], reason["line"]) == (
        "regression",
        "cites-source",
        "failure",
        cites_source_line(),
    )
    markdown = (tmp_path / "runs" / outcome.run_id / "report.md").read_text()
    assert markdown == text_snapshot(name="report.md")
    assert RunStore(tmp_path).load(outcome.run_id).verdict == "not_achieved"


def test_cli_exit_code_annotations_junit_and_summary_agree(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    junit = tmp_path / "junit.xml"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = run_cli(
        "run",
        "--baseline",
        "--fail-on-regression",
        "--junit",
        str(junit),
        "scenarios/faq-v2.md",
        env=env,
    )
    assert result.exit_code == 1, result.stderr
    line = cites_source_line()
    assert (
        f"::error file=scenarios/faq-v2.md,line={line},title=goalctl%3A cites-source regressed "
        "against baseline 1.0.0::10/10 → 5/10 passed on 10 paired cases (5 worse, 0 better; "
        "McNemar p = 0.03125 < 0.05)"
    ) in result.stdout.splitlines()
    assert "not achieved — `cites-source` regressed against baseline 1.0.0" in result.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    failures = [
        (case.get("name"), case.get("line"), failure.get("type"))
        for case in suite.iter("testcase")
        for failure in case.iter("failure")
    ]
    assert failures == [("regression: cites-source", str(line), "regression")]
    text = summary.read_text()
    assert "#### Compared with baseline: `faq` 2.0.0" in text
    assert (
        "| criterion `cites-source` | 10/10 (100%) | 5/10 (50%) | −50.0 pts | 0.0312 (McNemar) | ❌ regressed |"
        in text
    )
    assert "**Regressed: `cites-source`** — the run fails (--fail-on-regression)." in text


def test_without_the_gate_a_regression_is_a_warning(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    env = {"GITHUB_ACTIONS": "true"}
    result = run_cli("run", "scenarios/faq-v2.md", "--baseline", "--junit", str(junit), env=env)
    assert result.exit_code == 0, result.stderr
    assert "achieved — warning: `cites-source` regressed against baseline 1.0.0" in result.stdout
    warnings = [line for line in result.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1
    assert "cites-source regressed" in warnings[0]
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0"
    [out] = [
        c.findtext("system-out")
        for c in root.iter("testcase")
        if c.get("name") == "regression: cites-source"
    ]
    assert out is not None
    assert out.startswith("warning: `cites-source` regressed")


def test_json_summary_carries_the_verdict_and_reason(tmp_path: Path) -> None:
    result = run_cli("run", "--json", "--fail-on-regression", "scenarios/faq-v2.md")
    assert result.exit_code == 1
    [run] = json.loads(result.stdout)["runs"]
    assert run["verdict"] == "not_achieved"
    assert [r["id"] for r in run["reasons"]] == ["cites-source"]


def test_v1_compared_with_its_own_baseline_has_no_regression(tmp_path: Path) -> None:
    result = run_cli("run", "--fail-on-regression", "scenarios/faq-v1.md")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_a_named_baseline_file(tmp_path: Path) -> None:
    copy = tmp_path / "v1.json"
    shutil.copy(SCENARIOS / "faq-v1.baseline.json", copy)
    result = run_cli("run", "--baseline", str(copy), "--fail-on-regression", "scenarios/faq-v2.md")
    assert result.exit_code == 1
    assert "`cites-source` regressed against baseline 1.0.0" in result.stdout


class TestRefusals:
    def test_no_baseline_anywhere(self, tmp_path: Path) -> None:
        result = run_cli("run", "--fail-on-regression", "scenarios/calculator.md")
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (
            "goalctl: error: no baseline to compare with: no scenarios/calculator.baseline.json; "
            "write one with `goalctl baseline save RUN_ID`\n"
        )

    def test_scenarios_without_one_are_told_and_run_uncompared(self) -> None:
        result = run_cli("run", "--baseline", "scenarios/calculator.md", "scenarios/faq-v2.md")
        assert result.exit_code == 2  # the path was read as --baseline's FILE
        assert "that is a scenario, not a baseline file" in result.stderr
        result = run_cli("run", "scenarios/calculator.md", "scenarios/faq-v2.md", "--baseline")
        assert result.exit_code == 0, result.stderr
        assert (
            "scenarios/calculator.md: not compared with a baseline (no "
            "scenarios/calculator.baseline.json)"
        ) in result.stderr

    def test_a_named_file_of_no_goal_run(self) -> None:
        result = run_cli(
            "run", "--baseline", "scenarios/faq-v1.baseline.json", "scenarios/calculator.md"
        )
        assert result.exit_code == 2
        assert "is a baseline of no goal run here (calculator)" in result.stderr

    def test_a_missing_file(self, tmp_path: Path) -> None:
        result = run_cli("run", "--baseline", str(tmp_path / "nope.json"), "scenarios/faq-v2.md")
        assert result.exit_code == 2
        assert f"baseline {tmp_path / 'nope.json'}: " in result.stderr

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ["--cost-tolerance", "5%"],
                "--cost-tolerance needs --baseline (or --fail-on-regression)",
            ),
            (
                ["--regression-alpha", "0.1", "--latency-tolerance", "5"],
                "--regression-alpha, --latency-tolerance needs --baseline",
            ),
            (["--baseline", "--cost-tolerance", "cheap"], "'cheap': give a percentage like 10%"),
            (["--baseline", "--regression-alpha", "1"], "--regression-alpha"),
        ],
    )
    def test_tuning_options(self, args: list[str], message: str) -> None:
        result = run_cli("run", *args, "scenarios/faq-v2.md")
        assert result.exit_code == 2
        assert message in result.stderr

    def test_tolerances_are_used(self) -> None:
        # v2's answers are shorter, so cheaper; a negative change is never over a tolerance.
        result = run_cli(
            "run",
            "--json",
            "--baseline",
            "--cost-tolerance",
            "0%",
            "--regression-alpha",
            "0.01",
            "scenarios/faq-v2.md",
        )
        assert result.exit_code == 0
        [run] = json.loads(result.stdout)["runs"]
        report = json.loads(Path(run["reports"][1]).read_text())
        comparison = report["comparison"]
        assert (comparison["alpha"], comparison["cost_tolerance"]) == (0.01, 0.0)
        # At α = 0.01, five regressions of ten (p = 1/32) are no longer significant.
        assert comparison["regressions"] == []


def test_a_parents_baseline_beside_another_scenario_run(tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    for name in ("faq-v1.md", "faq-v1.baseline.json"):
        shutil.copy(SCENARIOS / name, tmp_path / "v1" / name)
    shutil.copy(SCENARIOS / "faq-v2.md", tmp_path / "v2" / "faq-v2.md")
    both = run_cli(
        "run", "--json", "--fail-on-regression", str(tmp_path / "v1"), str(tmp_path / "v2")
    )
    assert both.exit_code == 1
    verdicts = {run["scenario"]: run["verdict"] for run in json.loads(both.stdout)["runs"]}
    assert verdicts == {
        str(tmp_path / "v1" / "faq-v1.md"): "achieved",
        str(tmp_path / "v2" / "faq-v2.md"): "not_achieved",
    }
