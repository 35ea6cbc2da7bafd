"""Run goalctl's benchmarks against the budgets of DESIGN §9 (``make bench``).

Prints a Markdown table (median, min, max, ratio to bare interpreter start-up, budget, verdict)
followed by details, and saves the same report to ``benchmarks/results.md``. Exits 0 even when
a budget fails, because this is a measurement tool; ``--strict`` exits 1 on any FAIL. A
benchmark that cannot measure (a command fails) exits 2.

Adding a benchmark: write a function ``(ctx: Context) -> list[Row]`` decorated with
``@benchmark("name")`` in a ``bench_*.py`` module of this directory, and add the module to
:data:`BENCHMARK_MODULES`.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from harness import (
    DEFAULT_RUNS,
    REGISTRY,
    BenchmarkError,
    Context,
    Row,
    markdown_table,
    progress,
    run_command,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.md"

BENCHMARK_MODULES = (
    "bench_startup",
    "bench_validate",
    "bench_run",
    "bench_scale",
    "bench_agents",
    "bench_trials",
    "bench_peers",
)
"""Modules whose ``@benchmark`` functions register themselves when imported, in report order."""


def default_bin_dir() -> Path:
    """The virtualenv's ``bin``: this interpreter's, when goalctl is installed beside it."""
    here = Path(sys.executable).parent
    return here if (here / "goalctl").exists() else ROOT / ".venv" / "bin"


def parse_args(argv: Sequence[str] | None, names: Sequence[str]) -> argparse.Namespace:
    slow = [name for name in names if not REGISTRY[name].by_default]
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=DEFAULT_RUNS,
        metavar="N",
        help=f"timed runs per measurement, after one warm-up (default {DEFAULT_RUNS})",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(names)}; without it, every "
        f"benchmark but the slow ones ({', '.join(slow) or 'none'})",
    )
    parser.add_argument(
        "--profile", action="store_true", help="add in-process cProfile reports where available"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if any budget fails")
    parser.add_argument(
        "--bin",
        type=Path,
        default=default_bin_dir(),
        help="virtualenv bin directory holding python and goalctl (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def machine_line(ctx: Context) -> str:
    """Where and when: the platform, CPUs, the measured interpreter's version, the date."""
    today = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    try:
        version = run_command(
            [ctx.python, "-c", "import platform; print(platform.python_version())"]
        )
        python = version.stdout.strip()
    except BenchmarkError:
        python = "?"
    return (
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {python} "
        f"({ctx.python}); {today}; medians of {ctx.runs} runs after one warm-up run."
    )


def report(ctx: Context, rows: list[Row], names: Sequence[str]) -> str:
    parts = [
        f"# goalctl benchmarks: {', '.join(names)}",
        "",
        machine_line(ctx),
        "",
        markdown_table(rows, ctx.baseline_label),
        "",
        *ctx.details,
    ]
    return "\n".join(parts).rstrip() + "\n"


def merged(old: str, new: str) -> str:
    """``results.md`` with the section of this run replaced: the section whose heading is the
    new report's (``# goalctl benchmarks: NAMES``, at any level), up to the next heading of
    its level or above; appended when there is none. Every other section (earlier runs of
    other benchmarks, notes written by hand) stays as it was."""
    heading = new.split("\n", 1)[0].lstrip("#").strip()
    lines = old.splitlines(keepends=True)
    for start, line in enumerate(lines):
        level = len(line) - len(line.lstrip("#"))
        if level and line.lstrip("#").strip() == heading:
            end = next(
                (
                    i
                    for i in range(start + 1, len(lines))
                    if 0 < len(lines[i]) - len(lines[i].lstrip("#")) <= level
                ),
                len(lines),
            )
            body = new.replace("# ", "#" * level + " ", 1)
            return (
                "".join(lines[:start])
                + body
                + ("\n" if end < len(lines) else "")
                + ("".join(lines[end:]))
            )
    if not old.strip():
        return new
    return old.rstrip("\n") + "\n\n" + new


def main(argv: Sequence[str] | None = None) -> int:
    for module in BENCHMARK_MODULES:
        importlib.import_module(module)
    args = parse_args(argv, list(REGISTRY))
    selected = [
        bench
        for name, bench in REGISTRY.items()
        if (name in args.only if args.only else bench.by_default)
    ]
    ctx = Context(bin_dir=args.bin.absolute(), root=ROOT, runs=args.runs, profile=args.profile)
    rows: list[Row] = []
    errors = 0
    try:
        # First, so every ratio divides by a baseline taken under the same conditions.
        progress("baseline: bare interpreter start-up")
        baseline = ctx.baseline()
        rows.append(Row(ctx.baseline_label, baseline, ratio=1.0))
    except BenchmarkError as exc:
        progress(f"!!! cannot measure the baseline: {exc}")
        return 2
    for bench in selected:
        progress(f"{bench.name}: {bench.summary}")
        try:
            rows.extend(bench.run(ctx))
        except BenchmarkError as exc:
            errors += 1
            progress(f"!!! {bench.name} could not measure: {exc}")
            rows.append(Row(bench.name, value="error (see stderr)", passed=False))
    text = report(ctx, rows, [bench.name for bench in selected])
    sys.stdout.write(text)
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
    RESULTS.write_text(merged(old, text), encoding="utf-8")
    progress(f"wrote {RESULTS.relative_to(ROOT)}")
    if errors:
        return 2
    if args.strict and any(row.failed for row in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
