"""Trials (DESIGN §13): each case runs N independent times; a case's verdict over its trials,
early stopping once that verdict can no longer change, and the statistics every report shows.

The public surface is small: :func:`planned_trials` (how many), :class:`TrialBook` (what the
runner asks while trials run) and :func:`add_trial_statistics` (what reports show). Heavier
modules are imported by the runner only when a run needs them.
"""

from goalctl.trials.counts import MAX_TRIALS, planned_trials

__all__ = ["MAX_TRIALS", "planned_trials"]
