"""goalctl: goal-seeking agents described in files.

The public API is imported lazily, so ``import goalctl`` (and ``goalctl --version``) stays
fast: ``from goalctl import Goal`` loads the model only when it is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Goal": "goalctl.goal",
    "SuccessCriterion": "goalctl.goal",
    "Constraint": "goalctl.goal",
    "GoalStatus": "goalctl.goal",
    "Metric": "goalctl.goal",
    "Scenario": "goalctl.scenario.model",
    "load_scenario": "goalctl.scenario.loader",
    "validate_paths": "goalctl.validation",
    "RunOptions": "goalctl.planning",
    "run_paths": "goalctl.lifecycle",
    "RunStore": "goalctl.state",
    "PhasedAgent": "goalctl.agents.base",
    "check": "goalctl.evaluation",
    "agent": "goalctl.agents.marking",
    "tool": "goalctl.tools.marking",
    "AgentResult": "goalctl.agents.marking",
    "GatewayAccess": "goalctl.agents.marking",
    "GoalctlError": "goalctl.errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # the names, for type checkers and editors; imported lazily at run time
    from goalctl.agents.base import PhasedAgent as PhasedAgent
    from goalctl.agents.marking import AgentResult as AgentResult
    from goalctl.agents.marking import GatewayAccess as GatewayAccess
    from goalctl.agents.marking import agent as agent
    from goalctl.errors import GoalctlError as GoalctlError
    from goalctl.evaluation import check as check
    from goalctl.goal import Constraint as Constraint
    from goalctl.goal import Goal as Goal
    from goalctl.goal import GoalStatus as GoalStatus
    from goalctl.goal import Metric as Metric
    from goalctl.goal import SuccessCriterion as SuccessCriterion
    from goalctl.lifecycle import run_paths as run_paths
    from goalctl.planning import RunOptions as RunOptions
    from goalctl.scenario.loader import load_scenario as load_scenario
    from goalctl.scenario.model import Scenario as Scenario
    from goalctl.state import RunStore as RunStore
    from goalctl.tools.marking import tool as tool
    from goalctl.validation import validate_paths as validate_paths


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'goalctl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
