"""``goalctl run`` budgets (DESIGN §9): offline cases, latency-bound cases, replay, memory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness import BenchmarkError, Budget, Context, Row, Stats, bench_env, benchmark, progress

OFFLINE_CASES = 1000
OFFLINE_BUDGET = Budget(2.0)
"""An offline run of 1,000 cases in at most 2 s."""
PER_CASE_BUDGET = Budget(0.001, "/case")
"""At most 1 ms of goalctl overhead per case."""
LATENCY_CASES = 100
LATENCY_BUDGET = Budget(3.0)
"""100 cases against a provider with 200 ms latency, default settings, in at most 3 s."""
REPLAY_BUDGET = Budget(0.5)
"""A replayed run of 100 cases in at most 0.5 s."""
MEMORY_BUDGET_MB = 150.0


def scenario_text(cases: int, provider: str, *, scripted: bool = True) -> str:
    """A scenario with ``cases`` cases, three criteria and a budget, like a real eval."""
    rows = ", ".join(f"{{name: c{i}, input: {{n: {i}}}}}" for i in range(cases))
    lines = [
        "id: bench",
        "name: Bench",
        "description: Repeat the number.",
        f"provider: {provider}",
        "success_criteria:",
        "  - {id: says, description: Mentions the number, metric: output_contains, target: number}",
        "  - {id: short, description: Short answer, metric: custom, check: 'len(text) < 200'}",
        r"  - {id: digits, description: Has digits, metric: output_matches, target: '\d+'}",
        "constraints:",
        "  - {id: cheap, description: Cheap, constraint_type: hard, category: cost,"
        " check: 'cost_usd <= 100'}",
        f"cases: [{rows}]",
        "prompt: 'Repeat this number: {{ input.n }}'",
    ]
    if scripted:
        lines.append("responses: ['the number is 42']")
    return "\n".join(lines) + "\n"


def timed(
    ctx: Context,
    label: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    warmup: int = 1,
) -> Stats:
    """Median wall time of whole runs of ``argv`` (after a warm-up)."""
    progress(f"  timing {label} ({warmup} warm-up + {ctx.runs} runs)")
    samples = []
    for index in range(warmup + ctx.runs):
        started = time.perf_counter()
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            cwd=ctx.root,
            env=dict(env or bench_env()),
            check=False,
        )
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise BenchmarkError(
                f"`{' '.join(argv)}` exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )
        if index >= warmup:
            samples.append(elapsed)
    return Stats.of(samples)


_MEASURE = """\
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""
"""Run argv from a small interpreter and print its peak RSS (kB) and exit code. A child forked
by the benchmark itself would report the benchmark's own resident size as its peak: Linux
keeps the high-water mark of the memory a child had at fork, before its exec."""


def peak_rss_mb(argv: Sequence[str], cwd: Path) -> float:
    """Peak resident memory of one run of ``argv`` (the child's own maximum, from wait4 in a
    small parent process: see :data:`_MEASURE`)."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv],
        cwd=cwd,
        env=bench_env(),
        capture_output=True,
        text=True,
    )
    try:
        peak_kb, code = (int(part) for part in done.stdout.split())
    except ValueError:
        raise BenchmarkError(f"cannot measure `{' '.join(argv)}`: {done.stderr[-500:]}") from None
    if code != 0:
        raise BenchmarkError(f"`{' '.join(argv)}` exited {code}: {done.stderr[-500:]}")
    return peak_kb / 1024  # Linux reports kilobytes


@benchmark("run")
def run_budgets(ctx: Context) -> list[Row]:
    """``goalctl run``: 1,000 offline cases, peak memory, 200 ms latency, and replay."""
    workdir = Path(tempfile.mkdtemp(prefix="goalctl-bench-run-"))
    goalctl = ctx.tool("goalctl")
    try:
        state = workdir / "state"
        big = workdir / "offline.yaml"
        big.write_text(scenario_text(OFFLINE_CASES, "scripted"))
        one = workdir / "one.yaml"
        one.write_text(scenario_text(1, "scripted"))
        run = [goalctl, "--state-dir", str(state), "run", "--json"]
        offline = timed(ctx, f"goalctl run ({OFFLINE_CASES} offline cases)", [*run, str(big)])
        single = timed(ctx, "goalctl run (1 offline case)", [*run, str(one)])
        per_case = Stats.of([max(offline.median - single.median, 0.0) / (OFFLINE_CASES - 1)])
        memory = max(peak_rss_mb([*run, str(big)], ctx.root) for _ in range(3))

        latency = latency_run(ctx, goalctl, workdir)

        small = workdir / "replay.yaml"
        small.write_text(scenario_text(LATENCY_CASES, "anthropic", scripted=False))
        record_cassette(ctx, [*run, "--record", str(small)])
        replay = timed(
            ctx,
            f"goalctl run --provider replay ({LATENCY_CASES} cases)",
            [*run, "--provider", "replay", str(small)],
        )
        notes = [
            "Scenarios: three criteria (contains, custom expression, regex) and one budget.",
            "The offline run uses the scripted provider; the replay run, a cassette recorded",
            "from the loopback Messages API server.",
            "Overhead per case = (1,000-case run - 1-case run) / 999.",
            f"Peak memory: the largest ru_maxrss of three 1,000-case runs, {memory:.1f} MB.",
            "The latency run uses the real anthropic SDK against the loopback Messages API",
            "server of tests/support, 200 ms per reply, with goalctl's default concurrency.",
        ]
        ctx.add_details("run", " ".join(notes))
        memory_row = Row(
            f"peak memory ({OFFLINE_CASES}-case run, ≤ {MEMORY_BUDGET_MB:.0f} MB)",
            value=f"{memory:.1f} MB",
            passed=memory <= MEMORY_BUDGET_MB,
        )
        return [
            Row(
                f"goalctl run ({OFFLINE_CASES} offline cases)",
                offline,
                OFFLINE_BUDGET,
                ratio=ctx.ratio(offline),
            ),
            Row("goalctl overhead per case", per_case, PER_CASE_BUDGET, unit="/case"),
            memory_row,
            Row(
                f"goalctl run ({LATENCY_CASES} cases, 200 ms latency)",
                latency,
                LATENCY_BUDGET,
                ratio=ctx.ratio(latency),
            ),
            Row(
                f"goalctl run --provider replay ({LATENCY_CASES} cases)",
                replay,
                REPLAY_BUDGET,
                ratio=ctx.ratio(replay),
            ),
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def record_cassette(ctx: Context, argv: list[str]) -> None:
    """Record a cassette from the loopback Messages API server (recording needs a live provider)."""
    sys.path.insert(0, str(ctx.root))
    from tests.support.messages_server import MessagesServer

    with MessagesServer() as server:
        env = bench_env(
            {"ANTHROPIC_API_KEY": "sk-bench-not-a-real-key", "ANTHROPIC_BASE_URL": server.url}
        )
        subprocess.run(argv, cwd=ctx.root, env=env, capture_output=True, check=True)


def latency_run(ctx: Context, goalctl: str, workdir: Path) -> Stats:
    sys.path.insert(0, str(ctx.root))
    from tests.support.messages_server import MessagesServer

    path = workdir / "latency.yaml"
    # The server's default reply echoes the prompt, which mentions the number.
    path.write_text(scenario_text(LATENCY_CASES, "anthropic", scripted=False))
    with MessagesServer(latency=0.2) as server:
        env = bench_env(
            {"ANTHROPIC_API_KEY": "sk-bench-not-a-real-key", "ANTHROPIC_BASE_URL": server.url}
        )
        argv = [goalctl, "--state-dir", str(workdir / "state"), "run", "--json", str(path)]
        return timed(ctx, f"goalctl run ({LATENCY_CASES} cases, 200 ms latency)", argv, env=env)
