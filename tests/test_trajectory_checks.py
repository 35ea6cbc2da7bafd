"""Trajectory metrics: tool_called, tool_sequence (every mode, against its written definition)
and tool_args, as functions and as criteria of a scenario."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from goalctl.evaluation import CaseOutput
from goalctl.trajectory_checks import (
    SEQUENCE_MODES,
    is_subsequence,
    tool_args,
    tool_called,
    tool_sequence,
    trajectory_names,
)
from tests.test_evaluation import evaluate, single


def steps(*calls: str | tuple[str, Any] | dict[str, Any]) -> list[dict[str, Any]]:
    """Step dicts as a trajectory holds them: a tool name, (tool, args), or a partial dict."""
    built = []
    for number, call in enumerate(calls, start=1):
        if isinstance(call, str):
            call = {"tool": call}
        elif isinstance(call, tuple):
            call = {"tool": call[0], "args": call[1]}
        step = {"step": number, "args": {}, "result": "ok", "error": None, "source": "model"}
        built.append(step | call)
    return built


REFUSED = {"tool": "delete_account", "result": None, "error": "refused by no-deletes"}
REFUSED["refused"] = "no-deletes"

# -- the expression names ----------------------------------------------------------------------


def test_names_count_calls_that_ran_including_errored_ones_but_not_refused_ones() -> None:
    trajectory = steps("lookup", {"tool": "lookup", "error": "timeout", "result": None}, REFUSED)

    names = trajectory_names(trajectory)

    assert names["tool_calls"] == ["lookup", "lookup"]
    assert names["steps"] == 3  # the length of `trajectory`, the refused step included
    assert names["called"]("lookup")
    assert names["count"]("lookup") == 2
    assert not names["called"]("delete_account")
    assert names["count"]("delete_account") == 0
    assert names["trajectory"] == trajectory
    assert names["trajectory"][0] is not trajectory[0]


def test_called_and_count_take_only_names() -> None:
    names = trajectory_names(steps("lookup"))

    assert names["called"](1) is False
    assert names["count"](None) == 0


# -- tool_called -------------------------------------------------------------------------------


def test_tool_called_at_least_once_by_default() -> None:
    assert tool_called(steps("a", "b", "a"), "a", None, None) == (
        True,
        "'a' called 2 times (steps 1, 3); wanted at least 1",
        None,
    )


def test_tool_called_names_the_calls_made_when_it_fails() -> None:
    outcome = tool_called(steps("a", "b"), "c", None, None)

    assert outcome == (False, "'c' called 0 times; wanted at least 1; calls: a → b", None)


def test_tool_called_with_max_zero_means_never() -> None:
    assert tool_called(steps("a"), "b", 0, 0).passed
    failed = tool_called(steps("a", "b"), "b", 0, 0)
    assert not failed.passed
    assert failed.evidence == "'b' called 1 time (step 2); wanted never; calls: a → b"


def test_tool_called_bounds() -> None:
    trajectory = steps("a", "a", "a")

    assert tool_called(trajectory, "a", 2, 3).passed
    assert tool_called(trajectory, "a", 3, 3).evidence.endswith("wanted exactly 3")
    assert not tool_called(trajectory, "a", 1, 2).passed
    assert not tool_called(trajectory, "a", 4, None).passed


def test_tool_called_counts_an_errored_call_and_not_a_refused_one() -> None:
    trajectory = steps({"tool": "pay", "error": "card declined", "result": None}, REFUSED)

    assert tool_called(trajectory, "pay", 1, 1).passed
    refused = tool_called(trajectory, "delete_account", None, None)
    assert refused == (
        False,
        "'delete_account' called 0 times; 1 call refused before it ran, not counted; "
        "wanted at least 1; calls: pay",
        None,
    )


# -- tool_sequence: definitions ----------------------------------------------------------------

names = st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=7)


@given(made=names, wanted=names)
def test_strict_implies_every_other_mode(made: list[str], wanted: list[str]) -> None:
    if SEQUENCE_MODES["strict"](made, wanted):
        assert all(SEQUENCE_MODES[mode](made, wanted) for mode in SEQUENCE_MODES)


@given(made=names, wanted=names)
def test_any_order_implies_subset_and_superset_and_in_order_implies_subset(
    made: list[str], wanted: list[str]
) -> None:
    if SEQUENCE_MODES["any_order"](made, wanted):
        assert SEQUENCE_MODES["subset"](made, wanted)
        assert SEQUENCE_MODES["superset"](made, wanted)
    if SEQUENCE_MODES["in_order"](made, wanted):
        assert SEQUENCE_MODES["subset"](made, wanted)


@given(calls=names)
def test_a_list_matches_itself_in_every_mode(calls: list[str]) -> None:
    assert all(SEQUENCE_MODES[mode](calls, list(calls)) for mode in SEQUENCE_MODES)


@given(made=names, wanted=names, data=st.data())
def test_any_order_is_permutation_invariant(
    made: list[str], wanted: list[str], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(made))
    assert SEQUENCE_MODES["any_order"](made, wanted) == SEQUENCE_MODES["any_order"](
        shuffled, wanted
    )
    assert SEQUENCE_MODES["any_order"](made, wanted) == (Counter(made) == Counter(wanted))


@given(made=names, wanted=names)
def test_subset_and_superset_are_dual(made: list[str], wanted: list[str]) -> None:
    assert SEQUENCE_MODES["subset"](made, wanted) == SEQUENCE_MODES["superset"](wanted, made)


@given(made=names, wanted=names)
def test_in_order_is_a_subsequence_by_brute_force(made: list[str], wanted: list[str]) -> None:
    # Some choice of positions in `made`, increasing, spells `wanted`.
    spelled = any(
        [made[i] for i in chosen] == wanted
        for chosen in itertools.combinations(range(len(made)), len(wanted))
    )
    assert SEQUENCE_MODES["in_order"](made, wanted) == spelled == is_subsequence(wanted, made)


# -- tool_sequence: evidence and awkward cases ------------------------------------------------


def test_strict_names_the_first_difference() -> None:
    outcome = tool_sequence(steps("a", "c", "b"), ["a", "b"], "strict")

    assert outcome == (
        False,
        "strict: call 2 is 'c', expected 'b'; calls: a → c → b",
        None,
    )
    assert tool_sequence(steps("a"), ["a", "b"], "strict").evidence.startswith(
        "strict: expected 2 calls, got 1: 'b' missing"
    )
    assert tool_sequence(steps("a", "b", "c"), ["a", "b"], "strict").evidence.startswith(
        "strict: expected 2 calls, got 3: 'c' is extra"
    )


def test_in_order_allows_calls_between_and_needs_repeats_repeated() -> None:
    assert tool_sequence(steps("a", "x", "b", "y"), ["a", "b"], "in_order").passed
    assert tool_sequence(steps("a", "b", "a"), ["a", "a"], "in_order").passed
    failed = tool_sequence(steps("b", "a"), ["a", "b"], "in_order")
    assert failed.evidence == "in_order: matched 'a', then no call of 'b' after call 2 ('a'); " + (
        "calls: b → a"
    )
    repeated = tool_sequence(steps("a", "b"), ["a", "a"], "in_order")
    assert not repeated.passed


def test_any_order_counts_each_tool() -> None:
    assert tool_sequence(steps("b", "a", "a"), ["a", "b", "a"], "any_order").passed
    failed = tool_sequence(steps("a", "c", "c"), ["a", "b"], "any_order")
    assert failed.evidence == "any_order: missing 'b'; extra 'c' ×2; calls: a → c → c"


def test_subset_and_superset_evidence() -> None:
    subset = tool_sequence(steps("a", "x"), ["a", "b", "b"], "subset")
    assert subset.evidence == "subset: never called 'b'; calls: a → x"
    superset = tool_sequence(steps("a", "x", "y", "x"), ["a", "b"], "superset")
    assert superset.evidence == "superset: called tools not in the list: 'x', 'y'; calls: " + (
        "a → x → y → x"
    )
    assert tool_sequence(steps("a"), ["a", "b"], "superset").passed


def test_parallel_calls_are_adjacent_steps_in_the_order_they_were_made() -> None:
    # Two calls of one model reply are two steps in a row; strict sees that order.
    parallel = steps(("search", {"q": "x"}), ("search", {"q": "y"}), "summarize")

    assert tool_sequence(parallel, ["search", "search", "summarize"], "strict").passed
    assert tool_sequence(parallel, ["summarize", "search", "search"], "any_order").passed


def test_a_refused_call_is_not_in_the_sequence() -> None:
    trajectory = steps("lookup", REFUSED)

    assert tool_sequence(trajectory, ["lookup"], "strict").passed


def test_a_long_trajectory_is_shown_cut() -> None:
    outcome = tool_sequence(steps(*["a"] * 20), ["b"], "subset")

    assert outcome.evidence.endswith("a → a → … (8 more)")


# -- tool_args ---------------------------------------------------------------------------------


def test_tool_args_subset_passes_when_one_call_matches() -> None:
    trajectory = steps(
        ("refund", {"order_id": "A-2", "amount": 5}),
        ("refund", {"order_id": "A-1", "amount": 500, "reason": "late"}),
    )

    outcome = tool_args(trajectory, "refund", {"order_id": "A-1", "amount": 500}, exact=False)

    assert outcome.passed
    assert outcome.evidence == (
        'step 2: refund({"amount": 500, "order_id": "A-1", "reason": "late"}) matches (subset)'
    )


def test_tool_args_exact_refuses_extra_arguments() -> None:
    trajectory = steps(("refund", {"order_id": "A-1", "amount": 500, "reason": "late"}))

    outcome = tool_args(trajectory, "refund", {"order_id": "A-1", "amount": 500}, exact=True)

    assert not outcome.passed
    assert outcome.evidence.endswith(": args.reason is not expected")


def test_tool_args_shows_the_closest_call_and_what_differs() -> None:
    trajectory = steps(
        ("refund", {"order_id": "B-9", "amount": 1}),
        ("refund", {"order_id": "A-1", "amount": 600}),
    )

    outcome = tool_args(trajectory, "refund", {"order_id": "A-1", "amount": 500}, exact=False)

    assert outcome == (
        False,
        "no call of 'refund' matches (subset, 2 calls); closest step 2: "
        'refund({"amount": 600, "order_id": "A-1"}): args.amount is 600, expected 500',
        None,
    )


def test_tool_args_subset_is_recursive_for_objects_and_exact_for_lists() -> None:
    trajectory = steps(("ship", {"to": {"city": "Oslo", "zip": "0150"}, "items": [1, 2]}))

    assert tool_args(trajectory, "ship", {"to": {"city": "Oslo"}}, exact=False).passed
    missing = tool_args(trajectory, "ship", {"to": {"street": "Main"}}, exact=False)
    assert 'args.to.street is missing (expected "Main")' in missing.evidence
    assert not tool_args(trajectory, "ship", {"items": [1]}, exact=False).passed


def test_tool_args_ignores_named_arguments_at_any_depth_on_both_sides() -> None:
    trajectory = steps(
        ("create", {"id": "uuid-77", "item": {"id": "gen-1", "name": "pen"}, "qty": 2})
    )
    wanted = {"id": "whatever", "item": {"name": "pen"}, "qty": 2}

    assert tool_args(trajectory, "create", wanted, exact=True, ignore=["id"]).passed
    assert not tool_args(trajectory, "create", wanted, exact=True).passed


def test_tool_args_compares_as_json_values() -> None:
    trajectory = steps(("flag", {"on": 1, "payload": '{"a": 1}'}))

    assert not tool_args(trajectory, "flag", {"on": True}, exact=False).passed
    assert tool_args(trajectory, "flag", {"payload": {"a": 1}}, exact=False).passed


def test_tool_args_counts_errored_calls_but_not_refused_ones() -> None:
    errored = steps({"tool": "pay", "args": {"amount": 5}, "error": "declined", "result": None})
    refused = steps(REFUSED | {"args": {"user": "u1"}})

    assert tool_args(errored, "pay", {"amount": 5}, exact=False).passed
    never = tool_args(refused, "delete_account", {"user": "u1"}, exact=False)
    assert never == (False, "'delete_account' was never called; no tool was called", None)


# -- as criteria of a scenario ----------------------------------------------------------------


def run(tmp_path: Path, criterion: str, trajectory: list[dict[str, Any]], **kw: Any) -> Any:
    scenario = single(tmp_path, criterion, **kw)
    return evaluate(scenario, CaseOutput("done", "done", trajectory=trajectory))


def test_criteria_read_the_trajectory_even_when_the_output_is_unusable(tmp_path: Path) -> None:
    scenario = single(tmp_path, "metric: tool_called, target: lookup")

    check = evaluate(scenario, CaseOutput(None, "", error="not JSON", trajectory=steps("lookup")))

    assert check.passed
    assert check.evidence == "'lookup' called 1 time (step 1); wanted at least 1"


def test_tool_sequence_criterion_defaults_to_in_order(tmp_path: Path) -> None:
    check = run(tmp_path, "metric: tool_sequence, target: [a, b]", steps("a", "x", "b"))

    assert check.passed
    assert check.evidence.startswith("in_order: ")


def test_tool_sequence_criterion_mode(tmp_path: Path) -> None:
    check = run(tmp_path, "metric: tool_sequence, target: [a, b], mode: strict", steps("a", "x"))

    assert not check.passed
    assert check.evidence.startswith("strict: call 2 is 'x'")


def test_tool_args_target_values_are_templates_over_the_case(tmp_path: Path) -> None:
    criterion = (
        "metric: tool_args, target: {tool: refund, args: {order_id: '{{ expected.order }}', "
        "amount: '{{ expected.amount }}'}}, ignore: [request_id]"
    )
    trajectory = steps(("refund", {"order_id": "A-1", "amount": 500, "request_id": "r-9"}))

    check = run(tmp_path, criterion, trajectory, expected={"order": "A-1", "amount": 500})

    assert check.passed, check.evidence


def test_a_rendered_target_that_is_no_list_is_refused_with_the_reason(tmp_path: Path) -> None:
    check = run(
        tmp_path,
        "metric: tool_sequence, target: '{{ expected.calls }}'",
        steps("a"),
        expected={"calls": "a"},
    )

    assert (check.passed, check.evidence) == (False, "the rendered target is not usable")
    assert check.error == "target: metric tool_sequence needs a list of tool names as target"


def test_tool_called_criterion_with_min_and_max(tmp_path: Path) -> None:
    check = run(tmp_path, "metric: tool_called, target: a, min: 2, max: 2", steps("a", "a", "a"))

    assert not check.passed
    assert (
        check.evidence == "'a' called 3 times (steps 1, 2, 3); wanted exactly 2; calls: a → a → a"
    )
