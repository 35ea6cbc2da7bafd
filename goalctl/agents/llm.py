"""The goal-seeking LLM agent: render → call → parse → evaluate, retrying with feedback."""

from __future__ import annotations

import re
from typing import Any

from goalctl.agents.base import CaseRun, PhasedAgent
from goalctl.evaluation import CaseOutput, shorten
from goalctl.providers.base import Message
from goalctl.templates import render_builtin

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
    """For each case: render the prompts, ask the model, parse, evaluate; when criteria are
    unmet and ``max_attempts`` allows, send the unmet criteria back and try again."""

    manifest_resource = "llm.yaml"

    async def execute(self, case: CaseRun) -> CaseOutput:
        wants_json = bool(self.context.scenario.goal.output_schema)
        max_attempts = int(self.config.get("max_attempts", 1))
        converse = bool(self.config.get("feedback", True))
        messages: list[Message] = []
        feedback: str | None = None
        result = CaseOutput(None, "", 0, "no attempt made")
        for attempt in range(1, max_attempts + 1):
            rendered = case.render(attempt=attempt, feedback=feedback)
            if not messages or not converse:
                messages = [Message("user", rendered.prompt)]
            response = await case.complete(
                messages,
                system=rendered.system,
                max_tokens=int(self.config.get("max_tokens", 1024)),
                stop=tuple(self.config.get("stop", ())),
            )
            output, error = (
                parse_json_output(response.text) if wants_json else (response.text, None)
            )
            result = CaseOutput(output, response.text, attempt, error)
            checks = await case.evaluate(result)
            unmet = [c for c in checks if not c.passed]
            if not unmet or attempt == max_attempts:
                break
            self.context.log(
                f"{case.name}: attempt {attempt} left {len(unmet)} criteria unmet; retrying"
            )
            goal = self.context.scenario.goal
            items = [
                {"description": goal.criterion(c.criterion).description, "reason": c.reason}
                for c in unmet
            ]
            # Templates see the feedback on every retry; `feedback: false` only stops it from
            # being sent as a turn of the conversation (a template may still place it).
            feedback = render_builtin("feedback.md.j2", unmet=items)
            if converse:
                messages = [
                    *messages,
                    Message("assistant", response.text),
                    Message("user", feedback),
                ]
        return result
