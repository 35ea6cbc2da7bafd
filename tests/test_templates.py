"""The Jinja sandbox: strict names, no escapes, errors with their template line."""

from __future__ import annotations

import pytest

from goalctl.errors import TemplateError
from goalctl.templates import compile_template, render_builtin, render_template


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
