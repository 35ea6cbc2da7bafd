"""Trials (DESIGN §13, issue 14): 100 cases × 10 trials cost about what 1,000 cases do."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench_run import scenario_text
from harness import BenchmarkError, Context, Row, Stats, bench_env, benchmark, progress

TRIAL_CASES = 100
TRIALS = 10
PLAIN_CASES = TRIAL_CASES * TRIALS
MAX_RATIO = 1.2
"""Issue 14: 100 cases × 10 trials offline within 1.2× of 1,000 cases without trials."""


@benchmark("trials")
def trial_budget(ctx: Context) -> list[Row]:
    """100 cases × 10 trials against 1,000 cases of one trial, offline."""
    import subprocess

    workdir = Path(tempfile.mkdtemp(prefix="goalctl-bench-trials-"))
    goalctl = ctx.tool("goalctl")
    try:
        trials = workdir / "trials.yaml"
        # Every trial passes and threshold 1 needs all of them: early stopping cannot cut
        # the work (and --no-early-stop makes sure), so both runs make 1,000 agent calls.
        trials.write_text(scenario_text(TRIAL_CASES, "scripted") + f"trials: {TRIALS}\n")
        plain = workdir / "plain.yaml"
        plain.write_text(scenario_text(PLAIN_CASES, "scripted"))
        run = [goalctl, "--state-dir", str(workdir / "state"), "run", "--json"]
        commands = {
            "plain": [*run, str(plain)],
            "trials": [*run, "--no-early-stop", str(trials)],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        rounds = ctx.runs + 1
        progress(f"  timing both runs, interleaved ({rounds} rounds, the first a warm-up)")
        for index in range(rounds):
            for name, argv in commands.items():
                started = time.perf_counter()
                proc = subprocess.run(
                    argv, capture_output=True, text=True, cwd=ctx.root, env=bench_env(), check=False
                )
                elapsed = time.perf_counter() - started
                if proc.returncode != 0:
                    raise BenchmarkError(f"`{' '.join(argv)}` exited {proc.returncode}")
                if index:
                    samples[name].append(elapsed)
        plain_stats, trial_stats = Stats.of(samples["plain"]), Stats.of(samples["trials"])
        ratio = trial_stats.median / plain_stats.median
        ctx.add_details(
            "trials",
            f"Medians of {ctx.runs} interleaved rounds after a warm-up round. Both scenarios are "
            "bench_run's (three criteria, one budget, the scripted provider); one has "
            f"{PLAIN_CASES} cases, the other {TRIAL_CASES} cases with `trials: {TRIALS}` run "
            "with `--no-early-stop`, so both make 1,000 agent calls and evaluations. The trial "
            "run also journals 1,000 checkpoint lines, summarizes each case's trials and "
            "computes Wilson intervals, pass@k and pass^k.",
        )
        return [
            Row(
                f"goalctl run ({PLAIN_CASES} cases, 1 trial each)",
                plain_stats,
                ratio=ctx.ratio(plain_stats),
            ),
            Row(
                f"goalctl run ({TRIAL_CASES} cases × {TRIALS} trials)",
                trial_stats,
                ratio=ctx.ratio(trial_stats),
            ),
            Row(
                f"trials ÷ plain (≤ {MAX_RATIO}×)",
                value=f"{ratio:.2f}×",
                passed=ratio <= MAX_RATIO,
            ),
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
