"""The pytest plugin: scenarios as tests, one item per criterion and per constraint.

``pytest scenarios/`` collects every scenario file that ``goalctl validate scenarios`` would
check (Markdown with front matter, YAML; the project's ``exclude`` applies; a scenario's data
file is data) and that reads like a scenario (a top-level ``id``; in YAML, one of the goal's
keys too), so that a test folder's other YAML is never taken for one. Node ids read
``scenarios/calc.md::criterion::accuracy`` and ``scenarios/calc.md::constraint::no-crash``.

A scenario runs once per session, when its first selected item runs, through
:func:`goalctl.run` and so the same run store as ``goalctl run``; items that ``-k`` or
``--lf`` leave out never cause a run. Each item passes or fails from the run's result for
its criterion or constraint, the way the verdict counts it: an unmet criterion that the goal
can do without, or a violated soft constraint, passes with a :class:`GoalctlWarning`. A run
that errors (``goalctl run`` would exit 3) makes its items error, not fail.

Under pytest-xdist the workers of a session share one run of each scenario
(:mod:`goalctl.pytest_workers`), whichever way items are distributed; ``--dist loadfile``
keeps a scenario's items on one worker, so that none waits for another's run.

pytest loads this module in every session of an environment that has goalctl: it imports
nothing heavy until a scenario file is met.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from goalctl.errors import GoalctlError
from goalctl.scenario.files import MARKDOWN_SUFFIXES, is_scenario_name, may_be_scenario

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr, TracebackStyle

    from goalctl.api.results import ScenarioResult
    from goalctl.scenario.loader import LoadResult
    from goalctl.verdict import Reason

__all__ = ["GoalctlWarning"]


class GoalctlWarning(UserWarning):
    """A criterion unmet or a soft constraint violated that does not cost the goal: the
    report's warnings, as pytest warnings."""


@dataclass(frozen=True)
class _Option:
    name: str
    """The ini name; the command-line flag is ``--goalctl-<name with dashes>``."""
    help: str
    kind: Literal["string", "bool", "linelist"] = "string"
    """``linelist`` options are repeatable."""


_OPTIONS = (
    _Option("provider", "Provider for every scenario (default: each scenario's own)."),
    _Option("model", "Model for every scenario (default: each scenario's own)."),
    _Option("config", "Config override KEY=VALUE for every scenario (repeatable).", "linelist"),
    _Option("config_file", "YAML or JSON mapping of config values, applied before config."),
    _Option("state_dir", "Where runs are kept (default: as goalctl run: .goalctl)."),
    _Option("report_dir", "Also write each run's report.md and report.json here."),
    _Option("concurrency", "Cases in flight at once (default: as goalctl run)."),
    _Option("include_drafts", "Also run draft and suspended goals.", "bool"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("goalctl", "goalctl scenarios (ini options: goalctl_<name>)")
    for option in _OPTIONS:
        flag = "--goalctl-" + option.name.replace("_", "-")
        if option.kind == "bool":
            group.addoption(flag, action="store_true", default=None, help=option.help)
        elif option.kind == "linelist":
            group.addoption(flag, action="append", default=None, help=option.help)
        else:
            group.addoption(flag, default=None, help=option.help)
        parser.addini(f"goalctl_{option.name}", option.help, type=option.kind, default=None)


_SESSION = pytest.StashKey["_Session"]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SESSION] = _Session(config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    if not is_scenario_name(file_path.name) or not may_be_scenario(file_path):
        return None
    if not _reads_like_scenario(file_path):
        return None
    if not parent.config.stash[_SESSION].is_scenario(file_path):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


_PEEK = 64 * 1024
_ID_KEY = re.compile(rb"^id[ \t]*:", re.MULTILINE)
_GOAL_KEY = re.compile(
    rb"^(success_criteria|constraints|agent|provider|cases|prompt|status|version)[ \t]*:",
    re.MULTILINE,
)


def _reads_like_scenario(path: Path) -> bool:
    """A top-level ``id`` key (in a Markdown file's front matter), and in a YAML file one of
    the goal's keys too: a test folder's other YAML (fixtures, configs) and other front
    matter (a docs site's pages) are not scenarios. ``goalctl validate`` checks every file it
    is given; a test run must not turn a project's data files into errors."""
    try:
        with open(path, "rb") as file:
            head = file.read(_PEEK)
    except OSError:
        return True  # collected, so that the reader's error names the problem
    if path.name.lower().endswith(MARKDOWN_SUFFIXES):
        closing = re.search(rb"^(---|\.\.\.)[ \t]*\r?$", head[4:], re.MULTILINE)
        front = head[: closing.start() + 4] if closing else head
        return _ID_KEY.search(front) is not None
    return _ID_KEY.search(head) is not None and _GOAL_KEY.search(head) is not None


class _Session:
    """What the plugin knows in one pytest process: the scenario files read, the runs done."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._folders: dict[Path, dict[Path, LoadResult] | GoalctlError] = {}
        self._runs: dict[Path, ScenarioResult | str | GoalctlError] = {}

    def is_scenario(self, path: Path) -> bool:
        """Whether ``goalctl validate`` scanning the file's folder checks it as a scenario;
        True when the folder could not be scanned, so that the file's collection error says
        why (a broken goalctl.toml)."""
        folder = self._folder(path.parent)
        return not isinstance(folder, dict) or path in folder

    def loaded(self, path: Path) -> LoadResult:
        folder = self._folder(path.parent)
        if not isinstance(folder, dict):
            raise folder
        return folder[path]

    def _folder(self, folder: Path) -> dict[Path, LoadResult] | GoalctlError:
        """Every scenario file of ``folder`` read and checked together, as a folder scan
        does: lineage across them, and the data files they name left out."""
        if folder not in self._folders:
            from goalctl.config.project import load_project
            from goalctl.validation import validate_paths

            files = sorted(
                _shown(entry)
                for entry in folder.iterdir()
                if is_scenario_name(entry.name) and entry.is_file() and _reads_like_scenario(entry)
            )
            try:
                report = validate_paths(files, exclude=load_project().exclusion, as_found=True)
            except GoalctlError as exc:
                self._folders[folder] = exc
            else:
                self._folders[folder] = {r.path.absolute(): r for r in report.results}
        return self._folders[folder]

    def result(self, path: Path) -> ScenarioResult | str | GoalctlError:
        """The run of the scenario at ``path`` (run now, the first time it is asked for), the
        reason it was skipped, or the error that kept it from running. Under pytest-xdist
        the session's workers share one run of each scenario."""
        if path not in self._runs:
            from goalctl.pytest_workers import session_id, shared_outcome

            uid = session_id(getattr(self.config, "workerinput", None))
            if uid is None:
                self._runs[path] = self._run(path)
            else:
                scenario = self.loaded(path).scenario
                assert scenario is not None  # its items were collected
                try:
                    state_dir = self._state_dir()
                except GoalctlError as exc:
                    self._runs[path] = exc
                else:
                    self._runs[path] = shared_outcome(
                        uid, path, scenario, state_dir, lambda: self._run(path)
                    )
        return self._runs[path]

    def _run(self, path: Path) -> ScenarioResult | str | GoalctlError:
        import goalctl.api

        try:
            result = goalctl.api.run([str(_shown(path))], **self._run_options())
        except GoalctlError as exc:
            return exc
        if result.runs:
            return result.runs[0]
        if result.skipped:
            return result.skipped[0].reason
        return "nothing to run"  # left out after collection, e.g. by the project's exclude

    def _state_dir(self) -> Path:
        """The state dir the runs go to, resolved as :func:`goalctl.run` resolves it."""
        from goalctl.api.service import resolve_state_dir
        from goalctl.config.project import load_project

        given = self._value(next(o for o in _OPTIONS if o.name == "state_dir"))
        return resolve_state_dir(Path(given) if given else None, load_project)

    def _run_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for option in _OPTIONS:
            value = self._value(option)
            if value is None:
                continue
            if option.name == "concurrency":
                value = _number(value)
            options[option.name] = value
        return options

    def _value(self, option: _Option) -> Any:
        """The command line's value, else the ini file's (paths relative to the ini file);
        ``config`` pairs from both, the command line's last so that they win."""
        given = self.config.getoption("goalctl_" + option.name)
        ini = self.config.getini("goalctl_" + option.name)
        if option.kind == "linelist":
            pairs = [*(ini or ()), *(given or ())]
            return pairs or None
        if given is not None:
            return given
        if ini in (None, ""):
            return None
        if option.name in ("config_file", "state_dir", "report_dir"):
            base = self.config.inipath.parent if self.config.inipath else self.config.rootpath
            return str(base / str(ini))
        return ini


def _number(value: object) -> int:
    from goalctl.errors import UsageError

    text = str(value).strip()
    if not text.isdigit():
        raise UsageError(f"--goalctl-concurrency {value!r}: give a number from 1 to 1024")
    return int(text)


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it is below it: messages and run
    records then name ``scenarios/calc.md`` as ``goalctl run scenarios`` does."""
    try:
        return path.absolute().relative_to(Path.cwd())
    except ValueError:
        return path.absolute()


class ScenarioFile(pytest.File):
    """A scenario file: a ``criterion`` and a ``constraint`` group of items."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        from goalctl.errors import ScenarioError

        loaded = self.config.stash[_SESSION].loaded(self.path)
        if not loaded.ok or loaded.scenario is None:
            raise ScenarioError(loaded.problems)
        scenario = loaded.scenario
        goal = scenario.goal
        sections: list[tuple[str, str, list[str]]] = [
            ("criterion", "success_criteria", [c.id for c in goal.success_criteria]),
            ("constraint", "constraints", [c.id for c in goal.constraints]),
        ]
        for kind, section, ids in sections:
            if ids:
                lines = {item: scenario.line_of(section, i) for i, item in enumerate(ids)}
                yield _Group.from_parent(self, name=kind, lines=lines)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: TracebackStyle | None = None,
    ) -> str | TerminalRepr:
        from goalctl.errors import GoalctlError, ScenarioError

        if isinstance(excinfo.value, ScenarioError):
            return "\n".join(str(problem) for problem in excinfo.value.problems)
        if isinstance(excinfo.value, GoalctlError):
            return f"{_shown(self.path)}: {excinfo.value}"
        return super().repr_failure(excinfo)


class _Group(pytest.Collector):
    """The criteria, or the constraints, of one scenario."""

    def __init__(self, *, lines: dict[str, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lines = lines

    def collect(self) -> Iterator[ScenarioItem]:
        for item_id, line in self.lines.items():
            yield ScenarioItem.from_parent(self, name=item_id, kind=self.name, line=line)


class _ItemFailed(Exception):
    """The item's criterion or constraint counts against the goal; the message says why."""


class ScenarioItem(pytest.Item):
    """One criterion or constraint of a scenario, judged from the scenario's run."""

    def __init__(self, *, kind: str, line: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.line = line
        self.run: ScenarioResult | None = None

    def setup(self) -> None:
        result = self.config.stash[_SESSION].result(self.path)
        if isinstance(result, str):
            pytest.skip(f"{_shown(self.path)}: {result}")
        if not isinstance(result, Exception):
            if result.verdict == "error":
                pytest.fail(
                    f"{self.where(1)}: the run errored: {result.error}\n"
                    f"run {result.run_id}: `goalctl logs {result.run_id}` tells more",
                    pytrace=False,
                )
            if result.verdict is None:
                # Ctrl-C stopped the run (the run's own handler took the signal): the
                # session stops too, as pytest does on Ctrl-C.
                raise KeyboardInterrupt(f"run {result.run_id} stopped")
            self.run = result
            return
        from goalctl.errors import ScenarioError

        if isinstance(result, ScenarioError):
            message = "\n".join(str(p) for p in result.problems)
        else:
            message = f"{self.where(1)}: {result}"
        pytest.fail(message, pytrace=False)

    def runtest(self) -> None:
        assert self.run is not None
        if self.kind == "constraint" and not self.run.constraint(self.name).checked:
            # A constraint without a `check` is documentation: nothing was tested.
            pytest.skip(f"{self.where(self.line)}: constraint `{self.name}` has no check")
        reasons = [r for r in self.run.reasons if r.kind == self.kind and r.id == self.name]
        run_failures = [r for r in self.run.reasons if r.kind == "run" and r.level == "failure"]
        for reason in reasons:
            if reason.level == "warning":
                warnings.warn(GoalctlWarning(self.explain(reason)), stacklevel=1)
            else:
                raise _ItemFailed(self.explain(reason))
        if run_failures:
            raise _ItemFailed("\n".join(self.explain(r) for r in run_failures))

    def explain(self, reason: Reason) -> str:
        """The reason as a failure says it: where, what, the evidence, the report."""
        assert self.run is not None
        lines = [f"{self.where(reason.line)}: {reason.summary}", f"  {reason.detail}"]
        if reason.kind == "criterion":
            lines.append("  evidence:")
            lines.extend(f"    {e}" for e in self.run.criterion(reason.id).evidence)
        elif reason.kind == "constraint":
            lines.append("  violations:")
            lines.extend(f"    {v}" for v in self.run.constraint(reason.id).violations)
        report = next((p for p in self.run.report_paths if p.suffix == ".md"), None)
        lines.append(f"  run {self.run.run_id}" + (f": {report}" if report else ""))
        return "\n".join(lines)

    def where(self, line: int) -> str:
        return f"{_shown(self.path)}:{line}"

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: TracebackStyle | None = None,
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, _ItemFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, self.line - 1, f"{self.kind} {self.name}"
