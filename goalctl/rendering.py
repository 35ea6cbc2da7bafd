"""``goalctl render``: a scenario's prompts for each case, exactly as a run would send them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from goalctl.errors import ScenarioError, UsageError
from goalctl.overrides import ConfigOverrides
from goalctl.scenario.loader import load_scenario
from goalctl.scenario.render import LocatedTemplateError, RenderedCase, case_context, render_case


def render_scenario(
    path: Path, *, case_names: Sequence[str] = (), config_overrides: Sequence[str] = ()
) -> list[RenderedCase]:
    """Render the system and user prompt of each case (or of the cases named)."""
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such file"
        raise UsageError(f"{what}: {path}")
    scenario = load_scenario(path)
    config = ConfigOverrides(pairs=tuple(config_overrides)).resolve(scenario)
    names = [scenario.case_name(index) for index in range(len(scenario.cases))]
    unknown = [name for name in case_names if name not in names]
    if unknown:
        raise UsageError(f"no case named {unknown[0]!r} in {path} (cases: {', '.join(names)})")
    rendered = []
    goal_context = scenario.goal.to_prompt_context()
    for index, case in enumerate(scenario.cases):
        if case_names and names[index] not in case_names:
            continue
        context = case_context(
            scenario.goal,
            config,
            case,
            names[index],
            scenario.spec.phase_instructions,
            goal_context=goal_context,
        )
        try:
            rendered.append(render_case(scenario.templates, context, names[index]))
        except LocatedTemplateError as exc:
            from goalctl.errors import Problem

            line = exc.file_line or scenario.line_of(exc.template.name)
            raise ScenarioError(
                [Problem(str(path), line, 1, str(exc), exc.template.name)]
            ) from None
    return rendered
