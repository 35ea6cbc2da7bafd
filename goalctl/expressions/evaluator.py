"""The evaluator: a simpleeval subclass that walks a checked tree within its budget.

It dispatches through its own read-only node table (which also tells the checker what syntax
is supported), keeps comprehension variables in a scope stack of its own, and turns whatever
stops an evaluation into the cause shown to the user.
"""

from __future__ import annotations

import ast
import functools
import re
import time
import types
from collections.abc import Callable, Mapping
from typing import Any, Final

import simpleeval

from goalctl.expressions.limits import (
    _ATTRIBUTES,
    _BOUND_FUNCTIONS,
    _COPYING_METHODS,
    _FUNCTIONS,
    _OPERATORS,
    _SCALARS,
    _STR_GUARDS,
    MAX_COMPREHENSION_ITEMS,
    MAX_SIZE,
    _Budget,
    _charge_new,
    _copying,
    _cost,
    _plain_type,
    _produce,
    _Refusal,
    _short,
    _size,
)

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_BUILDERS = frozenset({ast.List, ast.Tuple, ast.Set, ast.Dict, *_COMPREHENSIONS})
_PLAIN_VALUES = frozenset({str, int, float, bool, type(None), list, tuple, dict, set, frozenset})


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

    def _eval_call(self, node: ast.Call) -> Any:
        func = node.func
        if not (isinstance(func, ast.Name) and func.id in _BOUND_FUNCTIONS):
            return super()._eval_call(node)
        # `called(...)` is bound per evaluation (a closure over the case's trajectory): it is
        # read from the names like data, and only a callable under such a name is called.
        function = self._eval(func)
        if not callable(function):
            raise _Refusal(f"{func.id!r} is not a function here")
        return function(
            *(self._eval(arg) for arg in node.args),
            **dict(self._eval(keyword) for keyword in node.keywords),
        )

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
        container = self._eval(node.value)
        key = self._eval(node.slice)
        try:
            result = container[key]
        except TypeError:
            raise _Refusal(f"cannot read [{_short(key)}] of {_kind_of(container)}") from None
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


def _kind_of(value: object) -> str:
    """A value's kind in a user's words (Python's TypeError names its internals)."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return "text"
    value_type: type = type(value)
    name = (_plain_type(value_type) or value_type).__name__
    return {"dict": "an object", "int": "a number", "float": "a number", "bool": "a boolean"}.get(
        name, f"a {name}"
    )


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
