"""``--case NAME`` of ``run`` and ``render``: the cases of a scenario whose names match.

Patterns are shell globs (``refund-*``, ``case-?``) matched against the whole case name, case
sensitively, as pytest's node ids are; a name without glob characters matches itself only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fnmatch import fnmatchcase

from goalctl.errors import UsageError
from goalctl.scenario.model import Scenario


def case_matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether ``name`` matches one of ``patterns`` (every name does when there are none)."""
    return not patterns or any(fnmatchcase(name, pattern) for pattern in patterns)


def select_cases(scenario: Scenario, patterns: Sequence[str]) -> Scenario | None:
    """``scenario`` with only the cases ``patterns`` match, None when they match none.

    A kept case without a name keeps the one it had in the whole scenario (``case-3`` stays
    ``case-3``), so reports, cassettes and scripted replies see the same names either way.
    """
    if not patterns:
        return scenario
    kept = []
    for index, case in enumerate(scenario.cases):
        name = scenario.case_name(index)
        if case_matches(name, patterns):
            kept.append(case if case.name else case.model_copy(update={"name": name}))
    if not kept:
        return None
    if len(kept) == len(scenario.cases) and scenario.spec.cases:
        return scenario
    spec = scenario.spec.model_copy(update={"cases": kept})
    return replace(scenario, spec=spec)


def unmatched(patterns: Sequence[str], names: Sequence[str]) -> list[str]:
    """The patterns that match none of ``names``."""
    return [p for p in patterns if not any(fnmatchcase(name, p) for name in names)]


def no_case_error(patterns: Sequence[str], where: str, names: Sequence[str]) -> UsageError:
    """The error of ``--case`` patterns that match no case."""
    shown = ", ".join(repr(p) for p in patterns)
    listed = ", ".join(names[:20]) + (", …" if len(names) > 20 else "")
    return UsageError(f"--case {shown} matches no case in {where} (cases: {listed})")
