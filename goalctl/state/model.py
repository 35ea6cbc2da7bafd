"""The state of one run, as kept in ``runs/<run-id>/state.json`` (DESIGN §7).

The file is versioned (``"version"`` is its first key) and its keys appear in the order the
fields are declared here, so a diff between two snapshots of a run reads naturally.
Loading is strict: a missing or unknown key, or a value of the wrong type, is an error, and
a file from a newer goalctl is refused rather than half understood.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

STATE_VERSION = 1
"""The ``version`` this goalctl writes; files with a higher version are refused."""


def utc_now() -> str:
    """The current time as ISO-8601 UTC with millisecond precision, e.g. ``…T12:00:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RunStatus(enum.StrEnum):
    """Where a run is in its lifecycle."""

    PENDING = "pending"
    """Created, no process has claimed it yet."""
    RUNNING = "running"
    """A live process owns it (when that process is gone, the run reads ``interrupted``)."""
    STOPPED = "stopped"
    """Stopped on request; ``goalctl start`` resumes it from the checkpoint."""
    INTERRUPTED = "interrupted"
    """Its process died (kill -9, crash, reboot); ``goalctl start`` resumes it."""
    COMPLETED = "completed"
    """Every case ran and the goal was evaluated (achieved or not)."""
    FAILED = "failed"
    """The run errored, so there is no verdict."""


TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED})
"""Statuses a run never leaves; stopped and interrupted runs can be resumed."""


class StateFormatError(ValueError):
    """A state.json that cannot be understood; ``newer_version`` is set for a newer format."""

    def __init__(self, message: str, *, newer_version: int | None = None) -> None:
        self.newer_version = newer_version
        super().__init__(message)


@dataclass(kw_only=True, slots=True)
class RunState:
    """Everything goalctl knows about one run; any shell can read it with ``jq``."""

    version: int = STATE_VERSION
    """Format version of state.json; always the first key."""
    run_id: str
    """``<goal-id>-<8 hex>``, also the name of the run's directory."""
    goal_id: str
    goal_version: str
    goal_name: str
    scenario: str
    """Absolute path of the scenario file the run was started from."""
    status: RunStatus = RunStatus.PENDING
    phase: str = ""
    """``initialize``, ``execute``, ``report``, ``cleanup``, or empty before the first phase."""
    pid: int | None = None
    """Process that owns the run while it is ``running``."""
    pid_start_time: float | None = None
    """Start time of ``pid`` in seconds after boot: tells a reused pid from the owner."""
    created_at: str = field(default_factory=utc_now)
    """ISO-8601 UTC, like every time in the state dir."""
    started_at: str | None = None
    """When a process first claimed the run; a resume keeps the original time."""
    finished_at: str | None = None
    provider: str
    model: str
    agent: str
    config: dict[str, Any] = field(default_factory=dict)
    """The agent's resolved config; never holds secrets."""
    cases_total: int = 0
    cases_done: int = 0
    verdict: str | None = None
    """``achieved``, ``not_achieved``, ``error``, or None until the run is evaluated."""
    score: float | None = None
    error: str | None = None
    """Why the run failed, in words a user can act on."""
    totals: dict[str, Any] = field(default_factory=dict)
    """``cost_usd``, ``input_tokens``, ``output_tokens``, ``llm_calls``, ``elapsed_s``."""
    options: dict[str, Any] = field(default_factory=dict)
    """How the run was started (concurrency, report_dir, record, include_drafts…)."""
    stop_requested: bool = False
    """Set by ``goalctl stop`` from any shell; the owner stops at the next case boundary."""
    rescored_from: str | None = None
    """The run whose stored outputs this run evaluated again (``goalctl rescore``)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to state.json, keys in declaration order."""
        data = {name: getattr(self, name) for name in _field_names()}
        data["status"] = str(self.status)
        return data

    @classmethod
    def from_dict(cls, data: object) -> RunState:
        """Parse a state.json object strictly; raises :class:`StateFormatError`."""
        if not isinstance(data, dict):
            raise StateFormatError("expected a JSON object")
        version = data.get("version")
        if type(version) is not int or version < 1:
            raise StateFormatError(f"'version' must be a positive integer, got {version!r}")
        if version > STATE_VERSION:
            raise StateFormatError(f"state version {version}", newer_version=version)
        hints = _field_types()
        unknown = [key for key in data if key not in hints]
        if unknown:
            raise StateFormatError(f"unknown key {unknown[0]!r}")
        values: dict[str, Any] = {}
        for name, hint in hints.items():
            if name not in data:
                if name in _required_names():
                    raise StateFormatError(f"missing key {name!r}")
                continue
            value = data[name]
            if not _conforms(value, hint):
                raise StateFormatError(
                    f"{name!r} must be {_describe(hint)}, got {type(value).__name__} {value!r}"
                )
            values[name] = _coerce(value, hint)
        for name, value in values.items():
            problem = _value_problem(name, value)
            if problem is not None:
                raise StateFormatError(f"{name!r} {problem}, got {value!r}")
        return cls(**values)


@functools.cache
def _field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(RunState))


@functools.cache
def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(RunState)


@functools.cache
def _required_names() -> frozenset[str]:
    return frozenset(
        f.name for f in fields(RunState) if f.default is MISSING and f.default_factory is MISSING
    )


def _conforms(value: object, hint: Any) -> bool:
    if isinstance(hint, types.UnionType):
        return any(_conforms(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if typing.get_origin(hint) is dict:
        return isinstance(value, dict)
    if hint is bool:
        return type(value) is bool
    if hint is int:
        return type(value) is int
    if hint is float:
        return type(value) in (int, float)
    if hint is RunStatus:
        return isinstance(value, str) and value in _STATUS_VALUES
    return type(value) is hint


def _coerce(value: Any, hint: Any) -> Any:
    if hint is RunStatus:
        return RunStatus(value)
    if type(value) is int and float in _members(hint):
        return float(value)
    return value


def _members(hint: Any) -> tuple[Any, ...]:
    return typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)


def _describe(hint: Any) -> str:
    if isinstance(hint, types.UnionType):
        return " or ".join(_describe(arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if hint is RunStatus:
        return "one of " + ", ".join(status.value for status in RunStatus)
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    return names.get(hint, "an object")


_STATUS_VALUES = frozenset(status.value for status in RunStatus)
_VERDICTS = frozenset({"achieved", "not_achieved", "error"})
_TIMES = frozenset({"created_at", "started_at", "finished_at"})
_COUNTS = frozenset({"cases_total", "cases_done"})
_MAX_PID = 2**31 - 1
_OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "concurrency": (int,),
    "record": (bool,),
    "report_dir": (str, type(None)),
    "scenario_sha256": (str, type(None)),
    "baseline": (dict, type(None)),
}


_COST_BASES = frozenset({"priced", "simulated", "unknown"})


def _totals_problem(totals: dict[str, Any]) -> str | None:
    """Numbers, plus how the cost was reached (``cost_basis``, ``unpriced_models``)."""
    for key, item in totals.items():
        if key == "cost_basis":
            if item not in _COST_BASES:
                return "'cost_basis' must be one of " + ", ".join(sorted(_COST_BASES))
        elif key == "unpriced_models":
            if not (isinstance(item, list) and all(isinstance(m, str) for m in item)):
                return "'unpriced_models' must be a list of model names"
        elif type(item) not in (int, float):
            return f"must hold only numbers (not {key!r})"
    return None


def _value_problem(name: str, value: Any) -> str | None:
    """What is wrong with a value of the right JSON type, or None (tampering shows here)."""
    if value is None:
        return None
    if name in _TIMES:
        return None if is_aware_time(value) else "must be an ISO-8601 time with a time zone"
    if name in _COUNTS:
        return None if value >= 0 else "must not be negative"
    if name == "pid":
        return None if 0 < value <= _MAX_PID else f"must be a process id (1 to {_MAX_PID})"
    if name == "pid_start_time":
        return None if value >= 0 else "must not be negative"
    if name == "verdict":
        return None if value in _VERDICTS else "must be one of " + ", ".join(sorted(_VERDICTS))
    if name == "totals":
        return _totals_problem(value)
    if name == "rescored_from":
        from goalctl.state.ids import is_run_id

        return None if is_run_id(value) else "must be a run id"
    if name == "options":
        for key, kinds in _OPTION_TYPES.items():
            if key in value and type(value[key]) not in kinds:
                return f"must hold a {kinds[0].__name__} in {key!r}"
        concurrency = value.get("concurrency", 1)
        return None if concurrency >= 1 else "must hold a positive 'concurrency'"
    return None


def is_aware_time(text: str) -> bool:
    """Whether ``text`` is an ISO-8601 time that names its time zone (naive times are ambiguous)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    return moment.tzinfo is not None
