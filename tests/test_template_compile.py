"""Compiling a template counts against its budget, like rendering it.

Jinja compiles a template in three steps (parse, generate Python, compile the Python); none
takes a timeout, and 10,000 macros took 4.7 s, 30,000 took 38 s. Parsing and generating now
look at the render budget's clock, and the generated Python has a size limit, so a huge
template stops with a clear message, well within :data:`BOUND`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from goalctl.templates import TemplateLimitError, compile_template, render_template
from tests.conftest import run_cli

BOUND = 10.0
"""Seconds a hostile template may take to be refused: "ends", not speed."""


def macros(count: int) -> str:
    return "".join(f"{{% macro m{i}(x) %}}{{{{ x }}}}{{% endmacro %}}" for i in range(count))


HUGE = {
    "10,000 macros": macros(10_000),
    "30,000 macros": macros(30_000),
    "100,000 expressions": "{{ x }}" * 100_000,
    "30,000 conditions": "{% if x %}a{% endif %}" * 30_000,
}


@pytest.mark.parametrize("name", sorted(HUGE))
def test_a_huge_template_is_refused_while_compiling(name: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateLimitError) as raised:
        compile_template(HUGE[name])
    assert time.monotonic() - started < BOUND
    message = str(raised.value)
    assert message.startswith("template "), message
    assert "compil" in message


def test_an_ordinary_template_with_macros_compiles_and_renders() -> None:
    template = compile_template(macros(200) + "{{ m199(x) }}")
    assert render_template(template, {"x": "hi"}) == "hi"


def test_validate_refuses_a_huge_prompt_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    path.write_text(
        "---\nid: huge\nprovider: scripted\nsuccess_criteria: [{id: ok, description: It "
        "answers, metric: output_contains, target: ok}]\ncases: [{input: {x: 1}}]\n"
        "responses: [ok]\n---\n# Huge\n\nA huge prompt.\n\n## Prompt\n\n```jinja\n"
        + macros(10_000)
        + "\n```\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    result = run_cli("validate", str(path))
    assert time.monotonic() - started < BOUND
    assert result.exit_code == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert ": prompt: template " in result.stdout
    assert "compil" in result.stdout
