"""Patterns from scenario files are bounded in compile time and memory, not only in matching.

Each attack below once took minutes or gigabytes (a 9,000-character literal JSON Schema
``pattern``: 206 s in ``validate``; ``(?:(?:a{300}){300}){300}``: 7.4 GB wherever a pattern is
accepted). Each must now end, well within :data:`BOUND`, with a clear message at the pattern.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from goalctl import regexes
from goalctl.regexes import PatternError, compile_pattern
from tests.conftest import CliResult, run_cli

BOUND = 10.0
"""Seconds a command may take on a hostile pattern: the point is "ends", not speed."""

NESTED = "(?:(?:a{300}){300}){300}"
LONG_LITERAL = "a" * 9_000
LONG_RUN = "x" + "a" * 2_000

TOO_LONG = "regular expression is too long (9,000 characters; the limit is 5,000)"
REPEATS = "regular expression repeats too much: unrolled, it holds 27,000,000 units"
RUN = "regular expression has 2,001 literal characters in a row (the limit is 500"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (LONG_LITERAL, TOO_LONG),
        (LONG_RUN, RUN),
        (NESTED, REPEATS),
        ("(?x)(?:(?:a{3 0 0}){300}){300}", REPEATS),  # verbose: spaces inside the count
        ("(?i)(?:(?:a{300}){300}){300}", REPEATS),
        ("(?:(?:a{300}+){300}?){300}", REPEATS),
        ("(?:(?:(?:a{10}){10}){10}){101}", "it holds 101,000 units"),
    ],
)
def test_a_pattern_over_a_limit_is_refused_before_it_is_compiled(
    pattern: str, message: str
) -> None:
    started = time.monotonic()
    with pytest.raises(PatternError) as raised:
        compile_pattern(pattern)
    assert message in str(raised.value)
    assert time.monotonic() - started < BOUND


@pytest.mark.parametrize(
    ("pattern", "units"),
    [
        (r"\d{3}-\d{4}", 8),
        ("(?:a{300}){300}", 90_000),
        (".{0,100000}", 100_000),
        ("a" * 500, 500),
        (r"\p{L}+@example\.com", 13),
        ("(?V1)[[a-z]--[aeiou]]{3}", 18),  # a set counts its members
    ],
)
def test_a_pattern_within_the_limits_compiles(pattern: str, units: int) -> None:
    assert regexes.pattern_cost(pattern).units == units
    assert compile_pattern(pattern).pattern == pattern


def test_the_cache_of_compiled_patterns_keeps_a_bounded_number_of_units() -> None:
    for index in range(40):
        compile_pattern(f"(?:a{{300}}){{300}}{index}")
    assert regexes._cached_units <= regexes._CACHE_UNITS
    assert len(regexes._cache) < 40


# --- Every place a file gives a pattern ------------------------------------------------------


def goalctl(*args: str | Path) -> CliResult:
    started = time.monotonic()
    result = run_cli(*(str(arg) for arg in args))
    elapsed = time.monotonic() - started
    assert "Traceback" not in result.stdout + result.stderr
    assert elapsed < BOUND, f"goalctl {' '.join(map(str, args))} took {elapsed:.1f}s"
    return result


def scenario(**fields: str) -> str:
    lines = {
        "id": "patterns",
        "name": "Patterns",
        "description": "Hostile patterns",
        "provider": "scripted",
        "success_criteria": "[{id: ok, description: It answers, metric: output_contains, "
        "target: ok}]",
        "cases": f"[{{name: first, input: {{word: {'a' * 9_000}x}}}}]",
        "responses": "[ok]",
    }
    return "".join(f"{key}: {value}\n" for key, value in (lines | fields).items())


def quoted(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


def schema(keyword: str, pattern: str) -> str:
    if keyword == "pattern":
        return (
            f"{{type: object, properties: {{word: {{type: string, pattern: {quoted(pattern)}}}}}}}"
        )
    return f"{{type: object, patternProperties: {{{quoted(pattern)}: {{type: string}}}}}}"


ATTACKS = {
    "input_schema pattern, long literal": (
        {"input_schema": schema("pattern", LONG_LITERAL)},
        "input_schema.properties.word.pattern: ",
        TOO_LONG,
    ),
    "input_schema pattern, long literal run": (
        {"input_schema": schema("pattern", LONG_RUN)},
        "input_schema.properties.word.pattern: ",
        RUN,
    ),
    "output_schema pattern, nested repeats": (
        {"output_schema": schema("pattern", NESTED)},
        "output_schema.properties.word.pattern: ",
        REPEATS,
    ),
    "patternProperties, nested repeats": (
        {"input_schema": schema("patternProperties", NESTED)},
        "input_schema.patternProperties: ",
        REPEATS,
    ),
    "output_matches target, nested repeats": (
        {
            "success_criteria": "[{id: ok, description: It answers, metric: output_matches, "
            f"target: {quoted(NESTED)}}}]"
        },
        "success_criteria[0].target: ",
        REPEATS,
    ),
    "output_matches target, long literal run": (
        {
            "success_criteria": "[{id: ok, description: It answers, metric: output_matches, "
            f"target: {quoted(LONG_RUN)}}}]"
        },
        "success_criteria[0].target: ",
        RUN,
    ),
    "scripted match, nested repeats": (
        {"responses": f"[{{match: {quoted(NESTED)}, reply: ok}}]"},
        "responses[0].match: ",
        REPEATS,
    ),
    "redact, nested repeats": ({"redact": f"[{quoted(NESTED)}]"}, "redact[0]: ", REPEATS),
    "redact, long literal run": ({"redact": f"[{quoted(LONG_RUN)}]"}, "redact[0]: ", RUN),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_each_attack_is_refused_by_validate_at_its_pattern(attack: str, tmp_path: Path) -> None:
    fields, where, message = ATTACKS[attack]
    path = tmp_path / "patterns.yaml"
    path.write_text(scenario(**fields), encoding="utf-8")
    result = goalctl("validate", path)
    assert result.exit_code == 1
    [line] = [line for line in result.stdout.splitlines() if message in line]
    assert where in line


def test_a_backtracking_pattern_property_is_matched_in_bounded_time(tmp_path: Path) -> None:
    # jsonschema's own patternProperties and additionalProperties use ``re``, which would
    # backtrack for days on this key.
    path = tmp_path / "patterns.yaml"
    key = "a" * 40 + "!"
    path.write_text(
        scenario(
            input_schema="{type: object, patternProperties: {'^(a+)+$': {type: string}}, "
            "additionalProperties: false}",
            cases=f"[{{name: first, input: {{{key}: hi}}}}]",
        ),
        encoding="utf-8",
    )
    result = goalctl("validate", path)
    assert result.exit_code == 1
    assert f"{key!r} does not match any of the regexes: '^(a+)+$'" in result.stdout
