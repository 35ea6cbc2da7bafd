"""The Jinja sandbox: strict names, no escapes, errors with their template line."""

from __future__ import annotations

import time

import pytest

from goalctl import templates
from goalctl.errors import TemplateError
from goalctl.scenario.render import render_target
from goalctl.templates import (
    SharedLimitError,
    TemplateLimitError,
    compile_template,
    limits,
    render_builtin,
    render_template,
)


def render(source: str, **context: object) -> str:
    return render_template(compile_template(source), context)


def test_renders() -> None:
    assert render("Hello {{ name }}!", name="Ana") == "Hello Ana!"


def test_tojson_is_sorted_and_readable() -> None:
    assert render("{{ data | tojson(None) }}", data={"b": 1, "a": "é"}) == '{"a": "é", "b": 1}'


def test_undefined_name_is_an_error_with_its_line() -> None:
    with pytest.raises(TemplateError) as caught:
        render("line one\n{{ missing }}\n")
    assert (str(caught.value), caught.value.lineno) == ("undefined name: 'missing' is undefined", 2)


def test_undefined_attribute_is_an_error() -> None:
    with pytest.raises(TemplateError, match="has no attribute 'nope'"):
        render("{{ data.nope }}", data={})


def test_syntax_error_has_its_line() -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template("ok\n{% if %}\n")
    assert caught.value.lineno == 2
    assert str(caught.value).startswith("template syntax error: Expected an expression")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ data.__class__.__init__.__globals__ }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ range.__self__ }}",
        "{{ data.update({'x': 1}) }}",
    ],
)
def test_sandbox_escapes_are_refused(source: str) -> None:
    with pytest.raises(TemplateError, match=r"unsafe template|undefined name"):
        render(source, data={})


@pytest.mark.parametrize("name", ["cycler", "joiner", "lipsum"])
def test_unused_globals_are_removed(name: str) -> None:
    with pytest.raises(TemplateError, match=f"'{name}' is undefined"):
        render(f"{{{{ {name} }}}}")


def test_builtin_judge_template() -> None:
    from goalctl.goal import Goal, SuccessCriterion

    criterion = SuccessCriterion(id="tone", description="Polite tone")
    goal = Goal(id="g", name="G", description="Be polite.", success_criteria=[criterion])
    text = render_builtin(
        "judge.md.j2",
        goal=goal,
        criterion=criterion,
        target=None,
        input={"q": 1},
        expected=None,
        output="Hi",
    )
    assert "Criterion: Polite tone" in text
    assert text.rstrip().endswith('"reason": "one sentence"}.')


# --- Limits: every render ends quickly, in bounded memory, with a message ----------------------

OPERATIONS = "template exceeded its limit of 1,000,000 operations (a loop that runs too long?)"
OUTPUT = "template output exceeded its limit of 1,000,000 characters"
MEMORY = "template exceeded its memory limit (it builds more than 20,000,000 characters or items)"
CALLS = (
    "template exceeded its limit of 64 nested calls (a macro or a recursive loop that never ends?)"
)


def size(what: str, unit: str = "characters") -> str:
    return f"template exceeded its size limit: {what} would be larger than 1,000,000 {unit}"


def bits(operator: str) -> str:
    return f"template exceeded its size limit: the result of {operator!r} would be larger than 10,000 bits"


BOMBS: dict[str, tuple[str, str]] = {
    "nested ranges": (
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        OPERATIONS,
    ),
    "nested loops without output": (
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        OPERATIONS,
    ),
    "nested loops over a literal": (
        "{% for a in 'aaaaaaaaaa' %}" * 9 + "{% endfor %}" * 9,
        OPERATIONS,
    ),
    "nested loops over data": ("{% for a in items %}" * 6 + "{% endfor %}" * 6, OPERATIONS),
    "loop.length in a loop": (
        "{% for a in range(100000) %}{% for b in range(100000) %}{% if loop.length %}{% endif %}{% endfor %}{% endfor %}",
        OPERATIONS,
    ),
    "string multiplication": ("{{ 'a' * 10**9 }}", size("the result of '*'")),
    "literal multiplication": ("{{ 1000000000 * 'a' }}", size("the result of '*'")),
    "list multiplication": ("{{ [1] * 10**9 }}", size("the result of '*'", "items")),
    "power": ("{{ 9 ** (9 ** 9) }}", bits("**")),
    "squaring in a loop": (
        "{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}"
        "{% endfor %}",
        bits("*"),
    ),
    "output": ("{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}", OUTPUT),
    "template text in a loop": (
        "{% for i in range(100000) %}" + "x" * 100 + "{% endfor %}",
        OUTPUT,
    ),
    "set block": (
        "{% set x %}{% for i in range(100000) %}{{ 'ab' * 300000 }}{% endfor %}{% endset %}",
        MEMORY,
    ),
    "macro recursion": ("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(1) }}", CALLS),
    "recursive loop": ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", CALLS),
    "doubling list": (
        "{% set ns = namespace(a=[1]) %}{% for i in range(60) %}{% set ns.a = [ns.a, ns.a] %}"
        "{% endfor %}{{ ns.a }}",
        size("a list or mapping", "characters or items"),
    ),
    "doubling namespace changed later": (
        "{% set n = namespace() %}{% set ns = namespace(l=[n, n]) %}{% for i in range(18) %}"
        "{% set ns.l = [ns.l, ns.l] %}{% endfor %}{% set n.v = 'x' * 1000000 %}{{ ns.l }}",
        size("a list or mapping", "characters or items"),
    ),
    "doubling concatenation": (
        "{% set ns = namespace(s='a') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}",
        size("the result of '~'"),
    ),
    "center filter": ("{{ 'a' | center(1000000000) }}", size("the padded text")),
    "center filter by keyword": ("{{ 'a' | center(width=1000000000) }}", size("the padded text")),
    "center method": ("{{ 'a'.center(1000000000) }}", size("the padded text")),
    "zfill in a loop": (
        "{% for i in [1] %}{{ 'a'.zfill(10**9) }}{% endfor %}",
        size("the padded text"),
    ),
    "to_bytes": ("{{ (1).to_bytes(10**9, 'big') }}", size("the padded text")),
    "expandtabs": ("{{ ('\\t' * 100000).expandtabs(100000) }}", size("expandtabs()")),
    "replace method": (
        "{{ ('a' * 100000).replace('a', 'b' * 100000) }}",
        size("the result of replace"),
    ),
    "replace filter": (
        "{{ ('a' * 100000) | replace('a', 'b' * 100000) }}",
        size("the result of replace"),
    ),
    "join filter": ("{{ range(100000) | join('x' * 100000) }}", size("the result of join")),
    "join method": (
        "{{ ('x' * 100000).join(range(100000) | map('string')) }}",
        size("the result of join()"),
    ),
    "translate": (
        "{{ ('a' * 100000).translate({97: 'x' * 100000}) }}",
        size("the result of translate()"),
    ),
    "indent": ("{{ ('\\n' * 100000) | indent(100000, true, true) }}", size("the result of indent")),
    "wordwrap": (
        "{{ ('a ' * 100000) | wordwrap(1, break_long_words=false, wrapstring='x' * 100000) }}",
        size("the result of wordwrap"),
    ),
    "percent width": ("{{ '%0999999999d' % 1 }}", size("the result of '%' formatting")),
    "percent star": ("{{ '%*d' % (999999999, 1) }}", size("the result of '%' formatting")),
    "format filter": ("{{ '%999999999s' | format('a') }}", size("the result of '%' formatting")),
    "str.format width": ("{{ '{:999999999}'.format(1) }}", size("the result of format()")),
    "str.format nested width": (
        "{{ '{:{}}'.format(1, 999999999) }}",
        size("the result of format()"),
    ),
    "format_map": ("{{ '{x:>999999999}'.format_map({'x': 1}) }}", size("the result of format()")),
    "batch": ("{{ [1] | batch(1000000000, 'x') | list }}", size("the batches or slices", "items")),
    "slice": ("{{ [1] | slice(1000000000) | list }}", size("the batches or slices", "items")),
    "map through a filter": ("{{ range(100000) | map('center', 100000) | join }}", MEMORY),
    "dict.fromkeys": (
        "{{ dict.fromkeys(range(100000), 'x' * 100000) }}",
        size("the result of a call", "characters or items"),
    ),
    "sum of lists": (
        "{{ [[1], [2]] | sum(start=[]) }}",
        "template limit: sum adds numbers only; use join for text",
    ),
    "round": ("{{ 10 | round(-1000000000) }}", "template limit: round precision beyond ±1000"),
    "round ceil": (
        "{{ 1.5 | round(1000000000, 'ceil') }}",
        "template limit: round precision beyond ±1000",
    ),
    "tojson indent": (
        "{{ items | tojson(1000000000) }}",
        "template limit: tojson indent wider than 64",
    ),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bombs_stop_with_a_message(name: str) -> None:
    source, message = BOMBS[name]
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        render(source, items=list(range(20)))
    assert str(caught.value) == message
    assert caught.value.lineno == 1
    assert time.monotonic() - started < 10  # never hangs; the limits stop each within a second


def test_the_time_limit_stops_a_slow_render(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_OPERATIONS", 10**12)
    template = compile_template(
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"^template exceeded its time limit \(0\.2s\)$"):
        render_template(template, {}, timeout=0.2)
    assert time.monotonic() - started < 2


def test_the_line_of_a_limit_is_reported() -> None:
    with pytest.raises(TemplateError) as caught:
        render("one\ntwo\n{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}\n")
    assert (str(caught.value), caught.value.lineno) == (OUTPUT, 3)


def test_nested_renders_share_one_budget() -> None:
    # goal.to_prompt_context() renders a built-in template inside the scenario's.
    from goalctl.goal import Goal, SuccessCriterion

    goal = Goal(
        id="g",
        name="G",
        description="d",
        success_criteria=[SuccessCriterion(id="a", description="x")],
    )
    source = "{% for i in range(100000) %}{% for j in range(100) %}{{ goal.to_prompt_context() }}{% endfor %}{% endfor %}"
    with pytest.raises(
        TemplateError, match=r"^template (exceeded its limit of 1,000,000 operations|output)"
    ):
        render(source, goal=goal)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ((((((((((" * 1000 + "1" + "))))))))))" * 1000 + " }}",
        "{{ x" + ".a" * 300 + " }}",
        "{{ 1" + " | abs" * 300 + " }}",
        "{% if 1 %}" * 5000 + "{% endif %}" * 5000,
    ],
    ids=["parentheses", "attributes", "filters", "ifs"],
)
def test_deep_nesting_fails_to_compile_with_a_message(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"^template is too deeply nested to compile$"):
        compile_template(source)
    assert time.monotonic() - started < 10


def test_many_nested_expressions_compile_in_linear_time() -> None:
    # Jinja's optimizer re-walked the whole subtree at every level: 11 s for these 9 KB.
    started = time.monotonic()
    compile_template(("{{ x" + ".a" * 150 + " }}\n") * 30)
    assert time.monotonic() - started < 3


def test_an_integer_literal_too_long_to_read() -> None:
    with pytest.raises(
        TemplateError, match=r"^template cannot be compiled: Exceeds the limit \(4300 digits\)"
    ):
        compile_template("{{ " + "9" * 5000 + " }}")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{{ goal.parse_file('/etc/hostname') }}",
            "access to attribute 'parse_file' of 'Goal' object is unsafe.",
        ),
        (
            "{{ goal.model_rebuild(force=True) }}",
            "access to attribute 'model_rebuild' of 'Goal' object is unsafe.",
        ),
        (
            "{{ goal.model_fields }}",
            "access to attribute 'model_fields' of 'Goal' object is unsafe.",
        ),
        (
            "{{ goal.success_criteria[0].model_dump() }}",
            "access to attribute 'model_dump' of 'SuccessCriterion' object is unsafe.",
        ),
        ("{{ goal.__class__ }}", "access to attribute '__class__' of 'Goal' object is unsafe."),
        (
            "{{ '{0.__class__}'.format(data) }}",
            "access to attribute '__class__' of 'dict' object is unsafe.",
        ),
        (
            "{{ '{0[__class__]}'.format(data) }}",
            "access to attribute '__class__' of 'dict' object is unsafe.",
        ),
        (
            "{{ '{0.__init__.__globals__}'.format(goal) }}",
            "access to attribute '__init__' of 'Goal' object is unsafe.",
        ),
        (
            "{{ self._TemplateReference__context }}",
            "access to attribute '_TemplateReference__context' of 'TemplateReference' object is unsafe.",
        ),
        (
            "{% set ns = namespace() %}{{ ns._Namespace__attrs }}",
            "access to attribute '_Namespace__attrs' of 'Namespace' object is unsafe.",
        ),
        ("{{ namespace.mro() }}", "access to attribute 'mro' of 'type' object is unsafe."),
        ("{{ range.__init__ }}", "access to attribute '__init__' of 'function' object is unsafe."),
        (
            "{{ data | attr('__class__') }}",
            "access to attribute '__class__' of 'dict' object is unsafe.",
        ),
    ],
)
def test_models_and_internals_are_out_of_reach(source: str, message: str) -> None:
    from goalctl.goal import Goal, SuccessCriterion

    goal = Goal(
        id="g",
        name="G",
        description="d",
        success_criteria=[SuccessCriterion(id="a", description="x")],
    )
    with pytest.raises(TemplateError) as caught:
        render(source, goal=goal, data={})
    assert str(caught.value) == f"unsafe template: {message}"


def test_model_fields_and_goalctl_methods_stay_available() -> None:
    from goalctl.goal import Constraint, Goal, SuccessCriterion

    goal = Goal(
        id="g",
        name="G",
        description="d",
        success_criteria=[SuccessCriterion(id="a", description="x")],
        constraints=[Constraint(id="c", description="y")],
    )
    source = "{{ goal.name }} {{ goal.success_criteria[0].description }} {{ goal.constraints[0].is_hard }} {{ goal.is_success() }}"
    assert render(source, goal=goal) == "G x True False"


def test_a_namespace_attribute_named_like_its_storage_reaches_nothing() -> None:
    source = "{% set ns = namespace() %}{% set ns._Namespace__attrs = 1 %}{{ ns }}"
    assert render(source) == "<Namespace {'_Namespace__attrs': 1}>"


@pytest.mark.parametrize("tag", ["{% include 'x' %}", "{% import 'x' as y %}", "{% extends 'x' %}"])
def test_other_templates_cannot_be_loaded(tag: str) -> None:
    with pytest.raises(TemplateError, match="no loader for this environment specified"):
        render(tag)


def test_loops_data_and_filters_still_work() -> None:
    source = (
        "{% for k, v in data | dictsort %}{{ loop.index }}/{{ loop.length }} {{ k }}={{ v }};{% endfor %}"
        "{{ [1, 2] + [3] }} {{ 'ab' * 2 }} {{ '%05.1f' % 2.5 }} {{ '{:>4}'.format('x') }} "
        "{{ items | join(',') }} {{ 'a b' | replace(' ', '-') }} {{ 2 ** 10 }} {{ data | tojson }}"
    )
    assert render(source, data={"b": 2, "a": 1}, items=[1, 2]) == (
        '1/2 a=1;2/2 b=2;[1, 2, 3] abab 002.5    x 1,2 a-b 1024 {\n  "a": 1,\n  "b": 2\n}'
    )


def test_render_limits_share_one_budget_among_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a caller uses to give all the cases of one file a single budget.
    monkeypatch.setattr(limits, "MAX_OPERATIONS", 250)
    template = compile_template("{% for i in range(100) %}{% endfor %}")
    render_template(template, {})
    render_template(template, {})
    with templates.render_limits():
        render_template(template, {})
        render_template(template, {})
        with pytest.raises(TemplateError, match="limit of 250 operations"):
            render_template(template, {})


TARGETS = {
    "a limit": (
        "{{ 'a' * 10**9 }}",
        TemplateLimitError,
        "template exceeded its size limit: the result of '*' would be larger than "
        "1,000,000 characters",
    ),
    "a nested render": (
        "{{ nested() }}",
        TemplateError,
        "undefined name: 'missing' is undefined",
    ),
    "any other failure": (
        "{{ 1 / 0 }}",
        TemplateError,
        "target failed: ZeroDivisionError: division by zero",
    ),
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_failing_target_says_why(name: str) -> None:
    # Errors of goalctl's templates keep their own message (and class); others are wrapped.
    source, kind, message = TARGETS[name]
    with pytest.raises(TemplateError) as caught:
        render_target(source, {"nested": lambda: render("{{ missing }}")})
    assert (type(caught.value), str(caught.value)) == (kind, message)


def test_renders_sharing_a_budget_keep_their_own_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_OPERATIONS", 250)
    small = compile_template("{% for i in range(200) %}{% endfor %}")
    big = compile_template("{% for i in range(300) %}{% endfor %}")
    with templates.render_limits(4, label="the cases"), templates.render_limits(100):
        with pytest.raises(TemplateLimitError) as alone:
            render_template(big, {})
        for _ in range(3):
            render_template(small, {})
        with pytest.raises(SharedLimitError) as together:
            render_template(small, {})
    assert type(alone.value) is TemplateLimitError
    assert (
        str(alone.value)
        == "template exceeded its limit of 250 operations (a loop that runs too long?)"
    )
    # The inner render_limits(100) shared the outer budget: nesting cannot multiply it.
    assert str(together.value) == "the cases together exceeded their limit of 1,000 operations"
    assert together.value.lineno == 1
