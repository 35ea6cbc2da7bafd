"""Guards on what a template can build that is far larger than its inputs, and the filters.

Operators (``*``, ``+``, ``**``, ``%``), filters (``indent``, ``replace``, ``join``…) and methods
of text (``str.center``, ``str.join``…) are checked before they run: a guard works out the size
of the result from the arguments and refuses it, through :func:`_produce`, when it would pass a
limit. :func:`_bounded_filter` wraps every Jinja filter so that it is counted, its arguments and
result measured and its guard applied; ``tojson`` is replaced by a sorted, bounded version.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import re
import types
from collections.abc import Callable, Mapping
from typing import Any, Final

import jinja2
from jinja2.utils import pass_context

from goalctl.templates.limits import (
    _REPEATABLE,
    _TEXT,
    MAX_INT_BITS,
    MAX_SIZE,
    TemplateLimitError,
    _built,
    _check_size,
    _produce,
    _size,
    _tick,
    _too_large,
    _unit,
)

_MAX_PADDING: Final = 64
"""Widest ``tojson`` indent: JSON writes it once per level on every line."""
_MAX_DIGITS: Final = 1000
"""Largest ``round`` precision: ``round(n, -10**9)`` computes ``10**(10**9)`` first."""


# --- Operators: results far larger than their operands ---------------------------------------


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


# --- Filters and methods ---------------------------------------------------------------------


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


# --- Filters and tests, as the environment installs them -------------------------------------


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
