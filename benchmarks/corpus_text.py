"""Scenario text of the generated corpus: templates, and the Markdown and YAML file forms."""

from __future__ import annotations

import random
import re
import textwrap
from dataclasses import dataclass
from typing import Any

import corpus_data as words
from corpus_data import Domain
from yamltext import scalar, to_yaml


@dataclass
class Plan:
    """One scenario: its fields in file order, plus how the Markdown body presents them."""

    domain: Domain
    ident: str
    version: str
    team: str
    company: str
    spec: dict[str, Any]
    criteria_as_bullets: bool = False
    constraints_as_bullets: bool = False


def system_template(plan: Plan, r: random.Random) -> str:
    """A system template built from optional pieces; every one uses ``goal_context``."""
    domain, spec = plan.domain, plan.spec
    lines = [
        r.choice(words.SYSTEM_OPENERS).format(role=domain.role, company=plan.company),
        "",
        "{{ goal_context }}",
    ]
    if r.random() < 0.4:
        lines += [
            r.choice(("Check your answer against each criterion:", "Before answering:")),
            "{% for criterion in goal.success_criteria %}",
            r.choice(
                (
                    "- {{ criterion.id }}: {{ criterion.description }}",
                    "- {{ criterion.description }}",
                    "{{ loop.index }}. {{ criterion.description | trim }}",
                )
            ),
            "{% endfor %}",
        ]
    if r.random() < 0.3:
        lines += [
            "{% if config.max_tokens > 1000 %}",
            "Vary your wording between answers.",
            "{% else %}",
            r.choice(("Prefer the most common wording.", "Be consistent across answers.")),
            "{% endif %}",
        ]
    if r.random() < 0.3:
        lines += [
            "{% if goal.output_schema %}",
            "The answer must conform to {{ goal.output_schema | tojson(None) }}.",
            "{% endif %}",
        ]
    if "phase_instructions" in spec:
        lines += ["", "{{ phase_instructions.execute | trim }}"]
    closer = r.choice(words.SYSTEM_CLOSERS)
    lines += ["", closer.format(answer=domain.answer.name, words=r.choice((50, 80, 200)))]
    return "\n".join(lines) + "\n"


def prompt_template(plan: Plan, r: random.Random) -> str:
    """A user prompt template that reads the case's input fields."""
    domain = plan.domain
    opener = r.choice(words.PROMPT_OPENERS)
    lines = [
        opener.format(task=domain.task, team=plan.team, slug=domain.slug, company=plan.company),
        "",
    ]
    style = r.random()
    if style < 0.5:
        for f in domain.inputs:
            label = f.name.replace("_", " ").capitalize()
            if f.kind == "people":
                lines += [
                    f"{label}:",
                    f"{{% for person in input.{f.name} %}}",
                    "{{ loop.index }}. {{ person }}",
                    "{% endfor %}",
                ]
            else:
                shown = r.choice(("", "", " | trim", " | string")) if f.kind != "int" else ""
                lines.append(f"{label}: {{{{ input.{f.name}{shown} }}}}")
    elif style < 0.8:
        lines += [
            "{% for key, value in input.items() %}",
            r.choice(("- {{ key }}: {{ value }}", "* {{ key | replace('_', ' ') }}: {{ value }}")),
            "{% endfor %}",
        ]
        main = domain.inputs[0].name
        lines += ["", f"Focus on the {main.replace('_', ' ')}: {{{{ input.{main} }}}}"]
    else:
        lines += ["Input:", "{{ input | tojson }}"]
    if r.random() < 0.3:
        lines += [
            "{% if attempt > 1 %}",
            "This is attempt {{ attempt }}.{% if feedback %} {{ feedback }}{% endif %}",
            "{% endif %}",
        ]
    if r.random() < 0.2:
        lines += ["", "(case {{ case.name }} of {{ goal.name }})"]
    return "\n".join(lines) + "\n"


def yaml_text(plan: Plan, r: random.Random) -> str:
    """The scenario as a YAML file."""
    header = "# yaml-language-server: $schema=../schemas/scenario.schema.json\n"
    spec = dict(plan.spec)
    for key in ("success_criteria", "constraints"):
        if key in spec:
            spec[key] = [_with_id(item, key, i) for i, item in enumerate(spec[key])]
    # Only Markdown bullets default to llm_judge; a file's criteria name their metric.
    if "success_criteria" in spec:
        spec["success_criteria"] = [
            {"metric": "llm_judge", **item} for item in spec["success_criteria"]
        ]
    body = to_yaml(_file_spec(spec))
    return (header if r.random() < 0.5 else "") + body


def markdown_text(plan: Plan, r: random.Random) -> str:
    """The scenario as Markdown: front matter, then title, description and sections."""
    spec = dict(plan.spec)
    name, description = spec.pop("name"), spec.pop("description")
    body_keys = ["system", "prompt", "phase_instructions"]
    if plan.criteria_as_bullets:
        body_keys.append("success_criteria")
    if plan.constraints_as_bullets:
        body_keys.append("constraints")
    context_style = r.choice(("bullets", "bullets", "fence", "front"))
    if context_style != "front":
        body_keys.append("context")
    body = {key: spec.pop(key) for key in body_keys if key in spec}
    front = to_yaml(_file_spec(spec))
    schema = "# yaml-language-server: $schema=../schemas/front-matter.schema.json\n"
    out = ["---\n", schema if r.random() < 0.5 else "", front, "---\n", f"# {name}\n\n"]
    if r.random() < 0.1:
        out.append(f"## Goal\n\n{_wrap(description)}\n\n")
    else:
        out.append(f"{_wrap(description)}\n\n")
    if "success_criteria" in body:
        out.append("## Success criteria\n\n")
        for item in body["success_criteria"]:
            ident = f"`{item['id']}`: " if "id" in item else ""
            out.append(f"- {ident}{item['description']}\n")
        out.append("\n")
    if "constraints" in body:
        out.append("## Constraints\n\n")
        for item in body["constraints"]:
            kind = item["constraint_type"]
            suffix = f" ({kind})" if kind == "soft" or r.random() < 0.5 else ""
            out.append(f"- {item['description']}{suffix}\n")
        out.append("\n")
    if "context" in body:
        out.append("## Context\n\n")
        if context_style == "fence":
            out.append(f"```yaml\n{to_yaml(body['context'])}```\n\n")
        else:
            for key, value in body["context"].items():
                out.append(f"- {key}: {_bullet_value(value)}\n")
            out.append("\n")
    for phase, text in body.get("phase_instructions", {}).items():
        out.append(f"## Phase: {phase}\n\n{_wrap(text)}\n\n")
    for key, heading in (("system", "System"), ("prompt", "Prompt")):
        if key in body:
            out.append(f"## {heading}\n\n```jinja\n{body[key]}```\n\n")
    if r.random() < 0.6:
        notes = r.sample(words.NOTES, r.randint(1, 3))
        prose = " ".join(note.format(team=plan.team) for note in notes)
        out.append(f"## Notes\n\n{_wrap(prose)}\n\n")
    return "".join(out).rstrip("\n") + "\n"


def _file_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Fields in the order people write them: identity, agent, goal, cases, templates."""
    order = (
        "id", "name", "description", "version", "parent_version", "evolution_reason", "status",
        "agent", "provider", "model", "config", "required_capabilities", "success_criteria",
        "constraints", "context", "input_schema", "output_schema", "cases", "responses",
        "phase_instructions", "system", "prompt",
    )  # fmt: skip
    return {key: spec[key] for key in order if key in spec and spec[key] != {}}


def _with_id(item: dict[str, Any], key: str, index: int) -> dict[str, Any]:
    """A body bullet as a YAML entry needs the ``id`` that Markdown derives from its text."""
    if "id" in item:
        return item
    slug = "-".join(re.findall(r"[a-z0-9]+", item["description"].lower())[:4])
    return {"id": f"{slug}-{index + 1}" if key == "constraints" else slug, **item}


def _bullet_value(value: Any) -> str:
    return scalar(value) if not isinstance(value, str) else value


def _wrap(text: str) -> str:
    return "\n\n".join(textwrap.fill(part, width=96) for part in text.split("\n\n"))
