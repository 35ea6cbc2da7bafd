"""``startup``: how long ``goalctl --version`` takes, and which modules it imports (DESIGN §9)."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from harness import Budget, Context, Row, benchmark, progress, run_command

STARTUP_BUDGET = Budget(0.100)
"""DESIGN §9: ``goalctl --version`` in at most 100 ms."""

LAZY_PACKAGES = ("anthropic", "jsonschema", "httpx", "rich", "pydantic", "plotly")
"""Heavy packages ``--version`` must not import; commands import them when they need them."""

TOP_IMPORTS = 10

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


@dataclass(frozen=True, slots=True)
class ImportTime:
    """One module's import time, in microseconds (medians over several runs)."""

    module: str
    self_us: float
    cumulative_us: float
    depth: int


def parse_importtime(stderr: str) -> list[ImportTime]:
    """The ``-X importtime`` lines of ``stderr``, in the order Python printed them."""
    found = []
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match is not None:
            self_us, cumulative_us, indent, module = match.groups()
            depth = max(len(indent) - 1, 0) // 2
            found.append(ImportTime(module, float(self_us), float(cumulative_us), depth))
    return found


def importtime_medians(ctx: Context, argv: list[str], runs: int) -> list[ImportTime]:
    """Per-module medians over ``runs`` runs with ``-X importtime`` (one warm-up first)."""
    samples: dict[str, list[ImportTime]] = {}
    for index in range(runs + 1):
        result = run_command(argv, cwd=ctx.root)
        if index == 0:
            continue
        for item in parse_importtime(result.stderr):
            samples.setdefault(item.module, []).append(item)
    return [
        ImportTime(
            module,
            statistics.median(i.self_us for i in items),
            statistics.median(i.cumulative_us for i in items),
            items[0].depth,
        )
        for module, items in samples.items()
    ]


def lazy_violations(modules: list[ImportTime]) -> list[str]:
    """Imported modules that belong to a package of :data:`LAZY_PACKAGES`."""
    return sorted(
        item.module
        for item in modules
        if any(item.module == pkg or item.module.startswith(pkg + ".") for pkg in LAZY_PACKAGES)
    )


def import_table(modules: list[ImportTime], limit: int) -> str:
    ranked = sorted(modules, key=lambda item: item.cumulative_us, reverse=True)[:limit]
    lines = ["| Module | Cumulative | Self | Depth |", "|---|--:|--:|--:|"]
    for item in ranked:
        lines.append(
            f"| `{item.module}` | {item.cumulative_us / 1000:.1f} ms "
            f"| {item.self_us / 1000:.1f} ms | {item.depth} |"
        )
    return "\n".join(lines)


@benchmark("startup")
def startup(ctx: Context) -> list[Row]:
    """``goalctl --version`` (module and console script) against bare interpreter start-up."""
    python = ctx.python
    rows = [
        ctx.timed_row('python -c "import click"', [python, "-c", "import click"]),
        ctx.timed_row(
            "python -m goalctl --version", [python, "-m", "goalctl", "--version"], STARTUP_BUDGET
        ),
        ctx.timed_row(
            "goalctl --version (console script)", [ctx.tool("goalctl"), "--version"], STARTUP_BUDGET
        ),
    ]

    runs = min(ctx.runs, 5)
    progress(f"  tracing imports of python -m goalctl --version ({runs} runs)")
    modules = importtime_medians(
        ctx, [python, "-X", "importtime", "-m", "goalctl", "--version"], runs
    )
    heavy = lazy_violations(modules)
    total_ms = sum(item.self_us for item in modules) / 1000
    ctx.add_details(
        f"Top {TOP_IMPORTS} imports of `python -m goalctl --version` by cumulative time",
        f"Medians of {runs} runs of `python -X importtime` (tracing adds overhead; compare "
        f"runs, not absolutes). {len(modules)} modules, {total_ms:.1f} ms of imports in "
        f"total.\n\n{import_table(modules, TOP_IMPORTS)}",
    )
    if heavy:
        message = (
            f"!!! FAIL: `goalctl --version` imports packages that must stay lazy: "
            f"{', '.join(heavy)}"
        )
        progress(message)
        ctx.add_details("Lazy imports violated", message)
    rows.append(
        Row(
            "--version imports none of " + ", ".join(LAZY_PACKAGES),
            value="none imported" if not heavy else f"{len(heavy)} imported",
            passed=not heavy,
        )
    )
    return rows
