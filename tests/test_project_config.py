"""The project configuration (DESIGN §14): ``goalctl.toml`` or ``[tool.goalctl]`` in
``pyproject.toml``, found from the working directory upwards, validated strictly with
``file:line:col``; command-line flags win over it and it wins over built-in defaults."""

from __future__ import annotations

import json
import os
from pathlib import Path
from textwrap import dedent

import pytest

from goalctl.config.project import load_project
from goalctl.errors import UsageError
from tests.conftest import run_cli

SCENARIO = """\
id: demo
name: Demo
description: A demo goal.
success_criteria:
  - {id: says-hi, description: Says hi, metric: output_contains, target: hi}
responses: ["hi there"]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder, the working directory, with one scenario in scenarios/."""
    root = tmp_path / "project"
    (root / "scenarios").mkdir(parents=True)
    (root / "scenarios" / "demo.yaml").write_text(SCENARIO)
    monkeypatch.chdir(root)
    return root


def write(root: Path, text: str, name: str = "goalctl.toml") -> Path:
    path = root / name
    path.write_text(dedent(text))
    return path


def problems(start: Path) -> str:
    with pytest.raises(UsageError) as info:
        load_project(start)
    return str(info.value)


# Finding and reading


def test_no_file_is_an_empty_configuration(project: Path) -> None:
    config = load_project(project)
    assert (config.path, config.provider, config.concurrency, config.exclude) == (
        None,
        None,
        None,
        (),
    )


def test_found_from_a_subfolder_and_read(project: Path) -> None:
    write(
        project,
        """
        state_dir = "var/goalctl"
        concurrency = 4
        provider = "scripted"
        model = "acme-large"
        judge_model = "acme-small"
        exclude = ["drafts", "scenarios/old/*"]
        redact = ['\\d{4}-\\d{4}']
        [prices.acme-large]
        input = 2.5
        output = 10
        """,
    )
    config = load_project(project / "scenarios")

    assert config.path == project / "goalctl.toml"
    assert config.state_dir == project / "var" / "goalctl"
    assert (config.concurrency, config.provider, config.model, config.judge_model) == (
        4,
        "scripted",
        "acme-large",
        "acme-small",
    )
    assert config.exclude == ("drafts", "scenarios/old/*")
    assert config.redact == ("\\d{4}-\\d{4}",)
    assert (config.prices["acme-large"].input, config.prices["acme-large"].output) == (2.5, 10)


def test_the_tool_table_of_pyproject_is_read(project: Path) -> None:
    write(project, '[project]\nname = "x"\n\n[tool.goalctl]\nconcurrency = 3\n', "pyproject.toml")
    assert load_project(project).concurrency == 3


def test_a_pyproject_without_the_table_is_passed_over(project: Path) -> None:
    write(project, "concurrency = 5\n")
    sub = project / "pkg"
    sub.mkdir()
    write(sub, '[project]\nname = "x"\n', "pyproject.toml")
    assert load_project(sub).concurrency == 5


# Strict validation, at file:line:col


def test_every_problem_is_reported_at_its_line_with_did_you_mean(project: Path) -> None:
    path = write(
        project,
        """\
        concurency = 4
        provider = "scriptd"
        exclude = "drafts"
        redact = ["("]

        [prices."acme-large"]
        input = -1
        outptu = 3
        """,
    )
    assert problems(project).splitlines() == [
        f"{path}:1:1: concurency: unknown key 'concurency' (did you mean 'concurrency'?)",
        f"{path}:2:1: provider: unknown provider 'scriptd' (did you mean 'scripted'?)",
        f"{path}:3:1: exclude: must be a list of glob patterns",
        f"{path}:4:1: redact[0]: invalid regular expression: missing ) at position 1",
        f"{path}:7:1: prices.acme-large.input: must be between 0 and 100,000 (USD per million "
        "tokens), got -1",
        f"{path}:8:1: prices.acme-large.outptu: unknown key 'outptu' (did you mean 'output'?)",
        f"{path}:6:1: prices.acme-large.output: is required",
    ]


def test_positions_inside_the_tool_table_and_inline_tables(project: Path) -> None:
    path = write(
        project,
        """\
        [tool.black]
        concurrency = "ignored: another tool's table"

        [tool.goalctl]
        concurrency = 0
        prices = {acme = {input = 1, output = "ten"}}
        """,
        "pyproject.toml",
    )
    assert problems(project).splitlines() == [
        f"{path}:5:1: concurrency: must be an integer from 1 to 1024, got 0",
        f"{path}:6:30: prices.acme.output: must be a number of US dollars per million tokens",
    ]


def test_a_toml_syntax_error_has_its_position(project: Path) -> None:
    path = write(project, "concurrency = 4\nmodel = \n")
    assert problems(project) == f"{path}:2:9: invalid TOML: invalid value"


def test_a_broken_file_is_exit_2_for_a_command(project: Path) -> None:
    path = write(project, "concurrency = true\n")
    result = run_cli("run", "scenarios")
    assert (result.exit_code, result.stderr) == (
        2,
        f"goalctl: error: {path}:1:1: concurrency: must be an integer from 1 to 1024, got true\n",
    )


# Wired for real: flags > project > built-in defaults


def test_state_dir_provider_model_and_concurrency_apply(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOALCTL_STATE_DIR")
    write(
        project,
        """
        state_dir = "var/state"
        provider = "scripted"
        model = "claude-haiku-4-5"
        concurrency = 2
        """,
    )
    result = run_cli("run", "--json", "scenarios")

    assert result.exit_code == 0, result.stderr
    [run] = (project / "var" / "state" / "runs").iterdir()
    state = json.loads((run / "state.json").read_text())
    assert (state["provider"], state["model"], state["options"]["concurrency"]) == (
        "scripted",
        "claude-haiku-4-5",
        2,
    )


def test_flags_and_the_environment_win(
    project: Path, tmp_path: Path, isolated_environment: Path
) -> None:
    write(project, 'state_dir = "var/state"\nmodel = "claude-haiku-4-5"\nconcurrency = 2\n')
    (project / "scenarios" / "demo.yaml").write_text("provider: scripted\n" + SCENARIO)

    result = run_cli("run", "--model", "claude-sonnet-4-5", "--concurrency", "5", "scenarios")

    assert result.exit_code == 0, result.stderr
    assert not (project / "var").exists()
    [run] = (isolated_environment / "runs").iterdir()
    state = json.loads((run / "state.json").read_text())
    assert (state["model"], state["options"]["concurrency"]) == ("claude-sonnet-4-5", 5)
    elsewhere = tmp_path / "elsewhere"
    assert run_cli("--state-dir", str(elsewhere), "list").exit_code == 0


def test_the_scenario_own_provider_wins_over_the_project(
    project: Path, isolated_environment: Path
) -> None:
    write(project, 'provider = "anthropic"\n')
    (project / "scenarios" / "demo.yaml").write_text("provider: scripted\n" + SCENARIO)

    result = run_cli("run", "scenarios")

    assert result.exit_code == 0, result.stderr


def test_exclude_leaves_files_out_of_folder_scans(project: Path) -> None:
    (project / "scenarios" / "drafts").mkdir()
    (project / "scenarios" / "drafts" / "broken.yaml").write_text("id: [\n")
    assert run_cli("validate", "scenarios").exit_code == 1
    write(project, 'exclude = ["drafts"]\n')

    assert run_cli("validate", "scenarios").exit_code == 0
    matrix = run_cli("matrix", "scenarios")
    assert [e["id"] for e in json.loads(matrix.stdout)["include"]] == ["demo"]
    # A file named on the command line is the user's choice, as with symlinks.
    assert run_cli("validate", "scenarios/drafts/broken.yaml").exit_code == 1


def test_prices_and_judge_model_of_the_project_apply(
    project: Path, isolated_environment: Path
) -> None:
    write(
        project,
        """
        provider = "scripted"
        model = "acme-large"
        judge_model = "acme-judge"
        [prices.acme-large]
        input = 10000
        output = 0
        """,
    )
    scenario = project / "scenarios" / "demo.yaml"
    scenario.write_text(
        dedent(
            """\
            id: demo
            name: Demo
            description: A demo goal.
            success_criteria:
              - {id: judged, description: Greets warmly, metric: llm_judge}
            constraints:
              - {id: budget, description: Budget, category: cost, check: cost_usd <= 100}
            cases:
              - {name: one, responses: ["hi there"]}
            responses:
              - {match: Greets warmly, reply: '{"pass": true, "score": 1, "reason": "warm"}'}
            """
        )
    )
    # The judge model has no price: the cost check cannot be honest, so nothing runs.
    refused = run_cli("run", "scenarios")
    assert refused.exit_code == 2
    assert "model 'acme-judge' has no price" in refused.stderr

    config = project / "goalctl.toml"
    config.write_text(config.read_text() + "[prices.acme-judge]\ninput = 0\noutput = 0\n")
    result = run_cli("run", "scenarios")

    assert result.exit_code == 0, result.stderr
    [run] = (isolated_environment / "runs").iterdir()
    calls = [json.loads(line) for line in (run / "transcript.jsonl").read_text().splitlines()]
    assert [(c["purpose"], c["model"]) for c in calls] == [
        ("agent", "acme-large"),
        ("judge", "acme-judge"),
    ]
    assert calls[0]["cost_usd"] > 0


def test_redact_of_the_project_is_merged_with_the_scenario(
    project: Path, isolated_environment: Path
) -> None:
    # Redaction happens as replies arrive, so the criterion sees "hi [REDACTED]".
    write(project, 'provider = "scripted"\nredact = ["there"]\n')

    result = run_cli("run", "scenarios")

    assert result.exit_code == 0, result.stderr
    [run] = (isolated_environment / "runs").iterdir()
    transcript = (run / "transcript.jsonl").read_text()
    assert "there" not in transcript
    assert "hi [REDACTED]" in transcript


def test_hostile_files_are_clear_errors(project: Path) -> None:
    path = project / "goalctl.toml"
    path.write_text("exclude = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert problems(project) == f"{path}: invalid TOML: nested too deeply"

    path.write_bytes(b"model = '\xff'\n")
    assert problems(project).startswith(f"{path}: ")
    assert "UTF-8" in problems(project)


def test_huge_integers_are_clear_errors(project: Path) -> None:
    # Python refuses to read (or print) integers past 4,300 decimal digits; hexadecimal
    # ones it reads. Neither may become an internal error.
    path = project / "goalctl.toml"
    path.write_text("concurrency = 1" + "0" * 5000 + "\n")
    assert problems(project) == (
        f"{path}: invalid TOML: an integer has more than 4,300 digits (write a smaller number)"
    )
    huge = "0x" + "f" * 5000
    path.write_text(f"concurrency = {huge}\n[prices.acme]\ninput = {huge}\noutput = 1\n")
    assert problems(project).splitlines() == [
        f"{path}:1:1: concurrency: must be an integer from 1 to 1024, got an integer of 6,021 digits",
        f"{path}:3:1: prices.acme.input: must be between 0 and 100,000 (USD per million tokens), "
        "got an integer of 6,021 digits",
    ]
    path.write_text(f"state_dir = {huge}\n")
    assert problems(project) == (
        f"{path}:1:1: state_dir: must be a non-empty string, got an integer of 6,021 digits"
    )


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_project_file_that_is_not_a_regular_file_is_refused(project: Path, kind: str) -> None:
    # Passing it over would run with settings the user did not get; reading it could hang.
    path = project / "goalctl.toml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    result = run_cli("validate", "scenarios")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"goalctl: error: {path}: ")
    assert "regular file" in result.stderr
