"""Which files are scenario files: by name, and for Markdown by its first bytes.

Light on purpose (no model, no YAML): folder scans and the pytest plugin, which pytest loads
in every session, ask it of every file they meet.
"""

from __future__ import annotations

from pathlib import Path

MARKDOWN_SUFFIXES = (".md", ".markdown")
YAML_SUFFIXES = (".yaml", ".yml")
SCENARIO_SUFFIXES = MARKDOWN_SUFFIXES + YAML_SUFFIXES

_FRONT_MATTER_PEEK = 64
_BOM = "\ufeff".encode()


def is_scenario_name(name: str) -> bool:
    """A scenario's file name: Markdown or YAML, not hidden."""
    return name.lower().endswith(SCENARIO_SUFFIXES) and not name.startswith(".")


def may_be_scenario(path: Path) -> bool:
    """False for a Markdown file that does not open with YAML front matter: such a file is
    documentation beside the scenarios. Whatever cannot be read is left to the reader, whose
    error names the problem."""
    if not path.name.lower().endswith(MARKDOWN_SUFFIXES):
        return True
    try:
        with open(path, "rb") as file:
            head = file.read(_FRONT_MATTER_PEEK).removeprefix(_BOM)
    except OSError:
        return True
    # The reader's own test (split_front_matter), on the file's first bytes.
    return head.startswith((b"---\n", b"---\r\n")) or head.rstrip() == b"---"
