"""World-state criteria (DESIGN §12): what the agent left in its case's workspace.

They are checked after the agent finished, inside the case's workspace (a fresh copy of the
scenario's ``workspace:`` folder, or an empty folder; see :mod:`goalctl.workspaces`):

- ``file_exists``: the path (relative to the workspace) exists — a file or a folder;
- ``file_matches``: the file at ``path`` is UTF-8 text (at most 16 MiB) in which the regular
  expression ``pattern`` is found (searched, not anchored; bounded in time);
- ``command_succeeds``: the command (a list, or a string split like a shell would, never run
  through a shell) exits with status 0, run in the workspace with goalctl's environment minus
  provider credentials, within ``timeout_s`` (default 60, at most 600); its process group is
  killed on timeout.

A path may not lead out of the workspace: absolute paths and ``..`` are refused when the file
is validated, and a path whose real location (symlinks followed) is outside is refused here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from goalctl.criterion_rules import workspace_path_problem
from goalctl.excerpts import shorten
from goalctl.trajectory_checks import Outcome

DEFAULT_COMMAND_TIMEOUT_S = 60.0
"""Seconds a ``command_succeeds`` command may run unless its criterion says otherwise."""
OUTPUT_TAIL_CHARS = 300
"""The most of a command's output quoted as evidence."""


class OutsideWorkspace(ValueError):
    """A path that leads out of the case's workspace (or cannot be in it)."""


def resolve_inside(workspace: Path, path: Any) -> Path:
    """``path`` in ``workspace``, symlinks followed; :class:`OutsideWorkspace` when it is not a
    relative path that stays inside."""
    problem = workspace_path_problem(path)
    if problem is not None:
        raise OutsideWorkspace(problem)
    root = workspace.resolve()
    try:
        found = (root / str(path)).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise OutsideWorkspace(f"{path!r} cannot be resolved: {exc}") from None
    if not found.is_relative_to(root):
        raise OutsideWorkspace(f"{path!r} leads out of the case's workspace (through a symlink)")
    return found


def file_exists(workspace: Path, path: Any) -> Outcome:
    """Passes when ``path`` exists in the workspace."""
    try:
        found = resolve_inside(workspace, path)
    except OutsideWorkspace as exc:
        return Outcome(False, "the path cannot be checked", str(exc))
    if found.is_dir():
        return Outcome(True, f"{path} exists (a folder)")
    if found.exists():
        return Outcome(True, f"{path} exists ({found.stat().st_size:,} bytes)")
    return Outcome(False, f"{path} does not exist{_nearby(workspace, found)}")


def _nearby(workspace: Path, missing: Path) -> str:
    """What the missing file's folder holds, as a hint of what the agent wrote instead."""
    folder = missing.parent
    root = workspace.resolve()
    if not folder.is_dir():
        return ""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    where = "the workspace" if folder == root else str(folder.relative_to(root))
    if not names:
        return f" ({where} is empty)"
    return f" ({where} has {shorten(', '.join(names[:20]), 120)})"


def file_matches(workspace: Path, path: Any, pattern: str) -> Outcome:
    """Passes when ``pattern`` is found in the text of the file at ``path``."""
    from goalctl.reading import ReadError, read_text
    from goalctl.regexes import PatternError, search

    try:
        found = resolve_inside(workspace, path)
    except OutsideWorkspace as exc:
        return Outcome(False, "the path cannot be checked", str(exc))
    if not found.exists():
        return Outcome(False, f"{path} does not exist{_nearby(workspace, found)}")
    try:
        text = read_text(found, "workspace")
    except ReadError as exc:
        return Outcome(False, f"{path} cannot be read", exc.detail)
    try:
        match = search(pattern, text)
    except PatternError as exc:
        return Outcome(False, "the pattern cannot be applied", str(exc))
    if match is None:
        return Outcome(False, f"no match for /{pattern}/ in {path}: {shorten(text, 80)!r}")
    line = text.count("\n", 0, match.start()) + 1
    return Outcome(True, f"{path} matches /{pattern}/ at line {line}: {shorten(match[0], 60)!r}")


async def command_succeeds(
    workspace: Path, argv: Sequence[str], timeout_s: float | None
) -> Outcome:
    """Passes when ``argv`` exits with status 0, run in the workspace within ``timeout_s``."""
    from goalctl.processes import child_environment, run_process

    timeout = DEFAULT_COMMAND_TIMEOUT_S if timeout_s is None else float(timeout_s)
    shown = shorten(" ".join(argv), 80)
    try:
        process = await run_process(
            list(argv),
            cwd=workspace,
            env=child_environment(),
            timeout_s=timeout,
            max_stdout=64 * 1024,
        )
    except FileNotFoundError:
        return Outcome(False, f"`{shown}` did not run", f"command not found: {argv[0]!r}")
    except PermissionError:
        return Outcome(False, f"`{shown}` did not run", f"not executable: {argv[0]!r}")
    except OSError as exc:
        return Outcome(False, f"`{shown}` did not run", f"{exc.strerror or exc}")
    output = _tail(process.stderr_tail) or _tail(process.stdout.decode("utf-8", "replace"))
    said = f": {output}" if output else ""
    if process.timed_out:
        return Outcome(False, f"`{shown}` timed out after {timeout:g}s (killed){said}")
    if process.returncode == 0:
        # What a passing command printed says nothing a reader needs (and holds timings that
        # differ from run to run); what a failing one printed is the evidence.
        return Outcome(True, f"`{shown}` exited with status 0")
    return Outcome(False, f"`{shown}` exited with status {process.returncode}{said}")


def _tail(text: str) -> str:
    """The end of a command's output on one line: where a test runner says what failed."""
    joined = " | ".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    if len(joined) <= OUTPUT_TAIL_CHARS:
        return joined
    return "…" + joined[-(OUTPUT_TAIL_CHARS - 1) :]
