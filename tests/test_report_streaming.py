"""Reports built from the checkpoint journal, one case at a time, are the reports goalctl wrote
when it kept every case in memory — byte for byte — and a run holds no memory per case."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from goalctl.agents.base import PhasedAgent
from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from goalctl.reports.journaled import JournaledCases, report_chunks
from tests.conftest import REPO
from tests.support.clock import FrozenClock, fixed_ids
from tests.support.report_fixtures import EXAMPLES, FIXTURES, example_outputs


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch, venv_on_path: None) -> None:
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_outputs_are_byte_identical(name: str, tmp_path: Path) -> None:
    outputs = example_outputs(name, tmp_path)
    expected = {p.name: p.read_text(encoding="utf-8") for p in (FIXTURES / name).iterdir()}
    assert sorted(outputs) == sorted(expected)
    for file, text in outputs.items():
        assert text == expected[file], f"{name}: {file} differs"


def test_report_cases_are_read_back_from_the_journal(tmp_path: Path) -> None:
    """The in-memory report of a run is its report.json: the cases come from the journal."""
    summary = run_paths(
        ["scenarios/review-sentiment-trials.md"],
        RunOptions(include_drafts=True),
        tmp_path,
        clock=FrozenClock(),
        make_id=fixed_ids(),
    )
    [outcome] = summary.outcomes
    cases = outcome.report["cases"]
    assert isinstance(cases, JournaledCases)
    written = json.loads((tmp_path / "runs" / outcome.run_id / "report.json").read_text())
    assert list(cases) == written["cases"]
    assert list(cases) == list(cases)  # walked again: read again, the same
    assert cases[0] == written["cases"][0]
    assert cases[-1] == written["cases"][-1]
    assert cases[1:3] == written["cases"][1:3]
    with pytest.raises(IndexError):
        cases[len(cases)]
    assert (
        "".join(report_chunks(outcome.report))
        == json.dumps({**outcome.report, "cases": list(cases)}, indent=2, ensure_ascii=False) + "\n"
    )


def test_report_chunks_match_json_dumps_with_no_cases_and_keys_after_cases() -> None:
    class Lazy(list[dict[str, object]]):
        """A sequence that is not a list of cases: written piece by piece."""

    for cases in ([], [{"a": [1, {"b": "é\n"}], "c": {}}, {"d": []}]):
        report = {"x": 1, "cases": tuple(cases), "trials": {"run": 2}, "z": [None]}
        expected = json.dumps({**report, "cases": cases}, indent=2, ensure_ascii=False) + "\n"
        assert "".join(report_chunks(report)) == expected


SCRIPTED = """\
id: many
name: Many
description: Repeat the number.
provider: scripted
success_criteria:
  - {id: says, description: Mentions it, metric: output_contains, target: number}
  - {id: short, description: Short, metric: custom, check: 'len(text) < 200'}
constraints:
  - {id: cheap, description: Cheap, constraint_type: hard, category: cost, check: 'cost_usd <= 100'}
cases: {file: cases.jsonl}
prompt: 'Repeat this number: {{ input.n }}'
responses: ['the number is 42']
"""


def _execute_peak(path: Path, state: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """The peak of memory traced while the cases run and the reports are built and written
    (the scenario is loaded before tracing starts)."""
    from goalctl.runner import ScenarioRun

    execute = ScenarioRun.execute

    async def traced(self: ScenarioRun, agent: PhasedAgent) -> None:
        tracemalloc.start()
        await execute(self, agent)

    monkeypatch.setattr(ScenarioRun, "execute", traced)
    try:
        summary = run_paths([str(path)], RunOptions(), state)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [outcome] = summary.outcomes
    assert outcome.verdict == "achieved"
    assert len(outcome.report["cases"]) == outcome.report["totals"]["cases"]
    return peak


def test_memory_does_not_grow_per_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    peaks = {}
    for count in (1_000, 10_000):
        folder = tmp_path / str(count)
        folder.mkdir()
        (folder / "pyproject.toml").write_text("")  # the data file's project root
        rows = (json.dumps({"name": f"c{i}", "input": {"n": i}}) + "\n" for i in range(count))
        (folder / "cases.jsonl").write_text("".join(rows))
        path = folder / "many.yaml"
        path.write_text(SCRIPTED)
        peaks[count] = _execute_peak(path, folder / "state", monkeypatch)
    growth = peaks[10_000] - peaks[1_000]
    # What grows is the book's offsets and flags (about 80 bytes a case): 160 bytes a case is
    # slack for when the collector happens to run (peaks move by a few hundred kB with it);
    # keeping each case's record (and a task per case) took kilobytes a case. Both runs have
    # sent more requests than the scripted provider keeps.
    assert growth < 9_000 * 160, peaks


@pytest.mark.parametrize("name", ["review-sentiment-trials.md", "support-triage.md"])
def test_a_resumed_run_reports_what_a_fresh_run_reports(name: str, tmp_path: Path) -> None:
    """Half the trials journaled, in another order than case order: the resumed run's
    report.json and report.md are the fresh run's, byte for byte."""
    import asyncio
    import shutil

    from goalctl.lifecycle import load_for_run, plan_all
    from goalctl.runner import run_plans
    from goalctl.state import RunStatus, RunStore
    from goalctl.state.model import RunState

    fresh = run_paths(
        [f"scenarios/{name}"],
        RunOptions(),
        tmp_path / "a",
        clock=FrozenClock(),
        make_id=fixed_ids(),
    )
    [outcome] = fresh.outcomes
    run_id = outcome.run_id
    source = tmp_path / "a" / "runs" / run_id
    copy = tmp_path / "b" / "runs" / run_id
    shutil.copytree(source, copy)
    lines = (source / "checkpoint.jsonl").read_text().splitlines(keepends=True)
    kept = lines[::2][::-1]
    (copy / "checkpoint.jsonl").write_text("".join(kept))
    for file in ("report.json", "report.md"):
        (copy / file).unlink()
    store = RunStore(tmp_path / "b")

    def stopped(state: RunState) -> None:
        state.status = RunStatus.STOPPED
        state.pid = state.pid_start_time = None
        state.finished_at = state.verdict = state.score = state.error = None

    store.update(run_id, stopped)
    options = RunOptions()
    scenarios, _ = load_for_run([f"scenarios/{name}"], options)
    plans = plan_all(scenarios, options)
    [resumed] = asyncio.run(run_plans(plans, store, options, clock=FrozenClock(), run_ids=[run_id]))
    assert resumed.verdict == outcome.verdict
    assert len((copy / "checkpoint.jsonl").read_text().splitlines()) == len(lines)
    for file in ("report.json", "report.md"):
        assert (copy / file).read_bytes() == (source / file).read_bytes(), file


LINE = b'{"case": 0, "name": "a", "status": "passed"}\n'


@pytest.mark.parametrize(
    "data",
    [
        b"",
        LINE,
        LINE + LINE.replace(b"0", b"1"),
        LINE + b"\n  \n" + LINE,
        LINE + b'{"case": 1, "na',  # torn by a killed writer
        LINE + b"not json\n",  # an invalid last line: its case runs again
        LINE + b"not json\n\n \n",
        LINE + b"not json\n" + LINE,  # damage in the middle
        LINE + b"not json\n" + b"torn",
        b'{"case": -1, "name": "a", "status": "passed"}\n' + LINE,
    ],
)
def test_checkpoint_entries_read_what_read_checkpoint_reads(data: bytes, tmp_path: Path) -> None:
    """Line by line with offsets, the checkpoint says what reading it whole says."""
    from goalctl.state import DamagedRun
    from goalctl.state.readers import checkpoint_entries, parse_checkpoint

    (tmp_path / "checkpoint.jsonl").write_bytes(data)
    problem = None
    try:
        whole = parse_checkpoint(data, "r")[0]
    except DamagedRun as exc:
        problem = str(exc)
    if problem is not None:
        with pytest.raises(DamagedRun) as raised:
            list(checkpoint_entries(tmp_path, "r"))
        assert str(raised.value) == problem
        return
    entries = list(checkpoint_entries(tmp_path, "r"))
    assert [record for _, record in entries] == whole
    for offset, record in entries:
        assert json.loads(data[offset:].split(b"\n", 1)[0]) == record


def test_a_result_in_python_holds_its_cases_as_report_json_does(tmp_path: Path) -> None:
    import goalctl

    result = goalctl.run("scenarios/support-triage.md", state_dir=tmp_path)
    [run] = result.runs
    written = (tmp_path / "runs" / run.run_id / "report.json").read_text()
    assert json.dumps(dict(run.report), indent=2, ensure_ascii=False) + "\n" == written
    assert [case.name for case in run.cases] == [c["name"] for c in run.report["cases"]]
