"""Every path goalctl writes is checked before any work starts.

A report directory under a file, in ``/proc``, on ``/dev/full`` (and the like for ``--junit``,
``--state-dir``, ``report --output``, ``schema --out`` and ``init --dir``) used to surface only
after the run, as an internal error (exit 4); now each is a usage error (exit 2) before any case
runs. A disk that fills up during a run is exit 3, "disk full".
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tests.conftest import SCENARIOS, run_cli

SCENARIO = SCENARIOS / "calculator.md"


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a directory\n", encoding="utf-8")
    return path


def bad_directories(a_file: Path) -> dict[str, tuple[Path, str]]:
    return {
        "under a file": (a_file / "reports", "which is a file, not a directory"),
        "a file": (a_file, "is a file"),  # click says so first
        "in /proc": (Path("/proc/goalctl-reports"), "is in /proc, a system directory"),
        "on /dev/full": (Path("/dev/full"), "is in /dev, a system directory"),
    }


def bad_files(a_file: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    return {
        "under a file": (a_file / "junit.xml", "which is a file, not a directory"),
        "a directory": (tmp_path, "is a directory"),  # click says so first
        "in /proc": (Path("/proc/goalctl.xml"), "is in /proc, a system directory"),
        "/dev/full": (Path("/dev/full"), "is in /dev, a system directory"),
    }


CASES = ["under a file", "in /proc", "on /dev/full"]


def refused_before_work(result_code: int, output: str, message: str) -> None:
    assert result_code == 2, output
    assert "Traceback" not in output
    assert message in output


@pytest.mark.parametrize("case", [*CASES, "a file"])
def test_a_bad_report_dir_is_refused_before_any_case_runs(
    case: str, a_file: Path, isolated_environment: Path
) -> None:
    path, message = bad_directories(a_file)[case]
    result = run_cli("run", "--report-dir", str(path), str(SCENARIO))
    refused_before_work(result.exit_code, result.stdout + result.stderr, message)
    assert "--report-dir" in result.stderr
    assert not (isolated_environment / "runs").exists()  # no run was even created


@pytest.mark.parametrize("case", ["under a file", "a directory", "in /proc", "/dev/full"])
def test_a_bad_junit_file_is_refused_before_any_case_runs(
    case: str, a_file: Path, tmp_path: Path, isolated_environment: Path
) -> None:
    path, message = bad_files(a_file, tmp_path)[case]
    result = run_cli("run", "--junit", str(path), str(SCENARIO))
    refused_before_work(result.exit_code, result.stdout + result.stderr, message)
    assert "--junit" in result.stderr
    assert not (isolated_environment / "runs").exists()


@pytest.mark.parametrize("case", CASES)
def test_a_bad_state_dir_is_refused_before_any_case_runs(case: str, a_file: Path) -> None:
    path, message = bad_directories(a_file)[case]
    result = run_cli("--state-dir", str(path), "run", str(SCENARIO))
    refused_before_work(result.exit_code, result.stdout + result.stderr, message)
    assert "--state-dir" in result.stderr


@pytest.mark.parametrize("case", CASES)
def test_a_bad_report_output_is_refused(case: str, a_file: Path, tmp_path: Path) -> None:
    assert run_cli("run", str(SCENARIO)).exit_code == 0
    path = {
        "under a file": (a_file / "report.md", "which is a file, not a directory"),
        "in /proc": (Path("/proc/report.md"), "is in /proc, a system directory"),
        "on /dev/full": (Path("/dev/full"), "is in /dev, a system directory"),
    }[case]
    result = run_cli("report", "calculator", "--output", str(path[0]))
    refused_before_work(result.exit_code, result.stdout + result.stderr, path[1])


@pytest.mark.parametrize("case", CASES)
def test_a_bad_schema_out_is_refused(case: str, a_file: Path) -> None:
    path, message = bad_directories(a_file)[case]
    result = run_cli("schema", "--out", str(path))
    refused_before_work(result.exit_code, result.stdout + result.stderr, message)


@pytest.mark.parametrize("case", CASES)
def test_a_bad_init_dir_is_refused(case: str, a_file: Path) -> None:
    path, message = bad_directories(a_file)[case]
    result = run_cli("init", "Support triage", "--dir", str(path))
    refused_before_work(result.exit_code, result.stdout + result.stderr, message)


def test_good_new_paths_are_created_and_written(tmp_path: Path) -> None:
    reports = tmp_path / "new" / "reports"
    junit = tmp_path / "new" / "ci" / "junit.xml"
    result = run_cli("run", "--report-dir", str(reports), "--junit", str(junit), str(SCENARIO))
    assert result.exit_code == 0, result.stderr
    assert (reports / "calculator-1.0.0.md").is_file()
    assert junit.is_file()


def test_a_full_disk_during_a_run_is_a_run_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from goalctl.state.files import write_atomic as written

    def full_at_the_report(path: Path, text: str, **options: bool) -> None:
        if path.name.startswith("report."):  # the cases have run; the disk fills up now
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        written(path, text, **options)

    monkeypatch.setattr("goalctl.state.store.write_atomic", full_at_the_report)
    result = run_cli("run", str(SCENARIO))
    assert result.exit_code == 3, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "goalctl: error: disk full" in result.stderr
    assert "this is a bug" not in result.stderr


def test_validate_of_the_root_does_not_walk_system_directories() -> None:
    from goalctl.validation import _walk

    entries = _walk(Path("/"), Path("/"), depth=1)
    names = {entry.path for entry in entries}
    assert not names & {Path("/proc"), Path("/sys"), Path("/dev")}
    assert Path("/tmp") in names or Path("/usr") in names
