"""Fault injection: whole ``goalctl run``s against a Messages API server that misbehaves.

Every fault the API can produce (DESIGN §8) is played by ``tests/support/messages_server.py``
during a real run, through the real SDK. A run either completes through the SDK's retries, or
ends as an error (exit 3) with a clear reason and its state intact; it never hangs, never loses
a finished case and never prints a traceback (DESIGN §10).

The scenario gives the provider ``max_retries: 2`` and ``timeout_s: 1.0``, so an exhausted
fault costs at most a few seconds. Runs use ``--concurrency 1`` unless said otherwise: the
server's plan queue is global and served in arrival order, so the first planned faults land
on case ``a``. Every run is bounded: a hang fails the test instead of freezing CI.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from goalctl.providers.anthropic import create as create_anthropic
from goalctl.providers.base import (
    CompletionRequest,
    CompletionResponse,
    Provider,
    ProviderContext,
)
from goalctl.providers.registry import PROVIDERS
from goalctl.state import TERMINAL, RunStatus, RunStore, is_alive
from tests.conftest import CliResult, run_cli
from tests.support.messages_server import (
    Delay,
    Malformed,
    MessagesServer,
    Plan,
    RecordedRequest,
    Reply,
    Reset,
    Stall,
    Status,
    Trickle,
    closed_port_url,
    echo,
    text_of,
)

KEY = "sk-test-faults-NOT-A-REAL-KEY"
CITIES = {"a": "Oslo", "b": "Rome", "c": "Lima", "d": "Kyiv"}
ALL_PASSED = {"a": "passed", "b": "passed", "c": "passed"}
RUN_BOUND_S = 30.0
"""No run may take longer; a stalled run should end in a few seconds."""
JUDGE_PREAMBLE = "You are a strict evaluator."
VERDICT = '{"pass": true, "score": 1, "reason": "the reply repeats the city"}'
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
TIMED_OUT = (
    "anthropic: request timed out (1.0s per attempt) after 2 retries; "
    "raise provider_options.timeout_s or try later"
)


def is_judge(request: RecordedRequest) -> bool:
    return last_user_text(request).startswith(JUDGE_PREAMBLE)


def last_user_text(request: RecordedRequest) -> str:
    return text_of(request.body["messages"][-1]["content"])


def answer(request: RecordedRequest) -> Plan:
    """The healthy API: echoes agent prompts, and passes every judged criterion."""
    return Reply(text=VERDICT) if is_judge(request) else echo(request)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesServer]:
    """A healthy server, with the key and ANTHROPIC_BASE_URL pointing goalctl at it."""
    for name in (*PROXY_VARIABLES, "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with MessagesServer(responder=answer) as running:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.url)
        yield running


def write_scenario(
    tmp_path: Path, *, cases: int = 3, judge: bool = False, timeout_s: float = 1.0
) -> Path:
    """Cases ``a``, ``b``, … each ask ``City: <city>``; the echo reply meets every criterion."""
    names = list(CITIES)[:cases]
    rows = ", ".join(f"{{name: {name}, input: {{city: {CITIES[name]}}}}}" for name in names)
    judged = "  - {id: judged, description: Repeats the city, metric: llm_judge}\n"
    path = tmp_path / "faults.yaml"
    path.write_text(
        "id: faults\nname: Faults\ndescription: Echo each city back.\n"
        "provider: anthropic\nmodel: claude-test\n"
        f"provider_options: {{max_retries: 2, timeout_s: {timeout_s}}}\n"
        "config: {max_tokens: 64}\n"
        'prompt: "City: {{ input.city }}"\n'
        "success_criteria:\n"
        "  - {id: echoes, description: Echoes, metric: output_contains, target: [echo, City]}\n"
        '  - {id: names, description: Names a city, metric: output_matches, target: "City: [A-Z][a-z]+$"}\n'
        + (judged if judge else "")
        + f"cases: [{rows}]\n"
    )
    return path


# Running goalctl, bounded


def bounded(function: Callable[[], CliResult], bound_s: float = RUN_BOUND_S) -> CliResult:
    """``function()`` in a thread; a test fails (rather than hangs) if it outlives ``bound_s``."""
    results: list[CliResult | BaseException] = []

    def target() -> None:
        try:
            results.append(function())
        except BaseException as exc:  # re-raised below, in the test's thread
            results.append(exc)

    thread = threading.Thread(target=target, name="goalctl-under-test", daemon=True)
    thread.start()
    thread.join(bound_s)
    if thread.is_alive():
        pytest.fail(f"goalctl was still running after {bound_s:.0f}s: it hangs")
    [result] = results
    if isinstance(result, BaseException):
        raise result
    return result


@dataclass(frozen=True)
class Finished:
    """A whole `goalctl run --json` of one scenario: what it printed and what it left."""

    exit_code: int
    elapsed_s: float
    summary: dict[str, Any]
    """The run's entry in the JSON summary."""
    run_dir: Path

    def lines(self, name: str) -> list[dict[str, Any]]:
        """Every line of a journal, parsed: a line that does not parse fails the test."""
        path = self.run_dir / name
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        return [json.loads(line) for line in text.splitlines()]

    def document(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run_dir / name).read_text(encoding="utf-8"))
        return data


def goalctl_run(scenario: Path, state_dir: Path, *, concurrency: int = 1) -> Finished:
    started = time.monotonic()
    result = bounded(
        lambda: run_cli("run", "--json", "--concurrency", str(concurrency), str(scenario))
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert KEY not in output
    assert not (state_dir / "logs").exists(), "an internal error left a crash log"
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == result.exit_code
    [run] = summary["runs"]
    return Finished(result.exit_code, elapsed, run, state_dir / "runs" / run["run_id"])


def assert_intact(run: Finished, status: str, cases: dict[str, str]) -> dict[str, Any]:
    """State, journals and report parse and agree; each finished case is journaled once."""
    state = run.document("state.json")
    assert state["status"] == status
    assert RunStatus(status) in TERMINAL
    assert state["cases_done"] == len(cases)
    run.lines("events.jsonl")
    run.lines("transcript.jsonl")
    checkpoint = run.lines("checkpoint.jsonl")
    assert Counter(line["name"] for line in checkpoint) == Counter(list(cases))
    assert {line["name"]: line["status"] for line in checkpoint} == cases
    report = run.document("report.json")
    assert (report["verdict"], report["error"]) == (state["verdict"], state["error"])
    assert [case["name"] for case in report["cases"]] == sorted(cases)
    assert report["totals"]["cases_run"] == len(cases)
    return report


def calls(requests: list[RecordedRequest]) -> Counter[str]:
    """Requests per case: ``a`` for the agent's calls, ``a/judge`` for the judge's."""
    counts: Counter[str] = Counter()
    for request in requests:
        text = last_user_text(request)
        name = next(n for n, city in CITIES.items() if city in text)
        counts[f"{name}/judge" if is_judge(request) else name] += 1
    return counts


def transcript_calls(run: Finished) -> Counter[str]:
    return Counter(
        f"{line['case']}/judge" if line["purpose"] == "judge" else line["case"]
        for line in run.lines("transcript.jsonl")
    )


# Faults the retries absorb


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([Status(429)] * 2, id="429-twice"),
        pytest.param([Status(529)] * 2, id="529-twice"),
        pytest.param([Status(500), Status(503)], id="500-then-503"),
        pytest.param([Status(429), Status(529)], id="429-then-529"),
        pytest.param([Reset()], id="reset"),
        pytest.param([Reset(), Status(529)], id="reset-then-529"),
        pytest.param([Stall()], id="stall-once"),
        pytest.param([Trickle(0.05)], id="trickle-once"),
    ],
)
def test_faults_shorter_than_the_retries_are_absorbed(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path, faults: list[Plan]
) -> None:
    server.enqueue(*faults)

    run = goalctl_run(write_scenario(tmp_path), isolated_environment)

    assert (run.exit_code, run.summary["status"], run.summary["verdict"]) == (
        0,
        "completed",
        "achieved",
    )
    report = assert_intact(run, "completed", ALL_PASSED)
    assert report["error"] is None
    # Case a met every fault and then succeeded; the others were answered at once.
    assert calls(server.requests) == Counter(a=1 + len(faults), b=1, c=1)
    retries = [r.headers["x-stainless-retry-count"] for r in server.requests[: len(faults) + 1]]
    assert retries == [str(n) for n in range(len(faults) + 1)]
    # Only successful calls reach the transcript and the totals.
    assert transcript_calls(run) == Counter(a=1, b=1, c=1)
    assert report["totals"]["llm_calls"] == 3
    assert {r.body["max_tokens"] for r in server.requests} == {64}


def slowly(interval: float) -> list[Plan]:
    """Each case's echo, sent one byte every ``interval`` seconds (about 0.25 s at 1 ms)."""
    return [Trickle(interval, then=Reply(text=f"echo: City: {CITIES[n]}")) for n in "abc"]


@pytest.mark.parametrize(
    "slow",
    [
        pytest.param([Delay(0.3)] * 3, id="delay"),
        pytest.param(slowly(0.001), id="trickle"),
    ],
)
def test_slow_answers_within_the_timeout_are_not_retried(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path, slow: list[Plan]
) -> None:
    server.enqueue(*slow)

    run = goalctl_run(write_scenario(tmp_path, timeout_s=2.0), isolated_environment)

    assert run.exit_code == 0
    assert_intact(run, "completed", ALL_PASSED)
    assert calls(server.requests) == Counter(a=1, b=1, c=1)
    assert all(line["latency_s"] >= 0.2 for line in run.lines("transcript.jsonl"))


def test_short_bursts_are_absorbed_with_every_case_in_flight(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path
) -> None:
    # Two faults can only ever cost one case two retries, whichever cases they land on.
    server.enqueue(Status(429), Status(529))

    run = goalctl_run(write_scenario(tmp_path), isolated_environment, concurrency=32)

    assert run.exit_code == 0
    assert_intact(run, "completed", ALL_PASSED)
    assert len(server.requests) == 5
    assert transcript_calls(run) == Counter(a=1, b=1, c=1)


# Faults that outlast the retries


@dataclass(frozen=True)
class Exhausted:
    """Faults planned for case ``a`` that outlast its retries, and the error they end in."""

    faults: list[Plan]
    message: str
    """The provider's error; ``{url}`` stands for the server's URL."""
    requests: int
    """Requests case ``a`` sent: 3 when retried (max_retries 2), 1 when not retryable."""
    min_s: float = 0.0
    """No faster than this: three attempts that each wait out the 1 s timeout take 3 s."""


EXHAUSTED = [
    pytest.param(
        Exhausted(
            [Status(429)] * 3,
            "anthropic: rate limited (429) after 2 retries; lower --concurrency or try later",
            3,
        ),
        id="429",
    ),
    pytest.param(
        Exhausted(
            [Status(529)] * 3,
            "anthropic: overloaded (529) after 2 retries; the API is busy, try later",
            3,
        ),
        id="529",
    ),
    pytest.param(
        Exhausted(
            [Status(500, message="Internal server error")] * 3,
            "anthropic: server error (500) after 2 retries: Internal server error; try later",
            3,
        ),
        id="500",
    ),
    pytest.param(
        Exhausted(
            [Status(429), Status(500), Status(529)],
            "anthropic: overloaded (529) after 2 retries; the API is busy, try later",
            3,
        ),
        id="mixed-statuses",
    ),
    pytest.param(Exhausted([Stall()] * 3, TIMED_OUT, 3, min_s=3.0), id="stall"),
    pytest.param(Exhausted([Trickle(0.05)] * 3, TIMED_OUT, 3, min_s=3.0), id="trickle"),
    pytest.param(
        Exhausted([Reset()] * 3, "anthropic: connection to {url} failed after 2 retries: ", 3),
        id="reset",
    ),
    pytest.param(
        Exhausted(
            [Malformed()],
            "anthropic: malformed response: JSONDecodeError: Expecting value: line 1 column 33 (char 32)",
            1,
        ),
        id="malformed",
    ),
    pytest.param(
        Exhausted(
            [Status(200, body={"type": "message", "content": []})],
            "anthropic: malformed response: 'usage' has no input_tokens/output_tokens",
            1,
        ),
        id="not-a-message",
    ),
]

EVERY_CASE = [
    pytest.param(
        Exhausted(
            [Status(400, message="max_tokens: 64 > 32, the model's maximum")],
            "anthropic: bad request (400): max_tokens: 64 > 32, the model's maximum",
            1,
        ),
        id="400",
    ),
    pytest.param(
        Exhausted(
            [Status(404, message="model: claude-test")],
            "anthropic: not found (404): model: claude-test; check the model and the base URL",
            1,
        ),
        id="404",
    ),
]


@pytest.mark.parametrize("fault", EXHAUSTED)
def test_a_fault_that_outlasts_the_retries_errors_the_run_and_keeps_the_rest(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path, fault: Exhausted
) -> None:
    server.enqueue(*fault.faults)

    run = goalctl_run(write_scenario(tmp_path), isolated_environment)

    message = fault.message.format(url=server.url)
    assert (run.exit_code, run.summary["status"], run.summary["verdict"]) == (3, "failed", "error")
    assert run.summary["error"].startswith(f"case 'a': {message}")
    report = assert_intact(run, "failed", {"a": "error", "b": "passed", "c": "passed"})
    assert report["verdict"] == "error"
    assert report["error"].startswith(f"case 'a': {message}")
    assert report["cases"][0]["error"].startswith(message)
    assert calls(server.requests) == Counter(a=fault.requests, b=1, c=1)
    assert transcript_calls(run) == Counter(b=1, c=1)
    assert report["totals"]["llm_calls"] == 2
    # Bounded by the timeout and the retries: seconds, never the server's 30 s stall.
    assert fault.min_s <= run.elapsed_s < 15.0


@pytest.mark.parametrize("fault", EVERY_CASE)
def test_a_fault_every_case_would_meet_stops_the_run_at_the_first(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path, fault: Exhausted
) -> None:
    server.enqueue(*fault.faults)

    run = goalctl_run(write_scenario(tmp_path), isolated_environment)

    message = fault.message.format(url=server.url)
    assert (run.exit_code, run.summary["status"], run.summary["verdict"]) == (3, "failed", "error")
    assert run.summary["error"] == (
        f"case 'a': {message}; stopped the run: this error would fail every case, "
        "so 2 of 3 cases not run"
    )
    # The case that met it ran and errored (README: "so 9 of 10 cases not run").
    assert_intact(run, "failed", {"a": "error"})
    assert calls(server.requests) == Counter(a=fault.requests)
    assert transcript_calls(run) == Counter()


def test_an_api_that_stalls_every_call_ends_the_run_in_seconds(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path
) -> None:
    server.responder = lambda request: Stall()

    run = goalctl_run(write_scenario(tmp_path), isolated_environment, concurrency=32)

    assert run.exit_code == 3
    assert_intact(run, "failed", {"a": "error", "b": "error", "c": "error"})
    assert run.summary["error"] == f"case 'a': {TIMED_OUT}"
    assert calls(server.requests) == Counter(a=3, b=3, c=3)
    # The cases wait side by side: three attempts of 1 s, plus the SDK's backoff between them.
    assert 3.0 <= run.elapsed_s < 15.0


def test_a_refused_connection_errors_every_case(
    tmp_path: Path,
    server: MessagesServer,
    isolated_environment: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = closed_port_url()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)

    run = goalctl_run(write_scenario(tmp_path), isolated_environment, concurrency=32)

    assert run.exit_code == 3
    report = assert_intact(run, "failed", {"a": "error", "b": "error", "c": "error"})
    for case in report["cases"]:
        assert case["error"].startswith(f"anthropic: cannot connect to {url} after 2 retries: ")
    assert run.lines("transcript.jsonl") == []
    assert server.requests == []


def test_a_case_that_always_fails_leaves_the_others_finished(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path
) -> None:
    def rome_is_down(request: RecordedRequest) -> Plan:
        return Status(500) if "Rome" in last_user_text(request) else answer(request)

    server.responder = rome_is_down

    run = goalctl_run(write_scenario(tmp_path), isolated_environment, concurrency=32)

    assert run.exit_code == 3
    report = assert_intact(run, "failed", {"a": "passed", "b": "error", "c": "passed"})
    assert (
        report["error"]
        == "case 'b': anthropic: server error (500) after 2 retries: api error; try later"
    )
    assert (report["totals"]["cases_passed"], report["totals"]["cases_errored"]) == (2, 1)
    assert calls(server.requests) == Counter(a=1, b=3, c=1)
    assert transcript_calls(run) == Counter(a=1, c=1)


# The judge


def test_a_judge_call_that_fails_is_a_provider_error_not_an_agent_failure(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path
) -> None:
    # Case a's agent call is answered; its judge call meets 529 until the retries run out.
    server.enqueue(Delay(0), *[Status(529)] * 3)

    run = goalctl_run(write_scenario(tmp_path, judge=True), isolated_environment)

    assert run.exit_code == 3
    report = assert_intact(run, "failed", {"a": "error", "b": "passed", "c": "passed"})
    overloaded = "anthropic: overloaded (529) after 2 retries; the API is busy, try later"
    assert report["error"] == f"case 'a': {overloaded}"
    assert "agent" not in report["error"]
    assert calls(server.requests) == Counter(
        {"a": 1, "a/judge": 3, "b": 1, "b/judge": 1, "c": 1, "c/judge": 1}
    )
    assert transcript_calls(run) == Counter({"a": 1, "b": 1, "b/judge": 1, "c": 1, "c/judge": 1})


def test_a_judge_call_retried_through_a_burst_passes(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path
) -> None:
    server.enqueue(Delay(0), Status(529), Status(429))

    run = goalctl_run(write_scenario(tmp_path, judge=True), isolated_environment)

    assert run.exit_code == 0
    report = assert_intact(run, "completed", ALL_PASSED)
    assert [c["met"] for c in report["criteria"]] == [True, True, True]
    assert calls(server.requests)["a/judge"] == 3


# What people read


def test_the_plain_output_names_the_failure(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path
) -> None:
    server.enqueue(*[Status(429)] * 3)
    scenario = write_scenario(tmp_path)

    result = bounded(lambda: run_cli("run", "--concurrency", "1", str(scenario)))

    assert result.exit_code == 3
    [state] = RunStore(isolated_environment).list()
    limited = "anthropic: rate limited (429) after 2 retries; lower --concurrency or try later"
    assert result.stdout.splitlines()[:6] == [
        f"{state.run_id}: running {scenario} (3 cases)",
        f"{state.run_id}: errored a — {limited}",
        f"{state.run_id}: passed b",
        f"{state.run_id}: passed c",
        f"{state.run_id}: errored — case 'a': {limited} — 2/3 cases passed, "
        "unknown (no price for claude-test)",
        "  errored a",  # its error is the run's, quoted on the line above
    ]
    assert result.stderr == ""
    status = run_cli("status", state.run_id)
    assert f"Error:    case 'a': {limited}" in status.stdout.splitlines()


# A detached run against a stalling API


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = RUN_BOUND_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.02)


def test_stop_cancels_a_stalled_call_and_start_finishes_without_redoing_cases(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path
) -> None:
    # A long timeout: only a cancellation can end case c's stalled call within seconds.
    scenario = write_scenario(tmp_path, cases=4, timeout_s=20.0)
    server.enqueue(Delay(0), Delay(0), Stall())
    store = RunStore(isolated_environment)

    detached = run_cli("run", "--detach", "--concurrency", "1", str(scenario))
    assert detached.exit_code == 0, detached.stderr
    [run_id] = detached.stdout.split()
    wait_until(
        lambda: len(server.requests) == 3 and len(store.read_checkpoint(run_id)) == 2,
        "cases a and b to finish and case c's call to stall",
    )
    state = store.load(run_id)
    assert (state.status, state.pid is not None) == (RunStatus.RUNNING, True)
    assert [line["name"] for line in store.read_checkpoint(run_id)] == ["a", "b"]

    started = time.monotonic()
    stopped = bounded(lambda: run_cli("stop", "--yes", run_id))
    assert stopped.exit_code == 0, stopped.stderr
    assert stopped.stdout == (
        f"stopped {run_id} (2/4 cases finished); `goalctl start {run_id}` resumes it\n"
    )
    assert store.load(run_id).status is RunStatus.STOPPED
    wait_until(lambda: not is_alive(state.pid, state.pid_start_time), "the worker to exit", 5.0)
    assert time.monotonic() - started < 5.0
    # The worker stopped itself (a SIGKILL after the stop timeout would not log this).
    messages = [event["message"] for event in store.read_events(run_id)[0]]
    assert messages[-1] == f"stopped: 2 of 4 cases finished; `goalctl start {run_id}` resumes"

    started_again = run_cli("start", run_id)
    assert started_again.exit_code == 0, started_again.stderr
    wait_until(lambda: store.load(run_id).status in TERMINAL, "the resumed run to finish")

    final = store.load(run_id)
    assert (final.status, final.verdict, final.cases_done) == (RunStatus.COMPLETED, "achieved", 4)
    assert [line["name"] for line in store.read_checkpoint(run_id)] == ["a", "b", "c", "d"]
    # Only the stalled call was sent twice; a and b were not run again.
    assert calls(server.requests) == Counter(a=1, b=1, c=2, d=1)
    run_dir = store.run_dir(run_id)
    transcript = [
        json.loads(line) for line in (run_dir / "transcript.jsonl").read_text().splitlines()
    ]
    assert Counter(line["case"] for line in transcript) == Counter(a=1, b=1, c=1, d=1)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["totals"]["llm_calls"] == 4
    assert "Traceback" not in (run_dir / "worker.log").read_text()


# Stops that land mid-flight


@pytest.mark.parametrize(
    "as_json",
    [
        pytest.param(False, id="plain"),
        pytest.param(True, id="json"),
    ],
)
def test_ctrl_c_during_a_stalled_call_stops_the_run_at_once(
    tmp_path: Path, server: MessagesServer, isolated_environment: Path, as_json: bool
) -> None:
    # A long timeout: only the cancellation can end case b's stalled call within seconds.
    scenario = write_scenario(tmp_path, timeout_s=20.0)
    server.enqueue(Delay(0), Stall())
    command = [sys.executable, "-m", "goalctl", "--state-dir", str(isolated_environment), "run"]
    command += ["--concurrency", "1", *(["--json"] if as_json else []), str(scenario)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            wait_until(lambda: len(server.requests) == 2, "case b's call to stall")
            interrupted = time.monotonic()
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=RUN_BOUND_S)
        finally:
            process.kill()  # only if the test failed before the process ended
    assert time.monotonic() - interrupted < 5.0

    store = RunStore(isolated_environment)
    [state] = store.list()
    assert (state.status, state.cases_done) == (RunStatus.STOPPED, 1)
    assert [line["name"] for line in store.read_checkpoint(state.run_id)] == ["a"]
    assert "Traceback" not in stdout + stderr
    assert "internal error" not in stderr
    assert process.returncode == 130
    if as_json:
        [run] = json.loads(stdout)["runs"]
        assert (run["status"], run["verdict"], run["error"]) == ("stopped", None, None)
    else:
        lines = stdout.splitlines()
        assert f"{state.run_id}: stopped — 1/3 cases finished" in lines
        assert lines[-2:] == [
            "Stopped before the end; resume with:",
            f"  goalctl start {state.run_id}",
        ]


class StoppedAsAnswersLand:
    """The anthropic provider, with a stop that lands in the loop turn its answers land in.

    Each answered call waits until every case's call is answered; the last one releases them
    and cancels the run exactly as ``goalctl stop`` and Ctrl-C do (``task.cancel()``), so the
    cases finish in the same turn as the stop arrives. Real runs meet this whenever a stop
    coincides with a burst of answers (the norm at high ``--concurrency``).
    """

    name = "anthropic"

    def __init__(self, inner: Provider, calls: int) -> None:
        self.inner = inner
        self.calls = calls
        self.answered = 0
        self.all_answered = asyncio.Event()

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        response = await self.inner.complete(request)
        self.answered += 1
        if self.answered == self.calls:
            self.all_answered.set()
            for task in asyncio.all_tasks():
                if getattr(task.get_coro(), "__qualname__", "") == "ScenarioRun.run":
                    task.cancel()
        await self.all_answered.wait()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def stopped_as_answers_land(context: ProviderContext) -> StoppedAsAnswersLand:
    return StoppedAsAnswersLand(create_anthropic(context), calls=len(ALL_PASSED))


def test_a_stop_that_lands_with_the_answers_keeps_every_finished_case(
    tmp_path: Path,
    server: MessagesServer,
    isolated_environment: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        PROVIDERS.targets, "stop-as-answers-land", f"{__name__}:stopped_as_answers_land"
    )
    scenario = write_scenario(tmp_path)

    result = bounded(
        lambda: run_cli(
            "run", "--provider", "stop-as-answers-land", "--concurrency", "3", str(scenario)
        )
    )

    assert result.exit_code == 130, result.stderr
    store = RunStore(isolated_environment)
    [state] = store.list()
    assert state.status is RunStatus.STOPPED
    answered = sorted(line["case"] for line in store.read_transcript(state.run_id))
    assert answered == ["a", "b", "c"]
    assert calls(server.requests) == Counter(a=1, b=1, c=1)
    # Every case whose call was answered and recorded finished: resume must not redo it.
    assert sorted(line["name"] for line in store.read_checkpoint(state.run_id)) == answered
