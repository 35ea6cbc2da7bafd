"""Exact statistics for trials and baselines: intervals, pass@k / pass^k and exact tests.

Pure standard library (``math``, ``fractions``, ``statistics.NormalDist``): the runtime never
needs scipy, which the tests use as an oracle.
"""

from goalctl.statistics.exact_tests import (
    Alternative,
    binomial_test,
    fisher_exact,
    mcnemar_exact,
)
from goalctl.statistics.rates import Interval, pass_at_k, pass_hat_k, wilson_interval

__all__ = [
    "Alternative",
    "Interval",
    "binomial_test",
    "fisher_exact",
    "mcnemar_exact",
    "pass_at_k",
    "pass_hat_k",
    "wilson_interval",
]
