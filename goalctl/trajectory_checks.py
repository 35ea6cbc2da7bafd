"""Checks over a case's trajectory (DESIGN §12): the expression names and three metrics.

Which steps count as calls: a step **was called** when its tool ran, whether it then returned
a result or an error (an erroring call was still made). A step a hard constraint refused
(``refused`` set) never ran, so it is *not* a call: ``tool_calls``, ``called``, ``count``,
``tool_called``, ``tool_sequence`` and ``tool_args`` all leave it out. It stays in
``trajectory`` (and in ``steps``, its length), where a check can see it.

``tool_sequence`` compares the calls made, ``C`` (tool names in order), with its list ``T``:

- ``strict``: ``C == T`` — exactly these calls, in this order, nothing else;
- ``in_order`` (default): ``T`` is a subsequence of ``C`` — the listed calls happen in this
  order, other calls may come before, between and after; a tool listed twice must be called
  twice;
- ``any_order``: ``C`` is a permutation of ``T`` — the same tools, each as many times, in any
  order;
- ``subset``: every tool in ``T`` was called at least once (``set(T) ⊆ set(C)``); other calls
  are allowed and repeats in ``T`` ask nothing more;
- ``superset``: every call is of a tool in ``T`` (``set(C) ⊆ set(T)``); a listed tool need not
  be called.

So strict implies all four others, any_order implies subset and superset, in_order implies
subset, and ``subset(C, T) == superset(T, C)``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from goalctl.excerpts import plural, shorten
from goalctl.json_values import json_equal

MAX_SHOWN_CALLS = 12
"""The most calls named in one piece of evidence; the rest are counted."""


class Outcome(NamedTuple):
    """One criterion on one case: passed, why, and what kept it from being checked."""

    passed: bool
    evidence: str
    error: str | None = None


def calls(trajectory: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The steps whose tool ran (refused steps never did)."""
    return [step for step in trajectory if not step.get("refused")]


def tool_names(trajectory: Iterable[Mapping[str, Any]]) -> list[str]:
    """The tools called, in order."""
    return [str(step.get("tool")) for step in calls(trajectory)]


def trajectory_names(trajectory: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The names every check expression reads about the trajectory: ``trajectory``, ``steps``,
    ``tool_calls``, ``called(name)`` and ``count(name)``.

    ``called`` and ``count`` are plain closures over a list of names, so the sandbox can call
    them with no way back to anything else."""
    names = tool_names(trajectory)
    counts = Counter(names)

    def called(name: object) -> bool:
        return isinstance(name, str) and counts[name] > 0

    def count(name: object) -> int:
        return counts[name] if isinstance(name, str) else 0

    return {
        "trajectory": [dict(step) for step in trajectory],
        "steps": len(trajectory),
        "tool_calls": list(names),
        "called": called,
        "count": count,
    }


def describe_call(step: Mapping[str, Any]) -> str:
    """``step 3: issue_refund({"amount": 500, "order_id": "A-1"})``."""
    return f"step {step.get('step')}: {step.get('tool')}({shorten(step.get('args'), 120)})"


def show_calls(names: Sequence[str]) -> str:
    """The calls made, in order: ``calls: lookup → refund`` (or ``no tool was called``)."""
    if not names:
        return "no tool was called"
    shown = " → ".join(names[:MAX_SHOWN_CALLS])
    more = len(names) - MAX_SHOWN_CALLS
    return f"calls: {shown}" + (f" → … ({more} more)" if more > 0 else "")


# --- tool_called ------------------------------------------------------------------------------


def tool_called(
    trajectory: Sequence[Mapping[str, Any]], tool: str, low: int | None, high: int | None
) -> Outcome:
    """Passes when ``tool`` was called at least ``low`` (default 1) and at most ``high`` times."""
    low = 1 if low is None else low
    names = tool_names(trajectory)
    made = [step.get("step") for step in calls(trajectory) if step.get("tool") == tool]
    refused = sum(1 for step in trajectory if step.get("refused") and step.get("tool") == tool)
    said = f"{tool!r} called {plural(len(made), 'time')}"
    if made:
        said += f" (step{'s' if len(made) > 1 else ''} {', '.join(str(n) for n in made)})"
    if refused:
        said += f"; {plural(refused, 'call')} refused before it ran, not counted"
    wanted = _bounds(low, high)
    passed = len(made) >= low and (high is None or len(made) <= high)
    if passed:
        return Outcome(True, f"{said}; {wanted}")
    return Outcome(False, f"{said}; {wanted}; {show_calls(names)}")


def _bounds(low: int, high: int | None) -> str:
    if high is None:
        return f"wanted at least {low}"
    if high == 0:
        return "wanted never"
    if low == high:
        return f"wanted exactly {low}"
    return f"wanted {low} to {high}"


# --- tool_sequence ----------------------------------------------------------------------------


def is_subsequence(wanted: Sequence[str], made: Sequence[str]) -> bool:
    """``wanted`` appears in ``made`` in order, other items allowed between."""
    remaining = iter(made)
    return all(any(name == item for item in remaining) for name in wanted)


SEQUENCE_MODES: Mapping[str, Callable[[Sequence[str], Sequence[str]], bool]] = {
    "strict": lambda made, wanted: list(made) == list(wanted),
    "in_order": lambda made, wanted: is_subsequence(wanted, made),
    "any_order": lambda made, wanted: Counter(made) == Counter(wanted),
    "subset": lambda made, wanted: set(wanted) <= set(made),
    "superset": lambda made, wanted: set(made) <= set(wanted),
}
"""``mode(C, T)``: whether the calls ``C`` match the list ``T`` (definitions above)."""


def tool_sequence(
    trajectory: Sequence[Mapping[str, Any]], wanted: Sequence[str], mode: str
) -> Outcome:
    """Passes when the calls match ``wanted`` in ``mode`` (see the module's definitions)."""
    made = tool_names(trajectory)
    if SEQUENCE_MODES[mode](made, wanted):
        return Outcome(True, f"{mode}: {shorten(list(wanted))}; {show_calls(made)}")
    return Outcome(False, f"{mode}: {_sequence_miss(made, wanted, mode)}; {show_calls(made)}")


def _sequence_miss(made: Sequence[str], wanted: Sequence[str], mode: str) -> str:
    if mode == "strict":
        for index, (got, want) in enumerate(zip(made, wanted, strict=False)):
            if got != want:
                return f"call {index + 1} is {got!r}, expected {want!r}"
        if len(made) < len(wanted):
            return f"expected {len(wanted)} calls, got {len(made)}: {wanted[len(made)]!r} missing"
        return f"expected {len(wanted)} calls, got {len(made)}: {made[len(wanted)]!r} is extra"
    if mode == "in_order":
        position = 0
        for matched, name in enumerate(wanted):
            try:
                position = made.index(name, position) + 1
            except ValueError:
                after = f" after call {position} ({made[position - 1]!r})" if position else ""
                done = ", ".join(repr(name) for name in wanted[:matched][-5:])
                got = f"matched {done}, then " if matched else ""
                return f"{got}no call of {name!r}{after}"
        raise AssertionError("a subsequence was reported missing")
    if mode == "any_order":
        missing = Counter(wanted) - Counter(made)
        extra = Counter(made) - Counter(wanted)
        parts = []
        if missing:
            parts.append("missing " + _counted(missing))
        if extra:
            parts.append("extra " + _counted(extra))
        return "; ".join(parts)
    if mode == "subset":
        never = [name for name in dict.fromkeys(wanted) if name not in made]
        return "never called " + ", ".join(repr(name) for name in never)
    outside = [name for name in dict.fromkeys(made) if name not in wanted]
    return "called tools not in the list: " + ", ".join(repr(name) for name in outside)


def _counted(counter: Counter[str]) -> str:
    return ", ".join(
        f"{name!r}" + (f" ×{times}" if times > 1 else "") for name, times in counter.items()
    )


# --- tool_args --------------------------------------------------------------------------------


def without(value: Any, ignored: frozenset[str]) -> Any:
    """``value`` with every object key in ``ignored`` removed, at any depth."""
    if not ignored:
        return value
    if isinstance(value, dict):
        return {k: without(v, ignored) for k, v in value.items() if k not in ignored}
    if isinstance(value, list):
        return [without(item, ignored) for item in value]
    return value


def differences(got: Any, wanted: Any, *, exact: bool, path: str = "args") -> list[str]:
    """How ``got`` differs from ``wanted``: each a place and what is there. In subset mode an
    object may have keys ``wanted`` does not name; values are compared as JSON (``json_equal``).
    """
    if isinstance(wanted, dict) and isinstance(got, dict):
        found: list[str] = []
        for key, value in wanted.items():
            if key not in got:
                found.append(f"{path}.{key} is missing (expected {_json(value)})")
            else:
                found.extend(differences(got[key], value, exact=exact, path=f"{path}.{key}"))
        if exact:
            found.extend(f"{path}.{key} is not expected" for key in got if key not in wanted)
        return found
    if json_equal(got, wanted):
        return []
    return [f"{path} is {_json(got)}, expected {_json(wanted)}"]


def _json(value: Any) -> str:
    """A value as JSON (``"500"`` and ``500`` must read differently), shortened."""
    return shorten(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str), 60)


def tool_args(
    trajectory: Sequence[Mapping[str, Any]],
    tool: str,
    wanted: Mapping[str, Any],
    *,
    exact: bool,
    ignore: Iterable[str] = (),
) -> Outcome:
    """Passes when at least one call of ``tool`` has ``wanted`` arguments: exactly, or (subset)
    each wanted one present with an equal value. ``ignore`` names arguments left out of the
    comparison at any depth, on both sides. Evidence names the matching call, or the closest
    one and how it differs."""
    ignored = frozenset(ignore)
    expected = without(dict(wanted), ignored)
    mode = "exact" if exact else "subset"
    candidates = [step for step in calls(trajectory) if step.get("tool") == tool]
    if not candidates:
        return Outcome(False, f"{tool!r} was never called; {show_calls(tool_names(trajectory))}")
    closest: tuple[Mapping[str, Any], list[str]] | None = None
    for step in candidates:
        args = step.get("args")
        found = differences(without(args, ignored), expected, exact=exact)
        if not found:
            return Outcome(True, f"{describe_call(step)} matches ({mode})")
        if closest is None or len(found) < len(closest[1]):
            closest = (step, found)
    assert closest is not None
    step, found = closest
    more = f" (+{len(found) - 3} more)" if len(found) > 3 else ""
    of = f"no call of {tool!r} matches ({mode}, {plural(len(candidates), 'call')})"
    return Outcome(False, f"{of}; closest {describe_call(step)}: {'; '.join(found[:3])}{more}")
