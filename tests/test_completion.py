"""Shell completion through click's own protocol (``_GOALCTL_COMPLETE``), the script that
``goalctl completion SHELL`` prints, and a real bash using it; the grouped ``--help``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

SCENARIO = "scenarios/support-triage.md"


def complete(line: str, shell: str = "bash", env: dict[str, str] | None = None) -> list[str]:
    """What goalctl answers a shell that asks for completions of ``line`` (cursor at its end)."""
    words = line.split(" ")
    protocol = {
        "_GOALCTL_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1) if shell != "fish" else words[-1],
    }
    result = run_cli(env={**protocol, **(env or {})})
    assert (result.exit_code, result.stderr) == (0, "")
    if shell == "zsh":
        lines = [line for line in result.stdout.splitlines() if line]
        return [f"{kind},{value}" for kind, value, _ in zip(*[iter(lines)] * 3, strict=True)]
    return [line for line in result.stdout.splitlines() if line]


def make_runs(state: Path, *run_ids: str) -> None:
    for index, run_id in enumerate(run_ids):
        folder = state / "runs" / run_id
        folder.mkdir(parents=True)
        os.utime(folder, (1_700_000_000 + index, 1_700_000_000 + index))


class TestRunIds:
    def test_commands_taking_a_run_id_complete_those_in_the_state_dir_newest_first(
        self, isolated_environment: Path
    ) -> None:
        make_runs(isolated_environment, "calc-0000000a", "calc-0000000b", "triage-0000000c")
        (isolated_environment / "runs" / "not-a-run").mkdir()
        for command in ("status", "logs", "stop", "start", "cleanup", "report"):
            assert complete(f"goalctl {command} ") == [
                "plain,triage-0000000c",
                "plain,calc-0000000b",
                "plain,calc-0000000a",
            ], command
        assert complete("goalctl logs calc") == ["plain,calc-0000000b", "plain,calc-0000000a"]

    def test_the_state_dir_option_names_the_runs(self, tmp_path: Path) -> None:
        make_runs(tmp_path / "elsewhere", "calc-0000000a")
        assert complete(f"goalctl --state-dir {tmp_path / 'elsewhere'} status ") == [
            "plain,calc-0000000a"
        ]
        assert complete("goalctl status ") == []

    def test_ids_already_given_are_not_offered_again(self, isolated_environment: Path) -> None:
        make_runs(isolated_environment, "calc-0000000a", "calc-0000000b")
        assert complete("goalctl cleanup calc-0000000a ") == ["plain,calc-0000000b"]

    def test_no_state_dir_completes_nothing(self) -> None:
        assert complete("goalctl status ") == []


class TestScenarios:
    @pytest.mark.parametrize("command", ["run", "validate", "matrix", "render"])
    def test_scenario_arguments_use_the_shells_path_completion(self, command: str) -> None:
        assert complete(f"goalctl {command} scen") == ["file,scen"]

    def test_case_names_of_the_scenario_named(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(REPO)
        assert complete(f"goalctl render {SCENARIO} --case ") == [
            "plain,double-charge",
            "plain,locked-out",
        ]
        assert complete(f"goalctl run {SCENARIO} --case lo") == ["plain,locked-out"]

    def test_judged_criteria_of_the_scenario_named(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(REPO)
        assert complete(f"goalctl render {SCENARIO} --judge ") == ["plain,fits-request"]

    def test_a_scenario_that_does_not_load_completes_no_case(self, tmp_path: Path) -> None:
        broken = tmp_path / "broken.yaml"
        broken.write_text("id: [\n", encoding="utf-8")
        assert complete(f"goalctl render {broken} --case ") == []


def test_agent_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert complete("goalctl agents ") == [
        "plain,command",
        "plain,data-collector",
        "plain,http",
        "plain,llm",
        "plain,python",
    ]
    assert complete("goalctl agents d", shell="zsh") == ["plain,data-collector"]
    assert complete("goalctl agents l", shell="fish") == ["plain,llm"]


def test_commands_complete_without_the_hidden_worker() -> None:
    names = [item.removeprefix("plain,") for item in complete("goalctl ")]
    assert "_worker" not in names
    assert {"run", "status", "completion", "init"} <= set(names)


class TestCompletionCommand:
    @pytest.mark.parametrize(
        ("shell", "marker"),
        [
            ("bash", "_GOALCTL_COMPLETE=bash_complete"),
            ("zsh", "#compdef goalctl"),
            ("fish", "_GOALCTL_COMPLETE=fish_complete"),
        ],
    )
    def test_prints_the_script(self, shell: str, marker: str) -> None:
        result = run_cli("completion", shell)
        assert (result.exit_code, result.stderr) == (0, "")
        assert marker in result.stdout

    def test_an_unknown_shell(self) -> None:
        result = run_cli("completion", "tcsh")
        assert result.exit_code == 2
        assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr

    @pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
    def test_a_real_bash_completes_run_ids(
        self, isolated_environment: Path, venv_on_path: None
    ) -> None:
        make_runs(isolated_environment, "calc-0000000a", "triage-0000000c")
        script = run_cli("completion", "bash").stdout
        program = (
            f"{script}\n"
            "COMP_WORDS=(goalctl status tr); COMP_CWORD=2\n"
            "_goalctl_completion goalctl\n"
            'printf "%s\\n" "${COMPREPLY[@]}"\n'
        )
        done = subprocess.run(
            ["bash", "--norc", "--noprofile", "-c", program],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "triage-0000000c\n", "")


def test_help_lists_commands_by_what_they_are_for() -> None:
    result = run_cli("--help")
    sections = [line for line in result.stdout.splitlines() if line and not line[0].isspace()]
    assert sections[-5:] == ["Author scenarios:", "Run:", "Inspect runs:", "CI:", "Shell:"]
    listed = result.stdout.split("Author scenarios:")[1]
    assert "_worker" not in listed
    assert [line.split()[0] for line in listed.splitlines() if line.startswith("  ")] == [
        "init", "validate", "render", "agents", "schema",
        "run", "stop", "start",
        "status", "list", "logs", "report", "baseline", "rescore", "cleanup",
        "matrix",
        "completion",
    ]  # fmt: skip


def test_a_command_in_no_section_is_still_listed() -> None:
    import click

    from goalctl.cli.help import SectionedGroup

    group = SectionedGroup(name="g")
    group.add_command(click.Command("run", help="Run."))
    group.add_command(click.Command("fresh", help="Something new."))
    text = group.get_help(click.Context(group))
    assert text.endswith("Run:\n  run    Run.\n\nOther commands:\n  fresh  Something new.")
