"""An agent's ``config_schema``: declare fields, resolve config, parse ``--config`` (DESIGN §4).

An agent declares its knobs in its manifest (:mod:`goalctl.agents.manifest`); goalctl applies
the defaults, enforces every rule, rejects unknown keys and parses ``--config key=value`` by the
declared type, never by guessing.
"""

from __future__ import annotations

import copy
import difflib
import enum
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from goalctl.errors import ConfigError
from goalctl.excerpts import plural


class ConfigType(enum.StrEnum):
    """The value types a config field can declare (JSON's types, with integer split out)."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"
    COMMAND = "command"
    """A program and its arguments: a list of strings, or one string split like a shell would
    split it (never run through a shell). Resolved to the list."""


_BOUNDED = frozenset({ConfigType.INTEGER, ConfigType.NUMBER, ConfigType.STRING, ConfigType.ARRAY})
_LENGTH_BOUNDED = frozenset({ConfigType.STRING, ConfigType.ARRAY})
_ARTICLE_NOUN = {
    ConfigType.STRING: "a string",
    ConfigType.INTEGER: "an integer",
    ConfigType.NUMBER: "a number",
    ConfigType.BOOLEAN: "a boolean",
    ConfigType.ARRAY: "an array",
    ConfigType.OBJECT: "an object",
    ConfigType.COMMAND: "a command (a list of strings, or one string)",
}


_KINDS: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _kind(value: object) -> str:
    """Name a value's type in the manifest's vocabulary, not Python's."""
    # An exact lookup, so that bool never passes for int.
    return _KINDS.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    """Render a value the way a user wrote it in YAML or on the command line, kept short."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, list | dict):
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    elif isinstance(value, str) and len(value) > 60:
        return repr(value[:57]) + "..."
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _got(value: object) -> str:
    """``got 'ten' (string)``: the value and, where it adds anything, its type."""
    return "got null" if value is None else f"got {_show(value)} ({_kind(value)})"


def _strictly_equal(left: object, right: object) -> bool:
    """``==`` at any depth, except that a boolean equals only a boolean (``true`` is not 1)."""
    # Iterative, so that a deeply nested value cannot exhaust the Python stack.
    pending = [(left, right)]
    while pending:
        a, b = pending.pop()
        if a is b:
            continue
        if isinstance(a, bool) != isinstance(b, bool):
            return False
        if isinstance(a, dict):
            if not isinstance(b, dict) or _tagged_keys(a) != _tagged_keys(b):
                return False
            pending.extend((a[key], b[key]) for key in a)
        elif isinstance(a, list):
            if not isinstance(b, list) or len(a) != len(b):
                return False
            pending.extend(zip(a, b, strict=True))
        elif isinstance(b, dict | list) or a != b:
            return False
    return True


def _tagged_keys(mapping: dict[Any, Any]) -> set[tuple[bool, Any]]:
    # YAML keys need not be strings, and {true: x} must not equal {1: x}.
    return {(isinstance(key, bool), key) for key in mapping}


def _type_problem(ftype: ConfigType, value: object) -> str | None:
    """Why ``value`` is not of type ``ftype``, or None. Strict: no coercion at all."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if ftype is ConfigType.NUMBER and isinstance(value, float) and not math.isfinite(value):
        return f"expected a finite number, got {_show(value)}"
    ok = {
        ConfigType.STRING: isinstance(value, str),
        ConfigType.INTEGER: is_int,
        ConfigType.NUMBER: is_int or isinstance(value, float),
        ConfigType.BOOLEAN: isinstance(value, bool),
        ConfigType.ARRAY: isinstance(value, list),
        ConfigType.OBJECT: isinstance(value, dict),
        ConfigType.COMMAND: isinstance(value, str | list),
    }[ftype]
    if not ok:
        return f"expected {_ARTICLE_NOUN[ftype]}, {_got(value)}"
    if ftype is ConfigType.COMMAND:
        return _command_problem(value)
    return None


def _command_problem(value: object) -> str | None:
    try:
        argv = split_command(value)
    except ValueError as exc:
        return f"is not a command: {exc}"
    if not argv or not argv[0]:
        return "is an empty command; name the program to run"
    return None


def split_command(value: object) -> list[str]:
    """A ``command`` value as the program's argv: a list as it is, a string split like a
    shell would split it (quotes and backslashes), with no shell ever involved."""
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise ValueError("every item must be a string")
        return list(value)
    if isinstance(value, str):
        import shlex

        return shlex.split(value)
    raise ValueError(f"expected a list of strings or a string, {_got(value)}")


def _rule_problems(
    ftype: ConfigType,
    value: object,
    *,
    # Named like the manifest keys so callers can pass a field's rules as keywords.
    min: float | None = None,
    max: float | None = None,
    enum: list[Any] | None = None,
    pattern: str | None = None,
) -> list[str]:
    """Every rule ``value`` breaks. A wrong type is reported alone: the other rules assume it."""
    wrong_type = _type_problem(ftype, value)
    if wrong_type is not None:
        return [wrong_type]
    problems: list[str] = []
    if ftype in _LENGTH_BOUNDED:
        assert isinstance(value, str | list)
        noun = "character" if ftype is ConfigType.STRING else "item"
        size = len(value)
        if min is not None and size < min:
            problems.append(f"must have at least {plural(int(min), noun)}, got {size}")
        if max is not None and size > max:
            problems.append(f"must have at most {plural(int(max), noun)}, got {size}")
    elif ftype in _BOUNDED:
        assert isinstance(value, int | float)
        if min is not None and value < min:
            problems.append(f"must be at least {_show(min)}, got {_show(value)}")
        if max is not None and value > max:
            problems.append(f"must be at most {_show(max)}, got {_show(value)}")
    if enum is not None and not any(_strictly_equal(value, choice) for choice in enum):
        choices = ", ".join(_show(choice) for choice in enum)
        problems.append(f"must be one of {choices}, got {_show(value)}")
    if pattern is not None and isinstance(value, str) and re.fullmatch(pattern, value) is None:
        problems.append(f"does not match pattern '{pattern}': {_show(value)}")
    return problems


class ConfigField(BaseModel):
    """One key of an agent's ``config_schema``.

    Fields are declared in dependency order so each validator can check its value against the
    fields before it (``info.data``); that puts every manifest error on the exact key at fault.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ConfigType
    """The value's type: string, integer, number, boolean, array or object."""
    min: int | float | None = None
    """Lower bound: of the value for integer/number, of the length for string/array."""
    max: int | float | None = None
    """Upper bound: of the value for integer/number, of the length for string/array."""
    pattern: str | None = None
    """Regular expression a string value must match in full (``re.fullmatch``)."""
    enum: list[Any] | None = None
    """The only values allowed."""
    default: Any = None
    """Value used when the config does not set the key; ``null`` or absent means no default."""
    required: bool = Field(default=False, strict=True)
    """Whether the config must set the key (only meaningful without a default)."""
    description: str = ""
    """What the key controls, shown in ``--help`` output and editor schemas."""

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: object) -> object:
        if isinstance(value, str) and value not in {t.value for t in ConfigType}:
            known = ", ".join(t.value for t in ConfigType)
            raise ValueError(f"unknown type {_show(value)}; expected one of {known}")
        return value

    @field_validator("min", "max", mode="before")
    @classmethod
    def _valid_bound(cls, value: object, info: ValidationInfo) -> object:
        # Before-mode so that true/false never slip through as 1/0.
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, {_got(value)}")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int past the float range, infinite to every JSON reader
            finite = False
        if not finite:
            raise ValueError(f"must be a finite number, got {_show(value)}")
        ftype = info.data.get("type")
        if ftype is None:
            return value
        if ftype not in _BOUNDED:
            raise ValueError(
                f"applies only to integer, number, string and array fields, not {ftype.value}"
            )
        if ftype in _LENGTH_BOUNDED and (not isinstance(value, int) or value < 0):
            raise ValueError(
                f"bounds the length of {ftype.value} values, so it must be a non-negative "
                f"integer, got {_show(value)}"
            )
        low = info.data.get("min")
        if info.field_name == "max" and low is not None and value < low:
            raise ValueError(f"must not be less than min ({_show(low)}), got {_show(value)}")
        return value

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        ftype = info.data.get("type")
        if ftype is not None and ftype is not ConfigType.STRING:
            raise ValueError(f"applies only to string fields, not {ftype.value}")
        try:
            re.compile(value)
        except (re.error, OverflowError, RecursionError) as exc:
            # A huge repeat count overflows and deep nesting recurses inside re.compile.
            raise ValueError(f"'{value}' is not a valid regular expression: {exc}") from None
        return value

    @field_validator("enum")
    @classmethod
    def _valid_enum(cls, value: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("must list at least one value")
        ftype = info.data.get("type")
        if ftype is None:
            return value
        if ftype is ConfigType.COMMAND:
            raise ValueError("does not apply to command fields (a command is any program)")
        rules = {key: info.data.get(key) for key in ("min", "max", "pattern")}
        for choice in value:
            problems = _rule_problems(ftype, choice, **rules)
            if problems:
                raise ValueError(f"value {_show(choice)} can never be valid: {problems[0]}")
        return value

    @field_validator("default")
    @classmethod
    def _valid_default(cls, value: Any, info: ValidationInfo) -> Any:
        ftype = info.data.get("type")
        if value is None or ftype is None:
            return value
        rules = {key: info.data.get(key) for key in ("min", "max", "pattern", "enum")}
        problems = _rule_problems(ftype, value, **rules)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("required")
    @classmethod
    def _required_without_default(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("default") is not None:
            raise ValueError("a key with a default cannot be required: the default always applies")
        return value

    @property
    def has_default(self) -> bool:
        """Whether the field declares a default (``false``, ``0`` and ``""`` count)."""
        return self.default is not None

    def check(self, value: object) -> list[str]:
        """Every rule ``value`` breaks, as messages without the key; empty when it is valid."""
        return _rule_problems(
            self.type, value, min=self.min, max=self.max, enum=self.enum, pattern=self.pattern
        )


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem with a config, about one key (or the whole config when ``key`` is empty)."""

    key: str
    message: str
    remedy: str = ""

    def __str__(self) -> str:
        key = f"{self.key}: " if self.key else ""
        remedy = f" ({self.remedy})" if self.remedy else ""
        return f"{key}{self.message}{remedy}"


class ResolvedConfig(NamedTuple):
    """The result of :func:`resolve_config`; unpacks as ``values, issues``."""

    values: dict[str, Any]
    """Valid values and defaults, in schema order; keys with neither are omitted."""
    issues: list[ConfigIssue]
    """Every problem found; the config is usable only when this is empty."""


def _unknown_key_remedy(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    if not known:
        return "this agent takes no config"
    return "known keys: " + ", ".join(known)


def resolve_config(schema: Mapping[str, ConfigField], values: Mapping[str, Any]) -> ResolvedConfig:
    """Apply defaults and check every rule, collecting all issues rather than stopping early.

    Issues come in schema order, then unknown keys in the order given.
    """
    resolved: dict[str, Any] = {}
    issues: list[ConfigIssue] = []
    for key, field in schema.items():
        if key in values:
            value = values[key]
            problems = field.check(value)
            issues.extend(ConfigIssue(key, problem) for problem in problems)
            if not problems:
                resolved[key] = split_command(value) if field.type is ConfigType.COMMAND else value
        elif field.has_default:
            # Copied so that an agent mutating its config cannot change the schema's default.
            default = copy.deepcopy(field.default)
            resolved[key] = split_command(default) if field.type is ConfigType.COMMAND else default
        elif field.required:
            remedy = f"set it in the scenario's config or with --config {key}=VALUE"
            issues.append(ConfigIssue(key, "is required", remedy))
    known = list(schema)
    for key in values:
        if key not in schema:
            issues.append(ConfigIssue(key, f"unknown key '{key}'", _unknown_key_remedy(key, known)))
    return ResolvedConfig(resolved, issues)


_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_NUMBER_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True}
_BOOLEANS |= {"false": False, "no": False, "off": False, "0": False}


def _reject_json_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity by default; config values never may.
    raise ValueError(f"{name} is not a number")


def parse_cli_value(field: ConfigField, text: str) -> Any:
    """Parse a ``--config`` value by the field's declared type; raise ValueError if it is not one.

    Only the type is checked here; bounds, enum and pattern are left to :func:`resolve_config`.
    """
    ftype = field.type
    if ftype in (ConfigType.STRING, ConfigType.COMMAND):
        return text
    if ftype is ConfigType.INTEGER:
        # A regex, not int() alone: int() also takes underscores, spaces and non-ASCII digits.
        if _INTEGER_RE.fullmatch(text) is None:
            raise ValueError("expected an integer")
        return int(text)
    if ftype is ConfigType.NUMBER:
        bare = text.lower().lstrip("+-")
        if bare == "nan":
            raise ValueError(f"{text} is not a number")
        if bare in {"inf", "infinity"}:
            raise ValueError(f"{text} is not a finite number")
        if _NUMBER_RE.fullmatch(text) is None:
            raise ValueError("expected a number")
        if _INTEGER_RE.fullmatch(text):
            return int(text)
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"{text} is not a finite number")
        return number
    if ftype is ConfigType.BOOLEAN:
        try:
            return _BOOLEANS[text.lower()]
        except KeyError:
            raise ValueError("expected a boolean (true/false, yes/no, on/off, 1/0)") from None
    wanted, py_type = ("array", list) if ftype is ConfigType.ARRAY else ("object", dict)
    try:
        value = json.loads(text, parse_constant=_reject_json_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"expected a JSON {wanted}: {exc.msg} at column {exc.colno}") from None
    except ValueError as exc:
        raise ValueError(f"expected a JSON {wanted}: {exc}") from None
    except RecursionError:
        raise ValueError(f"expected a JSON {wanted}: it is nested too deeply") from None
    if not isinstance(value, py_type):
        raise ValueError(f"expected a JSON {wanted}, got {_kind(value)}")
    return value


def parse_config_overrides(
    schema: Mapping[str, ConfigField], pairs: Sequence[str]
) -> dict[str, Any]:
    """Parse ``--config KEY=VALUE`` pairs by the schema's types; later pairs win.

    The values are not resolved: merge them over the scenario's config, then call
    :func:`resolve_config`. Raises one :class:`ConfigError` listing every bad pair.
    """
    overrides: dict[str, Any] = {}
    errors: list[str] = []
    known = list(schema)
    for pair in pairs:
        # The first "=" splits, so values may contain "=" themselves.
        key, sep, text = pair.partition("=")
        if not sep or not key:
            errors.append(f"--config expects KEY=VALUE, got {pair!r}")
        elif key not in schema:
            remedy = _unknown_key_remedy(key, known)
            errors.append(f"--config {pair}: unknown key '{key}' ({remedy})")
        else:
            try:
                overrides[key] = parse_cli_value(schema[key], text)
            except ValueError as exc:
                errors.append(f"--config {pair}: {exc}")
    if errors:
        raise ConfigError("\n".join(errors))
    return overrides


def schema_as_json_schema(schema: Mapping[str, ConfigField]) -> dict[str, Any]:
    """Express a ``config_schema`` as a JSON Schema object, e.g. for editor completion."""
    properties: dict[str, Any] = {}
    for key, field in schema.items():
        prop: dict[str, Any] = {"type": field.type.value}
        if field.type is ConfigType.COMMAND:
            words = {"type": "array", "items": {"type": "string"}, "minItems": 1}
            prop = {"anyOf": [{"type": "string", "minLength": 1}, words]}
        low_name, high_name = {
            ConfigType.STRING: ("minLength", "maxLength"),
            ConfigType.ARRAY: ("minItems", "maxItems"),
        }.get(field.type, ("minimum", "maximum"))
        if field.min is not None:
            prop[low_name] = field.min
        if field.max is not None:
            prop[high_name] = field.max
        if field.enum is not None:
            prop["enum"] = copy.deepcopy(field.enum)
        if field.pattern is not None:
            # JSON Schema patterns search; ours match in full, so anchor them.
            prop["pattern"] = f"^(?:{field.pattern})$"
        if field.has_default:
            prop["default"] = copy.deepcopy(field.default)
        if field.description:
            prop["description"] = field.description
        properties[key] = prop
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "required": [key for key, field in schema.items() if field.required],
    }
