"""The goal-seeking LLM agent: render → converse (tool calls, turns) → parse → evaluate, retrying
with feedback; the conversation itself is in :mod:`goalctl.agents.conversation`."""

from __future__ import annotations

import re
from typing import Any

from goalctl.agents.base import AgentContext, CaseRun, PhasedAgent
from goalctl.agents.conversation import Conversation, Settings, TurnEnd
from goalctl.errors import TemplateError
from goalctl.evaluation import CaseOutput, shorten
from goalctl.scenario.render import (
    LocatedTemplateError,
    case_context,
    render_turn,
    turn_template,
)
from goalctl.templates import render_builtin
from goalctl.tools.toolbox import ToolBox
from goalctl.trajectory import Trajectory

_FENCED_JSON = re.compile(r"```(?:json)?\s*\n(.*?)\n```", re.DOTALL)


def parse_json_output(text: str) -> tuple[Any, str | None]:
    """The JSON value in a reply: the whole text, a fenced block, or the outermost braces.

    Parsed with bounded nesting and without NaN or Infinity, which would poison reports and
    state files; when no candidate parses, the text is the output and the error says why.
    """
    from goalctl.reading import MAX_JSON_DEPTH, ReadError, json_depth_exceeds, loads_json

    candidates = [text.strip()]
    fenced = _FENCED_JSON.search(text)
    if fenced:
        candidates.append(fenced.group(1).strip())
    for opening, closing in (("{", "}"), ("[", "]")):
        start, end = text.find(opening), text.rfind(closing)
        if 0 <= start < end:
            candidates.append(text[start : end + 1])
    too_deep = False
    for candidate in candidates:
        if json_depth_exceeds(candidate):
            too_deep = True
            continue
        try:
            return loads_json(candidate, "output"), None
        except ReadError:
            continue
    if too_deep:
        return text, f"output is nested too deeply (more than {MAX_JSON_DEPTH} levels)"
    return text, f"output is not JSON: {shorten(text, 80)!r}"


class LLMAgent(PhasedAgent):
    """For each case: render the prompts, hold the conversation (tool calls and follow-up
    turns included), parse, evaluate; when criteria are unmet and ``max_attempts`` allows,
    send the unmet criteria back and try again.

    One trajectory covers the whole case, every attempt included: a tool's effects (a file a
    command wrote) outlast the attempt that called it. An attempt that continues the
    conversation sends the feedback, then the case's ``turns`` again; one that starts afresh
    sends the prompt, then the turns.
    """

    manifest_resource = "llm.yaml"

    def __init__(self, context: AgentContext) -> None:
        super().__init__(context)
        self.toolbox = ToolBox.for_scenario(context.scenario, context.monotonic)

    async def execute(self, case: CaseRun) -> CaseOutput:
        scenario = self.context.scenario
        wants_json = bool(scenario.goal.output_schema)
        max_attempts = int(self.config.get("max_attempts", 1))
        converse = bool(self.config.get("feedback", True))
        settings = Settings(
            max_tokens=int(self.config.get("max_tokens", 1024)),
            stop=tuple(self.config.get("stop", ())),
            max_steps=int(self.config.get("max_steps", 10)),
        )
        trajectory = Trajectory()
        conversation: Conversation | None = None
        feedback: str | None = None
        result = CaseOutput(None, "", 0, "no attempt made")
        for attempt in range(1, max_attempts + 1):
            rendered = case.render(attempt=attempt, feedback=feedback)
            if conversation is None or not converse or feedback is None:
                conversation = Conversation(case, self.toolbox, trajectory, settings)
                opening = rendered.prompt
            else:
                opening = feedback
            answers, end = await self._converse(
                case, conversation, opening, rendered.system, attempt, feedback
            )
            output, error = parse_json_output(end.text) if wants_json else (end.text, None)
            result = CaseOutput(
                output,
                end.text,
                attempt,
                end.error or error,
                trajectory.to_json(),
                answers=answers,
            )
            if not end.final:
                # A refused call or max_steps ends the case: the runner evaluates what there is.
                if end.error:
                    self.context.log(f"{case.name}: {end.error}")
                break
            checks = await case.evaluate(result)
            unmet = [c for c in checks if not c.passed]
            if not unmet or attempt == max_attempts:
                break
            self.context.log(
                f"{case.name}: attempt {attempt} left {len(unmet)} criteria unmet; retrying"
            )
            goal = scenario.goal
            items = [
                {"description": goal.criterion(c.criterion).description, "reason": c.reason}
                for c in unmet
            ]
            # Templates see the feedback on every retry; `feedback: false` only stops it from
            # being sent as a turn of the conversation (a template may still place it).
            feedback = render_builtin("feedback.md.j2", unmet=items)
        return result

    async def _converse(
        self,
        case: CaseRun,
        conversation: Conversation,
        opening: str,
        system: str,
        attempt: int,
        feedback: str | None,
    ) -> tuple[list[str], TurnEnd]:
        """The opening message, then each of the case's ``turns``: every answer, and how the
        last turn held ended."""
        end = await conversation.turn(opening, system=system)
        answers = [end.text]
        if not case.case.turns or not end.final:
            return answers, end
        scenario = self.context.scenario
        context = case_context(
            scenario.goal,
            self.config,
            case.case,
            case.name,
            scenario.spec.phase_instructions,
            attempt=attempt,
            feedback=feedback,
        )
        for number, source in enumerate(case.case.turns):
            path = ("cases", case.index, "turns", number)
            found = scenario.source_map.get(path)
            line = (found.body_line or found.line) if found else 0
            template = turn_template(source, line, case.index, number)
            try:
                message = render_turn(template, context, answers)
            except LocatedTemplateError as exc:
                where = f" (line {exc.file_line})" if exc.file_line else ""
                raise TemplateError(f"{template.name}{where}: {exc}") from None
            end = await conversation.turn(message, system=system)
            answers.append(end.text)
            if not end.final:
                break
        return answers, end
