"""Sandboxed Jinja templates: scenario prompts (untrusted) and goalctl's built-ins.

Scenario templates come from files that may arrive in strangers' pull requests, so every
template — built-in or not — runs in an immutable sandbox with ``StrictUndefined``: a typo in a
name is an error that points at its line, never a silently empty prompt.

The sandbox stops templates from reaching Python's internals, not from running forever or
filling memory, so every render also runs under a :class:`_Budget`: a time limit, a count of
operations (calls, attribute and item lookups, operators, filters, tests, comparisons and loop
iterations), a depth of nested calls, and sizes: of each value built, of everything built, and
of the output. The generated code reaches the budget through the environment's hooks; loops,
literals, ``~`` and comparisons are routed through them by :class:`_BoundedCodeGenerator`.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import re
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from importlib import resources
from types import TracebackType
from typing import Any, Final

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace, pass_context
from markupsafe import EscapeFormatter, Markup
from pydantic import BaseModel

from goalctl.errors import TemplateError

TEMPLATE_FILENAME = "<template>"
"""The filename Jinja gives to code compiled from a string; used to find template lines."""

BUILTIN_TEMPLATES = ("system.md.j2", "prompt.md.j2", "judge.md.j2", "feedback.md.j2")

DEFAULT_TIMEOUT: Final = 2.0
"""Seconds one render may take (``render_template(..., timeout=...)``)."""
MAX_OUTPUT: Final = 1_000_000
"""Most characters one render may output."""
MAX_SIZE: Final = 1_000_000
"""Most characters (or items) in one value a template builds or prints."""
MAX_TOTAL_SIZE: Final = 20_000_000
"""Most characters and items all values built by one render may hold together."""
MAX_OPERATIONS: Final = 1_000_000
"""Most operations in one render: deterministic, so a bomb fails the same way on every machine
(the time limit is the backstop)."""
MAX_CALL_DEPTH: Final = 64
"""Deepest nesting of calls (a macro calling itself), well within Python's recursion limit."""
MAX_INT_BITS: Final = 10_000
"""Largest integer ``*`` and ``**`` may produce."""
_MAX_PADDING: Final = 64
"""Widest ``tojson`` indent: JSON writes it once per level on every line."""
_MAX_DIGITS: Final = 1000
"""Largest ``round`` precision: ``round(n, -10**9)`` computes ``10**(10**9)`` first."""


class TemplateLimitError(TemplateError):
    """A render was stopped by one of its limits."""


# --- Budget ----------------------------------------------------------------------------------


_Sizes = dict[int, tuple[int, object]]
_MAX_KNOWN: Final = 100_000

_CHECK_EVERY: Final = 16
"""Operations between two looks at the clock; an operation that builds much looks at once."""
_BIG: Final = 10_000
"""A value this large took long enough to build that the clock is worth a look."""


@dataclass(slots=True)
class _Budget:
    deadline: float
    timeout: float
    operations: int = 0
    checkpoint: int = 0
    """Hooks count ``operations`` inline and call :meth:`check` once it passes this."""
    built: int = 0
    depth: int = 0
    sizes: _Sizes = field(default_factory=dict)
    """Sizes of the containers this render built: ``[x, x]`` repeated must not cost 2^n."""

    def tick(self) -> None:
        self.operations += 1
        if self.operations > self.checkpoint:
            self.check()

    def check(self) -> None:
        self.checkpoint = self.operations + _CHECK_EVERY
        if self.operations > MAX_OPERATIONS:
            raise TemplateLimitError(
                f"template exceeded its limit of {MAX_OPERATIONS:,} operations "
                "(a loop that runs too long?)"
            )
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"template exceeded its time limit ({self.timeout}s)")

    def charge(self, size: int) -> None:
        self.built += size
        if self.built > MAX_TOTAL_SIZE:
            raise TemplateLimitError(
                f"template exceeded its memory limit (it builds more than {MAX_TOTAL_SIZE:,} "
                "characters or items)"
            )
        if size > _BIG:
            self.check()


# The generated code calls the environment's hooks, which find the render they belong to here
# (one value per thread and per asyncio task).
_BUDGET: ContextVar[_Budget | None] = ContextVar("goalctl_template_budget", default=None)


@contextmanager
def render_limits(timeout: float = DEFAULT_TIMEOUT) -> Iterator[None]:
    """Share one budget among every render inside: a file's many cases together get ``timeout``.

    Renders nested in an active budget (a template calling ``goal.to_prompt_context()``) always
    share it, so nesting cannot multiply the limits.
    """
    token = _start(timeout)
    try:
        yield
    finally:
        _stop(token)


def _start(timeout: float) -> Token[_Budget | None] | None:
    if _BUDGET.get() is not None:
        return None
    return _BUDGET.set(_Budget(time.monotonic() + timeout, timeout))


def _stop(token: Token[_Budget | None] | None) -> None:
    if token is not None:
        _BUDGET.reset(token)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


# --- Sizes -----------------------------------------------------------------------------------

_TEXT = (str, bytes, bytearray)
_REPEATABLE = (str, bytes, bytearray, list, tuple)
_SCALARS = (float, bool, type(None), int)
_ATOMS = frozenset({float, bool, type(None)})
_NEW_CONTAINERS = (list, tuple, set, frozenset, dict)
_CONTAINERS: tuple[type, ...] = (
    *_NEW_CONTAINERS,
    type({}.keys()),
    type({}.values()),
    type({}.items()),
)


def _size(value: object, limit: int = MAX_SIZE, known: _Sizes | None = None) -> int:
    """Characters and items in ``value`` as ``str()`` would write it out, counting shared parts
    each time they occur; stops counting once past ``limit``. ``known`` holds the sizes of
    containers measured before, by id: a value built from them is measured in one step."""
    return _measure(value, limit, known)[0]


def _measure(value: object, limit: int, known: _Sizes | None) -> tuple[int, bool]:
    """:func:`_size`, and whether ``value`` holds a namespace: the one thing templates can
    change (``{% set ns.x = ... %}``), so what holds one must be measured afresh each time."""
    total = 0
    mutable = False
    stack: list[Any] = [value]
    while stack:
        item: Any = stack.pop()
        if known is not None and id(item) in known:
            total += known[id(item)][0]
        elif isinstance(item, _TEXT):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 3
        elif isinstance(item, _CONTAINERS):
            container: Any = item
            total += len(container)
            if total > limit:
                return total, mutable
            elements = (
                [*container.keys(), *container.values()]
                if isinstance(container, dict)
                else list(container)
            )
            # Flat containers are counted at C speed: prompts pass caller data around a lot.
            kinds = set(map(type, elements))
            if kinds <= _ATOMS:
                pass
            elif kinds <= {str}:
                total += sum(map(len, elements))
            elif kinds <= {int, bool}:
                total += sum(map(int.bit_length, elements)) // 3
            else:
                stack.extend(elements)
        elif isinstance(item, Namespace):
            mutable = True
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        elif isinstance(item, BaseModel):
            stack.append(vars(item))
        if total > limit:
            return total, mutable
    return total, mutable


def _too_large(what: str, unit: str = "characters") -> TemplateLimitError:
    return TemplateLimitError(
        f"template exceeded its size limit: {what} would be larger than {MAX_SIZE:,} {unit}"
    )


def _check_size(value: object, what: str) -> None:
    if type(value) is str or isinstance(value, _SCALARS):
        return  # a string that exists is no risk until it is copied, which is counted then
    budget = _BUDGET.get()
    if _size(value, MAX_SIZE, budget.sizes if budget is not None else None) > MAX_SIZE:
        raise _too_large(what, "characters or items")


def _produce(size: int, what: str, unit: str = "characters") -> None:
    """Refuse, before building it, a value of ``size``; count it against the render."""
    if size > MAX_SIZE:
        raise _too_large(what, unit)
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(size)


def _built(value: Any, what: str) -> Any:
    """Count a value just built: strings by length, containers by items, integers by bits."""
    if isinstance(value, _TEXT):
        _produce(len(value), what)
    elif isinstance(value, _NEW_CONTAINERS) or type(value) is Namespace:
        budget = _BUDGET.get()
        known = budget.sizes if budget is not None else None
        size, mutable = _measure(value, MAX_SIZE, known)
        if size > MAX_SIZE:
            raise _too_large(what, "characters or items")
        if budget is not None:
            budget.charge(size if type(value) is Namespace else len(value))
            if not mutable and len(budget.sizes) < _MAX_KNOWN:
                # Kept with the value, so that its id is not reused while the render lasts.
                budget.sizes[id(value)] = (size, value)
    elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError(
            f"template exceeded its size limit: {what} would be larger than {MAX_INT_BITS:,} bits"
        )
    return value


def _unit(value: object) -> str:
    return "characters" if isinstance(value, _TEXT) else "items"


# --- Guards: operations whose result can be far larger than their operands -------------------


def _guard_add(left: Any, right: Any) -> None:
    if isinstance(left, _REPEATABLE) and isinstance(right, _REPEATABLE):
        _produce(_size(left) + _size(right), "the result of '+'", _unit(left))


def _guard_mult(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateLimitError(
                "template exceeded its size limit: the result of '*' would be larger than "
                f"{MAX_INT_BITS:,} bits"
            )
        return
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, _REPEATABLE) and isinstance(times, int) and times > 0:
            # Repeating shares the items, but str(), join and '~' write every copy out.
            size = _size(sequence, MAX_SIZE // times) * times
            _produce(size, "the result of '*'", _unit(sequence))


def _guard_power(base: Any, exponent: Any) -> None:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and (abs(base).bit_length() - 1) * max(exponent, 0) > MAX_INT_BITS
    ):
        raise TemplateLimitError(
            "template exceeded its size limit: the result of '**' would be larger than "
            f"{MAX_INT_BITS:,} bits"
        )


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _guard_percent(text: Any, values: Any) -> None:
    """``'%0999999999d' % 1``: every width and precision is written out in full."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("latin-1")
    if not isinstance(text, str):
        return
    stars = 0
    size = len(text) + _size(values)
    for width, precision in _PERCENT_SPEC.findall(text):
        for number in (width, precision):
            if number == "*":
                stars += 1
            elif number:
                size += int(number) if len(number) <= 7 else MAX_SIZE + 1
    if stars:
        given = values if isinstance(values, tuple) else (values,)
        size += sum(abs(v) for v in given if isinstance(v, int) and not isinstance(v, bool))
    _produce(size, "the result of '%' formatting")


def _text_length(value: Any) -> int:
    return len(value) if isinstance(value, str) else _size(value)


# Guards take the callable's arguments bound to its signature, defaults applied, so a keyword
# argument cannot slip past them; ``join`` returns the arguments with the parts in a list.


def _guard_center(value: Any, width: Any) -> None:
    if isinstance(width, int):
        _produce(width, "the padded text")


def _guard_indent(s: Any, width: Any, first: Any, blank: Any) -> None:
    step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    lines = s.count("\n") + 1 if isinstance(s, str) else 1
    _produce(_text_length(s) + lines * max(step, 0), "the result of indent")


def _guard_wordwrap(s: Any, width: Any, long_words: Any, wrapstring: Any, hyphens: Any) -> None:
    if isinstance(s, str) and isinstance(width, int):
        breaks = min(len(s), len(s) // max(width, 1) + s.count(" ") + s.count("\n")) + 1
        joint = len(wrapstring) if isinstance(wrapstring, str) else 1
        _produce(len(s) + breaks * joint, "the result of wordwrap")


def _guard_replace(s: Any, old: Any, new: Any, count: Any = None) -> None:
    text: Any = s
    if isinstance(text, _TEXT) and isinstance(old, _TEXT) and isinstance(new, _TEXT):
        if len(new) <= len(old):
            return
        hits = text.count(old) if old else len(text) + 1  # type: ignore[arg-type]
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        _produce(len(text) + hits * (len(new) - len(old)), "the result of replace")


def _guard_join(value: Any, d: Any, attribute: Any) -> tuple[Any, ...]:
    items = value if isinstance(value, list | tuple) else list(value)
    gaps = len(d) * max(len(items) - 1, 0) if isinstance(d, str) else 0
    _produce(_size(items) + gaps, "the result of join")
    return (items, d, attribute)


def _guard_count(value: Any, count: Any, fill_with: Any) -> None:
    if isinstance(count, int):
        _produce(count, "the batches or slices", "items")


def _guard_sum(iterable: Any, attribute: Any, start: Any) -> None:
    # Summing lists copies quadratically inside one call the time limit cannot interrupt.
    if not isinstance(start, int | float):
        raise TemplateLimitError("template limit: sum adds numbers only; use join for text")


def _guard_round(value: Any, precision: Any, method: Any) -> None:
    if isinstance(precision, int) and abs(precision) > _MAX_DIGITS:
        raise TemplateLimitError(f"template limit: round precision beyond ±{_MAX_DIGITS}")


def _guard_format(value: Any, *args: Any, **kwargs: Any) -> None:
    _guard_percent(value if isinstance(value, str) else str(value), kwargs or args)


_Guard = Callable[..., tuple[Any, ...] | None]
_FILTER_GUARDS: Final[Mapping[str, _Guard]] = types.MappingProxyType(
    {
        "center": _guard_center,
        "indent": _guard_indent,
        "wordwrap": _guard_wordwrap,
        "replace": _guard_replace,
        "join": _guard_join,
        "batch": _guard_count,
        "slice": _guard_count,
        "sum": _guard_sum,
        "round": _guard_round,
        "format": _guard_format,
    }
)


def _guard_method_join(text: Any, parts: Any) -> tuple[Any, ...]:
    items = parts if isinstance(parts, list | tuple) else list(parts)
    _produce(_size(items) + len(text) * max(len(items) - 1, 0), "the result of join()")
    return (text, items)


def _guard_expandtabs(text: Any, tabsize: Any) -> None:
    if isinstance(tabsize, int):
        _produce(len(text) + text.count(type(text)("\t")) * max(tabsize, 0), "expandtabs()")


def _guard_translate(text: Any, table: Any, *delete: Any) -> None:
    values = table.values() if isinstance(table, dict) else table
    if not isinstance(values, list | tuple | type({}.values()) | str | bytes | bytearray):
        raise TemplateLimitError("template limit: translate() takes a dict or a list")
    longest = max((len(v) for v in values if isinstance(v, _TEXT)), default=1)
    _produce(len(text) * max(longest, 1), "the result of translate()")


def _guard_padding(text: Any, width: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(width, int):
        _produce(width, "the padded text")


_METHOD_GUARDS: Final[Mapping[str, _Guard]] = types.MappingProxyType(
    {
        "join": _guard_method_join,
        "replace": _guard_replace,
        "expandtabs": _guard_expandtabs,
        "translate": _guard_translate,
        **dict.fromkeys(("center", "ljust", "rjust", "zfill", "to_bytes"), _guard_padding),
    }
)


@functools.cache
def _method_signature(kind: Any, name: str) -> inspect.Signature:
    return inspect.signature(getattr(kind, name))


def _guard_method(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Check a call of a method of text or of an int that can build something huge."""
    owner = getattr(function, "__self__", None)
    name = getattr(function, "__name__", "")
    if not (isinstance(owner, _TEXT) or (isinstance(owner, int) and name == "to_bytes")):
        return args, kwargs
    guard = _METHOD_GUARDS.get(name)
    if guard is None:
        return args, kwargs
    kind: Any = type(owner)
    bound = _bind(_method_signature(kind, name), (owner, *args), kwargs)
    if bound is None:
        return args, kwargs
    replaced = guard(*bound.args, **bound.kwargs)
    return (replaced[1:] if replaced is not None else bound.args[1:]), bound.kwargs


def _bind(
    signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> inspect.BoundArguments | None:
    """The arguments as the call will see them; None when they do not fit (the call says so)."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    return bound


# --- The sandbox -----------------------------------------------------------------------------


class _BoundedCodeGenerator(CodeGenerator):
    """Routes what the sandbox hooks do not see through the environment: loops, literals,
    ``~`` and comparisons cost time or memory without a call or an attribute lookup."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        # Jinja allows no custom node types: a node templates cannot write marks the iterable.
        iterable = node.iter
        counter = nodes.EnvironmentAttribute("bounded_iter", lineno=iterable.lineno)
        node.iter = nodes.Call(counter, [iterable], [], None, None, lineno=iterable.lineno)
        try:
            super().visit_For(node, frame)
        finally:
            node.iter = iterable

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        counter = node.node
        if isinstance(counter, nodes.EnvironmentAttribute) and counter.name == "bounded_iter":
            self.write("environment.bounded_iter(")
            self.visit(node.args[0], frame)
            self.write(")")
            return
        super().visit_Call(node, frame, forward_caller=forward_caller)

    def _bounded(self, visit: Callable[[], None]) -> None:
        self.write("environment.bounded_value(")
        visit()
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._bounded(lambda: super(_BoundedCodeGenerator, self).visit_List(node, frame))

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._bounded(lambda: super(_BoundedCodeGenerator, self).visit_Dict(node, frame))

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # an assignment target: `{% for key, value in ... %}`
            super().visit_Tuple(node, frame)
            return
        self._bounded(lambda: super(_BoundedCodeGenerator, self).visit_Tuple(node, frame))

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_values((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("environment.compared(")
        super().visit_Compare(node, frame)
        self.write(")")


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` with every field's width and precision counted before it is written."""

    def __init__(self, env: jinja2.Environment, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self.size = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        _tick()
        self.size += len(format_spec) + (len(value) if isinstance(value, str) else _size(value))
        for number in re.findall(r"\d+", format_spec):
            self.size += int(number) if len(number) <= 7 else MAX_SIZE + 1
        if self.size > MAX_SIZE:
            raise _too_large("the result of format()")
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, EscapeFormatter):
    pass


_SCOPE_ARGUMENTS = ("_loop_vars", "_block_vars")


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with every operation counted and every size checked."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        budget = _BUDGET.get()
        if budget is not None:  # tick() inlined: the most frequent hook
            budget.operations += 1
            if budget.operations > budget.checkpoint:
                budget.check()
        if _is_model(type(obj)) and not _model_allows(type(obj), attribute):
            return self.unsafe_undefined(obj, attribute)  # refused before it runs a property
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        if (
            isinstance(argument, str)
            and _is_model(type(obj))
            and not _model_allows(type(obj), argument)
        ):
            return self.unsafe_undefined(obj, argument)
        return super().getitem(obj, argument)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # The sandbox decides by the object's type and the name alone (private names, function
        # internals, methods that mutate): remember its answers, they are asked on every lookup.
        key = (type(obj), attr)
        safe = _SAFE_ATTRIBUTES.get(key)
        if safe is None:
            safe = super().is_safe_attribute(obj, attr, value) and _model_allows(type(obj), attr)
            if len(_SAFE_ATTRIBUTES) < 4096:
                _SAFE_ATTRIBUTES[key] = safe
        return safe

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        if budget is None:
            return super().call(context, obj, *args, **kwargs)
        budget.tick()
        # Jinja's own bookkeeping: the variables of the enclosing loops and blocks.
        scopes = {name: kwargs.pop(name) for name in _SCOPE_ARGUMENTS if name in kwargs}
        # Arguments are not measured: what a call builds is (below), and so is every value
        # printed, joined, formatted or given to a filter.
        if isinstance(obj, LoopContext) and args:  # a recursive loop's next level
            args = (self.bounded_iter(args[0]), *args[1:])
        args, kwargs = _guard_method(obj, args, kwargs)
        budget.depth += 1
        try:
            if budget.depth > MAX_CALL_DEPTH:
                raise TemplateLimitError(
                    f"template exceeded its limit of {MAX_CALL_DEPTH} nested calls "
                    "(a macro or a recursive loop that never ends?)"
                )
            result = super().call(context, obj, *args, **kwargs, **scopes)
        finally:
            budget.depth -= 1
        return _built(result, "the result of a call")

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        _tick()
        if operator == "*":
            _guard_mult(left, right)
        elif operator == "+":
            _guard_add(left, right)
        elif operator == "**":
            _guard_power(left, right)
        elif operator == "%":
            _guard_percent(left, right)
        return _built(self.binop_table[operator](left, right), f"the result of {operator!r}")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        is_format_map = value.__name__ == "format_map"

        def format_bounded(*args: Any, **kwargs: Any) -> str:
            formatter: _BoundedFormatter
            if isinstance(text, Markup):
                formatter = _BoundedEscapeFormatter(self, escape=text.escape)
            else:
                formatter = _BoundedFormatter(self)
            if not is_format_map:
                return type(text)(formatter.vformat(text, args, kwargs))
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument")
            return type(text)(formatter.vformat(text, (), args[0]))

        return functools.update_wrapper(format_bounded, value)

    # Hooks the generated code of _BoundedCodeGenerator calls.

    def bounded_iter(self, iterable: Any) -> Any:
        budget = _BUDGET.get()
        return iterable if budget is None else _counted(iterable, budget)

    def bounded_value(self, value: Any) -> Any:
        _tick()
        return _built(value, "a list or mapping")

    def compared(self, result: Any) -> Any:
        _tick()  # after the fact: comparing values of MAX_SIZE takes milliseconds, not hours
        return result

    def concat_values(self, parts: tuple[Any, ...]) -> str:
        _tick()
        texts = []
        for part in parts:
            if type(part) is not str:
                _check_size(part, "a value joined with '~'")
                part = str(part)
            texts.append(part)
        _produce(sum(map(len, texts)), "the result of '~'")
        return "".join(texts)

    def concat(self, parts: Iterable[str]) -> str:
        # The body of a macro, a `{% set %}` block or a `{% filter %}` block, before it is used.
        items = parts if isinstance(parts, list) else list(parts)
        _produce(sum(map(len, items)), "the text of a block or macro")
        return "".join(items)

    def compile_expression(
        self, source: str, undefined_to_none: bool = True
    ) -> jinja2.environment.TemplateExpression:
        expression = super().compile_expression(source, undefined_to_none)
        return _BoundedExpression(expression._template, expression._undefined_to_none)


class _BoundedExpression(jinja2.environment.TemplateExpression):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        token = _start(DEFAULT_TIMEOUT)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            _stop(token)


def _counted(iterable: Iterable[Any], budget: _Budget) -> Iterator[Any]:
    for item in iterable:
        budget.operations += 1
        if budget.operations > budget.checkpoint:
            budget.check()
        yield item


_SAFE_ATTRIBUTES: dict[tuple[type, str], bool] = {}
_MODEL_TYPES: dict[type, bool] = {}


def _is_model(cls: type) -> bool:
    """A pydantic model or model class (``goal``, ``criterion``): their attributes are checked
    before they are read."""
    model = _MODEL_TYPES.get(cls)
    if model is None:
        model = issubclass(cls, BaseModel | type(BaseModel))
        if len(_MODEL_TYPES) < 4096:
            _MODEL_TYPES[cls] = model
    return model


_MODEL_ATTRIBUTES: dict[tuple[type, str], bool] = {}


def _model_allows(cls: type, attr: str) -> bool:
    key = (cls, attr)
    allowed = _MODEL_ATTRIBUTES.get(key)
    if allowed is None:
        allowed = _model_attribute_is_safe(cls, attr)
        if len(_MODEL_ATTRIBUTES) < 4096:
            _MODEL_ATTRIBUTES[key] = allowed
    return allowed


def _model_attribute_is_safe(cls: Any, attr: str) -> bool:
    """On models, fields and what goalctl's own models define; never pydantic's methods, some of
    which read files (``parse_file``) or change the class for every later use (``model_rebuild``).
    Model classes themselves offer nothing."""
    if issubclass(cls, type(BaseModel)):
        return False
    if not issubclass(cls, BaseModel):
        return True
    if attr in cls.model_fields:
        return True
    for klass in cls.__mro__:
        if attr in vars(klass):
            return str(klass.__module__).startswith("goalctl.")
    return False


def _finalize(value: Any) -> Any:
    if type(value) is not str:
        _check_size(value, "a printed value")
    return value


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` counted, its arguments and result measured, its guard applied.

    The wrapper takes the context, which also keeps Jinja from running it at compile time to
    fold constants: that would happen outside any budget, and retrying the fold at every level
    of ``x|f|f|f...`` made compiling quadratic.
    """
    passes = getattr(getattr(function, "jinja_pass_arg", None), "name", None)
    guard = _FILTER_GUARDS.get(name)
    signature = _arguments_signature(function) if guard is not None else None
    what = f"the result of the {name} filter"

    @pass_context
    @functools.wraps(function)
    def bounded(context: jinja2.runtime.Context, *args: Any, **kwargs: Any) -> Any:
        _tick()
        for value in (*args, *kwargs.values()):
            _check_size(value, f"the value given to the {name} filter")
        if guard is not None and signature is not None:
            bound = _bind(signature, args, kwargs)
            if bound is not None:
                args, kwargs = bound.args, bound.kwargs
                args = guard(*args, **kwargs) or args
        if passes == "context":
            args = (context, *args)
        elif passes == "eval_context":
            args = (context.eval_ctx, *args)
        elif passes == "environment":
            args = (context.environment, *args)
        return _built(function(*args, **kwargs), what)

    return bounded


def _arguments_signature(function: Callable[..., Any]) -> inspect.Signature:
    """The parameters a template passes to a filter: without the context Jinja passes first."""
    signature = inspect.signature(function)  # of the sync function, for async variants
    if getattr(inspect.unwrap(function), "jinja_pass_arg", None) is None:
        return signature  # its async variant adds the parameter, its signature does not show it
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def _counted_test(function: Any) -> Callable[..., Any]:
    @functools.wraps(function)
    def counted(*args: Any, **kwargs: Any) -> Any:
        _tick()
        return function(*args, **kwargs)

    return counted


@functools.lru_cache(maxsize=16)
def _json_encoder(indent: int | str | None) -> json.JSONEncoder:
    return json.JSONEncoder(indent=indent, sort_keys=True, ensure_ascii=False, default=str)


def _tojson(value: Any, indent: int | str | None = 2) -> str:
    # Prompts want readable, stable JSON: sorted keys keep snapshots and cassette hashes stable.
    encoder = _json_encoder(indent)
    if indent is None:
        return encoder.encode(value)  # at most a few times the value's size, checked after
    step = len(indent) if isinstance(indent, str) else indent
    if step > _MAX_PADDING:
        raise TemplateLimitError(f"template limit: tojson indent wider than {_MAX_PADDING}")
    # Indentation repeats on every line at every level: stop writing once past the limit.
    size, chunks, stream = 0, [], encoder.iterencode(value)
    while batch := list(itertools.islice(stream, 256)):
        size += sum(map(len, batch))
        if size > MAX_SIZE:
            raise _too_large("the result of tojson")
        chunks += batch
    return "".join(chunks)


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    """The one Jinja environment: immutable sandbox, strict undefined, no autoescape."""
    env = _BoundedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        finalize=_finalize,
        # Jinja's constant folding re-walks the whole subtree at every level of a nested
        # expression: quadratic, 11 s for 9 KB of `x.a.a.a...`. Prompts have little to fold.
        optimized=False,
    )
    # Smaller surface: these helpers have no use in prompts and widen what an attacker can probe.
    for name in ("cycler", "joiner", "lipsum"):
        env.globals.pop(name, None)
    env.filters["tojson"] = _tojson
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.filters.update({name: _bounded_filter(name, f) for name, f in env.filters.items()})
    env.tests.update({name: _counted_test(f) for name, f in env.tests.items()})
    return env


# --- Compiling and rendering -----------------------------------------------------------------


def _template_lineno(tb: TracebackType | None) -> int | None:
    """The innermost line of template code in a traceback (Jinja rewrites frames to it)."""
    lineno = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


def compile_template(source: str) -> jinja2.Template:
    """Compile a template; a syntax error becomes :class:`TemplateError` with its line."""
    try:
        return environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}", exc.lineno) from None
    except (RecursionError, MemoryError, SyntaxError):
        # SyntaxError: Python's own limits on the generated code (nesting, size).
        raise TemplateError("template is too deeply nested to compile") from None
    except Exception as exc:  # e.g. an integer literal too long to convert
        raise TemplateError(f"template cannot be compiled: {exc}") from None


def render_template(
    template: jinja2.Template, context: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT
) -> str:
    """Render a compiled template within its limits (time, operations, sizes, output).

    Any failure becomes :class:`TemplateError` with its template line when known.
    """
    token = _start(timeout)
    try:
        return _generate(template, context)
    except TemplateLimitError as exc:  # kept as such: a render nested in another stops that too
        lineno = _template_lineno(exc.__traceback__) or exc.lineno
        raise TemplateLimitError(str(exc), lineno) from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            f"undefined name: {exc.message}", _template_lineno(exc.__traceback__)
        ) from None
    except SecurityError as exc:
        raise TemplateError(
            f"unsafe template: {exc}", _template_lineno(exc.__traceback__)
        ) from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc}", _template_lineno(exc.__traceback__)) from None
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise TemplateError(
            f"template exhausted its limits: {type(exc).__name__}",
            _template_lineno(exc.__traceback__),
        ) from None
    except Exception as exc:  # a filter or test failed on the data it was given
        lineno = _template_lineno(exc.__traceback__)
        raise TemplateError(f"template failed: {type(exc).__name__}: {exc}", lineno) from None
    finally:
        _stop(token)


_BATCH: Final = 64


def _generate(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    budget = _BUDGET.get()
    assert budget is not None
    chunks: list[str] = []
    size = 0
    stream = template.generate(context)
    # Chunks are drained in batches at C speed; a batch's strings are checked before they are
    # joined, and each was counted when it was built (or is the template's own text).
    while True:
        batch = list(itertools.islice(stream, _BATCH))
        size += sum(map(len, batch))
        if size > MAX_OUTPUT:
            raise TemplateLimitError(
                f"template output exceeded its limit of {MAX_OUTPUT:,} characters",
                _stream_lineno(template, stream),
            )
        chunks += batch
        if len(batch) < _BATCH:
            return "".join(chunks)
        budget.check()


def _stream_lineno(template: jinja2.Template, stream: Any) -> int | None:
    """The template line a paused render is at (a limit stopped it between two chunks)."""
    lineno = None
    while stream is not None:
        frame = getattr(stream, "gi_frame", None)
        if frame is not None and frame.f_code.co_filename == TEMPLATE_FILENAME:
            lineno = template.get_corresponding_lineno(frame.f_lineno)
        stream = getattr(stream, "gi_yieldfrom", None)
    return lineno


@functools.cache
def builtin_source(name: str) -> str:
    """The text of a template shipped in ``goalctl/prompts``."""
    return resources.files("goalctl.prompts").joinpath(name).read_text(encoding="utf-8")


@functools.cache
def builtin_template(name: str) -> jinja2.Template:
    return compile_template(builtin_source(name))


def render_builtin(name: str, **context: Any) -> str:
    """Render one of goalctl's own templates."""
    return render_template(builtin_template(name), context)
