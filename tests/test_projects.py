"""Project functions (``module:function``) as a user writes them: imported from the scenario's
project by the installed goalctl with no PYTHONPATH, called with keyword arguments by name, and
never imported from outside the project."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from goalctl.evaluation import CaseOutput, CheckError, Evaluator, Metrics, run_check
from goalctl.projects import (
    ProjectError,
    Reference,
    call_by_name,
    inspect_reference,
    load_marked,
    module_file,
    project_root,
)
from goalctl.scenario.loader import load_scenario
from goalctl.scenario.render import case_context

CHECKS = """\
import goalctl

@goalctl.check
def total_matches(output, expected, **_):
    return output["total"] == expected["total"]

@goalctl.check
def sees(output, text, input, expected, target, case, metrics, config, error):
    return [sorted(output), text, input, expected, target, case["name"], metrics["llm_calls"]]
"""

SCENARIO = """\
id: totals
name: Totals
description: Sums.
provider: scripted
output_schema: {type: object, properties: {total: {type: number}}}
success_criteria:
  - {id: total, description: The total, metric: custom, check: "checks:total_matches"}
cases:
  - {name: one, input: {q: 1}, expected: {total: 3}}
"""


def project(tmp_path: Path, checks: str = CHECKS, name: str = "proj") -> Path:
    """A project with pyproject.toml, checks.py at its root and a scenario in scenarios/."""
    root = tmp_path / name
    (root / "scenarios").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "checks.py").write_text(textwrap.dedent(checks))
    (root / "scenarios" / "totals.yaml").write_text(SCENARIO)
    return root


def check_case(root: Path, output: object) -> object:
    scenario = load_scenario(root / "scenarios" / "totals.yaml")
    evaluator = Evaluator(scenario, scenario.config)
    context = case_context(scenario.goal, scenario.config, scenario.cases[0], "one", {})
    names = evaluator.names(context, CaseOutput(output, str(output)), Metrics(llm_calls=2))
    return run_check("checks:total_matches", names, project=evaluator.project)


class TestProjectRoot:
    def test_is_the_nearest_folder_with_pyproject_or_git(self, tmp_path: Path) -> None:
        root = project(tmp_path)
        assert project_root(root / "scenarios" / "totals.yaml") == root.resolve()
        (root / "scenarios" / ".git").mkdir()
        assert project_root(root / "scenarios" / "totals.yaml") == (root / "scenarios").resolve()

    def test_is_the_scenario_folder_without_either(self, tmp_path: Path) -> None:
        (tmp_path / "a").mkdir()
        assert project_root(tmp_path / "a" / "s.yaml") == (tmp_path / "a").resolve()


class TestCalledAsWritten:
    def test_a_function_of_the_project_works_without_pythonpath(self, tmp_path: Path) -> None:
        root = project(tmp_path)
        assert str(root) not in sys.path
        assert check_case(root, {"total": 3}) is True
        assert check_case(root, {"total": 4}) is False

    def test_keyword_arguments_by_name(self, tmp_path: Path) -> None:
        root = project(tmp_path, name="kw")
        scenario = load_scenario(root / "scenarios" / "totals.yaml")
        evaluator = Evaluator(scenario, scenario.config)
        context = case_context(scenario.goal, scenario.config, scenario.cases[0], "one", {})
        names = evaluator.names(context, CaseOutput({"total": 3}, "{}"), Metrics(llm_calls=2))
        seen = run_check("checks:sees", names | {"target": 7}, project=evaluator.project)
        assert seen == [["total"], "{}", {"q": 1}, {"total": 3}, 7, "one", 2]

    def test_two_projects_with_a_module_of_the_same_name(self, tmp_path: Path) -> None:
        first = project(tmp_path, name="first")
        second = project(
            tmp_path,
            CHECKS.replace('output["total"] == expected["total"]', "'second'"),
            name="second",
        )
        assert check_case(first, {"total": 3}) is True
        assert check_case(second, {"total": 3}) == "second"

    def test_two_projects_with_the_same_namespace_package(self, tmp_path: Path) -> None:
        """``examples/agents/x.py`` without ``__init__.py`` in two checkouts, in one process
        (a test suite, the Python API): each project gets its own copy, whichever came first."""
        roots = []
        for name in ("one", "two"):
            root = tmp_path / name
            (root / "examples" / "agents").mkdir(parents=True)
            (root / "pyproject.toml").write_text("")
            (root / "examples" / "agents" / "x.py").write_text(
                f"import goalctl\n\n@goalctl.check\ndef f(**_):\n    return {name!r}\n"
            )
            roots.append(root)
        reference = Reference("examples.agents.x", "f")
        for root in (*roots, *roots):
            loaded = load_marked(root, reference, "__goalctl_check__", "goalctl.check")
            assert loaded() == root.name

    def test_modules_of_one_package_share_it(self, tmp_path: Path) -> None:
        root = tmp_path / "pkgproj"
        (root / "evals").mkdir(parents=True)
        (root / "evals" / "__init__.py").write_text("STATE: list[str] = []\n")
        for name in ("a", "b"):
            (root / "evals" / f"{name}.py").write_text(
                f"import goalctl\nfrom evals import STATE\n\n@goalctl.check\n"
                f"def f(**_):\n    STATE.append({name!r})\n    return STATE\n"
            )
        first = load_marked(root, Reference("evals.a", "f"), "__goalctl_check__", "x")
        second = load_marked(root, Reference("evals.b", "f"), "__goalctl_check__", "x")
        assert first() == ["a"]
        assert second() == ["a", "b"]  # one package, one STATE

    def test_an_argument_goalctl_does_not_provide_is_named(self) -> None:
        def wants(output: object, colour: str) -> bool:
            return True

        with pytest.raises(ProjectError, match=r"needs argument\(s\) 'colour'"):
            call_by_name(wants, {"output": 1})

    def test_a_positional_only_parameter_is_never_offered(self) -> None:
        def positional(output: object, /) -> bool:
            return True

        with pytest.raises(ProjectError, match=r"needs argument\(s\) 'output'"):
            call_by_name(positional, {"output": 1})

    def test_a_package_wins_over_a_module_of_the_same_name(self, tmp_path: Path) -> None:
        (tmp_path / "evalpkg").mkdir()
        (tmp_path / "evalpkg" / "__init__.py").write_text("")
        (tmp_path / "evalpkg.py").write_text("")
        assert module_file(tmp_path, "evalpkg") == tmp_path / "evalpkg" / "__init__.py"

    def test_only_the_arguments_a_function_names_are_passed(self) -> None:
        def two(output: object, expected: object) -> tuple[object, object]:
            return output, expected

        assert call_by_name(two, {"output": 1, "expected": 2, "text": "x"}) == (1, 2)


def test_the_installed_goalctl_runs_a_project_check_from_anywhere(tmp_path: Path) -> None:
    root = project(tmp_path, name="e2e")
    (root / "scenarios" / "totals.yaml").write_text(SCENARIO + "responses: ['{\"total\": 3}']\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    scenario = str(root / "scenarios" / "totals.yaml")
    for command in (["validate", scenario], ["run", "--report-dir", str(elsewhere), scenario]):
        done = subprocess.run(
            [sys.executable, "-m", "goalctl", *command],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert "achieved — score 100%" in done.stdout


class TestStaysInTheProject:
    def test_a_stdlib_module_is_refused_before_import(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        sys.modules.pop("this", None)
        with pytest.raises(CheckError, match="module 'this' is not part of the project"):
            run_check("this:s", {}, project=tmp_path)
        assert "this" not in sys.modules
        assert capsys.readouterr() == ("", "")

    def test_a_symlink_out_of_the_project_is_refused(self, tmp_path: Path) -> None:
        root = project(tmp_path, name="linked")
        outside = tmp_path / "outside.py"
        outside.write_text(CHECKS)
        (root / "evil.py").symlink_to(outside)
        with pytest.raises(ProjectError, match="leads out of the project"):
            load_marked(root, Reference("evil", "total_matches"), "__goalctl_check__", "x")

    def test_a_module_name_taken_by_the_standard_library_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "json.py").write_text(CHECKS)
        with pytest.raises(ProjectError, match="'json' is already taken by"):
            load_marked(tmp_path, Reference("json", "total_matches"), "__goalctl_check__", "x")


class TestInspectedWithoutImport:
    @pytest.mark.parametrize(
        ("reference", "problem"),
        [
            ("nope:f", "module 'nope' is not part of the project"),
            (
                "checks:total_matchs",
                "has no function 'total_matchs' (did you mean 'total_matches'?)",
            ),
            ("checks:plain", "'checks:plain' is not marked with @goalctl.check"),
            ("checks:odd", "'checks:odd' needs argument(s) 'colour', which goalctl does not"),
        ],
    )
    def test_problems(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], reference: str, problem: str
    ) -> None:
        extra = "print('imported!')\ndef plain(output): ...\n@goalctl.check\ndef odd(colour): ...\n"
        root = project(tmp_path, CHECKS + extra)
        module, _, function = reference.partition(":")
        found = inspect_reference(
            root, Reference(module, function), "goalctl.check", frozenset({"output"})
        )
        assert found is not None
        assert problem in found
        assert capsys.readouterr().out == ""

    def test_a_marked_function_passes(self, tmp_path: Path) -> None:
        root = project(tmp_path)
        names = frozenset({"output", "expected"})
        assert (
            inspect_reference(root, Reference("checks", "total_matches"), "goalctl.check", names)
            is None
        )
