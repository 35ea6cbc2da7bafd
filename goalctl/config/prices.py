"""What a call costs, by model (US dollars per million tokens) — and when nobody knows.

Prices are matched by the longest model-name prefix, so dated model ids
(``claude-sonnet-4-5-20250929``) find their family. Three tables are merged, the more specific
winning for the same name: a scenario's ``pricing:``, the project's ``prices`` (goalctl.toml),
then goalctl's built-in table.

Prices fail closed (DESIGN §14): a model without a price costs *unknown*, never $0. A run that
checks ``cost_usd`` against a model without a price is refused before any call; otherwise its
report says which models were not counted. Costs of the offline ``scripted`` provider are
computed from estimated tokens and are labelled *simulated* wherever they are shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from goalctl.providers.base import Usage
from goalctl.sizes import shown_number

MAX_PRICE = 100_000.0
"""USD per million tokens; far above any real price, and low enough to stay finite in sums."""

# (input, output) in USD per million tokens.
BUILTIN_PRICES: dict[str, tuple[float, float]] = {
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
    # OpenAI's list prices; a dated id (gpt-4o-2024-08-06) finds its family.
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1-nano": (0.1, 0.4),
    "o3": (2.0, 8.0),
    "o3-mini": (1.1, 4.4),
    "o4-mini": (1.1, 4.4),
}

CostBasis = Literal["priced", "simulated", "unknown"]


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million input and output tokens."""

    input: float
    output: float

    def cost(self, usage: Usage) -> float:
        return (usage.input_tokens * self.input + usage.output_tokens * self.output) / 1_000_000


def price_problem(value: object) -> str | None:
    """Why ``value`` is not a price in USD per million tokens, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number of US dollars per million tokens"
    # Integers are compared as integers: one too large for a float must not overflow here.
    if (isinstance(value, float) and not math.isfinite(value)) or not 0 <= value <= MAX_PRICE:
        return (
            f"must be between 0 and {MAX_PRICE:,.0f} (USD per million tokens), "
            f"got {shown_number(value)}"
        )
    return None


class PriceTable:
    """The merged price tables of one run; look models up with :meth:`price_of`."""

    def __init__(self, *tables: Mapping[str, Price]) -> None:
        """``tables`` from the most specific (a scenario's) to the least (built in last)."""
        merged: dict[str, Price] = {}
        for table in reversed(tables):
            merged.update(table)
        self._prices = merged

    @classmethod
    def for_run(cls, *tables: Mapping[str, Price]) -> PriceTable:
        """``tables`` (most specific first) over goalctl's built-in prices."""
        builtin = {name: Price(*pair) for name, pair in BUILTIN_PRICES.items()}
        return cls(*tables, builtin)

    def price_of(self, model: str) -> Price | None:
        """The price of ``model`` by its longest known prefix, or None when it has none."""
        best = ""
        for prefix in self._prices:
            if model.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return self._prices[best] if best else None

    def cost_usd(self, usage: Usage, *models: str) -> float | None:
        """The cost of ``usage`` at the first of ``models`` that has a price, or None."""
        for model in models:
            price = self.price_of(model) if model else None
            if price is not None:
                return price.cost(usage)
        return None


def price_remedy(model: str) -> str:
    """Where a price for ``model`` can be given."""
    return (
        f"give its price in the scenario (pricing: {{{model}: {{input: 3.0, output: 15.0}}}}, "
        f'USD per million tokens) or in goalctl.toml ([prices."{model}"] input = 3.0, '
        "output = 15.0)"
    )


def cost_basis(totals: Mapping[str, Any]) -> CostBasis:
    basis = totals.get("cost_basis", "priced")
    return basis if basis in ("simulated", "unknown") else "priced"


def cost_text(amount: float, totals: Mapping[str, Any], digits: int = 6) -> str:
    """A run's cost as people should read it: ``$0.000120 (simulated)``, or what is unknown."""
    money = f"${amount:.{digits}f}"
    basis = cost_basis(totals)
    if basis == "simulated":
        return f"{money} (simulated)"
    if basis == "unknown":
        models = ", ".join(str(m) for m in totals.get("unpriced_models") or []) or "a model"
        note = f"unknown (no price for {models})"
        return f"{money} + {note}" if amount else note
    return money


def cost_column(totals: Mapping[str, Any]) -> str:
    """The heading of a column of per-case costs."""
    basis = cost_basis(totals)
    if basis == "simulated":
        return "cost (simulated)"
    if basis == "unknown":
        return "cost (priced calls only)"
    return "cost"


def unpriced(models: Iterable[str], table: PriceTable) -> list[str]:
    """The ``models`` that have no price, in order, once each."""
    return [m for m in dict.fromkeys(models) if m and table.price_of(m) is None]
