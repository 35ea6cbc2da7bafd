"""The ``command`` agent: a team's own agent as a program, in any language (DESIGN §11).

Per case: a fresh working directory (a copy of ``workspace``), the case document as JSON on
stdin, the gateway's URLs and a per-case key in the environment, ``$GOALCTL_TRAJECTORY`` for
steps the agent reports itself; stdout is the output. The process runs in its own process
group with a watchdog (:mod:`goalctl.processes`), so a timeout, a stop, Ctrl-C or even
``kill -9`` of goalctl leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from goalctl.agents.base import CaseRun, PhasedAgent
from goalctl.agents.external import (
    attempts,
    case_document,
    child_environment,
    expand_env,
    failure,
    gateway_lease,
    make_workspace,
    remove_scratch,
    until_stopped,
    workspace_source,
)
from goalctl.errors import ConfigError, UsageError
from goalctl.evaluation import CaseOutput
from goalctl.processes import MAX_STDOUT_BYTES, run_process
from goalctl.reading import ReadError, loads_json
from goalctl.scenario.model import Scenario
from goalctl.trajectory import Trajectory, TrajectoryError

PREVIEW = 120


class CommandAgent(PhasedAgent):
    """Runs ``command`` once per case (and per attempt), reading its output from stdout."""

    manifest_resource = "command.yaml"
    scratch: Path | None = None
    """The run's scratch folder: each attempt's working directory and trajectory file."""

    @classmethod
    def preflight(cls, scenario: Scenario, config: Mapping[str, Any]) -> None:
        try:
            expand_env(config.get("env") or {})
            workspace_source(scenario.path, str(config.get("workspace", "")))
        except ConfigError as exc:
            raise UsageError(f"{scenario.path}: config.{exc}") from None

    async def initialize(self) -> None:
        # Checked once, before any case: a missing variable or folder fails the run at once.
        self.env = expand_env(self.config.get("env") or {})
        scenario_path = self.context.scenario.path
        self.workspace = workspace_source(scenario_path, str(self.config.get("workspace", "")))
        # One folder for the run, so an attempt costs one directory, not two; whatever an
        # interrupted attempt leaves in it goes at cleanup.
        self.scratch = Path(tempfile.mkdtemp(prefix="goalctl-cases-"))
        self._attempts = itertools.count(1)

    async def cleanup(self) -> None:
        if self.scratch is not None:
            await asyncio.to_thread(shutil.rmtree, self.scratch, ignore_errors=True)
            self.scratch = None

    async def execute(self, case: CaseRun) -> CaseOutput:
        return await attempts(self.context, case, lambda *args: self._attempt(case, *args))

    async def _attempt(
        self, case: CaseRun, attempt: int, feedback: str | None, trajectory: Trajectory
    ) -> CaseOutput:
        rendered = case.render(attempt=attempt, feedback=feedback)
        document = case_document(self.context, case, rendered, attempt, feedback)
        if self.scratch is None:
            raise RuntimeError("the command agent was not initialized")
        argv: list[str] = list(self.config["command"])
        number = next(self._attempts)
        # The scenario's own `workspace:` is the runner's: the case's one folder for every
        # attempt, checked by world-state criteria afterwards and removed by the runner.
        own = case.workspace is None
        workdir = case.workspace or self.scratch / f"case-{number}"
        reported = self.scratch / f"case-{number}.trajectory.jsonl"
        async with gateway_lease(self.context, case, trajectory) as lease:
            try:
                if own:
                    # Copying a workspace and removing it are disk work: in a thread, so the
                    # gateway keeps serving the other cases' calls meanwhile.
                    await asyncio.to_thread(make_workspace, self.workspace, workdir)
                environment = child_environment(
                    lease.environment,
                    {
                        "GOALCTL_TRAJECTORY": str(reported),
                        "GOALCTL_CASE": case.name,
                        "GOALCTL_ATTEMPT": str(attempt),
                    },
                    self.env,
                )
                try:
                    process = await until_stopped(
                        lease.session,
                        run_process(
                            argv,
                            stdin=json.dumps(document, ensure_ascii=False).encode(),
                            cwd=workdir,
                            env=environment,
                            timeout_s=float(self.config.get("timeout_s", 300)),
                            on_stderr=lambda line: self.context.log(f"{case.name} stderr: {line}"),
                        ),
                    )
                except FileNotFoundError:
                    raise failure(f"command not found: {argv[0]!r}", "") from None
                except PermissionError:
                    raise failure(f"command is not executable: {argv[0]!r}", "") from None
                try:
                    trajectory.read_reported(reported)
                except TrajectoryError as exc:
                    raise failure("the agent reported a malformed step", str(exc)) from None
            finally:
                if own:
                    await asyncio.to_thread(remove_scratch, workdir, reported)
                else:
                    await asyncio.to_thread(reported.unlink, missing_ok=True)
        timeout = float(self.config.get("timeout_s", 300))
        if process.timed_out:
            raise failure(
                f"command timed out after {timeout:g}s (its process group was killed)",
                process.stderr_tail,
            )
        if process.returncode != 0:
            raise failure(f"command exited with status {process.returncode}", process.stderr_tail)
        if process.truncated:
            raise failure(
                f"command wrote more than {MAX_STDOUT_BYTES // 2**20} MiB on stdout, more than "
                "goalctl keeps; write large results to a file in the workspace",
                "",
            )
        return self._output(process.stdout, attempt, trajectory)

    def _output(self, stdout: bytes, attempt: int, trajectory: Trajectory) -> CaseOutput:
        text = stdout.decode("utf-8", "replace")
        mode = self.config.get("output") or (
            "json" if self.context.scenario.goal.output_schema else "text"
        )
        if mode == "text":
            return CaseOutput(text.rstrip("\n"), text, attempt, None, trajectory.to_json())
        try:
            value: Any = loads_json(text.strip(), "the command's output")
        except ReadError as exc:
            preview = " ".join(text.split())[:PREVIEW]
            raise failure(
                f"{exc}", f"stdout began: {preview!r}" if preview else "stdout was empty"
            ) from None
        return CaseOutput(value, text, attempt, None, trajectory.to_json())
