"""The life of runs across processes: run, detach, stop, start (resume), clean up.

A detached run is a worker process in its own session (``goalctl _worker RUN_ID``) that owns
the run: it records its pid and process start time, writes events as it goes, and leaves the
run ``completed``, ``failed`` or ``stopped``. ``start`` resumes a stopped or interrupted run in
a new worker, from the checkpoint journal: finished cases never run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from goalctl.errors import ExitCode, GoalctlError, ScenarioError, UsageError
from goalctl.heap import settle
from goalctl.metering import Clock, SystemClock
from goalctl.outcomes import Observer, RunOutcome
from goalctl.planning import Plan, RunOptions, initial_state, plan_scenario, scenario_digest
from goalctl.runner import run_plans
from goalctl.scenario.model import Scenario
from goalctl.state import (
    TERMINAL,
    DamagedRun,
    RunState,
    RunStatus,
    RunStore,
    is_alive,
    new_run_id,
)

STOP_TIMEOUT_S = 10.0
WORKER_LOG = "worker.log"
_DURATION = re.compile(r"^(\d{1,18})([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_AGE_S = 36500 * 86400


@dataclass
class RunSummary:
    """What ``goalctl run`` did: the runs, the scenarios it skipped, and the exit code."""

    outcomes: list[RunOutcome]
    skipped: list[tuple[Scenario, str]]
    notices: list[str] = field(default_factory=list)
    """Said once before the run: files passed over, config keys some scenarios do not take."""

    @property
    def exit_code(self) -> int:
        if any(o.status is RunStatus.STOPPED for o in self.outcomes):
            return int(ExitCode.INTERRUPTED)
        if any(o.verdict == "error" for o in self.outcomes):
            return int(ExitCode.RUN_ERROR)
        if any(o.verdict != "achieved" for o in self.outcomes):
            return int(ExitCode.FAILED)
        return int(ExitCode.OK)


def load_for_run(
    paths: Sequence[str], options: RunOptions, notices: list[str] | None = None
) -> tuple[list[Scenario], list[tuple[Scenario, str]]]:
    """Validate every file (nothing runs if one is invalid) and set drafts aside. Files
    passed over, and config keys that some scenarios do not take, are told in ``notices``."""
    from goalctl.goal import GoalStatus
    from goalctl.validation import passed_over_notice, validate_paths

    report = validate_paths(paths, exclude=options.excluded)
    told = notices if notices is not None else []
    told.extend(passed_over_notice(path) for path in report.passed_over)
    if not report.ok:
        raise ScenarioError(report.problems)
    found = scenarios = report.scenarios
    if options.shard is not None:
        from goalctl.matrix import shard_scenarios

        scenarios = shard_scenarios(scenarios, *options.shard)
    runnable, skipped = [], []
    for scenario in scenarios:
        status = scenario.goal.status
        if status in (GoalStatus.DRAFT, GoalStatus.SUSPENDED) and not options.include_drafts:
            skipped.append((scenario, f"status is {status.value}; use --include-drafts to run it"))
        else:
            runnable.append(scenario)
    told.extend(options.overrides().spread(found, runnable))
    if options.cases:
        runnable = _select_cases(runnable, skipped, options.cases)
    return runnable, skipped


def _select_cases(
    scenarios: list[Scenario], skipped: list[tuple[Scenario, str]], patterns: Sequence[str]
) -> list[Scenario]:
    """The scenarios with only the cases ``--case`` names; one without any is skipped, and a
    pattern that matches no case of any scenario is refused (a typo must not pass as green)."""
    from goalctl.scenario.selection import no_case_error, select_cases, unmatched

    names = [s.case_name(i) for s in scenarios for i in range(len(s.cases))]
    unknown = unmatched(patterns, names)
    if unknown:
        where = str(scenarios[0].path) if len(scenarios) == 1 else "any scenario"
        raise no_case_error(unknown, where, list(dict.fromkeys(names)))
    selected = []
    shown = ", ".join(repr(p) for p in patterns)
    for scenario in scenarios:
        kept = select_cases(scenario, patterns)
        if kept is None:
            skipped.append((scenario, f"no case matches --case {shown}"))
        else:
            selected.append(kept)
    return selected


def run_paths(
    paths: Sequence[str],
    options: RunOptions,
    state_dir: Path,
    observer: Observer | None = None,
    clock: Clock | None = None,
    make_id: Callable[[str], str] = new_run_id,
    notify: Callable[[str], None] | None = None,
) -> RunSummary:
    """``goalctl run``: validate, plan (providers, config) for all, then run them all.

    ``notify`` hears each notice as soon as planning is done, before the first case runs.
    """
    notices: list[str] = []
    scenarios, skipped = load_for_run(paths, options, notices)
    options = with_baseline_folders(options, scenarios)
    plans = plan_all(scenarios, options, notices)
    _tell(notices, notify)
    store = RunStore(state_dir)
    settle()  # the SDKs are loaded with the plans: what lives until exit stays out of GC
    outcomes = asyncio.run(run_plans(plans, store, options, observer, clock, make_id))
    from goalctl.models.attach import attach_comparisons

    attach_comparisons(plans, outcomes, store, options)
    return RunSummary(outcomes, skipped, notices)


def plan_all(
    scenarios: Sequence[Scenario], options: RunOptions, notices: list[str] | None = None
) -> list[Plan]:
    """Plan every scenario (config, providers, key checks, prices, baselines): all before any
    work. A scenario compared across models is planned once per model, in the models' order.

    With ``--baseline``, a scenario without a baseline is told in ``notices`` and runs
    uncompared; when no scenario has one, the comparison asked for cannot happen: refused.
    """
    from goalctl.planning import compared_models, resolve_configs

    configs = resolve_configs(scenarios, options)
    plans = []
    for scenario, config in zip(scenarios, configs, strict=True):
        models = compared_models(scenario, options)
        if not models:
            plans.append(plan_scenario(scenario, options, config=config))
            continue
        check_report_names(scenario, models)
        plans.extend(
            plan_scenario(scenario, options, config=config, compared=models, model=model)
            for model in models
        )
    if options.baseline is not None and plans:
        _check_baselines(plans, options, notices if notices is not None else [])
    return plans


def with_baseline_folders(options: RunOptions, scenarios: Sequence[Scenario]) -> RunOptions:
    """With ``--baseline``, the folders of every scenario run: a parent version's baseline is
    looked for beside each of them (the scenario's own folder first)."""
    if options.baseline is None:
        return options
    folders = tuple(dict.fromkeys(str(s.path.parent.resolve()) for s in scenarios))
    return replace(options, baseline=replace(options.baseline, folders=folders))


def _check_baselines(plans: Sequence[Plan], options: RunOptions, notices: list[str]) -> None:
    from goalctl.baselines import where_looked

    assert options.baseline is not None
    named = options.baseline.file
    missing = [plan.scenario for plan in plans if plan.baseline is None]
    if len(missing) == len(plans):
        if named is not None:
            goals = ", ".join(sorted({s.goal.id for s in missing}))
            raise UsageError(f"--baseline {named} is a baseline of no goal run here ({goals})")
        raise UsageError(
            "no baseline to compare with: "
            + "; ".join(f"no {where_looked(s)}" for s in missing)
            + "; write one with `goalctl baseline save RUN_ID`"
        )
    for scenario in missing:
        where = f"not of goal {scenario.goal.id}" if named else f"no {where_looked(scenario)}"
        notices.append(f"{scenario.path}: not compared with a baseline ({where})")


def check_report_names(scenario: Scenario, models: Sequence[str]) -> None:
    """Compared models must not write the same ``--report-dir`` files."""
    from goalctl.models.names import model_slug

    seen: dict[str, str] = {}
    for model in models:
        other = seen.setdefault(model_slug(model), model)
        if other != model:
            raise UsageError(
                f"{scenario.path}: models {other!r} and {model!r} would share report file "
                f"names ({model_slug(model)}); compare them in separate runs"
            )


def _tell(notices: Sequence[str], notify: Callable[[str], None] | None) -> None:
    if notify is not None:
        for notice in notices:
            notify(notice)


# -- detached workers ------------------------------------------------------------------------


@dataclass
class Detached:
    run_ids: list[str]
    skipped: list[tuple[Scenario, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def run_detached(
    paths: Sequence[str],
    options: RunOptions,
    state_dir: Path,
    notify: Callable[[str], None] | None = None,
) -> Detached:
    """``goalctl run --detach``: check and plan everything here, then one worker per run."""
    notices: list[str] = []
    scenarios, skipped = load_for_run(paths, options, notices)
    options = with_baseline_folders(options, scenarios)
    store = RunStore(state_dir)
    run_ids = []
    plans = plan_all(scenarios, options, notices)  # key checks, no work
    for plan in plans:
        if plan.compared and plan.agent_route.model == plan.compared[0]:
            # Each worker ends alone: the table is made by `goalctl report` of their runs.
            notices.append(
                f"{plan.scenario.path}: its {len(plan.compared)} models run detached and each "
                "reports alone; `goalctl report` of their run ids puts them side by side"
            )
    _tell(notices, notify)
    for plan in plans:
        asyncio.run(_close(plan.agent_route.provider, plan.judge_route.provider))
    for plan in plans:
        run_id = new_run_id(plan.scenario.id)
        store.create(initial_state(plan, options, run_id, SystemClock()))
        spawn_worker(store, run_id)
        run_ids.append(run_id)
    return Detached(run_ids, skipped, notices)


async def _close(*providers: object) -> None:
    for provider in {id(p): p for p in providers}.values():
        await provider.aclose()  # type: ignore[attr-defined]


def spawn_worker(store: RunStore, run_id: str) -> int:
    """Start ``goalctl _worker RUN_ID`` in a new session; record it as the run's owner."""
    run_dir = store.run_dir(run_id)
    argv = [
        sys.executable,
        "-m",
        "goalctl",
        "--state-dir",
        str(store.root.resolve()),
        "_worker",
        run_id,
    ]
    with open(run_dir / WORKER_LOG, "ab") as log:
        # A new session: the worker outlives this command and its terminal, and `stop` can
        # signal its whole process group without touching the shell that started it.
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    _SPAWNED.append(process)
    from goalctl.state import process_start_time

    started = process_start_time(process.pid)

    def owned(state: RunState) -> None:
        if state.status is RunStatus.PENDING:  # the worker may already have claimed it
            state.status = RunStatus.RUNNING
            state.pid = process.pid
            state.pid_start_time = started

    store.update(run_id, owned)
    return process.pid


_SPAWNED: list[subprocess.Popen[bytes]] = []
"""Workers started by this process, kept referenced so Python never warns about them."""


def run_worker(state_dir: Path, run_id: str) -> int:
    """The body of a worker process: run or resume one run to its end (or to a stop).

    A worker that cannot start, or crashes, leaves the reason in the run's state and events,
    where ``status`` and ``logs`` show it, not only in its own log file.
    """
    store = RunStore(state_dir)
    try:
        state = store.load(run_id)
        plan = prepare_resume(store, state)
    except BaseException as exc:
        _record_worker_failure(store, run_id, "the worker could not start", exc)
        raise
    options = RunOptions.from_state(state.options)
    try:
        settle()
        outcomes = asyncio.run(run_plans([plan], store, options, run_ids=[run_id]))
    except Exception as exc:
        _record_worker_failure(store, run_id, "the worker failed", exc)
        raise
    return int(ExitCode.OK) if outcomes else int(ExitCode.INTERRUPTED)


def prepare_resume(store: RunStore, state: RunState) -> Plan:
    """Everything a worker checks before it resumes ``state``, with no work done.

    ``start`` calls it before spawning a worker, and the worker again (time passes between),
    so both refuse the same things: a scenario that is gone or changed, a damaged checkpoint,
    an unknown provider, a missing API key, a config the agent no longer accepts.
    """
    from goalctl.scenario.loader import load_scenario

    run_id = state.run_id
    if state.rescored_from is not None:
        raise UsageError(
            f"run {run_id} rescored run {state.rescored_from} and cannot be resumed; "
            f"rescore it again with `goalctl rescore {state.rescored_from}`"
        )
    scenario_path = Path(state.scenario)
    if not scenario_path.is_file():
        raise UsageError(f"the scenario of run {run_id} is gone: {scenario_path}")
    if state.options.get("scenario_sha256") not in (None, scenario_digest(scenario_path)):
        raise UsageError(
            f"{scenario_path} changed since run {run_id} started; "
            "start a new run with `goalctl run`"
        )
    store.read_checkpoint(run_id)
    try:
        scenario = load_scenario(scenario_path)
    except ScenarioError as exc:
        raise UsageError(f"the scenario of run {run_id} no longer loads: {exc}") from None
    # The project's prices travel in the state: a worker may start in another directory.
    options = replace(
        RunOptions.from_state(state.options), provider=state.provider, model=state.model
    )
    if options.cases:
        from goalctl.scenario.selection import select_cases

        selected = select_cases(scenario, options.cases)
        if selected is None:
            raise UsageError(f"run {run_id}: no case of {scenario_path} matches its --case")
        scenario = selected
    # A run of a comparison keeps its report names (and its judge, saved in its options).
    return plan_scenario(scenario, options, config=dict(state.config), compared=options.models)


def _record_worker_failure(store: RunStore, run_id: str, what: str, exc: BaseException) -> None:
    reason = str(exc) if isinstance(exc, GoalctlError) else f"{type(exc).__name__}: {exc}"
    message = f"{what}: {reason}"

    def ours(state: RunState) -> None:
        # The live owner is this worker, or the process that spawned it and has not yet
        # handed the run over; any other live owner's state is not ours to write.
        if state.status in _ACTIVE and state.pid not in (os.getpid(), os.getppid()):
            raise _NotOurs

    def failed(state: RunState) -> None:
        ours(state)
        if state.status not in TERMINAL:
            state.status = RunStatus.INTERRUPTED
            state.phase = ""
            state.pid = None
            state.pid_start_time = None
        state.error = message

    with contextlib.suppress(_NotOurs, GoalctlError, OSError, ValueError):
        ours(store.load(run_id))
        store.repair_journals(run_id)  # a killed predecessor may have torn the last event
        store.append_event(run_id, "error", "", message)  # before `status` can show the error
        store.update(run_id, failed)


class _NotOurs(Exception):
    pass


# -- stop, start, cleanup ----------------------------------------------------------------------
#
# Exit codes follow the table: 1 means "goal not achieved", so no lifecycle verb uses it.
# A request whose result already holds (stop a stopped run, start a running one) is a no-op
# that says so and exits 0; a request that cannot be met is refused with exit 2.


@dataclass
class StopResult:
    run_id: str
    status: RunStatus
    message: str


def stop_run(store: RunStore, run_id: str, *, timeout_s: float = STOP_TIMEOUT_S) -> StopResult:
    """Stop a run from any shell: its worker stops cleanly and keeps every finished case."""
    state = store.load(run_id)
    over = nothing_to_stop(state)
    if over is not None:
        return over
    store.update(run_id, _request_stop)
    if state.status is RunStatus.RUNNING and _signal(state, signal.SIGTERM):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            current = store.load(run_id)
            if current.status is not RunStatus.RUNNING:
                break
            time.sleep(0.05)
        else:
            _signal(state, signal.SIGKILL)  # it did not stop in time: the journal is safe
    final = store.update(run_id, _settle_stopped)
    done = f"{final.cases_done}/{final.cases_total} cases finished"
    return StopResult(
        run_id, final.status, f"stopped {run_id} ({done}); `goalctl start {run_id}` resumes it"
    )


def nothing_to_stop(state: RunState) -> StopResult | None:
    """The no-op answer for a run that is already over (stopped, completed, failed), else
    None: callers ask for confirmation only when something will be stopped."""
    if state.status in TERMINAL or state.status is RunStatus.STOPPED:
        message = f"run {state.run_id} has already {_past(state.status)}; nothing to stop"
        return StopResult(state.run_id, state.status, message)
    return None


def _past(status: RunStatus) -> str:
    return {"completed": "completed", "failed": "failed", "stopped": "been stopped"}.get(
        status.value, status.value
    )


def _request_stop(state: RunState) -> None:
    state.stop_requested = True


def _settle_stopped(state: RunState) -> None:
    # The worker writes `stopped` itself; one that died (or was killed) reads interrupted.
    if state.status in (RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.PENDING):
        state.status = RunStatus.STOPPED
        state.phase = ""
        state.pid = None
        state.pid_start_time = None


def _signal(owner: RunState, number: int) -> bool:
    """Signal the run's owner (its whole group when it leads one); False if it is not there.

    The owner is checked right before every signal, by pid *and* start time: a pid alone may
    have been reused by an unrelated process, which must never be signalled.
    """
    pid = owner.pid
    if pid is None or not is_alive(pid, owner.pid_start_time):
        return False
    try:
        if os.getpgid(pid) == pid:  # a detached worker leads its own group: stop its children too
            os.killpg(pid, number)
        else:
            os.kill(pid, number)
    except ProcessLookupError:
        return False
    return True


@dataclass
class StartResult:
    run_id: str
    pid: int | None
    """The new worker's pid; None when the run was already running (nothing started)."""
    message: str


def start_run(store: RunStore, run_id: str) -> StartResult:
    """Resume a stopped or interrupted run in a new worker, after the checks the worker makes.

    Of two simultaneous starts exactly one spawns a worker: the run is taken (``pending``,
    owned by this process until its worker claims it) under the run's lock.
    """
    state = store.load(run_id)
    _refuse_finished(state)
    if state.status in _ACTIVE:
        return StartResult(run_id, None, _already_running(state))
    plan = prepare_resume(store, state)
    asyncio.run(_close(plan.agent_route.provider, plan.judge_route.provider))
    try:
        store.update(run_id, _take_for_start)
    except _Active as exc:
        return StartResult(run_id, None, _already_running(exc.state))
    pid = spawn_worker(store, run_id)
    follow = f"follow it with `goalctl logs -f {run_id}`"
    return StartResult(run_id, pid, f"resumed {run_id} (worker pid {pid}); {follow}")


_ACTIVE = frozenset({RunStatus.PENDING, RunStatus.RUNNING})


class _Active(Exception):
    def __init__(self, state: RunState) -> None:
        self.state = state


def _refuse_finished(state: RunState) -> None:
    if state.status in TERMINAL:
        raise UsageError(
            f"run {state.run_id} has already {state.status.value}; it cannot be resumed "
            "(start a new run with `goalctl run`)"
        )


def _already_running(state: RunState) -> str:
    owner = f" (pid {state.pid})" if state.pid else ""
    return f"run {state.run_id} is already running{owner}; nothing to start"


def _take_for_start(current: RunState) -> None:
    _refuse_finished(current)
    if current.status in _ACTIVE:
        raise _Active(current)
    from goalctl.state import process_start_time

    current.stop_requested = False
    current.status = RunStatus.PENDING
    current.error = None
    current.pid = os.getpid()
    current.pid_start_time = process_start_time(current.pid)


def parse_age(text: str) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``2w``, ``45s``."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise UsageError(f"invalid age {text!r} (use a number and a unit: 30m, 12h, 7d, 2w)")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_AGE_S:
        # timedelta overflows near 2.7 million years; no run is older than a century.
        raise UsageError(f"age {text!r} is too long (at most 100 years: 36500d, 5214w)")
    return timedelta(seconds=seconds)


def select_runs(
    store: RunStore,
    run_ids: Sequence[str],
    *,
    finished: bool,
    older_than: timedelta | None,
    force: bool = False,
) -> list[RunState | DamagedRun]:
    """The runs named, or (with ``finished``/``older_than``) every run that matches.

    A named run whose state is damaged is an error, unless ``force`` asks to remove it anyway.
    """
    if run_ids:
        # Two names of one run (its id and its goal's) clean it up once.
        named = dict.fromkeys(store.resolve(text) for text in run_ids)
        return [_named(store, run_id, force) for run_id in named]
    if finished or older_than is not None:
        selected = store.list()
    else:
        raise UsageError("name the runs to clean up, or select them with --finished / --older-than")
    now = datetime.now(UTC)
    kept: list[RunState | DamagedRun] = []
    for state in selected:
        if finished and state.status in (RunStatus.RUNNING, RunStatus.PENDING):
            continue
        if older_than is not None:
            stamp = state.finished_at or state.started_at or state.created_at
            if now - datetime.fromisoformat(stamp.replace("Z", "+00:00")) < older_than:
                continue
        kept.append(state)
    return kept


def _named(store: RunStore, run_id: str, force: bool) -> RunState | DamagedRun:
    try:
        return store.load(run_id)
    except DamagedRun as exc:
        if not force:
            raise
        return exc


@dataclass
class CleanupResult:
    run_id: str
    ok: bool
    message: str


def cleanup_run(
    store: RunStore, state: RunState | DamagedRun, *, force: bool, archive: bool
) -> CleanupResult:
    """Release a run's worker (with ``force``) and remove or archive its state.

    A damaged run's state is not trusted: no process it names is signalled, it is removed.
    """
    run_id = state.run_id
    try:
        if isinstance(state, DamagedRun):
            pass
        elif state.status in (RunStatus.RUNNING, RunStatus.PENDING):
            if not force:
                return CleanupResult(
                    run_id, False, f"{run_id} is {state.status.value}; stop it first or use --force"
                )
            stop_run(store, run_id)
        if archive:
            path = store.archive(run_id, store.root / "archive", force=force)
            return CleanupResult(run_id, True, f"archived {run_id} to {path}")
        store.remove(run_id, force=force)
        return CleanupResult(run_id, True, f"removed {run_id}")
    except (UsageError, OSError) as exc:
        return CleanupResult(run_id, False, f"{run_id}: {exc}")
