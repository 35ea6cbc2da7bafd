"""What a scenario file declares: a goal, the agent that pursues it, its config and cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    Tag,
    model_validator,
)

from goalctl.config.prices import MAX_PRICE
from goalctl.goal import Goal, GoalStatus, OneLine, _Strict
from goalctl.models.names import check_model_name, check_model_names
from goalctl.regexes import check_pattern
from goalctl.scenario.positions import SourceMap
from goalctl.tools.model import ToolName, ToolSpec
from goalctl.trials.counts import MAX_TRIALS

FILE_FORMAT_VERSION = 1


Regex = Annotated[str, AfterValidator(check_pattern)]
"""A string that must be a valid regular expression."""
TrialCount = Annotated[StrictInt, Field(ge=1, le=MAX_TRIALS)]
"""How many times a case runs (1 to 1000)."""
ModelName = Annotated[str, AfterValidator(check_model_name)]
"""A model's name as a provider takes it: not blank, no spaces around it, no comma."""
ModelNames = Annotated[list[ModelName], Field(min_length=1), AfterValidator(check_model_names)]
"""Models to compare: at least one, each once."""


class ToolCall(_Strict):
    """A tool call a scripted reply makes; its id is generated (``toolu_<case>_<n>``)."""

    name: ToolName
    """The tool called, as the agent declared it."""
    input: dict[str, Any] = Field(default_factory=dict)
    """The call's arguments."""


class ToolUseReply(_Strict):
    """A scripted reply that is one tool call: ``{tool_use: {name, input}}``."""

    tool_use: ToolCall
    """The call the model makes."""


class TextBlock(_Strict):
    """A text content block of a scripted reply."""

    type: Literal["text"]
    text: str
    """The text."""


class ToolUseBlock(_Strict):
    """A tool-call content block of a scripted reply; its id is generated."""

    type: Literal["tool_use"]
    name: ToolName
    """The tool called, as the agent declared it."""
    input: dict[str, Any] = Field(default_factory=dict)
    """The call's arguments."""


def _block_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return {"text": "TextBlock", "tool_use": "ToolUseBlock"}.get(str(kind))


ContentBlock = Annotated[
    Annotated[TextBlock, Tag("TextBlock")] | Annotated[ToolUseBlock, Tag("ToolUseBlock")],
    Discriminator(
        _block_kind,
        custom_error_type="content_block",
        custom_error_message="a content block is {type: text, text} or "
        "{type: tool_use, name, input}",
    ),
]
ContentBlocks = Annotated[list[ContentBlock], Field(min_length=1)]

_REPLY_FORMS = (
    "a reply is text, a tool call {tool_use: {name, input}}, or a list of content blocks "
    "[{type: text, text}, {type: tool_use, name, input}]"
)


def _reply_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "ContentBlocks"
    if isinstance(value, ToolUseReply) or (isinstance(value, dict) and "tool_use" in value):
        return "ToolUseReply"
    return None


Reply = Annotated[
    Annotated[str, Tag("str")]
    | Annotated[ToolUseReply, Tag("ToolUseReply")]
    | Annotated[ContentBlocks, Tag("ContentBlocks")],
    Discriminator(
        _reply_kind, custom_error_type="scripted_reply", custom_error_message=_REPLY_FORMS
    ),
]
"""A scripted reply: text, one tool call, or a list of content blocks (DESIGN §12)."""


class ScriptedRule(_Strict):
    """A scripted reply chosen by matching the prompt against a regular expression."""

    match: Regex
    """Regular expression searched in the case's user messages, tool results included."""
    trials: Annotated[list[TrialCount], Field(min_length=1)] | None = None
    """Only for these trials of a case (1 is the first), e.g. ``[8, 9, 10]``: a rule that
    answers some trials differently scripts a flaky agent deterministically. Default: every
    trial."""
    model: Annotated[list[ModelName], Field(min_length=1)] | ModelName | None = None
    """Only for calls to this model (or any of these models), e.g. ``model: small``: with
    ``models: [...]`` a scripted scenario answers each model differently. Default: every
    model."""
    reply: Reply
    """The reply returned when the expression matches: text, ``{tool_use: {name, input}}``,
    or a list of content blocks."""


def _response_kind(value: Any) -> str | None:
    if isinstance(value, ScriptedRule) or (isinstance(value, dict) and "tool_use" not in value):
        return "ScriptedRule"
    return _reply_kind(value)


ScriptedResponse = Annotated[
    Annotated[str, Tag("str")]
    | Annotated[ToolUseReply, Tag("ToolUseReply")]
    | Annotated[ContentBlocks, Tag("ContentBlocks")]
    | Annotated[ScriptedRule, Tag("ScriptedRule")],
    Discriminator(
        _response_kind,
        custom_error_type="scripted_reply",
        custom_error_message=_REPLY_FORMS + ", or a rule {match, reply}",
    ),
]
UNION_TAGS = frozenset(
    {"str", "ToolUseReply", "ContentBlocks", "ScriptedRule", "TextBlock", "ToolUseBlock"}
)
"""Names pydantic puts in error locations for the branch of a union it tried."""


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
    responses: list[Reply] | None = None
    """Scripted replies for this case, in order (offline ``scripted`` provider): one per agent
    call, so a tool loop takes the next reply at each step; the last one repeats. A reply is
    text, ``{tool_use: {name, input}}``, or a list of content blocks."""
    turns: list[str] = Field(default_factory=list)
    """Follow-up user messages of a multi-turn conversation (Jinja templates), each sent after
    the model's previous final answer, in the same conversation. They see the case's names
    plus ``previous`` (the previous answer's text), ``answers`` (the answers so far) and
    ``turn`` (1 for the first follow-up). The case's output is the last answer; checks see
    every answer as ``answers``."""
    trials: TrialCount | None = None
    """How many independent times this case runs; wins over ``--trials`` and the scenario's
    ``trials``."""
    flaky: StrictBool = False
    """A case known to be flaky: it runs and is reported (labelled flaky, with its pass rate),
    never fails the goal, and always runs all its trials (it is there to be measured)."""


def _cases_schema(schema: dict[str, Any]) -> None:
    """Published schemas accept ``cases: {file: …}``, which the loader replaces by the data
    file's rows before the model sees them."""
    inline = {key: value for key, value in schema.items() if key not in ("description", "title")}
    for key in inline:
        del schema[key]
    data_file = {
        "type": "object",
        "properties": {
            "file": {
                "type": "string",
                "description": "A .jsonl, .csv, .yaml or .yml file of cases, relative to the "
                "scenario and inside its project.",
            }
        },
        "required": ["file"],
        "additionalProperties": False,
    }
    schema["anyOf"] = [inline, data_file]


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
    models: ModelNames | None = None
    """Models to compare, e.g. ``[claude-sonnet-4-5, claude-haiku-4-5]``: the scenario runs
    once per model (one run each) and the reports put them side by side. ``--model`` wins
    over it. The judge keeps ``model`` (or ``judge_model``), so every model is judged alike."""
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    """Prices of models goalctl does not know, by model name (longest prefix wins); these win
    over the project's ``prices`` and the built-in table. A cost check on a model with no price
    is refused before any call."""
    cases: list[Case] = Field(default_factory=list, json_schema_extra=_cases_schema)
    """Inputs to run; no cases means one case with an empty input. ``{file: cases.jsonl}``
    (also ``.csv``, ``.yaml``) reads them from a data file beside the scenario."""
    tools: list[ToolSpec] = Field(default_factory=list)
    """Tools the agent may call: ``{name, description, input_schema}`` and one implementation
    (``mock`` rules, a ``python`` function marked ``@goalctl.tool``, or a ``command``)."""
    trials: TrialCount | None = None
    """How many independent times each case runs (default 1); ``--trials`` wins over it, a
    case's own ``trials`` wins over both. Each criterion is then judged per case over its
    trials, and reports give pass rates with Wilson intervals, pass@k and pass^k."""
    early_stop: StrictBool = True
    """Stop a case's trials once no outcome of the remaining ones could change its verdict
    or the goal's (``--no-early-stop`` turns it off for a run)."""
    responses: list[ScriptedResponse] = Field(default_factory=list)
    """Scripted replies for the offline provider: reply *i* answers case *i*, or
    ``{match, reply}`` rules. A reply is text, ``{tool_use: {name, input}}``, or a list of
    content blocks (``[{type: text, text}, {type: tool_use, name, input}]``)."""
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
    workspace: str | None = None
    """A folder, relative to the scenario and inside its project, copied into a fresh folder for
    every case (for every agent kind); the agent works in it and world-state criteria
    (file_exists, file_matches, command_succeeds) check it afterwards. Without it, a scenario
    with world-state criteria gives each case an empty folder."""

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
    def cases(self) -> Sequence[Case]:
        """The cases to run: a list, or for a data file a :class:`CaseTable` that decodes
        one case at a time (index it; don't copy it whole)."""
        return self.spec.cases or [Case()]

    def case_name(self, index: int) -> str:
        case = self.cases[index]
        return case.name or f"case-{index + 1}"

    def line_of(self, *path: str | int) -> int:
        """File line that defines ``path`` (for annotations and reports)."""
        return self.source_map.find(path, key=True)[0]
