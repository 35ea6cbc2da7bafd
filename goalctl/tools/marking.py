"""``@goalctl.tool``: the marker a project function needs before a scenario may call it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

MARK: Final = "__goalctl_tool__"
DECORATOR: Final = "goalctl.tool"

F = TypeVar("F", bound=Callable[..., Any])


def tool(function: F) -> F:
    """Mark a function (sync or async) as usable by a scenario tool ``python: module:function``.

    The function is called with the tool's input as keyword arguments; its return value (JSON
    data) is the tool's result, and an exception it raises is a tool error whose message the
    model sees. Only marked functions can be named by a scenario, so a scenario from a stranger
    cannot have goalctl call arbitrary functions with the model's arguments.
    """
    setattr(function, MARK, True)
    return function
