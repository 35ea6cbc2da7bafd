"""Input that once crashed the interpreter or escaped the exit-code table (issue 10, items 1
and 6): deep block YAML anywhere goalctl reads YAML, huge integers, and a worker process of
``validate`` that dies.

Deep nesting runs goalctl in a bounded child process (:mod:`tests.support.isolated`): before
the fix it was a segfault, which in-process would kill pytest.
"""

from __future__ import annotations

import faulthandler
import os
import signal
from pathlib import Path

import pytest

from goalctl import validation
from goalctl.scenario.yamlsafe import MAX_BLOCK_DEPTH, MAX_INT_DIGITS, YamlLoadError, load_yaml
from tests.conftest import SCENARIOS, run_cli
from tests.support.isolated import run_isolated

LEVELS = 40_000
"""Deep enough to overflow libyaml's recursive composer on an 8 MiB stack."""

HEAD = (
    "id: deep\nname: Deep\ndescription: Deep nesting\nversion: 1.0.0\nprovider: scripted\n"
    "success_criteria: [{id: ok, description: It answers, metric: output_contains, target: ok}]\n"
    "cases: [{name: first, input: {word: hi}}]\nresponses: [ok]\n"
)
DEEP = {"sequences": "- " * LEVELS + "1\n", "explicit keys": "? " * LEVELS + "1\n"}
PROMPT = "\n# Deep\n\nDeep nesting.\n\n## Prompt\n\n```jinja\nSay {{ input.word }}.\n```\n"


def deep_files(tmp_path: Path, deep: str) -> dict[str, tuple[Path, int, int]]:
    """Scenario files with ``deep`` as a context value: each path with its line and column."""
    yaml_file = tmp_path / "deep.yaml"
    yaml_file.write_text(HEAD + "context:\n  k:\n    " + deep, encoding="utf-8")
    front = tmp_path / "front.md"
    front.write_text("---\n" + HEAD + "context:\n  k:\n    " + deep + "---\n" + PROMPT)
    fence = tmp_path / "fence.md"
    fence.write_text(
        "---\n" + HEAD + "---\n" + PROMPT + "\n## Context\n\n```yaml\nk:\n  " + deep + "```\n"
    )
    return {
        "yaml": (yaml_file, 11, 5),
        "front matter": (front, 12, 5),
        "context fence": (fence, 26, 3),
    }


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_deep_block_yaml_is_a_problem_not_a_crash(shape: str, tmp_path: Path) -> None:
    files = deep_files(tmp_path, DEEP[shape])
    for name, (path, line, col) in files.items():
        outcome = run_isolated("validate", path, cwd=tmp_path)
        assert outcome.code == 1, (name, outcome)
        assert outcome.stdout.startswith(
            f"{path}:{line}:{col}: block nesting (indentation and '-', '?', ':' indicators) is "
            f"deeper than {MAX_BLOCK_DEPTH} levels (flatten the document)\n"
        ), (name, outcome)


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_a_deep_config_file_is_a_usage_error_not_a_crash(shape: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("max_tokens:\n  " + DEEP[shape], encoding="utf-8")
    outcome = run_isolated(
        "run", "--config-file", config, SCENARIOS / "calculator.md", cwd=tmp_path
    )
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr.startswith(f"goalctl: error: --config-file {config}:2:3: block nesting")


@pytest.mark.parametrize(
    "text",
    [
        "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 300)),
        "a:\n" + "".join(" " * (2 * i) + "- - b:\n" for i in range(1, 100)),
        "- " * (MAX_BLOCK_DEPTH + 1) + "1\n",
    ],
    ids=["indentation", "indentation and indicators", "indicators"],
)
def test_block_nesting_is_bounded_before_parsing(text: str) -> None:
    with pytest.raises(YamlLoadError, match=f"deeper than {MAX_BLOCK_DEPTH} levels"):
        load_yaml(text)


def test_nesting_within_the_bound_loads() -> None:
    deepest = "- " * 60 + "1\n"
    data = load_yaml(deepest).data
    for _ in range(60):
        data = data[0]
    assert data == 1
    text = "a:\n" + "".join(" " * (2 * i) + "b:\n" for i in range(1, 60)) + " " * 120 + "c\n"
    assert load_yaml(text).data is not None


# --- Integers -------------------------------------------------------------------------------

BIG = {
    "hex": "0x" + "f" * 5000,
    "octal": "0o" + "7" * 5000,
    "decimal": "9" * 5000,
    "negative hex": "-0x" + "f" * (MAX_INT_DIGITS + 1),
}


@pytest.mark.parametrize("name", sorted(BIG))
def test_huge_integers_are_refused_at_their_place(name: str) -> None:
    with pytest.raises(YamlLoadError) as caught:
        load_yaml(f"a: 1\nb: [1, {BIG[name]}]\n", first_line=3)
    issue = caught.value.issue
    assert (issue.line, issue.col, issue.key) == (4, 8, "b[1]")
    assert issue.message.startswith(f"integer {BIG[name][:12]}")
    assert issue.message.endswith(f"has more than {MAX_INT_DIGITS:,} digits")


def test_integers_up_to_the_bound_load() -> None:
    widest = "0x" + "0" * 5000 + "f" * MAX_INT_DIGITS  # leading zeros are no size
    assert load_yaml(f"a: {widest}\n").data == {"a": 16**MAX_INT_DIGITS - 1}
    assert load_yaml("a: 1_000\n").data == {"a": 1000}


def test_huge_integers_in_a_scenario_and_a_config_file(tmp_path: Path) -> None:
    scenario = tmp_path / "big.yaml"
    scenario.write_text(HEAD + f"config: {{max_tokens: {BIG['hex']}}}\n", encoding="utf-8")
    for command in (("validate",), ("run", "--provider", "scripted")):
        result = run_cli(*command, str(scenario))
        assert result.exit_code == 1, command
        assert f"{scenario}:9:22: config.max_tokens: integer 0xffffffffff" in (
            result.stdout + result.stderr
        )
    config = tmp_path / "config.yaml"
    config.write_text(f"max_tokens: {BIG['hex']}\n", encoding="utf-8")
    result = run_cli("run", "--config-file", str(config), str(SCENARIOS / "calculator.md"))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"goalctl: error: --config-file {config}:1:13: integer 0xffffffffff"
    )


# --- A worker of validate that dies -----------------------------------------------------------


POISON: set[str] = set()
"""Names of the files whose reading kills the worker process (set by the test below)."""
_read_light = validation._read_light


def _crashing_read(path: Path) -> validation.LoadResult:
    if path.name in POISON:
        faulthandler.disable()  # pytest's: it would print the worker's stack on the way down
        os.kill(os.getpid(), signal.SIGSEGV)  # what deep YAML did to libyaml
    return _read_light(path)


def test_a_dead_validate_worker_reports_its_file_and_the_rest_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (SCENARIOS / "calculator.md").read_text(encoding="utf-8")
    for index in range(validation.PARALLEL_MIN_FILES * 2):
        (tmp_path / f"s{index:03}.md").write_text(
            source.replace("id: calculator", f"id: calc-{index:03}"), encoding="utf-8"
        )
    POISON.update({"s007.md", "s100.md"})
    try:
        monkeypatch.setattr(validation, "_read_light", _crashing_read)  # inherited by fork
        report = validation.validate_paths([tmp_path], keep_scenarios=False, jobs=2)
    finally:
        POISON.clear()
    assert len(report.results) == validation.PARALLEL_MIN_FILES * 2
    bad = {result.path.name: result.problems for result in report.invalid}
    assert set(bad) == {"s007.md", "s100.md"}
    for problems in bad.values():
        assert [(p.line, p.col, p.message) for p in problems] == [
            (1, 1, "checking this file crashed the process that read it (killed by SIGSEGV)")
        ]
