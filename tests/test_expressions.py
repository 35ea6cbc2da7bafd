"""Safe expressions: what scenario authors may write, and what is refused and how it is said."""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from goalctl import expressions
from goalctl.errors import ExpressionError
from goalctl.expressions import (
    MAX_COMPREHENSION_ITEMS,
    Expression,
    compile_expression,
    evaluate,
    free_names,
)

# --- What works ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "names", "expected"),
    [
        ("budget >= 10000", {"budget": 20_000}, True),
        ("cost_usd <= 0.05", {"cost_usd": 0.07}, False),
        ("error == None", {"error": None}, True),
        ("output != exception", {"output": "ok", "exception": "boom"}, True),
        ("0 < score <= 1", {"score": 0.5}, True),
        ("len(output) < 500", {"output": "short"}, True),
        ('"sorry" not in output.lower()', {"output": "I am SORRY"}, False),
        (
            'output["result"] == expected["result"]',
            {"output": {"result": 4}, "expected": {"result": 4}},
            True,
        ),
        ("score >= target", {"score": 0.8, "target": 0.9}, False),
        ("items[-1]", {"items": [1, 2, 3]}, 3),
        ("output[:2]", {"output": "hello"}, "he"),
        ("output.result", {"output": {"result": 7}}, 7),
        ("output.get('missing', 0)", {"output": {}}, 0),
        ("output.startswith('Hi') and output.endswith('!')", {"output": "Hi there!"}, True),
        ("xs.count(2)", {"xs": [2, 1, 2]}, 2),
        ("', '.join(words)", {"words": ["a", "b"]}, "a, b"),
        ("text.replace('a', 'bb')", {"text": "aa"}, "bbbb"),
        ("'x'.center(5, '*')", {}, "**x**"),
        ("sorted(d.items())", {"d": {"b": 2, "a": 1}}, [("a", 1), ("b", 2)]),
        ("'yes' if ok else 'no'", {"ok": False}, "no"),
        ("f'{n:>4}|{s!r}'", {"n": 7, "s": "a"}, "   7|'a'"),
        ("2**10", {}, 1024),
        ("[*xs, 4]", {"xs": [3]}, [3, 4]),
        ("{**a, 'k': 1}", {"a": {"j": 0}}, {"j": 0, "k": 1}),
        ("'a' * 1_000_000 == 'a' * 1_000_000", {}, True),
    ],
)
def test_evaluates_plain_expressions(source: str, names: dict[str, Any], expected: Any) -> None:
    assert evaluate(source, names) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[x * 2 for x in xs if x > 1]", [4, 6]),
        ("{x % 2 for x in xs}", {0, 1}),
        ("{str(x): x for x in xs}", {"1": 1, "2": 2, "3": 3}),
        ("all(x > 0 for x in xs)", True),
        ("[y for x in pairs for y in x]", [1, 2, 3, 4]),
        ("[a + b for a, b in pairs]", [3, 7]),
        ("[x for x in [x for x in xs] if x != 2]", [1, 3]),
        ("[[a * b for a in xs] for b in xs][2]", [3, 6, 9]),
    ],
)
def test_evaluates_comprehensions(source: str, expected: Any) -> None:
    assert evaluate(source, {"xs": [1, 2, 3], "pairs": [(1, 2), (3, 4)]}) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("len(xs)", 3),
        ("min(xs)", -2),
        ("max(xs, key=abs)", 5),
        ("abs(-2)", 2),
        ("round(2.675, 1)", 2.7),
        ("round(5, -10**7)", 0),
        ("sum(xs)", 4),
        ("sum(xs, 0.5)", 4.5),
        ("any(x > 4 for x in xs)", True),
        ("all(xs)", True),
        ("sorted(xs, reverse=True)", [5, 1, -2]),
        ("int('42') + float('0.5')", 42.5),
        ("str(12)", "12"),
        ("bool('')", False),
        ("list('ab') + list(tuple(xs))", ["a", "b", 1, -2, 5]),
        ("set(xs) == {1, -2, 5}", True),
        ("dict(a=1)", {"a": 1}),
        (r're_search("\d+ items", "found 12 items")', True),
        ('re_search("^z", "abc")', False),
        ("contains(xs, 5) and not contains('abc', 'z')", True),
    ],
)
def test_function_table(source: str, expected: Any) -> None:
    assert evaluate(source, {"xs": [1, -2, 5]}) == expected


def test_methods_work_on_subclasses_of_plain_data() -> None:
    """YAML loaders hand over str and dict subclasses (ruamel's scalar strings, CommentedMap)."""

    class ScalarString(str):
        pass

    class CommentedMap(dict[str, Any]):
        pass

    names = {"output": ScalarString("Done."), "expected": CommentedMap(result=3)}
    assert evaluate("output.lower() == 'done.' and expected.get('result') == 3", names) is True


def test_free_names_exclude_functions_and_comprehension_variables() -> None:
    assert free_names("budget >= 10000") == {"budget"}
    assert free_names("len(output) < 500 and sorted(xs)") == {"output", "xs"}
    assert free_names("[x for x in xs if x > limit]") == {"xs", "limit"}
    assert free_names("[y for x in xs for y in x]") == {"xs"}
    assert free_names("[x for x in x]") == {"x"}
    assert free_names("True and None is None") == frozenset()


def test_compiled_expressions_are_cached_and_reusable() -> None:
    compiled = compile_expression("cost_usd <= limit")
    assert compile_expression("cost_usd <= limit") is compiled
    assert isinstance(compiled, Expression)
    assert compiled.source == "cost_usd <= limit"
    assert compiled.names == {"cost_usd", "limit"}
    assert [compiled.evaluate({"cost_usd": c, "limit": 0.05}) for c in (0.01, 0.1)] == [True, False]


def test_leading_whitespace_and_regex_escapes_are_accepted() -> None:
    # "\d" is an invalid-escape warning in Python, and pytest here turns warnings into errors.
    assert evaluate("  re_search('\\d', output)\n", {"output": "a1"}) is True


def test_methods_cannot_mutate_the_callers_data() -> None:
    data = {"xs": [3, 1], "d": {"k": 1}}
    for source in ("xs.sort()", "xs.append(2)", "d.clear()", "d.update(k=2)", "xs.pop()"):
        with pytest.raises(ExpressionError, match="is not available on"):
            evaluate(source, data)
    assert data == {"xs": [3, 1], "d": {"k": 1}}


def test_concurrent_evaluations_do_not_share_state() -> None:
    compiled = compile_expression("[x * k for x in xs if x % 2 == 0]")
    xs = list(range(200))

    def run(k: int) -> bool:
        return all(
            compiled.evaluate({"xs": xs, "k": k}) == [x * k for x in xs[::2]] for _ in range(10)
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(run, range(32)))


# --- What is refused when compiling ----------------------------------------------------------

PRIVATE_ATTRIBUTE = "is not allowed: attributes starting with '_' are private"
PRIVATE_NAME = "is not allowed: names starting with '_' are private"
ASSIGNMENT = "assignment is not allowed; use '==' to compare"
FUNCTIONS = (
    "abs, all, any, bool, called, contains, count, dict, float, int, len, list, max, min, "
    "re_search, round, set, sorted, str, sum, tuple"
)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("budget >=", "syntax error: invalid syntax (column 10)"),
        ("  a +", "syntax error: invalid syntax (column 6)"),
        ("\n a +\n", "syntax error: invalid syntax (line 2, column 5)"),
        (
            "'unterminated",
            "syntax error: unterminated string literal (detected at line 1) (column 1)",
        ),
        ("", "the expression is empty"),
        ("   ", "the expression is empty"),
        ("# just a comment", "the expression is empty"),
        ("a; b", "it must be a single expression, not 2 statements"),
        ("a\nb", "it must be a single expression, not 2 statements"),
        ("import os", "it must be an expression, not a statement (Import)"),
        ("x = 1", f"{ASSIGNMENT} (column 1)"),
        ("x += 1", f"{ASSIGNMENT} (column 1)"),
        ("(x := 1) > 0", "assignment expressions (:=) are not allowed (column 2)"),
        ("sorted(xs, key=lambda x: -x)", "lambda is not allowed (column 16)"),
        ("().__class__", f"attribute '__class__' {PRIVATE_ATTRIBUTE} (column 4)"),
        ("output.__class__.__mro__", f"attribute '__class__' {PRIVATE_ATTRIBUTE} (column 8)"),
        ("'ü'.__class__", f"attribute '__class__' {PRIVATE_ATTRIBUTE} (column 5)"),
        ("_private + 1", f"name '_private' {PRIVATE_NAME} (column 1)"),
        ("[_ for _ in xs]", f"name '_' {PRIVATE_NAME} (column 2)"),
        ("__import__('os')", f"name '__import__' {PRIVATE_NAME} (column 1)"),
        ("open('/etc/passwd')", f"unknown function 'open' (available: {FUNCTIONS}) (column 1)"),
        ("xs[0]()", "only functions and methods can be called (column 1)"),
        ("len(*xs)", "'*' unpacking in calls is not supported (column 1)"),
        ("dict(**d)", "'**' unpacking in calls is not supported (column 1)"),
        ("(*xs,)", "'*' unpacking is only supported inside list literals (column 2)"),
        ("a @ b", "operator MatMult is not supported (column 1)"),
        ("[x for x.y in z]", "comprehension variables must be names or tuples of names (column 1)"),
        ("-" * 60 + "1", "it is nested too deeply (more than 50 levels)"),
        ("a" + ".b" * 999, "it is nested too deeply (more than 50 levels)"),
    ],
)
def test_refuses_bad_expressions_with_a_clear_message(source: str, problem: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    quoted = repr(source if len(source) <= 80 else source[:77] + "...")
    assert str(caught.value) == f"invalid expression {quoted}: {problem}"


def test_refuses_overlong_and_deeply_nested_sources_without_recursing() -> None:
    deep = "(" * 100_000 + "1" + ")" * 100_000
    with pytest.raises(
        ExpressionError, match=r"it is too long \(200,001 characters; the limit is 2,000\)"
    ):
        compile_expression(deep)
    with pytest.raises(
        ExpressionError, match=r"syntax error: too many nested parentheses \(column 201\)"
    ):
        compile_expression("(" * 500 + "1" + ")" * 500)


@pytest.mark.parametrize("error", [RecursionError, MemoryError])
def test_parser_exhaustion_becomes_an_expression_error(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    def exhausted(*args: object, **kwargs: object) -> ast.Module:
        raise error

    monkeypatch.setattr(expressions.ast, "parse", exhausted)
    with pytest.raises(
        ExpressionError, match=r"^invalid expression 'exhausting \+ 1': it is too complex to parse$"
    ):
        compile_expression("exhausting + 1")


def test_refuses_a_source_that_is_not_a_string() -> None:
    with pytest.raises(ExpressionError, match=r"^an expression must be a string, not int$"):
        compile_expression(5)  # type: ignore[arg-type]


# --- What is refused when evaluating ---------------------------------------------------------


class Opaque:
    secret = "hidden"


TOO_LARGE = "would be too large (more than 1,000,000"


@pytest.mark.parametrize(
    ("source", "names", "cause"),
    [
        (
            "budget >= 10000",
            {"output": "", "value": 1},
            "name 'budget' is not defined (known names: output, value)",
        ),
        ("missing", {}, "name 'missing' is not defined (no names are defined)"),
        ("n**9**9", {"n": 9}, "9 ** 387420489 is too large (more than 10,000 bits)"),
        ("a * 10**10", {"a": "a"}, f"the result of '*' {TOO_LARGE} characters)"),
        ("a * 1_000_001", {"a": "a"}, f"the result of '*' {TOO_LARGE} characters)"),
        ("xs * 10**9", {"xs": [1]}, f"the result of '*' {TOO_LARGE} items)"),
        ("10**9 * xs", {"xs": ["ab"]}, f"the result of '*' {TOO_LARGE} items)"),
        ("[[a * 1000] * 1000] * 1000", {"a": "a"}, f"the result of '*' {TOO_LARGE} items)"),
        ("[n**9999] * 1000", {"n": 2}, f"the result of '*' {TOO_LARGE} items)"),
        ("s + s", {"s": "a" * 600_000}, f"the result of '+' {TOO_LARGE} characters)"),
        (
            "''.join(p)",
            {"p": ["a" * 1000] * 2000},
            f"the result of str.join() {TOO_LARGE} characters)",
        ),
        (
            "s.replace('', s)",
            {"s": "a" * 2000},
            f"the result of str.replace() {TOO_LARGE} characters)",
        ),
        ("'a'.ljust(10**9)", {}, f"the result of str.ljust() {TOO_LARGE} characters)"),
        (
            "s.expandtabs(10**6)",
            {"s": "\t\t"},
            f"the result of str.expandtabs() {TOO_LARGE} characters)",
        ),
        ("str(x)", {"x": [["a"] * 1000] * 2000}, f"str() of this value {TOO_LARGE} items)"),
        ("f'{x}'", {"x": [["a"] * 1000] * 2000}, f"formatting this value {TOO_LARGE} items)"),
        (
            "f'{1:>999999999}'",
            {},
            "format spec '>999999999' asks for more than 1,000,000 characters",
        ),
        ("s % 1", {"s": "%s"}, "'%' formatting is not supported; use an f-string"),
        ("sum(xs, [])", {"xs": [[1]]}, "sum() adds numbers only; use str.join or a comprehension"),
        (
            "[('a' * 10**5) for x in xs]",
            {"xs": list(range(1000))},
            "it builds too much data (more than 20,000,000 characters or items)",
        ),
        (
            "[[a * b for a in big] for b in big]",
            {"big": list(range(10_000))},
            f"comprehensions went through more than {MAX_COMPREHENSION_ITEMS:,} items",
        ),
        (
            "obj.secret",
            {"obj": Opaque()},
            "attribute access is not allowed on Opaque values (.secret)",
        ),
        (
            "len.name",
            {},
            "attribute access is not allowed on builtin_function_or_method values (.name)",
        ),
        ("error.lower()", {"error": None}, "'.lower' is not available on None values"),
        ("output.format(1)", {"output": "{}"}, "'.format' is not available on str values"),
        ("(5).to_bytes(10**10)", {}, "'.to_bytes' is not available on int values"),
        ("output.nope", {"output": {}}, "dict has no key or method 'nope'"),
        ("m.system('true')", {"m": ast}, "modules are not allowed"),
        ("f", {"f": eval}, "function 'eval' is not allowed"),
        ("[a for a, b in xs]", {"xs": [(1, 2, 3)]}, "cannot unpack 3 values into 2 names"),
    ],
)
def test_refuses_unsafe_or_failing_evaluations(
    source: str, names: dict[str, Any], cause: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, names)
    assert str(caught.value) == f"cannot evaluate {source!r}: {cause}"


@pytest.mark.parametrize(
    "source",
    [
        "[s.upper() for x in xs]",
        "[s[1:] for x in xs]",
        "[s.split('b', 1) for x in xs]",
        "[sorted(big) for x in xs]",
        "[list(big) for x in xs]",
        "[[*big] for x in xs]",
        "[{**d} for x in xs]",
        "[set(big).union(big) for x in xs]",
        "[str(big) for x in xs]",
    ],
)
def test_copies_of_caller_data_in_a_loop_stop_at_the_total_budget(source: str) -> None:
    names = {
        "s": "ab" * 50_000,
        "big": list(range(100_000)),
        "d": dict.fromkeys(range(100_000)),
        "xs": list(range(1000)),
    }
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, names, timeout=60)  # so that only the budget can stop it
    assert str(caught.value) == (
        f"cannot evaluate {source!r}: it builds too much data "
        "(more than 20,000,000 characters or items)"
    )


def test_time_bound_stops_long_evaluations() -> None:
    # 50,000 sums of 50,000 numbers take seconds; the bound is 50 ms.
    xs = list(range(50_000))
    with pytest.raises(ExpressionError) as caught:
        evaluate("[sum(xs) for x in xs]", {"xs": xs}, timeout=0.05)
    assert (
        str(caught.value)
        == "cannot evaluate '[sum(xs) for x in xs]': evaluation took longer than 0.05s"
    )


class Exploding(Mapping[str, Any]):
    """Names whose lookup fails with any exception, to prove nothing but ExpressionError escapes."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __getitem__(self, key: str) -> Any:
        raise self.error

    def __iter__(self) -> Iterator[str]:
        return iter(["x"])

    def __len__(self) -> int:
        return 1


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("9**9**9", "9 ** 387420489 is too large (more than 10,000 bits) (column 1)"),
        ("x == 'a' * 10**10", f"the result of '*' {TOO_LARGE} characters) (column 6)"),
        ("[1] * 10**9", f"the result of '*' {TOO_LARGE} items) (column 1)"),
        ("'%s' % 1", "'%' formatting is not supported; use an f-string (column 1)"),
        ("x < 2.0 ** 10000", "number too large (Numerical result out of range) (column 5)"),
        ("1 << 100000 or x", "1 << 100000 is too large (more than 10,000 bits) (column 1)"),
    ],
)
def test_constant_subexpressions_beyond_the_bounds_are_refused_when_compiled(
    source: str, problem: str
) -> None:
    # They would fail every evaluation, so `goalctl validate` reports them.
    with pytest.raises(ExpressionError) as caught:
        expressions.compile_expression(source)
    assert str(caught.value) == f"invalid expression {source!r}: {problem}"


def test_constants_within_the_bounds_and_case_dependent_failures_compile() -> None:
    assert expressions.evaluate("2**100 + (-3) * 4", {}) == 2**100 - 12
    assert expressions.evaluate("x if x else 1 / 0", {"x": 5}) == 5


BIG = int("f" * 200_000, 16)
"""An 800,000-bit integer: one a YAML hex literal or ``int(text, 16)`` can hold."""


@pytest.mark.parametrize(
    ("source", "names", "cause"),
    [
        (
            "x // y",
            {"x": BIG, "y": BIG >> 400_000},
            "'//' of integers of 800,000 and 400,000 bits would take too long "
            "(quotient bits × divisor bits may be at most 1,000,000,000)",
        ),
        (
            "x % y",
            {"x": BIG, "y": BIG >> 400_000},
            "'%' of integers of 800,000 and 400,000 bits would take too long "
            "(quotient bits × divisor bits may be at most 1,000,000,000)",
        ),
        (
            "x % y",
            {"x": BIG, "y": 1 << 20_000},
            "'%' of integers of 800,000 and 20,001 bits would take too long "
            "(quotient bits × divisor bits may be at most 1,000,000,000)",
        ),
    ],
)
def test_bigint_division_is_bounded_up_front(
    source: str, names: dict[str, Any], cause: str
) -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, names)
    assert str(caught.value) == f"cannot evaluate {source!r}: {cause}"
    assert time.monotonic() - started < 0.5  # refused before dividing, not stopped after


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x % 7", BIG % 7),
        ("x % 10**40", BIG % 10**40),
        ("x // 3 == x // 3", True),
        ("(3**9000) // (2**9000) > 0", True),
    ],
)
def test_cheap_bigint_division_still_works(source: str, expected: Any) -> None:
    assert evaluate(source, {"x": BIG}) == expected


@pytest.mark.parametrize(
    ("source", "names", "cause"),
    [
        ("missing + 1", {"x": 1}, "name 'missing' is not defined (known names: x)"),
        ("1 / x", {"x": 0}, "division by zero"),
        ("x // 0", {"x": 1.5}, "division by zero"),
        ('"a" < 1', {}, "TypeError: '<' not supported between instances of 'str' and 'int'"),
        ("d['k']", {"d": {}}, "key 'k' not found"),
        ("xs[10]", {"xs": []}, "list index out of range"),
        ('int("abc")', {}, "ValueError: invalid literal for int() with base 10: 'abc'"),
        ("f ** 10000", {"f": 2.0}, "number too large (Numerical result out of range)"),
        ("n << 100000", {"n": 1}, "1 << 100000 is too large (more than 10,000 bits)"),
        (
            "str(x)",
            {"x": nested(100_000)},
            "data or expression nested too deeply (recursion limit reached)",
        ),
        ("x", Exploding(MemoryError()), "out of memory"),
        (
            "x",
            Exploding(RecursionError()),
            "data or expression nested too deeply (recursion limit reached)",
        ),
        ("x", Exploding(RuntimeError("odd mapping")), "RuntimeError: odd mapping"),
        (
            "re_search('(', x)",
            {"x": ""},
            "invalid regular expression: missing ) at position 1",
        ),
    ],
)
def test_every_failure_is_an_expression_error(
    source: str, names: Mapping[str, Any], cause: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, names)
    assert caught.type is ExpressionError
    assert str(caught.value) == f"cannot evaluate {source!r}: {cause}"


def test_simpleevals_own_errors_become_expression_errors() -> None:
    # compile_expression refuses unknown functions, so build an unchecked tree by hand.
    unchecked = Expression("nope(1)", frozenset(), ast.parse("nope(1)", mode="eval").body)
    with pytest.raises(ExpressionError) as caught:
        unchecked.evaluate({})
    assert caught.type is ExpressionError
    assert str(caught.value) == (
        "cannot evaluate 'nope(1)': Function 'nope' not defined, for expression 'nope(1)'."
    )


def test_an_unchecked_tree_still_cannot_reach_private_attributes() -> None:
    unchecked = Expression(
        "s.__class__", frozenset({"s"}), ast.parse("s.__class__", mode="eval").body
    )
    with pytest.raises(ExpressionError) as caught:
        unchecked.evaluate({"s": "text"})
    assert (
        str(caught.value)
        == "cannot evaluate 's.__class__': '.__class__' is not available on str values"
    )


def test_interrupts_are_not_swallowed() -> None:
    with pytest.raises(KeyboardInterrupt):
        evaluate("x", Exploding(KeyboardInterrupt()))


def test_a_failed_evaluation_leaves_no_budget_behind() -> None:
    with pytest.raises(ExpressionError):
        evaluate("[('a' * 10**5) for x in xs]", {"xs": list(range(1000))})
    assert expressions._BUDGET.get() is None
    assert evaluate("len('a' * 10**6)", {}) == 1_000_000


def test_evaluations_in_other_threads_keep_their_own_time_bound() -> None:
    results: list[object] = []

    def slow() -> None:
        try:
            evaluate("[sum(xs) for x in xs]", {"xs": list(range(50_000))}, timeout=0.05)
        except ExpressionError as exc:
            results.append(str(exc))

    thread = threading.Thread(target=slow)
    thread.start()
    fast = [evaluate("x + 1", {"x": n}) for n in range(1000)]
    thread.join()
    assert fast == list(range(1, 1001))
    assert results == ["cannot evaluate '[sum(xs) for x in xs]': evaluation took longer than 0.05s"]
