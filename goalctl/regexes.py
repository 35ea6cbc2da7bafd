"""Regular expressions from scenario files: compiled within limits, searched in bounded time.

Patterns in scenarios (``output_matches`` targets, scripted ``match`` rules, ``redact``,
JSON Schema ``pattern`` and ``patternProperties``) may come from strangers. Every one of them
goes through :func:`compile_pattern`, which bounds what a pattern may cost before the engine
sees it:

- matching: Python's ``re`` cannot be interrupted, so patterns run on the ``regex`` engine,
  which takes a timeout (``(a+)+$`` backtracks for hours on a modest text);
- compiling: ``regex`` unrolls counted repeats, so ``(?:(?:a{300}){300}){300}`` builds 27
  million nodes (7.4 GB) inside ``compile``, where no timeout reaches. The pattern is parsed
  first (cheap, by the engine's own parser) and refused when its repeats multiply past
  :data:`MAX_REPETITION`;
- the first search: ``regex`` builds a table for each literal run when it is first searched
  for, in time cubic in the run's length (a 9,000-character run takes minutes, again beyond
  the timeout), so a run may not exceed :data:`MAX_LITERAL_RUN` characters.

Compiled patterns are cached, within a budget of units, so that a file of many distinct
patterns cannot keep gigabytes alive.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    import regex

SEARCH_TIMEOUT_S: Final = 1.0
"""How long one search may take."""

MAX_PATTERN_LENGTH: Final = 5_000
"""The longest pattern accepted, in characters."""

MAX_REPETITION: Final = 100_000
"""The most units a pattern may hold with every counted repeat unrolled: ``a{300}`` is 300,
``(?:ab){300}`` 600, ``(?:a{300}){300}`` 90,000. An unbounded repeat counts its minimum (at
least once). At the limit a pattern compiles in some 30 ms to some 15 MB."""

MAX_LITERAL_RUN: Final = 500
"""The longest run of literal characters in a pattern (its first search costs at most some
40 ms); longer literal text is matched with ``output_contains``."""

_CACHE_UNITS: Final = 1_000_000
"""How many units (see :data:`MAX_REPETITION`) the cache of compiled patterns may hold."""


class PatternError(ValueError):
    """A pattern that does not compile or is over a limit, or a search that ran out of time."""


class PatternCost(NamedTuple):
    """What a parsed pattern will cost the engine."""

    units: int
    """Nodes with every counted repeat unrolled."""
    literal_run: int
    """The longest run of literal characters."""


_cache: OrderedDict[str, tuple[regex.Pattern[str], int]] = OrderedDict()
_cached_units = 0
_cache_lock = threading.Lock()  # runs search from worker threads


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """The compiled pattern; :class:`PatternError` says why it is not one, or is over a
    limit. This is the one place patterns from files are compiled."""
    global _cached_units
    with _cache_lock:
        hit = _cache.get(pattern)
        if hit is not None:
            _cache.move_to_end(pattern)
            return hit[0]
    cost = pattern_cost(pattern)
    compiled = _compile(pattern)
    with _cache_lock:
        if pattern not in _cache:
            _cache[pattern] = (compiled, cost.units)
            _cached_units += cost.units
        while _cached_units > _CACHE_UNITS and len(_cache) > 1:
            _, (_, units) = _cache.popitem(last=False)
            _cached_units -= units
    return compiled


def _compile(pattern: str) -> regex.Pattern[str]:
    import regex

    try:
        # regex's own cache would keep what ours lets go of.
        return regex.compile(pattern, cache_pattern=False)
    except (regex.error, OverflowError, RecursionError, MemoryError, ValueError) as exc:
        raise PatternError(f"invalid regular expression: {exc}") from None


def pattern_cost(pattern: str) -> PatternCost:
    """The cost of ``pattern``, refused with :class:`PatternError` when over a limit."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"regular expression is too long ({len(pattern):,} characters; the limit is "
            f"{MAX_PATTERN_LENGTH:,})"
        )
    parsed = _parse(pattern)
    if parsed is None:
        return PatternCost(1, 0)  # it does not parse: compiling says why, cheaply
    try:
        cost = _measure(parsed)
    except RecursionError:
        raise PatternError("invalid regular expression: nested too deeply") from None
    if cost.units > MAX_REPETITION:
        raise PatternError(
            f"regular expression repeats too much: unrolled, it holds {_show(cost.units)} "
            f"units (the limit is {MAX_REPETITION:,}; a{{300}} is 300, (?:a{{300}}){{300}} "
            "90,000)"
        )
    if cost.literal_run > MAX_LITERAL_RUN:
        raise PatternError(
            f"regular expression has {cost.literal_run:,} literal characters in a row (the "
            f"limit is {MAX_LITERAL_RUN:,}; match long text with output_contains)"
        )
    return cost


def _show(units: int) -> str:
    return f"{units:,}" if units < 10**15 else f"about 10^{len(str(units)) - 1}"


def _parse(pattern: str) -> Any:
    """The engine's own parse tree of ``pattern`` (no repeat is unrolled yet), or None when
    the pattern does not parse. Mirrors the first step of ``regex.compile``."""
    from regex import _regex_core as core

    flags = 0
    while True:
        source = core.Source(pattern)
        info = core.Info(flags, source.char_type, {})
        source.ignore_space = bool(info.flags & core.VERBOSE)
        try:
            return core._parse_pattern(source, info)
        except core._UnscopedFlagSet:
            # A global flag such as (?x) after the start: parse again with it set.
            flags = info.global_flags
        except (core.error, ValueError, KeyError, OverflowError):
            return None
        except RecursionError:
            raise PatternError("invalid regular expression: nested too deeply") from None


_CHILDREN: Final = ("subpattern", "yes_item", "no_item")


def _measure(node: Any) -> PatternCost:
    from regex import _regex_core as core

    if isinstance(node, core.Character):
        return PatternCost(1, 1)
    if isinstance(node, core.GreedyRepeat):  # lazy and possessive repeats are subclasses
        body = _measure(node.subpattern)
        count = node.max_count if node.max_count is not None else node.min_count
        return PatternCost(body.units * max(count, 1), body.literal_run)
    items = _items(node)
    if not items:
        return PatternCost(1, 0)
    units, longest, run = 0, 0, 0
    for item in items:
        if isinstance(item, core.Character) and isinstance(node, core.Sequence):
            run += 1
            units += 1
            longest = max(longest, run)
            continue
        run = 0
        cost = _measure(item)
        units += cost.units
        longest = max(longest, cost.literal_run)
    return PatternCost(units, longest)


def _items(node: Any) -> list[Any]:
    items: list[Any] = [getattr(node, name) for name in _CHILDREN if hasattr(node, name)]
    for name in ("items", "branches"):
        items.extend(getattr(node, name, None) or ())
    return [item for item in items if item is not None]


def check_pattern(pattern: str) -> str:
    """``pattern`` itself when it compiles within the limits (for validators)."""
    compile_pattern(pattern)
    return pattern


def search(pattern: str, text: str, timeout: float = SEARCH_TIMEOUT_S) -> regex.Match[str] | None:
    compiled = compile_pattern(pattern)
    try:
        return compiled.search(text, timeout=timeout)
    except TimeoutError:
        raise PatternError(f"regular expression {pattern!r} took longer than {timeout}s") from None


def substitute(pattern: str, replacement: str, text: str, timeout: float = SEARCH_TIMEOUT_S) -> str:
    compiled = compile_pattern(pattern)
    try:
        return str(compiled.sub(replacement, text, timeout=timeout))
    except TimeoutError:
        raise PatternError(f"regular expression {pattern!r} took longer than {timeout}s") from None
