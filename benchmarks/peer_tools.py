"""The side-by-side workloads of ``--only peers`` as data: what each tool is given and how its
result is read back. No subprocesses here (bench_peers.py runs them), so the tests check it all.

Every tool runs the same cases: the prompt ``Repeat this number: N`` and one check, "the
output contains a word". Live, the loopback Messages API server echoes the prompt, so every
tool looks for ``number``. Offline, each tool's own canned provider answers: goalctl's
``scripted`` provider (``the number is 42``) and promptfoo's ``echo`` (the prompt) contain
``number``; inspect_ai's ``mockllm/model`` always answers ``Default output from mockllm/model``,
so its check looks for ``output``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL = "claude-sonnet-4-5"
MAX_TOKENS = 1024
"""What goalctl sends by default. inspect_ai is given it too: with its own default for this
model (32,000) it streams, which the loopback server does not speak (and goalctl never does)."""
PROMPT = "Repeat this number: {n}"
LATENCY_S = 0.2
"""The loopback server's answer time in the live workload."""


@dataclass(frozen=True, slots=True)
class Workload:
    key: str
    title: str
    cases: int
    live: bool


LIVE = Workload("live", "100 live cases (200 ms)", 100, live=True)
OFFLINE = Workload("offline", "1,000 offline cases", 1000, live=False)
WORKLOADS = (LIVE, OFFLINE)

MOCKLLM_REPLY = "Default output from mockllm/model"


def expected_word(tool: str, workload: Workload) -> str:
    """The word each tool's check looks for: one its provider's reply contains."""
    if tool == "inspect_ai" and not workload.live:
        return "output"  # in MOCKLLM_REPLY; the prompt's "number" is not
    return "number"


@dataclass(frozen=True, slots=True)
class Peer:
    """A tool compared with goalctl, found through an environment variable or PATH."""

    name: str
    command: str
    env_var: str
    install: str
    """A shell command that installs it outside goalctl's virtualenv..."""
    installed: str
    """...and where that puts the executable."""

    @property
    def install_hint(self) -> str:
        return (
            f"`{self.install}`, then `{self.env_var}={self.installed}` "
            f"(or `{self.command}` on PATH)"
        )


PROMPTFOO = Peer(
    "promptfoo",
    "promptfoo",
    "GOALCTL_BENCH_PROMPTFOO",
    "npm install --prefix ~/peers/promptfoo promptfoo",
    "~/peers/promptfoo/node_modules/.bin/promptfoo",
)
INSPECT = Peer(
    "inspect_ai",
    "inspect",
    "GOALCTL_BENCH_INSPECT",
    "python3 -m venv ~/peers/inspect && ~/peers/inspect/bin/pip install inspect_ai anthropic",
    "~/peers/inspect/bin/inspect",
)
PEERS = (PROMPTFOO, INSPECT)


class PeerError(Exception):
    """A peer is misconfigured or did not do the work it was given."""


def locate(peer: Peer, env: Mapping[str, str]) -> Path | None:
    """The executable: ``env[peer.env_var]`` if set (it must be one), else PATH, else None."""
    given = env.get(peer.env_var, "").strip()
    if given:
        path = Path(given).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise PeerError(f"{peer.env_var}={given} is not an executable file")
        return path.absolute()
    found = shutil.which(peer.command, path=env.get("PATH", os.defpath))
    return Path(found) if found else None


# --- what each tool is given -------------------------------------------------------------


def goalctl_scenario(workload: Workload) -> str:
    """One scenario with one criterion: the output contains ``number``."""
    rows = ", ".join(f"{{name: c{i}, input: {{n: {i}}}}}" for i in range(workload.cases))
    lines = [
        "id: peers",
        "name: Peers",
        "description: Repeat the number.",
        "provider: anthropic" if workload.live else "provider: scripted",
        f"model: {MODEL}",
        "success_criteria:",
        f"  - {{id: says, description: Mentions the word, metric: output_contains, "
        f"target: {expected_word('goalctl', workload)}}}",
        f"cases: [{rows}]",
        "prompt: '" + PROMPT.format(n="{{ input.n }}") + "'",
    ]
    if not workload.live:
        lines.append("responses: ['the number is 42']")
    return "\n".join(lines) + "\n"


def promptfoo_config(workload: Workload) -> dict[str, Any]:
    """A promptfooconfig: one prompt, one provider, a ``contains`` assertion per test."""
    provider = f"anthropic:messages:{MODEL}" if workload.live else "echo"
    word = expected_word("promptfoo", workload)
    return {
        "description": f"goalctl peers: {workload.title}",
        "prompts": [PROMPT.format(n="{{n}}")],
        "providers": [provider],
        "tests": [
            {"vars": {"n": i}, "assert": [{"type": "contains", "value": word}]}
            for i in range(workload.cases)
        ],
    }


def inspect_samples(workload: Workload) -> list[dict[str, str]]:
    """The rows of inspect_ai's JSONL dataset (``json_dataset`` reads input and target)."""
    word = expected_word("inspect_ai", workload)
    return [{"input": PROMPT.format(n=i), "target": word} for i in range(workload.cases)]


def inspect_task(dataset: Path) -> str:
    """An inspect_ai task file: generate once per sample, score with ``includes()``."""
    return (
        "from inspect_ai import Task, task\n"
        "from inspect_ai.dataset import json_dataset\n"
        "from inspect_ai.scorer import includes\n"
        "from inspect_ai.solver import generate\n"
        "\n"
        "\n"
        "@task\n"
        "def peers() -> Task:\n"
        f"    return Task(dataset=json_dataset({str(dataset)!r}), solver=generate(),"
        " scorer=includes())\n"
    )


def write_inputs(workdir: Path, workload: Workload) -> dict[str, Path]:
    """Write every tool's input for ``workload`` under ``workdir``; paths by tool."""
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / f"goalctl-{workload.key}.yaml"
    scenario.write_text(goalctl_scenario(workload), encoding="utf-8")
    # JSON is YAML: promptfoo reads it as its usual promptfooconfig.yaml.
    config = workdir / f"promptfoo-{workload.key}.yaml"
    config.write_text(json.dumps(promptfoo_config(workload)), encoding="utf-8")
    dataset = workdir / f"inspect-{workload.key}.jsonl"
    dataset.write_text(
        "".join(json.dumps(row) + "\n" for row in inspect_samples(workload)), encoding="utf-8"
    )
    task = workdir / f"inspect_{workload.key}.py"
    task.write_text(inspect_task(dataset), encoding="utf-8")
    return {"goalctl": scenario, "promptfoo": config, "inspect_ai": task}


def inspect_argv(inspect: Path, task: Path, workload: Workload) -> list[str]:
    if workload.live:
        model = ["--model", f"anthropic/{MODEL}", "--max-tokens", str(MAX_TOKENS)]
    else:
        model = ["--model", "mockllm/model"]
    # A task file by its name, run in its folder: inspect_ai takes a path as a glob pattern,
    # and pathlib globs only relative ones.
    return [str(inspect), "eval", task.name, *model]


def promptfoo_argv(promptfoo: Path, config: Path, output: Path) -> list[str]:
    # --no-cache: promptfoo caches provider answers by default, so every run after the first
    # would read its answers from disk instead of asking the provider.
    return [str(promptfoo), "eval", "-c", str(config), "--no-cache", "-o", str(output)]


def promptfoo_env(config_dir: Path) -> dict[str, str]:
    """Keep promptfoo's database in the benchmark's folder and its phoning home off."""
    return {
        "PROMPTFOO_CONFIG_DIR": str(config_dir),
        "PROMPTFOO_DISABLE_TELEMETRY": "1",
        "PROMPTFOO_DISABLE_UPDATE": "1",
    }


# --- reading the results back ------------------------------------------------------------


def goalctl_passed(stdout: str) -> int:
    """Cases passed, from ``goalctl run --json``."""
    try:
        data = json.loads(stdout)
        return sum(int(run["totals"]["cases_passed"]) for run in data["runs"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PeerError(f"goalctl printed no run summary: {exc}") from None


def promptfoo_passed(output: Path) -> int:
    """Tests passed, from promptfoo's ``-o results.json``."""
    try:
        data = json.loads(output.read_text(encoding="utf-8"))
        return int(data["results"]["stats"]["successes"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PeerError(f"promptfoo wrote no results to {output}: {exc}") from None


_SAMPLES = re.compile(r"\(([\d,]+) samples?\)")
_ACCURACY = re.compile(r"^\s*accuracy\s+([01]\.\d+)\s*$", re.MULTILINE)


def inspect_passed(stdout: str) -> int:
    """Samples scored correct, from ``inspect eval``'s summary (its .eval log is zstd-packed,
    which Python 3.11's zipfile cannot read)."""
    samples = _SAMPLES.search(stdout)
    accuracy = _ACCURACY.search(stdout)
    if "Task interrupted" in stdout or samples is None or accuracy is None:
        raise PeerError("inspect eval printed no accuracy: the task did not finish")
    return round(int(samples.group(1).replace(",", "")) * float(accuracy.group(1)))


# --- the table ---------------------------------------------------------------------------


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def side_by_side(
    medians: Mapping[str, Mapping[str, float]],
    tools: Sequence[str],
    missing: Mapping[str, str],
) -> str:
    """Markdown: a row per tool, its median per workload and its ratio to goalctl's.

    ``medians[tool][workload.key]`` in seconds; ``missing[tool]`` says how to install a tool
    that was not found (its row says so instead of giving figures).
    """
    head = ["Tool", *(w.title for w in WORKLOADS), *(f"÷ goalctl, {w.key}" for w in WORKLOADS)]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "--:|" * (2 * len(WORKLOADS))]
    base = medians["goalctl"]
    for tool in tools:
        if tool in missing:
            cells = [f"not installed: {missing[tool]}", *([""] * (2 * len(WORKLOADS) - 1))]
        else:
            own = medians[tool]
            cells = [_seconds(own[w.key]) for w in WORKLOADS]
            cells += [f"{own[w.key] / base[w.key]:.2f}×" for w in WORKLOADS]
        lines.append("| " + " | ".join([tool, *cells]) + " |")
    return "\n".join(lines)
