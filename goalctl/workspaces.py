"""Case workspaces: a fresh folder per case, for the agent to work in and world-state criteria
to check (DESIGN §12).

A scenario with ``workspace: <folder>`` gets, for every case, a copy of that folder (without
``.git``, virtualenvs and caches: :data:`goalctl.agents.external.WORKSPACE_IGNORED`); one with
world-state criteria and no ``workspace:`` gets an empty folder. The runner makes it before the
agent runs, the agent sees it as :attr:`CaseRun.workspace`, the criteria as
:attr:`CaseOutput.workspace`, and it is removed once the case is evaluated. All of a run's
workspaces live in one scratch folder, removed at cleanup whatever happened.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from pathlib import Path

from goalctl.scenario.model import Scenario
from goalctl.scenario.workspace_checks import WORLD_METRICS


def needs_workspace(scenario: Scenario) -> bool:
    """Whether the scenario's cases get a workspace: it declares one, or checks one."""
    if scenario.spec.workspace is not None:
        return True
    return any(c.metric in WORLD_METRICS for c in scenario.goal.success_criteria)


class CaseWorkspaces:
    """Makes and removes the case workspaces of one scenario run."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.needed = needs_workspace(scenario)
        self._scratch: Path | None = None
        self._numbers = itertools.count(1)

    async def make(self) -> Path | None:
        """A fresh workspace for one case; None when the scenario's cases need none.

        Raises :class:`~goalctl.errors.ConfigError` when the ``workspace:`` folder is gone."""
        if not self.needed:
            return None
        from goalctl.agents.external import make_workspace, workspace_source

        source = workspace_source(self.scenario.path, self.scenario.spec.workspace or "")
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="goalctl-workspaces-"))
        target = self._scratch / f"case-{next(self._numbers)}"
        # Copying is disk work: in a thread, so other cases (and the gateway) keep going.
        return await asyncio.to_thread(make_workspace, source, target)

    async def remove(self, workspace: Path | None) -> None:
        """Remove a case's workspace, whatever the agent and the checks left in it."""
        if workspace is not None:
            await asyncio.to_thread(shutil.rmtree, workspace, ignore_errors=True)

    async def close(self) -> None:
        """Remove the run's scratch folder (and any workspace an interrupted case left)."""
        if self._scratch is not None:
            await asyncio.to_thread(shutil.rmtree, self._scratch, ignore_errors=True)
            self._scratch = None
