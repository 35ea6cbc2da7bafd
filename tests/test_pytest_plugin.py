"""The pytest plugin, driven by pytester: scenarios collected as an item per criterion and
constraint, each scenario run once through the run store, pytest's selection honoured."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import REPO

pytest_plugins = ["pytester"]

# Runs land here: the autouse fixture of conftest.py points GOALCTL_STATE_DIR at it.
STATE = "state"


def scenario(
    pytester: pytest.Pytester,
    name: str,
    *,
    responses: str = "[hi there]",
    extra: str = "",
) -> Path:
    """A YAML scenario whose goal id is ``name``: criteria ``says-hi`` (line 6) and
    ``polite`` (line 7, weight 0.05), constraints ``cheap`` (hard) and ``brief`` (soft)."""
    path = pytester.path / f"{name}.yaml"
    path.write_text(
        f"id: {name}\n"
        f"name: {name}\n"
        "description: Greets\n"
        "provider: scripted\n"
        "success_criteria:\n"
        "  - {id: says-hi, description: Says hi, metric: output_contains, target: hi}\n"
        "  - {id: polite, description: Says there, metric: output_contains, target: there,"
        " weight: 0.05}\n"
        "constraints:\n"
        "  - {id: cheap, description: At most a cent, category: cost, check: cost_usd <= 0.01}\n"
        "  - {id: brief, description: Short, constraint_type: soft, check: len(text) < 5}\n"
        "cases: [{name: one, input: {}}, {name: two, input: {}}]\n"
        f"responses: {responses}\n" + extra,
        encoding="utf-8",
    )
    return path


def run_pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in a process of its own, as users run it. In-process runs would drop the
    modules goalctl imports lazily after each run (pytester restores ``sys.modules``) and mix
    two copies of them in the next."""
    return pytester.runpytest_subprocess(*args)


def runs(tmp_path: Path) -> list[str]:
    """The goal ids of the runs in the state dir, one per run, sorted."""
    folder = tmp_path / STATE / "runs"
    if not folder.is_dir():
        return []
    return sorted(entry.name.rsplit("-", 1)[0] for entry in folder.iterdir())


def test_an_item_per_criterion_and_constraint(pytester: pytest.Pytester, tmp_path: Path) -> None:
    scenario(pytester, "greeter")
    result = run_pytest(pytester, "--collect-only", "-q")
    assert result.outlines[:4] == [
        "greeter.yaml::criterion::says-hi",
        "greeter.yaml::criterion::polite",
        "greeter.yaml::constraint::cheap",
        "greeter.yaml::constraint::brief",
    ]
    assert runs(tmp_path) == []


def test_passes_and_fails_from_the_run_with_evidence_and_line(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scenario(pytester, "good", responses="[hi there]")
    scenario(pytester, "bad", responses="[bye]")
    result = run_pytest(pytester)
    # good's soft `brief` is violated ("hi there" is long): a warning, not a failure.
    result.assert_outcomes(passed=6, failed=2, warnings=1)
    assert runs(tmp_path) == ["bad", "good"]
    text = result.stdout.str()
    assert "bad.yaml:6: criterion `says-hi` unmet" in text
    assert "Says hi — 0/2 cases passed, needs 100%" in text
    assert "  evidence:\n    one: " in text
    assert "/report.md" in text
    result.stdout.fnmatch_lines(
        [
            "FAILED bad.yaml::criterion::says-hi*",
            "FAILED bad.yaml::criterion::polite*",
        ]
    )


def test_a_soft_violation_passes_with_a_warning(pytester: pytest.Pytester) -> None:
    scenario(pytester, "chatty", responses='["hi there, friend"]')
    result = run_pytest(pytester, "-W", "always")
    result.assert_outcomes(passed=4, warnings=1)
    result.stdout.fnmatch_lines(
        ["*GoalctlWarning: chatty.yaml:10: soft constraint `brief` violated*"]
    )


def test_k_runs_only_the_scenarios_of_selected_items(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scenario(pytester, "alpha")
    scenario(pytester, "beta")
    result = run_pytest(pytester, "-k", "alpha and says")
    result.assert_outcomes(passed=1, deselected=7)
    assert runs(tmp_path) == ["alpha"]


def test_x_stops_before_the_next_scenario_runs(pytester: pytest.Pytester, tmp_path: Path) -> None:
    scenario(pytester, "first", responses="[bye]")
    scenario(pytester, "second", responses="[bye]")
    result = run_pytest(pytester, "-x")
    result.assert_outcomes(failed=1)
    assert runs(tmp_path) == ["first"]


def test_lf_reruns_only_the_failed_scenario(pytester: pytest.Pytester, tmp_path: Path) -> None:
    scenario(pytester, "good")
    scenario(pytester, "bad", responses="[bye]")
    run_pytest(pytester).assert_outcomes(passed=6, failed=2, warnings=1)
    again = run_pytest(pytester, "--lf")
    again.assert_outcomes(failed=2, deselected=6)
    assert runs(tmp_path) == ["bad", "bad", "good"]


def test_junit_xml_names_items_and_failures(pytester: pytest.Pytester) -> None:
    scenario(pytester, "bad", responses="[bye]")
    run_pytest(pytester, "--junitxml=junit.xml", "-W", "ignore::UserWarning")
    root = ET.parse(pytester.path / "junit.xml").getroot()
    cases = {
        (case.get("classname"), case.get("name")): case.find("failure")
        for case in root.iter("testcase")
    }
    assert sorted(cases) == [
        ("bad.yaml.constraint", "brief"),
        ("bad.yaml.constraint", "cheap"),
        ("bad.yaml.criterion", "polite"),
        ("bad.yaml.criterion", "says-hi"),
    ]
    failure = cases[("bad.yaml.criterion", "says-hi")]
    assert failure is not None
    assert failure.text is not None
    assert "bad.yaml:6: criterion `says-hi` unmet" in failure.text
    assert "one: " in failure.text
    assert cases[("bad.yaml.constraint", "cheap")] is None


def test_an_errored_run_errors_its_items(pytester: pytest.Pytester, tmp_path: Path) -> None:
    scenario(pytester, "broken", responses="[{match: nothing-matches, reply: hi}]")
    result = run_pytest(pytester)
    result.assert_outcomes(errors=4)
    assert runs(tmp_path) == ["broken"]
    result.stdout.fnmatch_lines(
        ["*broken.yaml:1: the run errored: case 'one': scripted: no reply*"]
    )


def test_an_invalid_scenario_is_a_collection_error_with_its_position(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    (pytester.path / "bad.yaml").write_text(
        "id: bad\nname: Bad\ndescription: Bad\nsuccess_criteria: 3\n", encoding="utf-8"
    )
    result = run_pytest(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["bad.yaml:4:19: success_criteria: expected a list, got 3 (integer)"]
    )
    assert runs(tmp_path) == []


def test_drafts_are_skipped_unless_included(pytester: pytest.Pytester, tmp_path: Path) -> None:
    scenario(pytester, "sketch", extra="status: draft\n")
    skipped = run_pytest(pytester, "-rs")
    skipped.assert_outcomes(skipped=4)
    skipped.stdout.fnmatch_lines(["*sketch.yaml: status is draft*"])
    assert runs(tmp_path) == []
    run_pytest(pytester, "--goalctl-include-drafts").assert_outcomes(passed=4)
    assert runs(tmp_path) == ["sketch"]


def test_state_dir_and_config_from_the_command_line(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scenario(pytester, "greeter")
    elsewhere = tmp_path / "elsewhere"
    result = run_pytest(
        pytester, f"--goalctl-state-dir={elsewhere}", "--goalctl-config", "max_attempts=2"
    )
    result.assert_outcomes(passed=4)
    assert [p.name.split("-")[0] for p in (elsewhere / "runs").iterdir()] == ["greeter"]
    assert runs(tmp_path) == []
    wrong = run_pytest(pytester, "--goalctl-config", "max_attempt=2")
    wrong.assert_outcomes(errors=4)
    wrong.stdout.fnmatch_lines(["*unknown key 'max_attempt' for agent llm*"])


def test_ini_options_are_relative_to_the_ini_file(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scenario(pytester, "greeter")
    pytester.makeini("[pytest]\ngoalctl_state_dir = ini-state\ngoalctl_provider = nonesuch\n")
    result = run_pytest(pytester)
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(["*unknown provider 'nonesuch'*"])
    ok = run_pytest(pytester, "--goalctl-provider", "scripted")
    ok.assert_outcomes(passed=4)
    assert len(list((pytester.path / "ini-state" / "runs").iterdir())) == 1


def test_inert_without_scenarios(pytester: pytest.Pytester, tmp_path: Path) -> None:
    (pytester.path / "config.yaml").write_text("name: app\nport: 8080\n", encoding="utf-8")
    (pytester.path / "page.md").write_text("---\nlayout: post\n---\n# Hi\n", encoding="utf-8")
    (pytester.path / "notes.md").write_text("# Notes\n", encoding="utf-8")
    pytester.makepyfile(test_app="def test_app():\n    assert 1 + 1 == 2\n")
    result = run_pytest(pytester, "--collect-only", "-q")
    assert result.outlines[0] == "test_app.py::test_app"
    assert "1 test collected" in result.stdout.str()
    assert runs(tmp_path) == []


def test_xdist_loadfile_runs_each_scenario_once(pytester: pytest.Pytester, tmp_path: Path) -> None:
    for name in ("one", "two", "three"):
        scenario(pytester, name)
    result = run_pytest(pytester, "-n", "2", "--dist", "loadfile")
    result.assert_outcomes(passed=12)
    assert runs(tmp_path) == ["one", "three", "two"]


def test_xdist_workers_share_a_scenario_whose_items_they_split(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scenario(pytester, "shared", responses="[bye]")
    result = run_pytest(pytester, "-n", "2", "-v")  # --dist load: items go to either worker
    result.assert_outcomes(passed=2, failed=2)
    workers = set(re.findall(r"\[(gw\d)\] .* shared\.yaml::", result.stdout.str()))
    assert workers == {"gw0", "gw1"}  # both workers had items of the scenario...
    assert runs(tmp_path) == ["shared"]  # ...and it ran once
    # Whichever worker read the run back fails its items with the evidence all the same.
    # Counted in the failures section only: on CI pytest repeats whole messages in the
    # short summary, elsewhere it trims them to a line.
    failures = result.stdout.str().split("short test summary info")[0]
    assert failures.count("\n  evidence:\n    one: missing") == 2


def test_a_data_file_beside_its_scenario_is_not_collected(pytester: pytest.Pytester) -> None:
    scenario(pytester, "greeter", extra="")
    text = (pytester.path / "greeter.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "cases: [{name: one, input: {}}, {name: two, input: {}}]", "cases: {file: cases.yaml}"
    )
    (pytester.path / "greeter.yaml").write_text(text, encoding="utf-8")
    (pytester.path / "cases.yaml").write_text(
        "- {name: one, input: {}}\n- {name: two, input: {}}\n", encoding="utf-8"
    )
    result = run_pytest(pytester, "--collect-only", "-q")
    assert [line for line in result.outlines if "::" in line] == [
        "greeter.yaml::criterion::says-hi",
        "greeter.yaml::criterion::polite",
        "greeter.yaml::constraint::cheap",
        "greeter.yaml::constraint::brief",
    ]


def test_a_broken_project_file_is_a_collection_error(pytester: pytest.Pytester) -> None:
    scenario(pytester, "greeter")
    (pytester.path / "goalctl.toml").write_text("concurrency = 'many'\n", encoding="utf-8")
    result = run_pytest(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["greeter.yaml: *goalctl.toml:1:*concurrency*"])
    assert "Traceback" not in result.stdout.str()


def test_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, goalctl.pytest_plugin; "
        "print([m for m in ('pydantic', 'rich', 'jinja2', 'ruamel', 'anthropic') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_this_repositorys_own_files_are_told_apart() -> None:
    """Every example scenario reads like one; no other Markdown or YAML file of the
    repository outside tests/fixtures (left out by conftest.py) does."""
    from goalctl.pytest_plugin import _reads_like_scenario
    from goalctl.scenario.files import is_scenario_name, may_be_scenario

    def collected(path: Path) -> bool:
        return is_scenario_name(path.name) and may_be_scenario(path) and _reads_like_scenario(path)

    files = [
        path
        for path in REPO.rglob("*")
        if path.suffix in (".md", ".yaml", ".yml")
        and not {".git", ".venv", "fixtures", "node_modules"} & set(path.relative_to(REPO).parts)
    ]
    examples = {path for path in files if path.parent == REPO / "scenarios"}
    assert len(examples) >= 14  # grows with every example; the set equality is the point
    assert {path for path in files if collected(path)} == examples
    assert REPO / "action.yml" in files


def test_ctrl_c_stops_the_run_and_the_session(pytester: pytest.Pytester, tmp_path: Path) -> None:
    slow = "provider_options: {latency_ms: 30000}\n"
    scenario(pytester, "first", extra=slow)
    scenario(pytester, "second", extra=slow)
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As from a terminal: a shell without job control starts background jobs with
        # SIGINT ignored, and the child would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while not any(
            '"status": "running"' in path.read_text()
            for path in (tmp_path / STATE).glob("runs/first-*/state.json")
        ):
            assert process.poll() is None
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 2, output  # pytest's "interrupted"
    assert time.monotonic() - started < 20  # not the 30 s a reply takes
    assert "KeyboardInterrupt" in output
    assert runs(tmp_path) == ["first"]
    [state] = (tmp_path / STATE).glob("runs/first-*/state.json")
    assert '"status": "stopped"' in state.read_text()


def test_model_report_dir_concurrency_and_config_file_reach_the_run(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scenario(pytester, "greeter")
    (pytester.path / "ci.yaml").write_text("max_attempts: 1\n", encoding="utf-8")
    result = run_pytest(
        pytester,
        "--goalctl-model=claude-haiku-4-5",
        "--goalctl-report-dir=reports",
        "--goalctl-concurrency=2",
        "--goalctl-config-file=ci.yaml",
    )
    result.assert_outcomes(passed=4, warnings=1)
    report = json.loads((pytester.path / "reports" / "greeter-1.0.0.json").read_text())
    assert report["model"] == "claude-haiku-4-5"
    [state] = (tmp_path / STATE).glob("runs/greeter-*/state.json")
    assert json.loads(state.read_text())["options"]["concurrency"] == 2
    bad = run_pytest(pytester, "--goalctl-concurrency=many")
    bad.assert_outcomes(errors=4)
    bad.stdout.fnmatch_lines(["*--goalctl-concurrency 'many': give a number from 1 to 1024*"])
    missing = run_pytest(pytester, "--goalctl-config-file=nope.yaml")
    missing.assert_outcomes(errors=4)
    missing.stdout.fnmatch_lines(["*--config-file nope.yaml*"])
