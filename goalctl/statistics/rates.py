"""How often something passes: Wilson score intervals, pass@k and pass^k.

Wilson's interval rather than the normal ("Wald") one because trials are few and rates sit
near 0 or 1, where Wald collapses to a zero-width interval and under-covers badly.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import NamedTuple


class Interval(NamedTuple):
    low: float
    high: float


def _check_counts(successes: int, trials: int) -> None:
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval for a binomial rate; ``(0, 1)`` when nothing was tried."""
    _check_counts(successes, trials)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    if trials == 0:
        return Interval(0.0, 1.0)
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    z2 = z * z
    rate = successes / trials
    denominator = 1.0 + z2 / trials
    centre = (rate + z2 / (2.0 * trials)) / denominator
    half = z * math.sqrt(rate * (1.0 - rate) / trials + z2 / (4.0 * trials * trials)) / denominator
    # At 0 and n successes the bounds are exactly 0 and 1; float rounding would say 1e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(low, high)


def _check_k(successes: int, trials: int, k: int) -> None:
    _check_counts(successes, trials)
    if not 1 <= k <= trials:
        raise ValueError(f"k must be between 1 and the number of trials ({trials}), got {k}")


def pass_at_k(successes: int, trials: int, k: int) -> float:
    """The chance that at least one of k trials drawn from these passes.

    The unbiased estimator of Chen et al. (2021), ``1 - C(n-c, k) / C(n, k)``, computed with
    exact integers so large n loses nothing to rounding.
    """
    _check_k(successes, trials, k)
    return 1.0 - math.comb(trials - successes, k) / math.comb(trials, k)


def pass_hat_k(successes: int, trials: int, k: int) -> float:
    """pass^k: the chance that all of k trials drawn from these pass, ``C(c, k) / C(n, k)``.

    The reliability measure of tau-bench (Yao et al., 2024): an agent that passes 70% of the
    time passes ten times in a row far less often.
    """
    _check_k(successes, trials, k)
    return math.comb(successes, k) / math.comb(trials, k)
