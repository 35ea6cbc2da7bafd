"""Safe expressions for constraint ``check``s and ``custom`` criteria (DESIGN §6, §10).

Scenario files may come from strangers' pull requests, so an expression is parsed once,
checked against a whitelist of syntax, and evaluated by a simpleeval-based evaluator that
bounds numbers, sizes, comprehension work and wall-clock time. Every failure is an
:class:`ExpressionError` that quotes the expression and names the cause.
"""

from __future__ import annotations

import ast
import functools
import operator
import re
import threading
import time
import types
import warnings
from collections.abc import Callable, ItemsView, Iterable, KeysView, Mapping, Sized, ValuesView
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final

import simpleeval

from goalctl.errors import ExpressionError

MAX_SOURCE_LENGTH: Final = 2000
MAX_DEPTH: Final = 50
"""Deepest allowed nesting of the syntax tree."""
MAX_INT_BITS: Final = 10_000
"""Largest integer ``**`` may produce."""
MAX_SIZE: Final = 1_000_000
"""Most characters (or items) in one value built by ``*``, ``+``, ``str()``, f-strings,
``str.join`` and the string methods that grow their input."""
MAX_TOTAL_SIZE: Final = 20_000_000
"""Most new characters and items one evaluation may build: those values, and literals,
comprehensions, slices, copies and the results of string methods (see ``_cost``)."""
MAX_COMPREHENSION_ITEMS: Final = 100_000
"""Most items all comprehensions of one evaluation may go through."""
DEFAULT_TIMEOUT: Final = 1.0
"""Seconds one evaluation may take."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A checked expression, ready to be evaluated many times."""

    source: str
    """The expression as written."""
    names: frozenset[str]
    """Free names it reads: neither comprehension variables nor functions."""
    tree: ast.expr = field(repr=False, compare=False)
    """The checked syntax tree that :meth:`evaluate` walks."""

    def evaluate(self, names: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Evaluate with ``names`` bound; any failure raises :class:`ExpressionError`."""
        budget = _Budget(time.monotonic() + timeout, timeout)
        token = _BUDGET.set(budget)
        try:
            return _Evaluator(self.source, names, budget)._eval(self.tree)
        except Exception as exc:
            raise ExpressionError(f"cannot evaluate {_quote(self.source)}: {_cause(exc)}") from exc
        finally:
            _BUDGET.reset(token)


def compile_expression(source: str) -> Expression:
    """Parse and check ``source`` once (cached); raise :class:`ExpressionError` if it is unsafe."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a string, not {type(source).__name__}")
    return _compile(source)


def evaluate(source: str, names: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Compile ``source`` (cached) and evaluate it with ``names`` bound."""
    return compile_expression(source).evaluate(names, timeout=timeout)


def free_names(source: str) -> frozenset[str]:
    """The names ``source`` reads from the caller (see :attr:`Expression.names`)."""
    return compile_expression(source).names


# --- Compiling -------------------------------------------------------------------------------

# warnings.catch_warnings swaps process-wide state, so concurrent compiles must not interleave.
_PARSE_LOCK = threading.Lock()
_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> Expression:
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
    found: set[str] = set()
    _collect_free_names(statement.value, frozenset(), found)
    return Expression(source, frozenset(found), statement.value)


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
        if func.id not in _FUNCTIONS and not func.id.startswith("_"):
            return f"unknown function {func.id!r} (available: {', '.join(sorted(_FUNCTIONS))})"
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
    lead = source[: len(source) - len(source.lstrip())]
    if lineno == 1 and col is not None:
        col += len(lead) - (lead.rfind("\n") + 1)
    lineno += lead.count("\n")
    column = f"column {col}" if col is not None else ""
    if lineno == 1 and "\n" not in source.strip():
        return column
    return f"line {lineno}, {column}" if column else f"line {lineno}"


def _anchor(node: ast.AST) -> tuple[int, int]:
    """The line and UTF-8 byte offset a problem with ``node`` is reported at."""
    if isinstance(node, ast.Attribute) and node.end_lineno and node.end_col_offset is not None:
        # Point at the attribute itself rather than at the start of `obj.attr`.
        return node.end_lineno, node.end_col_offset - len(node.attr.encode())
    return getattr(node, "lineno", 1), getattr(node, "col_offset", 0)


def _node_position(source: str, lineno: int, offset: int) -> str:
    line = source.strip().split("\n")[lineno - 1]
    # ast offsets count UTF-8 bytes; people count characters.
    col = len(line.encode()[:offset].decode("utf-8", "replace")) + 1
    return _position(source, lineno, col)


def _quote(source: str) -> str:
    return repr(source if len(source) <= 80 else source[:77] + "...")


# --- Bounds ----------------------------------------------------------------------------------


class _Refusal(Exception):
    """An evaluation was stopped; the message is the cause shown to the user."""


@dataclass(slots=True)
class _Budget:
    deadline: float
    timeout: float
    spent: int = 0
    items: int = 0

    def charge(self, size: int) -> None:
        self.spent += size
        if self.spent > MAX_TOTAL_SIZE:
            raise _Refusal(
                f"it builds too much data (more than {MAX_TOTAL_SIZE:,} characters or items)"
            )


# Guards are plain functions called from simpleeval's code, so the current evaluation's
# budget reaches them through a context variable (one per thread and per asyncio task).
_BUDGET: ContextVar[_Budget | None] = ContextVar("goalctl_expression_budget", default=None)
_REPEATABLE = (str, bytes, bytearray, list, tuple)
_TEXT = (str, bytes, bytearray)
_SCALARS = (str, int, float, bool, type(None))
_ATOMS = frozenset({float, bool, complex, type(None)})
_CONTAINERS = (list, tuple, set, frozenset, dict, KeysView, ValuesView, ItemsView)


def _size(value: object, limit: int) -> int:
    """Characters and items in ``value``, counting shared parts each time they occur (as
    ``str()`` writes them out); stops counting once past ``limit``."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _TEXT):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 3
        elif isinstance(item, _CONTAINERS):
            total += len(item)
            if total > limit:
                return total
            elements = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            # Flat containers are counted at C speed: this runs on every copy of caller data.
            kinds = set(map(type, elements))
            if kinds <= _ATOMS:
                pass
            elif kinds <= {str}:
                total += sum(map(len, elements))
            elif kinds <= {int, bool}:
                total += sum(map(int.bit_length, elements)) // 3
            else:
                stack.extend(elements)
        if total > limit:
            return total
    return total


def _charge_new(value: object, *, deep: bool = False) -> None:
    """Count a freshly built value against the evaluation's budget: a loop that copies
    caller data (``[output.upper() for x in xs]``) must stop long before memory runs out."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(_size(value, MAX_TOTAL_SIZE - budget.spent) if deep else _cost(value))


def _cost(value: object) -> int:
    """What a shallow copy of ``value`` costs, in list slots: a dict or set entry takes ~4."""
    if isinstance(value, dict | set | frozenset):
        return 4 * len(value)
    return len(value) if isinstance(value, Sized) else 0


def _copying(function: Callable[..., Any], *, deep: bool = False) -> Callable[..., Any]:
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        _charge_new(result, deep=deep)
        return result

    return call


def _produce(size: int, what: str, unit: str = "characters") -> None:
    if size > MAX_SIZE:
        raise _Refusal(f"{what} would be too large (more than {MAX_SIZE:,} {unit})")
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(size)


def _unit(value: object) -> str:
    return "characters" if isinstance(value, _TEXT) else "items"


def _safe_add(left: Any, right: Any) -> Any:
    if isinstance(left, _REPEATABLE) and isinstance(right, _REPEATABLE):
        size = _size(left, MAX_SIZE) + _size(right, MAX_SIZE)
        _produce(size, "the result of '+'", _unit(left))
    return left + right


def _safe_mult(left: Any, right: Any) -> Any:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, _REPEATABLE) and isinstance(times, int) and times > 0:
            # Repeating shares the items, but str(), join and `+` write every copy out.
            size = _size(sequence, MAX_SIZE // times) * times
            _produce(size, "the result of '*'", _unit(sequence))
    return left * right


def _safe_power(base: Any, exponent: Any) -> Any:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and (abs(base).bit_length() - 1) * max(exponent, 0) > MAX_INT_BITS
    ):
        raise _Refusal(
            f"{_short(base)} ** {_short(exponent)} is too large (more than {MAX_INT_BITS:,} bits)"
        )
    return base**exponent


def _safe_lshift(value: Any, shift: Any) -> Any:
    if (
        isinstance(value, int)
        and isinstance(shift, int)
        and value.bit_length() + max(shift, 0) > MAX_INT_BITS
    ):
        raise _Refusal(
            f"{_short(value)} << {_short(shift)} is too large (more than {MAX_INT_BITS:,} bits)"
        )
    return value << shift


def _safe_mod(left: Any, right: Any) -> Any:
    if isinstance(left, _TEXT):
        # A width such as "%0999999999d" is a memory bomb, and f-strings cover the need.
        raise _Refusal("'%' formatting is not supported; use an f-string")
    return left % right


def _safe_str(*args: Any, **kwargs: Any) -> str:
    if args and not isinstance(args[0], _SCALARS) and _size(args[0], MAX_SIZE) > MAX_SIZE:
        raise _Refusal(f"str() of this value would be too large (more than {MAX_SIZE:,} items)")
    text = str(*args, **kwargs)
    if not (args and isinstance(args[0], str)):
        _produce(len(text), "the result of str()")
    return text


def _safe_round(number: Any, ndigits: Any = None) -> Any:
    # round(5, -10**7) computes 10**(10**7) before answering 0; a smaller power gives the
    # same answer once it exceeds twice the number.
    if isinstance(number, int) and isinstance(ndigits, int) and ndigits < 0:
        ndigits = max(ndigits, -(number.bit_length() // 3 + 2))
    return round(number, ndigits)


def _safe_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
    # Summing lists or strings copies quadratically inside one C call the time bound
    # cannot interrupt.
    if not isinstance(start, int | float | complex):
        raise _Refusal("sum() adds numbers only; use str.join or a comprehension")
    return sum(iterable, start)


def _re_search(pattern: str, text: str) -> bool:
    # Catastrophic backtracking inside re cannot be interrupted by the time bound; the
    # output_matches criterion takes patterns from the same files, so this adds no new risk.
    return re.search(pattern, text) is not None


def _contains(container: Any, item: Any) -> bool:
    return item in container


def _str_join(text: str, parts: Iterable[Any]) -> str:
    items = parts if isinstance(parts, list | tuple) else list(parts)
    _produce(_size(items, MAX_SIZE) + len(text) * len(items), "the result of str.join()")
    return text.join(items)


def _grow(result_size: int, text: str, what: str) -> None:
    if result_size > len(text):
        _produce(result_size, what)


def _str_replace(text: str, old: str, new: str, count: int = -1) -> str:
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        hits = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        _grow(len(text) + hits * (len(new) - len(old)), text, "the result of str.replace()")
    return text.replace(old, new, count)


def _str_expandtabs(text: str, tabsize: int = 8) -> str:
    if isinstance(tabsize, int):
        _grow(len(text) + text.count("\t") * tabsize, text, "the result of str.expandtabs()")
    return text.expandtabs(tabsize)


def _padding(name: str) -> Callable[..., str]:
    def pad(text: str, width: int, *args: Any) -> str:
        if isinstance(width, int):
            _grow(width, text, f"the result of str.{name}()")
        result: str = getattr(text, name)(width, *args)
        return result

    return pad


_OPERATORS: Final[Mapping[type[ast.AST], Callable[..., Any]]] = types.MappingProxyType(
    {
        **simpleeval.DEFAULT_OPERATORS,
        ast.Add: _safe_add,
        ast.Mult: _safe_mult,
        ast.Pow: _safe_power,
        ast.LShift: _safe_lshift,
        ast.RShift: operator.rshift,
        ast.Mod: _safe_mod,
    }
)
_FUNCTIONS: Final[Mapping[str, Callable[..., Any]]] = types.MappingProxyType(
    {
        "len": len,
        "min": min,
        "max": max,
        "abs": abs,
        "round": _safe_round,
        "sum": _safe_sum,
        "any": any,
        "all": all,
        "sorted": _copying(sorted),
        "int": int,
        "float": float,
        "str": _safe_str,
        "bool": bool,
        "list": _copying(list),
        "tuple": _copying(tuple),
        "dict": _copying(dict),
        "set": _copying(set),
        "re_search": _re_search,
        "contains": _contains,
    }
)

_NUMBER_ATTRIBUTES = frozenset({"conjugate", "imag", "real", "as_integer_ratio"})
_INT_ATTRIBUTES = _NUMBER_ATTRIBUTES | {"bit_count", "bit_length", "denominator", "numerator"}
_SET_ATTRIBUTES = frozenset(
    {"copy", "difference", "intersection", "isdisjoint", "issubset", "issuperset"}
    | {"symmetric_difference", "union"}
)
# Attribute access is allowed on plain data only, and only to methods that neither mutate
# the caller's data (a check must not change what the next check sees) nor reach objects.
_ATTRIBUTES: Final[Mapping[type, frozenset[str]]] = types.MappingProxyType(
    {
        str: frozenset(
            simpleeval.BASIC_ALLOWED_ATTRS[str] - {"format", "format_map", "maketrans", "translate"}
        ),
        bool: _INT_ATTRIBUTES,
        int: _INT_ATTRIBUTES,
        float: _NUMBER_ATTRIBUTES | {"hex", "is_integer"},
        type(None): frozenset(),
        list: frozenset({"copy", "count", "index"}),
        tuple: frozenset({"count", "index"}),
        dict: frozenset({"copy", "get", "items", "keys", "values"}),
        set: _SET_ATTRIBUTES,
        frozenset: _SET_ATTRIBUTES,
    }
)
_STR_GUARDS: Final[Mapping[str, Callable[..., str]]] = types.MappingProxyType(
    {
        "join": _str_join,
        "replace": _str_replace,
        "expandtabs": _str_expandtabs,
        **{name: _padding(name) for name in ("center", "ljust", "rjust", "zfill")},
    }
)
# Methods of containers that copy; every str method builds a new value (or a small one).
_COPYING_METHODS = frozenset(
    {"copy", "difference", "intersection", "symmetric_difference", "union"}
)
_BUILDERS = frozenset({ast.List, ast.Tuple, ast.Set, ast.Dict, *_COMPREHENSIONS})
_PLAIN_VALUES = frozenset({str, int, float, bool, type(None), list, tuple, dict, set, frozenset})


@functools.lru_cache(maxsize=256)
def _plain_type(cls: type) -> type | None:
    # Subclasses count (ruamel's CommentedMap, str enums): they hold caller data too.
    return next((base for base in cls.__mro__ if base in _ATTRIBUTES), None)


def _short(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # an int too long to print, or a caller's broken __repr__
        return f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def _known_names(names: Mapping[str, Any]) -> str:
    known = sorted(str(name) for name in names)
    if not known:
        return "no names are defined"
    more = ", ..." if len(known) > 20 else ""
    return f"known names: {', '.join(known[:20])}{more}"


def _cause(exc: Exception) -> str:
    if isinstance(exc, _Refusal | simpleeval.InvalidExpression):
        return str(exc)
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, KeyError):
        return f"key {_short(exc.args[0])} not found" if exc.args else "key not found"
    if isinstance(exc, IndexError):
        return str(exc) or "index out of range"
    if isinstance(exc, RecursionError):
        return "data or expression nested too deeply (recursion limit reached)"
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, re.error):
        return f"invalid regular expression: {exc}"
    if isinstance(exc, OverflowError):
        detail = exc.args[-1] if exc.args and isinstance(exc.args[-1], str) else str(exc)
        return f"number too large ({detail})"
    return f"{type(exc).__name__}: {exc}"


# --- Evaluating ------------------------------------------------------------------------------


class _Evaluator(simpleeval.EvalWithCompoundTypes):  # type: ignore[misc]
    """One evaluation; never shared between threads."""

    def __init__(self, source: str, names: Mapping[str, Any], budget: _Budget) -> None:
        # The base __init__ rebuilds its tables and swaps the process-wide warnings filters on
        # every call; the shared read-only tables above replace all of that.
        self.expr = source
        self.names = names
        self.operators = _OPERATORS
        self.functions = _FUNCTIONS
        self.allowed_attrs = None
        self._budget = budget
        self._scopes: list[dict[str, Any]] = []

    def _eval(self, node: ast.AST) -> Any:
        if time.monotonic() > self._budget.deadline:
            raise _Refusal(f"evaluation took longer than {self._budget.timeout}s")
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise _Refusal(f"{type(node).__name__} is not supported")
        result = handler(self, node)
        if type(node) in _BUILDERS:
            self._budget.charge(_cost(result))
        if type(result) not in _PLAIN_VALUES:
            _refuse_dangerous(result)
        return result

    def _eval_constant(self, node: ast.Constant) -> Any:
        return node.value

    def _eval_name(self, node: ast.Name) -> Any:
        name = node.id
        for scope in reversed(self._scopes):
            if name in scope:
                return scope[name]
        try:
            return self.names[name]
        except KeyError:
            pass
        function = _FUNCTIONS.get(name)
        if function is not None:
            return function
        raise _Refusal(f"name {name!r} is not defined ({_known_names(self.names)})")

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        value = self._eval(node.value)
        attr = node.attr
        value_type: type = type(value)
        plain = _plain_type(value_type)
        if plain is None:
            raise _Refusal(
                f"attribute access is not allowed on {value_type.__name__} values (.{attr})"
            )
        if attr in _ATTRIBUTES[plain]:
            if plain is str:
                guard = _STR_GUARDS.get(attr)
                if guard is not None:
                    return functools.partial(guard, value)
                return _copying(getattr(value, attr), deep=True)
            if attr in _COPYING_METHODS:
                return _copying(getattr(value, attr))
            return getattr(value, attr)
        # `output.result` reads a key, as in simpleeval and Jinja.
        if plain is dict and attr in value:
            return value[attr]
        if plain is dict and not hasattr(value, attr):
            raise _Refusal(f"dict has no key or method {attr!r}")
        kind = "None" if value is None else value_type.__name__
        raise _Refusal(f"'.{attr}' is not available on {kind} values")

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        result = super()._eval_subscript(node)
        if isinstance(node.slice, ast.Slice):
            _charge_new(result)
        return result

    def _eval_comprehension(self, node: ast.expr) -> Any:
        # Unlike simpleeval's, this keeps the comprehension's variables in a scope stack of
        # its own instead of patching the node table, and counts items against our cap.
        items: list[Any] = []
        self._scopes.append({})
        try:
            self._generate(node, 0, items)
        finally:
            self._scopes.pop()
        if isinstance(node, ast.DictComp):
            return dict(items)
        if isinstance(node, ast.SetComp):
            return set(items)
        return items

    def _generate(self, node: Any, index: int, items: list[Any]) -> None:
        generator: ast.comprehension = node.generators[index]
        scope = self._scopes[-1]
        budget = self._budget
        for value in self._eval(generator.iter):
            budget.items += 1
            if budget.items > MAX_COMPREHENSION_ITEMS:
                raise _Refusal(
                    f"comprehensions went through more than {MAX_COMPREHENSION_ITEMS:,} items"
                )
            _bind(generator.target, value, scope)
            if not all(self._eval(condition) for condition in generator.ifs):
                continue
            if index + 1 < len(node.generators):
                self._generate(node, index + 1, items)
            elif isinstance(node, ast.DictComp):
                items.append((self._eval(node.key), self._eval(node.value)))
            else:
                items.append(self._eval(node.elt))

    def _eval_joinedstr(self, node: ast.JoinedStr) -> str:
        text = "".join(str(self._eval(value)) for value in node.values)
        _produce(len(text), "the f-string")
        return text

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> str:
        value = self._eval(node.value)
        if not isinstance(value, _SCALARS) and _size(value, MAX_SIZE) > MAX_SIZE:
            raise _Refusal(
                f"formatting this value would be too large (more than {MAX_SIZE:,} items)"
            )
        if node.conversion == ord("r"):
            value = repr(value)
        elif node.conversion == ord("a"):
            value = ascii(value)
        elif node.conversion == ord("s"):
            value = str(value)
        spec = self._eval(node.format_spec) if node.format_spec is not None else ""
        if any(len(number) > 7 or int(number) > MAX_SIZE for number in re.findall(r"\d+", spec)):
            raise _Refusal(f"format spec {spec!r} asks for more than {MAX_SIZE:,} characters")
        return format(value, spec)


def _bind(target: ast.expr, value: Any, scope: dict[str, Any]) -> None:
    if isinstance(target, ast.Name):
        scope[target.id] = value
        return
    targets = target.elts if isinstance(target, ast.Tuple | ast.List) else []
    values = tuple(value)
    if len(values) != len(targets):
        raise _Refusal(f"cannot unpack {len(values)} values into {len(targets)} names")
    for element, item in zip(targets, values, strict=True):
        _bind(element, item, scope)


def _refuse_dangerous(value: object) -> None:
    """Keep simpleeval's refusal of modules and forbidden functions, shallowly: every value
    passes through here as it is produced, so nested ones are caught when reached."""
    if isinstance(value, types.ModuleType):
        raise _Refusal("modules are not allowed")
    if callable(value):
        try:
            forbidden = value in simpleeval.DISALLOW_FUNCTIONS
        except TypeError:  # unhashable
            forbidden = False
        if forbidden:
            raise _Refusal(f"function {getattr(value, '__name__', value)!r} is not allowed")


_HANDLERS: Final[Mapping[type[ast.AST], Callable[[_Evaluator, Any], Any]]] = types.MappingProxyType(
    {
        ast.Constant: _Evaluator._eval_constant,
        ast.Name: _Evaluator._eval_name,
        ast.UnaryOp: _Evaluator._eval_unaryop,
        ast.BinOp: _Evaluator._eval_binop,
        ast.BoolOp: _Evaluator._eval_boolop,
        ast.Compare: _Evaluator._eval_compare,
        ast.IfExp: _Evaluator._eval_ifexp,
        ast.Call: _Evaluator._eval_call,
        ast.keyword: _Evaluator._eval_keyword,
        ast.Subscript: _Evaluator._eval_subscript,
        ast.Attribute: _Evaluator._eval_attribute,
        ast.Slice: _Evaluator._eval_slice,
        ast.JoinedStr: _Evaluator._eval_joinedstr,
        ast.FormattedValue: _Evaluator._eval_formattedvalue,
        ast.Dict: _Evaluator._eval_dict,
        ast.List: _Evaluator._eval_list,
        ast.Tuple: _Evaluator._eval_tuple,
        ast.Set: _Evaluator._eval_set,
        **dict.fromkeys(_COMPREHENSIONS, _Evaluator._eval_comprehension),
    }
)
