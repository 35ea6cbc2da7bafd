"""goalctl from Python: :func:`validate` and :func:`run`, as ``goalctl validate`` and
``goalctl run`` do, returning typed results instead of printing.

Both take the project's configuration (``goalctl.toml`` or ``[tool.goalctl]``, found from the
working directory upwards) as the CLI does, and raise the errors of :mod:`goalctl.errors`
where the CLI would exit with their code: :class:`~goalctl.errors.UsageError` (2) for bad
input, :class:`~goalctl.errors.ScenarioError` (1) for an invalid scenario, with every problem
in ``problems``. Neither prints anything.

The result classes are imported on first use, so ``import goalctl`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from goalctl.errors import UsageError

if TYPE_CHECKING:
    from goalctl.api.results import RunResult, ValidationResult

__all__ = ["run", "validate"]

PathArg = str | os.PathLike[str]


def validate(paths: PathArg | Sequence[PathArg] = ("scenarios",)) -> ValidationResult:
    """Check scenario files, folders and globs, as ``goalctl validate PATHS``.

    An invalid file is not an error: it is in the result (``ok`` is False, ``exit_code`` 1,
    ``problems`` lists every problem as ``path:line:col``). A path that names nothing raises
    :class:`~goalctl.errors.UsageError`.
    """
    from goalctl.api.results import ValidationResult
    from goalctl.api.service import validate_scenarios
    from goalctl.config.project import load_project

    report = validate_scenarios(_paths(paths), load_project())
    return ValidationResult.from_report(report)


def run(
    paths: PathArg | Sequence[PathArg] = ("scenarios",),
    *,
    provider: str | None = None,
    model: str | None = None,
    config: Sequence[str] = (),
    config_file: PathArg | None = None,
    concurrency: int | None = None,
    state_dir: PathArg | None = None,
    report_dir: PathArg | None = None,
    junit: PathArg | None = None,
    record: bool = False,
    include_drafts: bool = False,
    shard: str | None = None,
    cases: Sequence[str] = (),
    trials: int | None = None,
    early_stop: bool = True,
    models: Sequence[str] = (),
    html: PathArg | None = None,
    baseline: PathArg | bool | None = None,
    fail_on_regression: bool = False,
    regression_alpha: float | None = None,
    cost_tolerance: float | None = None,
    latency_tolerance: float | None = None,
) -> RunResult:
    """Run scenarios in this process and evaluate their goals, as ``goalctl run PATHS``.

    Each option is the ``goalctl run`` flag of the same name: ``config`` holds ``KEY=VALUE``
    strings (``--config``, parsed by the type the agent declares), ``cases`` names or globs
    (``--case``), ``shard`` an ``"I/N"`` text, ``trials`` the number of trials per case
    (``--trials``; a case's own ``trials`` wins) and ``early_stop=False`` is
    ``--no-early-stop``. ``models`` (two or more, ``--model a,b``) runs each scenario once
    per model and compares them; ``html`` is ``--html DIR``. ``state_dir`` defaults as the
    CLI's does (``$GOALCTL_STATE_DIR``, the project's ``state_dir``, ``.goalctl``).

    ``baseline=True`` is ``--baseline`` (each scenario's ``<scenario>.baseline.json``, else
    its parent version's), a path is ``--baseline FILE``; ``fail_on_regression=True`` gates
    on a regression and implies ``baseline=True``. ``regression_alpha`` is the tests'
    significance level (0 < alpha < 1), ``cost_tolerance`` and ``latency_tolerance`` the
    growth allowed as a fraction (``0.1`` is ``--cost-tolerance 10%``). Each compared run's
    result has its ``comparison``.

    A goal that is not achieved, or a run that errors, is a result (see ``exit_code``), not an
    exception. Raises :class:`~goalctl.errors.ScenarioError` when a scenario is invalid
    (nothing runs), :class:`~goalctl.errors.UsageError` or
    :class:`~goalctl.errors.ConfigError` for bad options. Ctrl-C (SIGINT) or SIGTERM during
    the run stops every run cleanly, as in the CLI: they are ``stopped`` (finished cases
    kept, ``goalctl start RUN_ID`` resumes), their verdict is None and ``exit_code`` 130.
    """
    from goalctl.api.results import RunResult
    from goalctl.api.service import (
        RunRequest,
        baseline_settings,
        check_destinations,
        resolve_state_dir,
        run_scenarios,
    )
    from goalctl.config.project import load_project

    project = load_project()
    request = RunRequest(
        provider=_name(provider, "provider"),
        model=_name(model, "model"),
        config=_strings(config, "config", "KEY=VALUE strings"),
        config_file=_path(config_file),
        concurrency=_concurrency(concurrency),
        record=record,
        report_dir=_path(report_dir),
        include_drafts=include_drafts,
        shard=shard,
        cases=_strings(cases, "cases", "case names or globs"),
        junit=_path(junit),
        trials=_trials(trials),
        early_stop=bool(early_stop),
        models=_models(models, model),
        html_dir=_path(html),
        baseline=baseline_settings(
            _baseline(baseline),
            _flag(fail_on_regression, "fail_on_regression"),
            _fraction(regression_alpha, "regression_alpha", below_one=True),
            _fraction(cost_tolerance, "cost_tolerance"),
            _fraction(latency_tolerance, "latency_tolerance"),
            label=str,
        ),
    )
    directory = resolve_state_dir(_path(state_dir), lambda: project)
    label = "state_dir" if state_dir is not None else "the state dir"
    check_destinations(request, directory, label)
    options = request.options(project)
    summary = run_scenarios(_paths(paths), options, directory, junit=request.junit)
    return RunResult.from_summary(summary, request.junit)


def _paths(paths: PathArg | Sequence[PathArg]) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    if not isinstance(paths, Sequence) or not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise UsageError(f"paths must be a path or a list of paths, not {paths!r}")
    return [os.fspath(p) for p in paths]


def _path(value: PathArg | None) -> Path | None:
    return Path(value) if value is not None else None


def _strings(values: Sequence[str], name: str, what: str) -> tuple[str, ...]:
    """A list of strings; a lone string is refused rather than read letter by letter."""
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise UsageError(f"{name} must be a list of {what}, not {values!r}")
    return tuple(values)


def _name(value: str | None, option: str) -> str | None:
    if value is not None and (not value.strip() or value != value.strip()):
        raise UsageError(f"{option} {value!r}: give a name, without spaces around it")
    return value


def _models(values: Sequence[str], model: str | None) -> tuple[str, ...]:
    from goalctl.models.names import parse_model_option

    names = _strings(values, "models", "model names")
    if not names:
        return ()
    if model is not None:
        raise UsageError("give either model or models, not both")
    try:
        parsed = parse_model_option(names)
    except ValueError as exc:
        raise UsageError(f"models: {exc}") from None
    if len(parsed) < 2:
        raise UsageError("models compares two or more models; for one, use model")
    return parsed


def _baseline(value: PathArg | bool | None) -> str | None:
    """``baseline``: True is ``auto`` (the baselines beside the scenarios), a path a file."""
    if value is None or value is False:
        return None
    if value is True:
        return "auto"
    if not isinstance(value, (str, os.PathLike)):
        raise UsageError(f"baseline must be True or a baseline file's path, not {value!r}")
    path = Path(value)
    if path.suffix in (".md", ".yaml", ".yml") or path.is_dir():
        raise UsageError(
            f"baseline {os.fspath(value)}: that is a scenario, not a baseline file; "
            "baseline=True compares with the baselines beside the scenarios"
        )
    return os.fspath(path)


def _flag(value: bool, name: str) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False, not {value!r}")
    return value


def _fraction(value: float | None, name: str, *, below_one: bool = False) -> float | None:
    """A number >= 0 (a tolerance: 0.1 is 10%), or strictly between 0 and 1 (a level)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{name} must be a number, not {value!r}")
    if below_one and not 0 < value < 1:
        raise UsageError(f"{name} {value!r}: give a number between 0 and 1, like 0.05")
    if not below_one and not 0 <= value <= 1000:
        raise UsageError(f"{name} {value!r}: give a fraction of growth, like 0.1 for 10%")
    return float(value)


def _trials(value: int | None) -> int | None:
    from goalctl.trials.counts import MAX_TRIALS

    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TRIALS
    ):
        raise UsageError(f"trials {value!r}: give a number from 1 to {MAX_TRIALS}")
    return value


def _concurrency(value: int | None) -> int | None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1024
    ):
        raise UsageError(f"concurrency {value!r}: give a number from 1 to 1024")
    return value
