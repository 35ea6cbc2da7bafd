"""The bounds of one evaluation: size and time budget, guarded operators and functions.

Everything an expression can call or apply lives here, each wrapped so that it counts what it
builds against the evaluation's :class:`_Budget` or refuses up front: numbers, strings and
containers stay small, and the attribute whitelists keep evaluation on plain data.
"""

from __future__ import annotations

import ast
import functools
import operator
import time
import types
from collections.abc import Callable, ItemsView, Iterable, KeysView, Mapping, Sized, ValuesView
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

import simpleeval

from goalctl.check_names import TRAJECTORY_FUNCTIONS
from goalctl.sizes import flat_size

MAX_SOURCE_LENGTH: Final = 2000
MAX_DEPTH: Final = 50
"""Deepest allowed nesting of the syntax tree."""
MAX_INT_BITS: Final = 10_000
"""Largest integer ``**``, ``*`` and ``<<`` may produce."""
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


# --- Budget ----------------------------------------------------------------------------------


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
            flat = flat_size(elements)
            if flat is None:
                stack.extend(elements)
            else:
                total += flat
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


# --- Guarded operators and functions ---------------------------------------------------------


def _safe_add(left: Any, right: Any) -> Any:
    if isinstance(left, _REPEATABLE) and isinstance(right, _REPEATABLE):
        size = _size(left, MAX_SIZE) + _size(right, MAX_SIZE)
        _produce(size, "the result of '+'", _unit(left))
    return left + right


def _safe_mult(left: Any, right: Any) -> Any:
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_INT_BITS
    ):
        # Chained comprehension generators square a number again and again without nesting.
        raise _Refusal(
            f"{_short(left)} * {_short(right)} is too large (more than {MAX_INT_BITS:,} bits)"
        )
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


MAX_DIVISION_WORK: Final = 10**9
"""Most quotient bits × divisor bits one integer ``//`` or ``%`` may take. Dividing big
integers costs their product, inside one C call the time bound cannot interrupt; this much
takes a few milliseconds, so the time bound is overrun by no more than that."""


def _check_division(left: Any, right: Any, symbol: str) -> None:
    if not (isinstance(left, int) and isinstance(right, int)):
        return
    dividend, divisor = abs(left).bit_length(), abs(right).bit_length()
    if (max(dividend - divisor, 0) + 1) * divisor > MAX_DIVISION_WORK:
        raise _Refusal(
            f"'{symbol}' of integers of {dividend:,} and {divisor:,} bits would take too long "
            f"(quotient bits × divisor bits may be at most {MAX_DIVISION_WORK:,})"
        )


def _safe_floordiv(left: Any, right: Any) -> Any:
    _check_division(left, right, "//")
    return left // right


def _safe_mod(left: Any, right: Any) -> Any:
    if isinstance(left, _TEXT):
        # A width such as "%0999999999d" is a memory bomb, and f-strings cover the need.
        raise _Refusal("'%' formatting is not supported; use an f-string")
    _check_division(left, right, "%")
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
    # The regex engine takes a timeout, so catastrophic backtracking ends with the
    # evaluation's own time bound instead of running for hours inside one C call.
    from goalctl.regexes import PatternError, search

    budget = _BUDGET.get()
    remaining = budget.deadline - time.monotonic() if budget is not None else 1.0
    if remaining <= 0:
        raise _Refusal(f"it took longer than {budget.timeout}s" if budget else "out of time")
    try:
        return search(str(pattern), str(text), timeout=remaining) is not None
    except PatternError as exc:
        raise _Refusal(str(exc)) from None


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
        ast.FloorDiv: _safe_floordiv,
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


_BOUND_FUNCTIONS: Final[frozenset[str]] = TRAJECTORY_FUNCTIONS
"""Names that may be called although they are not built in: their values come from the names
of each evaluation (``called(name)`` over the case's trajectory). Only a callable bound under
one of these names can be called; anything else a name holds is data."""


# --- Attribute whitelists --------------------------------------------------------------------


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


@functools.lru_cache(maxsize=256)
def _plain_type(cls: type) -> type | None:
    # Subclasses count (ruamel's CommentedMap, str enums): they hold caller data too.
    return next((base for base in cls.__mro__ if base in _ATTRIBUTES), None)


def _short(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # an int too long to print, or a caller's broken __repr__
        return f"<{type(value).__name__}>"
    from goalctl.excerpts import excerpt

    return excerpt(text, 40, "...")
