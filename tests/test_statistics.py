"""goalctl.statistics against scipy as the oracle, and the properties trials rely on."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from goalctl.statistics import (
    binomial_test,
    fisher_exact,
    mcnemar_exact,
    pass_at_k,
    pass_hat_k,
    wilson_interval,
)

ALTERNATIVES = ["two-sided", "greater", "less"]


@st.composite
def counts(draw: st.DrawFn, max_trials: int = 60) -> tuple[int, int]:
    trials = draw(st.integers(1, max_trials))
    return draw(st.integers(0, trials)), trials


# -- Wilson -------------------------------------------------------------------------------


@given(counts(max_trials=2000), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_equals_statsmodels_formula_via_scipy(sample: tuple[int, int], level: float) -> None:
    successes, trials = sample
    # scipy's BinomTestResult.proportion_ci(method="wilson") is the reference implementation.
    expected = stats.binomtest(successes, trials).proportion_ci(level, method="wilson")
    low, high = wilson_interval(successes, trials, level)
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_reference_values() -> None:
    # 7 of 10 at 95%: the interval every statistics text quotes for this example.
    low, high = wilson_interval(7, 10)
    assert (round(low, 4), round(high, 4)) == (0.3968, 0.8922)
    assert wilson_interval(0, 10).low == 0.0
    assert wilson_interval(10, 10).high == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("successes", "trials", "confidence"), [(-1, 3, 0.95), (4, 3, 0.95), (1, 3, 1.0), (1, 3, 0.0)]
)
def test_wilson_refuses_impossible_input(successes: int, trials: int, confidence: float) -> None:
    with pytest.raises(ValueError, match=r"must be|need"):
        wilson_interval(successes, trials, confidence)


def test_wilson_covers_the_true_rate_at_the_stated_confidence_over_simulated_data() -> None:
    # 20,000 simulated experiments, each with a true rate drawn uniformly and 5 to 50 trials.
    # Wilson's mean coverage is at nominal (Brown, Cai & DasGupta 2001; ~0.953 here, computed
    # exactly below); the estimate's standard error is sqrt(.95 * .05 / 20000) ~ 0.0015, so
    # 0.945 leaves five standard errors and still fails an interval that under-covers.
    rng = random.Random(20261125)
    experiments = 20_000
    covered = 0
    for _ in range(experiments):
        true_rate, trials = rng.random(), rng.randint(5, 50)
        successes = sum(rng.random() < true_rate for _ in range(trials))
        low, high = wilson_interval(successes, trials)
        covered += low <= true_rate <= high
    assert covered / experiments >= 0.945


@pytest.mark.parametrize("trials", [10, 20, 40, 100])
def test_wilson_exact_coverage_is_nominal_on_average_and_never_far_below(trials: int) -> None:
    # Exact coverage: the binomial probability of every outcome whose interval holds the rate.
    def coverage(rate: float) -> float:
        return sum(
            math.comb(trials, k) * rate**k * (1 - rate) ** (trials - k)
            for k in range(trials + 1)
            if wilson_interval(k, trials).low <= rate <= wilson_interval(k, trials).high
        )

    rates = [i / 200 for i in range(1, 200)]
    coverages = [coverage(rate) for rate in rates]
    assert sum(coverages) / len(coverages) >= 0.945
    # Away from 0 and 1 it never dips more than three points below 95%.
    assert min(c for r, c in zip(rates, coverages, strict=True) if 0.1 <= r <= 0.9) >= 0.92


# -- pass@k and pass^k ----------------------------------------------------------------------


def test_pass_at_k_reference_values() -> None:
    # 7 of 10: any 3 drawn contain a pass unless all three are among the 3 failures.
    assert pass_at_k(7, 10, 3) == pytest.approx(1 - 1 / 120)
    assert pass_hat_k(7, 10, 3) == pytest.approx(35 / 120)
    assert pass_at_k(7, 10, 10) == 1.0
    assert pass_hat_k(7, 10, 10) == 0.0
    assert pass_at_k(0, 5, 2) == 0.0
    assert pass_hat_k(5, 5, 5) == 1.0


@given(counts(), st.data())
def test_pass_hat_k_le_rate_le_pass_at_k(sample: tuple[int, int], data: st.DataObject) -> None:
    successes, trials = sample
    k = data.draw(st.integers(1, trials))
    rate = successes / trials
    tolerance = 1e-12
    assert pass_hat_k(successes, trials, k) <= rate + tolerance
    assert rate <= pass_at_k(successes, trials, k) + tolerance
    if k == 1:
        assert pass_at_k(successes, trials, 1) == pytest.approx(rate)
        assert pass_hat_k(successes, trials, 1) == pytest.approx(rate)


@given(counts(max_trials=20), st.data())
def test_pass_at_k_is_the_chance_a_random_draw_holds_a_pass(
    sample: tuple[int, int], data: st.DataObject
) -> None:
    # Against the definition: enumerate every k-subset of the trials.
    from itertools import combinations

    successes, trials = sample
    k = data.draw(st.integers(1, min(trials, 6)))
    outcomes = [True] * successes + [False] * (trials - successes)
    subsets = list(combinations(outcomes, k))
    assert pass_at_k(successes, trials, k) == pytest.approx(
        sum(any(s) for s in subsets) / len(subsets)
    )
    assert pass_hat_k(successes, trials, k) == pytest.approx(
        sum(all(s) for s in subsets) / len(subsets)
    )


@pytest.mark.parametrize("k", [0, 4])
def test_pass_at_k_refuses_k_outside_the_trials(k: int) -> None:
    with pytest.raises(ValueError, match="k must be between 1 and"):
        pass_at_k(1, 3, k)
    with pytest.raises(ValueError, match="k must be between 1 and"):
        pass_hat_k(1, 3, k)


# -- exact tests ------------------------------------------------------------------------------


@settings(max_examples=300)
@given(
    counts(max_trials=120), st.sampled_from([0.5, 0.1, 0.9, 0.37]), st.sampled_from(ALTERNATIVES)
)
def test_binomial_test_equals_scipy(sample: tuple[int, int], p: float, alternative: str) -> None:
    k, n = sample
    expected = stats.binomtest(k, n, p, alternative=alternative).pvalue  # type: ignore[arg-type]
    assert binomial_test(k, n, p, alternative) == pytest.approx(expected, rel=1e-9, abs=1e-15)  # type: ignore[arg-type]


@settings(max_examples=300)
@given(
    st.integers(0, 40), st.integers(0, 40), st.integers(0, 40), st.integers(0, 40),
    st.sampled_from(ALTERNATIVES),
)  # fmt: skip
def test_fisher_exact_equals_scipy(a: int, b: int, c: int, d: int, alternative: str) -> None:
    expected = stats.fisher_exact([[a, b], [c, d]], alternative=alternative).pvalue  # type: ignore[arg-type]
    assert fisher_exact(((a, b), (c, d)), alternative) == pytest.approx(  # type: ignore[arg-type]
        expected, rel=1e-9, abs=1e-15
    )


def test_fisher_exact_reference_value() -> None:
    # Fisher's lady tasting tea: 3 of 4 cups right each way, one-sided p = 17/70.
    assert fisher_exact(((3, 1), (1, 3)), "greater") == pytest.approx(17 / 70)
    assert fisher_exact(((3, 1), (1, 3))) == pytest.approx(34 / 70)


@given(st.integers(0, 60), st.integers(0, 60), st.sampled_from(ALTERNATIVES))
def test_mcnemar_exact_is_the_binomial_test_of_the_discordant_pairs(
    regressed: int, improved: int, alternative: str
) -> None:
    discordant = regressed + improved
    expected = (
        stats.binomtest(regressed, discordant, 0.5, alternative=alternative).pvalue  # type: ignore[arg-type]
        if discordant
        else 1.0
    )
    assert mcnemar_exact(regressed, improved, alternative) == pytest.approx(expected, rel=1e-9)  # type: ignore[arg-type]


def test_mcnemar_reference_values() -> None:
    # 6 regressions, 0 improvements: one-sided p = 1/64, the smallest sample that reaches 0.05.
    assert mcnemar_exact(6, 0, "greater") == pytest.approx(1 / 64)
    assert mcnemar_exact(4, 0, "greater") == pytest.approx(1 / 16)
    assert mcnemar_exact(0, 0) == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: binomial_test(3, 2),
        lambda: binomial_test(1, 2, 1.5),
        lambda: mcnemar_exact(-1, 0),
        lambda: mcnemar_exact(1, 0, "bigger"),  # type: ignore[arg-type]
        lambda: fisher_exact(((1, -1), (0, 0))),
        lambda: fisher_exact(((0, 0), (0, 0)), "sideways"),  # type: ignore[arg-type]
    ],
)
def test_exact_tests_refuse_impossible_input(call: object) -> None:
    with pytest.raises(ValueError, match=r"must be|need"):
        call()  # type: ignore[operator]
