"""Baselines: a run's results kept beside its scenario, and later runs compared with them
(DESIGN §13).

``save_baseline`` writes ``<scenario>.baseline.json``; ``find_baseline`` finds the one a
scenario is compared with; ``compare_report`` adds the comparison to a run's report (and,
with ``fail_on_regression``, gates its verdict); ``comparison_lines`` renders it.
"""

from goalctl.baselines.comparison import BaselineSettings
from goalctl.baselines.discovery import Found, find_baseline, where_looked
from goalctl.baselines.document import FORMAT, Baseline, baseline_path, read_baseline
from goalctl.baselines.gate import compare_report
from goalctl.baselines.markdown import comparison_lines, comparison_summary
from goalctl.baselines.saving import Saved, save_baseline

__all__ = [
    "FORMAT",
    "Baseline",
    "BaselineSettings",
    "Found",
    "Saved",
    "baseline_path",
    "compare_report",
    "comparison_lines",
    "comparison_summary",
    "find_baseline",
    "read_baseline",
    "save_baseline",
    "where_looked",
]
