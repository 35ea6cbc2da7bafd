"""Exact tests for paired and unpaired pass/fail counts: binomial, McNemar and Fisher.

Exact rather than asymptotic (chi-square) because a baseline holds tens of cases and a
trial a handful of repetitions: the small samples where the approximations mislead.
Probabilities are summed as exact fractions, so the p-values match scipy's to the last digit
and no table is too large to represent; two-sided p-values follow scipy's convention of
adding every outcome no more likely than the observed one (with the same 1e-7 tolerance).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Literal

Alternative = Literal["two-sided", "greater", "less"]

# scipy compares likelihoods with this relative slack so that outcomes equally likely in
# exact arithmetic are not split by rounding; kept to return the same p-values.
_TIE = Fraction(1) + Fraction(1, 10**7)


def _check_alternative(alternative: str) -> None:
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be two-sided, greater or less, got {alternative!r}")


def _p_value(
    pmf: Callable[[int], Fraction], low: int, high: int, observed: int, alternative: Alternative
) -> float:
    """Sum a discrete distribution over ``low..high`` as ``alternative`` asks."""
    _check_alternative(alternative)
    if alternative == "greater":
        total = sum((pmf(x) for x in range(observed, high + 1)), Fraction(0))
    elif alternative == "less":
        total = sum((pmf(x) for x in range(low, observed + 1)), Fraction(0))
    else:
        bound = pmf(observed) * _TIE
        total = sum((p for p in (pmf(x) for x in range(low, high + 1)) if p <= bound), Fraction(0))
    return min(1.0, float(total))


def binomial_test(k: int, n: int, p: float = 0.5, alternative: Alternative = "two-sided") -> float:
    """The exact binomial test of ``k`` successes in ``n`` trials against rate ``p``."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be between 0 and 1, got {p}")
    rate = Fraction(p)

    def pmf(x: int) -> Fraction:
        return math.comb(n, x) * rate**x * (1 - rate) ** (n - x)

    return _p_value(pmf, 0, n, k, alternative)


def mcnemar_exact(regressed: int, improved: int, alternative: Alternative = "two-sided") -> float:
    """McNemar's exact test on paired results: cases that went pass→fail vs fail→pass.

    Only the discordant pairs carry information; under no change each is equally likely to
    go either way, so the regressions follow Binomial(regressed + improved, 1/2).
    ``greater`` asks whether regressions outnumber improvements by more than chance.
    With no discordant pair there is no evidence either way: the p-value is 1.
    """
    if regressed < 0 or improved < 0:
        raise ValueError(f"counts must be >= 0, got {regressed} and {improved}")
    _check_alternative(alternative)
    discordant = regressed + improved
    if discordant == 0:
        return 1.0
    return binomial_test(regressed, discordant, 0.5, alternative)


def fisher_exact(
    table: tuple[tuple[int, int], tuple[int, int]], alternative: Alternative = "two-sided"
) -> float:
    """Fisher's exact test of a 2×2 table ``((a, b), (c, d))``, as ``scipy.stats.fisher_exact``.

    With rows (before, after) and columns (passed, failed), ``greater`` asks whether the
    first row passes more often than the second: a regression from before to after.
    """
    (a, b), (c, d) = table
    if min(a, b, c, d) < 0:
        raise ValueError(f"counts must be >= 0, got {table}")
    row, column, total = a + b, a + c, a + b + c + d
    # With the margins fixed, ``a`` follows the hypergeometric distribution.
    low, high = max(0, row + column - total), min(row, column)
    if total == 0 or low == high:
        _check_alternative(alternative)
        return 1.0
    ways = math.comb(total, column)

    def pmf(x: int) -> Fraction:
        return Fraction(math.comb(row, x) * math.comb(total - row, column - x), ways)

    return _p_value(pmf, low, high, a, alternative)
