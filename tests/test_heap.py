"""The program's garbage-collector policy (goalctl.heap): only the program's own process."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from goalctl import heap


@pytest.fixture
def restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        heap._owned = False


def test_a_caller_in_the_same_process_keeps_its_collector(restored: None) -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    heap.settle()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_the_program_collects_less_and_freezes_what_it_loaded(restored: None) -> None:
    heap.own_process()
    assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
    heap.settle()
    assert gc.get_freeze_count() > 10_000  # the interpreter's and pytest's objects, at least


def test_a_run_of_the_console_script_settles_its_heap(tmp_path: Path) -> None:
    """Through ``python -m goalctl``: the run froze the loaded modules before its cases."""
    probe = (
        "import gc, sys\n"
        "import goalctl.heap as heap\n"
        "settle = heap.settle\n"
        "def spy():\n"
        "    settle()\n"
        "    sys.stderr.write(f'frozen {gc.get_freeze_count()} young {gc.get_threshold()[0]}\\n')\n"
        "heap.settle = spy\n"
        "import goalctl.lifecycle\n"
        "goalctl.lifecycle.settle = spy\n"
        "sys.argv = ['goalctl', '--state-dir', sys.argv[1], 'run', sys.argv[2]]\n"
        "from goalctl.cli import script\n"
        "script()\n"
    )
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "id: s\nname: S\ndescription: Says hi.\nprovider: scripted\nresponses: [hi]\n"
        "success_criteria: [{id: hi, description: Hi, metric: output_contains, target: hi}]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "state"), str(scenario)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    frozen, young = done.stderr.split("frozen ")[1].split()[0], done.stderr.split("young ")[1]
    assert int(frozen) > 10_000
    assert int(young) == heap.YOUNG_THRESHOLD
