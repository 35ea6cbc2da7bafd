"""JSON Schemas of goalctl's file formats, generated from the models (``goalctl schema``).

The scenario schema knows each agent's ``config_schema``, so an editor with
yaml-language-server completes and checks ``config`` keys too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCENARIO_SCHEMA = "scenario.schema.json"
FRONT_MATTER_SCHEMA = "front-matter.schema.json"
MANIFEST_SCHEMA = "agent-manifest.schema.json"
BASELINE_SCHEMA = "baseline.schema.json"


def scenario_schema(*, markdown: bool = False) -> dict[str, Any]:
    """The schema of a YAML scenario file, or with ``markdown=True`` of a Markdown scenario's
    front matter (whose name, description and criteria may come from the body instead).

    It requires what ``goalctl validate`` requires and offers nothing only a run sets: no
    ``created_at``, no criterion ``met``, none of the statuses a run moves a goal to.
    """
    from goalctl.agents.registry import agent_manifest, agent_names
    from goalctl.config_schema import schema_as_json_schema
    from goalctl.scenario.criteria import FILE_STATUSES
    from goalctl.scenario.model import ScenarioSpec

    schema = ScenarioSpec.model_json_schema()
    schema.pop("title", None)
    _without_runtime_fields(schema, FILE_STATUSES)
    # Files name every criterion's metric (the Python API keeps the seed's llm_judge default).
    criterion = schema["$defs"]["SuccessCriterion"]
    criterion["required"] = [*criterion.get("required", []), "metric"]
    branches = []
    for name in agent_names():
        config = schema_as_json_schema(agent_manifest(name).config_schema)
        condition: dict[str, Any] = {
            "properties": {"agent": {"const": name}},
            "required": ["agent"],
        }
        if name == "llm":  # the default agent also applies when `agent` is omitted
            condition = {"anyOf": [condition, {"not": {"required": ["agent"]}}]}
        branches.append({"if": condition, "then": {"properties": {"config": config}}})
    if markdown:
        schema["required"] = ["id"]
        title, description = "goalctl scenario front matter", "Front matter of a Markdown scenario."
    else:
        schema["required"] = ["id", "name", "description"]
        draft = {"properties": {"status": {"const": "draft"}}, "required": ["status"]}
        ready = {
            "required": ["success_criteria"],
            "properties": {"success_criteria": {"minItems": 1}},
        }
        branches.append({"if": draft, "else": ready})
        title, description = "goalctl scenario", "A YAML scenario file."
    return {
        "$schema": SCHEMA_DIALECT,
        "title": title,
        "description": description,
        **schema,
        "allOf": branches,
    }


def _without_runtime_fields(schema: dict[str, Any], statuses: tuple[str, ...]) -> None:
    """Drop what the Python goal model carries for runs but a scenario file must not set."""
    defs = schema.get("$defs", {})
    schema["properties"].pop("created_at", None)
    defs.get("SuccessCriterion", {}).get("properties", {}).pop("met", None)
    status = schema["properties"]["status"]
    status.pop("$ref", None)
    status.update({"type": "string", "enum": list(statuses)})
    defs.pop("GoalStatus", None)


def manifest_schema() -> dict[str, Any]:
    from goalctl.agents.manifest import AgentManifest

    schema = AgentManifest.model_json_schema()
    schema.pop("title", None)
    return {"$schema": SCHEMA_DIALECT, "title": "goalctl agent manifest", **schema}


def _baseline_schema() -> dict[str, Any]:
    from goalctl.baselines.schema import baseline_schema

    return baseline_schema(SCHEMA_DIALECT)


def all_schemas() -> dict[str, str]:
    """File name → JSON text, exactly as written to disk."""
    return {
        name: json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, schema in (
            (SCENARIO_SCHEMA, scenario_schema()),
            (FRONT_MATTER_SCHEMA, scenario_schema(markdown=True)),
            (MANIFEST_SCHEMA, manifest_schema()),
            (BASELINE_SCHEMA, _baseline_schema()),
        )
    }


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in all_schemas().items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(out: Path) -> list[str]:
    """Names of schema files missing from ``out`` or different from what goalctl generates."""
    stale = []
    for name, text in all_schemas().items():
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale
