"""A scenario's project, and the functions of it a scenario names as ``module:function``.

A scenario lives in a project: its folder up to the nearest ``pyproject.toml`` or ``.git``
(the scenario's own folder when there is neither). ``check: mymodule:total_matches`` names a
function of that project, found by path arithmetic from the project root — never through
``sys.path``, so ``this:s`` or ``os:system`` are refused before anything is imported (importing
runs a module's code). The function must carry goalctl's marker (``@goalctl.check``, and in
later kinds ``@goalctl.agent``, ``@goalctl.tool``) and is called with keyword arguments by
name, so ``def total_matches(output, expected, **_)`` takes what it needs.

:func:`inspect_reference` answers the same questions without importing anything, for
``goalctl validate``: a scenario from a stranger's pull request must not run code when it is
merely checked.
"""

from __future__ import annotations

import ast
import difflib
import functools
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, Final, NamedTuple

from goalctl.errors import GoalctlError

PROJECT_MARKERS: Final = ("pyproject.toml", ".git")
"""Files or folders whose presence makes a folder a project root."""
MAX_MODULE_BYTES: Final = 1024 * 1024
"""Largest module file :func:`inspect_reference` parses."""

# sys.path and sys.modules are process-wide: imports of project code must not interleave.
_IMPORT_LOCK = threading.RLock()
_LOADED: dict[str, Path] = {}
"""Top-level module name → project root, for the project modules this process imported (see
:func:`_import`)."""


class ProjectError(GoalctlError):
    """A ``module:function`` that cannot be found, is outside the project, or is not marked."""


class Reference(NamedTuple):
    """``module.path:function`` as written in a scenario."""

    module: str
    function: str

    def __str__(self) -> str:
        return f"{self.module}:{self.function}"


def parse_reference(source: str) -> Reference | None:
    """The reference ``source`` spells (``pkg.mod:name``), or None for anything else (an
    expression such as ``output['a'] == 1``)."""
    module, sep, name = source.strip().partition(":")
    if sep and all(part.isidentifier() for part in module.split(".")) and name.isidentifier():
        return Reference(module, name)
    return None


def project_root(scenario: Path) -> Path:
    """The project of the scenario file ``scenario``: its folder or the nearest folder above it
    with a ``pyproject.toml`` or ``.git``; the scenario's own folder when there is none."""
    folder = Path(os.path.realpath(scenario)).parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    return folder


def module_file(root: Path, module: str) -> Path:
    """The file of ``module`` in the project at ``root`` (``a/b/__init__.py`` or ``a/b.py``),
    resolved by path arithmetic alone; :class:`ProjectError` when it is not there or leads out
    of the project (a symlink)."""
    parts = module.split(".")
    base = root.joinpath(*parts)
    # A package wins over a module of the same name, as in Python's own import system.
    for candidate in (base / "__init__.py", base.with_name(parts[-1] + ".py")):
        if candidate.is_file():
            real = Path(os.path.realpath(candidate))
            if not real.is_relative_to(Path(os.path.realpath(root))):
                raise ProjectError(
                    f"module {module!r} leads out of the project under {shown(root)} "
                    f"(to {real}); refused"
                )
            return candidate
    raise ProjectError(
        f"module {module!r} is not part of the project (no {'/'.join(parts)}.py or "
        f"{'/'.join(parts)}/__init__.py under {shown(root)})"
    )


def shown(folder: Path) -> str:
    """``folder`` as messages show it: relative to the working directory when inside it (as
    ``goalctl validate`` shows file names), with a trailing slash."""
    real, cwd = Path(os.path.realpath(folder)), Path(os.path.realpath(Path.cwd()))
    text = real.relative_to(cwd).as_posix() if real.is_relative_to(cwd) else str(real)
    return text.rstrip("/") + "/"


def load_marked(
    root: Path, reference: Reference, marker: str, decorator: str
) -> Callable[..., Any]:
    """Import ``reference`` from the project at ``root`` and return the function, which must
    carry the attribute ``marker`` (set by the decorator named ``decorator``).

    The module's file is found, and anything outside the project refused, before importing.
    """
    file = module_file(root, reference.module)
    module = _import(root, reference.module, file)
    function = getattr(module, reference.function, None)
    if function is None:
        raise ProjectError(
            f"module {reference.module!r} has no function {reference.function!r}"
            + _did_you_mean(reference.function, [n for n in vars(module) if not n.startswith("_")])
        )
    if not getattr(function, marker, False):
        raise ProjectError(
            f"{str(reference)!r} is not marked with @{decorator}; refusing to call it"
        )
    return function  # type: ignore[no-any-return]


def _import(root: Path, name: str, file: Path) -> ModuleType:
    """Import the project module ``name`` (whose file is ``file``) with ``root`` on sys.path.

    Two projects may both have a ``checks.py``: a project module this process imported from
    another root is imported afresh; any other module already holding the name (the standard
    library, goalctl, an installed package) is never replaced.
    """
    with _IMPORT_LOCK:
        loaded = sys.modules.get(name)
        if loaded is not None and _same_file(getattr(loaded, "__file__", None), file):
            return loaded
        top = name.split(".")[0]
        holder = sys.modules.get(top)
        # A namespace package spans every root on sys.path, so "holds" is not enough: a module
        # of the name already loaded from another file also means another project's copy.
        if holder is not None and (loaded is not None or not _holds(holder, root / top)):
            if top not in _LOADED:
                where = getattr(holder, "__file__", None) or "built in"
                raise ProjectError(
                    f"module name {top!r} is already taken by {where}; rename the project's module"
                )
            for key in [k for k in sys.modules if k == top or k.startswith(top + ".")]:
                del sys.modules[key]
        # As pytest does for a rootdir: the project's modules import each other by name. First
        # on the path, so another project imported earlier in this process cannot shadow it.
        if str(root) in sys.path:
            sys.path.remove(str(root))
        sys.path.insert(0, str(root))
        import importlib

        importlib.invalidate_caches()
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            raise ProjectError(
                f"cannot import {name!r} from {file}: {type(exc).__name__}: {exc}"
            ) from None
        if not _same_file(getattr(module, "__file__", None), file):
            raise ProjectError(f"module {name!r} was imported from {module.__file__}, not {file}")
        _LOADED[top] = root
        return module


def _holds(module: ModuleType, base: Path) -> bool:
    """Whether ``module`` is the project's top-level module or package at ``base``
    (``root/name``): its file is ``base.py`` or ``base/__init__.py``, or, for a namespace
    package, ``base`` is on its path."""
    file = getattr(module, "__file__", None)
    if file is not None:
        return any(_same_file(file, c) for c in (base.with_suffix(".py"), base / "__init__.py"))
    return any(_same_file(str(p), base) for p in getattr(module, "__path__", []))


def _same_file(found: str | None, file: Path) -> bool:
    return found is not None and os.path.realpath(found) == os.path.realpath(file)


def call_by_name(function: Callable[..., Any], arguments: Mapping[str, Any]) -> Any:
    """Call ``function`` with those of ``arguments`` its parameters name (all of them when it
    takes ``**kwargs``); :class:`ProjectError` when it needs one that is not offered."""
    accepted = _parameters(function)
    if accepted.missing(arguments):
        raise ProjectError(
            f"function {function.__qualname__!r} needs argument(s) "
            f"{', '.join(repr(n) for n in accepted.missing(arguments))}, which goalctl does not "
            f"provide (available: {', '.join(sorted(arguments))})"
        )
    if accepted.any_keyword:
        return function(**arguments)
    return function(**{k: v for k, v in arguments.items() if k in accepted.names})


class _Parameters(NamedTuple):
    names: frozenset[str]
    required: frozenset[str]
    positional_only: frozenset[str]
    """Required parameters that can never be passed by name."""
    any_keyword: bool

    def missing(self, arguments: Mapping[str, Any]) -> list[str]:
        return sorted((self.required - set(arguments)) | self.positional_only)


@functools.lru_cache(maxsize=256)
def _parameters(function: Callable[..., Any]) -> _Parameters:
    import inspect

    names, required, positional_only, any_keyword = set(), set(), set(), False
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            any_keyword = True
        elif parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            names.add(parameter.name)
            if parameter.default is inspect.Parameter.empty:
                required.add(parameter.name)
        elif parameter.kind is parameter.POSITIONAL_ONLY and parameter.default is parameter.empty:
            positional_only.add(parameter.name)
    return _Parameters(
        frozenset(names), frozenset(required), frozenset(positional_only), any_keyword
    )


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- Inspection without importing (validate) ---------------------------------------------------


def inspect_reference(
    root: Path, reference: Reference, decorator: str, arguments: frozenset[str]
) -> str | None:
    """Why ``reference`` would fail at run time, judged from the module's source without
    importing it; None when it looks right.

    A function defined in the module must carry ``@<decorator>`` (as ``@goalctl.check`` or,
    after ``from goalctl import check``, ``@check``) and need no argument outside
    ``arguments``. A name the module imports or assigns cannot be judged without running it;
    the run checks it.
    """
    from goalctl.reading import ReadError, read_text

    try:
        file = module_file(root, reference.module)
        tree = ast.parse(read_text(file, "module", MAX_MODULE_BYTES), filename=str(file))
    except ProjectError as exc:
        return str(exc)
    except ReadError as exc:
        return str(exc)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return f"module {reference.module!r} ({file}) cannot be parsed: {exc}"
    defined = _top_level_names(tree)
    node = defined.get(reference.function)
    if node is None:
        return f"module {reference.module!r} has no function {reference.function!r}" + (
            _did_you_mean(reference.function, [n for n in defined if not n.startswith("_")])
        )
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    short = decorator.rpartition(".")[2]
    if not any(_decorator_name(d) in (decorator, short) for d in node.decorator_list):
        return f"{str(reference)!r} is not marked with @{decorator}; it would not be called"
    return _argument_problem(node, arguments, str(reference))


def _top_level_names(tree: ast.Module) -> dict[str, ast.AST]:
    """Names the module binds at top level; the last binding wins, as it does at run time."""
    names: dict[str, ast.AST] = {}
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[statement.name] = statement
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            for alias in statement.names:
                names[(alias.asname or alias.name).split(".")[0]] = statement
        else:
            for node in ast.walk(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names[node.id] = statement
    return names


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _argument_problem(
    node: ast.FunctionDef | ast.AsyncFunctionDef, arguments: frozenset[str], reference: str
) -> str | None:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    without_default = positional[: len(positional) - len(args.defaults)]
    # A positional-only parameter can never be passed by name.
    missing = [a.arg for a in without_default if a in args.posonlyargs or a.arg not in arguments]
    missing += [
        a.arg
        for a, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
        if default is None and a.arg not in arguments
    ]
    if not missing:
        return None
    return (
        f"{reference!r} needs argument(s) {', '.join(repr(n) for n in missing)}, which goalctl "
        f"does not provide (available: {', '.join(sorted(arguments))})"
    )
