"""A saved offline run whose cases call a tool: the command agent's tool loop, scripted.

Report tests render its trajectories: a case whose tool call succeeds, one whose call fails,
one whose arguments are long and hold Markdown and XML metacharacters, one that calls no tool.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from tests.support.clock import FrozenClock, fixed_id

AGENT = Path(__file__).resolve().parent.parent / "fixtures" / "agents" / "tool_loop_agent.py"
LONG_CITY = "Rio | de <Janeiro> & `" + "x" * 120

SCENARIO = """\
id: weather
name: Weather
description: Tells the weather.
provider: scripted
agent: command
config:
  command: [{python}, {agent}]
  output: text
prompt: "Weather in {{{{ input.city }}}}?"
success_criteria:
  - {{id: sunny, description: Says it is sunny, metric: output_contains, target: sunny}}
constraints:
  - id: finds-the-city
    description: Never gives up on a city
    constraint_type: hard
    category: quality
    check: "'could not' not in output"
cases:
  - name: paris
    input: {{city: Paris}}
    responses:
      - {{tool_use: {{name: get_weather, input: {{city: Paris}}}}}}
      - "It is sunny in Paris."
  - name: atlantis
    input: {{city: Atlantis}}
    responses:
      - {{tool_use: {{name: get_weather, input: {{city: Atlantis}}}}}}
      - "I could not find Atlantis."
  - name: long
    input: {{city: Rio}}
    responses:
      - {{tool_use: {{name: get_weather, input: {{city: {long}}}}}}}
      - "It is sunny in Rio."
  - name: no-tools
    input: {{city: Oslo}}
    responses: ["It is sunny, I guess."]
"""


def weather_report(work: Path, state: Path) -> dict[str, Any]:
    """Run the weather scenario as ``scenarios/weather.yaml`` from the working directory
    ``work`` (made here; the caller changes into it) and return its report."""
    (work / "scenarios").mkdir(parents=True, exist_ok=True)
    agent = work / "scenarios" / AGENT.name
    shutil.copy(AGENT, agent)
    text = SCENARIO.format(
        python=json.dumps(sys.executable), agent=json.dumps(str(agent)), long=json.dumps(LONG_CITY)
    )
    (work / "scenarios" / "weather.yaml").write_text(text)
    summary = run_paths(
        ["scenarios/weather.yaml"], RunOptions(), state, clock=FrozenClock(), make_id=fixed_id
    )
    [outcome] = summary.outcomes
    report: dict[str, Any] = json.loads(
        (state / "runs" / outcome.run_id / "report.json").read_text()
    )
    return report
