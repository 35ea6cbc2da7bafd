"""`goalctl baseline save`: the file it writes, where, and the runs it refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from goalctl.state import RunStatus, RunStore
from tests.conftest import SCENARIOS, run_cli


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "faq-v1.md"
    shutil.copy(SCENARIOS / "faq-v1.md", path)
    return path


def ran(scenario: Path) -> str:
    result = run_cli("run", "--json", str(scenario))
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["runs"][0]["run_id"])


def test_writes_beside_the_scenario(scenario: Path) -> None:
    run_id = ran(scenario)
    result = run_cli("baseline", "save", run_id)
    target = scenario.with_name("faq-v1.baseline.json")
    assert (result.exit_code, result.stdout) == (
        0,
        f"wrote {target}: faq 1.0.0, run {run_id}, 10 cases\n",
    )
    document = json.loads(target.read_text())
    assert document["format"] == "goalctl-baseline/1"
    assert document["criteria"] == {"answers": "10/10", "cites-source": "10/10"}
    assert document["cases"]["warranty"]["criteria"] == {"answers": "1/1", "cites-source": "1/1"}
    # A run of the same outputs writes the same results: only the run id and times differ.
    run_cli("baseline", "save", ran(scenario), "--out", str(scenario.with_name("again.json")))
    again = json.loads(scenario.with_name("again.json").read_text())
    for data in (document, again):
        data.pop("run_id")
        data["totals"].pop("elapsed_s")
        for case in data["cases"].values():
            case.pop("elapsed_s")
    assert again == document


def test_out_and_json(scenario: Path, tmp_path: Path) -> None:
    run_id = ran(scenario)
    out = tmp_path / "kept" / "v1.json"
    out.parent.mkdir()
    result = run_cli("baseline", "save", "--json", "--out", str(out), run_id[:6])
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["path"] == str(out)
    assert printed["baseline"] == json.loads(out.read_text())


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (RunStatus.FAILED, "errored (no verdict): a baseline keeps the results of a completed run"),
        (
            RunStatus.STOPPED,
            "is stopped, not completed: a baseline keeps the results of a completed run; resume it with `goalctl start",
        ),
        (RunStatus.RUNNING, "is running, not completed"),
    ],
)
def test_refuses_runs_that_are_not_completed(
    scenario: Path, isolated_environment: Path, status: RunStatus, message: str
) -> None:
    run_id = ran(scenario)
    RunStore(isolated_environment).update(run_id, lambda s: setattr(s, "status", status))
    result = run_cli("baseline", "save", run_id)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not scenario.with_name("faq-v1.baseline.json").exists()


def test_unknown_run() -> None:
    result = run_cli("baseline", "save", "nothing-00000000")
    assert result.exit_code == 2
    assert "nothing-00000000" in result.stderr


def test_out_in_a_missing_folder(scenario: Path, tmp_path: Path) -> None:
    run_id = ran(scenario)
    result = run_cli("baseline", "save", run_id, "--out", str(tmp_path / "no" / "b.json"))
    assert result.exit_code == 2
    assert f"{tmp_path / 'no'} is not a directory" in result.stderr


def test_state_dir_after_the_subcommand(scenario: Path, tmp_path: Path) -> None:
    state = tmp_path / "elsewhere"
    result = run_cli("--state-dir", str(state), "run", "--json", str(scenario))
    run_id = json.loads(result.stdout)["runs"][0]["run_id"]
    result = run_cli("baseline", "save", run_id, "--state-dir", str(state))
    assert result.exit_code == 0, result.stderr
