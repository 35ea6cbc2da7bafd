"""Markdown scenarios: front matter, body sections by heading, and their file positions."""

from __future__ import annotations

from pathlib import Path

from goalctl.scenario.loader import read_scenario
from goalctl.scenario.markdown import parse_markdown, split_front_matter

DOC = """---
id: sample
---
# Sample goal

First paragraph.

Second paragraph.

## Success criteria

- `accuracy`: Result matches
  the expected answer
- Be polite

## Constraints

- `no-crash`: Never crash
- Keep it short (soft)
- Stay on topic (hard)

## Context

- domain: arithmetic
- min_budget: 10000
- `strict`: true

## System

```jinja
System line one
## not a heading inside a fence
```

## Phase: Execute

Do the work.

## Notes

Free documentation, ignored.
"""


def test_front_matter_split() -> None:
    front, front_line, body, body_line = split_front_matter(DOC)
    assert (front, front_line, body_line) == ("id: sample\n", 2, 4)
    assert body.startswith("# Sample goal\n")


def test_no_front_matter() -> None:
    assert split_front_matter("# Title\n") == (None, 0, "# Title\n", 1)


def test_body_values_and_positions() -> None:
    parts = parse_markdown(DOC)
    values = {path: (found.value, found.position.line) for path, found in parts.body.items()}
    assert values == {
        ("name",): ("Sample goal", 4),
        ("description",): ("First paragraph.\n\nSecond paragraph.", 6),
        ("success_criteria",): (
            [
                {
                    "id": "accuracy",
                    "metric": "llm_judge",
                    "description": "Result matches the expected answer",
                },
                {"metric": "llm_judge", "id": "be-polite", "description": "Be polite"},
            ],
            10,
        ),
        ("constraints",): (
            [
                {"id": "no-crash", "description": "Never crash"},
                {"constraint_type": "soft", "id": "keep-it-short", "description": "Keep it short"},
                {"constraint_type": "hard", "id": "stay-on-topic", "description": "Stay on topic"},
            ],
            16,
        ),
        ("context",): ({"domain": "arithmetic", "min_budget": 10000, "strict": True}, 22),
        ("system",): ("System line one\n## not a heading inside a fence\n", 30),
        ("phase_instructions", "execute"): ("Do the work.", 35),
    }
    assert parts.body[("system",)].position.body_line == 31  # template line 1 is the line after ```
    assert parts.source_map.positions[("success_criteria", 1)].line == 14
    assert parts.source_map.positions[("constraints", 2)].line == 20
    assert parts.source_map.positions[("context", "min_budget")].line == 25
    assert parts.issues == []


def test_context_from_a_yaml_fence_keeps_positions() -> None:
    parts = parse_markdown(
        "---\nid: x\n---\n# T\n\n## Context\n\n```yaml\nindustry: SaaS\nlimits:\n  max: 3\n```\n"
    )
    assert parts.body[("context",)].value == {"industry": "SaaS", "limits": {"max": 3}}
    found = parts.source_map.get(("context", "limits", "max"))
    assert found is not None
    assert found.line == 11


def test_a_section_defined_twice_in_the_body() -> None:
    parts = parse_markdown(
        "---\nid: x\n---\n# T\n\n## Prompt\n\n```\na\n```\n\n## prompt\n\n```\nb\n```\n"
    )
    assert parts.issues == [
        (
            14,
            1,
            "prompt is defined twice in the body: in the '## Prompt' section (line 6) "
            "and in the '## prompt' section (line 12)",
            "keep one of them",
        )
    ]


def test_description_section_and_generated_ids_are_unique(tmp_path: Path) -> None:
    path = tmp_path / "s.md"
    path.write_text(
        "---\nid: x\n---\n# T\n\n## Description\n\nFrom a section.\n\n"
        "## Success criteria\n\n- Same words\n- Same words\n"
    )
    result = read_scenario(path)
    assert result.problems == []
    assert result.scenario is not None
    assert result.scenario.goal.description == "From a section."
    assert [c.id for c in result.scenario.goal.success_criteria] == ["same-words", "same-words-2"]


def test_markdown_and_yaml_scenarios_load_the_same_goal(tmp_path: Path) -> None:
    md = tmp_path / "g.md"
    md.write_text(
        "---\nid: g\n---\n# Greeter\n\nGreet people.\n\n## Success criteria\n\n- `polite`: Be polite\n\n"
        "## Prompt\n\n```\nHello {{ input.name }}\n```\n"
    )
    yml = tmp_path / "g.yaml"
    yml.write_text(
        "id: g\nname: Greeter\ndescription: Greet people.\n"
        "success_criteria: [{id: polite, description: Be polite}]\n"
        'prompt: "Hello {{ input.name }}\\n"\n'
    )
    a, b = read_scenario(md).scenario, read_scenario(yml).scenario
    assert a is not None
    assert b is not None
    assert a.goal.model_dump(exclude={"created_at"}) == b.goal.model_dump(exclude={"created_at"})
    assert a.templates["prompt"].source == b.templates["prompt"].source
