"""What a project's own Python agent uses from goalctl: ``@goalctl.agent``, what it may return
(:class:`AgentResult`) and how it reaches its model (:class:`GatewayAccess`).

Kept apart from the ``python`` agent itself so that ``import goalctl`` in a project module
stays as light as the decorator it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

MARK: Final = "__goalctl_agent__"

F = TypeVar("F", bound=Callable[..., Any])


def agent(function: F) -> F:
    """Mark a function (sync or async) as usable by ``agent: python`` with
    ``config: {callable: module:function}``.

    Only marked functions can be named by a scenario, so a scenario from a stranger cannot have
    goalctl call arbitrary functions with its own data. The function is called with the keyword
    arguments it names among ``input``, ``prompt``, ``system``, ``goal``, ``config``, ``case``,
    ``attempt``, ``feedback`` and ``gateway``.
    """
    setattr(function, MARK, True)
    return function


@dataclass(frozen=True)
class AgentResult:
    """What a python agent may return instead of its bare output: the output, and steps the
    model never saw (a retrieval, a sub-agent) for the case's trajectory."""

    output: Any
    """The case's output: JSON data (a dict, a list, text, a number)."""
    trajectory: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    """Steps as ``{"tool", "args", "result", "error"}``, in the order they happened; they
    follow the steps seen in the model exchange."""


@dataclass(frozen=True)
class GatewayAccess:
    """How a python agent's model calls reach goalctl's gateway for its case (the
    ``gateway`` argument): ``anthropic.Anthropic(base_url=gateway.base_url,
    api_key=gateway.api_key)``, ``openai.OpenAI(base_url=gateway.openai_base_url,
    api_key=gateway.api_key)``."""

    base_url: str
    """The Anthropic Messages API base URL (``http://127.0.0.1:PORT``)."""
    openai_base_url: str
    """The OpenAI Chat Completions base URL (``http://127.0.0.1:PORT/v1``)."""
    api_key: str
    """This case's key; revoked when the case's call returns."""
    environment: Mapping[str, str]
    """The same as environment variables (``ANTHROPIC_BASE_URL``, ``ANTHROPIC_API_KEY``,
    ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``), e.g. for a subprocess."""
