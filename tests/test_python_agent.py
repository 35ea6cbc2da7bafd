"""The ``python`` agent: a function of the user's project under a goal, its model calls through
the gateway (the real anthropic and openai SDKs against goalctl's loopback gateway)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from tests.conftest import run_cli

HEADER = "id: mine\nname: Mine\ndescription: My own agent.\nprovider: scripted\nagent: python\n"


def project(tmp_path: Path, module: str, source: str) -> Path:
    """A project (pyproject.toml) holding ``module``.py with ``source``."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    (tmp_path / f"{module}.py").write_text(dedent(source))
    return tmp_path


def scenario(folder: Path, *parts: str) -> Path:
    path = folder / "agent.yaml"
    path.write_text(HEADER + "".join(dedent(part).lstrip("\n") for part in parts))
    return path


def report(state: Path) -> dict[str, Any]:
    [run] = (state / "runs").iterdir()
    return json.loads((run / "report.json").read_text())  # type: ignore[no-any-return]


def transcript(state: Path) -> list[dict[str, Any]]:
    [run] = (state / "runs").iterdir()
    lines = (run / "transcript.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


GREETS = """
success_criteria:
  - {id: greets, description: Greets the person, metric: output_contains, target: "hello {{ input.name }}"}
"""


def test_a_sync_function_calls_claude_through_the_gateway_argument(
    tmp_path: Path, isolated_environment: Path
) -> None:
    project(
        tmp_path,
        "sync_agent",
        """
        import anthropic
        import goalctl

        @goalctl.agent
        def answer(prompt, system, input, gateway):
            with anthropic.Anthropic(base_url=gateway.base_url, api_key=gateway.api_key) as client:
                message = client.messages.create(
                    model="claude-haiku-4-5",
                    max_tokens=100,
                    system=system,
                    messages=[{"role": "user", "content": prompt}],
                )
            return message.content[0].text + " from " + input["name"]
        """,
    )
    path = scenario(
        tmp_path,
        GREETS,
        """
        config: {callable: "sync_agent:answer"}
        cases:
          - {name: ada, input: {name: Ada}, responses: ["hello Ada"]}
          - {name: bob, input: {name: Bob}, responses: ["hello Bob"]}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    cases = {c["name"]: c for c in report(isolated_environment)["cases"]}
    assert cases["ada"]["output"] == "hello Ada from Ada"
    assert cases["bob"]["output"] == "hello Bob from Bob"
    assert cases["ada"]["metrics"]["llm_calls"] == 1
    calls = transcript(isolated_environment)
    assert sorted((c["case"], c["provider"]) for c in calls) == [
        ("ada", "scripted"),
        ("bob", "scripted"),
    ]


def test_an_async_function_with_no_arguments_to_the_sdk_is_served_when_cases_run_one_at_a_time(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-the-real-key-of-the-user")
    project(
        tmp_path,
        "async_agent",
        """
        import anthropic
        import goalctl

        @goalctl.agent
        async def answer(prompt, **_):
            # ANTHROPIC_BASE_URL and the case's key come from goalctl
            async with anthropic.AsyncAnthropic() as client:
                message = await client.messages.create(
                    model="claude-haiku-4-5",
                    max_tokens=100,
                    messages=[{"role": "user", "content": prompt}],
                )
            return message.content[0].text
        """,
    )
    path = scenario(
        tmp_path,
        GREETS,
        """
        config: {callable: "async_agent:answer"}
        cases:
          - {name: ada, input: {name: Ada}, responses: ["hello Ada"]}
        """,
    )

    result = run_cli("run", str(path), "--concurrency", "1")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert report(isolated_environment)["cases"][0]["output"] == "hello Ada"
    assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-the-real-key-of-the-user"
    assert "ANTHROPIC_BASE_URL" not in os.environ


def test_under_concurrency_an_sdk_built_without_arguments_never_gets_the_real_key(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-the-real-key-of-the-user")
    project(
        tmp_path,
        "env_agent",
        """
        import anthropic
        import goalctl

        @goalctl.agent
        def answer(prompt):
            with anthropic.Anthropic() as client:
                client.messages.create(
                    model="claude-haiku-4-5",
                    max_tokens=100,
                    messages=[{"role": "user", "content": prompt}],
                )
            return "unreachable"
        """,
    )
    path = scenario(
        tmp_path,
        GREETS,
        """
        config: {callable: "env_agent:answer"}
        cases:
          - {name: ada, input: {name: Ada}, responses: ["hello Ada"]}
        """,
    )

    result = run_cli("run", str(path), "--concurrency", "2")

    assert result.exit_code == 3, result.stdout + result.stderr
    error = report(isolated_environment)["cases"][0]["error"]
    assert error.startswith(
        'env_agent:answer raised TypeError: "Could not resolve authentication method.'
    )
    assert error.endswith(
        "(cases run concurrently (concurrency 2), so ANTHROPIC_API_KEY and OPENAI_API_KEY are "
        "unset while python agents run: build the SDK client from the `gateway` argument, or "
        "run with --concurrency 1)"
    )
    assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-the-real-key-of-the-user"


def test_an_agent_result_gives_the_output_and_the_steps_the_model_never_saw(
    tmp_path: Path, isolated_environment: Path
) -> None:
    project(
        tmp_path,
        "tool_agent",
        """
        import openai
        import goalctl

        @goalctl.agent
        def answer(prompt, gateway):
            with openai.OpenAI(base_url=gateway.openai_base_url, api_key=gateway.api_key) as client:
                reply = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}]
                )
            found = int(reply.choices[0].message.content)
            return goalctl.AgentResult(
                {"answer": found},
                [
                    {"tool": "lookup", "args": {"q": "answer"}, "result": found, "error": None},
                    {"tool": "verify", "args": {"n": found}, "error": "checker offline"},
                ],
            )
        """,
    )
    path = scenario(
        tmp_path,
        """
        output_schema: {type: object, properties: {answer: {type: integer}}}
        success_criteria:
          - {id: right, description: Right, metric: custom, check: "output['answer'] == 42"}
        config: {callable: "tool_agent:answer"}
        cases:
          - name: one
            responses: ["42"]
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    [case] = report(isolated_environment)["cases"]
    assert case["output"] == {"answer": 42}
    assert case["trajectory"] == [
        {
            "step": 1,
            "tool": "lookup",
            "args": {"q": "answer"},
            "result": 42,
            "error": None,
            "source": "agent",
        },
        {
            "step": 2,
            "tool": "verify",
            "args": {"n": 42},
            "result": None,
            "error": "checker offline",
            "source": "agent",
        },
    ]
    assert [c["provider"] for c in transcript(isolated_environment)] == ["scripted"]


def test_an_exception_in_the_function_errors_the_case_with_its_message(
    tmp_path: Path, isolated_environment: Path
) -> None:
    project(
        tmp_path,
        "failing_agent",
        """
        import goalctl

        @goalctl.agent
        def answer(input):
            raise ValueError(f"no idea who {input['name']} is")
        """,
    )
    path = scenario(
        tmp_path,
        GREETS,
        """
        config: {callable: "failing_agent:answer"}
        cases:
          - {name: ada, input: {name: Ada}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    [case] = report(isolated_environment)["cases"]
    assert case["error"] == "failing_agent:answer raised ValueError: no idea who Ada is"


def test_a_function_that_does_not_return_in_time_errors_the_case(
    tmp_path: Path, isolated_environment: Path
) -> None:
    project(
        tmp_path,
        "slow_agent",
        """
        import asyncio
        import goalctl

        @goalctl.agent
        async def answer():
            await asyncio.sleep(30)
        """,
    )
    path = scenario(
        tmp_path,
        GREETS,
        """
        config: {callable: "slow_agent:answer", timeout_s: 0.2}
        cases:
          - {name: ada, input: {name: Ada}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    [case] = report(isolated_environment)["cases"]
    assert case["error"] == "slow_agent:answer did not return within 0.2s"


def test_validate_refuses_an_unmarked_function_at_its_line(tmp_path: Path) -> None:
    project(tmp_path, "plain", "def answer(input):\n    return input\n")
    path = scenario(tmp_path, GREETS, 'config: {callable: "plain:answer"}\n')

    result = run_cli("validate", str(path))

    assert result.exit_code == 1
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "plain" in text)
    assert f"agent.yaml:{line}:" in result.stdout
    assert "'plain:answer' is not marked with @goalctl.agent; it would not be called" in (
        result.stdout
    )


def test_validate_refuses_a_function_outside_the_project_without_importing_it(
    tmp_path: Path,
) -> None:
    project(tmp_path / "inner", "here", "")
    path = scenario(tmp_path / "inner", GREETS, 'config: {callable: "os:system"}\n')

    result = run_cli("validate", str(path))

    assert result.exit_code == 1
    assert "module 'os' is not part of the project" in result.stdout


def test_a_run_refuses_an_unmarked_function_validate_could_not_judge_before_any_case(
    tmp_path: Path, isolated_environment: Path
) -> None:
    project(tmp_path, "implementation", "def answer(input):\n    return 'called'\n")
    # A name the module imports cannot be judged without running the module: the run checks it.
    project(tmp_path, "reexport", "from implementation import answer\n")
    path = scenario(
        tmp_path,
        GREETS,
        """
        config: {callable: "reexport:answer"}
        cases:
          - {name: ada, input: {name: Ada}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    assert (
        "errored — callable: 'reexport:answer' is not marked with @goalctl.agent; refusing to call it"
        in result.stdout
    )


def test_the_function_gets_the_case_by_name_and_the_unmet_criteria_on_a_retry(
    tmp_path: Path, isolated_environment: Path
) -> None:
    project(
        tmp_path,
        "retry_agent",
        """
        import goalctl

        @goalctl.agent
        def answer(input, goal, case, config, attempt, feedback, gateway):
            assert set(gateway.environment) == {
                "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY"
            }
            if attempt == 1:
                assert feedback is None
                return "hi"
            return {
                "goal": goal["id"],
                "case": case,
                "config": config,
                "feedback": feedback,
                "greeting": "hello " + input["name"],
            }
        """,
    )
    path = scenario(
        tmp_path,
        """
        success_criteria:
          - {id: greets, description: Greets by name, metric: output_contains, target: hello Ada}
        config: {callable: "retry_agent:answer", max_attempts: 2}
        cases:
          - {name: ada, input: {name: Ada}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    [case] = report(isolated_environment)["cases"]
    output = case["output"]
    assert output["goal"] == "mine"
    assert output["case"] == {"name": "ada", "input": {"name": "Ada"}}
    assert output["config"] == {
        "callable": "retry_agent:answer",
        "timeout_s": 300,
        "max_attempts": 2,
    }
    assert "Greets by name" in output["feedback"]
    assert case["metrics"]["attempts"] == 2


def test_a_lent_environment_keeps_the_real_key_hidden_and_is_restored_by_the_last_loan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from goalctl.agents.lent_environment import lent_environment
    from goalctl.keys import hide_secrets

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-the-real-key-of-the-user")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-mine")
    first = lent_environment({"ANTHROPIC_API_KEY": "gk-case-key"})
    second = lent_environment({})
    first.__enter__()
    assert os.environ["ANTHROPIC_API_KEY"] == "gk-case-key"
    assert "OPENAI_ORG_ID" not in os.environ
    second.__enter__()
    assert "ANTHROPIC_API_KEY" not in os.environ
    first.__exit__(None, None, None)  # loans of two scenarios may end in any order
    assert hide_secrets("key sk-ant-the-real-key-of-the-user") == "key [REDACTED]"
    second.__exit__(None, None, None)
    assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-the-real-key-of-the-user"
    assert os.environ["OPENAI_ORG_ID"] == "org-mine"


def test_a_call_past_a_hard_budget_is_refused_and_stops_the_run(
    tmp_path: Path, isolated_environment: Path
) -> None:
    project(
        tmp_path,
        "greedy_agent",
        """
        import pathlib
        import anthropic
        import goalctl

        @goalctl.agent
        def answer(prompt, gateway):
            with anthropic.Anthropic(
                base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0
            ) as client:
                for _ in range(10):
                    try:
                        client.messages.create(
                            model="claude-haiku-4-5",
                            max_tokens=100,
                            messages=[{"role": "user", "content": prompt}],
                        )
                    except anthropic.APIStatusError as exc:
                        pathlib.Path(__file__).with_name("refusal.txt").write_text(exc.message)
                        raise
            return "never"
        """,
    )
    path = scenario(
        tmp_path,
        GREETS,
        """
        constraints:
          - {id: calls, description: At most 2 calls, constraint_type: hard, category: cost, check: llm_calls <= 2}
        config: {callable: "greedy_agent:answer"}
        responses: ["hello"]
        cases:
          - {name: ada, input: {name: Ada}}
          - {name: bob, input: {name: Bob}}
        """,
    )

    result = run_cli("run", str(path), "--concurrency", "1")

    assert result.exit_code == 1, result.stdout + result.stderr
    run = report(isolated_environment)
    assert run["budget_stop"]["constraint"] == "calls"
    assert run["totals"]["llm_calls"] == 3  # the call that crossed the budget is counted
    assert "hard constraint `calls` violated" in (tmp_path / "refusal.txt").read_text()
