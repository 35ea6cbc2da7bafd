"""``--config`` and ``--config-file`` over many scenarios: errors name the scenario and the
option; a key only some agents declare goes to those, told once for the others; a key no
agent declares is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

CALCULATOR = (REPO / "scenarios" / "calculator.md").read_text()
COLLECTOR = (REPO / "scenarios" / "data_collector.md").read_text()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two LLM scenarios (calc-a, calc-b) and a data-collector one."""
    root = tmp_path / "scenarios"
    root.mkdir()
    for name in ("calc-a", "calc-b"):
        (root / f"{name}.md").write_text(CALCULATOR.replace("id: calculator", f"id: {name}", 1))
    (root / "collector.md").write_text(COLLECTOR)
    return root


def configs(state: Path) -> dict[str, dict[str, object]]:
    """The config each run of the state dir ran with, by goal id."""
    found = {}
    for run_dir in (state / "runs").iterdir():
        data = json.loads((run_dir / "state.json").read_text())
        found[data["goal_id"]] = data["config"]
    return found


def test_a_key_some_agents_declare_goes_to_those_and_is_told_once(
    folder: Path, isolated_environment: Path
) -> None:
    result = run_cli("run", "--json", "--config", "max_attempts=1", str(folder))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "--config max_attempts=1: applied to 2 of 3 scenarios; "
        f"not to {folder / 'collector.md'} (agent data-collector declares no 'max_attempts')\n"
    )
    ran = configs(isolated_environment)
    assert (ran["calc-a"]["max_attempts"], ran["calc-b"]["max_attempts"]) == (1, 1)
    assert "max_attempts" not in ran["data-collector"]


def test_a_key_from_the_file_is_told_as_the_files(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "over.yaml").write_text("item_count: 4\n")
    result = run_cli("run", "--json", "--config-file", str(tmp_path / "over.yaml"), str(folder))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        f"--config-file {tmp_path / 'over.yaml'}: applied to 1 of 3 scenarios; not to "
        f"{folder / 'calc-a.md'}, {folder / 'calc-b.md'} (agent llm declares no 'item_count')\n"
    )


def test_a_key_no_agent_declares_is_refused_before_anything_runs(
    folder: Path, isolated_environment: Path
) -> None:
    result = run_cli("run", "--config", "max_atempts=1", str(folder))
    assert (result.exit_code, result.stderr) == (
        2,
        "goalctl: error: --config max_atempts=1: no agent of the 3 scenarios declares "
        "'max_atempts' (did you mean 'max_attempts'?)\n",
    )
    assert not (isolated_environment / "runs").exists()


def test_a_bad_value_names_every_scenario_it_applies_to(folder: Path) -> None:
    result = run_cli("run", "--config", "max_attempts=0", str(folder))
    assert (result.exit_code, result.stderr) == (
        2,
        f"goalctl: error: {folder / 'calc-a.md'}: --config max_attempts=0: "
        "must be at least 1, got 0\n"
        f"{folder / 'calc-b.md'}: --config max_attempts=0: must be at least 1, got 0\n",
    )


def test_a_bad_value_from_the_file_names_the_file(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "over.yaml").write_text("item_count: lots\n")
    result = run_cli("run", "--config-file", str(tmp_path / "over.yaml"), str(folder))
    assert (result.exit_code, result.stderr) == (
        2,
        f"goalctl: error: {folder / 'collector.md'}: --config-file {tmp_path / 'over.yaml'}: "
        "item_count: expected an integer, got 'lots' (string)\n",
    )


def test_a_pair_wins_over_the_file_and_is_named_for_its_value(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "over.yaml").write_text("max_attempts: 3\n")
    result = run_cli(
        "run",
        "--config-file",
        str(tmp_path / "over.yaml"),
        "--config",
        "max_attempts=x",
        str(folder / "calc-a.md"),
    )
    assert (result.exit_code, result.stderr) == (
        2,
        f"goalctl: error: {folder / 'calc-a.md'}: --config max_attempts=x: expected an integer\n",
    )


def test_one_scenario_reports_every_problem_of_its_config(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "over.yaml").write_text("max_attempts: many\nfoo: 1\n")
    path = folder / "calc-a.md"
    result = run_cli("run", "--config-file", str(tmp_path / "over.yaml"), str(path))
    source = f"{path}: --config-file {tmp_path / 'over.yaml'}"
    assert (result.exit_code, result.stderr) == (
        2,
        f"goalctl: error: {source}: unknown key 'foo' for agent llm (known keys: max_attempts, "
        "max_steps, max_tokens, feedback, judge_model, judge_provider, stop)\n"
        f"{source}: max_attempts: expected an integer, got 'many' (string)\n",
    )


def test_a_key_only_a_draft_takes_is_no_typo(folder: Path) -> None:
    draft = COLLECTOR.replace("version: 0.1.0", "version: 0.1.0\nstatus: draft", 1)
    assert draft != COLLECTOR
    (folder / "collector.md").write_text(draft)
    result = run_cli("run", "--json", "--config", "item_count=3", str(folder))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"--config item_count=3: applied to 0 of 2 scenarios; not to {folder / 'calc-a.md'}, "
        f"{folder / 'calc-b.md'} (agent llm declares no 'item_count')",
        f"skipped {folder / 'collector.md'}: status is draft; use --include-drafts to run it",
    ]


def test_render_names_the_scenario() -> None:
    result = run_cli("render", "scenarios/calculator.md", "--config", "item_count=3")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "goalctl: error: scenarios/calculator.md: --config item_count=3: "
        "unknown key 'item_count' for agent llm"
    )
