"""``goalctl init NAME``: a new scenario file that validates and runs offline as written.

The templates (``goalctl/prompts/init.*.j2``) hold a small but complete scenario — cases,
criteria of three kinds, constraints, scripted replies — with comments saying what to change.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from goalctl.errors import UsageError
from goalctl.goal import SLUG_PATTERN
from goalctl.scenario.loader import SCENARIO_SUFFIXES

SCHEMA_FILE = Path("schemas") / "scenario.schema.json"
"""Where ``goalctl schema --out schemas`` writes the scenario schema, from a project's root."""
FRONT_MATTER_SCHEMA_FILE = Path("schemas") / "front-matter.schema.json"
"""And the schema of a Markdown scenario's front matter."""

_SLUG = re.compile(SLUG_PATTERN)


def init_scenario(name: str, directory: Path, *, yaml: bool = False) -> Path:
    """Write a new scenario named ``name`` into ``directory`` and return its path.

    ``name`` is a human name (``"Support triage"``) or a slug (``support-triage``); the goal id
    and the file name (``support-triage.md``, or ``.yaml`` with ``yaml=True``) are its slug.
    An existing file is never overwritten.
    """
    title, goal_id = _names(name)
    if not directory.is_dir():
        problem = "not a directory" if directory.exists() else "no such directory"
        raise UsageError(f"{problem}: {directory}")
    path = directory / f"{goal_id}{'.yaml' if yaml else '.md'}"
    # A sibling of the same name would define the same goal id and version: also refused.
    for existing in (path.with_suffix(suffix) for suffix in SCENARIO_SUFFIXES):
        if existing.exists():
            raise _exists(existing)
    schema = schema_reference(directory, markdown=not yaml)
    text = render_scenario(title, goal_id, path, schema=schema)
    try:
        with path.open("x", encoding="utf-8", newline="\n") as file:
            file.write(text)
    except FileExistsError:
        raise _exists(path) from None
    return path


def _exists(path: Path) -> UsageError:
    return UsageError(f"{path} already exists (choose another name, or remove the file)")


def render_scenario(title: str, goal_id: str, path: Path, *, schema: str | None = None) -> str:
    """The text of a new scenario file at ``path`` (its suffix picks Markdown or YAML)."""
    from goalctl.templates import render_builtin

    template = "init.yaml.j2" if path.suffix in (".yaml", ".yml") else "init.md.j2"
    text = render_builtin(
        template,
        id=_yaml_string(goal_id),
        title=title,
        title_yaml=_yaml_string(title),
        filename=_shown(path),
        schema=schema,
    )
    _check(text, path, title)
    return text


def _names(name: str) -> tuple[str, str]:
    """(human name, goal id) from what the user typed."""
    title = " ".join(name.split())
    goal_id = slugify(title)
    if not goal_id:
        raise UsageError(
            f"cannot make a goal id from {name!r}: use letters or digits, "
            'e.g. goalctl init "Support triage"'
        )
    if _SLUG.match(title):
        # A slug was typed: its words make the human name.
        words = re.sub(r"[-_]+", " ", title).strip()
        title = words[:1].upper() + words[1:]
    return title, goal_id


def slugify(text: str) -> str:
    """``"Café triage!"`` → ``cafe-triage``: lowercase ASCII words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:64].rstrip("-")


def _shown(path: Path) -> str:
    """How to name ``path`` in the commands of the file's comments: from the current
    directory when it is below it, else by its name."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def schema_reference(directory: Path, *, markdown: bool = False) -> str | None:
    """A relative path to the scenario schema (of a Markdown scenario's front matter with
    ``markdown=True``) when the project has one, for editors.

    It is looked for in ``directory`` and the folders above it, up to the project's root (the
    first folder holding ``.git``): a schema outside the project would not travel with it.
    """
    start = directory.resolve()
    for folder in (start, *start.parents):
        schema = folder / (FRONT_MATTER_SCHEMA_FILE if markdown else SCHEMA_FILE)
        if schema.is_file():
            return Path(os.path.relpath(schema, start)).as_posix()
        if (folder / ".git").exists():
            break
    return None


def _yaml_string(text: str) -> str:
    """``text`` as a YAML scalar: plain when YAML reads it back unchanged (``null`` does not),
    else quoted."""
    import json

    from goalctl.scenario.yamlsafe import YamlLoadError, load_yaml

    try:
        if load_yaml(f"key: {text}\n").data == {"key": text}:
            return text
    except YamlLoadError:
        pass
    return json.dumps(text, ensure_ascii=False)


def _check(text: str, path: Path, title: str) -> None:
    """Refuse to write a file that would not load as intended (an odd name can break it)."""
    from goalctl.scenario.loader import read_scenario

    result = read_scenario(path, text)
    problems = [str(problem) for problem in result.problems if problem.severity == "error"]
    if result.ref is not None and result.ref.name != title:
        problems.append(f"the name reads back as {result.ref.name!r}")
    if problems:
        raise UsageError(f"cannot write a scenario named {title!r}: " + "; ".join(problems))
