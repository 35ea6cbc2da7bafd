"""Prices fail closed (DESIGN §14): an unknown model costs *unknown*, never $0.

A run that checks ``cost_usd`` with a model that has no price is refused before any call; a
price can be given in the scenario (``pricing:``) or the project (``goalctl.toml``); costs of
the offline ``scripted`` provider are labelled simulated wherever they are shown.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from goalctl.config.prices import Price, PriceTable, cost_text
from goalctl.providers.base import Usage
from tests.conftest import run_cli

BUDGET = """
constraints:
  - {id: cost-budget, description: At most a cent, category: cost, check: cost_usd <= 0.01}
"""
CRITERION = """
success_criteria:
  - {id: says-hi, description: Says hi, metric: output_contains, target: hi}
responses: ["hi there"]
"""


def scenario(tmp_path: Path, body: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    header = "id: demo\nname: Demo\ndescription: A demo goal.\nprovider: scripted\n"
    path.write_text(header + dedent(body) + CRITERION)
    return path


def report_of(state: Path) -> dict[str, object]:
    [run] = (state / "runs").iterdir()
    data: dict[str, object] = json.loads((run / "report.json").read_text())
    return data


def test_a_cost_budget_on_an_unpriced_model_is_refused_before_any_call(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(tmp_path, "model: my-local-model\n" + BUDGET)

    result = run_cli("run", str(path))

    assert result.exit_code == 2
    assert result.stderr == (
        f"goalctl: error: {path}: model 'my-local-model' has no price, so constraint "
        "'cost-budget' (cost_usd <= 0.01) cannot be checked; give its price in the scenario "
        "(pricing: {my-local-model: {input: 3.0, output: 15.0}}, USD per million tokens) or in "
        'goalctl.toml ([prices."my-local-model"] input = 3.0, output = 15.0)\n'
    )
    assert not (isolated_environment / "runs").exists()


def test_a_model_override_without_a_price_is_refused_too(tmp_path: Path) -> None:
    path = scenario(tmp_path, BUDGET)

    result = run_cli("run", "--model", "gpt-unknown", str(path))

    assert result.exit_code == 2
    assert "model 'gpt-unknown' has no price" in result.stderr


def test_a_custom_check_reading_cost_needs_a_price_as_well(tmp_path: Path) -> None:
    body = """
    model: my-local-model
    constraints:
      - {id: cheap, description: Cheap, category: quality, check: "cost_usd < 1 and llm_calls < 5"}
    """
    result = run_cli("run", str(scenario(tmp_path, body)))

    assert result.exit_code == 2
    assert "constraint 'cheap' (cost_usd < 1 and llm_calls < 5) cannot be checked" in result.stderr


def test_a_price_in_the_scenario_prices_the_model(
    tmp_path: Path, isolated_environment: Path
) -> None:
    body = "model: my-local-model\npricing: {my-local-model: {input: 10000, output: 0}}\n"
    path = scenario(tmp_path, body + BUDGET)

    result = run_cli("run", str(path))

    report = report_of(isolated_environment)
    totals = report["totals"]
    assert isinstance(totals, dict)
    # A cent per input token: the budget of a cent is blown by the first call.
    assert totals["cost_usd"] == pytest.approx(totals["input_tokens"] / 100)
    assert totals["input_tokens"] > 1
    assert result.exit_code == 1
    assert totals["cost_basis"] == "simulated"


def test_an_unpriced_model_without_a_cost_check_runs_and_its_cost_is_unknown(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(tmp_path, "model: my-local-model\n")

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stderr
    totals = report_of(isolated_environment)["totals"]
    assert isinstance(totals, dict)
    assert (totals["cost_usd"], totals["cost_basis"], totals["unpriced_models"]) == (
        0.0,
        "unknown",
        ["my-local-model"],
    )
    assert "unknown (no price for my-local-model)" in result.stdout
    [run] = (isolated_environment / "runs").iterdir()
    assert (
        "- Cost: unknown (no price for my-local-model) — 1 call" in (run / "report.md").read_text()
    )
    [call] = [json.loads(line) for line in (run / "transcript.jsonl").read_text().splitlines()]
    assert call["cost_usd"] is None


def test_scripted_costs_are_labelled_simulated(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    path = scenario(tmp_path, "")

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stderr
    [run] = (isolated_environment / "runs").iterdir()
    report = report_of(isolated_environment)
    totals = report["totals"]
    assert isinstance(totals, dict)
    assert totals["cost_basis"] == "simulated"
    assert totals["cost_usd"] > 0
    assert "(simulated)" in result.stdout
    markdown = (run / "report.md").read_text()
    assert f"- Cost: ${totals['cost_usd']:.6f} (simulated) — 1 call" in markdown
    assert "| cost (simulated) |" in markdown
    assert "(simulated)" in summary.read_text()
    status = run_cli("status")
    assert f"${totals['cost_usd']:.6f} (simulated)" in status.stdout


def test_the_most_specific_name_wins_and_the_scenario_beats_the_project() -> None:
    table = PriceTable.for_run(
        {"acme-large": Price(2.0, 0.0)},
        {"acme-large": Price(9.0, 0.0), "acme-large-turbo": Price(5.0, 0.0)},
    )
    usage = Usage(1_000_000, 0)

    assert table.cost_usd(usage, "acme-large-2025") == 2.0
    assert table.cost_usd(usage, "acme-large-turbo") == 5.0
    assert table.cost_usd(usage, "claude-haiku-4-5-20251001") == 1.0
    assert table.cost_usd(usage, "acme-small") is None


def test_old_reports_without_a_basis_read_as_priced() -> None:
    assert cost_text(0.5, {"cost_usd": 0.5}) == "$0.500000"


def test_a_resumed_or_detached_worker_keeps_the_project_settings(tmp_path: Path) -> None:
    # A worker may start in another directory: what the project said travels in state.json.
    from goalctl.planning import RunOptions
    from goalctl.scenario.loader import load_scenario

    path = scenario(tmp_path, "")
    asked = RunOptions(
        prices={"acme": Price(1.5, 2.5)}, judge_model="acme-judge", redact=("secret-\\d+",)
    )

    state = json.loads(json.dumps(asked.to_state(load_scenario(path))))
    again = RunOptions.from_state(state)

    assert (again.prices, again.judge_model, again.redact) == (
        {"acme": Price(1.5, 2.5)},
        "acme-judge",
        ("secret-\\d+",),
    )


def test_a_price_too_large_for_a_float_is_a_clear_problem(tmp_path: Path) -> None:
    # YAML reads integers of up to 1,000 digits; one past a float's range is still a number.
    path = scenario(
        tmp_path, "model: acme\npricing: {acme: {input: 1" + "0" * 900 + ", output: 1}}\n"
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"{path}:6:25: pricing.acme.input: must be a number of at most 308 digits, "
        "got an integer of 901 digits"
    )
