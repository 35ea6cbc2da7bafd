"""Every output of every example scenario's run, as the files a user gets, byte for byte.

``tests/fixtures/reports/`` keeps them as goalctl wrote them before reports were built from
the checkpoint journal (streamed, with the cases read back one at a time): the test
``tests/test_report_streaming.py`` runs the examples again and compares every byte. Regenerate
the fixtures only for a change meant to change reports (and read the diff first)::

    .venv/bin/python -m tests.support.report_fixtures
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from goalctl.reporting import load_report
from goalctl.reports.github import run_annotations, step_summary
from goalctl.reports.junit import render_junit
from goalctl.state import RunStore
from tests.support.clock import FrozenClock, fixed_ids

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "reports"
EXAMPLES = sorted(
    p.name for p in (REPO / "scenarios").iterdir() if p.suffix in (".md", ".yaml", ".yml")
)


def example_outputs(name: str, state_dir: Path) -> dict[str, str]:
    """The outputs of one example's run (from the repository root, offline): each run's
    report.json and report.md as written, and the JUnit file, annotations and step summary
    made from the finished runs' reports as ``goalctl run`` makes them."""
    summary = run_paths(
        [f"scenarios/{name}"],
        RunOptions(include_drafts=True),
        state_dir,
        clock=FrozenClock(),
        make_id=fixed_ids(),
    )
    outputs: dict[str, str] = {}
    reports = [o.report for o in summary.outcomes if o.report.get("version")]
    for number, outcome in enumerate(summary.outcomes):
        run_dir = state_dir / "runs" / outcome.run_id
        for file in ("report.json", "report.md"):
            outputs[f"{number}-{file}"] = (run_dir / file).read_text(encoding="utf-8")
    outputs["junit.xml"] = render_junit(reports)
    outputs["annotations.txt"] = "".join(
        f"{line}\n" for report in reports for line in run_annotations(report)
    )
    outputs["step-summary.md"] = step_summary(reports)
    # What `goalctl report` renders later from the saved runs must be the same.
    store = RunStore(state_dir)
    saved = [load_report(store, o.run_id) for o in summary.outcomes if o.report.get("version")]
    outputs["junit-saved.xml"] = render_junit(saved)
    return outputs


def write_fixtures() -> None:
    """Write the outputs of every example into :data:`FIXTURES` (run from the repo root)."""
    for variable in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "ANTHROPIC_API_KEY", "NO_COLOR"):
        os.environ.pop(variable, None)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    os.chdir(REPO)
    import goalctl.keys

    for name in EXAMPLES:
        goalctl.keys._remembered = set()  # as each test starts: no secret of another run
        with tempfile.TemporaryDirectory() as temp:
            outputs = example_outputs(name, Path(temp))
        folder = FIXTURES / name
        folder.mkdir(parents=True, exist_ok=True)
        for file, text in outputs.items():
            (folder / file).write_text(text, encoding="utf-8")
        print(f"{name}: {', '.join(sorted(outputs))}")


if __name__ == "__main__":
    write_fixtures()
