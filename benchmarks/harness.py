"""Timing, statistics, budgets and the Markdown report shared by every benchmark.

A benchmark is one function that takes a :class:`Context` and returns :class:`Row`\\ s; the
:func:`benchmark` decorator registers it under a name (``--only NAME``). Process-level timings
are wall-clock medians of whole subprocess runs after one discarded warm-up run, because the
machines this runs on are small and noisy and what users feel is the whole process.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

DEFAULT_RUNS = 7
"""Timed runs per process-level measurement (after one discarded warm-up run)."""

# Variables that would change what is measured: no .pyc files, import tracing, CI output.
_UNSET_ENV = (
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONSTARTUP",
    "GITHUB_ACTIONS",
)


class BenchmarkError(Exception):
    """A benchmark could not measure (a command failed, a corpus is invalid)."""


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of repeated timings, in seconds."""

    median: float
    min: float
    max: float
    runs: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise ValueError("no samples")
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))

    def scaled(self, factor: float) -> Stats:
        """The same timings times ``factor`` (e.g. per file: ``1 / files``)."""
        return Stats(self.median * factor, self.min * factor, self.max * factor, self.runs)


@dataclass(frozen=True, slots=True)
class Budget:
    """An upper limit on the median, from DESIGN §9."""

    limit: float
    """Seconds."""
    unit: str = ""
    """Appended to the limit in the report, e.g. ``/file``."""

    def allows(self, value: float) -> bool:
        return value <= self.limit

    def __str__(self) -> str:
        return f"≤ {format_seconds(self.limit)}{self.unit}"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the report: a timing with its budget, or a pass/fail check."""

    name: str
    stats: Stats | None = None
    budget: Budget | None = None
    ratio: float | None = None
    """Median divided by the baseline's median (see :attr:`Context.baseline_label`)."""
    value: str = ""
    """Shown instead of timings for a check that is not a timing."""
    passed: bool | None = None
    """For a check; timings pass or fail by their budget."""
    unit: str = ""
    """Appended to the timings, e.g. ``/file``."""
    floor: Stats | None = None
    """What the measurement cannot beat (DESIGN §15); the ratio is then median ÷ floor."""

    @property
    def verdict(self) -> str:
        ok = self.passed
        if ok is None and self.budget is not None and self.stats is not None:
            ok = self.budget.allows(self.stats.median)
        if ok is None:
            return "—"
        return "PASS" if ok else "**FAIL**"

    @property
    def failed(self) -> bool:
        return self.verdict == "**FAIL**"


@dataclass
class Context:
    """What a benchmark needs: where the tools are, how many runs, shared measurements."""

    bin_dir: Path
    root: Path
    runs: int = DEFAULT_RUNS
    profile: bool = False
    details: list[str] = field(default_factory=list)
    """Markdown sections printed (and saved) after the table."""
    _measured: dict[str, Stats] = field(default_factory=dict)

    baseline_label: ClassVar[str] = "python -c pass"

    @property
    def python(self) -> str:
        return str(self.bin_dir / "python")

    def tool(self, name: str) -> str:
        """A console script of the virtualenv, e.g. ``goalctl``."""
        path = self.bin_dir / name
        if not path.exists():
            raise BenchmarkError(f"{path} does not exist; run `make test` to build the venv")
        return str(path)

    def measure(self, label: str, argv: Sequence[str], *, warmup: int = 1) -> Stats:
        """Median of ``runs`` timed runs of ``argv``; measured once per label and reused."""
        found = self._measured.get(label)
        if found is None:
            progress(f"  timing {label} ({warmup} warm-up + {self.runs} runs)")
            samples = time_command(argv, runs=self.runs, warmup=warmup, cwd=self.root)
            found = self._measured[label] = Stats.of(samples)
        return found

    def baseline(self) -> Stats:
        """Interpreter start-up alone: the yardstick that makes ratios comparable."""
        return self.measure(self.baseline_label, [self.python, "-c", "pass"])

    def ratio(self, stats: Stats) -> float:
        return stats.median / self.baseline().median

    def timed_row(self, label: str, argv: Sequence[str], budget: Budget | None = None) -> Row:
        """Measure ``argv`` and report it against the baseline and ``budget``."""
        stats = self.measure(label, argv)
        return Row(label, stats, budget, ratio=self.ratio(stats))

    def add_details(self, title: str, body: str) -> None:
        self.details.append(f"### {title}\n\n{body.rstrip()}\n")


BenchmarkFn = Callable[[Context], list[Row]]


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    summary: str
    run: BenchmarkFn
    by_default: bool = True
    """False for a benchmark that takes minutes: it runs only when named with ``--only``."""


REGISTRY: dict[str, Benchmark] = {}
"""Benchmarks by name, in registration order (the order they run and are reported)."""


def benchmark(name: str, *, by_default: bool = True) -> Callable[[BenchmarkFn], BenchmarkFn]:
    """Register a benchmark under ``name``; its docstring's first line is its summary."""

    def register(func: BenchmarkFn) -> BenchmarkFn:
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} is registered twice")
        summary = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""
        REGISTRY[name] = Benchmark(name, summary, func, by_default)
        return func

    return register


def bench_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of measured processes: the caller's, minus what skews timings."""
    env = {key: value for key, value in os.environ.items() if key not in _UNSET_ENV}
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def run_command(
    argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` once, capturing output; a non-zero exit is a :class:`BenchmarkError`."""
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            cwd=cwd,
            env=dict(env) if env is not None else bench_env(),
            check=False,
        )
    except OSError as exc:
        raise BenchmarkError(f"cannot run `{' '.join(argv)}`: {exc}") from None
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).rstrip()
        raise BenchmarkError(
            f"`{' '.join(argv)}` exited with status {proc.returncode}:\n{_tail(output)}"
        )
    return proc


def time_command(
    argv: Sequence[str], *, runs: int, warmup: int = 1, cwd: Path | None = None
) -> list[float]:
    """Wall-clock seconds of ``runs`` whole runs of ``argv``, after ``warmup`` discarded runs.

    The warm-up fills the OS file cache and writes .pyc files, so every timed run starts warm.
    """
    env = bench_env()
    samples: list[float] = []
    for index in range(warmup + runs):
        start = time.perf_counter()
        run_command(argv, cwd=cwd, env=env)
        elapsed = time.perf_counter() - start
        if index >= warmup:
            samples.append(elapsed)
    return samples


def _tail(text: str, lines: int = 60) -> str:
    kept = text.splitlines()
    if len(kept) <= lines:
        return text
    return "\n".join([f"… ({len(kept) - lines} lines above)", *kept[-lines:]])


def format_seconds(seconds: float) -> str:
    """``1.234 s``, ``87.6 ms`` or ``1.234 ms``: three significant-ish digits."""
    if seconds >= 1:
        return f"{seconds:.3f} s"
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms >= 10 else f"{ms:.3f} ms"


def markdown_table(rows: Sequence[Row], baseline_label: str) -> str:
    """The report table; ratios are medians divided by the baseline's median."""
    header = (
        "| Benchmark | Median | Min | Max | Floor | Ratio | Budget | Result |",
        "|---|--:|--:|--:|--:|--:|---|---|",
    )
    lines = list(header)
    for row in rows:
        if row.stats is not None:
            median, low, high = (
                format_seconds(value) + row.unit
                for value in (row.stats.median, row.stats.min, row.stats.max)
            )
        else:
            median, low, high = row.value, "", ""
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else ""
        floor = format_seconds(row.floor.median) if row.floor is not None else ""
        budget = str(row.budget) if row.budget is not None else ""
        lines.append(
            f"| {row.name} | {median} | {low} | {high} | {floor} | {ratio} | {budget} "
            f"| {row.verdict} |"
        )
    lines.append("")
    lines.append(
        f"Ratio = median ÷ floor where a floor is shown (DESIGN §15), else median ÷ median of "
        f"`{baseline_label}` on the same interpreter."
    )
    return "\n".join(lines)


def progress(message: str) -> None:
    """Progress goes to stderr so that stdout is the report alone."""
    print(message, file=sys.stderr, flush=True)
