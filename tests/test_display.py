"""What a person sees of ``goalctl run``: on a real pseudo-terminal, in a pipe, after Ctrl-C.

The terminal tests start ``goalctl`` on a pty (``tests/support/terminal.py``) and pin the
final screen, colours included, after the live display has been erased; the pipe tests pin
the plain lines a CI log gets. Both end with the same block, word for word.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from textwrap import dedent

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl.run_summary import total_cost_text
from goalctl.state import RunStatus, RunStore
from tests.conftest import run_cli
from tests.support.terminal import screen, spawn

GOALCTL = [sys.executable, "-m", "goalctl"]
TAGS = re.compile(r"</?[a-z]+>")

SCENARIOS = {
    "good.yaml": """
        id: greeter
        name: Greeter
        description: Says hello.
        provider: scripted
        provider_options: {latency_ms: 300}
        success_criteria:
          - {id: hello, description: Says hello, metric: output_contains, target: hello}
        cases: [{name: ada}, {name: bob}]
        responses: ["hello there"]
        """,
    "bad.yaml": """
        id: farewell
        name: Farewell
        description: Says goodbye.
        provider: scripted
        provider_options: {latency_ms: 300}
        success_criteria:
          - {id: goodbye, description: Says goodbye, metric: output_contains, target: goodbye}
        cases: [{name: polite, responses: ["goodbye"]}, {name: rude, responses: ["go away"]}]
        """,
    "broken.yaml": """
        id: broken
        name: Broken
        description: A program that crashes.
        agent: command
        config:
          command: "sh -c 'echo out of cheese >&2; exit 3'"
          output: text
        provider: scripted
        success_criteria:
          - {id: any, description: Answers, metric: output_contains, target: x}
        cases: [{name: only}]
        """,
}


def scenario_set(folder: Path, names: tuple[str, ...] = tuple(SCENARIOS)) -> Path:
    folder.mkdir()
    for name in names:
        (folder / name).write_text(dedent(SCENARIOS[name]).lstrip())
    return folder


def environment(**extra: str) -> dict[str, str]:
    """The test's environment (its home) without the host's colour or CI settings, and
    without a state dir: runs are kept in ``.goalctl`` of the working directory, as a new
    user's are, so the screen shows the report paths they see."""
    hidden = ("NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS", "GOALCTL_STATE_DIR")
    return {k: v for k, v in os.environ.items() if k not in hidden} | extra


def normalised(text: str) -> str:
    """Run ids, durations and the time column as every run prints them."""
    text = re.sub(r"\b([a-z][a-z-]*)-[0-9a-f]{8}\b", r"\1-{id}", text)
    return re.sub(r"\b\d+\.\d\ds\b", "{time}", text)


def on_terminal(folder: Path, *args: str, width: int = 100, **env: str) -> tuple[int, bytes, str]:
    session = spawn([*GOALCTL, "run", *args, "."], environment(**env), str(folder), width=width)
    code = session.finish(timeout=90)
    return code, bytes(session.output), screen(bytes(session.output))


def in_pipe(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GOALCTL, "run", *args, "."],
        capture_output=True,
        text=True,
        cwd=folder,
        env=environment(),
        timeout=90,
        check=False,
    )


def block(lines: list[str]) -> list[str]:
    """The block after the runs: from the first verdict line to the end."""
    verdict = re.compile(r"[a-z-]+-\{id\}: (achieved|not achieved|errored|stopped) — ")
    start = next(i for i, line in enumerate(lines) if verdict.match(line))
    return lines[start:]


class TestTerminal:
    def test_the_screen_ends_with_coloured_verdicts_and_a_summary_below_no_bar(
        self, tmp_path: Path, isolated_environment: Path, text_snapshot: SnapshotAssertion
    ) -> None:
        folder = scenario_set(tmp_path / "project")

        code, raw, shown = on_terminal(folder)

        assert code == 3
        assert "━".encode() in raw, "a progress display was drawn while the runs went on"
        assert "━" not in shown, "and erased before the verdicts"
        assert "<red>farewell-" in shown
        assert "<green>greeter-" in shown
        assert normalised(shown) == text_snapshot

    def test_no_color_keeps_the_progress_and_the_words(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        folder = scenario_set(tmp_path / "project")

        code, raw, shown = on_terminal(folder, NO_COLOR="1")
        _, _, coloured = on_terminal(folder)

        assert code == 3
        assert "━".encode() in raw
        assert not re.search(rb"\x1b\[[0-9;]*3[0-9](;[0-9]+)*m", raw), "no colour at all"
        assert normalised(shown) == normalised(TAGS.sub("", coloured))

    def test_a_terminal_and_a_pipe_end_with_the_same_words(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        folder = scenario_set(tmp_path / "project")

        _, _, shown = on_terminal(folder, width=250)
        piped = in_pipe(folder)

        terminal_block = block(normalised(TAGS.sub("", shown)).splitlines())
        assert terminal_block == block(normalised(piped.stdout).splitlines())
        assert "FAIL" not in piped.stdout + shown
        assert "ERROR" not in piped.stdout + shown


class TestPipe:
    def test_plain_lines_then_the_block(
        self, tmp_path: Path, isolated_environment: Path, text_snapshot: SnapshotAssertion
    ) -> None:
        folder = scenario_set(tmp_path / "project")

        result = in_pipe(folder, "--report-dir", "reports")

        assert result.returncode == 3, result.stderr
        assert "\x1b" not in result.stdout
        lines = normalised(result.stdout).splitlines()
        summary = block(lines)
        progress = lines[: len(lines) - len(summary)]
        # Cases of concurrent runs finish in any order: the progress lines are pinned sorted.
        assert normalised("\n".join([*sorted(progress), "", "---", "", *summary])) == text_snapshot

    def test_an_achieved_set_is_summed_up_in_green_words(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        folder = scenario_set(tmp_path / "project", ("good.yaml",))

        result = in_pipe(folder)

        assert result.returncode == 0
        [summary] = [line for line in result.stdout.splitlines() if line.startswith("1 run:")]
        assert normalised(summary) == (
            "1 run: 1 achieved, 0 not achieved, 0 errored — cost $0.000348 (simulated) — {time}"
        )


class TestCtrlC:
    def test_ctrl_c_names_the_resume_command_and_the_run_resumes(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        path = tmp_path / "slow.yaml"
        path.write_text(
            "id: slow\nname: Slow\ndescription: Cases that take a while.\nprovider: scripted\n"
            "provider_options: {latency_ms: 300}\n"
            "success_criteria: [{id: ok, description: Says ok, metric: output_contains, "
            "target: ok}]\nresponses: [ok]\ncases: [{name: c0}, {name: c1}, {name: c2}, "
            "{name: c3}, {name: c4}, {name: c5}, {name: c6}, {name: c7}]\n"
        )
        store = RunStore(isolated_environment)
        state_dir = {"GOALCTL_STATE_DIR": str(isolated_environment)}
        session = spawn(
            [*GOALCTL, "run", "--concurrency", "1", str(path)],
            environment(**state_dir),
            str(tmp_path),
        )
        deadline = time.monotonic() + 30
        while not store.list() or not store.read_checkpoint(store.list()[0].run_id):
            assert time.monotonic() < deadline, "the first case never finished"
            session.read_for(0.05)
        session.process.send_signal(signal.SIGINT)
        code = session.finish(timeout=30)

        [state] = store.list()
        shown = screen(bytes(session.output))
        assert code == 130
        assert state.status is RunStatus.STOPPED
        assert "━" not in shown
        assert shown.splitlines()[-2:] == [
            "<yellow>Stopped before the end; resume with:</yellow>",
            f"  <yellow>goalctl start {state.run_id}</yellow>",
        ]
        assert f"{state.run_id}: stopped — {state.cases_done}/8 cases finished" in shown

        assert run_cli("start", state.run_id).exit_code == 0
        deadline = time.monotonic() + 60
        while store.load(state.run_id).status is not RunStatus.COMPLETED:
            assert time.monotonic() < deadline, "the resumed run never completed"
            time.sleep(0.05)
        assert store.load(state.run_id).cases_done == 8


class TestOtherViews:
    def test_logs_give_the_reason_of_an_errored_case(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        folder = scenario_set(tmp_path / "project", ("broken.yaml",))
        result = run_cli("run", str(folder))
        [state] = RunStore(isolated_environment).list()

        logs = run_cli("logs", state.run_id)

        assert result.exit_code == 3
        assert any(
            line.endswith("ERROR case only: errored — command exited with status 3: out of cheese")
            for line in logs.stdout.splitlines()
        ), logs.stdout

    def test_list_and_status_write_verdicts_as_words(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        folder = scenario_set(tmp_path / "project", ("bad.yaml", "broken.yaml"))
        run_cli("run", str(folder))
        runs = {s.goal_id: s.run_id for s in RunStore(isolated_environment).list()}

        listing = run_cli("list").stdout

        assert "not_achieved" not in listing
        rows = {line.split()[0]: line.split()[2:-3] for line in listing.splitlines()[1:]}
        assert rows == {runs["farewell"]: ["not", "achieved"], runs["broken"]: ["errored"]}
        status = run_cli("status", runs["farewell"]).stdout.splitlines()
        assert "Verdict:  not achieved (score 0%)" in status


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        ([{"cost_usd": 0.001, "cost_basis": "simulated"}] * 2, "cost $0.002000 (simulated)"),
        ([{"cost_usd": 0.5}, {"cost_usd": 0.25}], "cost $0.750000"),
        (
            [{"cost_usd": 0.5}, {"cost_usd": 0.25, "cost_basis": "simulated"}],
            "cost $0.750000 (partly simulated)",
        ),
        (
            [
                {"cost_usd": 0.5},
                {"cost_usd": 0.0, "cost_basis": "unknown", "unpriced_models": ["m"]},
            ],
            "cost $0.500000 + unknown (no price for m)",
        ),
        # A run that errored before any call has no say in the label.
        (
            [{"cost_usd": 0.001, "cost_basis": "simulated"}, {"cost_usd": 0.0}],
            "cost $0.001000 (simulated)",
        ),
    ],
)
def test_the_total_cost_keeps_its_label(totals: list[dict[str, object]], expected: str) -> None:
    assert total_cost_text(totals) == expected


def test_the_command_line_loads_no_display_library_until_it_displays() -> None:
    code = "import sys, goalctl.cli; print(sorted(m for m in ('rich', 'goalctl.console') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
