"""``goalctl init NAME``: the new file validates, runs offline and achieves its goal as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl.errors import UsageError
from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from goalctl.scaffold import init_files, init_scenario, schema_reference
from goalctl.validation import validate_paths
from tests.conftest import run_cli


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The file's comments name it from the current directory: keep them free of tmp paths.
    monkeypatch.chdir(tmp_path)


def run_offline(path: Path, state_dir: Path) -> tuple[int, dict[str, str | None]]:
    summary = run_paths([str(path)], RunOptions(), state_dir)
    assert summary.skipped == []
    return summary.exit_code, {o.scenario.path.name: o.verdict for o in summary.outcomes}


@pytest.mark.parametrize(
    ("as_yaml", "file_name"),
    [(False, "release-notes.md"), (True, "release-notes.yaml")],
    ids=["markdown", "yaml"],
)
def test_new_scenario_validates_and_is_achieved_offline(
    as_yaml: bool, file_name: str, tmp_path: Path, text_snapshot: SnapshotAssertion
) -> None:
    directory = tmp_path / "scenarios"
    directory.mkdir()
    path = init_scenario("Release notes", directory, yaml=as_yaml)
    assert path == directory / file_name
    assert path.read_text(encoding="utf-8") == text_snapshot
    report = validate_paths([path])
    assert report.problems == []
    [scenario] = report.scenarios
    assert (scenario.goal.id, scenario.goal.name, scenario.goal.version) == (
        "release-notes",
        "Release notes",
        "0.1.0",
    )
    assert [case.name for case in scenario.cases] == ["first-example"]
    assert run_offline(path, tmp_path / "state") == (0, {file_name: "achieved"})


@pytest.mark.parametrize("as_yaml", [False, True], ids=["markdown", "yaml"])
def test_the_text_fits_the_name(as_yaml: bool, tmp_path: Path) -> None:
    path = init_scenario("Q3 forecast", tmp_path, yaml=as_yaml)
    [scenario] = validate_paths([path]).scenarios
    goal = scenario.goal
    assert goal.description.startswith("Describe here what Q3 forecast must achieve")
    assert [(c.id, c.description) for c in goal.success_criteria] == [
        ("on-topic", "The answer is about Q3 forecast")
    ]
    assert [(c.id, c.constraint_type.value) for c in goal.constraints] == [("concise", "soft")]
    assert scenario.cases[0].input == {
        "request": "A first example request about Q3 forecast; replace it with a real one"
    }
    text = path.read_text(encoding="utf-8").lower()
    assert "support" not in text
    assert "triage" not in text
    assert "billing" not in text
    # The other options are named in comments, for the user to pick from.
    for option in ("llm_judge", "output_matches", "json_schema", "constraint_type: hard"):
        assert option in text
    assert "cases: {file: cases.jsonl}" in text


def test_markdown_and_yaml_declare_the_same_goal(tmp_path: Path) -> None:
    (tmp_path / "md").mkdir()
    (tmp_path / "yaml").mkdir()
    md = validate_paths([init_scenario("Release notes", tmp_path / "md")]).scenarios[0]
    yaml = validate_paths([init_scenario("Release notes", tmp_path / "yaml", yaml=True)])
    fields = ("description", "success_criteria", "constraints", "context", "input_schema")
    assert md.goal.model_dump(include=set(fields)) == yaml.scenarios[0].goal.model_dump(
        include=set(fields)
    )
    assert md.spec.cases == yaml.scenarios[0].spec.cases
    assert md.spec.prompt == yaml.scenarios[0].spec.prompt
    assert md.spec.system == yaml.scenarios[0].spec.system


@pytest.mark.parametrize(
    ("name", "file_name", "title"),
    [
        ("support-triage", "support-triage.md", "Support triage"),
        ("support_triage", "support-triage.md", "Support triage"),
        ("  Support   triage ", "support-triage.md", "Support triage"),
        ("Café triage!", "cafe-triage.md", "Café triage!"),
        ("Q3 / Q4 forecast", "q3-q4-forecast.md", "Q3 / Q4 forecast"),
        ("v1.2 checker", "v1-2-checker.md", "v1.2 checker"),
        ("null", "null.md", "Null"),
        ("123", "123.md", "123"),
    ],
)
def test_names_and_slugs(name: str, file_name: str, title: str, tmp_path: Path) -> None:
    path = init_scenario(name, tmp_path)
    assert path.name == file_name
    [scenario] = validate_paths([path]).scenarios
    assert (scenario.goal.id, scenario.goal.name) == (path.stem, title)


@pytest.mark.parametrize("name", ["null", "true", "123", "a: b", '"quoted"', "- dash"])
def test_yaml_names_are_quoted_when_they_need_it(name: str, tmp_path: Path) -> None:
    path = init_scenario(name, tmp_path, yaml=True)
    [scenario] = validate_paths([path]).scenarios
    assert scenario.goal.id == path.stem
    assert isinstance(scenario.goal.name, str)


def test_the_scenario_templates_survive_rendering(tmp_path: Path) -> None:
    text = init_scenario("Release notes", tmp_path).read_text(encoding="utf-8")
    assert 'target: "{{ expected }}"' in text
    assert "{{ goal_context }}" in text
    assert "{{ input.request }}" in text
    assert "{%" not in text


def test_no_schema_line_outside_a_project_with_schemas(tmp_path: Path) -> None:
    text = init_scenario("Release notes", tmp_path).read_text(encoding="utf-8")
    assert "yaml-language-server" not in text


@pytest.mark.parametrize("as_yaml", [False, True])
def test_schema_line_points_at_the_projects_schema(as_yaml: bool, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "schemas").mkdir()
    (project / "schemas" / "scenario.schema.json").write_text("{}", encoding="utf-8")
    (project / "schemas" / "front-matter.schema.json").write_text("{}", encoding="utf-8")
    (project / "evals" / "support").mkdir(parents=True)
    path = init_scenario("Release notes", project / "evals" / "support", yaml=as_yaml)
    lines = path.read_text(encoding="utf-8").splitlines()
    schema = "scenario" if as_yaml else "front-matter"
    schema_line = f"# yaml-language-server: $schema=../../schemas/{schema}.schema.json"
    assert lines[: 2 if not as_yaml else 1] == (["---"] if not as_yaml else []) + [schema_line]
    assert validate_paths([path]).ok


def test_the_schema_of_another_project_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "scenario.schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / "project" / ".git").mkdir(parents=True)
    assert schema_reference(tmp_path / "project") is None
    assert schema_reference(tmp_path) == "schemas/scenario.schema.json"


class TestRefusals:
    def test_an_existing_file_is_never_overwritten(self, tmp_path: Path) -> None:
        existing = tmp_path / "release-notes.md"
        existing.write_text("mine\n", encoding="utf-8")
        with pytest.raises(UsageError) as info:
            init_scenario("Release notes", tmp_path)
        assert str(info.value) == (
            f"{existing} already exists (choose another name, remove the file, or pass --force)"
        )
        assert existing.read_text(encoding="utf-8") == "mine\n"

    def test_a_sibling_of_the_other_format_is_refused_too(self, tmp_path: Path) -> None:
        init_scenario("Release notes", tmp_path, yaml=True)
        with pytest.raises(UsageError) as info:
            init_scenario("Release notes", tmp_path, force=True)
        assert str(info.value) == (
            f"{tmp_path / 'release-notes.yaml'} already exists "
            "(choose another name, remove the file, or pass --force)"
        )
        assert not (tmp_path / "release-notes.md").exists()

    def test_force_overwrites_the_scenario(self, tmp_path: Path) -> None:
        existing = tmp_path / "release-notes.md"
        existing.write_text("mine\n", encoding="utf-8")
        assert init_scenario("Release notes", tmp_path, force=True) == existing
        assert validate_paths([existing]).ok

    @pytest.mark.parametrize("name", ["", "   ", "!!!", "日本語", "---"])
    def test_a_name_without_letters_or_digits(self, name: str, tmp_path: Path) -> None:
        with pytest.raises(UsageError) as info:
            init_scenario(name, tmp_path)
        assert str(info.value) == (
            f"cannot make a goal id from {name!r}: use letters or digits, "
            'e.g. goalctl init "Support triage"'
        )
        assert list(tmp_path.iterdir()) == []

    def test_a_missing_directory(self, tmp_path: Path) -> None:
        with pytest.raises(UsageError) as info:
            init_scenario("Release notes", tmp_path / "nope")
        assert str(info.value) == f"no such directory: {tmp_path / 'nope'}"

    def test_a_file_instead_of_a_directory(self, tmp_path: Path) -> None:
        (tmp_path / "file").write_text("", encoding="utf-8")
        with pytest.raises(UsageError) as info:
            init_scenario("Release notes", tmp_path / "file")
        assert str(info.value) == f"not a directory: {tmp_path / 'file'}"

    def test_a_name_markdown_cannot_hold_as_a_title(self, tmp_path: Path) -> None:
        # A heading's trailing '#'s are decoration in Markdown; the YAML variant keeps them.
        with pytest.raises(UsageError) as info:
            init_scenario("Release #", tmp_path)
        assert str(info.value) == (
            "cannot write a scenario named 'Release #': the name reads back as 'Release'"
        )
        assert list(tmp_path.iterdir()) == []
        [scenario] = validate_paths([init_scenario("Release #", tmp_path, yaml=True)]).scenarios
        assert scenario.goal.name == "Release #"


KINDS = ["command", "http", "python"]


@pytest.mark.usefixtures("venv_on_path")
class TestAgentKinds:
    @pytest.mark.parametrize("as_yaml", [False, True], ids=["markdown", "yaml"])
    @pytest.mark.parametrize("agent", KINDS)
    def test_each_kind_validates_and_is_achieved_offline(
        self, agent: str, as_yaml: bool, tmp_path: Path
    ) -> None:
        project = tmp_path / "project"
        (project / ".git").mkdir(parents=True)
        # A folder name no other test imports: a process imports one module of a name.
        (project / "notes_evals").mkdir()
        written = init_files("Release notes", project / "notes_evals", yaml=as_yaml, agent=agent)
        assert written.agent is not None
        assert written.agent.is_file()
        [scenario] = validate_paths([written.scenario]).scenarios
        assert scenario.spec.agent == agent
        name = written.scenario.name
        assert run_offline(written.scenario, tmp_path / "state") == (0, {name: "achieved"})

    @pytest.mark.parametrize(
        ("agent", "starter", "config"),
        [
            (
                "command",
                "release-notes-agent/agent.py",
                {"workspace": "release-notes-agent", "command": ["python3", "agent.py"]},
            ),
            (
                "http",
                "release_notes_service.py",
                {
                    "serve": ["python3", "release_notes_service.py"],
                    "url": "http://127.0.0.1:${PORT}/answer",
                    "output": "/answer",
                },
            ),
            ("python", "release_notes_agent.py", {"callable": "evals.release_notes_agent:answer"}),
        ],
    )
    def test_the_starter_sits_beside_the_scenario(
        self, agent: str, starter: str, config: dict[str, object], tmp_path: Path
    ) -> None:
        (tmp_path / ".git").mkdir()
        (tmp_path / "evals").mkdir()
        written = init_files("Release notes", tmp_path / "evals", agent=agent)
        assert written.agent == tmp_path / "evals" / starter
        [scenario] = validate_paths([written.scenario]).scenarios
        assert {key: scenario.spec.config[key] for key in config} == config
        source = written.agent.read_text(encoding="utf-8")
        compile(source, str(written.agent), "exec")
        assert source.startswith("# Starter ")
        assert '"Release notes"' in source.splitlines()[0]

    def test_nothing_is_overwritten_without_force(self, tmp_path: Path) -> None:
        starter = tmp_path / "release_notes_agent.py"
        starter.write_text("mine\n", encoding="utf-8")
        with pytest.raises(UsageError) as info:
            init_files("Release notes", tmp_path, agent="python")
        assert str(info.value) == (
            f"{starter} already exists (choose another name, remove the file, or pass --force)"
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["release_notes_agent.py"]
        written = init_files("Release notes", tmp_path, agent="python", force=True)
        assert "@goalctl.agent" in starter.read_text(encoding="utf-8")
        assert validate_paths([written.scenario]).ok

    def test_a_scenario_that_exists_leaves_no_starter_behind(self, tmp_path: Path) -> None:
        (tmp_path / "release-notes.md").write_text("mine\n", encoding="utf-8")
        with pytest.raises(UsageError):
            init_files("Release notes", tmp_path, agent="command")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["release-notes.md"]

    def test_a_python_agent_needs_a_module_path(self, tmp_path: Path) -> None:
        (tmp_path / ".git").mkdir()
        (tmp_path / "my-evals").mkdir()
        with pytest.raises(UsageError) as info:
            init_files("Release notes", tmp_path / "my-evals", agent="python")
        assert "'my-evals.release_notes_agent'" in str(info.value)
        assert "not a Python module name" in str(info.value)
        assert list((tmp_path / "my-evals").iterdir()) == []

    def test_the_command_line(self, tmp_path: Path) -> None:
        result = run_cli("init", "Release notes", "--agent", "command", "--dir", "evals")
        assert (result.exit_code, result.stderr) == (0, "")
        assert result.stdout == (
            "wrote evals/release-notes-agent/agent.py\n"
            "wrote evals/release-notes.md; try `goalctl run evals/release-notes.md`\n"
        )
        again = run_cli("init", "Release notes", "--agent", "command", "--dir", "evals")
        assert again.exit_code == 2
        assert "already exists" in again.stderr
        assert "--force" in again.stderr
        forced = run_cli("init", "Release notes", "--agent", "command", "--dir", "evals", "--force")
        assert forced.exit_code == 0
        run = run_cli("run", "evals/release-notes.md", "--json")
        assert run.exit_code == 0, run.stderr
