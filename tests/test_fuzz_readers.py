"""Fuzzing every reader of this slice (issue 10): scenario files through ``validate``,
``--config-file``, a saved ``report.json`` and JUnit files to merge. Whatever the bytes —
random, YAML token soup, nesting 60,000 levels deep by any of YAML's, JSON's or XML's ways —
goalctl ends with an exit code from the table, within a time and a memory bound, without a
traceback.

Each command runs in a forked child of a fork server (:mod:`tests.support.fork_server`) with
limits on memory and CPU time: a segfault there is an outcome to assert on, not the end of
pytest.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES, SCENARIOS
from tests.strategies import deep_nesting, hostile_documents, hostile_scenario_files, json_values
from tests.support.fork_server import WALL_SECONDS, ForkServer, Outcome, fork_server

TABLE = {0, 1, 2, 3, 4, 130}
"""The exit-code table (DESIGN §7)."""
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Workspace:
    """A fork server and a directory for its inputs, shared by the tests of this module."""

    def __init__(self, server: ForkServer, root: Path) -> None:
        self.server = server
        self.root = root
        self.state = root / "state"
        self.scenario = root / "calculator.md"
        shutil.copy(SCENARIOS / "calculator.md", self.scenario)

    def goalctl(self, *args: str | Path, state: Path | None = None) -> Outcome:
        outcome = self.server.run(*args, cwd=self.root, state_dir=state or self.state)
        assert not outcome.timed_out, f"goalctl {args} ran over {WALL_SECONDS}s"
        assert outcome.code in TABLE, outcome  # a negative code: killed by a signal
        assert "Traceback" not in outcome.stdout + outcome.stderr, outcome
        return outcome

    def write(self, name: str, raw: bytes) -> Path:
        path = self.root / name
        path.write_bytes(raw)
        return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    with fork_server() as server:
        yield Workspace(server, tmp_path_factory.mktemp("fuzz"))


@FUZZ
@given(file=hostile_scenario_files())
def test_validate_survives_any_scenario_file(workspace: Workspace, file: tuple[str, bytes]) -> None:
    name, raw = file
    outcome = workspace.goalctl("validate", workspace.write(name, raw))
    assert outcome.code in (0, 1), outcome  # valid, or its problems; never a bug


@FUZZ
@given(raw=hostile_documents())
def test_run_survives_any_config_file(workspace: Workspace, raw: bytes) -> None:
    config = workspace.write("config.yaml", raw)
    outcome = workspace.goalctl(
        "run", "--provider", "scripted", "--config-file", config, workspace.scenario
    )
    assert outcome.code in (0, 1, 2), outcome


@FUZZ
@given(raw=hostile_documents() | deep_nesting().map(str.encode))
def test_merge_survives_any_junit_file(workspace: Workspace, raw: bytes) -> None:
    junit = workspace.write("junit.xml", raw)
    good = workspace.write("good.xml", b"<testsuites><testsuite name='a'/></testsuites>")
    outcome = workspace.goalctl("report", "--merge-junit", good, junit)
    assert outcome.code in (0, 2), outcome


def _replace(data: Any, path: list[int], value: Any) -> Any:
    """``data`` with the node that ``path`` picks (indexes into keys or items) replaced."""
    if not path or not isinstance(data, dict | list) or not data:
        return value
    if isinstance(data, dict):
        key = list(data)[path[0] % len(data)]
        return {**data, key: _replace(data[key], path[1:], value)}
    index = path[0] % len(data)
    return [*data[:index], _replace(data[index], path[1:], value), *data[index + 1 :]]


@pytest.fixture(scope="module")
def saved_run(workspace: Workspace) -> tuple[str, Path, dict[str, Any]]:
    state = workspace.root / "saved"
    assert (
        workspace.goalctl("run", "--provider", "scripted", workspace.scenario, state=state).code
        == 0
    )
    (run_dir,) = (state / "runs").iterdir()
    report = run_dir / "report.json"
    return run_dir.name, report, json.loads(report.read_text(encoding="utf-8"))


@FUZZ
@given(
    change=st.one_of(
        hostile_documents().map(lambda raw: ("bytes", raw)),
        st.tuples(
            st.lists(st.integers(0, 50), max_size=6),
            json_values(8) | deep_nesting().map(lambda text: {"nested": text}),
        ).map(lambda pair: ("subtree", pair)),
    ),
    output_format=st.sampled_from(["md", "json", "junit"]),
)
def test_report_survives_any_report_json(
    workspace: Workspace,
    saved_run: tuple[str, Path, dict[str, Any]],
    change: tuple[str, Any],
    output_format: str,
) -> None:
    run_id, path, good = saved_run
    state = path.parent.parent.parent
    kind, value = change
    if kind == "bytes":
        path.write_bytes(value)
    else:
        where, subtree = value
        path.write_text(json.dumps(_replace(good, where, subtree)), encoding="utf-8")
    outcome = workspace.goalctl("report", run_id, "--format", output_format, state=state)
    if kind == "bytes":
        assert outcome.code == 2, outcome  # refused by the reader, whatever the bytes
    # A well-formed report.json of the wrong shape may still end in exit 4 (an internal error)
    # in a renderer: checking the shape of every field of a report is left to its own issue.


HOSTILE = sorted((FIXTURES / "hostile").iterdir())


@pytest.mark.parametrize("path", HOSTILE, ids=[path.name for path in HOSTILE])
def test_every_hostile_fixture_through_every_reader(workspace: Workspace, path: Path) -> None:
    assert workspace.goalctl("validate", path).code in (0, 1)
    run = workspace.goalctl(
        "run", "--provider", "scripted", "--config-file", path, workspace.scenario
    )
    assert run.code in (0, 1, 2)
    assert workspace.goalctl("report", "--merge-junit", path).code == 2
