"""Compiling: parse once, check the tree against a whitelist, collect the free names.

A refused expression raises :class:`ExpressionError` naming the first problem in reading order
and where it is (``line 2, column 5``), counted in the source as the user wrote it.
"""

from __future__ import annotations

import ast
import difflib
import re
import threading
import time
import warnings
from typing import NamedTuple

from goalctl.errors import ExpressionError
from goalctl.expressions.evaluator import _COMPREHENSIONS, _HANDLERS, _cause, _Evaluator
from goalctl.expressions.limits import (
    _BOUND_FUNCTIONS,
    _BUDGET,
    _FUNCTIONS,
    _OPERATORS,
    DEFAULT_TIMEOUT,
    MAX_DEPTH,
    MAX_SOURCE_LENGTH,
    _Budget,
    _Refusal,
)

# warnings.catch_warnings swaps process-wide state, so concurrent compiles must not interleave.
_PARSE_LOCK = threading.Lock()
_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
# The line breaks of Python's tokenizer, which the positions in the tree count.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _Checked(NamedTuple):
    """A checked expression's syntax tree and the free names it reads."""

    tree: ast.expr
    names: frozenset[str]


def _parse(source: str) -> _Checked:
    """Parse and check ``source``; raise :class:`ExpressionError` if it is unsafe."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise _invalid(
            source,
            f"it is too long ({len(source):,} characters; the limit is {MAX_SOURCE_LENGTH:,})",
        )
    text = source.strip()
    if not text:
        raise _invalid(source, "the expression is empty")
    try:
        with _PARSE_LOCK, warnings.catch_warnings():
            # "\d" in a regex is an invalid-escape warning, an error under -W error; users
            # mean it literally, as Python itself still does.
            warnings.simplefilter("ignore")
            module = ast.parse(text)
    except SyntaxError as exc:
        where = f" ({_position(source, exc.lineno, exc.offset)})" if exc.lineno else ""
        raise _invalid(source, f"syntax error: {exc.msg}{where}") from None
    except (RecursionError, MemoryError):
        raise _invalid(source, "it is too complex to parse") from None
    except ValueError as exc:  # null bytes
        raise _invalid(source, str(exc)) from None
    if not module.body:
        raise _invalid(source, "the expression is empty")
    if len(module.body) != 1:
        raise _invalid(source, f"it must be a single expression, not {len(module.body)} statements")
    statement = module.body[0]
    if isinstance(statement, ast.Assign | ast.AugAssign | ast.AnnAssign):
        problem = "assignment is not allowed; use '==' to compare"
        raise _invalid(source, f"{problem} ({_node_position(source, *_anchor(statement))})")
    if not isinstance(statement, ast.Expr):
        kind = type(statement).__name__
        raise _invalid(source, f"it must be an expression, not a statement ({kind})")
    _check(source, statement.value)
    _fold_constants(source, statement.value)
    found: set[str] = set()
    _collect_free_names(statement.value, frozenset(), found)
    return _Checked(statement.value, frozenset(found))


def _check(source: str, root: ast.expr) -> None:
    problems: list[tuple[tuple[int, int], str]] = []
    # Iterative, so a pathological tree cannot exhaust the Python stack.
    stack: list[tuple[ast.AST, int, ast.AST | None]] = [(root, 1, None)]
    while stack:
        node, depth, parent = stack.pop()
        if depth > MAX_DEPTH:
            raise _invalid(source, f"it is nested too deeply (more than {MAX_DEPTH} levels)")
        problem = _problem(node, parent)
        if problem is not None:
            problems.append((_anchor(node if hasattr(node, "lineno") else parent or root), problem))
            if type(node) not in _HANDLERS and not isinstance(node, ast.comprehension):
                continue  # the parts of a refused construct (a lambda's arguments) are moot
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _LEAVES):
                stack.append((child, depth + 1, node))
            elif not isinstance(child, ast.expr_context | ast.boolop) and (
                type(child) not in _OPERATORS
            ):
                problems.append(
                    (_anchor(node), f"operator {type(child).__name__} is not supported")
                )
    if problems:
        # The first in reading order; an outer node wins a tie with the parts it starts with.
        (lineno, offset), problem = min(problems, key=lambda item: item[0])
        raise _invalid(source, f"{problem} ({_node_position(source, lineno, offset)})")


_ARITHMETIC = (ast.BinOp, ast.UnaryOp)


def _fold_constants(source: str, root: ast.expr) -> None:
    """Compute every constant arithmetic subexpression (``9**9**9``) once, now, with the
    sandbox's own guarded operators: one beyond the bounds would fail every evaluation of a run,
    so it is refused where ``goalctl validate`` sees it."""
    # The constant parts together get one evaluation's time: more would fail every evaluation.
    budget = _Budget(time.monotonic() + DEFAULT_TIMEOUT, DEFAULT_TIMEOUT)
    token = _BUDGET.set(budget)
    try:
        stack: list[ast.AST] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, _ARITHMETIC) and _is_constant(node):
                try:
                    _Evaluator(source, {}, budget)._eval(node)
                except (_Refusal, OverflowError) as exc:
                    where = _node_position(source, *_anchor(node))
                    raise _invalid(source, f"{_cause(exc)} ({where})") from None
                except Exception:
                    continue
                continue  # its parts were computed with it
            stack.extend(ast.iter_child_nodes(node))
    finally:
        _BUDGET.reset(token)


def _is_constant(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.BinOp):
        return _is_constant(node.left) and _is_constant(node.right)
    if isinstance(node, ast.UnaryOp):
        return _is_constant(node.operand)
    if isinstance(node, ast.List | ast.Tuple):
        return all(_is_constant(element) for element in node.elts)
    return False


def _problem(node: ast.AST, parent: ast.AST | None) -> str | None:
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return f"name {node.id!r} is not allowed: names starting with '_' are private"
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        return f"attribute {node.attr!r} is not allowed: attributes starting with '_' are private"
    if isinstance(node, ast.NamedExpr):
        return "assignment expressions (:=) are not allowed"
    if isinstance(node, ast.Lambda):
        return "lambda is not allowed"
    if isinstance(node, ast.Call):
        return _call_problem(node)
    if isinstance(node, ast.comprehension):
        if node.is_async:
            return "async comprehensions are not supported"
        if not _is_target(node.target):
            return "comprehension variables must be names or tuples of names"
        return None
    if isinstance(node, ast.Starred):
        # simpleeval unpacks only inside list literals.
        if isinstance(parent, ast.List) and isinstance(node.ctx, ast.Load):
            return None
        return "'*' unpacking is only supported inside list literals"
    if type(node) not in _HANDLERS:
        return f"{type(node).__name__} is not supported"
    return None


def _call_problem(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        known = func.id in _FUNCTIONS or func.id in _BOUND_FUNCTIONS
        if not known and not func.id.startswith("_"):
            names = sorted({*_FUNCTIONS, *_BOUND_FUNCTIONS})
            close = difflib.get_close_matches(func.id, names, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            return f"unknown function {func.id!r} ({hint}available: {', '.join(names)})"
    elif not isinstance(func, ast.Attribute):
        return "only functions and methods can be called"
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        return "'*' unpacking in calls is not supported"
    if any(keyword.arg is None for keyword in node.keywords):
        return "'**' unpacking in calls is not supported"
    return None


def _is_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, ast.Tuple | ast.List) and all(_is_target(e) for e in target.elts)


def _target_names(target: ast.expr) -> frozenset[str]:
    if isinstance(target, ast.Name):
        return frozenset({target.id})
    if isinstance(target, ast.Tuple | ast.List):
        return frozenset().union(*(_target_names(element) for element in target.elts))
    return frozenset()


def _collect_free_names(node: ast.AST, bound: frozenset[str], found: set[str]) -> None:
    if isinstance(node, ast.Name):
        if node.id not in bound and node.id not in _FUNCTIONS:
            found.add(node.id)
    elif isinstance(node, _COMPREHENSIONS):
        inner = bound
        for generator in node.generators:
            # Each iterable sees only the variables of the generators before it.
            _collect_free_names(generator.iter, inner, found)
            inner = inner | _target_names(generator.target)
            for condition in generator.ifs:
                _collect_free_names(condition, inner, found)
        results = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for result in results:
            _collect_free_names(result, inner, found)
    else:
        for child in ast.iter_child_nodes(node):
            _collect_free_names(child, bound, found)


def _invalid(source: str, problem: str) -> ExpressionError:
    return ExpressionError(f"invalid expression {_quote(source)}: {problem}")


def _position(source: str, lineno: int, col: int | None) -> str:
    """Name a 1-based place in the stripped source as a place in the source as written."""
    lead_lines = _LINE_BREAK.split(source[: len(source) - len(source.lstrip())])
    if lineno == 1 and col is not None:
        col += len(lead_lines[-1])
    lineno += len(lead_lines) - 1
    column = f"column {col}" if col is not None else ""
    if lineno == 1 and _LINE_BREAK.search(source.strip()) is None:
        return column
    return f"line {lineno}, {column}" if column else f"line {lineno}"


def _anchor(node: ast.AST) -> tuple[int, int]:
    """The line and UTF-8 byte offset a problem with ``node`` is reported at."""
    if isinstance(node, ast.Attribute) and node.end_lineno and node.end_col_offset is not None:
        # Point at the attribute itself rather than at the start of `obj.attr`.
        return node.end_lineno, node.end_col_offset - len(node.attr.encode())
    return getattr(node, "lineno", 1), getattr(node, "col_offset", 0)


def _node_position(source: str, lineno: int, offset: int) -> str:
    line = _LINE_BREAK.split(source.strip())[lineno - 1]
    # ast offsets count UTF-8 bytes; people count characters.
    col = len(line.encode()[:offset].decode("utf-8", "replace")) + 1
    return _position(source, lineno, col)


def _quote(source: str) -> str:
    from goalctl.excerpts import excerpt

    return repr(excerpt(source, 80, "..."))
