"""Baselines: the file format, where a scenario's baseline is found, and the comparison's
verdicts on exact reference cases (the tests' p-values are checked against scipy in
test_statistics.py; here, which verdict each gives)."""

from __future__ import annotations

import json
from math import comb
from pathlib import Path
from typing import Any

import pytest

from goalctl.baselines import BaselineSettings, find_baseline, read_baseline
from goalctl.baselines.comparison import compare
from goalctl.baselines.document import Baseline, baseline_document, dump_baseline
from goalctl.baselines.results import CaseResults, Count, case_results
from goalctl.errors import UsageError
from goalctl.scenario.loader import load_scenario
from tests.conftest import SCENARIOS

SETTINGS = BaselineSettings()


def record(
    name: str, passed: dict[str, bool], cost: float = 0.001, elapsed: float = 0.5
) -> dict[str, Any]:
    """A case of report.json with one check per criterion."""
    return {
        "case": 0,
        "name": name,
        "status": "passed" if all(passed.values()) else "failed",
        "checks": [{"criterion": c, "passed": ok} for c, ok in passed.items()],
        "constraints": [],
        "metrics": {"cost_usd": cost, "elapsed_s": elapsed},
    }


def trials(name: str, criterion: str, outcomes: list[bool]) -> dict[str, Any]:
    """A case of report.json with a record per trial."""
    runs = [
        {"status": "passed" if ok else "failed", "checks": [{"criterion": criterion, "passed": ok}]}
        for ok in outcomes
    ]
    return {"case": 0, "name": name, "status": "passed", "trials": {"records": runs}, "metrics": {}}


def report(cases: list[dict[str, Any]], criteria: tuple[str, ...] = ("a",)) -> dict[str, Any]:
    return {
        "run_id": "goal-00000000",
        "scenario": "scenarios/goal.md",
        "goal": {"id": "goal", "version": "1.0.0"},
        "provider": "scripted",
        "model": "m",
        "verdict": "achieved",
        "score": 1.0,
        "totals": {"cost_basis": "priced"},
        "criteria": [{"id": c, "line": 7 + i} for i, c in enumerate(criteria)],
        "constraints": [],
        "cases": cases,
    }


def baseline_of(data: dict[str, Any], **changes: Any) -> Baseline:
    values: dict[str, Any] = {
        "path": Path("goal.baseline.json"),
        "goal_id": "goal",
        "goal_version": "1.0.0",
        "run_id": "goal-00000000",
        "provider": "scripted",
        "model": "m",
        "verdict": "achieved",
        "cost_basis": "priced",
        "cases": case_results(data),
    }
    return Baseline(**(values | changes))


def item(comparison: dict[str, Any], ident: str) -> dict[str, Any]:
    [found] = [i for i in comparison["items"] if i["id"] == ident]
    return found


def paired(
    before: list[bool], after: list[bool], settings: BaselineSettings = SETTINGS
) -> dict[str, Any]:
    old = report([record(f"c{i}", {"a": ok}) for i, ok in enumerate(before)])
    new = report([record(f"c{i}", {"a": ok}) for i, ok in enumerate(after)])
    return compare(new, baseline_of(old), settings, "saved")


class TestPairedCases:
    def test_five_of_ten_cases_failing_now_is_a_regression(self) -> None:
        comparison = paired([True] * 10, [True] * 5 + [False] * 5)
        a = item(comparison, "a")
        # McNemar, one-sided: 5 regressions, 0 improvements → (1/2)^5.
        assert (a["test"], a["p_value"], a["verdict"]) == ("mcnemar", 0.03125, "regressed")
        assert (a["before"], a["after"], a["worse_cases"], a["better_cases"]) == (
            "10/10",
            "5/10",
            5,
            0,
        )
        assert comparison["regressions"] == ["a"]

    def test_four_failing_is_worse_but_not_significant(self) -> None:
        a = item(paired([True] * 10, [True] * 6 + [False] * 4), "a")
        assert (a["p_value"], a["verdict"], a["underpowered"]) == (0.0625, "worse", False)

    def test_improvements_offset_regressions(self) -> None:
        # 5 went pass→fail but 3 fail→pass: P(X >= 5 | Binomial(8, 1/2)) = 93/256.
        before = [True] * 5 + [False] * 3 + [True] * 2
        after = [False] * 5 + [True] * 3 + [True] * 2
        a = item(paired(before, after), "a")
        assert a["p_value"] == round(93 / 256, 6)
        assert a["verdict"] == "worse"

    def test_six_fixed_cases_are_an_improvement(self) -> None:
        a = item(paired([False] * 6, [True] * 6), "a")
        assert (a["p_value"], a["verdict"]) == (0.015625, "improved")
        assert paired([False] * 6, [True] * 6)["regressions"] == []

    def test_one_case_can_never_be_significant_so_it_is_reported_not_gated(self) -> None:
        a = item(paired([True], [False]), "a")
        assert (a["p_value"], a["verdict"], a["underpowered"]) == (0.5, "worse", True)

    def test_four_cases_cannot_reach_five_percent_either(self) -> None:
        # All four regress: (1/2)^4 = 0.0625 >= 0.05, so no outcome could be significant.
        a = item(paired([True] * 4, [False] * 4), "a")
        assert (a["verdict"], a["underpowered"]) == ("worse", True)
        assert item(paired([True] * 5, [False] * 5), "a")["underpowered"] is False

    def test_a_looser_alpha_gates_sooner(self) -> None:
        settings = BaselineSettings(alpha=0.1)
        a = item(paired([True] * 10, [True] * 6 + [False] * 4, settings), "a")
        assert a["verdict"] == "regressed"

    def test_unchanged(self) -> None:
        a = item(paired([True, False, True], [True, False, True]), "a")
        assert (a["p_value"], a["verdict"]) == (1.0, "unchanged")


class TestTrials:
    def test_each_case_is_a_fisher_test_adjusted_for_the_number_of_cases(self) -> None:
        old = report([trials("x", "a", [True] * 5), trials("y", "a", [True] * 5)])
        new = report([trials("x", "a", [False] * 5), trials("y", "a", [True] * 5)])
        a = item(compare(new, baseline_of(old), SETTINGS, "saved"), "a")
        # Fisher one-sided on ((5, 0), (0, 5)) is 1 / C(10, 5); Bonferroni over 2 cases.
        assert a["test"] == "fisher"
        assert a["p_value"] == round(2 / comb(10, 5), 6)
        assert (a["before"], a["after"], a["verdict"]) == ("10/10", "5/10", "regressed")

    def test_a_few_trials_of_one_case_are_underpowered(self) -> None:
        old = report([trials("x", "a", [True, True])])
        new = report([trials("x", "a", [False, False])])
        a = item(compare(new, baseline_of(old), SETTINGS, "saved"), "a")
        assert a["p_value"] == round(1 / comb(4, 2), 6)
        assert (a["verdict"], a["underpowered"]) == ("worse", True)

    def test_errored_trials_are_not_counted(self) -> None:
        case = trials("x", "a", [True, False])
        case["trials"]["records"].append(
            {"status": "error", "checks": [{"criterion": "a", "passed": False}]}
        )
        assert case_results(report([case]))["x"].criteria == {"a": Count(1, 2)}


class TestCostAndLatency:
    def costs(self, before: float, after: float, **settings: Any) -> dict[str, Any]:
        old = report([record("x", {"a": True}, cost=before)])
        new = report([record("x", {"a": True}, cost=after)])
        return item(compare(new, baseline_of(old), BaselineSettings(**settings), "saved"), "cost")

    def test_within_the_tolerance(self) -> None:
        cost = self.costs(1.0, 1.08)
        assert (cost["change"], cost["verdict"]) == (0.08, "higher")

    def test_beyond_the_tolerance(self) -> None:
        assert self.costs(1.0, 1.11)["verdict"] == "regressed"
        assert self.costs(1.0, 1.11, cost_tolerance=0.2)["verdict"] == "higher"

    def test_cheaper(self) -> None:
        assert self.costs(1.0, 0.5)["verdict"] == "lower"

    def test_costs_on_another_basis_are_not_compared(self) -> None:
        old = report([record("x", {"a": True})])
        new = report([record("x", {"a": True}, cost=9.0)])
        cost = item(
            compare(new, baseline_of(old, cost_basis="simulated"), SETTINGS, "saved"), "cost"
        )
        assert (cost["verdict"], cost["note"]) == ("not compared", "cost basis simulated → priced")

    def test_latency_changes_under_50_ms_a_case_are_noise(self) -> None:
        old = report([record("x", {"a": True}, elapsed=0.001)])
        new = report([record("x", {"a": True}, elapsed=0.004)])
        assert (
            item(compare(new, baseline_of(old), SETTINGS, "saved"), "latency")["verdict"]
            == "unchanged"
        )
        slow = report([record("x", {"a": True}, elapsed=2.0)])
        latency = item(compare(slow, baseline_of(old), SETTINGS, "saved"), "latency")
        assert latency["verdict"] == "regressed"


def test_cases_added_or_removed_are_listed_not_compared() -> None:
    old = report([record("kept", {"a": True}), record("gone", {"a": True})])
    new = report([record("kept", {"a": True}), record("new", {"a": False})])
    comparison = compare(new, baseline_of(old), SETTINGS, "saved")
    assert comparison["cases"] == {
        "paired": 1,
        "added": ["new"],
        "removed": ["gone"],
        "flaky": [],
    }
    assert item(comparison, "a")["after"] == "1/1"


def test_flaky_cases_are_listed_not_compared() -> None:
    old = report([record("x", {"a": True}), record("y", {"a": True})])
    flaky = record("y", {"a": False}) | {"flaky": True}
    new = report([record("x", {"a": True}), flaky])
    comparison = compare(new, baseline_of(old), SETTINGS, "saved")
    assert comparison["cases"]["flaky"] == ["y"]
    assert (comparison["cases"]["paired"], item(comparison, "a")["after"]) == (1, "1/1")
    assert baseline_document(new)["cases"]["y"]["flaky"] is True
    assert "flaky" not in baseline_document(new)["cases"]["x"]


def test_criteria_dropped_since_the_baseline_are_listed() -> None:
    old = report([record("x", {"a": True, "b": True})], criteria=("a", "b"))
    new = report([record("x", {"a": True})])
    assert compare(new, baseline_of(old), SETTINGS, "saved")["criteria_removed"] == ["b"]


def test_a_criterion_new_since_the_baseline_is_not_compared() -> None:
    old = report([record("x", {"a": True})])
    new = report([record("x", {"a": True, "b": False})], criteria=("a", "b"))
    b = item(compare(new, baseline_of(old), SETTINGS, "saved"), "b")
    assert (b["cases"], b["verdict"]) == (0, "not compared")


class TestFile:
    def test_round_trip(self, tmp_path: Path) -> None:
        data = report([record("b", {"a": True}, cost=0.123456789), record("a", {"a": False})])
        document = baseline_document(data)
        path = tmp_path / "goal.baseline.json"
        path.write_text(dump_baseline(document))
        read = read_baseline(path)
        assert read.cases == {
            "a": CaseResults("failed", {"a": Count(0, 1)}, {}, 0.001, 0.5),
            "b": CaseResults("passed", {"a": Count(1, 1)}, {}, 0.12345679, 0.5),
        }
        assert list(document) == [
            "format",
            "goal",
            "scenario",
            "run_id",
            "provider",
            "model",
            "verdict",
            "score",
            "totals",
            "criteria",
            "constraints",
            "cases",
        ]
        assert list(document["cases"]) == ["a", "b"]  # sorted: one place per case in a diff
        assert document["criteria"] == {"a": "1/2"}

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda d: d.pop("cases"), "is damaged (missing key 'cases')"),
            (lambda d: d.update(format="other/1"), "is damaged (unknown format 'other/1')"),
            (lambda d: d["criteria"].update(x=1), None),
            (
                lambda d: d["cases"]["a"]["criteria"].update(a="2/1"),
                "is damaged (cases.a.criteria.a: '2/1': more passed than evaluated)",
            ),
            (
                lambda d: d.update(format="goalctl-baseline/2"),
                "was written by a newer goalctl (goalctl-baseline/2, this goalctl reads "
                "goalctl-baseline/1); upgrade goalctl",
            ),
        ],
    )
    def test_damage_is_named(self, tmp_path: Path, change: Any, message: str | None) -> None:
        document = baseline_document(report([record("a", {"a": True})]))
        change(document)
        path = tmp_path / "goal.baseline.json"
        path.write_text(json.dumps(document))
        if message is None:  # the totals over cases are informative: only cases are read
            assert read_baseline(path).goal_id == "goal"
            return
        with pytest.raises(UsageError) as caught:
            read_baseline(path)
        assert str(caught.value).startswith(f"baseline {path} ")
        assert message in str(caught.value)

    def test_not_json(self, tmp_path: Path) -> None:
        path = tmp_path / "goal.baseline.json"
        path.write_text("{\n  oops")
        with pytest.raises(UsageError, match=r"goal.baseline.json:2:3: not JSON"):
            read_baseline(path)


class TestDiscovery:
    def copy(self, tmp_path: Path, *names: str) -> None:
        for name in names:
            (tmp_path / name).write_text((SCENARIOS / name).read_text())

    def test_a_child_version_finds_its_parents_baseline(self, tmp_path: Path) -> None:
        self.copy(tmp_path, "faq-v1.md", "faq-v2.md", "faq-v1.baseline.json")
        found = find_baseline(load_scenario(tmp_path / "faq-v2.md"), None)
        assert found is not None
        assert (found.relation, found.baseline.goal_version) == ("parent", "1.0.0")
        own = find_baseline(load_scenario(tmp_path / "faq-v1.md"), None)
        assert own is not None
        assert own.relation == "saved"

    def test_its_own_baseline_comes_first(self, tmp_path: Path) -> None:
        self.copy(tmp_path, "faq-v2.md", "faq-v1.baseline.json")
        (tmp_path / "faq-v2.baseline.json").write_text(
            (SCENARIOS / "faq-v1.baseline.json").read_text()
        )
        found = find_baseline(load_scenario(tmp_path / "faq-v2.md"), None)
        assert found is not None
        assert found.relation == "saved"

    def test_no_baseline(self, tmp_path: Path) -> None:
        self.copy(tmp_path, "faq-v2.md")
        assert find_baseline(load_scenario(tmp_path / "faq-v2.md"), None) is None

    def test_a_named_file_of_another_goal_is_not_used(self, tmp_path: Path) -> None:
        self.copy(tmp_path, "calculator.md")
        scenario = load_scenario(tmp_path / "calculator.md")
        assert find_baseline(scenario, str(SCENARIOS / "faq-v1.baseline.json")) is None

    def test_a_baseline_beside_a_scenario_of_another_goal_is_refused(self, tmp_path: Path) -> None:
        self.copy(tmp_path, "calculator.md")
        (tmp_path / "calculator.baseline.json").write_text(
            (SCENARIOS / "faq-v1.baseline.json").read_text()
        )
        with pytest.raises(UsageError, match="is a baseline of goal 'faq', not of 'calculator'"):
            find_baseline(load_scenario(tmp_path / "calculator.md"), None)


def test_settings_travel_to_a_worker_in_the_state(tmp_path: Path) -> None:
    from goalctl.planning import RunOptions

    scenario = load_scenario(SCENARIOS / "faq-v2.md")
    named = BaselineSettings(
        file="b.json", alpha=0.01, cost_tolerance=0.5, latency_tolerance=0, fail_on_regression=True
    )
    state = RunOptions(baseline=named).to_state(scenario)
    assert state["baseline"]["file"] == str(Path("b.json").resolve())
    back = RunOptions.from_state(json.loads(json.dumps(state))).baseline
    assert back == BaselineSettings(str(Path("b.json").resolve()), 0.01, 0.5, 0.0, True, ())
    assert RunOptions.from_state(RunOptions().to_state(scenario)).baseline is None
