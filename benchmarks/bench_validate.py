"""``validate-1000``: ``goalctl validate`` of a generated directory of 1,000 scenarios."""

from __future__ import annotations

import cProfile
import io
import pstats
import shutil
import tempfile
from pathlib import Path

from corpus import generate_corpus
from harness import (
    BenchmarkError,
    Budget,
    Context,
    Row,
    benchmark,
    format_seconds,
    progress,
    run_command,
)

FILES = 1000
VALIDATE_BUDGET = Budget(2.0)
"""DESIGN §9: ``validate`` of 1,000 scenarios in at most 2 s."""
PER_FILE_BUDGET = Budget(VALIDATE_BUDGET.limit / FILES, "/file")
PROFILE_TOP = 15


@benchmark("validate-1000")
def validate_1000(ctx: Context) -> list[Row]:
    """``goalctl validate DIR`` over 1,000 varied, valid scenario files."""
    workdir = Path(tempfile.mkdtemp(prefix="goalctl-bench-"))
    corpus_dir, one_dir = workdir / "corpus", workdir / "one"
    try:
        progress(f"  generating {FILES} scenarios in {corpus_dir}")
        stats = generate_corpus(corpus_dir, FILES)
        generate_corpus(one_dir, 1)
        goalctl = ctx.tool("goalctl")
        argv = [goalctl, "validate", str(corpus_dir)]
        # The check is also the warm-up run: it fills the file cache and writes .pyc files.
        progress("  checking that every generated scenario is valid")
        try:
            run_command(argv, cwd=ctx.root)
        except BenchmarkError as exc:
            raise BenchmarkError(f"the generated corpus does not validate: {exc}") from None
        label = f"goalctl validate ({FILES} files)"
        total = ctx.measure(label, argv, warmup=0)
        # The first file of the same corpus alone: the fixed cost (start-up, imports).
        single_label = "goalctl validate (1 file)"
        single = ctx.measure(single_label, [goalctl, "validate", str(one_dir)])
        marginal_ms = (total.median - single.median) / (FILES - 1) * 1000
        ctx.add_details(
            "validate-1000 corpus",
            f"{stats.summary()}\n\nFixed cost (median of `goalctl validate` on the corpus's "
            f"first file alone): {format_seconds(single.median)}; marginal cost per further "
            f"file: {marginal_ms:.3f} ms.",
        )
        if ctx.profile:
            ctx.add_details("validate-1000 profile", profile_validate(corpus_dir))
        return [
            Row(single_label, single, ratio=ctx.ratio(single)),
            Row(label, total, VALIDATE_BUDGET, ratio=ctx.ratio(total)),
            Row("validate per file", total.scaled(1 / FILES), PER_FILE_BUDGET, unit="/file"),
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def profile_validate(directory: Path) -> str:
    """One in-process, cold cProfile of ``validate_paths``, as the CLI would run it.

    Lazy imports inside ``validate_paths`` (jsonschema, the Jinja environment) are part of
    what a ``goalctl validate`` process pays, so they are profiled too.
    """
    from goalctl.validation import validate_paths

    progress("  profiling validate_paths in-process")
    profiler = cProfile.Profile()
    report = profiler.runcall(validate_paths, [directory])
    if not report.ok:
        raise BenchmarkError("validate_paths found problems in the corpus")
    sections = []
    for key, title in (("cumulative", "cumulative time"), ("tottime", "own time (tottime)")):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(PROFILE_TOP)
        lines = out.getvalue().splitlines()
        total = next((line.strip() for line in lines if "function calls" in line), "")
        table = "\n".join(lines[next(i for i, x in enumerate(lines) if "ncalls" in x) :])
        sections.append(f"Top {PROFILE_TOP} by {title} ({total}):\n\n```\n{table.rstrip()}\n```")
    return "\n\n".join(sections)
