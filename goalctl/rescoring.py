"""``goalctl rescore RUN_ID``: a run's stored outputs, evaluated against the scenario's
current criteria and constraints, as a new run — the agent does not run again.

Each case's stored output, text, answers and trajectory are checked as the runner checks a
fresh output; judge calls go through the run's meter (metered, recorded, under the budgets).
The new run has its own id, state, events and reports, and names the run it rescored
(``rescored_from``). What cannot be evaluated again is refused before any call: a case
renamed, added or given another input since the run, and criteria that look at the case's
workspace, which is removed when a case ends.
"""

from __future__ import annotations

import asyncio
import json
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from goalctl.errors import GoalctlError, UsageError
from goalctl.evaluation import CaseOutput, ConstraintCheck, Metrics
from goalctl.metering import BudgetExceeded, Clock, SystemClock
from goalctl.outcomes import Observer, RunOutcome, SilentObserver
from goalctl.planning import Plan, RunOptions, plan_scenario
from goalctl.reports.data import CaseRecord
from goalctl.runner import ScenarioRun
from goalctl.scenario.model import Scenario
from goalctl.state import TERMINAL, RunState, RunStore, new_run_id
from goalctl.trials import MAX_TRIALS

WORKSPACE_METRICS = ("file_exists", "file_matches", "command_succeeds")


def rescore_run(
    store: RunStore,
    run: str,
    observer: Observer | None = None,
    clock: Clock | None = None,
    make_id: Callable[[str], str] = new_run_id,
) -> RunOutcome:
    """Rescore run ``run`` (an id, a unique prefix or a goal id); returns the new run.

    It runs as the rescored run ran: its provider, model, config, prices and redaction.
    """
    source = store.resolve(run)
    state = store.load(source)
    records = stored_records(store, state)
    scenario = current_scenario(state, records)
    settings = replace(
        RunOptions.from_state(state.options),
        provider=state.provider,
        model=state.model,
        baseline=None,
    )
    plan = plan_scenario(scenario, settings, config=dict(state.config))
    summary = _agent_summary(store, source)
    rescore = Rescore(
        plan,
        store,
        observer or SilentObserver(),
        clock or SystemClock(),
        make_id(scenario.id),
        settings,
        state,
        records,
        summary,
    )
    return asyncio.run(rescore.run())


class StoredRecords:
    """The trial records of a finished run in (case, trial) order, read from its checkpoint
    journal one at a time whenever they are walked: only where each line is stays in memory."""

    def __init__(self, path: Path, entries: Iterable[tuple[int, dict[str, Any]]]) -> None:
        self._path = path
        keys, offsets = array("q"), array("q")
        for offset, line in entries:
            keys.append(int(line["case"]) * (MAX_TRIALS + 1) + int(line.get("trial", 1)))
            offsets.append(offset)
        order = sorted(range(len(keys)), key=keys.__getitem__)  # stable: a resumed case's
        self._offsets = array("q", (offsets[i] for i in order))  # lines keep their order

    def __len__(self) -> int:
        return len(self._offsets)

    def __iter__(self) -> Iterator[CaseRecord]:
        with self._path.open("rb") as journal:
            for offset in self._offsets:
                journal.seek(offset)
                yield CaseRecord.from_json(json.loads(journal.readline()))


def stored_records(store: RunStore, state: RunState) -> StoredRecords:
    """The finished cases of a finished run, from its checkpoint journal."""
    run_id = state.run_id
    if state.status not in TERMINAL:
        raise UsageError(
            f"run {run_id} is {state.status.value}: only a finished run can be rescored"
            + (
                f"; resume it with `goalctl start {run_id}` first"
                if state.status.value in ("stopped", "interrupted")
                else ""
            )
        )
    # One line per trial of each case (one per case without trials).
    records = StoredRecords(store.checkpoint_path(run_id), store.checkpoint_entries(run_id))
    if not records:
        raise UsageError(
            f"run {run_id} stored no case outputs (no case finished): nothing to rescore"
        )
    return records


def current_scenario(state: RunState, records: Iterable[CaseRecord]) -> Scenario:
    """The run's scenario as it is now, with the cases the run ran, checked compatible."""
    from goalctl.scenario.loader import load_scenario
    from goalctl.scenario.selection import select_cases

    path = Path(state.scenario)
    if not path.is_file():
        raise UsageError(f"the scenario of run {state.run_id} is gone: {path}")
    scenario = load_scenario(path)
    patterns = [p for p in state.options.get("cases") or () if isinstance(p, str)]
    selected = select_cases(scenario, patterns) if patterns else scenario
    if selected is None:
        raise UsageError(f"run {state.run_id}: no case of {path} matches its --case any more")
    names = {selected.case_name(i): i for i in range(len(selected.cases))}
    # A case's input as the run stored it (its last line): one record in memory at a time.
    stored = {record.name: record.input for record in records}
    problems = []
    gone = [name for name in stored if name not in names]
    if gone:
        problems.append("cases renamed or removed since the run: " + ", ".join(map(repr, gone)))
    new = [name for name in names if name not in stored]
    if new:
        problems.append(
            "cases with no stored output (added since the run, or not run by it): "
            + ", ".join(map(repr, new))
        )
    changed = [
        n for n, given in stored.items() if n in names and given != selected.cases[names[n]].input
    ]
    if changed:
        problems.append("cases whose input changed since the run: " + ", ".join(map(repr, changed)))
    watching = [c.id for c in selected.goal.success_criteria if c.metric.value in WORKSPACE_METRICS]
    if watching:
        problems.append(
            "criteria that check the case's workspace, which is removed when a case ends: "
            + ", ".join(map(repr, watching))
        )
    if problems:
        raise UsageError(
            f"cannot rescore run {state.run_id} with {path}: "
            + "; ".join(problems)
            + "; run the scenario again with `goalctl run`"
        )
    return selected


def _agent_summary(store: RunStore, run_id: str) -> str | None:
    from goalctl.reporting import load_report

    try:
        summary = load_report(store, run_id).get("agent_summary")
    except GoalctlError:
        return None  # an errored run may have no report: its cases are in the checkpoint
    return summary if isinstance(summary, str) else None


class Rescore(ScenarioRun):
    """A run whose cases are stored outputs evaluated again, not the agent run again."""

    def __init__(
        self,
        plan: Plan,
        store: RunStore,
        observer: Observer,
        clock: Clock,
        run_id: str,
        options: RunOptions,
        source: RunState,
        stored: Iterable[CaseRecord],
        summary: str | None,
    ) -> None:
        super().__init__(plan, store, asyncio.Semaphore(1), observer, clock, run_id, options)
        self.source = source
        self.stored = stored
        self.summary = summary
        self.indexes = {self.scenario.case_name(i): i for i in range(len(self.scenario.cases))}

    async def run(self) -> RunOutcome:
        self.phase = ""
        state = self.initial_state()
        state.rescored_from = self.source.run_id
        self.store.create(state)
        self.store.claim(self.run_id)
        self.observer.run_started(self.run_id, self.scenario, len(self.scenario.cases))
        self.log(f"rescoring the stored outputs of run {self.source.run_id}")
        try:
            self.set_phase("execute")
            for record in self.stored:
                self.journal(await self.rescore_case(record))
        except BudgetExceeded as exc:
            self.budget_stop = exc.check
            self.log(f"budget exceeded: {exc.check.constraint}: {exc.check.evidence}", "error")
        finally:
            self.set_phase("cleanup")
            await self._close_providers()
        return await self.finish(self.summary)

    async def rescore_case(self, stored: CaseRecord) -> CaseRecord:
        """The stored case, its criteria and constraints checked again; an errored case
        produced no output and stays as it was."""
        from goalctl.scenario.render import case_context

        index = self.indexes[stored.name]
        if stored.status == "error":
            return replace(stored, index=index, flaky=self.scenario.cases[index].flaky)
        case = self.scenario.cases[index]
        context = case_context(
            self.scenario.goal,
            self.plan.config,
            case,
            stored.name,
            self.scenario.spec.phase_instructions,
            goal_context=self.scenario.goal.to_prompt_context(),
        )
        output = CaseOutput(
            stored.output,
            stored.text,
            attempts=stored.attempts,
            error=stored.error,
            trajectory=list(stored.trajectory),
            answers=list(stored.answers),
        )
        # Checks read what the agent did (its metrics); the judge's calls are this run's.
        metrics = Metrics(**{k: v for k, v in stored.metrics.items() if k in Metrics().names()})
        spent = Metrics()

        async def judge(prompt: str) -> str:
            reply = await self.meter.complete(
                prompt, purpose="judge", case=stored.name, metrics=spent
            )
            return reply.text

        try:
            checks = await self.evaluator.check_case(context, output, metrics, judge)
            constraints = await self.evaluator.check_constraints(context, output, metrics, judge)
        except GoalctlError as exc:
            return CaseRecord.errored(
                index, stored.name, case, metrics, str(exc), trial=stored.trial
            )
        record = CaseRecord.finished(
            index, stored.name, case, output, metrics, checks, constraints, trial=stored.trial
        )
        return replace(record, metrics=stored.metrics)

    def _run_checks(self) -> list[ConstraintCheck]:
        """Constraints over the totals are about what the agent spent: the rescored run's."""
        from goalctl.evaluation import reads_only_metrics

        totals = self.source.totals or {}
        names: dict[str, Any] = {k: totals.get(k, 0) for k in Metrics().names()}
        checks = [
            self.evaluator.check_expression(constraint, names)
            for constraint in self.scenario.goal.constraints
            if reads_only_metrics(constraint)
        ]
        stop = self.budget_stop
        if stop is not None:
            # The budget held over the agent's spend but this run's judge calls broke it.
            checks = [c for c in checks if c.constraint != stop.constraint] + [stop]
        return checks

    def complete_report(self, report: dict[str, Any]) -> dict[str, Any]:
        return report | {
            "rescored_from": {
                "run_id": self.source.run_id,
                "goal_version": self.source.goal_version,
                "totals": dict(self.source.totals or {}),
            }
        }
