"""``goalctl report RUN_ID…`` as a library call: saved runs re-rendered, and two runs compared.

The runs are real offline runs saved in the test's state dir: the calculator example, the same
goal with one scripted reply made wrong (so a criterion flips), and a different goal.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl.errors import UsageError
from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from goalctl.reporting import report_runs
from goalctl.reports.compare import compare_reports, render_comparison_markdown
from goalctl.reports.junit import render_junit
from goalctl.reports.steps import step_lines
from goalctl.state import RunState, RunStatus, RunStore
from tests.conftest import REPO
from tests.support.clock import FrozenClock
from tests.support.weather import weather_report

BEFORE = "calculator-00000000"
AFTER = "calculator-11111111"
OTHER = "email-sender-00000000"


def save_run(path: str, state: Path, suffix: str) -> None:
    """Run one scenario offline into ``state`` as ``<goal-id>-<suffix>``."""
    summary = run_paths(
        [path],
        RunOptions(),
        state,
        clock=FrozenClock(),
        make_id=lambda goal_id: f"{goal_id}-{suffix}",
    )
    [outcome] = summary.outcomes
    assert outcome.run_id.endswith(f"-{suffix}")


@pytest.fixture
def store(tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    """Three saved runs: calculator achieved, calculator with a wrong answer, email sender."""
    monkeypatch.chdir(REPO)
    save_run("scenarios/calculator.md", isolated_environment, "00000000")
    save_run("scenarios/email_sender_v1.yaml", isolated_environment, "00000000")
    work = tmp_path / "work"
    (work / "scenarios").mkdir(parents=True)
    text = (REPO / "scenarios" / "calculator.md").read_text()
    # One attempt: a retry's feedback prompt matches no scripted reply and would error.
    wrong = (
        text.replace("version: 1.0.0", "version: 1.1.0")
        .replace("max_attempts: 2", "max_attempts: 1")
        .replace("""reply: '{"result": 3.5}'""", """reply: '{"result": 3}'""")
    )
    assert wrong.count("1.1.0") == wrong.count("max_attempts: 1") == 1
    assert '{"result": 3}' in wrong
    (work / "scenarios" / "calculator.md").write_text(wrong)
    monkeypatch.chdir(work)
    save_run("scenarios/calculator.md", isolated_environment, "11111111")
    return RunStore(isolated_environment)


def saved(store: RunStore, run_id: str, name: str) -> str:
    return (store.run_dir(run_id) / name).read_text()


def saved_report(store: RunStore, run_id: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(saved(store, run_id, "report.json"))
    return report


class TestFormats:
    def test_markdown_of_one_run_is_its_report_md(self, store: RunStore) -> None:
        assert report_runs(store, [BEFORE], "md") == saved(store, BEFORE, "report.md")

    def test_json_of_one_run_is_its_report_json(self, store: RunStore) -> None:
        assert report_runs(store, [OTHER], "json") == saved(store, OTHER, "report.json")

    def test_junit_has_a_suite_per_run(self, store: RunStore) -> None:
        xml = report_runs(store, [BEFORE, OTHER, AFTER], "junit")
        reports = [saved_report(store, run_id) for run_id in (BEFORE, OTHER, AFTER)]
        assert xml == render_junit(reports)
        root = ET.fromstring(xml)
        assert [suite.get("name") for suite in root] == [
            "calculator@1.0.0",
            "email-sender@1.0.0",
            "calculator@1.1.0",
        ]
        assert (root.get("tests"), root.get("failures")) == ("9", "1")

    def test_runs_of_different_goals_are_reported_one_after_the_other(
        self, store: RunStore
    ) -> None:
        markdown = report_runs(store, [OTHER, BEFORE], "md")
        assert markdown == (
            saved(store, OTHER, "report.md") + "\n" + saved(store, BEFORE, "report.md")
        )
        assert "→ run" not in markdown
        document = json.loads(report_runs(store, [OTHER, BEFORE], "json"))
        assert document == {
            "version": 1,
            "reports": [saved_report(store, OTHER), saved_report(store, BEFORE)],
        }

    def test_three_runs_are_not_compared(self, store: RunStore) -> None:
        document = json.loads(report_runs(store, [BEFORE, AFTER, OTHER], "json"))
        assert list(document) == ["version", "reports"]
        assert "## calculator: run" not in report_runs(store, [BEFORE, AFTER, OTHER], "md")

    def test_a_run_named_twice_is_reported_once(self, store: RunStore) -> None:
        assert report_runs(store, [BEFORE, "calculator-0"], "md") == saved(
            store, BEFORE, "report.md"
        )

    def test_an_unknown_format_is_a_usage_error(self, store: RunStore) -> None:
        with pytest.raises(UsageError) as caught:
            report_runs(store, [BEFORE], "pdf")
        assert (
            str(caught.value) == "unknown report format 'pdf' (use one of: md, json, junit, html)"
        )

    def test_no_runs_is_a_usage_error(self, store: RunStore) -> None:
        with pytest.raises(UsageError, match=r"^name at least one run"):
            report_runs(store, [], "md")


class TestRunIds:
    def test_a_unique_prefix_names_a_run(self, store: RunStore) -> None:
        assert report_runs(store, ["email"], "md") == saved(store, OTHER, "report.md")
        assert report_runs(store, ["calculator-1"], "json") == saved(store, AFTER, "report.json")

    def test_an_ambiguous_prefix_is_a_usage_error(self, store: RunStore) -> None:
        with pytest.raises(UsageError) as caught:
            report_runs(store, ["calculator-"], "md")
        assert str(caught.value) == (
            "run id 'calculator-' is ambiguous: it matches calculator-00000000, "
            "calculator-11111111; type more of it, or a goal id for its latest run: calculator"
        )

    def test_a_goal_id_names_its_latest_run(self, store: RunStore) -> None:
        # Both were created at the frozen clock's instant: the tie goes to the greater id.
        assert store.load(BEFORE).created_at == store.load(AFTER).created_at
        expected = saved(store, AFTER, "report.md")
        assert report_runs(store, ["calculator"], "md") == expected
        assert report_runs(store, ["calc"], "md") == expected

    def test_an_unknown_run_is_a_usage_error(self, store: RunStore) -> None:
        with pytest.raises(UsageError) as caught:
            report_runs(store, [BEFORE, "nope"], "md")
        assert str(caught.value) == "no run matches 'nope' (`goalctl list` shows the runs)"

    def test_a_path_is_not_a_run_id(self, store: RunStore) -> None:
        with pytest.raises(UsageError) as caught:
            report_runs(store, ["../runs"], "md")
        assert str(caught.value) == (
            "invalid run id '../runs' (run ids look like calculator-1a2b3c4d)"
        )


class TestComparison:
    def test_two_runs_of_one_goal_end_with_a_comparison(
        self, store: RunStore, text_snapshot: SnapshotAssertion
    ) -> None:
        markdown = report_runs(store, [BEFORE, AFTER], "md")
        assert markdown == text_snapshot
        reports = saved(store, BEFORE, "report.md") + "\n" + saved(store, AFTER, "report.md")
        assert markdown == reports + "\n" + (
            "## calculator: run calculator-00000000 → run calculator-11111111\n"
            "\n"
            "- Verdict: ✅ achieved → ❌ not achieved\n"
            "- Score: 100% → 33.3% (−66.7 points)\n"
            "- Goal version: 1.0.0 → 1.1.0\n"
            "\n"
            "| criterion | change |\n"
            "|---|---|\n"
            "| `accuracy` | ✅ → ❌ |\n"
        )

    def test_two_runs_of_one_goal_carry_a_comparison_in_json(self, store: RunStore) -> None:
        document = json.loads(report_runs(store, [BEFORE, AFTER], "json"))
        assert document["reports"] == [saved_report(store, BEFORE), saved_report(store, AFTER)]
        assert document["comparison"] == {
            "version": 1,
            "goal": "calculator",
            "before": {"run_id": BEFORE, "verdict": "achieved", "score": 1.0, "version": "1.0.0"},
            "after": {
                "run_id": AFTER,
                "verdict": "not_achieved",
                "score": 0.333333,
                "version": "1.1.0",
            },
            "score_delta": -0.666667,
            "flipped": [{"criterion": "accuracy", "before": True, "after": False}],
            "constraints_flipped": [],
            "verdict_changed": True,
        }

    def test_the_order_given_is_before_then_after(self, store: RunStore) -> None:
        document = json.loads(report_runs(store, [AFTER, BEFORE], "json"))
        comparison = document["comparison"]
        assert (comparison["before"]["run_id"], comparison["after"]["run_id"]) == (AFTER, BEFORE)
        assert comparison["score_delta"] == 0.666667
        assert comparison["flipped"] == [{"criterion": "accuracy", "before": False, "after": True}]


class TestMissingReports:
    def new_run(self, store: RunStore, run_id: str = "demo-aaaaaaaa") -> str:
        store.create(
            RunState(
                run_id=run_id,
                goal_id="demo",
                goal_version="1.0.0",
                goal_name="Demo",
                scenario="/scenarios/demo.yaml",
                provider="scripted",
                model="scripted-1",
                agent="llm",
            )
        )
        return run_id

    def test_a_running_run_has_no_report_yet(self, store: RunStore) -> None:
        run_id = self.new_run(store)
        store.claim(run_id)  # owned by this (live) process
        with pytest.raises(UsageError) as caught:
            report_runs(store, [run_id], "md")
        assert str(caught.value) == (
            "run demo-aaaaaaaa has no report yet (it is running); wait for it to finish "
            "(`goalctl logs demo-aaaaaaaa --follow` shows progress)"
        )

    def test_a_stopped_run_has_no_report_yet(self, store: RunStore) -> None:
        run_id = self.new_run(store)

        def stop(state: RunState) -> None:
            state.status = RunStatus.STOPPED

        store.update(run_id, stop)
        with pytest.raises(UsageError) as caught:
            report_runs(store, [BEFORE, "demo"], "json")
        assert str(caught.value) == (
            "run demo-aaaaaaaa has no report yet (it is stopped); "
            "resume it with `goalctl start demo-aaaaaaaa`"
        )

    def test_a_finished_run_whose_report_was_deleted(self, store: RunStore) -> None:
        path = store.run_dir(BEFORE) / "report.json"
        path.unlink()
        with pytest.raises(UsageError) as caught:
            report_runs(store, [BEFORE], "junit")
        assert str(caught.value) == (
            f"run {BEFORE} has no report yet (it is completed); {path} is missing; "
            "run the scenario again with `goalctl run`"
        )


class TestDamagedReports:
    def rewrite(self, store: RunStore, change: Any) -> Path:
        path = store.run_dir(BEFORE) / "report.json"
        report = json.loads(path.read_text())
        path.write_text(json.dumps(change(report)))
        return path

    def test_a_report_from_a_newer_goalctl_is_refused(self, store: RunStore) -> None:
        self.rewrite(store, lambda report: {**report, "version": 2})
        with pytest.raises(UsageError) as caught:
            report_runs(store, [BEFORE], "md")
        assert str(caught.value) == (
            "the report of run calculator-00000000 was written by a newer goalctl "
            "(report version 2, this goalctl reads 1); upgrade goalctl"
        )

    def test_a_report_that_is_not_json_is_refused(self, store: RunStore) -> None:
        path = store.run_dir(BEFORE) / "report.json"
        path.write_text('{"version": 1, ')
        with pytest.raises(UsageError, match=r"state is damaged: report\.json is not valid JSON"):
            report_runs(store, [BEFORE], "md")

    @pytest.mark.parametrize(
        ("change", "problem"),
        [
            (lambda report: [report], "report.json is not a goalctl report (not a JSON object)"),
            (
                lambda report: {**report, "version": "1"},
                "report.json is not a goalctl report (no valid 'version')",
            ),
            (
                lambda report: {k: v for k, v in report.items() if k != "criteria"},
                "report.json: missing or invalid criteria",
            ),
        ],
    )
    def test_a_report_of_the_wrong_shape_is_refused(
        self, store: RunStore, change: Any, problem: str
    ) -> None:
        self.rewrite(store, change)
        with pytest.raises(UsageError) as caught:
            report_runs(store, [BEFORE], "md")
        assert str(caught.value) == (
            f"run {BEFORE}'s state is damaged: {problem} — "
            f"`goalctl cleanup --force {BEFORE}` removes it"
        )


def report(
    run_id: str,
    verdict: str,
    score: float,
    criteria: dict[str, bool],
    constraints: dict[str, bool] | None = None,
    goal: str = "calculator",
) -> dict[str, Any]:
    """The parts of a report.json that a comparison reads."""
    return {
        "run_id": run_id,
        "goal": {"id": goal, "version": "1.0.0"},
        "verdict": verdict,
        "score": score,
        "criteria": [{"id": key, "met": met} for key, met in criteria.items()],
        "constraints": [
            {"id": key, "violated": violated} for key, violated in (constraints or {}).items()
        ],
    }


class TestCompareReports:
    def test_runs_of_different_goals_cannot_be_compared(self) -> None:
        with pytest.raises(UsageError) as caught:
            compare_reports(
                report("calculator-00000000", "achieved", 1.0, {}),
                report("email-sender-00000000", "achieved", 1.0, {}, goal="email-sender"),
            )
        assert str(caught.value) == (
            "can only compare runs of the same goal: calculator vs email-sender"
        )

    def test_added_removed_and_flipped_criteria_and_constraints(self) -> None:
        before = report(
            "calculator-00000000",
            "not_achieved",
            0.8,
            {"same": True, "fixed": False, "dropped": True},
            {"budget": True, "tone": False, "gone": False},
        )
        after = report(
            "calculator-11111111",
            "achieved",
            0.9,
            {"same": True, "fixed": True, "new": False},
            {"budget": False, "tone": False, "fresh": True},
        )
        comparison = compare_reports(before, after)
        assert comparison["score_delta"] == 0.1
        assert comparison["verdict_changed"] is True
        assert comparison["flipped"] == [
            {"criterion": "fixed", "before": False, "after": True},
            {"criterion": "dropped", "before": True, "after": None},
            {"criterion": "new", "before": None, "after": False},
        ]
        assert comparison["constraints_flipped"] == [
            {"constraint": "budget", "before": True, "after": False},
            {"constraint": "gone", "before": False, "after": None},
            {"constraint": "fresh", "before": None, "after": True},
        ]
        assert render_comparison_markdown(comparison) == (
            "## calculator: run calculator-00000000 → run calculator-11111111\n"
            "\n"
            "- Verdict: ❌ not achieved → ✅ achieved\n"
            "- Score: 80% → 90% (+10.0 points)\n"
            "- Goal version: 1.0.0\n"
            "\n"
            "| criterion | change |\n"
            "|---|---|\n"
            "| `fixed` | ❌ → ✅ |\n"
            "| `dropped` | removed (was ✅) |\n"
            "| `new` | added (❌) |\n"
            "\n"
            "| constraint | change |\n"
            "|---|---|\n"
            "| `budget` | violated → held |\n"
            "| `gone` | removed (was held) |\n"
            "| `fresh` | added (violated) |\n"
        )

    def test_nothing_changed(self) -> None:
        before = report("calculator-00000000", "achieved", 1.0, {"a": True}, {"c": False})
        after = report("calculator-11111111", "achieved", 1.0, {"a": True}, {"c": False})
        comparison = compare_reports(before, after)
        assert (comparison["flipped"], comparison["constraints_flipped"]) == ([], [])
        assert comparison["verdict_changed"] is False
        assert render_comparison_markdown(comparison) == (
            "## calculator: run calculator-00000000 → run calculator-11111111\n"
            "\n"
            "- Verdict: ✅ achieved (unchanged)\n"
            "- Score: 100% → 100% (no change)\n"
            "- Goal version: 1.0.0\n"
            "\n"
            "No criterion changed.\n"
        )

    @pytest.mark.parametrize(
        ("before", "after", "shown"),
        [
            (1.0, 0.95, "(−5.0 points)"),
            (0.5, 0.6, "(+10.0 points)"),
            (0.333333, 0.333333, "(no change)"),
            (0.5, 0.5004, "(no change)"),
        ],
    )
    def test_the_score_delta_is_signed_points(
        self, before: float, after: float, shown: str
    ) -> None:
        comparison = compare_reports(
            report("calculator-00000000", "error", before, {}),
            report("calculator-11111111", "error", after, {}),
        )
        markdown = render_comparison_markdown(comparison)
        score_line = next(line for line in markdown.splitlines() if line.startswith("- Score:"))
        assert score_line.endswith(shown)
        assert "- Verdict: ⚠️ error (no verdict) (unchanged)" in markdown


class TestTrajectories:
    def test_report_md_has_a_step_table_per_case_that_called_tools(
        self,
        tmp_path: Path,
        isolated_environment: Path,
        monkeypatch: pytest.MonkeyPatch,
        text_snapshot: SnapshotAssertion,
    ) -> None:
        (tmp_path / "work").mkdir()
        monkeypatch.chdir(tmp_path / "work")
        report = weather_report(tmp_path / "work", isolated_environment)
        assert [len(c.get("trajectory", [])) for c in report["cases"]] == [1, 1, 1, 0]
        markdown = (isolated_environment / "runs" / "weather-00000000" / "report.md").read_text()
        assert markdown == report_runs(RunStore(isolated_environment), ["weather-00000000"], "md")
        assert "### no-tools" not in markdown
        assert "\\| de \\<Janeiro> & \\`xxx" in markdown
        assert markdown == text_snapshot

    def test_steps_edited_into_junk_do_not_stop_the_report(self) -> None:
        trajectory = ["junk", {"step": 2, "tool": "t", "args": {"a": "x\ny"}, "error": "bad"}]
        assert step_lines("c", trajectory, 20) == [
            "steps of case c:",
            '  #2 t({"a": "x\\ny"}) → ERROR: bad',
        ]
