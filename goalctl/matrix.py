"""Splitting scenarios across CI jobs: ``goalctl matrix`` and ``goalctl run --shard i/n``.

``matrix`` gives GitHub Actions one job per scenario (``strategy.matrix``), or with ``shards``
one job per non-empty shard; ``shard`` gives each of ``n`` jobs a share of the scenarios. Both
are stable: adding a scenario adds an entry or lands in one shard, and never moves the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from goalctl.errors import ScenarioError, UsageError
from goalctl.goal import GoalStatus
from goalctl.scenario.model import Scenario

T = TypeVar("T")

MAX_MATRIX_JOBS = 256
"""GitHub Actions refuses a matrix with more jobs than this."""

_SKIPPED_BY_RUN = (GoalStatus.DRAFT, GoalStatus.SUSPENDED)
_SHARD = re.compile(r"^\s*([0-9]+)\s*/\s*([0-9]+)\s*$")


def parse_shards(text: str) -> int | Literal["auto"]:
    """``goalctl matrix --shards``: a number of shards, or ``auto``."""
    if text.strip() == "auto":
        return "auto"
    if text.strip().isdigit() and 1 <= int(text) <= MAX_MATRIX_JOBS:
        return int(text)
    raise UsageError(
        f"invalid --shards {text!r} (use auto or a number from 1 to {MAX_MATRIX_JOBS})"
    )


def matrix(
    paths: Sequence[str | os.PathLike[str]],
    *,
    include_drafts: bool = False,
    exclude: Callable[[Path], bool] | None = None,
    shards: int | Literal["auto"] | None = None,
    notify: Callable[[str], None] | None = None,
    by_model: bool = False,
    default_model: str | None = None,
) -> dict[str, Any]:
    """A GitHub Actions matrix with one entry per scenario under ``paths``, sorted by path.

    Each entry has ``scenario`` (the path as found from ``paths``), ``id``, ``name``,
    ``version`` and ``job`` (``id-version``, unique, safe in a file or artifact name). Draft and
    suspended goals are left out unless ``include_drafts``: ``goalctl run`` skips them, so their
    jobs would run nothing. An invalid file raises :class:`ScenarioError` with every problem, as
    ``goalctl validate`` reports them.

    ``shards=N`` gives one entry per shard that holds a scenario, for ``goalctl run --shard
    I/N``: ``shard`` (``I/N``), ``job`` (``shard-I-of-N``), ``name`` and ``scenarios`` (how
    many). ``shards="auto"`` keeps one entry per scenario while GitHub's job limit allows and
    shards into that many jobs beyond it, so a growing suite never breaks the workflow.
    ``notify`` hears of each Markdown file without front matter that was passed over.

    ``by_model`` splits each scenario by model: one entry per model of its ``models``, and
    every entry has ``model`` (a scenario without ``models`` gets the model it runs with:
    its ``model``, else ``default_model``, the project's), for ``goalctl run --model``; the
    job is then ``id-version-model``. Shards hold whole scenarios, so it takes no ``shards``.
    """
    if by_model and shards is not None:
        raise UsageError(
            "--by-model gives one job per scenario and model, --shards one job per share of "
            "the scenarios: use one of them (a shard runs every model of its scenarios)"
        )
    from goalctl.validation import passed_over_notice, validate_paths

    report = validate_paths(paths, exclude=exclude)
    if notify is not None:
        for path in report.passed_over:
            notify(passed_over_notice(path))
    if not report.ok:
        raise ScenarioError(report.problems)
    entries = []
    for scenario in report.scenarios:
        goal = scenario.goal
        if goal.status in _SKIPPED_BY_RUN and not include_drafts:
            continue
        entry = {
            "scenario": scenario.path.as_posix(),
            "id": goal.id,
            "name": goal.name,
            "version": goal.version,
            "job": f"{goal.id}-{goal.version}",
            "key": scenario_key(scenario),
        }
        if by_model:
            entries.extend(_model_entries(scenario, entry, default_model))
        else:
            entries.append(entry)
    entries.sort(key=lambda entry: entry["scenario"])  # stable: a scenario's models keep order
    if shards == "auto":
        shards = MAX_MATRIX_JOBS if len(entries) > MAX_MATRIX_JOBS else None
    if shards is not None:
        return {"include": _shard_entries([entry.pop("key") for entry in entries], shards)}
    for entry in entries:
        del entry["key"]
    if len(entries) > MAX_MATRIX_JOBS:
        raise UsageError(
            f"the matrix would have {len(entries)} jobs; GitHub Actions allows at most "
            f"{MAX_MATRIX_JOBS} (use `goalctl matrix --shards auto` with "
            "`goalctl run --shard I/N`, or give fewer paths)"
        )
    return {"include": entries}


def _model_entries(
    scenario: Scenario, entry: dict[str, Any], default_model: str | None
) -> list[dict[str, Any]]:
    from goalctl.models.names import model_slug
    from goalctl.planning import DEFAULT_MODEL

    models = scenario.spec.models or [scenario.spec.model or default_model or DEFAULT_MODEL]
    if len(models) == 1:
        return [entry | {"model": models[0]}]
    return [
        entry | {"model": model, "job": f"{entry['job']}-{model_slug(model)}"} for model in models
    ]


def _shard_entries(keys: list[str], total: int) -> list[dict[str, Any]]:
    """One entry per shard of ``total`` that holds at least one of ``keys``: an empty shard's
    job would run nothing."""
    counts = Counter(shard_of(key, total) for key in keys)
    return [
        {
            "shard": f"{index}/{total}",
            "job": f"shard-{index}-of-{total}",
            "name": f"shard {index}/{total}",
            "scenarios": counts[index],
        }
        for index in sorted(counts)
    ]


def format_matrix(data: dict[str, Any]) -> str:
    """The matrix as one line of JSON: ``$GITHUB_OUTPUT`` takes ``name=value`` lines."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` → ``(2, 3)``: the 1-based shard index and the number of shards."""
    found = _SHARD.match(text)
    if found is not None:
        index, total = int(found.group(1)), int(found.group(2))
        if 1 <= index <= total:
            return index, total
    raise UsageError(f"invalid --shard {text!r} (use I/N, e.g. 1/4)")


def shard_of(key: str, total: int) -> int:
    """The 1-based shard that ``key`` belongs to among ``total``: a hash, so never moves."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return int(digest, 16) % total + 1


def shard(items: Sequence[T], key: Callable[[T], str], index: int, total: int) -> list[T]:
    """The items of shard ``index`` of ``total`` (1-based), in their input order.

    An item's shard depends on its key alone, so shards are disjoint, together hold every
    item, and adding an item never moves another one to a different shard.
    """
    if not 1 <= index <= total:
        raise ValueError(f"shard {index}/{total} does not exist")
    return [item for item in items if shard_of(key(item), total) == index]


def scenario_key(scenario: Scenario) -> str:
    """The shard key of a scenario: its goal id and version, unique among validated files
    and the same whichever way its path was written (``./scenarios/x.md``, absolute …)."""
    return f"{scenario.goal.id}@{scenario.goal.version}"


def shard_scenarios(scenarios: Sequence[Scenario], index: int, total: int) -> list[Scenario]:
    """``goalctl run --shard index/total``: this job's share of ``scenarios``."""
    return shard(scenarios, scenario_key, index, total)
