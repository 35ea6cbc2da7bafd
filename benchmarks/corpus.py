"""A reproducible corpus of varied, valid scenario files for ``validate`` benchmarks.

About 70% Markdown (front matter plus body sections) and 30% YAML, across twenty task domains.
Names, fields, criteria, cases and template text vary per file: goalctl caches compiled
templates by source text, so a corpus of identical files would flatter it. About a quarter of
the scenarios keep the built-in templates, as real ones do.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import corpus_data as words
from corpus_data import Domain, Field
from corpus_text import Plan, markdown_text, prompt_template, system_template, yaml_text

DEFAULT_SEED = 1234
MARKDOWN_SHARE = 0.7
LINEAGE_SHARE = 0.04
"""Share of scenarios that are a new version of an earlier one (``parent_version``)."""
COLLECTOR_SHARE = 0.05
"""Share of scenarios for the ``data-collector`` agent rather than ``llm``."""

_STRING_KINDS = {"text", "person", "company", "product", "word", "language", "unit", "tier"}
_STRING_KINDS |= {"proglang", "tone", "timezone", "currency"}
_REGEX_SPECIAL = re.compile(r"([.^$*+?{}\[\]\\|()])")
_ENUMS: dict[str, tuple[str, ...]] = {
    "language": words.LANGUAGES,
    "tier": words.TIERS,
    "priority": words.PRIORITIES,
    "sentiment": words.SENTIMENTS,
    "proglang": words.PROGLANGS,
    "tone": words.TONES,
    "currency": words.CURRENCIES,
}


@dataclass
class CorpusStats:
    """What was generated, to judge how realistic the corpus is."""

    files: int = 0
    markdown: int = 0
    yaml: int = 0
    bytes: int = 0
    cases: int = 0
    builtin_system: int = 0
    """Files that keep the built-in system template (no System section or key)."""
    builtin_prompt: int = 0
    with_input_schema: int = 0
    with_checks: int = 0
    """Files with at least one ``check`` expression."""
    lineage: int = 0
    system_sources: set[str] = field(default_factory=set)
    prompt_sources: set[str] = field(default_factory=set)

    def summary(self) -> str:
        return (
            f"{self.files} files ({self.markdown} Markdown, {self.yaml} YAML), "
            f"{self.bytes / 1024:.0f} KiB, {self.cases} cases; "
            f"{len(self.system_sources)} distinct system and {len(self.prompt_sources)} "
            f"distinct prompt templates ({self.builtin_system} files use the built-in system "
            f"template, {self.builtin_prompt} the built-in prompt); "
            f"{self.with_input_schema} with input_schema, {self.with_checks} with check "
            f"expressions, {self.lineage} with parent_version."
        )


def generate_corpus(directory: Path, count: int = 1000, seed: int = DEFAULT_SEED) -> CorpusStats:
    """Write ``count`` valid scenario files under ``directory`` (one folder per domain)."""
    return _Generator(random.Random(seed)).write(directory, count)


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.stats = CorpusStats()
        self.ids: set[str] = set()
        self.evolvable: list[Plan] = []

    def write(self, directory: Path, count: int) -> CorpusStats:
        for _ in range(count):
            plan = self.plan()
            markdown = self.rng.random() < MARKDOWN_SHARE
            text = (markdown_text if markdown else yaml_text)(plan, self.rng)
            folder = directory / plan.domain.slug
            folder.mkdir(parents=True, exist_ok=True)
            major = plan.version.split(".")[0]
            stem = plan.ident if "parent_version" not in plan.spec else f"{plan.ident}-v{major}"
            path = folder / f"{stem}{'.md' if markdown else '.yaml'}"
            path.write_text(text, encoding="utf-8")
            self.count(plan, text, markdown)
        return self.stats

    def count(self, plan: Plan, text: str, markdown: bool) -> None:
        stats, spec = self.stats, plan.spec
        stats.files += 1
        stats.markdown += markdown
        stats.yaml += not markdown
        stats.bytes += len(text.encode())
        stats.cases += max(len(spec.get("cases", [])), 1)
        for key, seen in (("system", stats.system_sources), ("prompt", stats.prompt_sources)):
            if key in spec:
                seen.add(spec[key])
        stats.builtin_system += "system" not in spec
        stats.builtin_prompt += "prompt" not in spec
        stats.with_input_schema += "input_schema" in spec
        checks = spec.get("success_criteria", []) + spec.get("constraints", [])
        stats.with_checks += any("check" in item for item in checks)
        stats.lineage += "parent_version" in spec

    # -- planning ---------------------------------------------------------------------------

    def plan(self) -> Plan:
        r = self.rng
        parent = None
        if self.evolvable and r.random() < LINEAGE_SHARE:
            parent = self.evolvable.pop(r.randrange(len(self.evolvable)))
        if parent is not None:
            domain, company, team, ident = parent.domain, parent.company, parent.team, parent.ident
            version = f"{int(parent.version.split('.')[0]) + 1}.0.0"
        else:
            collector = r.random() < COLLECTOR_SHARE
            domain = _COLLECTOR if collector else r.choice(words.DOMAINS)
            company, team = r.choice(words.COMPANIES), r.choice(words.TEAMS)
            ident = self.new_id(company, domain, team)
            version = r.choice(("1.0.0", "0.1.0", "0.3.2", "1.2.0", "2.0.1"))
        spec: dict[str, Any] = {"id": ident, "version": version}
        if parent is not None:
            spec["parent_version"] = parent.version
            spec["evolution_reason"] = r.choice(words.EVOLUTION_REASONS)
        title = f"{company} {domain.title}" + (f" ({team.upper()})" if r.random() < 0.3 else "")
        spec["name"] = title
        spec["description"] = self.description(domain, company, team)
        roll = r.random()
        if roll < 0.05:
            spec["status"] = "draft"
        elif roll < 0.12:
            spec["status"] = "ready"  # explicit; a run sets the other statuses
        plan = Plan(domain, ident, version, team, company, spec)
        if domain is _COLLECTOR:
            self.collector(plan)
        else:
            self.llm(plan)
        if parent is None:
            self.evolvable.append(plan)
        return plan

    def new_id(self, company: str, domain: Domain, team: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-") + "-" + domain.slug
        for candidate in (base, f"{base}-{team}", *(f"{base}-{team}-{n}" for n in range(2, 999))):
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate
        raise RuntimeError("ran out of ids")

    def description(self, domain: Domain, company: str, team: str) -> str:
        r = self.rng
        extra = (
            f"It serves the {team} team at {company}.",
            f"Inputs come from {company}'s {r.choice(words.WORDS)} workflow.",
            "Cases cover the common path and the awkward inputs seen in production.",
            "The scenario doubles as a regression test when prompts change.",
        )
        sentences = [domain.task, *r.sample(extra, r.randint(0, 2))]
        if r.random() < 0.3:
            sentences.append("\n\n" + r.choice(extra))
        return " ".join(sentences).replace(" \n\n", "\n\n")

    def llm(self, plan: Plan) -> None:
        r, spec, domain = self.rng, plan.spec, plan.domain
        spec["provider"] = r.choice(("scripted", "scripted", "anthropic"))
        if r.random() < 0.6:
            spec["model"] = r.choice(words.MODELS)
        config = {
            "max_attempts": r.randint(1, 3),
            "max_tokens": r.choice((256, 512, 1024, 2048)),
            "feedback": r.random() < 0.7,
        }
        spec["config"] = dict(r.sample(sorted(config.items()), r.randint(0, len(config))))
        if r.random() < 0.5:
            spec["required_capabilities"] = ["llm"]
        structured = r.random() < 0.35
        if r.random() < 0.5:
            plan.criteria_as_bullets = True
            spec["success_criteria"] = self.bullet_criteria()
        else:
            spec["success_criteria"] = self.criteria(domain, structured)
            structured = structured or any(
                c["metric"] == "json_schema" for c in spec["success_criteria"]
            )
        if r.random() < 0.25:
            plan.constraints_as_bullets = True
            spec["constraints"] = self.bullet_constraints()
        elif r.random() < 0.7:
            spec["constraints"] = self.constraints()
        if r.random() < 0.6:
            spec["context"] = self.context(plan)
        if r.random() < 0.35:
            spec["input_schema"] = _object_schema(domain.inputs, r)
        if structured:
            spec["output_schema"] = _object_schema((domain.answer,), r)
        spec["cases"] = [self.case(domain, index) for index in range(r.randint(2, 5))]
        if spec["provider"] == "scripted":
            self.responses(plan)
        if r.random() < 0.15:
            spec["phase_instructions"] = {"execute": f"Work step by step. {domain.task}"}
        shared = r.random()
        if shared >= 0.25:
            spec["system"] = system_template(plan, r)
        if shared >= 0.35:
            spec["prompt"] = prompt_template(plan, r)

    def collector(self, plan: Plan) -> None:
        r, spec = self.rng, plan.spec
        items = r.randint(5, 60)
        spec["agent"] = "data-collector"
        spec["provider"] = "scripted"
        spec["config"] = {
            "goal": f"Collect {items} {r.choice(words.WORDS)} records",
            "item_count": items,
            "failure_rate": r.choice((0.0, 0.1, 0.25)),
            "seed": r.randint(0, 999),
            "enable_llm": r.random() < 0.5,
        }
        spec["required_capabilities"] = ["data_collection"]
        spec["success_criteria"] = [
            {
                "id": "all-items",
                "description": "Every requested item was collected",
                "metric": "custom",
                "check": "output['items_collected'] >= output['target']",
            }
        ]
        spec["constraints"] = [
            {
                "id": "llm-budget",
                "description": "Spend few LLM calls on recovery",
                "category": "cost",
                "check": f"llm_calls <= {r.randint(5, 30)}",
            }
        ]
        spec["responses"] = [{"match": "Error collecting item", "reply": '{"data": "mirror"}'}]
        spec["phase_instructions"] = {
            "initialize": "Prepare the deterministic source with the configured seed.",
            "report": "Summarize what was collected and what was recovered.",
        }

    def criteria(self, domain: Domain, structured: bool) -> list[dict[str, Any]]:
        r, answer = self.rng, domain.answer.name
        text_fields = [f.name for f in domain.inputs if f.kind in _STRING_KINDS]
        options: list[dict[str, Any]] = [
            {
                "id": f"{answer.replace('_', '-')}-matches",
                "description": f"The {answer.replace('_', ' ')} matches the expected one",
                "metric": "output_equals",
                "target": f"{{{{ expected.{answer} }}}}",
            },
            {
                "id": "judged-quality",
                "description": r.choice(words.CRITERIA_SENTENCES),
                "metric": "llm_judge",
                "target": r.choice((0.8, 0.9, 1.0)),
            },
            {
                "id": "exact-check",
                "description": f"The {answer.replace('_', ' ')} equals the expected value",
                "metric": "custom",
                "check": f"output['{answer}'] == expected['{answer}']",
            },
            {
                "id": "well-formed",
                "description": "The answer is JSON of the declared shape",
                "metric": "json_schema",
            },
            {
                "id": "looks-right",
                "description": "The answer has the expected form",
                "metric": "output_matches",
                "target": r.choice((r"^\{", r"\d+", r"(?i)\b" + answer + r"\b", r"^\S")),
            },
        ]
        if text_fields:
            options.append(
                {
                    "id": "mentions-input",
                    "description": "The answer mentions what it was given",
                    "metric": "output_contains",
                    "target": f"{{{{ input.{r.choice(text_fields)} }}}}",
                }
            )
        if not structured:
            options = [o for o in options if o["metric"] not in ("json_schema", "custom")]
        chosen = r.sample(options, r.randint(1, min(4, len(options))))
        for criterion in chosen:
            if r.random() < 0.5:
                criterion["weight"] = r.choice((0.25, 0.5, 0.7, 1.0))
            if r.random() < 0.1:
                criterion["threshold"] = r.choice((0.5, 0.8))
        return chosen

    def bullet_criteria(self) -> list[dict[str, Any]]:
        r = self.rng
        chosen = r.sample(words.CRITERIA_SENTENCES, r.randint(2, 5))
        result: list[dict[str, Any]] = []
        for index, sentence in enumerate(chosen):
            if r.random() < 0.4:
                result.append({"id": f"criterion-{index + 1}", "description": sentence})
            else:
                result.append({"description": sentence})
        return result

    def bullet_constraints(self) -> list[dict[str, Any]]:
        r = self.rng
        chosen = r.sample(words.CONSTRAINT_SENTENCES, r.randint(1, 3))
        return [
            {"description": sentence, "constraint_type": r.choice(("hard", "soft"))}
            for sentence in chosen
        ]

    def constraints(self) -> list[dict[str, Any]]:
        r = self.rng
        result: list[dict[str, Any]] = []
        for index in range(r.randint(1, 3)):
            entry: dict[str, Any] = {
                "id": f"constraint-{index + 1}",
                "description": r.choice(words.CONSTRAINT_SENTENCES),
                "constraint_type": r.choice(("hard", "hard", "soft")),
            }
            if r.random() < 0.7:
                category, check = r.choice(words.CHECKS)
                entry["category"] = category
                entry["check"] = check.format(
                    budget=r.choice((0.01, 0.05, 0.2)),
                    seconds=r.choice((5, 30, 120)),
                    calls=r.randint(1, 6),
                    chars=r.choice((500, 2000, 4000)),
                )
            result.append(entry)
        return result

    def context(self, plan: Plan) -> dict[str, Any]:
        r = self.rng
        context: dict[str, Any] = {
            "domain": plan.domain.slug.replace("-", " "),
            "company": plan.company,
            "team": plan.team,
            "min_budget": r.choice((1000, 5000, 10000)),
            "region": r.choice(("EU", "US", "APAC")),
            "strict": r.random() < 0.5,
        }
        keys = r.sample(sorted(context), r.randint(1, 4))
        chosen = {key: context[key] for key in keys}
        if r.random() < 0.2:
            chosen["examples"] = r.sample(words.WORDS, 3)
        return chosen

    def case(self, domain: Domain, index: int) -> dict[str, Any]:
        r = self.rng
        case: dict[str, Any] = {"name": f"{r.choice(words.WORDS)}-{index + 1}"}
        if r.random() < 0.2:
            case["description"] = r.choice(words.CRITERIA_SENTENCES)
        case["input"] = {f.name: _value(f.kind, r) for f in domain.inputs}
        case["expected"] = {domain.answer.name: _value(domain.answer.kind, r)}
        return case

    def responses(self, plan: Plan) -> None:
        r, spec = self.rng, plan.spec
        replies = [json.dumps(case["expected"]) for case in spec["cases"]]
        style = r.random()
        if style < 0.4:
            spec["responses"] = replies
        elif style < 0.8:
            first = next(iter(spec["cases"][0]["input"]))
            rules = []
            for case, reply in zip(spec["cases"], replies, strict=True):
                phrase = " ".join(str(case["input"][first]).split()[:3])
                rules.append({"match": _REGEX_SPECIAL.sub(r"\\\1", phrase), "reply": reply})
            spec["responses"] = rules
        else:
            for case, reply in zip(spec["cases"], replies, strict=True):
                case["responses"] = [reply]


_COLLECTOR = Domain(
    "data-collector", "Data Collector", "Collect data items from a flaky source.", "collector",
    (), Field("items_collected", "int"),
)  # fmt: skip


def _value(kind: str, r: random.Random) -> Any:
    pools: dict[str, tuple[str, ...]] = {
        "text": words.SENTENCES,
        "person": words.PEOPLE,
        "company": words.COMPANIES,
        "product": words.PRODUCTS,
        "word": words.WORDS,
        "unit": words.UNITS,
        "timezone": words.TIMEZONES,
        **_ENUMS,
    }
    if kind in pools:
        return r.choice(pools[kind])
    if kind == "int":
        return r.randint(1, 500)
    if kind == "amount":
        return round(r.uniform(100, 90000), 2)
    if kind == "bool":
        return r.random() < 0.5
    if kind == "people":
        return r.sample(words.PEOPLE, r.randint(2, 4))
    if kind == "list":
        return r.sample(words.WORDS, r.randint(2, 4))
    raise ValueError(f"unknown field kind {kind!r}")


def _property_schema(kind: str, r: random.Random) -> dict[str, Any]:
    if kind == "int":
        return {"type": "integer", "minimum": 1}
    if kind == "amount":
        return {"type": "number", "minimum": 0}
    if kind == "bool":
        return {"type": "boolean"}
    if kind in ("people", "list"):
        return {"type": "array", "items": {"type": "string"}, "minItems": 1}
    if kind in _ENUMS and r.random() < 0.5:
        return {"type": "string", "enum": list(_ENUMS[kind])}
    return {"type": "string", "minLength": 1} if kind == "text" else {"type": "string"}


def _object_schema(fields: tuple[Field, ...], r: random.Random) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: _property_schema(f.kind, r) for f in fields},
        "required": [f.name for f in fields if r.random() < 0.8] or [fields[0].name],
    }
    if r.random() < 0.3:
        schema["additionalProperties"] = False
    return schema
