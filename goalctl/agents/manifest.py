"""Agent manifests: who an agent is and which config it accepts (DESIGN §4).

A manifest is YAML read with the safe loader; every problem in it is reported as
``source: key.path: message`` in the manifest's own words. Each config key it declares is a
:class:`~goalctl.config_schema.ConfigField`; :mod:`goalctl.config_schema` resolves config
against them.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from goalctl.config_schema import ConfigField, _got, _kind, _show, _unknown_key_remedy
from goalctl.errors import ConfigError

_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _valid_key(key: str) -> str:
    # Keys travel through `--config key=value` and Jinja's `config.key`, so keep them plain.
    if _KEY_RE.fullmatch(key) is None:
        raise ValueError(
            f"{_show(key)} is not a valid config key: use letters, digits and underscores, "
            "not starting with a digit"
        )
    return key


class AgentManifest(BaseModel):
    """An agent's manifest: who it is and which config it accepts (the seed's workload format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """The name scenarios use to pick the agent, e.g. ``data-collector``."""
    version: str = Field(min_length=1)
    """The agent's own version (quote it in YAML so ``0.10`` stays a string)."""
    description: str = ""
    """What the agent does, in a sentence or two."""
    capabilities: list[str] = Field(default_factory=list)
    """Free-form tags for what the agent can do, e.g. ``llm``, ``data_collection``."""
    config_schema: dict[Annotated[str, AfterValidator(_valid_key)], ConfigField] = Field(
        default_factory=dict
    )
    """The config keys the agent accepts, in the order they are documented and resolved."""

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        # The name doubles as an entry-point name, so it must be a single plain word.
        if _NAME_RE.fullmatch(value) is None:
            raise ValueError(
                f"{_show(value)} is not a valid agent name: use letters, digits, '-', '_' and '.'"
            )
        return value

    @classmethod
    def from_yaml(cls, text: str, source: str = "<manifest>") -> AgentManifest:
        """Parse a manifest with the safe YAML loader; raise :class:`ConfigError` listing every
        problem as ``source: key.path: message``."""
        try:
            data = YAML(typ="safe").load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"{source}{where}: invalid YAML: {problem}") from exc
        if data is None:
            raise ConfigError(f"{source}: the manifest is empty")
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a manifest must be a mapping, got {_kind(data)}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            lines = [f"{source}: {_describe(error)}" for error in exc.errors()]
            raise ConfigError("\n".join(lines)) from exc


_EXPECTED = {
    "string_type": "expected a string",
    "bool_type": "expected a boolean",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping with at least a 'type' key",
}


def _describe(error: ErrorDetails) -> str:
    """Turn one pydantic error into ``key.path: message`` in the manifest's own words."""
    loc = [part for part in error["loc"] if part != "[key]"]
    kind = error["type"]
    if kind in {"extra_forbidden", "missing"}:
        *parent, key = loc
        known = list(ConfigField.model_fields if parent else AgentManifest.model_fields)
        if kind == "missing":
            message = f"missing required key '{key}'"
        else:
            message = f"unknown key '{key}' ({_unknown_key_remedy(str(key), known)})"
        loc = parent
    else:
        message = _EXPECTED.get(kind, error["msg"].removeprefix("Value error, "))
        if kind.endswith("_type"):
            message += f", {_got(error['input'])}"
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return f"{path.lstrip('.')}: {message}" if path else message
