"""``goalctl validate``: check many scenario files at once, including lineage across them."""

from __future__ import annotations

import glob
import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from goalctl.errors import Problem, UsageError
from goalctl.goal import semver_key
from goalctl.scenario.loader import SCENARIO_SUFFIXES, LoadResult, read_scenario
from goalctl.scenario.model import Scenario

_GLOB_CHARS = frozenset("*?[")


@dataclass
class ValidationReport:
    """Every file checked, with its problems; lineage problems are attached to their file."""

    results: list[LoadResult] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [problem for result in self.results for problem in result.problems]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def scenarios(self) -> list[Scenario]:
        return [r.scenario for r in self.results if r.ok and r.scenario is not None]

    @property
    def invalid(self) -> list[LoadResult]:
        return [result for result in self.results if not result.ok]


def expand_paths(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files named by ``paths`` (files, directories searched recursively, globs), sorted.

    A path that names nothing is a usage error: a typo must not pass as "nothing to check".
    """
    found: dict[Path, None] = {}
    for raw in paths:
        text = os.fspath(raw)
        path = Path(text)
        if path.is_dir():
            for file in sorted(_scenario_files(path)):
                found.setdefault(file, None)
        elif path.is_file():
            found.setdefault(path, None)
        elif _GLOB_CHARS & set(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            files = [m for m in matches if m.is_file() and m.suffix.lower() in SCENARIO_SUFFIXES]
            for directory in (m for m in matches if m.is_dir()):
                files.extend(sorted(_scenario_files(directory)))
            if not files:
                raise UsageError(f"no scenario files match {text!r}")
            for file in files:
                found.setdefault(file, None)
        elif path.exists() or path.is_symlink():
            raise UsageError(f"not a regular file or directory: {text}")
        else:
            raise UsageError(f"no such file or directory: {text}")
    return list(found)


def _scenario_files(directory: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(directory):
        # Hidden directories hold state (.goalctl), VCS data and caches, never scenarios.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in files:
            if name.lower().endswith(SCENARIO_SUFFIXES) and not name.startswith("."):
                yield Path(root) / name


PARALLEL_MIN_FILES = 64
"""Below this many files, starting worker processes costs more than it saves."""


def validate_paths(
    paths: Sequence[str | os.PathLike[str]], *, keep_scenarios: bool = True, jobs: int | None = None
) -> ValidationReport:
    """Check every scenario file under ``paths``; a broken file never stops the others.

    With ``keep_scenarios=False`` (``goalctl validate``), large sets are checked by worker
    processes, one per core, and results carry problems and lineage but not the scenarios.
    """
    files = expand_paths(paths)
    workers = _workers(len(files), jobs) if not keep_scenarios else 1
    if workers > 1:
        results = _read_in_parallel(files, workers)
    else:
        results = [read_scenario(file) for file in files]
        if not keep_scenarios:
            results = [result.light() for result in results]
    report = ValidationReport(results)
    check_lineage(report.results)
    return report


def _workers(count: int, jobs: int | None) -> int:
    if jobs is not None:
        return max(1, jobs)
    if count < PARALLEL_MIN_FILES or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, 8, count // (PARALLEL_MIN_FILES // 2)))


def _read_light(path: Path) -> LoadResult:
    return read_scenario(path).light()


def _read_in_parallel(files: list[Path], workers: int) -> list[LoadResult]:
    # fork: workers inherit the already-imported modules, so they start in milliseconds.
    context = multiprocessing.get_context("fork")
    chunk = max(1, len(files) // (workers * 4))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(_read_light, files, chunksize=chunk))


def check_lineage(results: list[LoadResult]) -> None:
    """``parent_version`` must name a version of the same goal id; versions must not repeat.

    Versions are looked up among the files checked, then among scenario files beside them, so
    validating one file of a directory still finds its parent.
    """
    versions: dict[str, dict[str, LoadResult]] = {}
    for result in results:
        if result.ref is not None:
            _index_version(versions, result)
    looked_beside: set[Path] = set()
    for result in results:
        ref = result.ref
        if ref is None or ref.parent_version is None:
            continue
        if ref.parent_version not in versions.get(ref.id, {}):
            directory = result.path.parent
            if directory not in looked_beside:
                looked_beside.add(directory)
                _index_siblings(versions, directory, {r.path for r in results})
        if ref.parent_version in versions.get(ref.id, {}):
            continue
        known = sorted(versions.get(ref.id, {}), key=semver_key)
        line, col = ref.parent_at
        result.problems.append(
            Problem(
                str(result.path),
                line,
                col,
                f"parent_version {ref.parent_version} of goal {ref.id!r} does not exist "
                f"(known versions: {', '.join(known)})",
                "parent_version",
                "add the parent version's scenario, or correct parent_version",
            )
        )


def _index_version(versions: dict[str, dict[str, LoadResult]], result: LoadResult) -> None:
    assert result.ref is not None
    ref = result.ref
    previous = versions.setdefault(ref.id, {}).get(ref.version)
    if previous is not None and previous.path != result.path:
        line, col = ref.version_at
        result.problems.append(
            Problem(
                str(result.path),
                line,
                col,
                f"goal {ref.id!r} version {ref.version} is also defined in {previous.path}",
                "version",
                "each version of a goal lives in one file; bump version",
            )
        )
        return
    versions[ref.id][ref.version] = result


def _index_siblings(
    versions: dict[str, dict[str, LoadResult]], directory: Path, checked: set[Path]
) -> None:
    for file in sorted(directory.iterdir()):
        if file in checked or not file.is_file() or file.suffix.lower() not in SCENARIO_SUFFIXES:
            continue
        sibling = read_scenario(file)
        if sibling.ref is not None:
            versions.setdefault(sibling.ref.id, {}).setdefault(sibling.ref.version, sibling)
