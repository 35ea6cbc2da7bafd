"""What ``goalctl run`` and ``goalctl validate`` do, for the CLI and the Python API alike.

The CLI parses flags and formats; :func:`goalctl.run` and :func:`goalctl.validate` wrap the
results in typed objects. Both call these functions, so that a run from Python and a run from
the shell can never disagree on the options applied, the files written or the exit code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goalctl.errors import UsageError

if TYPE_CHECKING:
    from goalctl.baselines import BaselineSettings
    from goalctl.config.project import ProjectConfig
    from goalctl.lifecycle import RunSummary
    from goalctl.outcomes import Observer
    from goalctl.planning import RunOptions
    from goalctl.validation import ValidationReport

DEFAULT_PATHS = ("scenarios",)


def resolve_state_dir(explicit: Path | None, project: Callable[[], ProjectConfig]) -> Path:
    """The state dir: ``explicit`` (``--state-dir``), else ``$GOALCTL_STATE_DIR``, else the
    project's ``state_dir``, else ``.goalctl``. ``project`` is only read when needed, so a
    broken project file does not fail a command that names its state dir."""
    from goalctl.error_handler import state_dir_from_env

    if explicit is not None:
        return explicit
    if os.environ.get("GOALCTL_STATE_DIR"):
        return state_dir_from_env()
    return project().state_dir or state_dir_from_env()


def read_config_file(path: Path | None, label: str = "--config-file") -> dict[str, Any]:
    """The mapping of config values in a YAML or JSON file; :class:`UsageError` naming
    ``label`` and the file's line and column when it is not one."""
    if path is None:
        return {}
    from goalctl.reading import ReadError, read_text
    from goalctl.scenario.yamlsafe import YamlLoadError, load_yaml

    try:
        data = load_yaml(read_text(path, "config")).data
    except ReadError as exc:
        where = f":{exc.line}:{exc.col}" if exc.offset is not None else ""
        raise UsageError(f"{label} {path}{where}: {exc.detail}") from None
    except YamlLoadError as exc:
        raise UsageError(
            f"{label} {path}:{exc.issue.line}:{exc.issue.col}: {exc.issue.message}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{label} {path} must hold a mapping of config keys")
    return data


@dataclass(frozen=True)
class RunRequest:
    """What a run was asked for: the flags of ``goalctl run`` that apply in any process."""

    provider: str | None = None
    model: str | None = None
    models: tuple[str, ...] = ()
    """Several models: each scenario runs once per model, compared side by side (over
    ``model`` and a scenario's ``models``)."""
    config: tuple[str, ...] = ()
    """``KEY=VALUE`` pairs, parsed by the type the agent declares; a later pair wins."""
    config_file: Path | None = None
    concurrency: int | None = None
    record: bool = False
    report_dir: Path | None = None
    html_dir: Path | None = None
    """``--html``: each run's HTML report is also written here."""
    include_drafts: bool = False
    shard: str | None = None
    """``I/N``: only the I-th of N stable shares of the scenarios."""
    cases: tuple[str, ...] = ()
    """Case names or globs; only the cases that match run."""
    junit: Path | None = None
    trials: int | None = None
    """Trials per case over the scenario's ``trials`` (a case's own ``trials`` wins)."""
    early_stop: bool = True
    """False: every case runs all its trials, even once its verdict is settled."""
    baseline: BaselineSettings | None = None
    """``--baseline``: compare each run with its baseline (None: no comparison)."""

    def options(self, project: ProjectConfig) -> RunOptions:
        """The run's options: these values over the project's (goalctl.toml) over defaults."""
        from goalctl.matrix import parse_shard
        from goalctl.planning import DEFAULT_CONCURRENCY, RunOptions

        return RunOptions(
            provider=self.provider,
            model=self.model,
            models=self.models,
            config_overrides=self.config,
            config_values=read_config_file(self.config_file),
            config_file=str(self.config_file) if self.config_file is not None else None,
            concurrency=self.concurrency or project.concurrency or DEFAULT_CONCURRENCY,
            concurrency_given=bool(self.concurrency or project.concurrency),
            prices=project.prices,
            default_provider=project.provider,
            default_model=project.model,
            judge_model=project.judge_model,
            redact=project.redact,
            excluded=project.exclusion,
            record=self.record,
            report_dir=self.report_dir,
            html_dir=self.html_dir,
            include_drafts=self.include_drafts,
            shard=parse_shard(self.shard) if self.shard else None,
            cases=self.cases,
            trials=self.trials,
            early_stop=self.early_stop,
            baseline=self.baseline,
        )


def baseline_settings(
    file: str | None,
    fail_on_regression: bool,
    alpha: float | None = None,
    cost_tolerance: float | None = None,
    latency_tolerance: float | None = None,
    *,
    label: Callable[[str], str] = lambda name: "--" + name.replace("_", "-"),
) -> BaselineSettings | None:
    """The comparison asked for (``file``: a baseline file, ``"auto"`` for the ones beside the
    scenarios, None for none), or None. ``--fail-on-regression`` implies ``auto``; a tuning
    value without a comparison is refused rather than ignored. ``label`` names an option in
    messages (``--cost-tolerance`` for the CLI, ``cost_tolerance`` for the API)."""
    if file is None and not fail_on_regression:
        given = [
            label(name)
            for name, value in (
                ("regression_alpha", alpha),
                ("cost_tolerance", cost_tolerance),
                ("latency_tolerance", latency_tolerance),
            )
            if value is not None
        ]
        if given:
            raise UsageError(
                f"{', '.join(given)} needs {label('baseline')} (or {label('fail_on_regression')})"
            )
        return None
    from goalctl.baselines import BaselineSettings
    from goalctl.baselines.comparison import (
        DEFAULT_ALPHA,
        DEFAULT_COST_TOLERANCE,
        DEFAULT_LATENCY_TOLERANCE,
    )

    return BaselineSettings(
        file=None if file in (None, "auto") else file,
        alpha=DEFAULT_ALPHA if alpha is None else alpha,
        cost_tolerance=DEFAULT_COST_TOLERANCE if cost_tolerance is None else cost_tolerance,
        latency_tolerance=(
            DEFAULT_LATENCY_TOLERANCE if latency_tolerance is None else latency_tolerance
        ),
        fail_on_regression=fail_on_regression,
    )


def check_destinations(request: RunRequest, state_dir: Path, state_dir_label: str) -> None:
    """Refuse, before anything runs, a state dir, report dir, HTML dir or JUnit file that
    cannot be written."""
    from goalctl.destinations import check_destination

    check_destination(state_dir, state_dir_label, directory=True)
    if request.report_dir is not None:
        check_destination(request.report_dir, "--report-dir", directory=True)
    if request.html_dir is not None:
        check_destination(request.html_dir, "--html", directory=True)
    if request.junit is not None:
        check_destination(request.junit, "--junit", directory=False)


def run_scenarios(
    paths: Sequence[str],
    options: RunOptions,
    state_dir: Path,
    *,
    junit: Path | None = None,
    observer: Observer | None = None,
    notify: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run the scenarios under ``paths`` in this process and write the JUnit file if asked.

    ``options`` come from :meth:`RunRequest.options`, and the destinations must have been
    checked (:func:`check_destinations`). ``notify`` hears each notice before the first case
    runs.
    """
    from goalctl.lifecycle import run_paths

    summary = run_paths(paths or DEFAULT_PATHS, options, state_dir, observer, notify=notify)
    if junit is not None:
        from goalctl.reports.junit import render_junit

        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(render_junit(finished_reports(summary)), encoding="utf-8")
    return summary


def finished_reports(summary: RunSummary) -> list[dict[str, Any]]:
    """The report.json data of every run that finished (a stopped run has none)."""
    return [o.report for o in summary.outcomes if o.report.get("version")]


def validate_scenarios(
    paths: Sequence[str | os.PathLike[str]], project: ProjectConfig, *, as_found: bool = False
) -> ValidationReport:
    """``goalctl validate``: every scenario file under ``paths`` checked, with the project's
    ``exclude`` applied to the folders searched."""
    from goalctl.validation import validate_paths

    return validate_paths(
        paths or DEFAULT_PATHS, keep_scenarios=False, exclude=project.exclusion, as_found=as_found
    )
