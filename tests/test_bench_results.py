"""benchmarks/run.py saves a run's report into results.md by replacing only its own section."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

from run import merged

OLD = """\
# Notes written by hand

Why these figures.

## goalctl benchmarks: trials

| trials table |

# goalctl benchmarks: live

| old live table |

### live

old details

# goalctl benchmarks: startup

| startup table |
"""


def test_a_run_replaces_its_own_section_and_keeps_the_others() -> None:
    new = "# goalctl benchmarks: live\n\n| new live table |\n\n### live\n\nnew details\n"
    text = merged(OLD, new)
    assert "old live table" not in text
    assert "old details" not in text
    assert "| new live table |\n\n### live\n\nnew details\n\n# goalctl benchmarks: startup" in text
    assert text.startswith("# Notes written by hand\n\nWhy these figures.\n\n## goalctl")
    assert text.endswith("# goalctl benchmarks: startup\n\n| startup table |\n")


def test_a_section_keeps_its_level() -> None:
    text = merged(OLD, "# goalctl benchmarks: trials\n\n| new trials |\n")
    assert "## goalctl benchmarks: trials\n\n| new trials |\n\n# goalctl benchmarks: live" in text
    assert "| trials table |" not in text


def test_a_new_set_of_benchmarks_is_appended() -> None:
    new = "# goalctl benchmarks: memory\n\n| memory |\n"
    assert merged(OLD, new) == OLD + "\n" + new
    assert merged("", new) == new
