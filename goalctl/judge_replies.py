"""The judge's verdict: ``{"pass", "score", "reason"}`` found in its reply, or why not."""

from __future__ import annotations

import math
import re

from goalctl.excerpts import shorten


def parse_judge_reply(text: str) -> tuple[bool, float | None, str]:
    """The judge's ``{"pass", "score", "reason"}``; ValueError when the reply is not that."""
    from goalctl.reading import MAX_JSON_DEPTH, ReadError, json_depth_exceeds, loads_json

    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match is None:
        raise ValueError(f"judge reply is not JSON: {shorten(text, 80)!r}")
    if json_depth_exceeds(match.group(0)):
        raise ValueError(f"judge reply is nested too deeply (more than {MAX_JSON_DEPTH} levels)")
    try:
        data = loads_json(match.group(0), "judge reply")
    except ReadError:  # not JSON, or NaN
        raise ValueError(f"judge reply is not JSON: {shorten(text, 80)!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("pass"), bool):
        raise ValueError(f"judge reply has no boolean 'pass': {shorten(text, 80)!r}")
    score = data.get("score")
    if not isinstance(score, int | float) or isinstance(score, bool):
        score = None
    elif not math.isfinite(score_value := _as_float(score)):
        raise ValueError(f"judge reply has an impossible score: {shorten(str(score), 20)}")
    else:
        score = score_value
    reason = data.get("reason")
    return data["pass"], score, "" if reason is None else str(reason)


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf
