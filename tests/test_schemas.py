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


def scenario_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPO / "schemas" / "scenario.schema.json").read_text())
    return data


def front_matter(path: Path) -> Any:
    text = path.read_text()
    if path.suffix == ".md":
        text = split_front_matter(text)[0] or ""
    return load_yaml(text).data


@pytest.mark.parametrize("path", sorted(SCENARIOS.iterdir()), ids=lambda p: p.name)
def test_examples_conform_to_the_scenario_schema(path: Path) -> None:
    jsonschema.Draft202012Validator(scenario_schema()).validate(front_matter(path))


def test_schema_is_itself_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(scenario_schema())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "x", "sucess_criteria": []}, "Additional properties are not allowed"),
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
        jsonschema.Draft202012Validator(scenario_schema()).validate(data)
