"""``benchmarks/run.py --only peers``: what each tool is given and how its results are read.

promptfoo and inspect_ai are not goalctl dependencies, so their inputs are checked as data
(every check passes on the reply its provider gives) and their outputs through samples of what
they print and write; goalctl's scenarios are run for real.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import run_cli
from tests.support.messages_server import MessagesServer, RecordedRequest, echo

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_peers  # noqa: E402
import peer_tools  # noqa: E402
from harness import Context  # noqa: E402
from peer_tools import INSPECT, LIVE, OFFLINE, PROMPTFOO, PeerError  # noqa: E402

INSPECT_STDOUT = """\
Monitor from another shell: inspect ctl task list   (inspect ctl --help)
╭──────────────────────────────────────────────────────────────────────────────╮
│peers (1,000 samples): mockllm/model                                          │
╰──────────────────────────────────────────────────────────────────────────────╯
log_buffer: 50, dataset: (samples)

total time:            0:00:17
mockllm/model          39,000 tokens [I: 6,000, O: 33,000]

includes
accuracy  1.000
stderr    0.000

Log: logs/2026-11-26T01-36-41-00-00_peers_EDHC8kPb9t3xdEtNjy5ptL.eval
"""


def server_reply(prompt: str) -> str:
    """What the loopback Messages API server answers to ``prompt`` (the live workload)."""
    plan = echo(
        RecordedRequest(
            "POST", "/v1/messages", {}, {"messages": [{"role": "user", "content": prompt}]}
        )
    )
    text = getattr(plan, "text", None)
    assert isinstance(text, str)
    return text


def test_goalctl_runs_the_offline_workload_and_passes_every_case(tmp_path: Path) -> None:
    scenario = tmp_path / "offline.yaml"
    scenario.write_text(peer_tools.goalctl_scenario(OFFLINE))
    result = run_cli("--state-dir", str(tmp_path / "state"), "run", "--json", str(scenario))
    assert result.exit_code == 0, result.stderr
    assert peer_tools.goalctl_passed(result.stdout) == 1000


# The model every tool is given, goalctl's default, is one the SDK warns is deprecated.
@pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated:DeprecationWarning")
def test_goalctl_runs_the_live_workload_against_the_loopback_server(tmp_path: Path) -> None:
    scenario = tmp_path / "live.yaml"
    scenario.write_text(peer_tools.goalctl_scenario(LIVE))
    with MessagesServer() as server:
        env: dict[str, str | None] = {
            "ANTHROPIC_API_KEY": "sk-test",
            "ANTHROPIC_BASE_URL": server.url,
        }
        result = run_cli(
            "--state-dir", str(tmp_path / "state"), "run", "--json", str(scenario), env=env
        )
        bodies = [request.body for request in server.requests]
    assert result.exit_code == 0, result.stderr
    assert peer_tools.goalctl_passed(result.stdout) == 100
    assert {body["max_tokens"] for body in bodies} == {peer_tools.MAX_TOKENS}
    assert sorted(body["messages"][-1]["content"] for body in bodies) == sorted(
        f"Repeat this number: {n}" for n in range(100)
    )


@pytest.mark.parametrize("workload", [LIVE, OFFLINE], ids=lambda w: w.key)
def test_promptfoo_config_has_one_test_per_case_whose_check_passes(
    workload: peer_tools.Workload,
) -> None:
    config = peer_tools.promptfoo_config(workload)
    assert config["providers"] == (
        ["anthropic:messages:claude-sonnet-4-5"] if workload.live else ["echo"]
    )
    (prompt,) = config["prompts"]
    assert prompt == "Repeat this number: {{n}}"
    assert [test["vars"] for test in config["tests"]] == [{"n": n} for n in range(workload.cases)]
    for test in config["tests"]:
        rendered = prompt.replace("{{n}}", str(test["vars"]["n"]))
        # echo answers with the prompt; the loopback server with "echo: " and the prompt.
        reply = server_reply(rendered) if workload.live else rendered
        (check,) = test["assert"]
        assert check["type"] == "contains"
        assert check["value"] in reply


@pytest.mark.parametrize("workload", [LIVE, OFFLINE], ids=lambda w: w.key)
def test_inspect_samples_are_scored_correct_on_their_provider_reply(
    workload: peer_tools.Workload,
) -> None:
    samples = peer_tools.inspect_samples(workload)
    assert [s["input"] for s in samples] == [
        f"Repeat this number: {n}" for n in range(workload.cases)
    ]
    for sample in samples:
        reply = server_reply(sample["input"]) if workload.live else peer_tools.MOCKLLM_REPLY
        assert sample["target"] in reply  # includes() scores it C


def test_the_offline_checks_of_goalctl_and_inspect_look_for_words_of_their_own_replies() -> None:
    assert "target: number" in peer_tools.goalctl_scenario(OFFLINE)
    assert "responses: ['the number is 42']" in peer_tools.goalctl_scenario(OFFLINE)
    assert "number" not in peer_tools.MOCKLLM_REPLY
    assert peer_tools.expected_word("inspect_ai", OFFLINE) == "output"


def fake_inspect_ai(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stand-ins for the parts of inspect_ai a task file imports; they record the task."""
    built: dict[str, Any] = {}
    modules = {
        "inspect_ai": {"Task": lambda **kw: built.update(kw) or kw, "task": lambda f: f},
        "inspect_ai.dataset": {"json_dataset": lambda path: ("json_dataset", path)},
        "inspect_ai.scorer": {"includes": lambda: "includes"},
        "inspect_ai.solver": {"generate": lambda: "generate"},
    }
    for name, attrs in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, module)
    return built


def test_written_inputs_are_what_each_tool_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = peer_tools.write_inputs(tmp_path, OFFLINE)
    assert set(paths) == {"goalctl", "promptfoo", "inspect_ai"}
    # promptfoo reads YAML; JSON is YAML.
    assert YAML(typ="safe").load(paths["promptfoo"].read_text()) == peer_tools.promptfoo_config(
        OFFLINE
    )
    # The task file builds a Task over the JSONL dataset written beside it.
    built = fake_inspect_ai(monkeypatch)
    namespace: dict[str, Any] = {}
    exec(compile(paths["inspect_ai"].read_text(), str(paths["inspect_ai"]), "exec"), namespace)
    namespace["peers"]()
    kind, dataset = built["dataset"]
    assert (kind, built["solver"], built["scorer"]) == ("json_dataset", "generate", "includes")
    rows = [json.loads(line) for line in Path(dataset).read_text().splitlines()]
    assert rows == peer_tools.inspect_samples(OFFLINE)


def test_inspect_is_given_goalctls_max_tokens_live_and_mockllm_offline(tmp_path: Path) -> None:
    task = tmp_path / "inspect_live.py"
    live = peer_tools.inspect_argv(Path("/p/inspect"), task, LIVE)
    assert live == [
        "/p/inspect",
        "eval",
        "inspect_live.py",
        "--model",
        "anthropic/claude-sonnet-4-5",
        "--max-tokens",
        "1024",
    ]
    assert peer_tools.inspect_argv(Path("/p/inspect"), task, OFFLINE)[3:] == [
        "--model",
        "mockllm/model",
    ]


def test_promptfoo_runs_uncached_with_results_in_a_file(tmp_path: Path) -> None:
    argv = peer_tools.promptfoo_argv(Path("/p/promptfoo"), tmp_path / "c.yaml", tmp_path / "o.json")
    assert argv == [
        "/p/promptfoo",
        "eval",
        "-c",
        str(tmp_path / "c.yaml"),
        "--no-cache",
        "-o",
        str(tmp_path / "o.json"),
    ]
    env = peer_tools.promptfoo_env(tmp_path / "home")
    assert env["PROMPTFOO_CONFIG_DIR"] == str(tmp_path / "home")
    assert env["PROMPTFOO_DISABLE_TELEMETRY"] == env["PROMPTFOO_DISABLE_UPDATE"] == "1"


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_peer_is_found_through_its_variable_then_path(tmp_path: Path) -> None:
    given = executable(tmp_path / "elsewhere" / "pf")
    on_path = executable(tmp_path / "bin" / "promptfoo")
    assert (
        peer_tools.locate(
            PROMPTFOO, {"GOALCTL_BENCH_PROMPTFOO": str(given), "PATH": str(on_path.parent)}
        )
        == given
    )
    assert peer_tools.locate(PROMPTFOO, {"PATH": str(on_path.parent)}) == on_path
    assert (
        peer_tools.locate(PROMPTFOO, {"GOALCTL_BENCH_PROMPTFOO": "  ", "PATH": str(on_path.parent)})
        == on_path
    )
    assert peer_tools.locate(INSPECT, {"PATH": str(on_path.parent)}) is None


def test_a_missing_peer_is_explained_by_how_to_install_it() -> None:
    assert PROMPTFOO.install_hint == (
        "`npm install --prefix ~/peers/promptfoo promptfoo`, then "
        "`GOALCTL_BENCH_PROMPTFOO=~/peers/promptfoo/node_modules/.bin/promptfoo` (or `promptfoo` on PATH)"
    )
    assert INSPECT.install_hint.startswith(
        "`python3 -m venv ~/peers/inspect && ~/peers/inspect/bin/pip install inspect_ai anthropic`, then `GOALCTL_BENCH_INSPECT=~/peers/inspect/bin/inspect`"
    )


def test_a_variable_naming_no_executable_is_an_error(tmp_path: Path) -> None:
    plain = tmp_path / "inspect"
    plain.write_text("")
    for value in (str(plain), str(tmp_path / "missing"), str(tmp_path)):
        with pytest.raises(PeerError, match=r"GOALCTL_BENCH_INSPECT=.* is not an executable file"):
            peer_tools.locate(INSPECT, {"GOALCTL_BENCH_INSPECT": value, "PATH": os.defpath})


def test_results_are_read_back_from_each_tool(tmp_path: Path) -> None:
    summary = {"runs": [{"totals": {"cases_passed": 7}}, {"totals": {"cases_passed": 3}}]}
    assert peer_tools.goalctl_passed(json.dumps(summary)) == 10
    with pytest.raises(PeerError, match="goalctl printed no run summary"):
        peer_tools.goalctl_passed("Traceback")
    output = tmp_path / "o.json"
    output.write_text(json.dumps({"results": {"stats": {"successes": 99, "failures": 1}}}))
    assert peer_tools.promptfoo_passed(output) == 99
    with pytest.raises(PeerError, match="promptfoo wrote no results"):
        peer_tools.promptfoo_passed(tmp_path / "none.json")
    assert peer_tools.inspect_passed(INSPECT_STDOUT) == 1000
    assert peer_tools.inspect_passed(INSPECT_STDOUT.replace("1.000", "0.250")) == 250


@pytest.mark.parametrize(
    "stdout",
    [
        INSPECT_STDOUT.replace("accuracy  1.000", ""),
        INSPECT_STDOUT + "Task interrupted (no samples completed)\n",
    ],
    ids=["no accuracy", "interrupted"],
)
def test_an_unfinished_inspect_task_is_an_error(stdout: str) -> None:
    with pytest.raises(PeerError, match="did not finish"):
        peer_tools.inspect_passed(stdout)


def test_the_table_gives_ratios_to_goalctl_and_says_how_to_install_a_missing_peer() -> None:
    medians = {"goalctl": {"live": 4.0, "offline": 0.5}, "promptfoo": {"live": 8.0, "offline": 6.0}}
    table = peer_tools.side_by_side(
        medians, ["goalctl", "promptfoo", "inspect_ai"], {"inspect_ai": "pip it"}
    )
    assert table.splitlines() == [
        "| Tool | 100 live cases (200 ms) | 1,000 offline cases | ÷ goalctl, live | ÷ goalctl, offline |",
        "|---|--:|--:|--:|--:|",
        "| goalctl | 4.00 s | 0.50 s | 1.00× | 1.00× |",
        "| promptfoo | 8.00 s | 6.00 s | 2.00× | 12.00× |",
        "| inspect_ai | not installed: pip it |  |  |  |",
    ]


def fake_tool(name: str, calls: list[tuple[str, str]]) -> bench_peers.Tool:
    def run(workload: peer_tools.Workload, folder: Path, extra: object) -> None:
        calls.append((name, workload.key))

    return bench_peers.Tool(name, "1.0", run)


def test_rounds_interleave_the_tools_and_drop_the_warm_up(tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []
    tools = [fake_tool(name, calls) for name in ("goalctl", "promptfoo", "inspect_ai")]
    ctx = Context(bin_dir=tmp_path, root=BENCHMARKS.parent, runs=2)
    bench_peers._rounds(ctx, tools, tmp_path)
    # Each round runs every workload in every tool, the order rotated by one each round.
    assert calls[:6] == [
        (t, w) for w in ("live", "offline") for t in ("goalctl", "promptfoo", "inspect_ai")
    ]
    assert calls[6:9] == [("promptfoo", "live"), ("inspect_ai", "live"), ("goalctl", "live")]
    assert calls[12:15] == [("inspect_ai", "live"), ("goalctl", "live"), ("promptfoo", "live")]
    assert len(calls) == 18
    assert all(len(samples) == 2 for tool in tools for samples in tool.samples.values())


def test_the_report_has_a_row_per_tool_and_ratio_and_says_which_peer_is_missing(
    tmp_path: Path,
) -> None:
    calls: list[tuple[str, str]] = []
    goalctl, promptfoo = fake_tool("goalctl", calls), fake_tool("promptfoo", calls)
    goalctl.samples = {"live": [4.0, 5.0, 3.0], "offline": [1.0]}
    promptfoo.samples = {"live": [8.0, 8.0, 9.0], "offline": [10.0]}
    ctx = Context(bin_dir=tmp_path, root=BENCHMARKS.parent, runs=3)
    rows = bench_peers._report(ctx, [goalctl, promptfoo], {"inspect_ai": "how"}, (1.0, 2.5, 3.0))
    shown = [(row.name, row.value or (row.stats and row.stats.median)) for row in rows]
    assert shown == [
        ("goalctl: 100 live cases (200 ms)", 4.0),
        ("promptfoo: 100 live cases (200 ms)", 8.0),
        ("promptfoo ÷ goalctl: 100 live cases (200 ms)", "2.00×"),
        ("inspect_ai: 100 live cases (200 ms)", "not installed"),
        ("goalctl: 1,000 offline cases", 1.0),
        ("promptfoo: 1,000 offline cases", 10.0),
        ("promptfoo ÷ goalctl: 1,000 offline cases", "10.00×"),
        ("inspect_ai: 1,000 offline cases", "not installed"),
    ]
    (details,) = ctx.details
    assert "| inspect_ai | not installed: how |" in details
    assert "versions: goalctl 1.0; promptfoo 1.0" in details
    assert "Load average (1, 5, 15 min) before: 1.00, 2.50, 3.00; after: " in details
