"""What a scenario file declares: a goal, the agent that pursues it, its config and cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, PrivateAttr, StrictFloat, model_validator

from goalctl.config.prices import MAX_PRICE
from goalctl.goal import Goal, GoalStatus, OneLine, _Strict
from goalctl.regexes import check_pattern
from goalctl.scenario.positions import SourceMap

FILE_FORMAT_VERSION = 1


Regex = Annotated[str, AfterValidator(check_pattern)]
"""A string that must be a valid regular expression."""


class ScriptedRule(_Strict):
    """A scripted reply chosen by matching the prompt against a regular expression."""

    match: Regex
    """Regular expression searched in the case's user messages."""
    reply: str
    """The reply returned when the expression matches."""


PriceValue = Annotated[StrictFloat, Field(ge=0.0, le=MAX_PRICE, allow_inf_nan=False)]


class ModelPrice(_Strict):
    """A model's price in US dollars per million tokens."""

    input: PriceValue
    """USD per million input (prompt) tokens."""
    output: PriceValue
    """USD per million output (completion) tokens."""


class Case(_Strict):
    """One input the agent is run on, with what is expected of it."""

    name: OneLine | None = None
    """Name used in reports; defaults to ``case-<n>``."""
    description: str = ""
    """What this case exercises."""
    input: Any = Field(default_factory=dict)
    """The input given to the agent; checked against the goal's ``input_schema``."""
    expected: Any = None
    """What a correct output looks like; available to targets and templates as ``expected``."""
    responses: list[str] | None = None
    """Scripted replies for this case, in order (offline ``scripted`` provider)."""


class ScenarioSpec(Goal):
    """A scenario file: the goal's fields plus how to run it (Markdown front matter or YAML)."""

    status: GoalStatus = GoalStatus.READY
    """Lifecycle; files default to ``ready``. ``draft`` and ``suspended`` goals are skipped by
    ``goalctl run`` unless ``--include-drafts`` is given."""
    agent: str = "llm"
    """Name of the agent that pursues the goal (``goalctl agents`` lists them)."""
    config: dict[str, Any] = Field(default_factory=dict)
    """Agent configuration, validated against the agent's ``config_schema``."""
    provider: str = "anthropic"
    """LLM provider: ``anthropic``, ``scripted`` or ``replay``; when omitted, the project's
    ``provider`` (goalctl.toml), else ``anthropic``."""
    provider_options: dict[str, Any] = Field(default_factory=dict)
    """Settings the provider declares, checked against their ranges: ``anthropic`` takes
    ``max_retries`` (0-10) and ``timeout_s`` (0.1-600), ``scripted`` takes ``latency_ms``
    (0-60000)."""
    model: str | None = None
    """Model name; when omitted, the project's ``model`` (goalctl.toml), else the default."""
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    """Prices of models goalctl does not know, by model name (longest prefix wins); these win
    over the project's ``prices`` and the built-in table. A cost check on a model with no price
    is refused before any call."""
    cases: list[Case] = Field(default_factory=list)
    """Inputs to run; no cases means one case with an empty input."""
    responses: list[str | ScriptedRule] = Field(default_factory=list)
    """Scripted replies for the offline provider: strings used in order, or
    ``{match, reply}`` rules."""
    system: str | None = None
    """System prompt template (Jinja); goalctl's built-in one when omitted."""
    prompt: str | None = None
    """User prompt template (Jinja), rendered per case; built-in when omitted."""
    judge: str | None = None
    """Template of the LLM-judge prompt; built-in when omitted."""
    phase_instructions: dict[str, str] = Field(default_factory=dict)
    """Instructions per phase (initialize, execute, report, cleanup), for templates."""
    _goal: Goal | None = PrivateAttr(default=None)
    redact: list[Regex] = Field(default_factory=list)
    """Regular expressions whose matches are replaced by ``[REDACTED]`` in model replies as they
    arrive and in every file a run writes, cassettes included (e.g. emails or account numbers
    in inputs). Criteria see the redacted reply, as a replay of the run would."""

    @model_validator(mode="after")
    def _check_structure(self) -> ScenarioSpec:
        # Files report structural rules as located problems (see scenario.loader), so the
        # inherited validator that raises on the first one is replaced here.
        return self

    def goal(self) -> Goal:
        """The goal this scenario declares (fields already validated); built once."""
        if self._goal is None:
            self._goal = Goal.model_construct(**{name: getattr(self, name) for name in GOAL_FIELDS})
        return self._goal


# Computed once: pydantic builds ``model_fields`` anew on every access.
GOAL_FIELDS = tuple(Goal.model_fields)
SPEC_FIELDS = frozenset(ScenarioSpec.model_fields)


@dataclass(frozen=True, slots=True)
class TemplateText:
    """A template's source and the file line where its first line stands."""

    name: str
    source: str
    line: int
    """File line of the template's first line; 0 for a built-in template."""
    builtin: bool = False


@dataclass
class Scenario:
    """A loaded, validated scenario: everything needed to run it."""

    path: Path
    spec: ScenarioSpec
    goal: Goal
    config: dict[str, Any]
    """The agent config with defaults applied and every rule checked."""
    templates: dict[str, TemplateText]
    source_map: SourceMap = field(default_factory=SourceMap)

    @property
    def id(self) -> str:
        return self.goal.id

    @property
    def cases(self) -> list[Case]:
        return self.spec.cases or [Case()]

    def case_name(self, index: int) -> str:
        case = self.cases[index]
        return case.name or f"case-{index + 1}"

    def line_of(self, *path: str | int) -> int:
        """File line that defines ``path`` (for annotations and reports)."""
        return self.source_map.find(path, key=True)[0]
