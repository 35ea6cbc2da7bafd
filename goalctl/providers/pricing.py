"""Cost of a call from its token usage, by model (US dollars per million tokens).

Prices are matched by the longest model-name prefix, so dated model ids
(``claude-sonnet-4-5-20250929``) find their family. Unknown models cost 0 and say so in
the report rather than inventing a number.
"""

from __future__ import annotations

from goalctl.providers.base import Usage

# (input, output) in USD per million tokens.
PRICES: dict[str, tuple[float, float]] = {
    "claude-opus-4": (15.0, 75.0),
    "claude-opus-4-5": (5.0, 25.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-3-haiku": (0.25, 1.25),
    "claude-3-opus": (15.0, 75.0),
}


def price_of(model: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens for ``model``, or None when unknown."""
    best = ""
    for prefix in PRICES:
        if model.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return PRICES[best] if best else None


def cost_usd(model: str, usage: Usage) -> float:
    price = price_of(model)
    if price is None:
        return 0.0
    return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000
