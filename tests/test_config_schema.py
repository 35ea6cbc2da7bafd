"""config_schema: manifests, resolving config, and parsing ``--config`` by declared type."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest

from goalctl.agents.manifest import AgentManifest
from goalctl.config_schema import (
    ConfigField,
    ConfigIssue,
    ConfigType,
    parse_cli_value,
    parse_config_overrides,
    resolve_config,
    schema_as_json_schema,
)
from goalctl.errors import ConfigError

BOOLEAN_ERROR = "expected a boolean (true/false, yes/no, on/off, 1/0)"
AGENTS_DIR = Path(__file__).resolve().parents[1] / "goalctl" / "agents"

SEED_MANIFEST = """\
name: data-collector
version: "0.1.0"
description: "Collects item_count items from a deterministic source"
capabilities: [data_collection, llm]
config_schema:
  item_count: {type: integer, default: 10, min: 1, max: 1000, description: "Items to collect"}
  enable_llm: {type: boolean, default: false, description: "Use the LLM"}
  speed: {type: string, enum: [fast, slow]}
  label: {type: string, pattern: "[a-z]+", required: true}
"""


def field(type: str, **rules: Any) -> ConfigField:
    """The one inline builder: a ConfigField from keyword rules, as a manifest would give them."""
    return ConfigField.model_validate({"type": type, **rules})


def load_builtin(filename: str) -> AgentManifest:
    path = AGENTS_DIR / filename
    return AgentManifest.from_yaml(path.read_text(encoding="utf-8"), source=str(path))


@pytest.fixture
def schema() -> dict[str, ConfigField]:
    return AgentManifest.from_yaml(SEED_MANIFEST).config_schema


# --- manifests ---------------------------------------------------------------------------------


def test_seed_style_manifest_parses(schema: dict[str, ConfigField]) -> None:
    manifest = AgentManifest.from_yaml(SEED_MANIFEST)
    assert manifest.name == "data-collector"
    assert manifest.version == "0.1.0"
    assert manifest.capabilities == ["data_collection", "llm"]
    assert list(schema) == ["item_count", "enable_llm", "speed", "label"]
    assert schema["item_count"] == ConfigField(
        type=ConfigType.INTEGER, default=10, min=1, max=1000, description="Items to collect"
    )
    assert schema["label"].required is True
    assert schema["speed"].enum == ["fast", "slow"]


def test_minimal_manifest_gets_empty_defaults() -> None:
    manifest = AgentManifest.from_yaml('name: bare\nversion: "1"\n')
    assert (manifest.description, manifest.capabilities, manifest.config_schema) == ("", [], {})


def test_manifest_is_frozen() -> None:
    manifest = AgentManifest.from_yaml('name: bare\nversion: "1"\n')
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        manifest.name = "other"


def test_falsy_defaults_still_count_as_defaults() -> None:
    assert field("boolean", default=False).has_default
    assert field("integer", default=0).has_default
    assert field("string", default="").has_default
    assert field("array", default=[]).has_default
    assert not field("string").has_default
    assert not field("string", default=None).has_default


def _manifest_with(config_field: str) -> str:
    return f'name: agent\nversion: "1"\nconfig_schema:\n  {config_field}\n'


@pytest.mark.parametrize(
    ("config_field", "message"),
    [
        pytest.param(
            "item_count: {type: integer, minimum: 1}",
            "m.yaml: config_schema.item_count: unknown key 'minimum' (did you mean 'min'?)",
            id="unknown-field-key",
        ),
        pytest.param(
            "item_count: {type: integer, colour: red}",
            "m.yaml: config_schema.item_count: unknown key 'colour' (known keys: type, min, max, "
            "pattern, enum, default, required, description)",
            id="unknown-field-key-no-close-match",
        ),
        pytest.param(
            "item_count: {type: integer, default: 5000, min: 1, max: 1000}",
            "m.yaml: config_schema.item_count.default: must be at most 1000, got 5000",
            id="default-above-max",
        ),
        pytest.param(
            "item_count: {type: integer, default: ten}",
            "m.yaml: config_schema.item_count.default: expected an integer, got 'ten' (string)",
            id="default-wrong-type",
        ),
        pytest.param(
            "speed: {type: string, enum: [fast, slow], default: medium}",
            "m.yaml: config_schema.speed.default: must be one of 'fast', 'slow', got 'medium'",
            id="default-not-in-enum",
        ),
        pytest.param(
            "name: {type: string, pattern: '[a-z]+', min: 5, default: AB}",
            "m.yaml: config_schema.name.default: must have at least 5 characters, got 2; "
            "does not match pattern '[a-z]+': 'AB'",
            id="default-breaks-two-rules",
        ),
        pytest.param(
            "item_count: {type: integer, min: 10, max: 1}",
            "m.yaml: config_schema.item_count.max: must not be less than min (10), got 1",
            id="min-above-max",
        ),
        pytest.param(
            "label: {type: string, pattern: '[a-'}",
            "m.yaml: config_schema.label.pattern: '[a-' is not a valid regular expression: "
            "unterminated character set at position 0",
            id="bad-pattern",
        ),
        pytest.param(
            "label: {type: integer, pattern: '[0-9]+'}",
            "m.yaml: config_schema.label.pattern: applies only to string fields, not integer",
            id="pattern-on-integer",
        ),
        pytest.param(
            "flag: {type: bool}",
            "m.yaml: config_schema.flag.type: unknown type 'bool'; expected one of string, "
            "integer, number, boolean, array, object, command",
            id="bad-type-name",
        ),
        pytest.param(
            "run: {type: command, enum: [make]}",
            "m.yaml: config_schema.run.enum: does not apply to command fields "
            "(a command is any program)",
            id="enum-on-command",
        ),
        pytest.param(
            "flag: {default: true}",
            "m.yaml: config_schema.flag: missing required key 'type'",
            id="missing-type",
        ),
        pytest.param(
            "flag: {type: boolean, max: 1}",
            "m.yaml: config_schema.flag.max: applies only to integer, number, string and array "
            "fields, not boolean",
            id="bounds-on-boolean",
        ),
        pytest.param(
            "item_count: {type: integer, min: true}",
            "m.yaml: config_schema.item_count.min: must be a number, got true (boolean)",
            id="boolean-bound",
        ),
        pytest.param(
            "ratio: {type: number, max: .inf}",
            "m.yaml: config_schema.ratio.max: must be a finite number, got inf",
            id="infinite-bound",
        ),
        pytest.param(
            "tags: {type: array, min: 1.5}",
            "m.yaml: config_schema.tags.min: bounds the length of array values, so it must be a "
            "non-negative integer, got 1.5",
            id="fractional-length-bound",
        ),
        pytest.param(
            "speed: {type: string, enum: []}",
            "m.yaml: config_schema.speed.enum: must list at least one value",
            id="empty-enum",
        ),
        pytest.param(
            "speed: {type: string, enum: [fast, 1]}",
            "m.yaml: config_schema.speed.enum: value 1 can never be valid: expected a string, "
            "got 1 (integer)",
            id="enum-value-of-wrong-type",
        ),
        pytest.param(
            "label: {type: string, required: yes}",
            "m.yaml: config_schema.label.required: expected a boolean, got 'yes' (string)",
            id="required-not-boolean",
        ),
        pytest.param(
            "label: {type: string, required: true, default: x}",
            "m.yaml: config_schema.label.required: a key with a default cannot be required: "
            "the default always applies",
            id="required-with-default",
        ),
        pytest.param(
            "item count: {type: integer}",
            "m.yaml: config_schema.item count: 'item count' is not a valid config key: use "
            "letters, digits and underscores, not starting with a digit",
            id="bad-key-name",
        ),
        pytest.param(
            "item_count: 5",
            "m.yaml: config_schema.item_count: expected a mapping with at least a 'type' key, "
            "got 5 (integer)",
            id="field-not-a-mapping",
        ),
    ],
)
def test_bad_config_field_is_reported_on_its_key(config_field: str, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        AgentManifest.from_yaml(_manifest_with(config_field), source="m.yaml")
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "m.yaml: the manifest is empty", id="empty"),
        pytest.param("- a\n- b\n", "m.yaml: a manifest must be a mapping, got array", id="list"),
        pytest.param(
            "name: [a\n", "m.yaml:2:1: invalid YAML: did not find expected ',' or ']'", id="syntax"
        ),
        pytest.param(
            "name: a\nname: b\n",
            'm.yaml:2:1: invalid YAML: found duplicate key "name" with value "b" '
            '(original value: "a")',
            id="duplicate-key",
        ),
        pytest.param(
            "name: Bad Name\nversion: 0.1\nkind: runtime\n",
            "m.yaml: name: 'Bad Name' is not a valid agent name: use letters, digits, '-', '_' "
            "and '.'\n"
            "m.yaml: version: expected a string, got 0.1 (number)\n"
            "m.yaml: unknown key 'kind' (known keys: name, version, description, capabilities, "
            "config_schema)",
            id="every-problem-at-once",
        ),
        pytest.param('version: "1"\n', "m.yaml: missing required key 'name'", id="missing-name"),
        pytest.param(
            'name: a\nversion: "1"\ncapabilities: llm\n',
            "m.yaml: capabilities: expected a list, got 'llm' (string)",
            id="capabilities-not-a-list",
        ),
    ],
)
def test_bad_manifest_raises_config_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        AgentManifest.from_yaml(text, source="m.yaml")
    assert str(excinfo.value) == message


def test_manifest_loading_is_safe() -> None:
    text = 'name: a\nversion: "1"\ndescription: !!python/object/apply:os.system ["true"]\n'
    with pytest.raises(ConfigError, match=r"^m\.yaml:3:14: invalid YAML: "):
        AgentManifest.from_yaml(text, source="m.yaml")


def test_config_field_validates_when_built_in_python() -> None:
    with pytest.raises(pydantic.ValidationError, match="expected an integer, got true"):
        ConfigField(type=ConfigType.INTEGER, default=True)


# --- built-in manifests ------------------------------------------------------------------------


def test_llm_manifest_resolves_empty_config_to_defaults() -> None:
    manifest = load_builtin("llm.yaml")
    assert (manifest.name, manifest.version, manifest.capabilities) == (
        "llm",
        "0.1.0",
        ["llm", "tools", "turns"],
    )
    assert "max_attempts" in manifest.description
    values, issues = resolve_config(manifest.config_schema, {})
    assert issues == []
    assert values == {
        "max_attempts": 1,
        "max_steps": 10,
        "max_tokens": 1024,
        "feedback": True,
        "judge_model": "",
        "judge_provider": "",
        "stop": [],
    }
    assert list(values) == list(manifest.config_schema)


def test_llm_manifest_bounds() -> None:
    schema = load_builtin("llm.yaml").config_schema
    _, issues = resolve_config(schema, {"max_attempts": 11, "max_tokens": 0})
    assert [str(issue) for issue in issues] == [
        "max_attempts: must be at most 10, got 11",
        "max_tokens: must be at least 1, got 0",
    ]


def test_data_collector_manifest_resolves_empty_config_to_defaults() -> None:
    manifest = load_builtin("data_collector.yaml")
    assert manifest.name == "data-collector"
    assert manifest.version == "0.1.0"
    assert manifest.capabilities == ["data_collection", "llm"]
    values, issues = resolve_config(manifest.config_schema, {})
    assert issues == []
    assert values == {
        "goal": "Collect 10 data items",
        "item_count": 10,
        "enable_llm": False,
        "failure_rate": 0.0,
        "seed": 0,
        "item_delay_ms": 0,
    }
    assert list(values) == list(manifest.config_schema)


def test_every_builtin_field_is_documented() -> None:
    for filename in ("llm.yaml", "data_collector.yaml"):
        for key, config_field in load_builtin(filename).config_schema.items():
            assert config_field.description, f"{filename}: {key} has no description"


# --- resolve_config ----------------------------------------------------------------------------


def test_defaults_applied_and_given_values_kept_in_schema_order(
    schema: dict[str, ConfigField],
) -> None:
    values, issues = resolve_config(schema, {"label": "abc", "item_count": 5})
    assert issues == []
    assert list(values.items()) == [("item_count", 5), ("enable_llm", False), ("label", "abc")]


def test_key_without_default_and_not_given_is_omitted() -> None:
    values, issues = resolve_config({"speed": field("string", enum=["fast"])}, {})
    assert (values, issues) == ({}, [])


def test_resolved_default_is_a_copy() -> None:
    stop = field("array", default=["###"])
    values, _ = resolve_config({"stop": stop}, {})
    values["stop"].append("mutated")
    assert stop.default == ["###"]


def test_result_has_named_fields() -> None:
    result = resolve_config({"n": field("integer", default=1)}, {"x": 1})
    assert result.values == {"n": 1}
    assert result.issues == [ConfigIssue("x", "unknown key 'x'", "known keys: n")]


@pytest.mark.parametrize(
    ("type_", "value", "message"),
    [
        ("integer", "ten", "expected an integer, got 'ten' (string)"),
        ("integer", 3.0, "expected an integer, got 3.0 (number)"),
        ("integer", True, "expected an integer, got true (boolean)"),
        ("integer", None, "expected an integer, got null"),
        ("number", False, "expected a number, got false (boolean)"),
        ("number", "1.5", "expected a number, got '1.5' (string)"),
        ("number", math.nan, "expected a finite number, got nan"),
        ("number", math.inf, "expected a finite number, got inf"),
        ("number", -math.inf, "expected a finite number, got -inf"),
        ("string", 7, "expected a string, got 7 (integer)"),
        ("boolean", "true", "expected a boolean, got 'true' (string)"),
        ("boolean", 1, "expected a boolean, got 1 (integer)"),
        ("array", {"a": 1}, 'expected an array, got {"a": 1} (object)'),
        ("array", "a,b", "expected an array, got 'a,b' (string)"),
        ("object", [1], "expected an object, got [1] (array)"),
    ],
)
def test_types_are_checked_strictly(type_: str, value: Any, message: str) -> None:
    values, issues = resolve_config({"k": field(type_)}, {"k": value})
    assert values == {}
    assert issues == [ConfigIssue("k", message)]


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("integer", -3),
        ("number", 2),
        ("number", 2.5),
        ("string", ""),
        ("boolean", False),
        ("array", ["a", 1]),
        ("object", {"a": [1]}),
    ],
)
def test_values_of_the_right_type_are_kept_as_given(type_: str, value: Any) -> None:
    values, issues = resolve_config({"k": field(type_)}, {"k": value})
    assert issues == []
    assert values["k"] == value
    assert type(values["k"]) is type(value)


@pytest.mark.parametrize(
    ("rules", "value", "message"),
    [
        ({"type": "integer", "min": 1, "max": 1000}, 5000, "must be at most 1000, got 5000"),
        ({"type": "integer", "min": 1, "max": 1000}, 0, "must be at least 1, got 0"),
        ({"type": "number", "min": 0, "max": 0.5}, 0.75, "must be at most 0.5, got 0.75"),
        ({"type": "number", "min": -1.5}, -2, "must be at least -1.5, got -2"),
        ({"type": "string", "min": 3}, "ab", "must have at least 3 characters, got 2"),
        ({"type": "string", "max": 1}, "ab", "must have at most 1 character, got 2"),
        ({"type": "array", "min": 1}, [], "must have at least 1 item, got 0"),
        ({"type": "array", "max": 2}, [1, 2, 3], "must have at most 2 items, got 3"),
        (
            {"type": "string", "enum": ["fast", "slow"]},
            "medium",
            "must be one of 'fast', 'slow', got 'medium'",
        ),
        ({"type": "integer", "enum": [1, 2]}, 3, "must be one of 1, 2, got 3"),
        (
            {"type": "string", "pattern": "^[a-z]+$"},
            "ABC",
            "does not match pattern '^[a-z]+$': 'ABC'",
        ),
        (
            {"type": "string", "pattern": "[a-z]+"},
            "abc1",
            "does not match pattern '[a-z]+': 'abc1'",
        ),
    ],
)
def test_rules_reject_with_exact_messages(rules: dict[str, Any], value: Any, message: str) -> None:
    values, issues = resolve_config({"k": field(**rules)}, {"k": value})
    assert values == {}
    assert issues == [ConfigIssue("k", message)]


@pytest.mark.parametrize(
    ("rules", "value"),
    [
        ({"type": "integer", "min": 1, "max": 1000}, 1),
        ({"type": "integer", "min": 1, "max": 1000}, 1000),
        ({"type": "number", "min": 0, "max": 1}, 1.0),
        ({"type": "string", "min": 2, "max": 2}, "ab"),
        ({"type": "array", "min": 1, "max": 1}, ["x"]),
        ({"type": "string", "enum": ["fast", "slow"]}, "slow"),
        ({"type": "number", "enum": [0.5, 1]}, 1),
        ({"type": "string", "pattern": "[a-z]+"}, "abc"),
    ],
)
def test_rules_accept_values_on_their_boundaries(rules: dict[str, Any], value: Any) -> None:
    values, issues = resolve_config({"k": field(**rules)}, {"k": value})
    assert issues == []
    assert values == {"k": value}


def test_every_rule_a_value_breaks_is_reported() -> None:
    _, issues = resolve_config({"code": field("string", min=4, pattern="[A-Z]+")}, {"code": "ab"})
    assert issues == [
        ConfigIssue("code", "must have at least 4 characters, got 2"),
        ConfigIssue("code", "does not match pattern '[A-Z]+': 'ab'"),
    ]


def test_all_issues_are_reported_at_once(schema: dict[str, ConfigField]) -> None:
    values, issues = resolve_config(
        schema,
        {"item_count": 5000, "enable_llm": "yes", "speed": "medium", "item_cout": 5, "zzz": 1},
    )
    assert values == {}
    assert issues == [
        ConfigIssue("item_count", "must be at most 1000, got 5000"),
        ConfigIssue("enable_llm", "expected a boolean, got 'yes' (string)"),
        ConfigIssue("speed", "must be one of 'fast', 'slow', got 'medium'"),
        ConfigIssue(
            "label", "is required", "set it in the scenario's config or with --config label=VALUE"
        ),
        ConfigIssue("item_cout", "unknown key 'item_cout'", "did you mean 'item_count'?"),
        ConfigIssue("zzz", "unknown key 'zzz'", "known keys: item_count, enable_llm, speed, label"),
    ]


def test_unknown_key_when_agent_takes_no_config() -> None:
    _, issues = resolve_config({}, {"x": 1})
    assert issues == [ConfigIssue("x", "unknown key 'x'", "this agent takes no config")]


def test_required_key_given_is_fine() -> None:
    values, issues = resolve_config({"label": field("string", required=True)}, {"label": "a"})
    assert (values, issues) == ({"label": "a"}, [])


def test_config_issue_str() -> None:
    assert str(ConfigIssue("k", "is required", "set it")) == "k: is required (set it)"
    assert str(ConfigIssue("k", "must be at least 1, got 0")) == "k: must be at least 1, got 0"
    assert str(ConfigIssue("", "config must be a mapping")) == "config must be a mapping"


# --- parse_cli_value ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["007", "true", "", "1e3", " spaced ", "a=b"])
def test_string_values_are_taken_as_is(text: str) -> None:
    assert parse_cli_value(field("string"), text) == text


@pytest.mark.parametrize(("text", "expected"), [("5", 5), ("-3", -3), ("+7", 7), ("007", 7)])
def test_integer_values(text: str, expected: int) -> None:
    value = parse_cli_value(field("integer"), text)
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    "text", ["1e3", "0x10", "3.0", "", "1_000", " 5", "ten", "true", "\u0661\u0662"]
)
def test_integer_rejects_anything_but_decimal_digits(text: str) -> None:
    with pytest.raises(ValueError, match=r"^expected an integer$"):
        parse_cli_value(field("integer"), text)


@pytest.mark.parametrize(
    ("text", "expected"), [("5", 5), ("2.5", 2.5), ("-0.5", -0.5), ("1e3", 1000.0), (".5", 0.5)]
)
def test_number_values(text: str, expected: float) -> None:
    value = parse_cli_value(field("number"), text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nan", "nan is not a number"),
        ("NaN", "NaN is not a number"),
        ("-nan", "-nan is not a number"),
        ("inf", "inf is not a finite number"),
        ("-inf", "-inf is not a finite number"),
        ("infinity", "infinity is not a finite number"),
        ("1e999", "1e999 is not a finite number"),
        ("abc", "expected a number"),
        ("", "expected a number"),
        ("1_0", "expected a number"),
        ("0x10", "expected a number"),
    ],
)
def test_number_rejects_non_numbers(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_cli_value(field("number"), text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("On", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("off", False),
        ("0", False),
    ],
)
def test_boolean_values(text: str, expected: bool) -> None:
    assert parse_cli_value(field("boolean"), text) is expected


@pytest.mark.parametrize("text", ["maybe", "", "2", "t"])
def test_boolean_rejects_other_words(text: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(BOOLEAN_ERROR)}$"):
        parse_cli_value(field("boolean"), text)


def test_array_and_object_values_are_json() -> None:
    assert parse_cli_value(field("array"), '["###", "END"]') == ["###", "END"]
    assert parse_cli_value(field("object"), '{"a": [1, 2.5]}') == {"a": [1, 2.5]}


@pytest.mark.parametrize(
    ("type_", "text", "message"),
    [
        ("array", '{"a": 1}', "expected a JSON array, got object"),
        ("array", "a,b", "expected a JSON array: Expecting value at column 1"),
        ("array", "[NaN]", "expected a JSON array: NaN is not a number"),
        ("object", "[1]", "expected a JSON object, got array"),
        ("object", '{"a": Infinity}', "expected a JSON object: Infinity is not a number"),
    ],
)
def test_array_and_object_reject_other_json(type_: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_cli_value(field(type_), text)


# --- parse_config_overrides --------------------------------------------------------------------


def test_overrides_parse_by_type_and_split_on_first_equals(
    schema: dict[str, ConfigField],
) -> None:
    overrides = parse_config_overrides(
        schema, ["item_count=5", "enable_llm=true", "label=a=b", "speed="]
    )
    assert overrides == {"item_count": 5, "enable_llm": True, "label": "a=b", "speed": ""}


def test_later_overrides_win(schema: dict[str, ConfigField]) -> None:
    assert parse_config_overrides(schema, ["item_count=5", "item_count=6"]) == {"item_count": 6}


def test_overrides_are_not_resolved(schema: dict[str, ConfigField]) -> None:
    overrides = parse_config_overrides(schema, ["item_count=5000"])
    assert overrides == {"item_count": 5000}
    _, issues = resolve_config(schema, {"label": "a", **overrides})
    assert issues == [ConfigIssue("item_count", "must be at most 1000, got 5000")]


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("foo", "--config expects KEY=VALUE, got 'foo'"),
        ("=5", "--config expects KEY=VALUE, got '=5'"),
        (
            "item_cout=5",
            "--config item_cout=5: unknown key 'item_cout' (did you mean 'item_count'?)",
        ),
        (
            "colour=red",
            "--config colour=red: unknown key 'colour' "
            "(known keys: item_count, enable_llm, speed, label)",
        ),
        ("item_count=ten", "--config item_count=ten: expected an integer"),
        (
            "enable_llm=maybe",
            "--config enable_llm=maybe: expected a boolean (true/false, yes/no, on/off, 1/0)",
        ),
    ],
)
def test_bad_override_raises_config_error(
    schema: dict[str, ConfigField], pair: str, message: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_config_overrides(schema, ["item_count=5", pair])
    assert str(excinfo.value) == message


def test_every_bad_override_is_reported(schema: dict[str, ConfigField]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_config_overrides(schema, ["item_count=1.5", "ok", "enable_llm=true", "nope=1"])
    assert str(excinfo.value).splitlines() == [
        "--config item_count=1.5: expected an integer",
        "--config expects KEY=VALUE, got 'ok'",
        "--config nope=1: unknown key 'nope' (known keys: item_count, enable_llm, speed, label)",
    ]


# --- schema_as_json_schema ---------------------------------------------------------------------


def test_data_collector_schema_as_json_schema() -> None:
    schema = load_builtin("data_collector.yaml").config_schema
    assert schema_as_json_schema(schema) == {
        "type": "object",
        "properties": {
            "goal": {
                "type": "string",
                "default": "Collect 10 data items",
                "description": "The goal for the agent to achieve",
            },
            "item_count": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "default": 10,
                "description": "Number of items to collect",
            },
            "enable_llm": {
                "type": "boolean",
                "default": False,
                "description": "Ask the LLM how to recover when an item's collection fails",
            },
            "failure_rate": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "default": 0.0,
                "description": "Probability that an item's collection fails",
            },
            "seed": {
                "type": "integer",
                "default": 0,
                "description": "Seeds the deterministic source and the failure injection",
            },
            "item_delay_ms": {
                "type": "integer",
                "minimum": 0,
                "maximum": 10000,
                "default": 0,
                "description": "Delay before each item is collected, in milliseconds",
            },
        },
        "additionalProperties": False,
        "required": [],
    }


def test_json_schema_for_lengths_enum_pattern_and_required() -> None:
    schema = {
        "code": field("string", min=2, max=8, pattern="[a-z]+", required=True),
        "tags": field("array", min=1, max=3),
        "speed": field("string", enum=["fast", "slow"]),
    }
    assert schema_as_json_schema(schema) == {
        "type": "object",
        "properties": {
            "code": {"type": "string", "minLength": 2, "maxLength": 8, "pattern": "^(?:[a-z]+)$"},
            "tags": {"type": "array", "minItems": 1, "maxItems": 3},
            "speed": {"type": "string", "enum": ["fast", "slow"]},
        },
        "additionalProperties": False,
        "required": ["code"],
    }


def test_json_schema_agrees_with_resolve_config() -> None:
    schema = {
        "code": field("string", pattern="[a-z]+", required=True),
        "item_count": field("integer", default=10, min=1, max=1000),
    }
    validator = jsonschema.Draft202012Validator(schema_as_json_schema(schema))
    jsonschema.Draft202012Validator.check_schema(validator.schema)
    cases: list[dict[str, Any]] = [
        {"code": "abc"},
        {"code": "abc1"},
        {"code": "abc", "item_count": 0},
        {"code": "abc", "other": 1},
        {},
    ]
    for config in cases:
        _, issues = resolve_config(schema, config)
        assert validator.is_valid(config) == (issues == []), config


@pytest.mark.parametrize(
    ("value", "resolved"),
    [
        ("python agent.py --name 'Ada Lovelace'", ["python", "agent.py", "--name", "Ada Lovelace"]),
        (["node", "my agent.js"], ["node", "my agent.js"]),
    ],
)
def test_a_command_is_a_list_or_a_string_split_like_a_shell(
    value: object, resolved: list[str]
) -> None:
    schema = {"command": ConfigField(type=ConfigType.COMMAND, required=True)}

    assert resolve_config(schema, {"command": value}).values == {"command": resolved}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "command: is an empty command; name the program to run"),
        ("python 'unclosed", "command: is not a command: No closing quotation"),
        (["python", 3], "command: is not a command: every item must be a string"),
        (7, "command: expected a command (a list of strings, or one string), got 7 (integer)"),
    ],
)
def test_a_bad_command_says_why(value: object, message: str) -> None:
    schema = {"command": ConfigField(type=ConfigType.COMMAND, required=True)}

    [issue] = resolve_config(schema, {"command": value}).issues

    assert str(issue) == message
