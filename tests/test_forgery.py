"""Nothing from a file forges CI output: under GitHub Actions no line goalctl prints can start a
workflow command, except the annotations goalctl composes itself."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goalctl.reports.github import annotation, neutralize
from tests.conftest import run_cli

GITHUB = {"GITHUB_ACTIONS": "true"}
FORGED = "ok\n::error file=x.py,line=1::forged\r  ::stop-commands::tok\nsee ##[error]legacy"


def runner_lines(text: str) -> list[str]:
    """Lines as the Actions runner reads them: split on \\r, \\n and \\r\\n."""
    return re.split(r"\r\n|\r|\n", text)


def starts_command(line: str) -> bool:
    """Whether the runner would run ``line`` as a command (v2 ``::``, or legacy ``##[``)."""
    return line.lstrip().startswith("::") or "##[" in line


def forged(output: str) -> list[str]:
    """Lines that start a command but are not goalctl's own annotations."""
    own = re.compile(r"^::(error|warning|notice) [^\n]*title=goalctl[^\n]*::")
    return [line for line in runner_lines(output) if starts_command(line) and not own.match(line)]


@given(st.text(alphabet=st.sampled_from(":#[ \t\r\n\u2028\u00a0ax"), max_size=40))
def test_no_text_survives_as_a_command(text: str) -> None:
    for syntax in ("text", "json", "xml"):
        assert not any(starts_command(line) for line in runner_lines(neutralize(text, syntax)))


def test_escapes_keep_the_meaning_of_json_and_xml() -> None:
    data = {"name": "x ##[error]y", "list": ["::error::z"]}
    text = json.dumps(data, indent=2)
    assert json.loads(neutralize(text, "json")) == data
    element = ET.Element("failure", message="##[error]m")
    element.text = "a\n::error::b"
    xml = ET.tostring(element, encoding="unicode")
    parsed = ET.fromstring(neutralize(xml, "xml"))
    assert (parsed.get("message"), parsed.text) == ("##[error]m", "a\n::error::b")


def test_goalctls_own_annotations_pass_unchanged() -> None:
    line = annotation("error", FORGED, file="a.md", line=2, title="goalctl: t")
    assert neutralize(line) == line
    assert not forged(line)
    # Only a command goalctl composed passes: the same text from anywhere else is escaped.
    assert neutralize(str(line)) != line


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = Path("hostile.yaml")
    path.write_text(
        "id: hostile\nname: Hostile\ndescription: A stranger's pull request.\n"
        "provider: scripted\n"
        "prompt: |\n  ::error::forged from the template\n  ##[stop-commands]tok\n"
        "success_criteria:\n"
        "  - {id: said-hi, description: Says hi, metric: output_equals, target: hi}\n"
        f"responses: [{json.dumps(FORGED)}]\n"
    )
    return path


def test_run_and_its_reports_forge_nothing(hostile: Path) -> None:
    result = run_cli("run", str(hostile), "--json", env=GITHUB)
    assert result.exit_code == 1
    assert forged(result.stdout + result.stderr) == []
    run_id = json.loads(result.stdout[result.stdout.index("{") :])["runs"][0]["run_id"]
    for fmt in ("md", "json", "junit"):
        shown = run_cli("report", run_id, "--format", fmt, env=GITHUB)
        assert shown.exit_code == 0
        assert forged(shown.stdout) == []
        assert "forged" in shown.stdout  # escaped, not dropped
    logs = run_cli("logs", run_id, "--json", env=GITHUB)
    assert forged(logs.stdout) == []


def test_run_annotations_are_the_only_commands(hostile: Path) -> None:
    result = run_cli("run", str(hostile), env=GITHUB)
    assert result.exit_code == 1
    assert forged(result.stdout + result.stderr) == []
    assert [line[:8] for line in result.stdout.splitlines() if line.startswith("::")] == [
        "::error "
    ]


def test_render_forges_nothing_and_is_raw_outside_actions(hostile: Path) -> None:
    under_actions = run_cli("render", str(hostile), env=GITHUB)
    assert forged(under_actions.stdout) == []
    assert "\\::error::forged from the template" in under_actions.stdout
    assert "##\\[stop-commands]tok" in under_actions.stdout
    elsewhere = run_cli("render", str(hostile))
    assert "\n::error::forged from the template\n" in elsewhere.stdout


def test_matrix_forges_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s").mkdir()
    Path("s/##[error]x.yaml").write_text(
        "id: x\nname: X\ndescription: d\nprovider: scripted\nsuccess_criteria:\n"
        "  - {id: a, description: A, metric: output_contains, target: a}\n"
    )
    result = run_cli("matrix", "s", env=GITHUB)
    assert result.exit_code == 0
    assert forged(result.stdout) == []
    [entry] = json.loads(result.stdout)["include"]
    assert entry["scenario"] == "s/##[error]x.yaml"


CONTROLLED = """\
id: hostile
name: "Hostile\\e[2J"
description: |
  A goal's description may span lines.
provider: scripted
success_criteria:
  - id: said-hi
    description: "Says hi\\n::error::forged"
    metric: output_contains
    target: hi
constraints:
  - id: calm
    description: "Stays calm\\u2028::stop-commands::tok"
    check: "True"
cases:
  - name: "first\\r::warning::forged"
  - name: second
    description: |
      Case descriptions are prose.
"""


REMEDY = "(write it on one line of printable text: names are shown in reports and CI logs)"


def test_validate_refuses_control_characters_in_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("hostile.yaml").write_text(CONTROLLED)
    result = run_cli("validate", "hostile.yaml")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "hostile.yaml:2:7: name: contains the control character U+001B " + REMEDY,
        "hostile.yaml:8:18: success_criteria[0].description: contains a line break U+000A "
        + REMEDY,
        "hostile.yaml:13:18: constraints[0].description: contains a line break U+2028 " + REMEDY,
        "hostile.yaml:16:11: cases[0].name: contains a line break U+000D " + REMEDY,
    ]


def test_a_folded_description_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "folded.yaml"
    path.write_text(
        CONTROLLED.replace('"Hostile\\e[2J"', "Hostile")
        .replace('"Says hi\\n::error::forged"', ">\n      Says hi,\n      politely")
        .replace('"Stays calm\\u2028::stop-commands::tok"', "Stays calm")
        .replace('"first\\r::warning::forged"', "first")
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == 0, result.stdout


def test_progress_is_plain_lines_under_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rich writes to the terminal itself, past the escaping point; a runner given a TTY
    # (self-hosted, `script`) must still get the escaped plain lines.
    from goalctl import console

    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.setenv("TERM", "xterm")
    assert console.interactive()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert not console.interactive()


def test_usage_errors_from_click_forge_nothing() -> None:
    result = run_cli("run", "--x\n::error::forged", env=GITHUB)
    assert result.exit_code == 2
    assert "No such option" in result.stderr
    assert forged(result.stderr) == []
