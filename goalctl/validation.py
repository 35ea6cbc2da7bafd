"""``goalctl validate``: check many scenario files at once, including lineage across them."""

from __future__ import annotations

import fnmatch
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from goalctl.destinations import system_directory
from goalctl.errors import Problem, UsageError
from goalctl.goal import semver_key
from goalctl.scenario.files import SCENARIO_SUFFIXES, is_scenario_name, may_be_scenario
from goalctl.scenario.loader import LoadResult, read_scenario
from goalctl.scenario.model import Scenario

if TYPE_CHECKING:
    from goalctl.workers import Died

_GLOB_CHARS = frozenset("*?[")


@dataclass
class ValidationReport:
    """Every file checked, with its problems; lineage problems are attached to their file."""

    results: list[LoadResult] = field(default_factory=list)
    passed_over: list[Path] = field(default_factory=list)
    """Markdown files found in a folder without YAML front matter: notes, not scenarios."""

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
    Symlinks that lead out of a searched directory are left out (:func:`find_scenario_files`
    says which).
    """
    return [path for path, refusal in find_scenario_files(paths).items() if refusal is None]


def find_scenario_files(
    paths: Sequence[str | os.PathLike[str]],
    exclude: Callable[[Path], bool] | None = None,
    passed_over: list[Path] | None = None,
    *,
    as_found: bool = False,
) -> dict[Path, Problem | None]:
    """Every scenario file named by ``paths``, in order, each with None or the reason it is
    refused: a symlink found inside a searched directory (or under a glob's fixed part) that
    leads out of it is never followed. A symlink named on the command line is the user's
    choice and is read.

    Files found in a directory or by a glob are left out when ``exclude`` (the project's
    ``exclude`` globs) matches them, and Markdown files without YAML front matter (a
    README.md, notes) are left out and appended to ``passed_over``. A file named on the
    command line is read all the same, unless ``as_found`` treats named files like found
    ones (the pre-commit hook names the files it found).
    """
    found: dict[Path, Problem | None] = {}
    for raw in paths:
        text = os.fspath(raw)
        path = Path(text)
        if path.is_dir():
            entries = _scenario_files(path)
        elif path.is_file():
            entries = {path: None}
            if not as_found:
                found.setdefault(path, None)
                continue
        elif _GLOB_CHARS & set(text):
            entries = _glob_scenario_files(text)
            if not entries:
                raise UsageError(f"no scenario files match {text!r}")
        elif path.exists() or path.is_symlink():
            raise UsageError(f"not a regular file or directory: {text}")
        else:
            raise UsageError(f"no such file or directory: {text}")
        for file, refusal in entries.items():
            if file in found or (exclude is not None and exclude(file)):
                continue
            if refusal is None and not may_be_scenario(file):
                if passed_over is not None and file not in passed_over:
                    passed_over.append(file)
                continue
            found[file] = refusal
    return found


def passed_over_notice(path: Path) -> str:
    """The one line that says a file found in a folder is not a scenario (not a problem)."""
    return f"skipped {path}: Markdown without YAML front matter (not a scenario)"


def _scenario_files(directory: Path, tree: Path | None = None) -> dict[Path, Problem | None]:
    """Scenario files under ``directory``, sorted, without following symlinks out of ``tree``
    (the directory itself by default)."""
    tree = tree or Path(os.path.realpath(directory))
    return {
        entry.path: entry.refusal
        for entry in _walk(directory, tree)
        if entry.refusal is not None or (not entry.is_dir and is_scenario_name(entry.path.name))
    }


class _Entry(NamedTuple):
    path: Path
    is_dir: bool
    refusal: Problem | None = None


def _walk(directory: Path, tree: Path, depth: int | None = None) -> list[_Entry]:
    """Files and directories under ``directory`` (``depth`` levels deep at most), sorted;
    ``tree`` is the real path nothing may lead out of.

    Symlinks are never followed: one that leads out of ``tree`` is refused (a scenario file or
    a directory), one that stays inside names what the walk reaches anyway, so nothing loops.
    """
    found: list[_Entry] = []
    real_files: set[str] = set()
    links: list[tuple[Path, str]] = []
    pending = [(directory, 1)]
    while pending:
        current, level = pending.pop()
        try:
            with os.scandir(current) as scan:
                entries = list(scan)
        except OSError:
            continue  # unreadable: nothing to check there
        for entry in entries:
            # Hidden directories hold state (.goalctl), VCS data and caches, never scenarios.
            if entry.name.startswith(".") or entry.name == "__pycache__":
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                target = os.path.realpath(path)
                if not Path(target).is_relative_to(tree):
                    if is_scenario_name(entry.name) or os.path.isdir(target):
                        found.append(_Entry(path, False, _outside(path, tree, target)))
                elif not os.path.isdir(target):
                    links.append((path, target))
            elif entry.is_dir(follow_symlinks=False):
                if system_directory(path) is not None:
                    continue  # /proc, /sys, /dev: endless pseudo-files, never scenarios
                found.append(_Entry(path, True))
                if depth is None or level < depth:
                    pending.append((path, level + 1))
            else:
                found.append(_Entry(path, False))
                real_files.add(os.path.realpath(path))
    # A link inside the tree is another name for a file the walk reached, unless its target
    # hides where the walk does not look.
    found.extend(_Entry(path, False) for path, target in links if target not in real_files)
    return sorted(found, key=lambda entry: entry.path)


def _outside(path: Path, tree: Path, target: str) -> Problem:
    return Problem(
        str(path),
        1,
        1,
        f"symlink to a location outside {tree}: {target}; refused",
        remedy="copy the file into the tree, or name it on the command line",
    )


def _glob_scenario_files(pattern: str) -> dict[Path, Problem | None]:
    """Scenario files a glob matches, and in the directories it matches.

    The part of the pattern before its first wildcard is the tree nothing may lead out of:
    ``glob.glob`` follows symlinks, and its ``**`` over two symlink loops never ends.
    """
    parts = Path(pattern).parts
    fixed = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    root = Path(*parts[:fixed]) if fixed else Path()
    wildcards = parts[fixed:]
    if not root.is_dir():
        return {}
    depth = None if "**" in wildcards else len(wildcards)
    tree = Path(os.path.realpath(root))
    found: dict[Path, Problem | None] = {}
    for entry in _walk(root, tree, depth):
        if not _glob_match(entry.path.relative_to(root).parts, wildcards):
            continue
        if entry.refusal is not None:
            found[entry.path] = entry.refusal
        elif entry.is_dir:
            found.update(_scenario_files(entry.path, tree))
        elif is_scenario_name(entry.path.name):
            found[entry.path] = None
    return dict(sorted(found.items()))


def _glob_match(parts: Sequence[str], pattern: Sequence[str]) -> bool:
    """``parts`` matches ``pattern`` component by component; ``**`` spans any number of
    directories. Linear in both lengths."""
    states = {0}  # how many pattern components the parts so far can have consumed
    for part in parts:
        reached: set[int] = set()
        for index in _closure(states, pattern):
            if index < len(pattern):
                if pattern[index] == "**":
                    reached.add(index)
                elif fnmatch.fnmatchcase(part, pattern[index]):
                    reached.add(index + 1)
        states = reached
        if not states:
            return False
    return len(pattern) in _closure(states, pattern)


def _closure(states: set[int], pattern: Sequence[str]) -> set[int]:
    """States plus those reached by letting ``**`` match no directory."""
    result = set(states)
    for index in sorted(states):
        while index < len(pattern) and pattern[index] == "**":
            index += 1
            result.add(index)
    return result


PARALLEL_MIN_FILES = 64
"""Below this many files, starting worker processes costs more than it saves."""


def validate_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    keep_scenarios: bool = True,
    jobs: int | None = None,
    exclude: Callable[[Path], bool] | None = None,
    as_found: bool = False,
) -> ValidationReport:
    """Check every scenario file under ``paths``; a broken file never stops the others.

    With ``keep_scenarios=False`` (``goalctl validate``), large sets are checked by worker
    processes, one per core, and results carry problems and lineage but not the scenarios.
    ``exclude`` and ``as_found`` are those of :func:`find_scenario_files`.
    """
    passed_over: list[Path] = []
    found = find_scenario_files(paths, exclude, passed_over, as_found=as_found)
    files = [path for path, refusal in found.items() if refusal is None]
    workers = _workers(len(files), jobs) if not keep_scenarios else 1
    if workers > 1:
        read = _read_in_parallel(files, workers)
    else:
        read = [read_scenario(file) for file in files]
        if not keep_scenarios:
            read = [result.light() for result in read]
    by_path = dict(zip(files, read, strict=True))
    results = [
        by_path[path] if refusal is None else LoadResult(path, problems=[refusal])
        for path, refusal in found.items()
    ]
    # A scenario's data file (`cases: {file: cases.yaml}`) found by the same scan is its data.
    data_files = {result.data_file for result in results if result.data_file is not None}
    if data_files:
        results = [r for r in results if Path(os.path.realpath(r.path)) not in data_files]
    report = ValidationReport(results, passed_over)
    check_lineage(report.results)
    for result in report.results:
        result.problems.sort(key=lambda problem: (problem.line, problem.col))
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
    from goalctl.workers import Died, map_in_workers

    results = map_in_workers(_read_light, files, workers)
    return [
        _crashed(path, result) if isinstance(result, Died) else result
        for path, result in zip(files, results, strict=True)
    ]


def _crashed(path: Path, death: Died) -> LoadResult:
    """The result of a file whose reading killed its worker process: the others go on."""
    message = f"checking this file crashed the process that read it ({death.describe()})"
    remedy = "please report this file to goalctl: any input should be refused cleanly"
    return LoadResult(path, problems=[Problem(str(path), 1, 1, message, remedy=remedy)])


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
        if not may_be_scenario(file):
            continue
        sibling = read_scenario(file)
        if sibling.ref is not None:
            versions.setdefault(sibling.ref.id, {}).setdefault(sibling.ref.version, sibling)
