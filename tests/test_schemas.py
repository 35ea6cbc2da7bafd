"""The generated JSON Schemas accept every example scenario and refuse broken ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from goalctl.scenario.markdown import split_front_matter
from goalctl.scenario.yamlsafe import load_yaml
from tests.conftest import REPO, SCENARIOS


def scenario_schema(name: str = "scenario.schema.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPO / "schemas" / name).read_text())
    return data


def schema_of(path: Path) -> dict[str, Any]:
    """The schema a scenario file's kind is checked against: front matter, or a YAML file."""
    return scenario_schema(
        "front-matter.schema.json" if path.suffix == ".md" else "scenario.schema.json"
    )


def front_matter(path: Path) -> Any:
    text = path.read_text()
    if path.suffix == ".md":
        text = split_front_matter(text)[0] or ""
    return load_yaml(text).data


SCENARIO_FILES = sorted(p for p in SCENARIOS.iterdir() if p.suffix in (".md", ".yaml", ".yml"))
BASELINE_FILES = sorted(SCENARIOS.glob("*.baseline.json"))


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_examples_conform_to_the_scenario_schema(path: Path) -> None:
    jsonschema.Draft202012Validator(schema_of(path)).validate(front_matter(path))


def test_scenarios_hold_only_scenarios_and_their_baselines() -> None:
    assert set(SCENARIOS.iterdir()) == {*SCENARIO_FILES, *BASELINE_FILES}
    assert [p.name for p in BASELINE_FILES] == ["faq-v1.baseline.json"]


@pytest.mark.parametrize("path", BASELINE_FILES, ids=lambda p: p.name)
def test_example_baselines_conform_to_the_baseline_schema(path: Path) -> None:
    schema = scenario_schema("baseline.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(json.loads(path.read_text()))


def test_baseline_schema_refuses_a_count_that_is_not_passed_of_evaluated() -> None:
    data = json.loads(BASELINE_FILES[0].read_text())
    data["criteria"]["answers"] = "ten of ten"
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        jsonschema.Draft202012Validator(scenario_schema("baseline.schema.json")).validate(data)


@pytest.mark.parametrize("name", ["scenario.schema.json", "front-matter.schema.json"])
def test_schema_is_itself_valid(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(scenario_schema(name))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "x", "sucess_criteria": []}, "Additional properties are not allowed"),
        ({"id": "x", "created_at": "2024-01-01"}, "Additional properties are not allowed"),
        ({"id": "x", "status": "completed"}, "'completed' is not one of"),
        (
            {"id": "x", "success_criteria": [{"id": "c", "description": "d", "met": True}]},
            "Additional properties are not allowed",
        ),
        (
            {"id": "x", "agent": "data-collector", "config": {"item_count": 5000}},
            "5000 is greater than",
        ),
        ({"id": "x", "config": {"max_attempts": 0}}, "0 is less than the minimum"),
        ({"id": "x", "config": {"item_count": 5}}, "Additional properties are not allowed"),
        ({"name": "no id"}, "'id' is a required property"),
    ],
)
def test_schema_refuses(data: dict[str, Any], message: str) -> None:
    with pytest.raises(jsonschema.ValidationError, match=message):
        jsonschema.Draft202012Validator(scenario_schema("front-matter.schema.json")).validate(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "id": "x",
                "description": "d",
                "success_criteria": [{"id": "c", "description": "d", "metric": "llm_judge"}],
            },
            "'name' is a required property",
        ),
        ({"id": "x", "name": "n", "description": "d"}, "'success_criteria' is a required property"),
        (
            {"id": "x", "name": "n", "description": "d", "success_criteria": []},
            "should be non-empty",
        ),
    ],
)
def test_a_yaml_scenario_needs_what_validate_needs(data: dict[str, Any], message: str) -> None:
    with pytest.raises(jsonschema.ValidationError, match=message):
        jsonschema.Draft202012Validator(scenario_schema()).validate(data)


def test_a_draft_yaml_scenario_needs_no_criteria() -> None:
    draft = {"id": "x", "name": "n", "description": "d", "status": "draft"}
    jsonschema.Draft202012Validator(scenario_schema()).validate(draft)
