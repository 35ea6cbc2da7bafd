"""The render budget and the size accounting every template hook charges to it.

Every render runs under a :class:`_Budget`, found through a context variable by the hooks the
generated code calls: a time limit, a count of operations (calls, attribute and item lookups,
operators, filters, tests, comparisons and loop iterations), a depth of nested calls, and sizes:
of each value built, of everything built, and of the output. :func:`render_limits` lets a caller
give many renders a budget they share, on top of each one's own. The helpers below measure
values (``str()``-sized, shared parts counted each time they occur) and refuse one before it is
built when it would be too large.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, Final

from jinja2.utils import Namespace
from pydantic import BaseModel

from goalctl.errors import TemplateError
from goalctl.sizes import flat_size

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


class TemplateLimitError(TemplateError):
    """A render was stopped by one of its limits."""


class SharedLimitError(TemplateLimitError):
    """Renders sharing one budget (:func:`render_limits`) used it up together: every render
    that follows inside it would be stopped the same way."""


# --- Budget ----------------------------------------------------------------------------------


_Sizes = dict[int, tuple[int, object]]
_MAX_KNOWN: Final = 100_000

_CHECK_EVERY: Final = 16
"""Operations between two looks at the clock; an operation that builds much looks at once."""
_BIG: Final = 10_000
"""A value this large took long enough to build that the clock is worth a look."""


@dataclass(slots=True)
class _Shared:
    """What the renders inside one :func:`render_limits` may take, and have taken, together."""

    label: str
    """Names the renders in the error that stops them: ``"the templates of this file"``."""
    deadline: float
    timeout: float
    max_operations: int
    max_built: int
    operations: int = 0
    """Operations of the renders that have ended; the running one adds its own when checked."""
    built: int = 0

    def check(self, operations: int, built: int) -> None:
        """Refuse once the renders that ended and the running one's ``operations`` and
        ``built`` pass the shared limits."""
        if self.operations + operations > self.max_operations:
            raise SharedLimitError(
                f"{self.label} together exceeded their limit of {self.max_operations:,} operations"
            )
        if self.built + built > self.max_built:
            raise SharedLimitError(
                f"{self.label} together exceeded their memory limit (they build more than "
                f"{self.max_built:,} characters or items)"
            )
        if time.monotonic() > self.deadline:
            raise SharedLimitError(
                f"{self.label} together exceeded their time limit ({self.timeout}s)"
            )


@dataclass(slots=True)
class _Budget:
    deadline: float
    timeout: float
    shared: _Shared | None = None
    """The budget this render shares with others, checked after its own."""
    operations: int = 0
    checkpoint: int = 0
    """Hooks count ``operations`` inline and call :meth:`check` once it passes this."""
    built: int = 0
    depth: int = 0
    compile_steps: int = 0
    """Steps of compiling a template in this budget (see :mod:`.compiling`)."""
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
        if self.shared is not None:
            self.shared.check(self.operations, self.built)

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
_SHARED: ContextVar[_Shared | None] = ContextVar("goalctl_template_shared", default=None)


@contextmanager
def render_limits(
    renders: int = 1,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    label: str = "renders sharing one budget",
) -> Iterator[None]:
    """Give the renders inside, together, the limits of ``renders`` renders.

    Each render keeps its own limits; on top of them, all the renders inside may take only
    ``renders`` times one render's operations and building, and ``renders * timeout`` seconds,
    so that a file's thousands of cases, each within its limits, cannot add up to hours. Once
    that is spent they stop with :class:`SharedLimitError`, whose message starts with ``label``.

    Inside a render or another ``render_limits``, this shares what is active: renders nested
    in a render (a template calling ``goal.to_prompt_context()``) always share its budget, so
    nesting cannot multiply the limits.
    """
    if _BUDGET.get() is not None or _SHARED.get() is not None:
        yield
        return
    seconds = renders * timeout
    shared = _Shared(
        label,
        time.monotonic() + seconds,
        seconds,
        renders * MAX_OPERATIONS,
        renders * MAX_TOTAL_SIZE,
    )
    token = _SHARED.set(shared)
    try:
        yield
    finally:
        _SHARED.reset(token)


def _start(timeout: float) -> Token[_Budget | None] | None:
    if _BUDGET.get() is not None:
        return None
    return _BUDGET.set(_Budget(time.monotonic() + timeout, timeout, _SHARED.get()))


def _stop(token: Token[_Budget | None] | None) -> None:
    if token is None:
        return
    budget = _BUDGET.get()
    _BUDGET.reset(token)
    if budget is not None and budget.shared is not None:
        budget.shared.operations += budget.operations
        budget.shared.built += budget.built


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def _counted(iterable: Iterable[Any], budget: _Budget) -> Iterator[Any]:
    """``iterable``, each item counted as an operation: what ``{% for %}`` loops over."""
    for item in iterable:
        budget.operations += 1
        if budget.operations > budget.checkpoint:
            budget.check()
        yield item


# --- Sizes -----------------------------------------------------------------------------------

_TEXT = (str, bytes, bytearray)
_REPEATABLE = (str, bytes, bytearray, list, tuple)
_SCALARS = (float, bool, type(None), int)
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
            flat = flat_size(elements)
            if flat is None:
                stack.extend(elements)
            else:
                total += flat
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
