"""goalctl beside promptfoo and inspect_ai (opt-in: ``benchmarks/run.py --only peers``).

The same two workloads in each tool (see peer_tools.py): 100 live cases against the loopback
Messages API server at 200 ms, and 1,000 offline cases from each tool's canned provider. Each
tool runs with its default settings, except where a default would stop it from measuring the
work (promptfoo's answer cache; inspect_ai's streaming for this model, which the loopback
server does not speak, so it is given goalctl's max_tokens instead).

Rounds are interleaved (every tool runs each workload once per round, in an order rotated per
round), so a load that comes and goes on the machine falls on every tool alike; the first
round is a discarded warm-up. A peer that is not installed gives a row saying so and how to
install it. The peers are found through ``GOALCTL_BENCH_PROMPTFOO`` and
``GOALCTL_BENCH_INSPECT`` (paths to their executables), else PATH: they are never goalctl
dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness import BenchmarkError, Context, Row, Stats, bench_env, benchmark, progress
from peer_tools import (
    LATENCY_S,
    PEERS,
    WORKLOADS,
    PeerError,
    Workload,
    goalctl_passed,
    inspect_argv,
    inspect_passed,
    locate,
    promptfoo_argv,
    promptfoo_env,
    promptfoo_passed,
    side_by_side,
    write_inputs,
)

FAKE_KEY = "sk-bench-not-a-real-key"
TOKENIZER_HINT = (
    "inspect_ai's mockllm/model counts tokens with tiktoken's o200k_base encoding, which "
    "tiktoken downloads on first use; without internet access, put the file in the folder "
    "named by TIKTOKEN_CACHE_DIR under the name tiktoken gives it (the sha1 of its URL)."
)
TIMEOUT_S = 600.0
"""A run that takes longer than this is stuck, not slow."""


@dataclass
class Seen:
    """What the loopback server saw of one tool's live runs."""

    peak_in_flight: int = 0
    max_tokens: set[object] = field(default_factory=set)
    streamed: bool = False
    paths: set[str] = field(default_factory=set)


@dataclass
class Tool:
    name: str
    version: str
    run: Callable[[Workload, Path, Mapping[str, str]], None]
    """Run ``workload`` once (in the tool's folder, kept across runs, with extra environment);
    raise :class:`PeerError` if the tool did not pass every case."""
    samples: dict[str, list[float]] = field(default_factory=dict)
    seen: Seen = field(default_factory=Seen)


def _run(argv: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            cwd=cwd,
            env=dict(env),
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchmarkError(f"`{' '.join(argv)}`: {exc}") from None
    if proc.returncode != 0:
        raise BenchmarkError(
            f"`{' '.join(argv)}` exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}"
        )
    return proc


def _version(argv: list[str], cwd: Path) -> str:
    proc = _run(argv, bench_env(), cwd)
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"


def _check(tool: str, passed: int, workload: Workload) -> None:
    if passed != workload.cases:
        raise PeerError(f"{tool} passed {passed} of {workload.cases} cases: it did not do the work")


def _goalctl(ctx: Context, inputs: Mapping[str, Mapping[str, Path]]) -> Tool:
    goalctl = ctx.tool("goalctl")

    def run(workload: Workload, folder: Path, extra: Mapping[str, str]) -> None:
        scenario = inputs[workload.key]["goalctl"]
        argv = [goalctl, "--state-dir", str(folder / "goalctl-state"), "run", "--json"]
        proc = _run([*argv, str(scenario)], bench_env(extra), folder)
        _check("goalctl", goalctl_passed(proc.stdout), workload)

    version = _version([goalctl, "--version"], ctx.root).removeprefix("goalctl ")
    return Tool("goalctl", version, run)


def _promptfoo(path: Path, inputs: Mapping[str, Mapping[str, Path]], root: Path) -> Tool:
    def run(workload: Workload, folder: Path, extra: Mapping[str, str]) -> None:
        output = folder / f"promptfoo-{workload.key}.json"
        output.unlink(missing_ok=True)
        env = bench_env({**promptfoo_env(folder / "promptfoo-home"), **extra})
        _run(promptfoo_argv(path, inputs[workload.key]["promptfoo"], output), env, folder)
        _check("promptfoo", promptfoo_passed(output), workload)

    node = shutil.which("node")
    version = _version([str(path), "--version"], root)
    if node:
        version += f" (Node.js {_version([node, '--version'], root).lstrip('v')})"
    return Tool("promptfoo", version, run)


def _inspect(path: Path, inputs: Mapping[str, Mapping[str, Path]], root: Path) -> Tool:
    def run(workload: Workload, folder: Path, extra: Mapping[str, str]) -> None:
        # Its logs in its folder, like goalctl's state dir (its own default: ./logs).
        env = bench_env({"INSPECT_LOG_DIR": str(folder / "inspect-logs"), **extra})
        task = inputs[workload.key]["inspect_ai"]
        try:
            proc = _run(inspect_argv(path, task, workload), env, task.parent)
        except BenchmarkError as exc:
            if "o200k_base" in str(exc):
                raise BenchmarkError(f"{exc}\n{TOKENIZER_HINT}") from None
            raise
        _check("inspect_ai", inspect_passed(proc.stdout + proc.stderr), workload)

    return Tool("inspect_ai", _version([str(path), "--version"], root), run)


def _once(ctx: Context, tool: Tool, workload: Workload, folder: Path) -> float:
    """One timed run; a live one against a fresh loopback server (its own peak concurrency)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not workload.live:
        started = time.perf_counter()
        tool.run(workload, folder, {})
        return time.perf_counter() - started
    if str(ctx.root) not in sys.path:
        sys.path.insert(0, str(ctx.root))
    from tests.support.messages_server import MessagesServer

    with MessagesServer(latency=LATENCY_S) as server:
        extra = {"ANTHROPIC_API_KEY": FAKE_KEY, "ANTHROPIC_BASE_URL": server.url}
        started = time.perf_counter()
        tool.run(workload, folder, extra)
        elapsed = time.perf_counter() - started
        seen = tool.seen
        seen.peak_in_flight = max(seen.peak_in_flight, server.max_in_flight)
        for request in server.requests:
            seen.paths.add(request.path)
            if isinstance(request.body, dict):
                seen.max_tokens.add(request.body.get("max_tokens"))
                seen.streamed = seen.streamed or bool(request.body.get("stream"))
    return elapsed


@benchmark("peers", by_default=False)
def peers(ctx: Context) -> list[Row]:
    """goalctl, promptfoo and inspect_ai side by side: 100 live and 1,000 offline cases."""
    workdir = Path(tempfile.mkdtemp(prefix="goalctl-bench-peers-"))
    try:
        inputs = {w.key: write_inputs(workdir / "inputs", w) for w in WORKLOADS}
        tools = [_goalctl(ctx, inputs)]
        missing: dict[str, str] = {}
        makers = {"promptfoo": _promptfoo, "inspect_ai": _inspect}
        for peer in PEERS:
            try:
                path = locate(peer, os.environ)
            except PeerError as exc:
                raise BenchmarkError(str(exc)) from None
            if path is None:
                missing[peer.name] = peer.install_hint
                progress(f"  {peer.name}: not installed ({missing[peer.name]})")
                continue
            tools.append(makers[peer.name](path, inputs, ctx.root))
        load = os.getloadavg()
        _rounds(ctx, tools, workdir)
        return _report(ctx, tools, missing, load)
    except PeerError as exc:
        raise BenchmarkError(str(exc)) from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _rounds(ctx: Context, tools: list[Tool], workdir: Path) -> None:
    rounds = 1 + ctx.runs
    for index in range(rounds):
        label = "warm-up round" if index == 0 else f"round {index} of {ctx.runs}"
        progress(f"  {label}")
        # Rotated each round: no tool always runs right after another's heavy teardown.
        order = tools[index % len(tools) :] + tools[: index % len(tools)]
        for workload in WORKLOADS:
            for tool in order:
                # One folder per tool kept across rounds, as a user's would be: goalctl's state
                # dir, promptfoo's database, inspect_ai's logs.
                elapsed = _once(ctx, tool, workload, workdir / tool.name)
                progress(f"    {tool.name}, {workload.title}: {elapsed:.2f} s")
                if index > 0:
                    tool.samples.setdefault(workload.key, []).append(elapsed)


def _report(
    ctx: Context,
    tools: list[Tool],
    missing: Mapping[str, str],
    load_before: tuple[float, float, float],
) -> list[Row]:
    stats = {t.name: {key: Stats.of(s) for key, s in t.samples.items()} for t in tools}
    medians = {name: {key: s.median for key, s in by.items()} for name, by in stats.items()}
    names = [t.name for t in tools] + list(missing)
    rows: list[Row] = []
    for workload in WORKLOADS:
        base = stats["goalctl"][workload.key]
        for name in names:
            if name in missing:
                rows.append(Row(f"{name}: {workload.title}", value="not installed"))
                continue
            own = stats[name][workload.key]
            rows.append(Row(f"{name}: {workload.title}", own))
            if name != "goalctl":
                ratio = own.median / base.median
                rows.append(Row(f"{name} ÷ goalctl: {workload.title}", value=f"{ratio:.2f}×"))
    before, after = (", ".join(f"{x:.2f}" for x in load) for load in (load_before, os.getloadavg()))
    versions = "; ".join(f"{t.name} {t.version}" for t in tools)
    seen = "; ".join(
        f"{t.name}: {t.seen.peak_in_flight} in flight at most, max_tokens "
        f"{', '.join(str(m) for m in sorted(t.seen.max_tokens, key=str))}"
        f"{', streamed' if t.seen.streamed else ''}, paths {', '.join(sorted(t.seen.paths))}"
        for t in tools
    )
    ctx.add_details(
        "peers",
        side_by_side(medians, names, missing)
        + "\n\n"
        + f"Medians of {ctx.runs} interleaved rounds after a warm-up round; versions: "
        f"{versions}. Load average (1, 5, 15 min) before: {before}; after: {after}. "
        f"What the loopback server saw of the live runs: {seen}. " + _spread(stats),
    )
    return rows


def _spread(stats: Mapping[str, Mapping[str, Stats]]) -> str:
    parts = [
        f"{name} {key} {s.min:.2f}-{s.max:.2f} s"
        for name, by in stats.items()
        for key, s in by.items()
    ]
    return "Ranges (min-max): " + "; ".join(parts) + "."
