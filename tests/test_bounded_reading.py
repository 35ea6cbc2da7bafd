"""Every file goalctl reads in this slice goes through :mod:`goalctl.reading` (issue 10 item 5):
scenarios, ``--config-file``, saved ``report.json`` and JUnit files to merge. Each is refused
with a clear message and exit 2 (1 with a file:line:col problem for scenarios) when it is not
a regular file, too large, not UTF-8, or nested too deeply; never a hang or a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from goalctl import reading
from goalctl.reports.junit import MAX_XML_DEPTH
from tests.conftest import SCENARIOS, run_cli

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
CALCULATOR = SCENARIOS / "calculator.md"


def test_the_scenario_loader_reads_through_the_bounded_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "calculator.md"
    path.write_bytes(CALCULATOR.read_bytes())
    size = path.stat().st_size
    monkeypatch.setitem(reading.LIMITS, "scenario", size - 1)
    result = run_cli("validate", str(path))
    assert (result.exit_code, result.stdout) == (
        1,
        f"{path}:1:1: file is too large ({size:,} bytes; the limit is {size - 1:,}) "
        "(split it into several scenarios)\n",
    )


# --- --config-file ----------------------------------------------------------------------------


def config_run(config: Path) -> tuple[int, str]:
    result = run_cli("run", "--provider", "scripted", "--config-file", str(config), str(CALCULATOR))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stderr


def test_a_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_bytes(b"max_attempts: 2\nstop: [caf\xe9]\n")
    assert config_run(config) == (
        2,
        f"goalctl: error: --config-file {config}:2:11: invalid UTF-8 (byte 0xe9 at offset 26)\n",
    )


def test_a_config_file_over_its_limit(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("stop: [" + "x, " * 400_000 + "y]\n", encoding="utf-8")
    size = config.stat().st_size
    assert config_run(config) == (
        2,
        f"goalctl: error: --config-file {config}: file is too large ({size:,} bytes; "
        f"the limit is {reading.LIMITS['config']:,})\n",
    )


@needs_fifo
def test_a_config_file_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    assert config_run(fifo) == (
        2,
        f"goalctl: error: --config-file {fifo}: not a regular file: a named pipe (FIFO)\n",
    )


# --- report.json --------------------------------------------------------------------------------


def finished_run(tmp_path: Path) -> tuple[str, Path]:
    result = run_cli("run", "--provider", "scripted", "--json", str(CALCULATOR))
    assert result.exit_code == 0
    state = Path(os.environ["GOALCTL_STATE_DIR"])
    (run_dir,) = (state / "runs").iterdir()
    return run_dir.name, run_dir / "report.json"


def test_a_deeply_nested_report_is_damaged_not_a_crash(tmp_path: Path) -> None:
    run_id, path = finished_run(tmp_path)
    path.write_text('{"version": 1, "goal": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = run_cli("report", run_id)
    assert (result.exit_code, result.stderr) == (
        2,
        f"goalctl: error: run {run_id}'s state is damaged: report.json is nested too deeply "
        f"(more than {reading.MAX_JSON_DEPTH} levels) — `goalctl cleanup --force {run_id}` "
        "removes it\n",
    )


def test_a_report_that_is_not_utf8_names_the_offset(tmp_path: Path) -> None:
    run_id, path = finished_run(tmp_path)
    path.write_bytes(b'{"version": 1, "goal": "\xff"}')
    result = run_cli("report", run_id)
    assert (result.exit_code, result.stderr) == (
        2,
        f"goalctl: error: run {run_id}'s state is damaged: report.json is not valid UTF-8: "
        f"byte 0xff at offset 24 (line 1, column 25) — `goalctl cleanup --force {run_id}` "
        "removes it\n",
    )


@needs_fifo
def test_a_report_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    run_id, path = finished_run(tmp_path)
    path.unlink()
    os.mkfifo(path)
    result = run_cli("report", run_id)
    assert (result.exit_code, result.stderr) == (
        2,
        f"goalctl: error: run {run_id}'s state is damaged: report file {path} is not a "
        f"regular file: it is a named pipe (FIFO) — `goalctl cleanup --force {run_id}` "
        "removes it\n",
    )


# --- JUnit files to merge -------------------------------------------------------------------------


def merge(*paths: Path) -> tuple[int, str]:
    result = run_cli("report", "--merge-junit", *map(str, paths))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stderr


def test_a_junit_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_bytes(b"<testsuites name='\xe9'/>")
    assert merge(path) == (
        2,
        f"goalctl: error: {path}:1:19: invalid UTF-8 (byte 0xe9 at offset 18)\n",
    )


@needs_fifo
def test_a_junit_file_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "junit.xml"
    os.mkfifo(fifo)
    assert merge(fifo) == (2, f"goalctl: error: {fifo}: not a regular file: a named pipe (FIFO)\n")


def test_deeply_nested_junit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    depth = 100_000
    path.write_text(
        "<testsuites><testsuite>" + "<x>" * depth + "</x>" * depth + "</testsuite></testsuites>"
    )
    assert merge(path) == (
        2,
        f"goalctl: error: {path} nests elements deeper than {MAX_XML_DEPTH} levels; "
        "pass a JUnit XML file\n",
    )
