"""goalctl.validate() and goalctl.run(): the public surface, typed results, and agreement
with the CLI (the same service functions run both)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import goalctl
from tests.conftest import REPO, run_cli
from tests.test_examples import EXAMPLES

PUBLIC = [
    "__version__",
    "Goal",
    "SuccessCriterion",
    "Constraint",
    "GoalStatus",
    "Metric",
    "Scenario",
    "load_scenario",
    "validate_paths",
    "RunOptions",
    "run_paths",
    "RunStore",
    "PhasedAgent",
    "check",
    "agent",
    "tool",
    "AgentResult",
    "GatewayAccess",
    "GoalctlError",
    "UsageError",
    "ScenarioError",
    "ConfigError",
    "RunError",
    "Problem",
    "validate",
    "run",
    "ValidationResult",
    "FileValidation",
    "RunResult",
    "ScenarioResult",
    "SkippedScenario",
    "CriterionResult",
    "ConstraintResult",
    "CaseResult",
    "BaselineComparison",
    "ComparedItem",
    "Reason",
]


def goal_file(
    directory: Path,
    name: str = "greeter.yaml",
    *,
    goal_id: str = "greeter",
    responses: str = "[hi there]",
    extra: str = "",
) -> Path:
    """A small YAML scenario answered by the scripted provider."""
    path = directory / name
    path.write_text(
        f"id: {goal_id}\n"
        "name: Greeter\n"
        "description: Greets\n"
        "provider: scripted\n"
        "success_criteria:\n"
        "  - {id: says-hi, description: Says hi, metric: output_contains, target: hi}\n"
        "  - {id: polite, description: Says there, metric: output_contains, target: there,"
        " weight: 0.05}\n"
        "constraints:\n"
        "  - {id: cheap, description: At most a cent, category: cost, check: cost_usd <= 0.01}\n"
        f"cases: [{{name: one, input: {{}}}}, {{name: two, input: {{}}}}]\n"
        f"responses: {responses}\n" + extra,
        encoding="utf-8",
    )
    return path


class TestPublicSurface:
    def test_all_is_pinned(self) -> None:
        assert goalctl.__all__ == PUBLIC

    def test_every_name_resolves(self) -> None:
        for name in goalctl.__all__:
            assert getattr(goalctl, name) is not None, name

    def test_signatures_are_pinned(self) -> None:
        assert str(inspect.signature(goalctl.validate)) == (
            "(paths: 'PathArg | Sequence[PathArg]' = ('scenarios',)) -> 'ValidationResult'"
        )
        assert str(inspect.signature(goalctl.run)) == (
            "(paths: 'PathArg | Sequence[PathArg]' = ('scenarios',), *, "
            "provider: 'str | None' = None, model: 'str | None' = None, "
            "config: 'Sequence[str]' = (), config_file: 'PathArg | None' = None, "
            "concurrency: 'int | None' = None, state_dir: 'PathArg | None' = None, "
            "report_dir: 'PathArg | None' = None, junit: 'PathArg | None' = None, "
            "record: 'bool' = False, include_drafts: 'bool' = False, "
            "shard: 'str | None' = None, cases: 'Sequence[str]' = (), "
            "trials: 'int | None' = None, early_stop: 'bool' = True, "
            "models: 'Sequence[str]' = (), html: 'PathArg | None' = None, "
            "baseline: 'PathArg | bool | None' = None, fail_on_regression: 'bool' = False, "
            "regression_alpha: 'float | None' = None, cost_tolerance: 'float | None' = None, "
            "latency_tolerance: 'float | None' = None) -> 'RunResult'"
        )

    def test_result_fields_are_pinned(self) -> None:
        def fields(cls: type) -> list[str]:
            return [f.name for f in dataclasses.fields(cls)]

        assert fields(goalctl.RunResult) == ["runs", "skipped", "notices", "exit_code", "junit"]
        assert fields(goalctl.ScenarioResult) == [
            "run_id",
            "scenario",
            "goal_id",
            "goal_version",
            "status",
            "verdict",
            "score",
            "error",
            "reasons",
            "criteria",
            "constraints",
            "cases",
            "report_paths",
            "report",
            "comparison",
        ]
        assert fields(goalctl.BaselineComparison) == [
            "baseline_file",
            "relation",
            "baseline_version",
            "baseline_run_id",
            "paired_cases",
            "regressions",
            "fail_on_regression",
            "alpha",
            "cost_tolerance",
            "latency_tolerance",
            "items",
        ]
        assert fields(goalctl.ComparedItem) == [
            "kind",
            "id",
            "verdict",
            "before",
            "after",
            "p_value",
            "test",
            "underpowered",
            "line",
        ]
        assert fields(goalctl.ValidationResult) == ["files", "passed_over"]
        assert fields(goalctl.FileValidation) == [
            "path",
            "valid",
            "goal_id",
            "goal_version",
            "problems",
        ]

    def test_unknown_name_is_an_attribute_error(self) -> None:
        with pytest.raises(AttributeError, match="no attribute 'runn'"):
            _ = goalctl.runn  # type: ignore[attr-defined]

    def test_import_and_api_entry_points_stay_light(self) -> None:
        code = (
            "import sys, goalctl; goalctl.run; goalctl.validate; "
            "heavy = [m for m in ('pydantic', 'rich', 'jinja2', 'anthropic', 'openai') "
            "if m in sys.modules]; print(heavy)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]"


class TestRun:
    def test_achieved_run_is_typed_and_frozen(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = goal_file(tmp_path)
        result = goalctl.run(path, state_dir=tmp_path / "state")
        assert (result.exit_code, result.ok, result.achieved) == (0, True, True)
        run = result["greeter"]
        assert (run.verdict, run.score, run.status, run.exit_code) == (
            "achieved",
            1.0,
            "completed",
            0,
        )
        assert run.scenario == path
        assert run.criterion("says-hi").met
        assert run.criterion("says-hi").line == 6
        assert run.constraint("cheap").violated is False
        assert [(c.name, c.status, c.output) for c in run.cases] == [
            ("one", "passed", "hi there"),
            ("two", "passed", "hi there"),
        ]
        assert run.report_paths[0] == tmp_path / "state" / "runs" / run.run_id / "report.md"
        assert run.report["verdict"] == "achieved"
        with pytest.raises(dataclasses.FrozenInstanceError):
            run.verdict = "error"  # type: ignore[misc]
        with pytest.raises(TypeError):
            run.report["verdict"] = "error"  # type: ignore[index]
        assert capsys.readouterr() == ("", "")

    def test_not_achieved_names_the_reasons(self, tmp_path: Path) -> None:
        result = goalctl.run(goal_file(tmp_path, responses="[bye]"), state_dir=tmp_path / "s")
        run = result.runs[0]
        assert (result.exit_code, result.ok, result.achieved, run.verdict) == (
            1,
            False,
            False,
            "not_achieved",
        )
        assert [(r.kind, r.id, r.level) for r in run.reasons] == [
            ("criterion", "says-hi", "failure"),
            ("criterion", "polite", "failure"),
        ]
        assert run.criterion("says-hi").evidence[0].startswith("one: ")
        with pytest.raises(KeyError, match="no criterion 'nope' \\(known: says-hi, polite\\)"):
            run.criterion("nope")

    def test_unmet_criterion_the_goal_does_without_is_a_warning(self, tmp_path: Path) -> None:
        result = goalctl.run(goal_file(tmp_path, responses="[hi]"), state_dir=tmp_path / "s")
        run = result.runs[0]
        assert (result.exit_code, run.verdict) == (0, "achieved")
        assert [(r.id, r.level) for r in run.reasons] == [("polite", "warning")]

    def test_errored_run_exits_3_without_a_score(self, tmp_path: Path) -> None:
        path = goal_file(tmp_path, responses="[{match: nothing-matches, reply: hi}]")
        result = goalctl.run(path, state_dir=tmp_path / "s")
        run = result.runs[0]
        assert (result.exit_code, run.exit_code, run.verdict, run.score) == (3, 3, "error", None)
        assert run.error is not None
        assert "scripted: no reply" in run.error
        assert [(r.kind, r.level) for r in run.reasons] == [("run", "error")]

    def test_drafts_are_skipped_unless_included(self, tmp_path: Path) -> None:
        path = goal_file(tmp_path, extra="status: draft\n")
        result = goalctl.run(path, state_dir=tmp_path / "s")
        assert result.runs == ()
        assert [(s.scenario, s.reason) for s in result.skipped] == [
            (path, "status is draft; use --include-drafts to run it")
        ]
        assert (result.exit_code, result.ok, result.achieved) == (0, True, False)
        included = goalctl.run(path, state_dir=tmp_path / "s", include_drafts=True)
        assert included["greeter"].achieved

    def test_options_reach_the_run(self, tmp_path: Path) -> None:
        path = goal_file(tmp_path)
        result = goalctl.run(
            [path],
            state_dir=tmp_path / "s",
            report_dir=tmp_path / "reports",
            junit=tmp_path / "junit.xml",
            cases=["tw*"],
        )
        run = result["greeter"]
        assert [c.name for c in run.cases] == ["two"]
        assert result.junit == tmp_path / "junit.xml"
        assert 'name="criterion: says-hi"' in (tmp_path / "junit.xml").read_text()
        assert tmp_path / "reports" / "greeter-1.0.0.json" in run.report_paths

    def test_models_and_html_reach_the_run(self, tmp_path: Path) -> None:
        path = goal_file(tmp_path)
        result = goalctl.run(
            path,
            state_dir=tmp_path / "s",
            models=["claude-sonnet-4-5", "claude-haiku-4-5"],
            html=tmp_path / "h",
        )
        assert sorted(r.report["model"] for r in result.runs) == [
            "claude-haiku-4-5",
            "claude-sonnet-4-5",
        ]
        assert all(r.report["models"] for r in result.runs)
        pages = sorted(p.name for p in (tmp_path / "h").iterdir())
        assert pages == [
            "greeter-1.0.0-claude-haiku-4-5.html",
            "greeter-1.0.0-claude-sonnet-4-5.html",
        ]

    def test_trials_reach_the_run(self, tmp_path: Path) -> None:
        path = goal_file(tmp_path)
        every = goalctl.run(path, state_dir=tmp_path / "s", trials=3, early_stop=False)
        [case_every, _] = every["greeter"].report["cases"]
        assert case_every["trials"]["run"] == 3
        assert every["greeter"].report["totals"]["trials_run"] == 6

    def test_invalid_scenario_raises_with_every_problem(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text(
            "id: bad\nname: Bad\ndescription: Bad\nsuccess_criteria: 3\nbogus: 1\n",
            encoding="utf-8",
        )
        with pytest.raises(goalctl.ScenarioError) as caught:
            goalctl.run(bad, state_dir=tmp_path / "s")
        assert caught.value.exit_code == 1
        assert [(p.line, p.key) for p in caught.value.problems] == [
            (4, "success_criteria"),
            (5, "bogus"),
        ]
        assert not (tmp_path / "s").exists()

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"config": "max_attempts=2"}, "config must be a list of KEY=VALUE strings"),
            ({"cases": "one"}, "cases must be a list of case names or globs"),
            ({"concurrency": 0}, "concurrency 0: give a number from 1 to 1024"),
            ({"provider": " scripted"}, "provider ' scripted': give a name"),
            ({"shard": "3/2"}, "invalid --shard '3/2'"),
            ({"trials": 0}, "trials 0: give a number from 1 to 1000"),
            ({"models": "a,b"}, "models must be a list of model names"),
            ({"models": ["a"]}, "models compares two or more models; for one, use model"),
            ({"models": ["a", "a"]}, "models: model 'a' is listed twice"),
            ({"models": ["a", "b"], "model": "c"}, "give either model or models, not both"),
            ({"config": ["nope=1"]}, "--config nope=1: unknown key 'nope' for agent llm"),
        ],
    )
    def test_bad_options_raise_goalctl_errors(
        self, tmp_path: Path, options: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(goalctl.GoalctlError, match=re.escape(message)) as caught:
            goalctl.run(goal_file(tmp_path), state_dir=tmp_path / "s", **options)
        assert caught.value.exit_code == 2

    def test_a_goal_that_ran_in_two_versions_is_picked_from_runs(self, tmp_path: Path) -> None:
        goal_file(tmp_path, "v1.yaml")
        goal_file(tmp_path, "v2.yaml", extra="version: 2.0.0\nparent_version: 1.0.0\n")
        result = goalctl.run(tmp_path, state_dir=tmp_path / "s")
        assert [(r.goal_id, r.goal_version) for r in result.runs] == [
            ("greeter", "1.0.0"),
            ("greeter", "2.0.0"),
        ]
        with pytest.raises(KeyError, match=re.escape("ran in 2 versions (1.0.0, 2.0.0)")):
            result["greeter"]
        with pytest.raises(KeyError, match=re.escape("no run of goal 'x' (goals run: greeter")):
            result["x"]

    def test_missing_path_is_a_usage_error(self, tmp_path: Path) -> None:
        with pytest.raises(
            goalctl.UsageError, match=re.escape("no such file or directory: nope.md")
        ):
            goalctl.run("nope.md", state_dir=tmp_path / "s")


class TestBaseline:
    """The baseline comparison of ``goalctl run --baseline``, from Python."""

    @pytest.fixture
    def faq(self, tmp_path: Path) -> Path:
        for name in ("faq-v1.md", "faq-v2.md", "faq-v1.baseline.json"):
            shutil.copy(REPO / "scenarios" / name, tmp_path / name)
        return tmp_path

    def test_fail_on_regression_gates_and_names_the_criterion(self, faq: Path) -> None:
        result = goalctl.run(faq / "faq-v2.md", state_dir=faq / "s", fail_on_regression=True)
        run = result["faq"]
        assert (result.exit_code, run.verdict) == (1, "not_achieved")
        comparison = run.comparison
        assert comparison is not None
        assert (comparison.relation, comparison.baseline_version, comparison.paired_cases) == (
            "parent",
            "1.0.0",
            10,
        )
        assert comparison.regressed
        assert comparison.regressions == ("cites-source",)
        assert comparison.fail_on_regression
        item = comparison.item("cites-source")
        assert (item.kind, item.verdict, item.before, item.after, item.test) == (
            "criterion",
            "regressed",
            "10/10",
            "5/10",
            "mcnemar",
        )
        assert item.p_value == pytest.approx(0.03125)
        assert comparison.item("cost").kind == "cost"
        assert [r.id for r in run.reasons if r.level == "failure"] == ["cites-source"]
        with pytest.raises(KeyError, match="no compared item 'nope'"):
            comparison.item("nope")

    def test_baseline_alone_reports_without_gating(self, faq: Path) -> None:
        result = goalctl.run(
            faq / "faq-v2.md",
            state_dir=faq / "s",
            baseline=faq / "faq-v1.baseline.json",
            regression_alpha=0.01,
            cost_tolerance=0.5,
            latency_tolerance=2,
        )
        comparison = result["faq"].comparison
        assert result.exit_code == 0
        assert comparison is not None
        assert (comparison.relation, comparison.fail_on_regression) == ("named", False)
        assert (comparison.alpha, comparison.cost_tolerance, comparison.latency_tolerance) == (
            0.01,
            0.5,
            2.0,
        )
        # p = 0.03125 is not below alpha 0.01: worse, not a regression.
        assert comparison.item("cites-source").verdict == "worse"
        assert comparison.regressions == ()

    def test_agrees_with_the_cli(self, faq: Path) -> None:
        api = goalctl.run(faq / "faq-v2.md", state_dir=faq / "a", fail_on_regression=True)
        cli = run_cli(
            "--state-dir", str(faq / "c"), "run", "--fail-on-regression", str(faq / "faq-v2.md")
        )
        assert cli.exit_code == api.exit_code == 1
        report = json.loads((faq / "c" / "runs").glob("*/report.json").__next__().read_text())
        api_comparison = api["faq"].comparison
        assert api_comparison is not None
        assert report["comparison"]["regressions"] == list(api_comparison.regressions)
        assert [i["verdict"] for i in report["comparison"]["items"]] == [
            i.verdict for i in api_comparison.items
        ]

    def test_no_comparison_unless_asked(self, faq: Path) -> None:
        assert goalctl.run(faq / "faq-v2.md", state_dir=faq / "s")["faq"].comparison is None

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"cost_tolerance": 0.1}, "cost_tolerance needs baseline (or fail_on_regression)"),
            (
                {"regression_alpha": 0.1, "latency_tolerance": 0.2},
                "regression_alpha, latency_tolerance needs baseline",
            ),
            ({"baseline": "faq-v1.md"}, "baseline faq-v1.md: that is a scenario"),
            ({"baseline": 3}, "baseline must be True or a baseline file's path, not 3"),
            ({"baseline": True, "regression_alpha": 1.0}, "regression_alpha 1.0: give a number"),
            ({"baseline": True, "cost_tolerance": -0.1}, "cost_tolerance -0.1: give a fraction"),
            ({"baseline": True, "cost_tolerance": "10%"}, "cost_tolerance must be a number"),
            ({"fail_on_regression": "yes"}, "fail_on_regression must be True or False"),
            ({"baseline": "nope.baseline.json"}, "nope.baseline.json"),
        ],
    )
    def test_bad_baseline_options_are_usage_errors(
        self, faq: Path, options: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(goalctl.UsageError, match=re.escape(message)):
            goalctl.run(faq / "faq-v2.md", state_dir=faq / "s", **options)

    def test_no_baseline_anywhere_is_a_usage_error(self, tmp_path: Path) -> None:
        with pytest.raises(goalctl.UsageError, match="no baseline to compare with"):
            goalctl.run(goal_file(tmp_path), state_dir=tmp_path / "s", baseline=True)


class TestValidate:
    def test_valid_and_invalid_files(self, tmp_path: Path) -> None:
        goal_file(tmp_path)
        (tmp_path / "bad.yaml").write_text(
            "id: bad\nname: Bad\ndescription: Bad\nsuccess_criteria: 3\n", encoding="utf-8"
        )
        (tmp_path / "README.md").write_text("# notes\n", encoding="utf-8")
        result = goalctl.validate(tmp_path)
        assert (result.ok, result.exit_code) == (False, 1)
        assert [(f.path.name, f.valid, f.goal_id) for f in result.files] == [
            ("bad.yaml", False, None),
            ("greeter.yaml", True, "greeter"),
        ]
        assert [str(p) for p in result.problems] == [
            f"{tmp_path}/bad.yaml:4:19: success_criteria: expected a list, got 3 (integer)"
        ]
        assert result.passed_over == (tmp_path / "README.md",)

    def test_valid_folder_exits_0(self, tmp_path: Path) -> None:
        goal_file(tmp_path)
        result = goalctl.validate([str(tmp_path)])
        assert (result.ok, result.exit_code, result.files[0].goal_version) == (True, 0, "1.0.0")

    def test_agrees_with_the_cli(self, tmp_path: Path) -> None:
        goal_file(tmp_path)
        (tmp_path / "bad.yaml").write_text("id: bad\nbogus: 1\n", encoding="utf-8")
        cli = run_cli("validate", "--format", "json", str(tmp_path))
        data = json.loads(cli.stdout)
        result = goalctl.validate(tmp_path)
        assert cli.exit_code == result.exit_code == 1
        assert [(f["path"], f["valid"]) for f in data["files"]] == [
            (str(f.path), f.valid) for f in result.files
        ]
        assert [p["message"] for f in data["files"] for p in f["problems"]] == [
            p.message for p in result.problems
        ]


_VOLATILE = {
    "run_id",
    "started_at",
    "finished_at",
    "elapsed_s",
    "time",
    "timestamp",
    "latency_s",
}


def _stable(value: Any, run_ids: tuple[str, ...]) -> Any:
    """``value`` without what differs between two runs of one scenario: ids and times."""
    if isinstance(value, dict):
        return {k: _stable(v, run_ids) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v, run_ids) for v in value]
    if isinstance(value, str):
        for run_id in run_ids:
            value = value.replace(run_id, "RUN")
        return value
    return value


@pytest.mark.usefixtures("venv_on_path")
@pytest.mark.parametrize("name", EXAMPLES)
def test_cli_and_api_agree_on_the_examples(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    scenario = f"scenarios/{name}"
    cli = run_cli(
        "run",
        "--json",
        "--include-drafts",
        "--state-dir",
        str(tmp_path / "cli"),
        "--report-dir",
        str(tmp_path / "cli-reports"),
        scenario,
    )
    result = goalctl.run(
        scenario,
        include_drafts=True,
        state_dir=tmp_path / "api",
        report_dir=tmp_path / "api-reports",
    )
    summary = json.loads(cli.stdout)
    assert cli.exit_code == summary["exit_code"] == result.exit_code == 0
    # One run per scenario, or one per model when it compares models (in the models' order).
    assert len(summary["runs"]) == len(result.runs) >= 1
    cli_files = sorted((tmp_path / "cli-reports").glob("*.json"))
    api_files = sorted((tmp_path / "api-reports").glob("*.json"))
    assert [f.name for f in cli_files] == [f.name for f in api_files]
    assert len(cli_files) == len(result.runs)
    for cli_run, api_run in zip(summary["runs"], result.runs, strict=True):
        assert (cli_run["verdict"], cli_run["score"]) == (api_run.verdict, api_run.score)
        assert cli_run["reasons"] == [dataclasses.asdict(r) for r in api_run.reasons]
    ids = (*(r["run_id"] for r in summary["runs"]), *(r.run_id for r in result.runs))
    for cli_json, api_json, api_run in zip(
        cli_files, api_files, sorted(result.runs, key=_model), strict=True
    ):
        cli_report = _stable(json.loads(cli_json.read_text()), ids)
        assert cli_report == _stable(json.loads(api_json.read_text()), ids)
        assert cli_report == _stable(dict(api_run.report), ids)


def _model(run: Any) -> str:
    """The model of a run, as report-dir file names sort (one model: any order)."""
    return str(run.report["model"])


@pytest.mark.parametrize(("responses", "code"), [("[bye]", 1), ("[{match: x, reply: hi}]", 3)])
def test_cli_and_api_agree_when_goals_are_missed(tmp_path: Path, responses: str, code: int) -> None:
    path = goal_file(tmp_path, responses=responses)
    cli = run_cli("run", "--junit", str(tmp_path / "cli.xml"), str(path))
    result = goalctl.run(path, junit=tmp_path / "api.xml")
    assert cli.exit_code == result.exit_code == code
    cli_junit = (tmp_path / "cli.xml").read_text()
    api_junit = (tmp_path / "api.xml").read_text()
    volatile = re.compile(r'greeter-[0-9a-f]{8}|(time|timestamp)="[^"]*"')
    assert volatile.sub("", cli_junit) == volatile.sub("", api_junit)
    assert ("<failure" in api_junit, "<error" in api_junit) == (code == 1, code == 3)
