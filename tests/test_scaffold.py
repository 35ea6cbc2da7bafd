"""``goalctl init NAME``: the new file validates, runs offline and achieves its goal as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl.errors import UsageError
from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from goalctl.scaffold import init_scenario, render_scenario, schema_reference
from goalctl.validation import validate_paths
from tests.conftest import REPO, SCENARIOS


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
    [(False, "support-triage.md"), (True, "support-triage.yaml")],
    ids=["markdown", "yaml"],
)
def test_new_scenario_validates_and_is_achieved_offline(
    as_yaml: bool, file_name: str, tmp_path: Path, text_snapshot: SnapshotAssertion
) -> None:
    directory = tmp_path / "scenarios"
    directory.mkdir()
    path = init_scenario("Support triage", directory, yaml=as_yaml)
    assert path == directory / file_name
    assert path.read_text(encoding="utf-8") == text_snapshot
    report = validate_paths([path])
    assert report.problems == []
    [scenario] = report.scenarios
    assert (scenario.goal.id, scenario.goal.name, scenario.goal.version) == (
        "support-triage",
        "Support triage",
        "0.1.0",
    )
    assert len(scenario.cases) == 2
    assert run_offline(path, tmp_path / "state") == (0, {file_name: "achieved"})


def test_markdown_and_yaml_declare_the_same_goal(tmp_path: Path) -> None:
    (tmp_path / "md").mkdir()
    (tmp_path / "yaml").mkdir()
    md = validate_paths([init_scenario("Support triage", tmp_path / "md")]).scenarios[0]
    yaml = validate_paths([init_scenario("Support triage", tmp_path / "yaml", yaml=True)])
    fields = ("success_criteria", "constraints", "context", "input_schema", "output_schema")
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
    text = init_scenario("Support triage", tmp_path).read_text(encoding="utf-8")
    assert 'target: "{{ expected }}"' in text
    assert "{{ goal_context }}" in text
    assert "Message: {{ input.message }}" in text
    assert "{%" not in text


def test_no_schema_line_outside_a_project_with_schemas(tmp_path: Path) -> None:
    text = init_scenario("Support triage", tmp_path).read_text(encoding="utf-8")
    assert "yaml-language-server" not in text


@pytest.mark.parametrize("as_yaml", [False, True])
def test_schema_line_points_at_the_projects_schema(as_yaml: bool, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "schemas").mkdir()
    (project / "schemas" / "scenario.schema.json").write_text("{}", encoding="utf-8")
    (project / "schemas" / "front-matter.schema.json").write_text("{}", encoding="utf-8")
    (project / "evals" / "support").mkdir(parents=True)
    path = init_scenario("Support triage", project / "evals" / "support", yaml=as_yaml)
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


def test_the_example_is_what_init_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    # scenarios/support-triage.md was made by `goalctl init "Support triage"` in the repo; a
    # template change must regenerate it (and its snapshots), so the two never drift apart.
    monkeypatch.chdir(REPO)
    path = Path("scenarios/support-triage.md")
    schema = schema_reference(SCENARIOS, markdown=True)
    expected = render_scenario("Support triage", "support-triage", path, schema=schema)
    assert schema == "../schemas/front-matter.schema.json"
    assert path.read_text(encoding="utf-8") == expected


class TestRefusals:
    def test_an_existing_file_is_never_overwritten(self, tmp_path: Path) -> None:
        existing = tmp_path / "support-triage.md"
        existing.write_text("mine\n", encoding="utf-8")
        with pytest.raises(UsageError) as info:
            init_scenario("Support triage", tmp_path)
        assert str(info.value) == (
            f"{existing} already exists (choose another name, or remove the file)"
        )
        assert existing.read_text(encoding="utf-8") == "mine\n"

    def test_a_sibling_of_the_other_format_is_refused_too(self, tmp_path: Path) -> None:
        init_scenario("Support triage", tmp_path, yaml=True)
        with pytest.raises(UsageError) as info:
            init_scenario("Support triage", tmp_path)
        assert str(info.value) == (
            f"{tmp_path / 'support-triage.yaml'} already exists "
            "(choose another name, or remove the file)"
        )
        assert not (tmp_path / "support-triage.md").exists()

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
            init_scenario("Support triage", tmp_path / "nope")
        assert str(info.value) == f"no such directory: {tmp_path / 'nope'}"

    def test_a_file_instead_of_a_directory(self, tmp_path: Path) -> None:
        (tmp_path / "file").write_text("", encoding="utf-8")
        with pytest.raises(UsageError) as info:
            init_scenario("Support triage", tmp_path / "file")
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
