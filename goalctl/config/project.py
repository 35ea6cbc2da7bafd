"""The project configuration: ``goalctl.toml``, or ``[tool.goalctl]`` in ``pyproject.toml``.

Found from the working directory upwards (a ``pyproject.toml`` without the table is passed
over), validated strictly — unknown keys with a did-you-mean, every problem at once, each at
``file:line:col`` — and applied between the command line and goalctl's built-in defaults:
a flag (or ``GOALCTL_STATE_DIR``) wins over it, it wins over a default. A scenario's own
``provider``/``model`` win over the project's, which stand in when a scenario names none.
Relative paths (``state_dir``, ``exclude``) are relative to the file's folder.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goalctl.config.locate import locate
from goalctl.config.prices import Price, price_problem
from goalctl.errors import UsageError
from goalctl.reading import ReadError, read_text
from goalctl.sizes import shown_number

PROJECT_FILE = "goalctl.toml"
PYPROJECT = "pyproject.toml"
MAX_CONCURRENCY = 1024
"""The same bound as ``goalctl run --concurrency``."""

KEYS = (
    "state_dir",
    "concurrency",
    "provider",
    "model",
    "judge_model",
    "exclude",
    "redact",
    "prices",
)
PRICE_KEYS = ("input", "output")


@dataclass(frozen=True)
class ProjectConfig:
    """A project's settings; every field None (or empty) when it does not set it."""

    path: Path | None = None
    """The file it was read from; None when there is none."""
    state_dir: Path | None = None
    """Where runs are kept, resolved against the file's folder."""
    concurrency: int | None = None
    provider: str | None = None
    """The provider of scenarios that name none."""
    model: str | None = None
    """The model of scenarios that name none."""
    judge_model: str | None = None
    """The judge's model when a scenario's config names none."""
    exclude: tuple[str, ...] = ()
    """Glob patterns of files and folders left out when folders are scanned for scenarios."""
    redact: tuple[str, ...] = ()
    """Patterns redacted in every scenario's transcripts and cassettes, besides its own."""
    prices: dict[str, Price] = field(default_factory=dict)
    """USD per million tokens by model name; a scenario's ``pricing`` wins over them."""

    def excludes(self, path: Path) -> bool:
        """Whether ``path`` is left out by ``exclude``.

        Like ``.gitignore``: a pattern without ``/`` matches any file or folder name on the way
        (``drafts``, ``*.wip.md``); one with ``/`` matches the path from the project's folder,
        or a folder above the file (``scenarios/old``, ``scenarios/old/*``).
        """
        if not self.exclude:
            return False
        root = self.path.parent if self.path else Path.cwd()
        absolute = Path(os.path.abspath(path))
        try:
            parts = absolute.relative_to(root).parts
        except ValueError:
            parts = absolute.parts[1:]
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for raw in self.exclude:
            pattern = raw.strip("/")
            names = prefixes if "/" in pattern else parts
            if any(fnmatch.fnmatchcase(name, pattern) for name in names):
                return True
        return False

    @property
    def exclusion(self) -> Callable[[Path], bool] | None:
        """The :meth:`excludes` predicate, or None when nothing is excluded."""
        return self.excludes if self.exclude else None


def find_project_file(start: Path) -> tuple[Path, dict[str, Any], tuple[str, ...]] | None:
    """The nearest project file from ``start`` upwards: its path, its settings table and that
    table's key path in the file."""
    directory = Path(os.path.abspath(start))
    for folder in (directory, *directory.parents):
        # A project file that exists but is no regular file (a FIFO, a link to a device) is
        # refused by the reader rather than passed over: the user meant it to apply.
        candidate = folder / PROJECT_FILE
        if candidate.exists():
            return candidate, _parse(candidate), ()
        pyproject = folder / PYPROJECT
        if pyproject.exists():
            tool = _parse(pyproject).get("tool")
            if isinstance(tool, dict) and "goalctl" in tool:
                table = tool["goalctl"]
                if not isinstance(table, dict):
                    raise UsageError(_at(pyproject, ("tool", "goalctl"), (), "must be a table"))
                return pyproject, table, ("tool", "goalctl")
    return None


def load_project(start: Path | None = None) -> ProjectConfig:
    """The configuration of the project around ``start`` (the working directory by default);
    :class:`UsageError` listing every problem of a broken file."""
    found = find_project_file(start if start is not None else Path.cwd())
    if found is None:
        return ProjectConfig()
    path, table, prefix = found
    problems: list[str] = []

    def problem(key_path: tuple[str | int, ...], message: str) -> None:
        problems.append(_at(path, key_path, prefix, message))

    values = _validate(table, problem)
    if problems:
        raise UsageError("\n".join(problems))
    state_dir = values.get("state_dir")
    return ProjectConfig(
        path=path,
        state_dir=path.parent / state_dir if state_dir else None,
        concurrency=values.get("concurrency"),
        provider=values.get("provider"),
        model=values.get("model"),
        judge_model=values.get("judge_model"),
        exclude=tuple(values.get("exclude", ())),
        redact=tuple(values.get("redact", ())),
        prices=values.get("prices", {}),
    )


Report = Callable[[tuple[str | int, ...], str], None]


def _validate(table: Mapping[str, Any], problem: Report) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            problem((key,), f"unknown key {key!r} ({_did_you_mean(key, KEYS)})")
        elif key == "concurrency":
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 1 <= value <= MAX_CONCURRENCY
            ):
                problem(
                    (key,), f"must be an integer from 1 to {MAX_CONCURRENCY}, got {_toml(value)}"
                )
            else:
                values[key] = value
        elif key in ("state_dir", "provider", "model", "judge_model"):
            if not isinstance(value, str) or not value.strip():
                problem((key,), f"must be a non-empty string, got {_toml(value)}")
            elif key == "provider" and (unknown := _unknown_provider(value)):
                problem((key,), unknown)
            else:
                values[key] = value
        elif key in ("exclude", "redact"):
            values[key] = _strings(key, value, problem)
        else:
            values[key] = _prices(value, problem)
    return values


def _strings(key: str, value: object, problem: Report) -> list[str]:
    noun = "glob patterns" if key == "exclude" else "regular expressions"
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problem((key,), f"must be a list of {noun}")
        return []
    if key == "redact":
        from goalctl.regexes import PatternError, compile_pattern

        for index, pattern in enumerate(value):
            try:
                compile_pattern(pattern)
            except PatternError as exc:
                problem((key, index), str(exc))
    return list(value)


def _prices(value: object, problem: Report) -> dict[str, Price]:
    if not isinstance(value, dict):
        problem(("prices",), "must be a table of models, each with input and output prices")
        return {}
    prices: dict[str, Price] = {}
    for model, entry in value.items():
        where = ("prices", model)
        if not isinstance(entry, dict):
            problem(where, "must be a table with input and output (USD per million tokens)")
            continue
        ok = True
        for key, amount in entry.items():
            if key not in PRICE_KEYS:
                problem((*where, key), f"unknown key {key!r} ({_did_you_mean(key, PRICE_KEYS)})")
                ok = False
            elif (wrong := price_problem(amount)) is not None:
                problem((*where, key), wrong)
                ok = False
        for key in PRICE_KEYS:
            if key not in entry:
                problem((*where, key), "is required")
                ok = False
        if ok:
            prices[model] = Price(float(entry["input"]), float(entry["output"]))
    return prices


def _unknown_provider(name: str) -> str | None:
    from goalctl.providers.registry import PROVIDERS

    if name in PROVIDERS.names():
        return None
    return f"unknown provider {name!r} ({PROVIDERS.remedy(name)})"


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(known)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return shown_number(value)
    return repr(value)


def _parse(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        text = read_text(path, "config")
    except ReadError as exc:
        raise UsageError(f"{path}: {exc.reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, message = _toml_error(str(exc))
        raise UsageError(f"{path}:{line}:{col}: invalid TOML: {message}") from None
    except RecursionError:
        raise UsageError(f"{path}: invalid TOML: nested too deeply") from None
    except ValueError:  # Python's limit on reading decimal integers (hexadecimal has none)
        raise UsageError(
            f"{path}: invalid TOML: an integer has more than {sys.get_int_max_str_digits():,} "
            "digits (write a smaller number)"
        ) from None


_TOML_AT = re.compile(r"^(?P<message>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def _toml_error(text: str) -> tuple[int, int, str]:
    match = _TOML_AT.match(text)
    if match is None:
        return 1, 1, text
    message = match.group("message")
    message = message[:1].lower() + message[1:]
    return int(match.group("line")), int(match.group("col")), message


def _at(path: Path, key_path: tuple[str | int, ...], prefix: tuple[str, ...], message: str) -> str:
    """``file:line:col: key.path: message`` for a problem in the file at ``path``."""
    try:
        text = read_text(path, "config")
    except ReadError:
        text = ""
    line, col = locate(text, key_path, prefix)
    shown = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in key_path).lstrip(".")
    return f"{path}:{line}:{col}: {shown}: {message}"
