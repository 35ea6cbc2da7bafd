"""Python checks of a test project: tests copy this file into ``tmp_path`` as ``checks.py``, so
a scenario there names them as ``check: checks:NAME``, the way a user's project does."""

from __future__ import annotations

from typing import Any

import goalctl

CALLS: list[str] = []
"""Names of the functions called, so a test can show that a refused one never ran."""


@goalctl.check
def total_matches(output: Any, expected: Any, **_: Any) -> bool:
    CALLS.append("total_matches")
    return bool(output["total"] == expected["total"])


@goalctl.check
def confidence(output: Any) -> float:
    CALLS.append("confidence")
    return float(output["confidence"])


@goalctl.check
def explode(**_: Any) -> bool:
    CALLS.append("explode")
    raise RuntimeError("boom")


def unmarked(output: Any) -> bool:
    CALLS.append("unmarked")
    return True
