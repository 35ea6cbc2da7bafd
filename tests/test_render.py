"""``goalctl render``: the prompts of every example scenario, pinned; its bad paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from tests.conftest import REPO, SCENARIOS, run_cli

EXAMPLES = sorted(p.name for p in SCENARIOS.iterdir() if p.suffix in (".md", ".yaml"))


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize("name", EXAMPLES)
def test_rendered_prompts(name: str, text_snapshot: SnapshotAssertion) -> None:
    result = run_cli("render", f"scenarios/{name}")
    assert result.exit_code == 0, result.stderr
    assert f"# goalctl render scenarios/{name}\n{result.stdout}" == text_snapshot


def test_one_case() -> None:
    result = run_cli("render", "scenarios/calculator.md", "--case", "division")
    assert result.exit_code == 0
    assert result.stdout.startswith("=== division ===\n--- system ---\n")
    assert result.stdout.endswith(
        '--- prompt ---\nEvaluate this expression: {"expression": "7 / 2"}\n'
    )


def test_json() -> None:
    result = run_cli("render", "scenarios/email_sender_v1.yaml", "--json")
    [case] = json.loads(result.stdout)
    assert case["case"] == "spring-launch"
    assert case["prompt"] == "Write a marketing email about Routing Suite.\n"


def test_config_override_reaches_templates(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "id: s\nname: S\ndescription: d\n"
        "success_criteria: [{id: a, description: b, metric: llm_judge}]\n"
        "prompt: 'attempts={{ config.max_attempts }}'\n"
    )
    result = run_cli("render", str(scenario), "--config", "max_attempts=3")
    assert result.stdout.endswith("--- prompt ---\nattempts=3\n")


def test_bad_config_override() -> None:
    result = run_cli("render", "scenarios/calculator.md", "--config", "max_attempts=lots")
    assert result.exit_code == 2
    assert result.stderr == (
        "goalctl: error: scenarios/calculator.md: --config max_attempts=lots: expected an integer\n"
    )


def test_unknown_case() -> None:
    result = run_cli("render", "scenarios/calculator.md", "--case", "nope")
    assert (result.exit_code, result.stderr) == (
        2,
        "goalctl: error: --case 'nope' matches no case in scenarios/calculator.md "
        "(cases: addition, precedence, division)\n",
    )


def test_invalid_scenario_lists_its_problems() -> None:
    path = "tests/fixtures/scenarios/invalid/undefined_template_name.yaml"
    result = run_cli("render", path)
    assert (result.exit_code, result.stderr) == (
        1,
        f"{path}:12:1: prompt: undefined name: 'recipient' is undefined (rendering case 'case-1')\n",
    )


def test_missing_file() -> None:
    result = run_cli("render", "scenarios/nope.md")
    assert (result.exit_code, result.stderr) == (
        2,
        "goalctl: error: no such file: scenarios/nope.md\n",
    )
