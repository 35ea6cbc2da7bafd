"""Python checks named by scenarios in tests (``check: tests.support.checks_module:NAME``)."""

from __future__ import annotations

from typing import Any

from goalctl.evaluation import check

CALLS: list[str] = []
"""Names of the functions called, so a test can show that a refused one never ran."""


@check
def total_matches(names: dict[str, Any]) -> bool:
    CALLS.append("total_matches")
    return bool(names["output"]["total"] == names["expected"]["total"])


@check
def confidence(names: dict[str, Any]) -> float:
    CALLS.append("confidence")
    return float(names["output"]["confidence"])


@check
def explode(names: dict[str, Any]) -> bool:
    CALLS.append("explode")
    raise RuntimeError("boom")


def unmarked(names: dict[str, Any]) -> bool:
    CALLS.append("unmarked")
    return True
