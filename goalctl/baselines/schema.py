"""The JSON Schema of baseline files, published with the scenario schemas (``goalctl
schema``), so editors and CI can check a baseline that was edited by hand."""

from __future__ import annotations

from typing import Any

from goalctl.baselines.document import FORMAT

_COUNT = {
    "type": "string",
    "pattern": "^[0-9]+/[0-9]+$",
    "description": "passed/evaluated: evaluations that passed (held, for a constraint), of "
    "those made (one per trial that gave a verdict)",
}
_COUNTS = {"type": "object", "additionalProperties": _COUNT}
_AMOUNT = {"type": "number", "minimum": 0}


def baseline_schema(dialect: str) -> dict[str, Any]:
    """The schema of ``<scenario>.baseline.json``."""
    case = {
        "type": "object",
        "required": ["status", "criteria", "constraints", "cost_usd", "elapsed_s"],
        "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "enum": ["passed", "failed", "error"]},
            "criteria": _COUNTS,
            "constraints": _COUNTS,
            "cost_usd": _AMOUNT,
            "elapsed_s": _AMOUNT,
            "flaky": {"const": True, "description": "marked flaky: never compared"},
        },
    }
    return {
        "$schema": dialect,
        "title": "goalctl baseline",
        "description": "A run's results per case, criterion and constraint, kept beside its "
        "scenario for `goalctl run --baseline` (written by `goalctl baseline save`).",
        "type": "object",
        "required": [
            "format",
            "goal",
            "scenario",
            "run_id",
            "provider",
            "model",
            "verdict",
            "score",
            "totals",
            "criteria",
            "constraints",
            "cases",
        ],
        "additionalProperties": False,
        "properties": {
            "format": {"const": FORMAT},
            "goal": {
                "type": "object",
                "required": ["id", "version"],
                "additionalProperties": False,
                "properties": {"id": {"type": "string"}, "version": {"type": "string"}},
            },
            "scenario": {"type": "string"},
            "run_id": {"type": "string"},
            "provider": {"type": "string"},
            "model": {"type": "string"},
            "verdict": {"type": "string", "enum": ["achieved", "not_achieved"]},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "totals": {
                "type": "object",
                "required": ["cases", "cost_usd", "elapsed_s", "cost_basis"],
                "additionalProperties": False,
                "properties": {
                    "cases": {"type": "integer", "minimum": 0},
                    "cost_usd": _AMOUNT,
                    "elapsed_s": _AMOUNT,
                    "cost_basis": {"type": "string", "enum": ["priced", "simulated", "unknown"]},
                },
            },
            "criteria": _COUNTS,
            "constraints": _COUNTS,
            "cases": {"type": "object", "additionalProperties": case},
        },
    }
