"""Hostile scenario files (DESIGN §10): each is refused with a clear message and an exit code
from the table, quickly, and never with a traceback.

Scenario files may come from strangers' pull requests. The small hostile files live in
``tests/fixtures/hostile``; the big ones, symlinks and FIFOs are made in ``tmp_path`` by each
test. Every command runs in-process through :func:`goalctl`, which also asserts the two
properties every hostile file must keep: no traceback, and an end within :data:`BOUND`.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, SCENARIOS, CliResult, run_cli

HOSTILE = FIXTURES / "hostile"
BOUND = 10.0
"""Seconds any command may take on a hostile file: the point is "never hangs", not speed."""

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
needs_symlinks = pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges")


def goalctl(*args: str | Path) -> CliResult:
    """``goalctl ARGS``, checked to end in time without a traceback."""
    started = time.monotonic()
    result = run_cli(*(str(arg) for arg in args))
    elapsed = time.monotonic() - started
    assert "Traceback" not in result.stdout + result.stderr
    assert elapsed < BOUND, f"goalctl {' '.join(map(str, args))} took {elapsed:.1f}s"
    return result


def scenario(**fields: str) -> str:
    """A valid YAML scenario answered by the scripted provider, one field a line; ``fields``
    (YAML text) replace or follow these."""
    lines = {
        "id": "hostile",
        "name": "Hostile",
        "description": "A hostile scenario",
        "version": "1.0.0",
        "status": "ready",
        "provider": "scripted",
        "success_criteria": "[{id: ok, description: It answers, metric: output_contains, target: ok}]",
        "cases": "[{name: first, input: {word: hi}}]",
        "responses": "[ok]",
    }
    return "".join(f"{key}: {value}\n" for key, value in (lines | fields).items())


# --- Files refused by validate, render and run alike -----------------------------------------

REFUSED: dict[str, str] = {
    "template_nested_loops.yaml": (
        "18:1: prompt: template exceeded its limit of 1,000,000 operations "
        "(a loop that runs too long?)"
    ),
    "template_silent_loops.yaml": (
        "18:1: prompt: template exceeded its limit of 1,000,000 operations "
        "(a loop that runs too long?)"
    ),
    "template_string_bomb.yaml": (
        "18:1: prompt: template exceeded its size limit: the result of '*' would be larger "
        "than 1,000,000 characters"
    ),
    "template_output_bomb.yaml": (
        "18:1: prompt: template output exceeded its limit of 1,000,000 characters"
    ),
    "template_block_bomb.yaml": (
        "18:1: prompt: template exceeded its memory limit (it builds more than 20,000,000 "
        "characters or items)"
    ),
    "template_doubling_bomb.yaml": (
        "18:1: prompt: template exceeded its size limit: a list or mapping would be larger "
        "than 1,000,000 characters or items"
    ),
    "template_format_bomb.yaml": (
        "18:1: prompt: template exceeded its size limit: the result of format() would be "
        "larger than 1,000,000 characters"
    ),
    "template_file_read.yaml": (
        "18:1: prompt: unsafe template: access to attribute 'parse_file' of 'Goal' object is "
        "unsafe."
    ),
    "template_target_bomb.yaml": (
        "12:13: success_criteria[0].target: template exceeded its size limit: the result of "
        "'*' would be larger than 1,000,000 characters (case 'first')"
    ),
    "check_deep_nesting.yaml": (
        "16:12: constraints[0].check: invalid expression '"
        + "(" * 77
        + "...': syntax error: too many nested parentheses (column 201)"
    ),
    "yaml_deep_block.yaml": (
        "13:5: block nesting (indentation and '-', '?', ':' indicators) is deeper than 200 "
        "levels (flatten the document)"
    ),
    "yaml_deep_keys.md": (
        "14:5: block nesting (indentation and '-', '?', ':' indicators) is deeper than 200 "
        "levels (flatten the document)"
    ),
    "yaml_huge_int.yaml": (
        "11:22: config.max_tokens: integer 0xffffffffff… has more than 1,000 digits "
        "(write it as a string)"
    ),
    "yaml_alias_bomb.yaml": (
        "5:4: document expands to more than 100,000 values "
        "(too many aliases or values; is this an alias bomb?)"
    ),
    "nul_bytes.md": "1:1: not a text file (it contains NUL bytes) (scenarios are UTF-8 text)",
    "invalid_utf8.md": "4:6: invalid UTF-8 (byte 0xe9) (save the file as UTF-8)",
    "zero_width_id.yaml": (
        "2:5: id: 'hos\\u200btile' is not a valid id (use lowercase letters, digits, '-', '_' "
        "and '.'; start with a letter or digit)"
    ),
    "bidi_id.md": (
        "2:5: id: '\\u202eelitsoh' is not a valid id (use lowercase letters, digits, '-', '_' "
        "and '.'; start with a letter or digit)"
    ),
    "crlf_invalid.yaml": (
        "6:9: status: must be one of 'draft', 'ready', 'active', 'completed', 'failed' or "
        "'suspended', got 'done'"
    ),
}


def test_every_hostile_fixture_is_pinned() -> None:
    files = {path.name for path in HOSTILE.iterdir()}
    assert files == set(REFUSED) | set(VALID) | set(REFUSED_BY_VALIDATE)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_validate_refuses(name: str) -> None:
    path = HOSTILE / name
    result = goalctl("validate", path)
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        f"{path}:{REFUSED[name]}\n",
        "1 of 1 scenario file invalid (1 problem)\n",
    )


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_render_and_run_refuse(name: str) -> None:
    path = HOSTILE / name
    for command in (("render",), ("run", "--provider", "scripted")):
        result = goalctl(*command, path)
        assert (result.exit_code, result.stderr) == (1, f"{path}:{REFUSED[name]}\n"), command


def test_crlf_positions_are_those_of_the_same_file_with_lf(tmp_path: Path) -> None:
    lf = tmp_path / "lf.yaml"
    lf.write_bytes((HOSTILE / "crlf_invalid.yaml").read_bytes().replace(b"\r\n", b"\n"))
    result = goalctl("validate", lf)
    assert result.stdout == f"{lf}:{REFUSED['crlf_invalid.yaml']}\n"


def test_a_directory_of_hostile_files_is_checked_whole() -> None:
    result = goalctl("validate", HOSTILE)
    assert result.exit_code == 1
    # Besides their own problems, the files that load share a goal id and version.
    assert {f"{HOSTILE / name}:{line}" for name, line in REFUSED.items()} <= set(
        result.stdout.splitlines()
    )


# --- Valid files with odd bytes: validated, rendered and run like any other -------------------

VALID = {"bom.yaml": "odd-endings", "crlf.yaml": "odd-endings", "crlf.md": "crlf-markdown"}


@pytest.mark.parametrize("name", sorted(VALID))
def test_odd_but_valid_files_work(name: str) -> None:
    path = HOSTILE / name
    assert goalctl("validate", path).stdout == "1 scenario file valid\n"
    rendered = goalctl("render", path)
    assert rendered.exit_code == 0
    assert rendered.stdout.endswith("--- prompt ---\nSay hi.\n")
    run = goalctl("run", "--provider", "scripted", path)
    assert run.exit_code == 0
    assert f"{VALID[name]}-" in run.stdout


# --- Expressions: a bomb in a constant part is refused by validate, and by run before it runs --

REFUSED_BY_VALIDATE = {
    "check_power_bomb.yaml": (
        "17:12: constraints[0].check: invalid expression '9**9**9 > 1': "
        "9 ** 387420489 is too large (more than 10,000 bits) (column 1)"
    ),
    "custom_string_bomb.yaml": (
        "16:12: success_criteria[1].check: invalid expression \"len('a' * 10**10) > 1\": "
        "the result of '*' would be too large (more than 1,000,000 characters) (column 5)"
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED_BY_VALIDATE))
def test_expression_bombs_are_refused_by_validate(name: str, tmp_path: Path) -> None:
    path = HOSTILE / name
    validated = goalctl("validate", path)
    assert validated.exit_code == 1
    assert validated.stdout == f"{path}:{REFUSED_BY_VALIDATE[name]}\n"
    result = goalctl("run", "--provider", "scripted", "--report-dir", tmp_path, path)
    assert result.exit_code == 1
    assert REFUSED_BY_VALIDATE[name] in result.stdout + result.stderr
    assert not (tmp_path / "hostile-1.0.0.md").exists()  # nothing ran


@pytest.mark.parametrize(
    "check",
    ["output.__class__.__mro__", "().__class__.__bases__[0].__subclasses__()", "__import__('os')"],
)
def test_expression_escapes_are_refused_by_validate(check: str, tmp_path: Path) -> None:
    path = tmp_path / "escape.yaml"
    path.write_text(
        scenario(constraints=f'[{{id: c, description: c, check: "{check}"}}]'), encoding="utf-8"
    )
    result = goalctl("validate", path)
    assert result.exit_code == 1
    assert f"{path}:10:" in result.stdout
    assert "constraints[0].check: invalid expression " in result.stdout
    assert "is not allowed: names starting with '_' are private" in result.stdout or (
        "is not allowed: attributes starting with '_' are private" in result.stdout
    )


# --- Template escapes: refused by validate with the sandbox's word for it ----------------------

ESCAPES = {
    "{{ ''.__class__.__mro__[1].__subclasses__() }}": "access to attribute '__class__' of 'str'",
    "{{ goal.__class__.__init__.__globals__ }}": "'__init__' of 'StrictUndefined'",
    "{{ namespace.__init__.__globals__ }}": "access to attribute '__init__' of 'type'",
    "{% set ns = namespace() %}{{ ns._Namespace__attrs }}": "'_Namespace__attrs' of 'Namespace'",
    "{{ '{0.__class__}'.format(input) }}": "access to attribute '__class__' of 'dict'",
    "{{ '%s' | format(input.__class__) }}": "access to attribute '__class__' of 'dict'",
    "{{ self._TemplateReference__context }}": "'_TemplateReference__context'",
    "{{ range.__init__ }}": "access to attribute '__init__' of 'function'",
    "{{ input | attr('__class__') }}": "access to attribute '__class__' of 'dict'",
    "{{ goal.parse_file('/etc/passwd') }}": "access to attribute 'parse_file' of 'Goal'",
    "{{ goal.model_rebuild(force=True) }}": "access to attribute 'model_rebuild' of 'Goal'",
    "{{ lipsum.__globals__ }}": "undefined name: 'lipsum' is undefined",
    "{{ cycler.__init__.__globals__ }}": "access to attribute '__init__' of 'StrictUndefined'",
    "{{ joiner() }}": "undefined name: 'joiner' is undefined",
    "{% include '/etc/passwd' %}": "no loader for this environment specified",
}


@pytest.mark.parametrize("template", sorted(ESCAPES))
def test_template_escapes_are_refused(template: str, tmp_path: Path) -> None:
    path = tmp_path / "escape.yaml"
    path.write_text(scenario(prompt=repr(template)), encoding="utf-8")
    result = goalctl("validate", path)
    assert result.exit_code == 1
    assert f"{path}:10:1: prompt: " in result.stdout
    assert ESCAPES[template] in result.stdout


def test_a_template_bomb_on_a_retry_errors_the_case(tmp_path: Path) -> None:
    # Validation renders the first attempt only; the bomb waits for the second one.
    path = tmp_path / "retry.yaml"
    bomb = "\"{% if attempt > 1 %}{{ 'a' * 10**9 }}{% endif %}Answer.\""
    path.write_text(
        scenario(prompt=bomb, responses="[nope]", config="{max_attempts: 2}"), encoding="utf-8"
    )
    assert goalctl("validate", path).exit_code == 0
    result = goalctl("run", "--provider", "scripted", path)
    assert result.exit_code == 3
    assert (
        ": errored first — template exceeded its size limit: the result of '*' would be larger "
        "than 1,000,000 characters\n"
    ) in result.stdout


# --- Big, long and deep files, made at test time ----------------------------------------------


def markdown(paragraph: str) -> str:
    """A valid Markdown scenario whose description is ``paragraph``."""
    return (
        "---\nid: long\nversion: 1.0.0\nstatus: ready\nprovider: scripted\n"
        "success_criteria: [{id: ok, description: It answers, metric: output_contains, "
        "target: ok}]\ncases: [{name: first, input: {word: hi}}]\nresponses: [ok]\n---\n"
        f"# Long\n\n{paragraph}\n\n## Prompt\n\n```jinja\nSay {{{{ input.word }}}}.\n```\n"
    )


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(scenario(description="x" * (2 * 1024 * 1024)), encoding="utf-8")
    size = path.stat().st_size
    for command in (("validate",), ("render",), ("run", "--provider", "scripted")):
        result = goalctl(*command, path)
        assert result.exit_code == 1
        assert (
            f"{path}:1:1: file is too large ({size:,} bytes; the limit is 1,048,576) "
            "(split it into several scenarios)\n"
        ) in result.stdout + result.stderr


@pytest.mark.parametrize(
    "name", ["long_value.yaml", "long_quoted_value.yaml", "long_paragraph.md", "long_word.md"]
)
def test_very_long_lines_are_read_in_bounded_time(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    if name == "long_value.yaml":
        text = scenario(description="word " * 180_000)
    elif name == "long_quoted_value.yaml":
        text = scenario(description='"' + 'a\\"' * 300_000 + '"')
    else:
        body = "word " * 180_000 if name == "long_paragraph.md" else "a" * 900_000
        text = markdown(body)
    path.write_text(text, encoding="utf-8")
    assert goalctl("validate", path).stdout == "1 scenario file valid\n"
    assert goalctl("render", path).exit_code == 0
    assert goalctl("run", "--provider", "scripted", path).exit_code == 0


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_deep_yaml_flow_nesting_is_refused_before_parsing(opener: str, tmp_path: Path) -> None:
    # libyaml composes flow collections recursively in C: 100,000 levels crash the process.
    path = tmp_path / "deep.yaml"
    closer = "]" if opener == "[" else "}"
    path.write_text(scenario(context=opener * 100_000 + "1" + closer * 100_000))
    result = goalctl("validate", path)
    assert result.exit_code == 1
    column = len("context: ") + 1 + 1000 * len(opener)  # where the 1,001st level opens
    assert result.stdout == (
        f"{path}:10:{column}: brackets nest deeper than 1,000 levels (flatten the document)\n"
    )


DEEP_MARKDOWN = {
    "lists": "## Success criteria\n\n" + "- " * 1000 + "x\n",
    "context bullets": "## Context\n\n" + "".join(" " * (2 * i) + "- k: v\n" for i in range(400)),
}


@pytest.mark.parametrize("kind", sorted(DEEP_MARKDOWN))
def test_deep_markdown_nesting_is_a_problem(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "deep.md"
    path.write_text(markdown("A paragraph.") + "\n" + DEEP_MARKDOWN[kind], encoding="utf-8")
    problem = (
        f"{path}:1:1: the file nests lists or quotes too deeply to be read "
        "(flatten the nested lists or quotes)\n"
    )
    for command in (("validate",), ("run", "--provider", "scripted")):
        result = goalctl(*command, path)
        assert (result.exit_code, problem in result.stdout + result.stderr) == (1, True)


def test_render_of_deep_markdown_nesting_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "deep.md"
    path.write_text(markdown("A paragraph.") + "\n" + DEEP_MARKDOWN["lists"], encoding="utf-8")
    assert goalctl("render", path).exit_code == 1


def aliased_text(**fields: str) -> str:
    """900 KB of text and 5,000 references to it: 4.5 GB once written out."""
    aliases = ", ".join(["*text"] * 5_000)
    copies = f'[{{name: first, input: {{text: &text "{"a" * 900_000}", copies: [{aliases}]}}}}]'
    return scenario(cases=copies, **fields)


@pytest.mark.parametrize("prompt", [None, "Answer."], ids=["built-in-prompt", "own-prompt"])
def test_aliases_of_a_long_text_are_refused(tmp_path: Path, prompt: str | None) -> None:
    # Whether or not a template prints it, the input would reach the run, which writes it
    # out: a 920 KB file once made `run` write 8.4 GB of state in 87 s.
    path = tmp_path / "strings.yaml"
    path.write_text(aliased_text(**({"prompt": prompt} if prompt else {})), encoding="utf-8")
    result = goalctl("validate", path)
    assert result.exit_code == 1
    assert "document expands to more than 10,000,000 characters (too many aliases" in result.stdout


# --- Files that are not regular files ---------------------------------------------------------


@needs_fifo
def test_a_fifo_in_a_directory_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    shutil.copy(SCENARIOS / "calculator.md", tmp_path)
    result = goalctl("validate", tmp_path)
    assert (result.exit_code, result.stdout) == (
        1,
        f"{tmp_path / 'pipe.yaml'}:1:1: not a regular file: a named pipe (FIFO) "
        "(scenarios are text files)\n",
    )
    assert goalctl("run", "--provider", "scripted", tmp_path).exit_code == 1


@needs_fifo
def test_a_fifo_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for command in ("validate", "run"):
        result = goalctl(command, fifo)
        assert (result.exit_code, result.stderr) == (
            2,
            f"goalctl: error: not a regular file or directory: {fifo}\n",
        )
    result = goalctl("render", fifo)
    assert result.exit_code == 2
    assert str(fifo) in result.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_on_the_command_line_is_a_usage_error() -> None:
    result = goalctl("validate", "/dev/zero")
    assert (result.exit_code, result.stderr) == (
        2,
        "goalctl: error: not a regular file or directory: /dev/zero\n",
    )


# --- Symlinks: never followed out of the tree searched -----------------------------------------


def outside_links(tmp_path: Path) -> tuple[Path, Path]:
    """A tree with one valid scenario and every kind of symlink; and the directory outside."""
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    (tree / "sub").mkdir(parents=True)
    (outside / "dir").mkdir(parents=True)
    shutil.copy(SCENARIOS / "calculator.md", tree / "sub" / "calculator.md")
    (outside / "secret.yaml").write_text("token: s3cr3t\n", encoding="utf-8")
    shutil.copy(SCENARIOS / "email_sender_v1.yaml", outside / "dir" / "email.yaml")
    (tree / "secret.yaml").symlink_to(outside / "secret.yaml")
    (tree / "elsewhere").symlink_to(outside / "dir", target_is_directory=True)
    (tree / "notes.txt").symlink_to(outside / "secret.yaml")  # not a scenario: not looked at
    (tree / "alias.md").symlink_to(tree / "sub" / "calculator.md")  # inside: the same file
    (tree / "loop").symlink_to(tree, target_is_directory=True)
    (tree / "sub" / "up").symlink_to(tree / "sub", target_is_directory=True)
    return tree, outside


def refused(link: Path, target: Path, tree: Path) -> str:
    return (
        f"{link}:1:1: symlink to a location outside {tree.resolve()}: {target.resolve()}; "
        "refused (copy the file into the tree, or name it on the command line)"
    )


@needs_symlinks
def test_symlinks_out_of_the_tree_are_refused(tmp_path: Path) -> None:
    tree, outside = outside_links(tmp_path)
    expected = [
        refused(tree / "elsewhere", outside / "dir", tree),
        refused(tree / "secret.yaml", outside / "secret.yaml", tree),
    ]
    result = goalctl("validate", tree)
    assert (result.exit_code, result.stdout.splitlines()) == (1, expected)
    assert result.stderr == "2 of 3 scenario files invalid (2 problems)\n"
    assert "s3cr3t" not in result.stdout + result.stderr
    run = goalctl("run", "--provider", "scripted", tree)
    assert (run.exit_code, run.stderr.splitlines()) == (1, expected)


@needs_symlinks
def test_globs_refuse_symlinks_out_of_their_fixed_part_and_survive_loops(tmp_path: Path) -> None:
    tree, outside = outside_links(tmp_path)
    (tree / "sub" / "again").symlink_to(tree / "sub", target_is_directory=True)  # 2^n paths
    result = goalctl("validate", f"{tree}/**/*.yaml")
    assert (result.exit_code, result.stdout.splitlines()) == (
        1,
        [refused(tree / "secret.yaml", outside / "secret.yaml", tree)],
    )
    assert goalctl("validate", f"{tree}/**/*.md").stdout == "1 scenario file valid\n"


@needs_symlinks
def test_a_symlink_named_on_the_command_line_is_read(tmp_path: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(SCENARIOS / "email_sender_v1.yaml")
    assert goalctl("validate", link).stdout == "1 scenario file valid\n"
    directory = tmp_path / "linked"
    directory.symlink_to(SCENARIOS, target_is_directory=True)
    examples = [p for p in SCENARIOS.iterdir() if p.suffix in (".md", ".yaml", ".yml")]
    assert goalctl("validate", directory).stdout == f"{len(examples)} scenario files valid\n"


def test_many_cases_each_within_the_limits_share_one_budget(tmp_path: Path) -> None:
    # Each case alone stays under the limit of 1,000,000 operations; a thousand of them would
    # take a minute to validate one by one. Together they get the budget of four renders.
    path = tmp_path / "many.yaml"
    cases = ", ".join(f"{{name: c{index}}}" for index in range(1, 1001))
    loops = "{% for i in range(1000) %}{% for j in range(990) %}{% endfor %}{% endfor %}"
    path.write_text(scenario(cases=f"[{cases}]", prompt=repr(loops)), encoding="utf-8")
    result = goalctl("validate", path)
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        f"{path}:10:1: prompt: the templates of this file's 1,000 cases together exceeded "
        "their limit of 4,000,000 operations (rendering case 'c5') (make each case's templates "
        "do less, or split the cases into several files)\n",
        "1 of 1 scenario file invalid (1 problem)\n",
    )
