"""Running scenarios: phases, concurrent cases, budgets, durable state, reports.

One :class:`ScenarioRun` per scenario: it records the run in the :class:`RunStore`, drives the
agent through initialize → execute (cases concurrently, under one semaphore shared by every
scenario of the command) → report → cleanup, journals each finished case before counting it,
and writes ``report.md`` and ``report.json``. Each case runs in :mod:`goalctl.case_execution`.
The library never prints: progress goes to an observer.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goalctl.agents.base import AgentContext, PhasedAgent
from goalctl.caps import cap_strings
from goalctl.case_execution import CaseExecutor, EveryCaseFails
from goalctl.errors import GoalctlError, ProviderError
from goalctl.evaluation import ConstraintCheck, Evaluator, is_budget
from goalctl.excerpts import plural
from goalctl.metering import BudgetExceeded, Clock, Meter, SystemClock
from goalctl.outcomes import Observer, RunOutcome, SilentObserver
from goalctl.planning import Plan, RunOptions, effective_concurrency, initial_state, redactor_for
from goalctl.report_files import write_reports
from goalctl.reports.data import CaseRecord, build_report
from goalctl.reports.journaled import JournaledCases
from goalctl.state import RunState, RunStatus, RunStore, new_run_id
from goalctl.trials import planned_trials
from goalctl.trials.book import TrialBook
from goalctl.trials.summary import case_summary_line
from goalctl.verdict import case_word, verdict_word

if TYPE_CHECKING:
    from goalctl.gateway import Gateway

PROGRESS_INTERVAL_S = 0.5
"""How often ``cases_done`` in state.json is refreshed while cases finish."""


class ScenarioRun:
    """One run of one scenario."""

    def __init__(
        self,
        plan: Plan,
        store: RunStore,
        semaphore: asyncio.Semaphore,
        observer: Observer,
        clock: Clock,
        run_id: str,
        options: RunOptions,
    ) -> None:
        self.plan = plan
        self.scenario = plan.scenario
        self.store = store
        self.observer = observer
        self.clock = clock
        self.run_id = run_id
        self.options = options
        self.evaluator = Evaluator(self.scenario, plan.config)
        self.redactor = redactor_for(self.scenario, options)
        budgets = [c for c in self.scenario.goal.constraints if is_budget(c)]
        self.meter = Meter(
            plan.agent_route,
            plan.judge_route,
            budgets,
            self.evaluator,
            clock,
            self._transcript,
            plan.prices,
            self.redactor,
        )
        planned = planned_trials(self.scenario.cases, self.scenario.spec.trials, options.trials)
        early_stop = options.early_stop and self.scenario.spec.early_stop
        self.book = TrialBook(self.scenario, planned, early_stop)
        """Where each trial's record is in the checkpoint, and what the next trials need."""
        self.workers = max(1, effective_concurrency(options, [self.scenario]))
        """How many units of work run at once at most (all scenarios share one semaphore)."""
        self.budget_stop: ConstraintCheck | None = None
        self.error: str | None = None
        self.stopped = False
        self._gateway: Gateway | None = None
        self._gateway_lock = asyncio.Lock()
        self._state_flush: asyncio.TimerHandle | None = None
        self._state_written: tuple[str, int] = ("", 0)
        self.started_at: str | None = None
        self.cases = CaseExecutor(plan, self.evaluator, self.meter, clock, semaphore)

    # -- state --------------------------------------------------------------------------

    def _transcript(self, record: dict[str, Any]) -> None:
        self.store.append_transcript(self.run_id, cap_strings(self.redactor.data(record)))

    def log(self, message: str, level: str = "info", **extra: Any) -> None:
        redact = self.redactor.data
        self.store.append_event(self.run_id, level, self.phase, redact(message), **redact(extra))

    def set_phase(self, phase: str) -> None:
        """Log the phase at once; state.json learns it within :data:`PROGRESS_INTERVAL_S`.

        A scenario of a few cases goes through its four phases in milliseconds: writing
        state.json (two fsyncs) for each made a run of many small scenarios slow. The final
        write carries whatever was still pending, and a phase that lasts is written by timer.
        """
        self.phase = phase
        self.log(f"phase {phase}")
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        """Write the phase and progress to state.json within :data:`PROGRESS_INTERVAL_S`."""
        if self._state_flush is None:
            loop = asyncio.get_running_loop()
            self._state_flush = loop.call_later(PROGRESS_INTERVAL_S, self._flush_state)

    def _flush_state(self) -> None:
        self._state_flush = None
        written = (self.phase, self.book.done())
        if written == self._state_written:  # a scenario waiting for slots changes nothing
            return
        self._state_written = written

        def change(state: RunState) -> None:
            state.phase, state.cases_done = written

        self.store.update(self.run_id, change)

    def _settle_flush(self) -> None:
        """The final write says everything: no progress write may land after it."""
        if self._state_flush is not None:
            self._state_flush.cancel()
            self._state_flush = None

    def initial_state(self) -> RunState:
        return initial_state(self.plan, self.options, self.run_id, self.clock)

    # -- phases -------------------------------------------------------------------------

    async def run(self) -> RunOutcome:
        """Run (or resume) the scenario; a cancellation (``goalctl stop``) ends it ``stopped``."""
        self.phase = ""
        if self.store.exists(self.run_id):
            state = self.store.claim(self.run_id)
        else:
            # Created already ours: one durable write instead of a create and a claim.
            state = self.initial_state()
            # Synchronous, like the run's other state writes: no cancellation (a stop) can
            # come between the run's state and the handling of that stop.
            self.store.create(state, claimed=True)
        self.started_at = state.started_at
        self._state_written = (state.phase, state.cases_done)
        self.restore(state)
        self.observer.run_started(self.run_id, self.scenario, len(self.scenario.cases))
        agent = self._agent()
        summary: str | None = None
        try:
            if state.stop_requested:
                raise asyncio.CancelledError
            self.set_phase("initialize")
            await agent.initialize()
            self.set_phase("execute")
            await self.execute(agent)
            if self.budget_stop is None and self.error is None:
                self.set_phase("report")
                summary = await agent.report(self._cases())
        except BudgetExceeded as exc:
            self.budget_stop = exc.check
        except ProviderError as exc:
            self.error = str(exc)
        except GoalctlError as exc:
            self.error = str(exc)
        except Exception as exc:  # an agent's own bug: the run errored, goalctl did not
            self.error = f"agent {self.scenario.spec.agent!r} failed: {type(exc).__name__}: {exc}"
        except asyncio.CancelledError:
            self.stopped = True
        finally:
            self.set_phase("cleanup")
            await self._cleanup(agent)
        return await self.finish(summary)

    def restore(self, state: RunState) -> None:
        """Take back the cases a previous process finished (resume), and its totals."""
        for offset, line in self.store.checkpoint_entries(self.run_id):
            record = CaseRecord.from_json(line)
            self.book.add(record, offset)
            for name in ("cost_usd", "input_tokens", "output_tokens", "llm_calls", "attempts"):
                value = getattr(self.meter.totals, name) + record.metrics.get(name, 0)
                setattr(self.meter.totals, name, value)
        previous_totals = state.totals or {}
        self.meter.unpriced.update(dict.fromkeys(previous_totals.get("unpriced_models") or []))
        self.meter.simulated = previous_totals.get("cost_basis") == "simulated"
        previous = float(state.totals.get("elapsed_s", 0.0)) if state.totals else 0.0
        self.meter.started -= previous
        if self.book.started():
            done, total = self.book.done(), len(self.scenario.cases)
            trials = ""
            if self.book.with_trials:
                trials = f" ({plural(self.book.trials_run(), 'trial')} kept)"
            self.log(f"resumed: {done} of {total} cases already finished{trials}")

    def _agent(self) -> PhasedAgent:
        from goalctl.agents.registry import agent_class

        context = AgentContext(
            self.scenario,
            self.plan.config,
            self.log,
            self.meter.complete,
            self._open_gateway,
            self.options.concurrency,
            self.clock.monotonic,
        )
        return agent_class(self.scenario.spec.agent)(context)

    async def _open_gateway(self) -> Gateway:
        """The run's model gateway, started on first use and closed at cleanup."""
        async with self._gateway_lock:
            if self._gateway is None:
                from goalctl.gateway import Gateway

                gateway = Gateway()
                await gateway.start()
                self._gateway = gateway
                self.log(f"model gateway listening on {gateway.url}")
            return self._gateway

    async def _cleanup(self, agent: PhasedAgent) -> None:
        try:
            await agent.cleanup()
        except Exception as exc:
            self.log(f"cleanup failed: {type(exc).__name__}: {exc}", "warning")
        if self._gateway is not None:
            await self._gateway.aclose()
            self._gateway = None
        await self.cases.close()
        await self._close_providers()

    async def _close_providers(self) -> None:
        """Each provider once, though the agent and the judge may share one."""
        routes = {
            id(r.provider): r.provider for r in (self.plan.agent_route, self.plan.judge_route)
        }
        for provider in routes.values():
            try:
                await provider.aclose()
            except Exception as exc:
                self.log(f"closing provider {provider.name} failed: {exc}", "warning")

    async def execute(self, agent: PhasedAgent) -> None:
        """Run the trials left: a pool of workers, as many as may run at once, each taking
        the next unit of work when it is done with one (a task per case would cost kilobytes
        per case before any ran)."""
        count = sum(1 for _ in self.book.work())
        units = self.book.work()
        tasks = [
            asyncio.create_task(self._worker(agent, units)) for _ in range(min(self.workers, count))
        ]
        halted: EveryCaseFails | None = None
        try:
            for finished in asyncio.as_completed(tasks):
                await finished
        except BudgetExceeded as exc:
            self.budget_stop = exc.check
            self.log(f"budget exceeded: {exc.check.constraint}: {exc.check.evidence}", "error")
        except EveryCaseFails as exc:
            halted = exc
        finally:
            # Each trial is journaled the moment it ends (see _trials), so a stop or a budget
            # landing now loses no finished trial; the rest are cancelled, never run again.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if halted is not None:
            record = halted.record
            if not self.book.has(record.index, record.trial):
                # Kept quietly: the run's error below is the one message about it.
                self.journal(record, announce=False)
            total = len(self.scenario.cases)
            self.error = (
                f"case {halted.case!r}: {halted}; stopped the run: this error would fail every "
                f"case, so {total - self.book.done()} of {total} cases not run"
            )
            self.log(self.error, "error")

    async def _worker(self, agent: PhasedAgent, units: Iterator[tuple[int, list[int]]]) -> None:
        # Workers share one generator: each takes the next unit when it has finished one.
        for index, trials in units:
            for trial in trials:
                if self.book.finished(index):
                    break  # settled: no remaining trial could change its verdict
                record = await self.cases.run(agent, index, trial)
                self.journal(record)
                # An agent that never waits (scripted, replay) would let one worker run every
                # case in one step of the loop: the progress timer, the other workers and the
                # signal handlers that stop a run (`goalctl stop`) would not run until the end.
                await asyncio.sleep(0)

    def journal(self, record: CaseRecord, *, announce: bool = True) -> None:
        """A finished trial counts once it is in the checkpoint journal; a case is announced
        when its last trial (or the one that settled it) is.

        The record is redacted before it is kept, so the checkpoint, the report built from
        it (fresh or resumed) and the observer all see the same values.
        """
        data = record.to_json()
        if self.redactor:
            data = self.redactor.data(data)
            record = CaseRecord.from_json(data)
        offset = self.store.append_checkpoint(self.run_id, data)
        case_done = self.book.add(record, offset)
        # state.json is fsynced twice per write; progress is throttled, while the checkpoint
        # journal is what resume trusts.
        self._schedule_flush()
        # The reason of an errored case is in the log, where `goalctl logs` shows it.
        reason = f" — {record.error}" if record.error else ""
        level = "error" if record.status == "error" else "info"
        planned = self.book.planned[record.index]
        name = record.name if planned == 1 else f"{record.name} trial {record.trial}/{planned}"
        self.log(f"case {name}: {case_word(record.status)}{reason}", level, case=record.name)
        if case_done and planned > 1:
            record = self._cases().read(record.index)
            level = "error" if record.status == "error" else "info"
            self.log(case_summary_line(record), level, case=record.name)
        if announce and case_done:
            self.observer.case_finished(self.run_id, record)

    def _cases(self, redact: Callable[[Any], Any] | None = None) -> JournaledCases:
        """The finished cases, read back from the checkpoint in case order when walked."""
        path = self.store.checkpoint_path(self.run_id)
        if redact is None:
            return JournaledCases(path, self.book)
        return JournaledCases(path, self.book, redact)

    # -- the end ------------------------------------------------------------------------

    async def finish(self, summary: str | None) -> RunOutcome:
        totals = self.meter.totals
        totals.elapsed_s = self.meter.elapsed()
        if self.stopped:
            totals.attempts = sum(r.attempts for r in self._cases().records())
            return await self.finish_stopped()
        run_checks = self._run_checks()
        # One pass over the journal makes the report; its cases are read again (redacted,
        # as the whole report is) by each writer.
        cases = self._cases(self.redactor.data)
        statistics = None
        if self.book.with_trials:
            from goalctl.trials.summary import TrialStatistics

            statistics = TrialStatistics([c.id for c in self.scenario.goal.success_criteria])
        totals.attempts = 0

        def records() -> Iterator[CaseRecord]:
            for record in cases.records():
                totals.attempts += record.attempts
                if statistics is not None:
                    statistics.add(record)
                yield record

        report = build_report(
            run_id=self.run_id,
            scenario=self.scenario,
            provider=self.plan.provider_name,
            model=self.plan.agent_route.model,
            records=records(),
            cases=cases,
            run_checks=run_checks,
            totals=totals,
            budget_stop=self.budget_stop,
            error=self.error,
            agent_summary=summary,
            started_at=self.started_at or self.store.load(self.run_id).started_at,
            finished_at=self.clock.now().isoformat(),
        )
        report["totals"] |= {
            "cost_basis": self.meter.cost_basis,
            "unpriced_models": list(self.meter.unpriced),
        }
        if statistics is not None:
            statistics.add_to(
                report, early_stop=self.book.early_stop, planned=sum(self.book.planned)
            )
        report = self.complete_report(report)
        # Every report file, JUnit, annotation and state field is made from this one dict;
        # its cases are redacted as they are read.
        report = {k: v if k == "cases" else self.redactor.data(v) for k, v in report.items()}
        status = RunStatus.FAILED if report["verdict"] == "error" else RunStatus.COMPLETED
        paths = self.write_reports(report)

        def final(state: RunState) -> None:
            state.status = status
            state.phase = ""
            state.finished_at = report["finished_at"]
            state.verdict = report["verdict"]
            state.score = report["score"] if report["verdict"] != "error" else None
            state.error = report["error"]
            state.totals = dict(report["totals"])
            state.cases_done = self.book.done()

        scored = f" (score {report['score']:.0%})" if report["verdict"] != "error" else ""
        # Logged before the state says the run is over: `logs --follow` stops reading then.
        self.log(f"verdict: {verdict_word(report['verdict'])}{scored}")
        self._settle_flush()
        self.store.update(self.run_id, final)
        outcome = RunOutcome(
            self.run_id,
            self.scenario,
            status,
            report["verdict"],
            report,
            paths,
            self.plan.agent_route.model,
        )
        self.observer.run_finished(outcome)
        return outcome

    def complete_report(self, report: dict[str, Any]) -> dict[str, Any]:
        """The report with what follows from it: the comparison with the run's baseline."""
        if self.plan.baseline is not None and self.options.baseline is not None:
            from goalctl.baselines import compare_report

            return compare_report(report, self.plan.baseline, self.options.baseline)
        return report

    async def finish_stopped(self) -> RunOutcome:
        """A stopped run keeps its finished cases and writes no report: it is not over."""
        totals = self.meter.totals.names()
        totals["elapsed_s"] = round(totals["elapsed_s"], 6)
        # Labelled as a finished run's cost is: a stopped run's cost is simulated or unknown too.
        totals |= {
            "cost_basis": self.meter.cost_basis,
            "unpriced_models": list(self.meter.unpriced),
        }
        done = self.book.done()

        def stopped(state: RunState) -> None:
            state.status = RunStatus.STOPPED
            state.phase = ""
            state.cases_done = done
            state.totals = totals
            state.pid = None
            state.pid_start_time = None

        total = len(self.scenario.cases)
        self.log(
            f"stopped: {done} of {total} cases finished; `goalctl start {self.run_id}` resumes"
        )
        self._settle_flush()
        self.store.update(self.run_id, stopped)
        report = {
            "verdict": None,
            "score": None,
            "error": None,
            "totals": totals,
            "cases_done": done,
            "cases": total,
        }
        outcome = RunOutcome(
            self.run_id,
            self.scenario,
            RunStatus.STOPPED,
            None,
            report,
            model=self.plan.agent_route.model,
        )
        self.observer.run_finished(outcome)
        return outcome

    def _run_checks(self) -> list[ConstraintCheck]:
        """Constraints over the run's totals: budgets, and checks that read only metrics."""
        from goalctl.evaluation import reads_only_metrics

        names = self.meter.totals.names() | {"elapsed_s": self.meter.totals.elapsed_s}
        checks = [
            self.evaluator.check_expression(constraint, names)
            for constraint in self.scenario.goal.constraints
            if reads_only_metrics(constraint)
        ]
        if self.budget_stop is not None and all(
            c.constraint != self.budget_stop.constraint for c in checks
        ):
            checks.append(self.budget_stop)
        return checks

    def write_reports(self, report: dict[str, Any]) -> list[Path]:
        return write_reports(self.store, self.plan, self.options, report)


async def run_plans(
    plans: Sequence[Plan],
    store: RunStore,
    options: RunOptions,
    observer: Observer | None = None,
    clock: Clock | None = None,
    make_id: Callable[[str], str] = new_run_id,
    run_ids: Sequence[str] | None = None,
) -> list[RunOutcome]:
    """Run every planned scenario concurrently; cases share one concurrency limit.

    ``run_ids`` names existing runs to resume (one per plan). SIGTERM and SIGINT stop the
    runs cleanly: in-flight calls are cancelled and each run is left ``stopped``.
    """
    ceiling = effective_concurrency(options, [plan.scenario for plan in plans])
    semaphore = asyncio.Semaphore(max(1, ceiling))
    observer = observer or SilentObserver()
    clock = clock or SystemClock()
    ids = list(run_ids) if run_ids is not None else [make_id(p.scenario.id) for p in plans]
    runs = [
        ScenarioRun(plan, store, semaphore, observer, clock, run_id, options)
        for plan, run_id in zip(plans, ids, strict=True)
    ]
    tasks = [asyncio.create_task(run.run()) for run in runs]
    with _stop_on_signals(tasks):
        results = await asyncio.gather(*tasks, return_exceptions=True)
    outcomes = []
    for result in results:
        if isinstance(result, RunOutcome):
            outcomes.append(result)
        elif not isinstance(result, asyncio.CancelledError):
            raise result
    return outcomes


@contextlib.contextmanager
def _stop_on_signals(tasks: Sequence[asyncio.Task[Any]]) -> Iterator[None]:
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for task in tasks:
            task.cancel()

    installed = []
    for number in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(number, stop)
            installed.append(number)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or no signals here: stopping falls back to defaults
    try:
        yield
    finally:
        for number in installed:
            loop.remove_signal_handler(number)
