"""goalctl: goal-seeking agents described in files.

The public API is imported lazily, so ``import goalctl`` (and ``goalctl --version``) stays
fast: ``from goalctl import Goal`` loads the model only when it is asked for.
:func:`goalctl.validate` and :func:`goalctl.run` are ``goalctl validate`` and ``goalctl run``
from Python (:mod:`goalctl.api`).
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
    "UsageError": "goalctl.errors",
    "ScenarioError": "goalctl.errors",
    "ConfigError": "goalctl.errors",
    "RunError": "goalctl.errors",
    "Problem": "goalctl.errors",
    "validate": "goalctl.api",
    "run": "goalctl.api",
    "ValidationResult": "goalctl.api.results",
    "FileValidation": "goalctl.api.results",
    "RunResult": "goalctl.api.results",
    "ScenarioResult": "goalctl.api.results",
    "SkippedScenario": "goalctl.api.results",
    "CriterionResult": "goalctl.api.results",
    "ConstraintResult": "goalctl.api.results",
    "CaseResult": "goalctl.api.results",
    "BaselineComparison": "goalctl.api.results",
    "ComparedItem": "goalctl.api.results",
    "Reason": "goalctl.verdict",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # the names, for type checkers and editors; imported lazily at run time
    from goalctl.agents.base import PhasedAgent as PhasedAgent
    from goalctl.agents.marking import AgentResult as AgentResult
    from goalctl.agents.marking import GatewayAccess as GatewayAccess
    from goalctl.agents.marking import agent as agent
    from goalctl.api import run as run
    from goalctl.api import validate as validate
    from goalctl.api.results import BaselineComparison as BaselineComparison
    from goalctl.api.results import CaseResult as CaseResult
    from goalctl.api.results import ComparedItem as ComparedItem
    from goalctl.api.results import ConstraintResult as ConstraintResult
    from goalctl.api.results import CriterionResult as CriterionResult
    from goalctl.api.results import FileValidation as FileValidation
    from goalctl.api.results import RunResult as RunResult
    from goalctl.api.results import ScenarioResult as ScenarioResult
    from goalctl.api.results import SkippedScenario as SkippedScenario
    from goalctl.api.results import ValidationResult as ValidationResult
    from goalctl.errors import ConfigError as ConfigError
    from goalctl.errors import GoalctlError as GoalctlError
    from goalctl.errors import Problem as Problem
    from goalctl.errors import RunError as RunError
    from goalctl.errors import ScenarioError as ScenarioError
    from goalctl.errors import UsageError as UsageError
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
    from goalctl.verdict import Reason as Reason


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'goalctl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
