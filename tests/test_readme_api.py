"""The README's "From Python and pytest" examples run as doctests, in a folder holding the
calculator example: what the README shows is what goalctl.validate() and goalctl.run() do."""

from __future__ import annotations

import doctest
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, SCENARIOS

SECTION = "## From Python and pytest"


def _examples() -> tuple[str, int]:
    """The ```pycon blocks of the section, joined, and the README line the first starts on."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    blocks = list(re.finditer(r"```pycon\n(.*?)```", text[start:end], re.DOTALL))
    assert len(blocks) == 3
    first_line = text[: start + blocks[0].start()].count("\n") + 2
    return "\n".join(block.group(1) for block in blocks), first_line


def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "scenarios").mkdir()
    shutil.copy(SCENARIOS / "calculator.md", tmp_path / "scenarios")
    (tmp_path / "faq").mkdir()
    for name in ("faq-v1.md", "faq-v2.md", "faq-v1.baseline.json"):
        shutil.copy(SCENARIOS / name, tmp_path / "faq")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GOALCTL_STATE_DIR")  # the examples name their state dir
    source, line = _examples()
    test = doctest.DocTestParser().get_doctest(source, {}, "README", "README.md", line)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    output: list[str] = []
    result = runner.run(test, out=output.append)
    assert "".join(output) == ""
    assert (result.failed, result.attempted) == (0, 21)
    assert len(list((tmp_path / ".goalctl" / "runs").iterdir())) == 2
    assert 'name="criterion: accuracy"' in (tmp_path / "junit.xml").read_text()
