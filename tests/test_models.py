"""Models side by side (DESIGN §14): one run per scenario and model, one comparison table."""

from __future__ import annotations

import json
import time
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl.errors import ScenarioError, UsageError
from goalctl.lifecycle import load_for_run, plan_all, run_paths
from goalctl.matrix import matrix
from goalctl.models.comparison import compare_models, comparison_console
from goalctl.models.names import parse_model_option
from goalctl.planning import RunOptions
from goalctl.reports.github import step_summary
from goalctl.run_summary import summary_lines
from goalctl.state import RunStore
from goalctl.validation import validate_paths
from tests.conftest import REPO, run_cli
from tests.support.clock import FrozenClock, fixed_ids
from tests.support.messages_server import MessagesServer, Reply

EXAMPLE = "scenarios/ticket-priority-models.md"

TWO = """\
id: pick
name: Pick
description: Two models, one better than the other.
provider: scripted
model: judge-model
%s
config: {max_attempts: 1}
success_criteria:
  - {id: right, description: Says yes, metric: output_equals, target: "yes"}
cases:
  - {name: one, input: {q: one}}
  - {name: two, input: {q: two}}
responses:
  - {match: two, model: weak, reply: "no"}
  - {match: ".", reply: "yes"}
"""


def scenario(tmp_path: Path, models: str = "", body: str = TWO) -> Path:
    path = tmp_path / "pick.yaml"
    path.write_text(body % models)
    return path


def reports(state_dir: Path) -> dict[str, dict[str, Any]]:
    """Each run's report.json, by model."""
    store = RunStore(state_dir)
    found = {}
    for state in store.list():
        report = json.loads((store.run_dir(state.run_id) / "report.json").read_text())
        found[report["model"]] = report
    return found


# -- the example: console table, report.md section and step summary, pinned ------------------


def test_the_example_compares_its_models_everywhere_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text_snapshot: SnapshotAssertion
) -> None:
    monkeypatch.chdir(REPO)
    summary = run_paths([EXAMPLE], RunOptions(), tmp_path, clock=FrozenClock(), make_id=fixed_ids())
    assert [(o.model, o.verdict) for o in summary.outcomes] == [
        ("claude-sonnet-4-5", "achieved"),
        ("claude-haiku-4-5", "achieved"),
    ]
    assert summary.exit_code == 0
    console = "\n".join(line.text for line in summary_lines(summary.outcomes, 1.5))
    assert console.replace(str(tmp_path), "<state>") == text_snapshot(name="console")
    [first, second] = [o.report for o in summary.outcomes]
    # One comparison object, the same in each run's report.json and on disk.
    assert first["models"] == second["models"]
    assert first["models"]["differs"] == ["one-word"]
    on_disk = json.loads(summary.outcomes[1].report_paths[1].read_text())
    assert on_disk["models"] == second["models"]
    haiku = second["models"]["runs"][1]
    assert (haiku["model"], haiku["criteria"]["one-word"]["met"]) == ("claude-haiku-4-5", False)
    assert haiku["criteria"]["one-word"]["interval"] == [0.20766, 0.938508]
    assert haiku["cost_basis"] == "simulated"
    markdown = summary.outcomes[1].report_paths[0].read_text()
    section = markdown[markdown.index("## Models side by side") : markdown.index("## Cases")]
    assert section in summary.outcomes[0].report_paths[0].read_text()
    assert "| `claude-haiku-4-5` | achieved | 3/3 100% (44%–100%) | 2/3 67% (21%–94%) ✗ |" in (
        section
    )
    assert step_summary([first, second]) == text_snapshot(name="step-summary")


def test_the_console_shows_the_table_after_the_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    result = run_cli("run", EXAMPLE, "--report-dir", str(tmp_path / "reports"))
    assert result.exit_code == 0, result.stderr
    table = result.stdout[result.stdout.index("Models side by side:") :]
    assert "  one-word              3/3 100% (44%–100%)    2/3 67% (21%–94%) ✗\n" in table
    assert "  model                 claude-sonnet-4-5      claude-haiku-4-5\n" in table
    assert "The models differ on: one-word." in table
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        "ticket-priority-1.0.0-claude-haiku-4-5.json",
        "ticket-priority-1.0.0-claude-haiku-4-5.md",
        "ticket-priority-1.0.0-claude-sonnet-4-5.json",
        "ticket-priority-1.0.0-claude-sonnet-4-5.md",
    ]


# -- runs, exit codes, options -----------------------------------------------------------


def test_model_option_runs_each_model_and_exits_with_the_worst(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(tmp_path)
    result = run_cli("run", "--json", "--model", "strong,weak", str(path))
    assert result.exit_code == 1
    runs = json.loads(result.stdout)["runs"]
    assert [(r["model"], r["verdict"]) for r in runs] == [
        ("strong", "achieved"),
        ("weak", "not_achieved"),
    ]
    assert len({r["run_id"] for r in runs}) == 2
    found = reports(isolated_environment)
    assert found["weak"]["models"] == found["strong"]["models"]
    assert found["weak"]["models"]["differs"] == ["right"]
    # Repeated --model is the same as a comma-separated list.
    again = run_cli("run", "--json", "--model", "strong", "--model", "weak", str(path))
    assert [r["model"] for r in json.loads(again.stdout)["runs"]] == ["strong", "weak"]


def test_scenario_models_and_one_model_option_winning_over_them(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(tmp_path, "models: [weak, strong]")
    result = run_cli("run", "--json", str(path))
    assert [r["model"] for r in json.loads(result.stdout)["runs"]] == ["weak", "strong"]
    one = run_cli("run", "--json", "--model", "strong", str(path))
    assert one.exit_code == 0
    [run] = json.loads(one.stdout)["runs"]
    assert run["model"] == "strong"
    report = json.loads(Path(run["reports"][1]).read_text())
    assert "models" not in report  # one model: nothing to compare


def test_the_judge_keeps_the_scenario_model_for_every_compared_model(tmp_path: Path) -> None:
    path = scenario(tmp_path, "models: [weak, strong]")
    scenarios, _ = load_for_run([str(path)], RunOptions())
    plans = plan_all(scenarios, RunOptions())
    assert [(p.agent_route.model, p.judge_route.model) for p in plans] == [
        ("weak", "judge-model"),
        ("strong", "judge-model"),
    ]
    assert [p.compared for p in plans] == [("weak", "strong")] * 2
    custom = plan_all(scenarios, RunOptions(judge_model="project-judge"))
    assert {p.judge_route.model for p in custom} == {"project-judge"}


def test_prices_are_checked_for_every_model_before_any_call(
    tmp_path: Path, isolated_environment: Path
) -> None:
    body = TWO.replace(
        "cases:",
        "constraints:\n  - {id: budget, description: Cheap, constraint_type: hard, "
        "category: cost, check: cost_usd <= 1}\ncases:",
    )
    path = scenario(tmp_path, "", body)
    result = run_cli("run", "--model", "claude-haiku-4-5,no-such-model", str(path))
    assert result.exit_code == 2
    assert "model 'no-such-model' has no price" in result.stderr
    assert not (isolated_environment / "runs").exists() or not RunStore(isolated_environment).list()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a,,b", "'a,,b': an empty model name (write --model a,b)"),
        ("a,a", "model 'a' is listed twice; list each model once"),
        ("a, b", "' b': write the model name without spaces around it"),
        ("a,b c", "'b c' is not a model name"),
    ],
)
def test_bad_model_lists_are_refused(tmp_path: Path, value: str, message: str) -> None:
    result = run_cli("run", "--model", value, str(scenario(tmp_path)))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_parse_model_option() -> None:
    assert parse_model_option(["a,b", "c"]) == ("a", "b", "c")
    with pytest.raises(ValueError, match="listed twice"):
        parse_model_option(["a", "a"])


def test_detached_models_report_alone_and_report_puts_them_side_by_side(
    tmp_path: Path, isolated_environment: Path
) -> None:
    from goalctl.reporting import report_runs

    path = scenario(tmp_path)
    result = run_cli("run", "--detach", "--json", "--model", "strong,weak", str(path))
    assert result.exit_code == 0, result.stderr
    assert (
        f"{path}: its 2 models run detached and each reports alone; `goalctl report` of their "
        "run ids puts them side by side"
    ) in result.stderr
    run_ids = json.loads(result.stdout)["run_ids"]
    store = RunStore(isolated_environment)
    deadline = time.monotonic() + 60
    while any(store.load(r).verdict is None for r in run_ids):
        assert time.monotonic() < deadline, "the detached runs did not end"
        time.sleep(0.05)
    alone = json.loads(report_runs(store, run_ids[:1], "json"))
    assert "models" not in alone
    both = json.loads(report_runs(store, run_ids, "json"))
    assert [r["model"] for r in both["models"]["runs"]] == ["strong", "weak"]
    assert both["models"]["differs"] == ["right"]
    markdown = report_runs(store, run_ids, "md")
    assert "# Models side by side" in markdown
    assert "| `weak` | not achieved | 1/2 50% (9%–91%) ✗ |" in markdown


def test_a_shard_keeps_every_model_of_its_scenarios(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(tmp_path, "models: [weak, strong]")
    ran = [run_cli("run", "--json", "--shard", f"{i}/2", str(path)) for i in (1, 2)]
    models = [[r["model"] for r in json.loads(r.stdout)["runs"]] for r in ran]
    assert sorted(models) == [[], ["weak", "strong"]]


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("models", "where", "message"),
    [
        ("models: []", "6:9", "models: must not be empty"),
        ("models: [a, a]", "6:9", "model 'a' is listed twice"),
        ('models: [a, " b"]', "6:13", "write the model name without spaces around it"),
        ('models: ["x,y"]', "6:10", "a model name holds no comma"),
    ],
)
def test_scenario_models_are_validated_where_they_are(
    tmp_path: Path, models: str, where: str, message: str
) -> None:
    path = scenario(tmp_path, models)
    report = validate_paths([path])
    text = "\n".join(str(p) for p in report.problems)
    assert f"{path}:{where}" in text, text
    assert message in text
    with pytest.raises(ScenarioError):
        load_for_run([str(path)], RunOptions())


def test_report_names_of_models_must_not_collide(tmp_path: Path) -> None:
    path = scenario(tmp_path, "models: [a/b, a@b]")
    scenarios, _ = load_for_run([str(path)], RunOptions())
    with pytest.raises(UsageError, match="models 'a/b' and 'a@b' would share report file names"):
        plan_all(scenarios, RunOptions())


# -- the comparison ---------------------------------------------------------------------------


def test_a_model_without_a_report_is_not_run_and_not_a_difference() -> None:
    report = {
        "model": "a",
        "run_id": "x-00000000",
        "verdict": "achieved",
        "score": 1.0,
        "totals": {"cases_passed": 1, "cases": 1, "cost_usd": 0.0},
        "criteria": [{"id": "c", "passed": 1, "evaluated": 1, "met": True}],
        "cases": [{"metrics": {"elapsed_s": 0.2}}, {"metrics": {"elapsed_s": 0.4}}],
    }
    comparison = compare_models([report], ["a", "b"])
    assert comparison["runs"][1] == {"model": "b", "run_id": None, "verdict": "not_run"}
    assert comparison["differs"] == []
    assert comparison["runs"][0]["latency_s"] == {"samples": 2, "median": 0.3, "p95": 0.4}


def _compared(models: list[str], criteria: list[str], *, missing: str = "") -> dict[str, Any]:
    """A comparison of ``models`` (``missing`` left without a report) over ``criteria``."""
    reports = [
        {
            "model": model,
            "run_id": f"x-{n:08d}",
            "verdict": "not_achieved" if n else "achieved",
            "score": 1.0,
            "totals": {
                "cases_passed": 9,
                "cases": 10,
                "cost_usd": 0.0123456,
                "cost_basis": "simulated",
            },
            "criteria": [
                {"id": c, "passed": 9 - n, "evaluated": 10, "met": not n} for c in criteria
            ],
            "cases": [{"metrics": {"elapsed_s": 1.5}}],
        }
        for n, model in enumerate(models)
        if model != missing
    ]
    return compare_models(reports, models)


@pytest.mark.parametrize(
    ("models", "criteria", "layout"),
    [
        (["claude-sonnet-4-5", "claude-haiku-4-5"], ["priority", "one-word"], "columns"),
        (["gpt-4o-mini-2024-07-18", "claude-haiku-4-5"], ["a-rather-long-criterion"], "columns"),
        (["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"], ["right"], "blocks"),
        ([f"model-{n}" for n in range(6)], [f"criterion-{n}" for n in range(12)], "blocks"),
    ],
)
def test_the_console_table_fits_80_columns(
    models: list[str], criteria: list[str], layout: str
) -> None:
    lines = comparison_console(_compared(models, criteria), "scenarios/x.md")
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    assert lines[0] == "Models side by side: scenarios/x.md"
    text = "\n".join(lines)
    if layout == "columns":
        assert lines[1].split() == ["model", *models]
        assert lines[2].split() == ["verdict", "achieved", "not", "achieved"]
    else:
        assert lines[1] == f"  {models[0]}: achieved"
        assert f"  {models[1]}: not achieved" in lines
    # Every model's rate of every criterion is shown, and the models' difference is told.
    for criterion in criteria:
        assert text.count(f"  {criterion}  ") == (1 if layout == "columns" else len(models))
    assert "9/10 90% (60%–98%)" in text
    assert "8/10 80% (49%–94%) ✗" in text
    assert "$0.012346 (simulated)" in text
    assert "1.50 s / 1.50 s" in text
    assert "The models differ on: " + ", ".join(criteria)[:40] in text.replace("\n  ", " ")


def test_the_console_table_shows_a_model_not_run() -> None:
    models = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]
    lines = comparison_console(_compared(models, ["right"], missing="claude-opus-4-1"), "x.md")
    assert "  claude-opus-4-1: not run" in lines
    assert lines[lines.index("  claude-opus-4-1: not run") + 1].startswith("  Per criterion")
    two = comparison_console(_compared(models[:2], ["right"], missing=models[1]), "x.md")
    assert two[1].split() == ["model", *models[:2]]
    assert two[2].split() == ["verdict", "achieved", "not", "run"]


# -- matrix, scripted rules and cassettes -------------------------------------------------------


def test_matrix_by_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    entries = matrix(["scenarios"], by_model=True)["include"]
    compared = [(e["job"], e["model"]) for e in entries if e["id"] == "ticket-priority"]
    assert compared == [
        ("ticket-priority-1.0.0-claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("ticket-priority-1.0.0-claude-haiku-4-5", "claude-haiku-4-5"),
    ]
    [calculator] = [e for e in entries if e["id"] == "calculator"]
    assert (calculator["job"], calculator["model"]) == ("calculator-1.0.0", "claude-sonnet-4-5")
    result = run_cli("matrix", "--by-model", "--shards", "2", "scenarios")
    assert result.exit_code == 2
    assert "--by-model gives one job per scenario and model" in result.stderr


def test_replay_keys_cassettes_by_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_environment: Path
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        dedent(
            """\
            id: demo
            name: Demo
            description: A demo goal.
            provider: anthropic
            models: [claude-haiku-4-5, claude-test-b]
            config: {max_attempts: 1}
            success_criteria:
              - {id: greets, description: Greets, metric: output_contains, target: Hello}
            cases:
              - {name: ana, input: {name: Ana}}
            prompt: "Greet {{ input.name }}"
            """
        )
    )
    with MessagesServer() as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-models-0123456789")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        server.enqueue(Reply(text="Hello Ana"))
        server.enqueue(Reply(text="Hi Ana"))
        recorded = run_cli("run", "--record", "--json", str(path))
    assert recorded.exit_code == 1, recorded.stdout
    lines = [json.loads(line) for line in (tmp_path / "s.cassette.jsonl").read_text().splitlines()]
    assert sorted(line["request"]["model"] for line in lines) == [
        "claude-haiku-4-5",
        "claude-test-b",
    ]
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    replayed = run_cli("run", "--provider", "replay", "--json", str(path))
    first = {r["model"]: r["verdict"] for r in json.loads(recorded.stdout)["runs"]}
    again = {r["model"]: r["verdict"] for r in json.loads(replayed.stdout)["runs"]}
    assert again == first
    assert sorted(first.values()) == ["achieved", "not_achieved"]
    missing = run_cli(
        "run", "--provider", "replay", "--json", "--model", "claude-haiku-4-5,gpt-4o", str(path)
    )
    assert missing.exit_code == 3
    runs = {r["model"]: r for r in json.loads(missing.stdout)["runs"]}
    assert runs["claude-haiku-4-5"]["verdict"] in ("achieved", "not_achieved")
    assert "model 'gpt-4o'" in runs["gpt-4o"]["error"]


def test_a_resumed_run_of_a_comparison_keeps_its_model_judge_and_report_names(
    tmp_path: Path, isolated_environment: Path
) -> None:
    from goalctl.lifecycle import prepare_resume
    from goalctl.metering import SystemClock
    from goalctl.planning import initial_state

    path = scenario(tmp_path, "models: [weak, strong]")
    options = RunOptions(judge_model=None)
    scenarios, _ = load_for_run([str(path)], options)
    weak = plan_all(scenarios, options)[0]
    store = RunStore(isolated_environment)
    store.create(initial_state(weak, options, "pick-0000000a", SystemClock()))
    resumed = prepare_resume(store, store.load("pick-0000000a"))
    assert (resumed.agent_route.model, resumed.judge_route.model) == ("weak", "judge-model")
    assert resumed.compared == ("weak", "strong")
