"""Hypothesis strategies for the property tests: documents, configs, expressions, verdicts.

Each strategy builds inputs *by construction* where a test needs them valid (scenarios with
known values and lines), and mixes valid and broken pieces where a test only needs them to be
handled without a traceback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from goalctl.config_schema import ConfigField, ConfigType
from goalctl.expressions.limits import _FUNCTIONS
from goalctl.goal import Metric

# -- JSON values -----------------------------------------------------------------------------

finite_floats = st.floats(allow_nan=False, allow_infinity=False)
small_ints = st.integers(min_value=-(10**12), max_value=10**12)
scalars = st.none() | st.booleans() | small_ints | finite_floats | st.text(max_size=12)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Plain JSON data: what YAML, JSON outputs and configs are made of (no NaN)."""
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=6), children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def decimal_weights(places: int = 3) -> st.SearchStrategy[Decimal]:
    """Weights in [0, 1] as a person writes them: at most ``places`` decimals."""
    scale = 10**places
    return st.integers(min_value=0, max_value=scale).map(lambda n: Decimal(n) / scale)


# -- YAML --------------------------------------------------------------------------------------


def yaml_str(text: str) -> str:
    """A YAML double-quoted scalar that loads back as exactly ``text``."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


# Free text for descriptions and names: anything a UTF-8 file can hold.
free_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
one_line_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")).filter(
        lambda c: not "\u202a" <= c <= "\u202e" and not "\u2066" <= c <= "\u2069"
    ),
    max_size=40,
)
"""Names and criterion/constraint descriptions: shown on one line, so no controls."""
slugs = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,20}", fullmatch=True)

# YAML token soup: reaches the scanner's, parser's and builder's error paths. Tags whose
# constructor takes arbitrary text (!!int, !!float, !!bool) are left out here: they raise a
# bare ValueError/KeyError, pinned by test_load_yaml_typed_tags_with_bad_values.
_YAML_TOKENS = [
    *("- ", "? ", ": ", ":", "{", "}", "[", "]", ", ", "\n", "\n  ", "\n    ", "  ", "\t"),
    *("'", '"', "# c", "---\n", "...\n", "|\n  ", ">-\n  ", "&a ", "*a", "&b ", "*b", "<<: "),
    *("!!str ", "!!null ", "!!map ", "!!seq ", "!!binary ", "!!set ", "!!omap ", "!custom "),
    *("!!timestamp ", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "~", "null", "true", "yes", "on"),
    *("x", "id", "name", "weight", "success_criteria", "1", "0x1F", "0o17", "1e3", "1.5e-3"),
    *(".inf", "-.inf", ".nan", "2001-12-14", "12:30:00", "\\", "\ufeff", "\x00", "\x85", "é"),
]
yaml_soup = st.lists(st.sampled_from(_YAML_TOKENS), max_size=40).map("".join)

# -- Scenario-shaped documents -----------------------------------------------------------------

tool_replies: st.SearchStrategy[Any] = st.sampled_from(
    [
        {"tool_use": {"name": "get_weather", "input": {"city": "x"}}},
        {"tool_use": {"name": "bad name"}},
        {"tool_use": {"nam": "x"}, "more": 1},
        [{"type": "text", "text": "a"}, {"type": "tool_use", "name": "f", "input": {}}],
        [{"type": "image"}],
        [],
        [5, None],
        {"match": "a", "reply": {"tool_use": {"name": "f", "input": 3}}},
        {"match": "a", "reply": [{"type": "text", "txt": "x"}]},
        {"ScriptedRule": 1},
    ]
)
"""Scripted tool-call replies (DESIGN §12), valid and not."""

_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "id": slugs | st.text(max_size=8) | scalars,
    "name": free_text | scalars,
    "description": free_text | scalars,
    "status": st.sampled_from(["draft", "ready", "active", "done", "Draft", 3]),
    "version": st.sampled_from(["1.0.0", "2.0.0-rc.1", "1.0", "v1", 1.0]),
    "parent_version": st.sampled_from(["1.0.0", "0.9.0", "x", None]),
    "agent": st.sampled_from(["llm", "data-collector", "nope", 1]),
    "provider": st.sampled_from(["scripted", "anthropic", "replay", "nope"]),
    "model": st.sampled_from(["claude-x", None, 5]),
    "required_capabilities": st.lists(st.sampled_from(["llm", "web_search", 1]), max_size=3),
    "responses": st.lists(
        st.text(max_size=8)
        | st.fixed_dictionaries({"match": st.sampled_from(["a", "(", "x+"])})
        | tool_replies,
        max_size=3,
    ),
    "system": st.sampled_from(["{{ goal.name }}", "{{ nope }}", "{% if %}", "{{ 1/0 }}", "x"]),
    "prompt": st.sampled_from(["{{ input }}", "{{ input.q }}", "{{", "{{ case.name }}"]),
    "judge": st.sampled_from(["{{ output }}", "{% for %}", "{{ criterion.id }}"]),
    "redact": st.lists(st.sampled_from(["\\d+", "(", "[a-z]+@x"]), max_size=2),
    "phase_instructions": st.dictionaries(st.sampled_from(["execute", "x"]), st.text(max_size=5)),
    "context": json_values(6),
    "input_schema": st.sampled_from(
        [{}, {"type": "object"}, {"type": "nope"}, {"type": "object", "required": ["q"]}, []]
    ),
    "output_schema": st.sampled_from([{}, {"type": "string"}, {"type": 5}]),
    "config": st.dictionaries(
        st.sampled_from(["max_attempts", "temperature", "max_tokens", "item_count", "nope"]),
        scalars,
        max_size=3,
    ),
}
_CRITERION_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "id": slugs | st.just("a") | scalars,
    "description": free_text | scalars,
    "metric": st.sampled_from([*(metric.value for metric in Metric), "nope"]),
    "target": st.sampled_from(["ok", "(", "{{ expected }}", "{{ nope.x }}", 0.5, 2, None]),
    "weight": decimal_weights().map(float) | st.sampled_from([-1, 2, "x", True, 1]),
    "threshold": decimal_weights().map(float) | st.sampled_from([1.5, None]),
    "check": st.sampled_from(["output == 1", "len(", "x.__class__", "m:f", "llm_judge"]),
    "met": st.booleans(),
    "bogus": st.just(1),
}
_CONSTRAINT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "id": slugs | st.just("c"),
    "description": free_text,
    "constraint_type": st.sampled_from(["hard", "soft", "medium"]),
    "category": st.sampled_from(["time", "cost", "safety", "general", "x"]),
    "check": st.sampled_from(["cost_usd <= 1", "elapsed_s < (", "llm_judge", "len(output) < 9"]),
}
_CASE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": st.text(max_size=5),
    "input": json_values(4),
    "expected": json_values(4),
    "responses": st.lists(st.text(max_size=4) | tool_replies, max_size=2),
}


def _partial_dicts(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


def _tweaks(
    fields: dict[str, st.SearchStrategy[Any]], max_count: int
) -> st.SearchStrategy[dict[str, Any]]:
    """A few fields set to values drawn from ``fields`` (often wrong ones)."""
    item = st.sampled_from(sorted(fields)).flatmap(
        lambda key: fields[key].map(lambda value: (key, value))
    )
    return st.lists(item, max_size=max_count).map(dict)


def _overlay(
    base: st.SearchStrategy[dict[str, Any]], tweaks: st.SearchStrategy[dict[str, Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(base, tweaks).map(lambda pair: {**pair[0], **pair[1]})


_LISTS: dict[str, st.SearchStrategy[Any]] = {
    "success_criteria": st.lists(_partial_dicts(_CRITERION_VALUES), max_size=3) | scalars,
    "constraints": st.lists(_partial_dicts(_CONSTRAINT_VALUES), max_size=2),
    "cases": st.lists(_partial_dicts(_CASE_VALUES), max_size=2),
    "unknown_key": scalars,
}
_criteria_nearly_valid = st.lists(
    _overlay(
        st.fixed_dictionaries(
            {
                "id": slugs,
                "description": free_text,
                "metric": st.just("output_contains"),
                "target": st.just("ok"),
            }
        ),
        _tweaks(_CRITERION_VALUES, 1),
    ),
    min_size=1,
    max_size=3,
)
_nearly_valid = _overlay(
    st.fixed_dictionaries(
        {
            "id": slugs,
            "name": free_text,
            "description": free_text,
            "provider": st.just("scripted"),
            "responses": st.just(["ok"]),
            "success_criteria": _criteria_nearly_valid,
        }
    ),
    _tweaks({**_FIELD_VALUES, **_LISTS}, 3),
)
scenario_dicts = _nearly_valid | st.fixed_dictionaries({}, optional={**_FIELD_VALUES, **_LISTS})
"""Scenario-like mappings: real field names, values sometimes right and sometimes wrong."""


_NOT_YAML_PRINTABLE = re.compile("[\x7f-\x84\x86-\x9f\ufffe\uffff]")


def dump_yaml(data: Any) -> str:
    """JSON is YAML: a flow-style document of ``data``, with the characters YAML refuses raw
    (DEL, C1 controls, U+FFFE/F) written as JSON escapes."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _NOT_YAML_PRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


# -- Markdown ----------------------------------------------------------------------------------

_HEADINGS = [
    *("# Title", "## Success criteria", "## Constraints", "## Context", "## System"),
    *("## Prompt", "## Judge", "## Goal", "## Description", "## Phase: execute", "## Notes"),
    *("### Deeper", "#", "## success CRITERIA ##", "  ## Indented"),
]
_MD_BLOCKS = st.one_of(
    st.sampled_from(_HEADINGS),
    st.sampled_from(["- item", "- `an-id`: item", "* key: value", "1. first", "- x (soft)"]),
    st.sampled_from(["```", "```jinja", "~~~", "````", "    indented code", "> quote"]),
    st.sampled_from(["", "   ", "---", "...", "<div>", "| a | b |", "\t- tab"]),
    st.text(max_size=30),
)
markdown_bodies = st.lists(_MD_BLOCKS, max_size=25).map("\n".join)
front_matters = st.one_of(
    scenario_dicts.map(dump_yaml),
    scenario_dicts.map(dump_yaml),
    yaml_soup,
    st.just("id: demo"),
    st.text(max_size=30),
)


@st.composite
def markdown_documents(draw: st.DrawFn) -> str:
    """Markdown scenarios with front matter (sometimes unclosed) and a random body."""
    front = draw(front_matters)
    closing = draw(st.sampled_from(["---\n", "...\n", "", "---"]))
    body = draw(markdown_bodies)
    return f"---\n{front}\n{closing}{body}"


# -- Valid scenarios with known values ---------------------------------------------------------


@dataclass(frozen=True)
class ValidScenario:
    """A valid YAML scenario and the values it was built from."""

    text: str
    goal_id: str
    name: str
    description: str
    criteria: list[tuple[str, str, Decimal, bool]]
    """(id, description, weight, met) per criterion; ``met`` is set on the loaded goal, as a
    run sets it (a file cannot)."""
    constraints: list[tuple[str, str, str]]
    """(id, description, constraint_type) per constraint."""


@st.composite
def valid_yaml_scenarios(draw: st.DrawFn) -> ValidScenario:
    goal_id = draw(slugs)
    name = draw(one_line_text)
    description = draw(free_text)
    count = draw(st.integers(min_value=1, max_value=6))
    ids = draw(st.lists(slugs, min_size=count, max_size=count, unique=True))
    weights = draw(st.lists(decimal_weights(), min_size=count, max_size=count))
    if all(weight == 0 for weight in weights):
        weights[0] = Decimal("0.5")  # a ready goal needs a total weight above 0
    criteria = [
        (criterion_id, draw(one_line_text), weight, draw(st.booleans()))
        for criterion_id, weight in zip(ids, weights, strict=True)
    ]
    constraint_ids = draw(st.lists(slugs, max_size=3, unique=True))
    constraints = [
        (cid, draw(one_line_text), draw(st.sampled_from(["hard", "soft"])))
        for cid in constraint_ids
    ]
    lines = [
        f"id: {yaml_str(goal_id)}",
        f"name: {yaml_str(name)}",
        f"description: {yaml_str(description)}",
        "provider: scripted",
        "responses: [ok]",
        "success_criteria:",
    ]
    for criterion_id, text, weight, _met in criteria:
        lines += [
            f"  - id: {yaml_str(criterion_id)}",
            f"    description: {yaml_str(text)}",
            "    metric: output_contains",
            "    target: ok",
            f"    weight: {float(weight)!r}",
        ]
    if constraints:
        lines.append("constraints:")
    for cid, text, kind in constraints:
        lines += [
            f"  - id: {yaml_str(cid)}",
            f"    description: {yaml_str(text)}",
            f"    constraint_type: {kind}",
        ]
    return ValidScenario("\n".join(lines) + "\n", goal_id, name, description, criteria, constraints)


_WORDS = ["alpha", "beta", "gamma", "delta", "answer", "polite", "short", "uses", "tools", "JSON"]
_PROSE = st.lists(
    st.sampled_from(_WORDS) | st.sampled_from([".", ",", "!", "(x)", "42"]), min_size=1, max_size=6
)


@dataclass(frozen=True)
class MarkdownCriteria:
    """A Markdown scenario whose criteria come from body bullets at known positions."""

    text: str
    positions: list[tuple[int, int]]
    """(line, col) of each success-criterion bullet, 1-based."""
    descriptions: list[str]


@st.composite
def markdown_with_bullets(draw: st.DrawFn) -> MarkdownCriteria:
    lines = ["---", "id: demo", "provider: scripted", "responses: [ok]"]
    lines += ["---"] + [""] * draw(st.integers(0, 2))
    lines += ["# Demo goal", "", "What the goal is about.", ""]
    if draw(st.booleans()):
        lines += ["## Notes", "", "- not a criterion", "", "```", "## Success criteria", "```", ""]
    lines += ["## Success criteria"] + [""] * draw(st.integers(0, 2))
    marker = draw(st.sampled_from(["-", "*", "+"]))
    indent = draw(st.sampled_from(["", " ", "  "]))
    count = draw(st.integers(min_value=1, max_value=8))
    positions: list[tuple[int, int]] = []
    descriptions: list[str] = []
    for index in range(count):
        if index and draw(st.booleans()):
            lines.append("")  # a loose list is still one list
        words = [draw(st.sampled_from(_WORDS)), *draw(_PROSE)]
        explicit = draw(st.booleans())
        head = f"`c-{index}`: " if explicit else ""
        positions.append((len(lines) + 1, len(indent) + 1))
        lines.append(f"{indent}{marker} {head}{' '.join(words)}")
        for _ in range(draw(st.integers(0, 2))):
            more = draw(_PROSE)
            lines.append(f"{indent}  {' '.join(more)}")
            words += more
        descriptions.append(" ".join(words))
    lines.append("")
    if draw(st.booleans()):
        lines += ["## Constraints", "", "- Stay calm (soft)", ""]
    return MarkdownCriteria("\n".join(lines), positions, descriptions)


# -- Config schemas ----------------------------------------------------------------------------

config_types = st.sampled_from(list(ConfigType))
_PATTERNS = [r"[a-z]+", r"\d{1,3}", "a|b", ".*", "x*", "(", "[", r"(?i)yes"]


def typed_values(ftype: ConfigType) -> st.SearchStrategy[Any]:
    """Values of the declared type (the rules may still reject them)."""
    return {
        ConfigType.STRING: st.text(max_size=8) | st.sampled_from(["a", "abc", "12", "yes"]),
        ConfigType.INTEGER: st.integers(-20, 20) | small_ints,
        ConfigType.NUMBER: st.integers(-20, 20) | finite_floats,
        ConfigType.BOOLEAN: st.booleans(),
        ConfigType.ARRAY: st.lists(scalars, max_size=4),
        ConfigType.OBJECT: st.dictionaries(st.text(max_size=4), scalars, max_size=3),
        ConfigType.COMMAND: st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=3)
        | st.sampled_from(["python agent.py", "node 'my agent.js'", "./run"]),
    }[ftype]


any_config_values = st.one_of(
    json_values(6),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), True, False, 1, 0, 10**30]),
    st.sampled_from([[True], [1], {"a": True}, {"a": 1}, [float("nan")]]),
)


@st.composite
def config_fields(draw: st.DrawFn) -> ConfigField:
    """Valid ConfigFields, built rule by rule so that each rule can hold."""
    ftype = draw(config_types)
    kwargs: dict[str, Any] = {"type": ftype}
    if ftype in (ConfigType.STRING, ConfigType.ARRAY):
        bounds = st.none() | st.integers(0, 8)
    elif ftype is ConfigType.INTEGER:
        bounds = st.none() | st.integers(-50, 50)
    elif ftype is ConfigType.NUMBER:
        bounds = st.none() | st.integers(-50, 50) | st.floats(-1e6, 1e6)
    else:
        bounds = st.none()
    low, high = draw(bounds), draw(bounds)
    if low is not None and high is not None and low > high:
        low, high = high, low
    kwargs |= {"min": low, "max": high}
    if ftype is ConfigType.STRING and draw(st.booleans()):
        kwargs["pattern"] = draw(st.sampled_from(_PATTERNS[:5]))
    rules = ConfigField(**kwargs)
    candidates = draw(st.lists(typed_values(ftype), max_size=5))
    allowed = [value for value in candidates if not rules.check(value)]
    if allowed and ftype is not ConfigType.COMMAND and draw(st.booleans()):
        kwargs["enum"] = allowed
        rules = ConfigField(**kwargs)
        allowed = [value for value in allowed if not rules.check(value)]
    if allowed and draw(st.booleans()):
        kwargs["default"] = draw(st.sampled_from(allowed))
    elif draw(st.booleans()):
        kwargs["required"] = True
    kwargs["description"] = draw(st.text(max_size=5))
    return ConfigField(**kwargs)


@st.composite
def config_field_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for ConfigField: mostly consistent, sometimes not."""
    ftype = draw(config_types)
    kwargs: dict[str, Any] = {"type": draw(st.sampled_from([ftype, ftype.value]))}
    bound = (
        st.integers(0, 12)
        | st.sampled_from([-1, 1.5, True, float("nan")])
        | st.integers(-50, 50)
        | finite_floats
    )
    if draw(st.booleans()):
        kwargs["min"] = draw(bound)
    if draw(st.booleans()):
        kwargs["max"] = draw(bound)
    if draw(st.integers(0, 3)) == 0:
        kwargs["pattern"] = draw(st.sampled_from(_PATTERNS))
    if draw(st.integers(0, 2)) == 0:
        kwargs["enum"] = draw(st.lists(typed_values(ftype) | any_config_values, max_size=4))
    if draw(st.booleans()):
        kwargs["default"] = draw(typed_values(ftype) | any_config_values)
    if draw(st.integers(0, 3)) == 0:
        kwargs["required"] = draw(st.booleans() | st.just(1))
    return kwargs


# -- Expressions -------------------------------------------------------------------------------

EXPRESSION_NAMES: dict[str, Any] = {
    "x": 7,
    "y": -2.5,
    "big": 2**100,
    "s": "hello world",
    "xs": [1, 2, 3],
    "words": ["a", "bb", "ccc"],
    "d": {"a": 1, "b": [1, 2], "c": {"k": "v"}},
    "flag": True,
    "nothing": None,
    "nested": [[1, 2], [3]],
    "ss": {1, 2},
    "pairs": [("a", 1), ("b", 2)],
}
"""What generated expressions may read; comprehension variables (i, j) are never among them."""
UNBOUND_NAMES = frozenset({"open", "exec", "getattr", "type", "range"})
"""Names generated expressions may read that no caller defines."""

_ATTRS = [
    *("upper", "lower", "split", "join", "replace", "center", "zfill", "ljust", "strip", "format"),
    *("count", "index", "copy", "get", "items", "keys", "values", "union", "real", "imag"),
    *("bit_length", "as_integer_ratio", "hex", "append", "pop", "clear", "update", "mro"),
    *("__class__", "__globals__", "__init__", "__subclasses__", "__dict__", "_private", "__len__"),
    *("gi_frame", "f_globals", "func_globals", "format_map", "encode", "a", "b", "k"),
]
_BINOPS = ["+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "@"]
_CMPOPS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "is", "is not"]
_ATOM_TEXT = [
    *("True", "False", "None", "0", "1", "2", "-1", "10", "1000", "999999", "10**6", "0.5"),
    *("1e308", "2**64", "''", "'a'", "'ab'*3", "[]", "{}", "()", "...", "b'x'", "1j"),
    *("__import__", "_x", "open", "exec", "getattr", "type", "range", "int", "str", "len"),
]


def _number_text(value: float) -> str:
    return f"({value!r})"


_atoms = st.one_of(
    st.sampled_from(sorted(EXPRESSION_NAMES)),
    st.sampled_from(_ATOM_TEXT),
    st.integers(-(10**6), 10**6).map(lambda n: f"({n})"),
    finite_floats.map(_number_text),
    st.text(max_size=6).map(repr),
)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(children, children)
    body = st.one_of(st.just("i"), children, children.map(lambda e: f"(i, {e})"))
    body = body | st.tuples(st.sampled_from(_BINOPS), children).map(lambda t: f"(i {t[0]} {t[1]})")
    return st.one_of(
        st.tuples(children, st.sampled_from(_BINOPS), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(children, st.sampled_from(_CMPOPS), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(st.sampled_from(["-", "+", "~", "not "]), children).map(
            lambda t: f"({t[0]}{t[1]})"
        ),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.lists(children, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        st.lists(children, max_size=3).map(lambda items: f"({', '.join(items)},)"),
        st.lists(children, min_size=1, max_size=3).map(lambda items: f"{{{', '.join(items)}}}"),
        st.lists(pair, max_size=2).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
        ),
        st.tuples(st.sampled_from(sorted(_FUNCTIONS)), st.lists(children, max_size=2)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(st.sampled_from(["sorted", "max", "min"]), children).map(
            lambda t: f"{t[0]}({t[1]}, key=len)"
        ),
        st.tuples(children, st.sampled_from(_ATTRS)).map(lambda t: f"({t[0]}).{t[1]}"),
        st.tuples(children, st.sampled_from(_ATTRS), st.lists(children, max_size=2)).map(
            lambda t: f"({t[0]}).{t[1]}({', '.join(t[2])})"
        ),
        pair.map(lambda t: f"({t[0]})[{t[1]}]"),
        st.tuples(children, st.none() | children, st.none() | children).map(
            lambda t: f"({t[0]})[{t[1] or ''}:{t[2] or ''}]"
        ),
        st.tuples(body, children).map(lambda t: f"[{t[0]} for i in {t[1]}]"),
        st.tuples(body, children, children).map(lambda t: f"[{t[0]} for i in {t[1]} if {t[2]}]"),
        st.tuples(children, children).map(lambda t: f"[(i, j) for i in {t[0]} for j in {t[1]}]"),
        st.tuples(body, children).map(lambda t: f"{{i: {t[0]} for i in {t[1]}}}"),
        st.tuples(body, children).map(lambda t: f"sum({t[0]} for i in {t[1]})"),
        st.tuples(children, st.sampled_from(["", ":>10", ":,", "!r", ":x", ":{x}"])).map(
            lambda t: f'f"{{{t[0]}{t[1]}}}"'
        ),
        st.tuples(st.sampled_from(["lambda: 1", "(a := 1)", "*xs", "yield 1"]), children).map(
            lambda t: f"[{t[0]}, {t[1]}]"
        ),
    )


expressions = st.recursive(_atoms, _extend, max_leaves=10)
"""Python-like expressions over ``EXPRESSION_NAMES``: mostly valid syntax, often unsafe."""


# -- Hostile bytes for every reader (tests/test_fuzz_readers.py) -------------------------------

_NESTERS: dict[str, tuple[str, str]] = {
    # name: (what opens one level, what closes it)
    "block sequence": ("- ", ""),
    "explicit key": ("? ", ""),
    "sequence of keys": ("- ? ", ""),
    "compact mapping": ("- a: ", ""),
    "flow sequence": ("[", "]"),
    "flow mapping": ("{a: ", "}"),
    "block then flow": ("- [", "]"),
    "json": ('{"a": [', "]}"),
    "xml": ("<testsuite>", "</testsuite>"),
}


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    """Text nested up to 60,000 levels by one of YAML's, JSON's or XML's ways to nest, or by
    indentation, optionally unclosed or cut short."""
    levels = draw(st.integers(min_value=1, max_value=60_000))
    kind = draw(st.sampled_from([*_NESTERS, "indentation", "indented sequences"]))
    if kind == "indentation":
        levels = min(levels, 1_400)  # n levels take n²/2 bytes: 1,400 fill the 1 MiB limit
        return "".join(" " * i + "a:\n" for i in range(levels)) + " " * levels + "x\n"
    if kind == "indented sequences":
        levels = min(levels, 1_400)
        return "".join(" " * i + "- - a:\n" for i in range(levels)) + " " * levels + "x\n"
    opener, closer = _NESTERS[kind]
    closed = draw(st.booleans())
    return opener * levels + "1" + (closer * levels if closed else "") + "\n"


@st.composite
def hostile_documents(draw: st.DrawFn) -> bytes:
    """Bytes for any reader: random bytes, YAML token soup, deep nesting, alone or wrapped as a
    value, and with odd encodings (BOM, invalid UTF-8, NUL) mixed in."""
    body = draw(
        st.one_of(
            st.binary(max_size=300).map(lambda raw: raw.decode("utf-8", "replace")),
            yaml_soup,
            deep_nesting(),
            json_values(8).map(json.dumps),
        )
    )
    wrapper = draw(st.sampled_from(["{}", "k:\n  {}", "max_tokens: {}", "a: [1, {}]"]))
    text = wrapper.replace("{}", body, 1) if draw(st.booleans()) else body
    raw = text.encode("utf-8", "surrogatepass")
    prefix = draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\xe9"]))
    return prefix + raw


@st.composite
def hostile_scenario_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A scenario file name and its hostile bytes: YAML, Markdown front matter, or a
    Markdown ``## Context`` fence."""
    document = draw(hostile_documents())
    shape = draw(st.sampled_from(["yaml", "front matter", "context fence"]))
    if shape == "yaml":
        return "fuzz.yaml", document
    if shape == "front matter":
        return "fuzz.md", b"---\nid: fuzz\n" + document + b"\n---\n# Fuzz\n\nFuzzed.\n"
    fence = b"---\nid: fuzz\n---\n# Fuzz\n\nFuzzed.\n\n## Context\n\n```yaml\n"
    return "fuzz.md", fence + document + b"\n```\n"
