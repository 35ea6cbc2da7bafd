"""Scenario folders hold other files: a Markdown file without front matter found in a folder
(README.md, notes) is passed over with a one-line notice; named on the command line, it is
still an error. The project's ``exclude`` applies wherever folders are scanned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

SCENARIO = (REPO / "scenarios" / "calculator.md").read_text()


def notice(path: str) -> str:
    return f"skipped {path}: Markdown without YAML front matter (not a scenario)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """scenarios/ with one scenario, a README.md and notes in a sub-folder."""
    root = tmp_path / "project"
    (root / "scenarios" / "notes").mkdir(parents=True)
    (root / "scenarios" / "calculator.md").write_text(SCENARIO)
    (root / "scenarios" / "README.md").write_text("# Scenarios\n\nOne file per goal.\n")
    (root / "scenarios" / "notes" / "ideas.markdown").write_text("- more cases\n---\n")
    monkeypatch.chdir(root)
    return root


def test_validate_passes_over_markdown_without_front_matter(project: Path) -> None:
    result = run_cli("validate")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "1 scenario file valid\n",
        notice("scenarios/README.md") + notice("scenarios/notes/ideas.markdown"),
    )


def test_a_named_markdown_file_without_front_matter_is_still_an_error(project: Path) -> None:
    result = run_cli("validate", "scenarios/README.md", "scenarios/calculator.md")
    assert result.exit_code == 1
    assert result.stdout.startswith("scenarios/README.md:1:1: no YAML front matter")
    assert result.stderr == "1 of 2 scenario files invalid (1 problem)\n"


def test_as_found_treats_named_files_like_found_ones(project: Path) -> None:
    (project / "goalctl.toml").write_text('exclude = ["*.wip.md"]\n')
    (project / "scenarios" / "next.wip.md").write_text("---\nid: [\n---\n")
    named = ["scenarios/README.md", "scenarios/calculator.md", "scenarios/next.wip.md"]
    result = run_cli("validate", "--as-found", *named)
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "1 scenario file valid\n",
        notice("scenarios/README.md"),
    )
    assert run_cli("validate", *named).exit_code == 1


def test_front_matter_after_a_bom_or_with_crlf_is_a_scenario(project: Path) -> None:
    with_bom = "\ufeff" + SCENARIO.replace("id: calculator", "id: bom", 1)
    (project / "scenarios" / "bom.md").write_text(with_bom)
    crlf = SCENARIO.replace("id: calculator", "id: crlf", 1).replace("\n", "\r\n")
    (project / "scenarios" / "crlf.md").write_bytes(crlf.encode())
    result = run_cli("validate", "--format", "json")
    assert result.exit_code == 0, result.stdout
    checked = [entry["path"] for entry in json.loads(result.stdout)["files"]]
    assert sorted(checked) == ["scenarios/bom.md", "scenarios/calculator.md", "scenarios/crlf.md"]


def test_a_broken_front_matter_is_not_passed_over(project: Path) -> None:
    # It opens like a scenario: a mistake in it must be reported, never skipped.
    (project / "scenarios" / "broken.md").write_text("---\nid: [\n")
    result = run_cli("validate")
    assert result.exit_code == 1
    assert result.stdout.startswith("scenarios/broken.md:1:1: front matter is not closed")


def test_run_and_matrix_pass_over_them_too(project: Path, isolated_environment: Path) -> None:
    notices = notice("scenarios/README.md") + notice("scenarios/notes/ideas.markdown")
    matrix = run_cli("matrix")
    assert (matrix.exit_code, matrix.stderr) == (0, notices)
    assert [entry["id"] for entry in json.loads(matrix.stdout)["include"]] == ["calculator"]
    run = run_cli("run", "--json", "scenarios")
    assert (run.exit_code, run.stderr) == (0, notices)
    assert [r["goal"] for r in json.loads(run.stdout)["runs"]] == ["calculator"]


def test_globs_pass_over_notes_and_honour_exclude(project: Path) -> None:
    (project / "goalctl.toml").write_text('exclude = ["old"]\n')
    (project / "scenarios" / "old").mkdir()
    (project / "scenarios" / "old" / "broken.yaml").write_text("id: [\n")
    result = run_cli("validate", "scenarios/**")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "1 scenario file valid\n",
        notice("scenarios/README.md") + notice("scenarios/notes/ideas.markdown"),
    )
