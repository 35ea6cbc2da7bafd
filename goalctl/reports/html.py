"""``report.html``: a run's report as one self-contained page (issue 16).

Inline CSS, no script, no network: the page opens from a CI artifact or a file. It is rendered
from ``report.json`` data (:mod:`goalctl.reports.view`) by goalctl's templates in the sandboxed
Jinja environment with autoescape on, so scenario text and model output are always escaped.

Each case is rendered on its own, under its own render budget, and the pieces are joined as
markup: a run of many cases never meets one render's output limit.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from goalctl.reports.view import case_view, report_view, reports_title
from goalctl.templates import compile_template, render_template

PAGES = "pages"
"""The folder of ``goalctl.reports`` that holds the HTML templates and the stylesheet."""


@functools.cache
def page_source(name: str) -> str:
    return resources.files("goalctl.reports").joinpath(PAGES, name).read_text(encoding="utf-8")


@functools.cache
def page_template(name: str) -> jinja2.Template:
    return compile_template(page_source(name), html=True)


def render_fragment(name: str, **context: Any) -> Markup:
    """One of the HTML templates, rendered (escaped) into markup to place in another."""
    # The template escaped every value it printed.
    return Markup(render_template(page_template(name), context))


def render_page(title: str, body: Markup, *, head: Markup | None = None) -> str:
    """A whole page around ``body``: the stylesheet inline, ``head`` added to ``<head>``."""
    return render_template(
        page_template("page.html.j2"),
        {
            "title": title,
            "style": Markup(page_source("style.css")),  # goalctl's own file
            "head": head or Markup(""),
            "body": body,
        },
    )


def render_report_body(report: Mapping[str, Any], *, level: int = 1) -> Markup:
    """One run's report as an ``<article>``, its heading at ``level`` (1 on its own page)."""
    cases = Markup("").join(
        render_fragment(
            "case.html.j2", case=case_view(case), level=level + 2, prefix=report["run_id"]
        )
        for case in report["cases"]
    )
    return render_fragment("report.html.j2", r=report_view(report), level=level, cases=cases)


def render_html(reports: Sequence[Mapping[str, Any]]) -> str:
    """The HTML report of one run, or of several on one page."""
    level = 1 if len(reports) == 1 else 2
    body = Markup("").join(render_report_body(report, level=level) for report in reports)
    if len(reports) > 1:
        body = render_fragment("reports.html.j2", count=len(reports), body=body)
    return render_page(reports_title(reports), body)
