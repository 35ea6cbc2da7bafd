"""Trials (DESIGN §13): each case runs N independent times; a case's verdict over its trials,
early stopping once that verdict can no longer change, and the statistics every report shows.

This package is light to import (the CLI and the scenario model need :data:`MAX_TRIALS`):
:func:`planned_trials` says how many trials each case runs; the runner imports
:class:`goalctl.trials.book.TrialBook` (what it asks while trials run) and
:class:`goalctl.trials.summary.TrialStatistics` (what reports show) itself.
"""

from goalctl.trials.counts import MAX_TRIALS, planned_trials

__all__ = ["MAX_TRIALS", "planned_trials"]
