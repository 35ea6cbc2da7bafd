"""The ``goalctl`` script exits without interpreter teardown, with the same codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def goalctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "goalctl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "NO_COLOR": "1"},
    )


def test_the_exit_code_table_holds_and_output_is_complete(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "id: demo\nname: Demo\ndescription: D\nprovider: scripted\n"
        "success_criteria: [{id: a, description: A, metric: output_contains, target: hi}]\n"
        "cases: [{name: one}, {name: two}]\nresponses: [hi, bye]\n"
    )
    state = str(tmp_path / "state")

    not_achieved = goalctl("--state-dir", state, "run", "--json", str(scenario), cwd=tmp_path)
    missing = goalctl("--state-dir", state, "run", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    listed = goalctl("--state-dir", state, "list", "--json", cwd=tmp_path)

    assert not_achieved.returncode == 1
    summary = json.loads(not_achieved.stdout)  # the whole document was flushed
    assert summary["runs"][0]["verdict"] == "not_achieved"
    assert missing.returncode == 2
    assert "nope.yaml" in missing.stderr
    assert listed.returncode == 0
    assert [run["status"] for run in json.loads(listed.stdout)] == ["completed"]


def test_the_run_is_durable_when_the_process_has_ended(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "id: demo\nname: Demo\ndescription: D\nprovider: scripted\n"
        "success_criteria: [{id: a, description: A, metric: output_contains, target: hi}]\n"
        "cases: [{name: one}]\nresponses: [hi]\n"
    )
    state = tmp_path / "state"

    done = goalctl("--state-dir", str(state), "run", str(scenario), cwd=tmp_path)

    assert done.returncode == 0
    [run] = (state / "runs").iterdir()
    assert json.loads((run / "state.json").read_text())["status"] == "completed"
    assert json.loads((run / "report.json").read_text())["verdict"] == "achieved"
