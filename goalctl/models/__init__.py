"""Models side by side: one run per scenario and model, compared in one table (DESIGN §14).

``names`` checks model names and lists (the scenario's ``models`` and ``--model a,b``);
``comparison`` builds the ``models`` object of each compared run's report from the reports
of its siblings and renders it for the console, report.md and the step summary.
"""
