"""The command line as a user meets it: help pages, version, agents, schema, error handling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl import __version__
from goalctl.cli import cli
from tests.conftest import REPO, run_cli

COMMANDS = sorted(cli.commands)


def test_version() -> None:
    result = run_cli("--version")
    assert (result.exit_code, result.stdout) == (0, f"goalctl {__version__}\n")


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "goalctl", "--version"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, f"goalctl {__version__}\n")


def test_help(text_snapshot: SnapshotAssertion) -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    assert result.stdout == text_snapshot


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help(command: str, text_snapshot: SnapshotAssertion) -> None:
    result = run_cli(command, "--help")
    assert result.exit_code == 0
    assert result.stdout == text_snapshot


def test_unknown_command_is_a_usage_error() -> None:
    result = run_cli("valdate")
    assert result.exit_code == 2
    assert "No such command 'valdate'" in result.stderr


def test_unknown_option_is_a_usage_error() -> None:
    result = run_cli("validate", "--fromat", "json")
    assert result.exit_code == 2
    assert "No such option '--fromat'. Did you mean '--format'?" in result.stderr


@pytest.mark.parametrize("option", ["--provider", "--model"])
@pytest.mark.parametrize("value", ["", " ", " claude-haiku-4-5"])
def test_a_blank_provider_or_model_is_a_usage_error(option: str, value: str) -> None:
    # An empty value used to be ignored (the scenario's own ran) and a padded one sent as is.
    result = run_cli("run", option, value, str(REPO / "scenarios" / "calculator.md"))
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': " in result.stderr
    assert "give a name, without spaces around it" in result.stderr


class TestAgents:
    def test_list(self) -> None:
        result = run_cli("agents")
        assert result.exit_code == 0
        assert [line.split()[0] for line in result.stdout.splitlines()] == [
            "command",
            "data-collector",
            "http",
            "llm",
            "python",
        ]

    def test_show_config_schema(self, text_snapshot: SnapshotAssertion) -> None:
        result = run_cli("agents", "data-collector")
        assert result.exit_code == 0
        assert result.stdout == text_snapshot

    def test_json(self) -> None:
        result = run_cli("agents", "llm", "--json")
        data = json.loads(result.stdout)
        assert data["name"] == "llm"
        assert data["config_schema"]["max_attempts"] == {
            "type": "integer",
            "default": 1,
            "min": 1,
            "max": 10,
            "required": False,
            "description": data["config_schema"]["max_attempts"]["description"],
        }

    def test_unknown_agent(self) -> None:
        result = run_cli("agents", "data-colector")
        assert (result.exit_code, result.stderr) == (
            2,
            "goalctl: error: unknown agent 'data-colector' (did you mean 'data-collector'?)\n",
        )


class TestSchema:
    def test_checked_in_schemas_are_up_to_date(self) -> None:
        result = run_cli("schema", "--check", "--out", str(REPO / "schemas"))
        assert result.exit_code == 0, result.stderr

    def test_check_reports_stale_files(self, tmp_path: Path) -> None:
        result = run_cli("schema", "--check", "--out", str(tmp_path))
        assert result.exit_code == 1
        assert f"{tmp_path / 'scenario.schema.json'} is stale" in result.stderr

    def test_write(self, tmp_path: Path) -> None:
        result = run_cli("schema", "--out", str(tmp_path / "out"))
        assert result.exit_code == 0
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
            "agent-manifest.schema.json",
            "baseline.schema.json",
            "front-matter.schema.json",
            "scenario.schema.json",
        ]


class TestErrorHandler:
    def test_a_bug_exits_4_and_writes_the_traceback(
        self, monkeypatch: pytest.MonkeyPatch, isolated_environment: Path
    ) -> None:
        def explode(paths: object, **options: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr("goalctl.validation.validate_paths", explode)
        result = run_cli("validate", "scenarios")
        assert result.exit_code == 4
        lines = result.stderr.splitlines()
        assert lines[0] == "goalctl: internal error: RuntimeError: boom"
        log = Path(lines[1].split(" is in ", 1)[1])
        assert log.parent == isolated_environment / "logs"
        text = log.read_text()
        assert "Traceback (most recent call last)" in text
        assert "RuntimeError: boom" in text

    def test_keyboard_interrupt_exits_130(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def interrupt(paths: object, **options: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr("goalctl.validation.validate_paths", interrupt)
        result = run_cli("validate", "scenarios")
        # click prints a newline first, so the message starts on its own line after "^C".
        assert (result.exit_code, result.stderr) == (130, "\ngoalctl: interrupted\n")
