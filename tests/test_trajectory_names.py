"""The trajectory in check expressions: ``trajectory``, ``steps``, ``tool_calls``, ``called`` and
``count``; hard rules screened before a call runs; a refused call named by its constraint;
and what ``goalctl validate`` says about all of it."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from goalctl.errors import ExpressionError
from goalctl.evaluation import CaseOutput, ConstraintCheck, Evaluator, Metrics, reads_trajectory
from goalctl.expressions import compile_expression, evaluate
from tests.conftest import run_cli
from tests.test_evaluation import build, constraints_of, context_of, single
from tests.test_evaluation import evaluate as check_first
from tests.test_trajectory_checks import REFUSED, steps
from tests.test_validate_checks import problems

RULES = """\
success_criteria:
  - {id: c, description: d, metric: output_contains, target: ok}
constraints:
  - {id: no-deletes, description: Never delete an account, check: "not called('delete_account')"}
  - id: refund-cap
    description: Refunds never exceed the order total
    check: "all(s['args']['amount'] <= input['total'] for s in trajectory if s['tool'] == 'refund')"
  - {id: polite, description: Soft rule, constraint_type: soft, check: "not called('shout')"}
  - {id: cheap, description: Budget, category: cost, check: "cost_usd <= 1"}
cases:
  - {name: only, input: {total: 100}}
"""


def screen(tmp_path: Path, trajectory: list[dict[str, Any]]) -> ConstraintCheck | None:
    scenario = build(tmp_path, RULES)
    evaluator = Evaluator(scenario, scenario.config)
    return evaluator.screen_call(context_of(scenario), trajectory, Metrics())


# -- the sandbox -------------------------------------------------------------------------------


def test_called_and_count_are_names_the_sandbox_may_call() -> None:
    expression = compile_expression("not called('x') and count('y') == 2")

    assert expression.names == {"called", "count"}
    names = {"called": lambda name: name == "x", "count": lambda name: 2}
    assert expression.evaluate(names) is False


def test_a_bound_function_name_holding_data_is_not_called() -> None:
    with pytest.raises(ExpressionError, match="'called' is not a function here"):
        evaluate("called('x')", {"called": "yes"})


def test_a_misspelt_function_gets_a_did_you_mean() -> None:
    with pytest.raises(ExpressionError, match=r"unknown function 'caled' \(did you mean 'called'"):
        compile_expression("caled('x')")


def test_the_closures_reach_nothing() -> None:
    from goalctl.trajectory_checks import trajectory_names

    names = trajectory_names(steps("a"))
    for source in ("called.__closure__", "called.__globals__", "count.__code__"):
        with pytest.raises(ExpressionError, match="not allowed"):
            evaluate(source, names)
    with pytest.raises(ExpressionError, match="attribute access is not allowed on function"):
        evaluate("called.func", names)


# -- criteria and constraints ------------------------------------------------------------------


def test_a_custom_criterion_reads_every_trajectory_name(tmp_path: Path) -> None:
    scenario = single(
        tmp_path,
        "metric: custom, check: \"called('lookup') and count('refund') == 1 and steps == 3 "
        "and tool_calls == ['lookup', 'refund'] and trajectory[2]['refused'] == 'no-deletes'\"",
    )
    trajectory = steps("lookup", ("refund", {"amount": 5}), REFUSED)

    check = check_first(scenario, CaseOutput("ok", "ok", trajectory=trajectory))

    assert check.passed, check.reason


def test_a_refused_call_fails_its_constraint_naming_the_call(tmp_path: Path) -> None:
    scenario = build(tmp_path, RULES)
    refused = REFUSED | {"args": {"user": "u-1", "note": "x" * 300}}
    trajectory = steps(("lookup", {"user": "u-1"}), refused)

    checks = constraints_of(scenario, CaseOutput("ok", "ok", trajectory=trajectory))

    assert [(c.constraint, c.satisfied) for c in checks] == [
        ("no-deletes", False),
        ("refund-cap", True),
        ("polite", True),
    ]
    assert checks[0].evidence.startswith(
        'refused step 2: delete_account({"note": "xxxxxxxxxxxxxxxx'
    )
    assert checks[0].evidence.endswith("…)")
    assert len(checks[0].evidence) < 160


def test_the_verdict_names_the_refused_call_and_fails_the_goal(tmp_path: Path) -> None:
    from goalctl.verdict import aggregate_constraints

    scenario = build(tmp_path, RULES)
    trajectory = steps(REFUSED | {"args": {"user": "u-1"}})
    checks = constraints_of(scenario, CaseOutput("ok", "ok", trajectory=trajectory))

    [no_deletes, *others] = aggregate_constraints(scenario, [("only", checks)], [])

    assert no_deletes.violations == ['only: refused step 1: delete_account({"user": "u-1"})']
    assert no_deletes.hard
    assert all(not c.violations for c in others)


def test_a_module_function_check_takes_the_trajectory(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "rules.py").write_text(
        "import goalctl\n\n@goalctl.check\ndef few_calls(trajectory):\n"
        "    return len(trajectory) <= 2\n"
    )
    sys.modules.pop("rules", None)
    scenario = single(tmp_path, "metric: custom, check: 'rules:few_calls'")

    assert check_first(scenario, CaseOutput("ok", "ok", trajectory=steps("a", "b"))).passed
    assert not check_first(scenario, CaseOutput("ok", "ok", trajectory=steps("a", "b", "c"))).passed
    sys.modules.pop("rules", None)


# -- screening before a call -------------------------------------------------------------------


def test_only_hard_expressions_over_the_trajectory_are_screened(tmp_path: Path) -> None:
    scenario = build(tmp_path, RULES)

    assert [c.id for c in scenario.goal.constraints if reads_trajectory(c)] == [
        "no-deletes",
        "refund-cap",
    ]


def test_a_call_a_hard_rule_forbids_is_refused_before_it_runs(tmp_path: Path) -> None:
    proposed = {"step": 2, "tool": "delete_account", "args": {"user": "u-1"}, "result": None}

    refusal = screen(tmp_path, [*steps("lookup"), proposed | {"error": None}])

    assert refusal is not None
    assert (refusal.constraint, refusal.satisfied) == ("no-deletes", False)
    assert refusal.evidence == "not called('delete_account') → false"


def test_a_call_with_arguments_a_rule_forbids_is_refused(tmp_path: Path) -> None:
    ok = screen(tmp_path, steps(("refund", {"amount": 100})))
    too_much = screen(tmp_path, steps(("refund", {"amount": 40}), ("refund", {"amount": 101})))

    assert ok is None
    assert too_much is not None
    assert too_much.constraint == "refund-cap"


def test_a_rule_that_cannot_be_evaluated_refuses_the_call(tmp_path: Path) -> None:
    refusal = screen(tmp_path, steps(("refund", {"sum": 5})))

    assert refusal is not None
    assert refusal.constraint == "refund-cap"
    assert refusal.evidence == "check failed to evaluate"
    assert refusal.error is not None
    assert "key 'amount' not found" in refusal.error


def test_soft_rules_and_budgets_never_screen(tmp_path: Path) -> None:
    assert screen(tmp_path, steps("shout", "shout")) is None


# -- end to end (the python agent reports its steps) -------------------------------------------


AGENT = """\
import goalctl

@goalctl.agent
def answer(input):
    calls = [{"tool": name, "args": {"n": i}} for i, name in enumerate(input["calls"])]
    return goalctl.AgentResult("ok", calls)
"""


def test_a_run_checks_the_trajectory_an_agent_reports(
    tmp_path: Path, isolated_environment: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    (tmp_path / "steps_agent.py").write_text(AGENT)
    sys.modules.pop("steps_agent", None)
    path = tmp_path / "agent.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            id: mine
            name: Mine
            description: My own agent.
            provider: scripted
            agent: python
            config: {callable: "steps_agent:answer"}
            success_criteria:
              - {id: looks-up, description: Looks up first, metric: tool_sequence,
                 target: [lookup, refund], mode: in_order}
              - {id: one-refund, description: One refund, metric: tool_called, target: refund,
                 max: 1}
            constraints:
              - {id: no-deletes, description: Never delete, check: "not called('delete')"}
            cases:
              - {name: good, input: {calls: [lookup, refund]}}
              - {name: bad, input: {calls: [refund, lookup, delete]}}
            """
        )
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 1, result.stdout + result.stderr
    [run] = (isolated_environment / "runs").iterdir()
    report = json.loads((run / "report.json").read_text())
    good, bad = report["cases"]
    assert good["status"] == "passed"
    assert [c["passed"] for c in bad["checks"]] == [False, True]
    assert bad["checks"][0]["evidence"] == (
        "in_order: matched 'lookup', then no call of 'refund' after call 2 ('lookup'); "
        "calls: refund → lookup → delete"
    )
    assert bad["constraints"] == [
        {
            "constraint": "no-deletes",
            "satisfied": False,
            "evidence": "not called('delete') → false",
            "error": None,
        }
    ]
    sys.modules.pop("steps_agent", None)


# -- validate ----------------------------------------------------------------------------------


def test_validate_knows_the_trajectory_names(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        output_schema: {type: object, properties: {total: {type: number}}}
        success_criteria:
          - {id: c, description: d, metric: custom, check: "steps < 5 and called('x')"}
        constraints:
          - {id: k, description: d, check: "count('x') <= 1 and len(tool_cals) < 3"}
          - {id: m, description: d, check: "all(s['tool'] != 'rm' for s in trajectory)"}
        """,
    )

    assert found == [
        "9:36: constraints[0].check: unknown name 'tool_cals' in \"count('x') <= 1 and "
        "len(tool_cals) < 3\": a run would fail on every case (did you mean 'tool_calls'?)"
    ]


def test_validate_says_when_a_trajectory_name_hides_an_output_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        output_schema: {type: object, properties: {count: {type: integer}, steps: {}}}
        success_criteria:
          - {id: c, description: d, metric: custom, check: "count == 3"}
          - {id: e, description: d, metric: custom, check: "output['count'] == count('x')"}
          - {id: f, description: d, metric: custom, check: "len(steps) > 0"}
        """,
    )

    assert found == [
        "7:52: success_criteria[0].check: 'count' in 'count == 3' is the trajectory's 'count', "
        "not the output's key (read the output's key as output['count'])",
        "9:52: success_criteria[2].check: 'steps' in 'len(steps) > 0' is the trajectory's "
        "'steps', not the output's key (read the output's key as output['steps'])",
    ]


def test_validate_refuses_an_unknown_function(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        success_criteria:
          - {id: c, description: d, metric: custom, check: "not caled('x')"}
        """,
    )

    assert len(found) == 1
    assert found[0].startswith(
        "6:52: success_criteria[0].check: invalid expression \"not caled('x')\": unknown "
        "function 'caled' (did you mean 'called'? available: abs,"
    )


class _Reader:
    def __init__(self) -> None:
        self.problems: list[tuple[tuple[str | int, ...], str, str]] = []

    def at(self, path: tuple[str | int, ...], message: str, remedy: str = "") -> None:
        self.problems.append((path, message, remedy))


def test_tool_names_are_checked_against_the_llm_agents_declared_tools(tmp_path: Path) -> None:
    tools = "".join(
        f"  - {{name: {name}, description: d, input_schema: {{type: object}},"
        f" mock: [{{when: 'True', result: 1}}]}}\n"
        for name in ("lookup_order", "refund", "delete_account")
    )
    path = tmp_path / "tools.yaml"
    path.write_text(
        "id: t\nname: T\ndescription: d\nprovider: scripted\ntools:\n"
        + tools
        + textwrap.dedent(
            """\
            success_criteria:
              - {id: a, description: d, metric: tool_called, target: lookup_ordr}
              - {id: b, description: d, metric: tool_sequence, target: [lookup_order, refnd]}
              - {id: c, description: d, metric: tool_args, target: {tool: refund, args: {}}}
            constraints:
              - {id: k, description: d, check: "not called('delete_acount') and count('refund') < 2"}
            """
        )
    )

    result = run_cli("validate", str(path))

    declared = "the scenario declares lookup_order, refund, delete_account"
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:10:58: success_criteria[0].target: unknown tool 'lookup_ordr': {declared} "
        "(did you mean 'lookup_order'?)",
        f"{path}:11:75: success_criteria[1].target[1]: unknown tool 'refnd': {declared} "
        "(did you mean 'refund'?)",
        f"{path}:14:36: constraints[0].check: unknown tool 'delete_acount': {declared} "
        "(did you mean 'delete_account'?)",
    ]


def test_an_agent_with_tools_of_its_own_may_name_any_tool(tmp_path: Path) -> None:
    path = tmp_path / "own.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            id: t
            name: T
            description: d
            provider: scripted
            agent: command
            config: {command: [echo, hi]}
            success_criteria:
              - {id: a, description: d, metric: tool_called, target: its_own_tool}
            """
        )
    )

    result = run_cli("validate", str(path))

    assert result.exit_code == 0, result.stdout
