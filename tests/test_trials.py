"""Trials (DESIGN §13): repetitions, a case's verdict over them, early stopping, statistics."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from goalctl.providers.base import CompletionRequest, Message
from goalctl.providers.replay import RecordingProvider, ReplayProvider
from goalctl.providers.scripted import ScriptedProvider
from goalctl.state import RunStatus, RunStore
from goalctl.statistics import pass_at_k, pass_hat_k, wilson_interval
from goalctl.trials import planned_trials
from goalctl.trials.verdicts import (
    Constraints,
    Rule,
    Tally,
    criterion_verdicts,
    final_verdict,
    settled_verdict,
)
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent
GOALCTL = [sys.executable, "-m", "goalctl"]


def scenario(tmp_path: Path, body: str, name: str = "trials.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(body))
    return path


FLIPPING = """\
    id: flip
    name: Flip
    description: An agent that is right on some trials only.
    provider: scripted
    config: {max_attempts: 1}
    trials: 6
    success_criteria:
      - {id: right, description: Says yes, metric: output_equals, target: "yes"%s}
    cases:
      - {name: steady, input: {q: steady}}
      - {name: shaky, input: {q: shaky}%s}
    responses:
      - {match: shaky, trials: [2, 5], reply: "no"}
      - {match: ".", reply: "yes"}
"""


def flipping(tmp_path: Path, criterion: str = "", case: str = "") -> Path:
    return scenario(tmp_path, FLIPPING % (criterion, case))


def report_of(state_dir: Path) -> dict[str, Any]:
    [state] = RunStore(state_dir).list()
    return json.loads((RunStore(state_dir).run_dir(state.run_id) / "report.json").read_text())


# -- the rule of a criterion over a case's trials ------------------------------------------


def test_a_threshold_is_compared_as_written() -> None:
    assert Rule("a", 0.7).met(7, 10)
    assert not Rule("a", 0.7).met(6, 10)
    assert Rule("a", 1.0).met(1, 1)
    assert not Rule("a", 1.0).met(0, 1)


def test_confidence_gates_on_the_wilson_lower_bound() -> None:
    rule = Rule("a", 0.5, confidence=0.95)
    assert wilson_interval(9, 10).low == pytest.approx(0.59585, abs=1e-5)
    assert wilson_interval(8, 10).low == pytest.approx(0.49016, abs=1e-5)
    assert rule.met(9, 10)
    assert not rule.met(8, 10)


def test_settled_only_when_every_remaining_outcome_agrees() -> None:
    rule = Rule("a", 0.7)
    assert rule.settled(7, 7, 10) is True  # 7 of 10 already
    assert rule.settled(0, 4, 10) is False  # at most 6 of 10
    assert rule.settled(3, 4, 10) is None  # 3 to 9 of 10: either


def test_a_hard_constraint_not_yet_violated_keeps_the_trials_going() -> None:
    rules = [Rule("a", 1.0)]
    tally = Tally(planned=5)
    tally.add("failed", [], [])
    assert settled_verdict(tally, rules, Constraints()) == "failed"
    # The next trial could violate `safe` and change the goal's verdict.
    assert settled_verdict(tally, rules, Constraints(hard=frozenset({"safe"}))) is None
    tally.add("failed", [], ["safe"])
    assert settled_verdict(tally, rules, Constraints(hard=frozenset({"safe"}))) == "failed"


def test_a_soft_constraint_keeps_a_passing_case_going_only() -> None:
    soft = Constraints(soft=frozenset({"short"}))
    passing = Tally(planned=3)
    passing.add("passed", ["a"], [])
    passing.add("passed", ["a"], [])
    assert settled_verdict(passing, [Rule("a", 0.5)], soft) is None
    assert settled_verdict(passing, [Rule("a", 0.5)], Constraints()) == "passed"


def test_an_errored_trial_settles_the_case() -> None:
    tally = Tally(planned=10)
    tally.add("error", [], [])
    assert settled_verdict(tally, [Rule("a", 1.0)], Constraints()) == "error"


# -- properties ------------------------------------------------------------------------------

THRESHOLDS = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
RULES = st.lists(
    st.tuples(THRESHOLDS, st.sampled_from([None, None, 0.8, 0.95])), min_size=1, max_size=3
).map(
    lambda pairs: [
        Rule(f"c{i}", t if c is None or t < 1 else 0.9, c) for i, (t, c) in enumerate(pairs)
    ]
)
CONSTRAINTS = st.builds(
    Constraints,
    st.frozensets(st.sampled_from(["h1", "h2"]), max_size=2),
    st.frozensets(st.sampled_from(["s1"]), max_size=1),
)


@st.composite
def trials(draw: st.DrawFn, rules: list[Rule], constraints: Constraints) -> list[tuple[Any, ...]]:
    planned = draw(st.integers(1, 12))
    ids = [r.criterion for r in rules]
    names = sorted(constraints.hard | constraints.soft)
    outcome = st.tuples(
        st.sampled_from(["ok"] * 12 + ["error"]),
        st.frozensets(st.sampled_from(ids)),
        st.frozensets(st.sampled_from(names)) if names else st.just(frozenset()),
    )
    return draw(st.lists(outcome, min_size=planned, max_size=planned))


def _add(tally: Tally, outcome: tuple[Any, ...], rules: list[Rule]) -> None:
    kind, passed, violated = outcome
    if kind == "error":
        tally.add("error", [], [])
    else:
        ok = len(passed) == len(rules) and not violated
        tally.add("passed" if ok else "failed", passed, violated)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), rules=RULES, constraints=CONSTRAINTS)
def test_early_stopping_never_changes_a_verdict(
    data: st.DataObject, rules: list[Rule], constraints: Constraints
) -> None:
    outcomes = data.draw(trials(rules, constraints))
    planned = len(outcomes)
    full = Tally(planned)
    for outcome in outcomes:
        _add(full, outcome, rules)
    stopped = Tally(planned)
    verdict = None
    for outcome in outcomes:
        _add(stopped, outcome, rules)
        verdict = settled_verdict(stopped, rules, constraints)
        if verdict is not None:
            break
    assert verdict is not None  # the last trial always settles it
    # An errored trial is no outcome but a run with no verdict (exit 3): a trial that was
    # not run cannot error, so runs whose skipped trials would have errored are left out.
    assume(full.errored == stopped.errored)
    # The case's verdict, and everything of it the goal's verdict reads: whether it errored,
    # each criterion's verdict over the planned trials, whether it broke a hard constraint.
    assert verdict == final_verdict(full, rules)
    if verdict != "error":  # an error is the run's verdict, whatever the rest would say
        assert criterion_verdicts(stopped, rules) == criterion_verdicts(full, rules)
        hard = constraints.hard
        assert bool(stopped.violated & hard) == bool(full.violated & hard)


@given(n=st.integers(1, 60), data=st.data())
def test_pass_hat_k_at_most_the_pass_rate_at_most_pass_at_k(n: int, data: st.DataObject) -> None:
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    rate = c / n
    assert pass_hat_k(c, n, k) <= rate + 1e-12
    assert rate <= pass_at_k(c, n, k) + 1e-12


def test_wilson_intervals_cover_the_true_rate_at_about_95_percent() -> None:
    # 6,000 simulated experiments at rates drawn over (0.05, 0.95): the Wilson interval's
    # coverage averaged over the rate is close to its nominal 95% (pointwise it oscillates a
    # few points around it). The estimate's standard error is sqrt(.95 * .05 / 6000) ≈ 0.003,
    # so ±0.015 is five standard errors of room.
    rng = random.Random(20261125)
    for n in (10, 30, 100):
        covered = 0
        runs = 2000
        for _ in range(runs):
            p = rng.uniform(0.05, 0.95)
            successes = sum(rng.random() < p for _ in range(n))
            low, high = wilson_interval(successes, n, 0.95)
            covered += low <= p <= high
        assert abs(covered / runs - 0.95) <= 0.015, (n, covered / runs)


# -- planning ---------------------------------------------------------------------------------


class _Case:
    def __init__(self, trials: int | None) -> None:
        self.trials = trials


def test_a_case_s_own_trials_win_then_the_command_line_then_the_scenario() -> None:
    cases = [_Case(None), _Case(2)]
    assert planned_trials(cases, 5, None) == [5, 2]
    assert planned_trials(cases, 5, 8) == [8, 2]
    assert planned_trials(cases, None, None) == [1, 2]


# -- runs -------------------------------------------------------------------------------------


def test_the_report_gives_rates_intervals_pass_at_k_and_pass_hat_k(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = flipping(tmp_path, criterion=", threshold: 0.6")
    result = run_cli("run", str(path), "--no-early-stop")
    assert result.exit_code == 0, result.stdout
    report = report_of(isolated_environment)
    [criterion] = report["criteria"]
    assert (criterion["passed"], criterion["evaluated"], criterion["met"]) == (2, 2, True)
    stats = criterion["trials"]
    assert (stats["passed"], stats["trials"], stats["k"]) == (10, 12, 6)
    assert stats["interval"] == [round(x, 6) for x in wilson_interval(10, 12)]
    assert stats["pass_at_k"] == 1.0
    assert stats["pass_hat_k"] == 0.5  # steady passes all 6, shaky never all 6
    _steady, shaky = report["cases"]
    assert shaky["trials"]["passed"] == 4
    assert shaky["trials"]["run"] == 6
    assert [t["trial"] for t in shaky["trials"]["records"]] == [1, 2, 3, 4, 5, 6]
    assert [t["text"] for t in shaky["trials"]["records"]] == [
        "yes",
        "no",
        "yes",
        "yes",
        "no",
        "yes",
    ]
    assert report["trials"] == {
        "planned": 12,
        "run": 12,
        "saved": 0,
        "early_stop": False,
        "stopped_early": [],
    }
    [state] = RunStore(isolated_environment).list()
    text = (RunStore(isolated_environment).run_dir(state.run_id) / "report.md").read_text()
    assert "| `right` | 10/12 | 83% | 55%–95% | 6 | 1.00 | 0.50 |" in text
    assert "| shaky | passed | 4/6 | 67% | 30%–90% | 1.00 | 0.00 |  |" in text


def test_early_stopping_saves_trials_and_says_so(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = flipping(tmp_path)  # threshold 1: shaky fails at trial 2, steady needs all 6
    result = run_cli("run", str(path))
    assert result.exit_code == 1
    report = report_of(isolated_environment)
    steady, shaky = report["cases"]
    assert (steady["trials"]["run"], steady["trials"]["stopped_early"]) == (6, False)
    assert (shaky["status"], shaky["trials"]["run"], shaky["trials"]["stopped_early"]) == (
        "failed",
        2,
        True,
    )
    assert report["trials"]["saved"] == 4
    assert "8/12 trials run (4 saved by early stopping)" in result.stdout
    again = run_cli("run", str(path), "--no-early-stop")
    assert again.exit_code == 1  # the same verdict, every trial run
    assert "12/12 trials run" in again.stdout


def test_a_flaky_case_is_reported_and_never_gates(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = flipping(tmp_path, case=", flaky: true")
    result = run_cli("run", str(path))
    assert result.exit_code == 0, result.stdout
    report = report_of(isolated_environment)
    assert report["verdict"] == "achieved"
    [criterion] = report["criteria"]
    assert (criterion["passed"], criterion["evaluated"]) == (1, 1)  # steady only
    shaky = report["cases"][1]
    assert (shaky["status"], shaky["flaky"], shaky["trials"]["run"]) == ("failed", True, 6)
    assert "failed shaky (flaky: never gates) — 4/6 trials passed; unmet: right" in result.stdout
    junit = tmp_path / "junit.xml"
    run_cli("run", str(path), "--junit", str(junit))
    xml = junit.read_text()
    assert 'failures="0"' in xml
    assert '<skipped message="flaky: reported, never gates: 4/6 trials passed" />' in xml


def test_trials_on_the_command_line_and_in_a_case(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = flipping(tmp_path, case=", trials: 1")
    run_cli("run", str(path), "--trials", "3", "--no-early-stop")
    report = report_of(isolated_environment)
    steady, shaky = report["cases"]
    assert steady["trials"]["planned"] == 3  # --trials over the scenario's 6
    assert "trials" not in shaky
    assert "trial" not in shaky


def test_one_trial_keeps_the_report_shape(tmp_path: Path, isolated_environment: Path) -> None:
    path = flipping(tmp_path)
    run_cli("run", str(path), "--trials", "1")
    report = report_of(isolated_environment)
    assert "trials" not in report
    assert "trials" not in report["criteria"][0]
    assert set(report["cases"][0]) == {
        "case", "name", "status", "input", "expected", "output", "text", "error",
        "attempts", "metrics", "checks", "constraints",
    }  # fmt: skip


def test_scripted_case_replies_start_over_on_every_trial(tmp_path: Path) -> None:
    provider = ScriptedProvider(case_responses={"a": ("one", "two")})

    async def ask(trial: int) -> str:
        request = CompletionRequest("m", (Message("user", "hi"),), case="a", trial=trial)
        return (await provider.complete(request)).text

    import asyncio

    assert asyncio.run(_all(ask, [1, 2, 1, 2])) == ["one", "one", "two", "two"]


async def _all(ask: Any, trials: list[int]) -> list[str]:
    return [await ask(trial) for trial in trials]


def test_each_trial_has_its_own_cassette_entry_and_replays(tmp_path: Path) -> None:
    import asyncio

    cassette = tmp_path / "s.cassette.jsonl"
    rules = ({"match": "hi", "trials": [2], "reply": "second"}, {"match": "hi", "reply": "other"})
    recording = RecordingProvider(ScriptedProvider(rules), cassette)

    def request(trial: int) -> CompletionRequest:
        return CompletionRequest("m", (Message("user", "hi"),), case="a", trial=trial)

    async def record() -> list[str]:
        texts = [(await recording.complete(request(t))).text for t in (1, 2, 3)]
        await recording.aclose()
        return texts

    assert asyncio.run(record()) == ["other", "second", "other"]
    lines = [json.loads(line) for line in cassette.read_text().splitlines()]
    assert len({line["key"] for line in lines}) == 3
    assert request(1).key() == CompletionRequest("m", (Message("user", "hi"),)).key()
    replay = ReplayProvider(cassette)

    async def replayed() -> list[str]:
        return [(await replay.complete(request(t))).text for t in (3, 2, 1)]

    assert asyncio.run(replayed()) == ["other", "second", "other"]


# -- validation -------------------------------------------------------------------------------


BROKEN = """\
    id: bad
    name: Bad
    description: Broken trials.
    provider: scripted
    trials: %s
    success_criteria:
      - {id: a, description: A, metric: output_contains, target: x, confidence: 0.95}
    cases:
      - {name: one, trials: %s, flaky: true}
    responses:
      - {match: x, trials: [%s], reply: x}
"""


def test_trial_counts_out_of_bounds_are_reported_where_they_are(tmp_path: Path) -> None:
    path = scenario(tmp_path, BROKEN % (0, 1001, 0))
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        f"{path}:5:9: trials: must be at least 1, got 0",
        f"{path}:9:25: cases[0].trials: must be at most 1000, got 1001",
        f"{path}:11:25: responses[0].trials[0]: must be at least 1, got 0",
    ]


def test_confidence_needs_a_threshold_and_a_case_must_gate(tmp_path: Path) -> None:
    path = scenario(tmp_path, BROKEN % (2, 3, 1))
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        f"{path}:7:77: success_criteria[0].confidence: `confidence` needs a threshold below 1: "
        "the lower bound of an interval stays below 1 after any number of trials, so the "
        "criterion could never be met (add a `threshold` below 1 (e.g. 0.8), or remove "
        "`confidence`)",
        f"{path}:9:35: cases[0].flaky: every case is flaky, so no case can decide whether the "
        "goal is achieved (leave at least one case without `flaky: true`)",
    ]


# -- resume -----------------------------------------------------------------------------------


def test_a_resumed_run_does_not_redo_finished_trials(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(
        tmp_path,
        """\
        id: slow
        name: Slow
        description: Trials that take a while.
        provider: scripted
        provider_options: {latency_ms: 150}
        trials: 4
        early_stop: false
        success_criteria: [{id: ok, description: Says ok, metric: output_contains, target: ok}]
        responses: [ok]
        cases: [{name: c0}, {name: c1}]
        """,
    )
    store = RunStore(isolated_environment)
    process = subprocess.Popen(
        [*GOALCTL, "run", "--concurrency", "1", str(path)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not store.list() or len(store.read_checkpoint(store.list()[0].run_id)) < 2:
            assert time.monotonic() < deadline, "no trial finished"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    [state] = store.list()
    assert state.status is RunStatus.STOPPED
    before = [(r["case"], r.get("trial", 1)) for r in store.read_checkpoint(state.run_id)]
    assert 2 <= len(before) < 8
    assert run_cli("start", state.run_id).exit_code == 0
    deadline = time.monotonic() + 60
    while store.load(state.run_id).status is not RunStatus.COMPLETED:
        assert time.monotonic() < deadline, "the resumed run never completed"
        time.sleep(0.05)
    after = [(r["case"], r.get("trial", 1)) for r in store.read_checkpoint(state.run_id)]
    assert after[: len(before)] == before
    assert sorted(after) == [(c, t) for c in (0, 1) for t in (1, 2, 3, 4)]  # each once
    report = json.loads((store.run_dir(state.run_id) / "report.json").read_text())
    assert report["trials"]["run"] == 8
    assert report["verdict"] == "achieved"


# -- runs agree with themselves ---------------------------------------------------------------


@st.composite
def scripted_runs(draw: st.DrawFn) -> str:
    trials = draw(st.integers(2, 6))
    threshold = draw(st.sampled_from([0.5, 0.8, 1.0]))
    confidence = draw(st.sampled_from(["", ", confidence: 0.8"])) if threshold < 1 else ""
    failing = [
        sorted(draw(st.frozensets(st.integers(1, trials), max_size=trials))) for _ in range(2)
    ]
    rules = "".join(
        f"  - {{match: 'case{i}', trials: {bad}, reply: 'no'}}\n"
        for i, bad in enumerate(failing)
        if bad
    )
    soft = draw(st.booleans())
    constraint = (
        "constraints:\n  - {id: short, description: Short, constraint_type: soft, "
        "check: 'len(text) < 3'}\n"
        if soft
        else ""
    )
    return (
        "id: prop\nname: Prop\ndescription: Generated.\nprovider: scripted\n"
        f"config: {{max_attempts: 1}}\ntrials: {trials}\n"
        "success_criteria:\n  - {id: right, description: Says yes, metric: output_equals, "
        f"target: 'yes', threshold: {threshold}{confidence}}}\n"
        f"{constraint}cases: [{{name: a, input: {{q: case0}}}}, {{name: b, input: {{q: case1}}}}]\n"
        f"responses:\n{rules}  - {{match: '.', reply: 'yes'}}\n"
    )


def _outcome(tmp_path: Path, path: Path, *flags: str) -> tuple[Any, ...]:
    out = tmp_path / "out"
    result = run_cli("run", str(path), "--report-dir", str(out), *flags)
    report = json.loads((out / "prop-1.0.0.json").read_text())
    cases = [(c["status"], [k["passed"] for k in c["checks"]]) for c in report["cases"]]
    return result.exit_code, report["verdict"], report["criteria"][0]["met"], cases


@settings(max_examples=15, deadline=None)
@given(text=scripted_runs())
def test_a_run_stopped_early_reaches_the_verdicts_of_every_trial(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    tmp_path = tmp_path_factory.mktemp("prop")
    path = tmp_path / "prop.yaml"
    path.write_text(text)
    assert _outcome(tmp_path, path) == _outcome(tmp_path, path, "--no-early-stop")


def test_every_output_agrees_with_the_exit_code(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    path = flipping(tmp_path, criterion=", threshold: 0.8")  # shaky: 4 of 6 trials
    junit = tmp_path / "junit.xml"
    result = run_cli("run", str(path), "--junit", str(junit))
    report = report_of(isolated_environment)
    assert result.exit_code == 1
    assert report["verdict"] == "not_achieved"
    assert [r["summary"] for r in report["reasons"]] == ["criterion `right` unmet"]
    xml = junit.read_text()
    assert 'failures="1"' in xml
    assert 'message="right: 1/2 passed, needs 80%"' in xml
    assert '<property name="trials_passed" value="' in xml
    [error] = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert error.startswith(f"::error file={path},line=8,title=goalctl%3A criterion right unmet::")
    # Stopped early: after 3 of 5, at most 4 of 6 can pass (needs 80%). `%` is escaped.
    assert "shaky: 3/5 trials passed (95%25 interval 23%25–88%25), needs 80%25" in error
    assert "| `flip` | `right` |" in summary.read_text()


def test_an_errored_trial_errors_the_run_and_names_its_trial(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(
        tmp_path,
        """\
        id: gap
        name: Gap
        description: A script with no reply for the second trial.
        provider: scripted
        trials: 3
        success_criteria: [{id: ok, description: Says ok, metric: output_contains, target: ok}]
        responses: [{match: ".", trials: [1], reply: ok}]
        """,
    )
    result = run_cli("run", str(path))
    assert result.exit_code == 3
    report = report_of(isolated_environment)
    [case] = report["cases"]
    assert case["status"] == "error"
    assert case["error"].startswith("trial 2: scripted: no reply for case 'case-1'")
    assert report["error"] == f"case 'case-1': {case['error']}"
    # The error settled the case: the third trial never ran.
    assert (case["trials"]["run"], case["trials"]["stopped_early"]) == (2, True)


def test_a_checkpoint_line_keeps_every_key_a_record_writes() -> None:
    # Resume trusts the checkpoint: a trial's record, with every optional key a record can
    # have (its trial, flaky, a multi-turn case's answers), is read back as it was written.
    from goalctl.reports.data import CaseRecord
    from goalctl.state.readers import parse_checkpoint

    record = CaseRecord(
        0,
        "talk",
        "passed",
        {"q": 1},
        None,
        text="bye",
        answers=["hi", "bye"],
        trajectory=[{"step": 1, "tool": "t", "args": {}, "result": 1, "error": None}],
        earlier_attempts=[{"attempt": 1, "text": "x", "checks": []}],
        trial=3,
        flaky=True,
    )
    line = (json.dumps(record.to_json()) + "\n").encode()
    records, end = parse_checkpoint(line * 2, "run-1")
    assert end == 2 * len(line)
    assert [CaseRecord.from_json(r) for r in records] == [record, record]
