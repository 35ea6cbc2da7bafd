"""Retry semantics of the ``llm`` agent, as documented (issue 9, item 10).

Templates see ``feedback`` on retries; ``temperature``, which the Messages API refuses, is no
config key any more (a scenario that sets it is invalid, never silently ignored); the report
keeps every attempt's checks, and the last attempt is the one that counts.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

from goalctl.errors import ExitCode
from tests.conftest import run_cli

HEADER = "id: demo\nname: Demo\ndescription: A demo goal.\nprovider: scripted\n"
SAYS_RIGHT = (
    "success_criteria:\n"
    "  - {id: says-right, description: Says right, metric: output_contains, target: right}\n"
)


def scenario(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(HEADER + SAYS_RIGHT + dedent(body))
    return path


def the_run(state: Path) -> Path:
    [found] = (state / "runs").iterdir()
    return found


def calls_of(state: Path) -> list[dict[str, Any]]:
    lines = (the_run(state) / "transcript.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_templates_see_the_feedback_on_a_retry(tmp_path: Path, isolated_environment: Path) -> None:
    path = scenario(
        tmp_path,
        """
        config: {max_attempts: 2, feedback: false}
        prompt: "Attempt {{ attempt }}.{% if feedback %} Fix this: {{ feedback }}{% endif %}"
        cases: [{name: only, responses: ["wrong", "right"]}]
        """,
    )
    assert run_cli("run", str(path)).exit_code == ExitCode.OK
    first, second = calls_of(isolated_environment)
    assert first["messages"] == [{"role": "user", "content": "Attempt 1."}]
    [message] = second["messages"]
    assert message["content"].startswith("Attempt 2. Fix this: Your previous answer did not meet")
    assert "- Says right: missing 'right'" in message["content"]


def test_the_system_prompt_sees_the_feedback_in_a_conversation(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(
        tmp_path,
        """
        config: {max_attempts: 2}
        system: "{% if feedback %}Retrying after: {{ feedback }}{% else %}First try.{% endif %}"
        cases: [{name: only, responses: ["wrong", "right"]}]
        """,
    )
    assert run_cli("run", str(path)).exit_code == ExitCode.OK
    first, second = calls_of(isolated_environment)
    assert first["system"] == "First try."
    assert second["system"].startswith("Retrying after: Your previous answer did not meet")
    assert second["messages"][2]["content"] in second["system"]


def test_a_scenario_that_sets_temperature_is_invalid(tmp_path: Path) -> None:
    path = scenario(tmp_path, "config: {temperature: 0.2}\n")
    result = run_cli("validate", str(path))
    assert result.exit_code == ExitCode.FAILED
    assert "config.temperature: unknown key 'temperature'" in result.stdout + result.stderr


def test_the_report_keeps_every_attempt_and_the_last_counts(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(
        tmp_path,
        """
        config: {max_attempts: 3}
        cases: [{name: only, responses: ["wrong", "still wrong", "right"]}]
        """,
    )
    assert run_cli("run", str(path)).exit_code == ExitCode.OK
    directory = the_run(isolated_environment)
    report = json.loads((directory / "report.json").read_text())
    [case] = report["cases"]
    assert case["attempts"] == 3
    assert case["checks"][0]["passed"] is True
    assert [(a["attempt"], a["text"]) for a in case["earlier_attempts"]] == [
        (1, "wrong"),
        (2, "still wrong"),
    ]
    assert [a["checks"][0]["evidence"] for a in case["earlier_attempts"]] == [
        "missing 'right'",
        "missing 'right'",
    ]
    markdown = (directory / "report.md").read_text()
    assert "## Earlier attempts" in markdown
    assert "| only | 1 | `says-right`: missing 'right' |" in markdown
    assert "| only | 2 | `says-right`: missing 'right' |" in markdown


def test_a_single_attempt_has_no_earlier_attempts(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(tmp_path, 'cases: [{name: only, responses: ["right"]}]\n')
    assert run_cli("run", str(path)).exit_code == ExitCode.OK
    directory = the_run(isolated_environment)
    report = json.loads((directory / "report.json").read_text())
    assert "earlier_attempts" not in report["cases"][0]
    assert "Earlier attempts" not in (directory / "report.md").read_text()
