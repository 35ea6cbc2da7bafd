"""Configured patterns never reach transcripts or cassettes; redacted cassettes still replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from goalctl.redaction import MARK, Redactor
from tests.conftest import run_cli
from tests.support.messages_server import MessagesServer, Reply

SCENARIO = """\
id: support
name: Support
description: Answer customers.
provider: scripted
redact: ['[\\w.]+@example\\.com', 'ACCT-\\d+']
success_criteria:
  - {id: answers, description: Answers, metric: output_contains, target: Thanks}
cases:
  - {name: ana, input: {email: ana@example.com, account: ACCT-991}}
responses: ["Thanks ana@example.com, account ACCT-991 is fine."]
"""


def test_transcripts_and_cassettes_are_redacted_and_still_replay(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "support.yaml"
    path.write_text(
        SCENARIO.replace("provider: scripted", "provider: anthropic\nmodel: claude-haiku-4-5")
    )
    with MessagesServer([Reply("Thanks ana@example.com, account ACCT-991 is fine.")]) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-redaction-000000")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        assert run_cli("run", "--record", str(path)).exit_code == 0
    [run_dir] = (isolated_environment / "runs").iterdir()
    transcript = (run_dir / "transcript.jsonl").read_text()
    cassette = (tmp_path / "support.cassette.jsonl").read_text()
    for text in (transcript, cassette):
        assert "ana@example.com" not in text
        assert "ACCT-991" not in text
        assert MARK in text
    [call] = [json.loads(line) for line in transcript.splitlines()]
    assert call["response"] == "Thanks [REDACTED], account [REDACTED] is fine."
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    replayed = run_cli("run", "--provider", "replay", "--json", str(path))
    assert replayed.exit_code == 0, replayed.stdout
    assert json.loads(replayed.stdout)["runs"][0]["verdict"] == "achieved"


def test_an_invalid_pattern_is_a_located_problem(tmp_path: Path) -> None:
    path = tmp_path / "support.yaml"
    path.write_text(SCENARIO.replace("'ACCT-\\d+'", "'ACCT-(\\d+'"))
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout == (
        f"{path}:5:33: redact[1]: invalid regular expression: missing ) at position 9\n"
    )


def test_secret_values_are_always_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-123456")
    redactor = Redactor()
    assert redactor.data({"a": ["key sk-ant-secret-123456 here", 3]}) == {
        "a": ["key [REDACTED] here", 3]
    }


def test_nothing_to_redact_returns_equal_data_and_never_changes_the_original() -> None:
    # Always walked: gateway keys are hidden even where no pattern or secret is configured.
    data = {"a": "text", "b": ["gk-" + "x" * 32]}
    assert Redactor().data(data) == {"a": "text", "b": ["[REDACTED]"]}
    assert data == {"a": "text", "b": ["gk-" + "x" * 32]}


def test_redact_applies_to_every_file_a_run_writes(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "support.yaml"
    path.write_text(
        SCENARIO.replace(
            "target: Thanks}",
            "target: Thanks}\n"
            "  - {id: names, description: Names the account, metric: output_contains,"
            " target: '{{ input.account }} for {{ input.email }}'}\n"
            "constraints:\n"
            "  - {id: polite, description: Polite, check: \"'ACCT-991 rude' not in output\"}",
        )
    )
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    reports, junit = tmp_path / "reports", tmp_path / "junit.xml"
    result = run_cli(
        "run", "--report-dir", str(reports), "--junit", str(junit), "--json", str(path)
    )
    assert result.exit_code == 1, result.stderr
    [run_dir] = (isolated_environment / "runs").iterdir()
    written = [p for p in (*run_dir.iterdir(), *reports.iterdir(), junit, summary) if p.is_file()]
    names = {p.name for p in written}
    assert {"checkpoint.jsonl", "events.jsonl", "report.json", "report.md", "junit.xml"} <= names
    assert {"state.json", "transcript.jsonl", "summary.md"} <= names
    leaked = [
        p.name for p in written if any(s in p.read_text() for s in ("ana@example.com", "ACCT-991"))
    ]
    assert leaked == []
    report = json.loads((run_dir / "report.json").read_text())
    assert report["cases"][0]["input"] == {"email": MARK, "account": MARK}
    assert report["criteria"][1]["evidence"] == [f"ana: missing '{MARK} for {MARK}'"]


def test_every_form_of_a_secret_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = "sk-ant-first-half-1234", "second-half-5678"
    value = f"{first}\n{second}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", f" {value} \n")
    redactor = Redactor()
    texts = [value, repr(value), json.dumps(value), f"Bearer {value.encode()!r}", first, second]
    assert [redactor.text(t) for t in texts] == [
        MARK,
        f"'{MARK}'",
        f'"{MARK}"',
        f"Bearer b'{MARK}'",
        MARK,
        MARK,
    ]


def test_a_secret_remembered_during_a_run_is_hidden_from_then_on() -> None:
    from goalctl.keys import hide_secrets, remember_secret

    redactor = Redactor()  # made before the run's agent expanded its env
    secret = "token-from-the-environment-31415"

    remember_secret(secret)

    assert redactor.text(f"Bearer {secret}") == "Bearer [REDACTED]"
    assert redactor.data({"env": [f'"{secret}"']}) == {"env": ['"[REDACTED]"']}
    assert hide_secrets(f"x {secret!r}") == "x '[REDACTED]'"
    remember_secret("short")
    assert redactor.text("short") == "short"  # under 8 characters: would mangle ordinary text


def test_a_gateway_key_is_hidden_even_with_nothing_else_to_redact() -> None:
    """An agent that prints its environment must not leave its per-case key in the events."""
    from goalctl.redaction import Redactor

    key = "gk-" + "A1b2_C3d4-" * 3 + "xy"

    assert Redactor().data({"message": f"ANTHROPIC_API_KEY={key} done"}) == {
        "message": "ANTHROPIC_API_KEY=[REDACTED] done"
    }
    assert Redactor().text("gk-short stays") == "gk-short stays"
