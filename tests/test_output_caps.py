"""Stored outputs are capped (issue 10 item 5): a huge reply is evaluated whole, but each copy
goalctl keeps of it (checkpoint, report, transcript) holds at most :data:`MAX_STORED_CHARS`
characters of it and says how much was left out."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from goalctl.caps import MAX_STORED_CHARS, cap_text
from tests.conftest import run_cli
from tests.support.messages_server import MessagesServer, Reply
from tests.test_provider_anthropic import KEY, PROXY_VARIABLES

HUGE = "x" * (3 * MAX_STORED_CHARS) + " the answer is ok"


@pytest.fixture
def huge_reply(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesServer]:
    for name in (*PROXY_VARIABLES, "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with MessagesServer(responder=lambda request: Reply(text=HUGE)) as running:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.url)
        yield running


def test_a_huge_reply_is_evaluated_whole_and_stored_capped(
    huge_reply: MessagesServer, tmp_path: Path
) -> None:
    scenario = tmp_path / "huge.yaml"
    scenario.write_text(
        "id: huge\nname: Huge\ndescription: A huge reply\nversion: 1.0.0\n"
        "provider: anthropic\nmodel: claude-haiku-4-5\n"
        "success_criteria: [{id: ends-ok, description: The end says ok, "
        "metric: output_contains, target: answer is ok}]\n"
        "cases: [{name: first, input: {word: hi}}]\n",
        encoding="utf-8",
    )
    result = run_cli("run", "--json", str(scenario))
    assert result.exit_code == 0, result.stderr  # met: "answer is ok" is past the cap
    (run_dir,) = (Path(os.environ["GOALCTL_STATE_DIR"]) / "runs").iterdir()
    # Copies of the reply each file holds (output and text), each capped, and what is around.
    copies = {"checkpoint.jsonl": 2, "report.json": 2, "transcript.jsonl": 1, "report.md": 1}
    for name, count in copies.items():
        assert (run_dir / name).stat().st_size < count * MAX_STORED_CHARS + 100_000, name
    (record,) = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))["cases"]
    stored = cap_text(HUGE)
    assert (record["text"], record["output"]) == (stored, stored)
    (call,) = [json.loads(line) for line in (run_dir / "transcript.jsonl").read_text().splitlines()]
    assert call["response"] == stored


def test_cap_text_keeps_the_start_and_says_what_is_left_out() -> None:
    small = "y" * MAX_STORED_CHARS
    assert cap_text(small) is small
    text = small + "zz"
    capped = cap_text(text)
    assert capped.startswith(small)
    assert capped[len(small) :] == (
        f"\n[… goalctl stored the first {MAX_STORED_CHARS:,} of {len(text):,} characters]"
    )
