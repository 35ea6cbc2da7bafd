"""Checks of a scenario's case workspace and of what world-state criteria look for in it.

``workspace:`` must name a folder beside the scenario, inside its project (as the ``command``
agent's ``config.workspace`` must); a scenario sets one or the other, never both. A path a
``file_exists``/``file_matches`` criterion names must stay inside the workspace: absolute
paths and ``..`` are refused by the criterion's own rules (:mod:`goalctl.criterion_rules`),
and a symlink of the workspace folder that leads out is refused here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from goalctl.criterion_rules import is_template
from goalctl.errors import ConfigError
from goalctl.goal import Metric
from goalctl.scenario.model import ScenarioSpec

if TYPE_CHECKING:
    from goalctl.scenario.loader import _Reader

WORLD_METRICS = frozenset({Metric.FILE_EXISTS, Metric.FILE_MATCHES, Metric.COMMAND_SUCCEEDS})
"""Criteria checked in the case's workspace after the agent finished."""


def check_workspace(reader: _Reader, spec: ScenarioSpec, config: dict[str, Any]) -> None:
    """The scenario's ``workspace:`` folder, and the paths world-state criteria name in it."""
    source: Path | None = None
    if spec.workspace is not None:
        from goalctl.agents.external import workspace_source

        try:
            source = workspace_source(reader.path, spec.workspace)
        except ConfigError as exc:
            reader.at(
                ("workspace",),
                str(exc).removeprefix("workspace: "),
                "name a folder beside the scenario, inside its project",
            )
        if source is None and not spec.workspace:
            reader.at(("workspace",), "workspace is empty", "name a folder, or remove the key")
        if isinstance(config.get("workspace"), str) and config["workspace"]:
            reader.at(
                ("config", "workspace"),
                "the scenario sets `workspace:`, so config.workspace would be a second one",
                "keep one: the scenario's `workspace:` (every agent kind gets it) and remove "
                "config.workspace",
            )
    if source is not None:
        _paths_stay_inside(reader, spec, source)


def _paths_stay_inside(reader: _Reader, spec: ScenarioSpec, source: Path) -> None:
    root = source.resolve()
    for index, criterion in enumerate(spec.success_criteria):
        where: tuple[str | int, ...] = ("success_criteria", index, "target")
        if criterion.metric is Metric.FILE_EXISTS:
            path = criterion.target
        elif criterion.metric is Metric.FILE_MATCHES and isinstance(criterion.target, dict):
            path, where = criterion.target.get("path"), (*where, "path")
        else:
            continue
        if not isinstance(path, str) or is_template(path) or Path(path).is_absolute():
            continue  # templates are checked per case; other shapes by the criterion's rules
        try:
            found = (root / path).resolve()
        except (OSError, RuntimeError):
            continue
        if not found.is_relative_to(root):
            reader.at(
                where,
                f"{path!r} leads out of the workspace {spec.workspace!r} (through a symlink)",
                "name a file inside the workspace; a run refuses paths that lead out",
            )
