"""``report.html``: a run's report as one self-contained page (issue 16).

Inline CSS, no script, no network: the page opens from a CI artifact or a file. It is rendered
from ``report.json`` data (:mod:`goalctl.reports.view`) by goalctl's templates in the sandboxed
Jinja environment with autoescape on, so scenario text and model output are always escaped.

Each case is rendered on its own, under its own render budget, and the pieces are joined as
markup: a run of many cases never meets one render's output limit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import resources
from itertools import islice
from typing import Any

import jinja2
from markupsafe import Markup

from goalctl.reports.view import report_view, reports_title
from goalctl.templates import compile_template, render_template

PAGES = "pages"
"""The folder of ``goalctl.reports`` that holds the HTML templates and the stylesheet."""


@functools.cache
def page_source(name: str) -> str:
    return resources.files("goalctl.reports").joinpath(PAGES, name).read_text(encoding="utf-8")


@functools.cache
def page_template(name: str) -> jinja2.Template:
    return compile_template(page_source(name), html=True)


CHUNK = 100
"""Rows rendered by one render: a table of thousands of rows is many renders, joined."""


def render_fragment(name: str, **context: Any) -> Markup:
    """One of the HTML templates, rendered (escaped) into markup to place in another."""
    # The template escaped every value it printed.
    return Markup(render_template(page_template(name), context))


def render_with(name: str, context: dict[str, Any], **holes: Iterable[str]) -> Markup:
    """``name`` rendered with each hole filled by the markup its pieces join to.

    A hole is a name the template prints; it renders as a marker that the pieces then replace,
    outside the template, so what fills it never counts against one render's limits. Escaped
    values cannot contain a marker (``<`` is ``&lt;`` in them), so only the template's own
    place is filled.
    """
    markers = {hole: f"<!--goalctl:{hole}-->" for hole in holes}
    text = render_template(
        page_template(name), {**context, **{h: Markup(m) for h, m in markers.items()}}
    )
    for hole, pieces in holes.items():
        before, marker, after = text.partition(markers[hole])
        if not marker:
            raise ValueError(f"{name} has no place for {hole}")
        text = "".join([before, *pieces, after])
    return Markup(text)


def chunked(name: str, key: str, rows: Iterable[Any], **context: Any) -> Iterator[str]:
    """``rows`` rendered by ``name`` (which loops over ``key``), :data:`CHUNK` at a time, as
    they are read."""
    pending = iter(rows)
    while chunk := list(islice(pending, CHUNK)):
        yield render_fragment(name, **{key: chunk}, **context)


def render_page(title: str, body: Iterable[str], *, head: Markup | None = None) -> str:
    """A whole page around ``body``: the stylesheet inline, ``head`` added to ``<head>``."""
    context = {
        "title": title,
        "style": Markup(page_source("style.css")),  # goalctl's own file
        "head": head or Markup(""),
    }
    return str(render_with("page.html.j2", context, body=body))


def render_report_body(report: Mapping[str, Any], *, level: int = 1) -> Iterator[str]:
    """One run's report as an ``<article>``, its heading at ``level`` (1 on its own page)."""
    view = report_view(report)
    prefix = view["run_id"]
    sections = (
        render_fragment("case.html.j2", case=case, level=level + 2, prefix=prefix)
        for case in view["cases"]
    )
    rows = chunked(
        "case_rows.html.j2", "cases", view["cases"], prefix=prefix, has_trials=view["has_trials"]
    )
    yield render_with(
        "report.html.j2",
        {"r": view, "level": level},
        case_rows=rows,
        cases_sections=sections,
    )


def render_html(reports: Sequence[Mapping[str, Any]]) -> str:
    """The HTML report of one run, or of several on one page."""
    level = 1 if len(reports) == 1 else 2
    body: list[str] = [
        piece for report in reports for piece in render_report_body(report, level=level)
    ]
    if len(reports) > 1:
        body.insert(0, render_fragment("reports.html.j2", count=len(reports)))
    return render_page(reports_title(reports), body)
