"""``goalctl init NAME``: a new scenario file that validates and runs offline as written.

The templates (``goalctl/prompts/init.*.j2``) hold a small but complete scenario named after
NAME — a goal, one example case, a criterion and a constraint to edit, scripted replies — with
comments naming the other options. ``--agent command|http|python`` writes the scenario for
that agent kind plus a starter agent beside it (a program, a service, a function), which
calls the model through goalctl's gateway with the standard library alone, so the scenario
runs offline to an achieved goal as written.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from goalctl.errors import UsageError
from goalctl.goal import SLUG_PATTERN
from goalctl.scenario.loader import SCENARIO_SUFFIXES

SCHEMA_FILE = Path("schemas") / "scenario.schema.json"
"""Where ``goalctl schema --out schemas`` writes the scenario schema, from a project's root."""
FRONT_MATTER_SCHEMA_FILE = Path("schemas") / "front-matter.schema.json"
"""And the schema of a Markdown scenario's front matter."""
AGENT_KINDS: Final = ("llm", "command", "http", "python")
"""What ``init --agent`` writes a scenario for: the built-in agent, or the team's own agent."""

_SLUG = re.compile(SLUG_PATTERN)


@dataclass(frozen=True)
class Scaffold:
    """What ``goalctl init`` wrote: the scenario and, for the team's own agent, its starter."""

    scenario: Path
    agent: Path | None = None


def init_scenario(
    name: str, directory: Path, *, yaml: bool = False, agent: str = "llm", force: bool = False
) -> Path:
    """Write a new scenario named ``name`` into ``directory`` and return its path (see
    :func:`init_files`)."""
    return init_files(name, directory, yaml=yaml, agent=agent, force=force).scenario


def init_files(
    name: str, directory: Path, *, yaml: bool = False, agent: str = "llm", force: bool = False
) -> Scaffold:
    """Write a new scenario named ``name`` into ``directory``, with a starter agent beside it
    when ``agent`` is ``command``, ``http`` or ``python``.

    ``name`` is a human name (``"Release notes"``) or a slug (``release-notes``); the goal id
    and the file name (``release-notes.md``, or ``.yaml`` with ``yaml=True``) are its slug.
    An existing file is overwritten only with ``force``; nothing is written when one is refused.
    """
    if agent not in AGENT_KINDS:
        raise UsageError(f"--agent {agent!r}: choose one of {', '.join(AGENT_KINDS)}")
    title, goal_id = _names(name)
    if not directory.is_dir():
        problem = "not a directory" if directory.exists() else "no such directory"
        raise UsageError(f"{problem}: {directory}")
    path = directory / f"{goal_id}{'.yaml' if yaml else '.md'}"
    starter = _starter_path(directory, goal_id, agent)
    # A sibling of the same name would define the same goal id and version: also refused.
    taken = [path.with_suffix(suffix) for suffix in SCENARIO_SUFFIXES]
    for existing in [*taken, *([starter] if starter else [])]:
        if existing.exists() and not (force and existing in (path, starter)):
            raise _exists(existing)
    schema = schema_reference(directory, markdown=not yaml)
    agent_block = _agent_block(agent, path, starter)
    if starter is None:
        _write(path, render_scenario(title, goal_id, path, schema=schema), force)
        return Scaffold(path)
    # The scenario is checked with its starter in place (a workspace must exist), and the
    # starter goes again when the scenario cannot be written.
    made_folder = not starter.parent.exists()
    starter.parent.mkdir(exist_ok=True)
    _write(starter, render_starter(agent, title, path, starter), force)
    try:
        text = render_scenario(title, goal_id, path, schema=schema, agent_block=agent_block)
        _write(path, text, force)
    except BaseException:
        starter.unlink(missing_ok=True)
        if made_folder:
            starter.parent.rmdir()
        raise
    return Scaffold(path, starter)


def _write(path: Path, text: str, force: bool) -> None:
    try:
        with path.open("w" if force else "x", encoding="utf-8", newline="\n") as file:
            file.write(text)
    except FileExistsError:
        raise _exists(path) from None


def _exists(path: Path) -> UsageError:
    return UsageError(
        f"{path} already exists (choose another name, remove the file, or pass --force)"
    )


def _starter_path(directory: Path, goal_id: str, agent: str) -> Path | None:
    """Where the starter of ``agent`` goes: a folder of its own for a program (each case runs
    in a copy of it), a module for a function, a file for a service."""
    stem = goal_id.replace("-", "_")
    if agent == "command":
        return directory / f"{goal_id}-agent" / "agent.py"
    if agent == "python":
        module = f"{stem}_agent"
        return directory / f"{module if module.isidentifier() else 'agent_' + module}.py"
    if agent == "http":
        return directory / f"{stem}_service.py"
    return None


def _agent_block(agent: str, scenario: Path, starter: Path | None) -> str:
    """The scenario's ``agent:`` and ``config:`` lines, with comments, for ``agent``."""
    if agent == "llm" or starter is None:
        return (
            "# The agent: `llm` asks the model itself. Your own agent (a program, a service, a\n"
            "# Python function) can pursue the goal instead: `goalctl init NAME --agent\n"
            "# command|http|python` starts one; `goalctl agents` lists every kind.\n"
            "agent: llm\n"
            "config:\n"
            "  max_attempts: 2  # a failed case is retried once, with the unmet criteria as "
            "feedback"
        )
    if agent == "command":
        return (
            f"# The agent: your own program ({starter.parent.name}/{starter.name}), run once per\n"
            "# case in a fresh copy of `workspace`. It reads the case as JSON on stdin and prints\n"
            "# its answer; its model calls go through goalctl's gateway ($ANTHROPIC_BASE_URL).\n"
            "agent: command\n"
            "config:\n"
            f"  workspace: {starter.parent.name}\n"
            "  command: [python3, agent.py]\n"
            "  timeout_s: 60"
        )
    if agent == "http":
        return (
            f"# The agent: your own service ({starter.name}). goalctl starts it with `serve` for\n"
            "# the run (in this folder, on a free ${PORT}) and POSTs each case to `url`; remove\n"
            "# `serve` and point `url` at a service that already runs. Its model calls go through\n"
            "# goalctl's gateway (the X-Goalctl-Gateway-Url and -Key headers).\n"
            "agent: http\n"
            "config:\n"
            f"  serve: [python3, {starter.name}]\n"
            "  url: http://127.0.0.1:${PORT}/answer\n"
            "  output: /answer  # a JSON Pointer into the service's answer"
        )
    return (
        f"# The agent: your own Python function ({starter.name}), marked @goalctl.agent and\n"
        "# called once per case; its model calls go through goalctl's gateway.\n"
        "agent: python\n"
        "config:\n"
        f"  callable: {_module_of(scenario, starter)}:answer"
    )


def _module_of(scenario: Path, module: Path) -> str:
    """The dotted name the python agent imports ``module`` by: its path from the scenario's
    project root (the nearest folder with a pyproject.toml or .git)."""
    from goalctl.projects import project_root

    root = project_root(scenario)
    parts = Path(os.path.realpath(module)).relative_to(root).with_suffix("").parts
    if not all(part.isidentifier() for part in parts):
        raise UsageError(
            f"--agent python: {module} would be imported as {'.'.join(parts)!r} from the "
            f"project at {root}, which is not a Python module name; use --dir with a folder "
            "whose names are Python identifiers"
        )
    return ".".join(parts)


def render_scenario(
    title: str,
    goal_id: str,
    path: Path,
    *,
    schema: str | None = None,
    agent_block: str | None = None,
) -> str:
    """The text of a new scenario file at ``path`` (its suffix picks Markdown or YAML)."""
    from goalctl.templates import render_builtin

    template = "init.yaml.j2" if path.suffix in (".yaml", ".yml") else "init.md.j2"
    description = f"Describe here what {title} must achieve and what a good result looks like."
    fields = render_builtin(
        "init.fields.yaml.j2",
        agent_block=agent_block or _agent_block("llm", path, None),
        criterion=_yaml_string(f"The answer is about {title}"),
        request=_quoted(f"A first example request about {title}; replace it with a real one"),
        expected=_yaml_string(title),
        reply=_quoted(f"{title}: a first scripted answer, to replace with a real model's."),
    ).strip("\n")
    text = render_builtin(
        template,
        id=_yaml_string(goal_id),
        title=title,
        title_yaml=_yaml_string(title),
        description=description,
        description_yaml=_yaml_string(description),
        filename=_shown(path),
        schema=schema,
        fields=fields,
    )
    _check(text, path, title)
    return text


def render_starter(agent: str, title: str, scenario: Path, starter: Path) -> str:
    """The text of the starter agent of ``agent`` for the scenario at ``scenario``."""
    import json

    from goalctl.templates import render_builtin

    return render_builtin(
        f"init.agent.{agent}.py.j2",
        title_comment=json.dumps(title, ensure_ascii=False),
        scenario=scenario.name,
        service=starter.name,
        model_call=render_builtin("init.model_call.py.j2").strip("\n") + "\n",
    )


def _quoted(text: str) -> str:
    """``text`` as a double-quoted YAML scalar (JSON's quoting is YAML's)."""
    import json

    return json.dumps(text, ensure_ascii=False)


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
