"""The history's charts, drawn by plotly in the browser from data written into the page.

plotly (MIT, maintained, renders offline from one bundled ``plotly.min.js``) is imported here
only, so only ``goalctl history`` pays for it. The figures' JSON is escaped by plotly for a
``<script>`` element (``<`` is written ``\\u003c``), so names from scenarios cannot end it.
Every chart has a table beside it on the page with the same numbers, for readers without
script or sight of the chart.
"""

from __future__ import annotations

from html import escape
from typing import Any

from goalctl.history.baselines import SavedBaseline
from goalctl.history.collect import GoalHistory, Rate, RunPoint

PLOTLY_JS = "plotly.min.js"
"""The bundle every page loads, written once at the site's root."""
HEIGHT = 360
DASHES = ("dash", "dot", "dashdot", "longdash")
"""A saved baseline's reference lines, one dash style per baseline (colour: its criterion)."""
_CONFIG = {"displaylogo": False, "responsive": True}
_FONT = {"family": "system-ui, sans-serif", "size": 13}


def plotly_bundle() -> str:
    """The plotly.js bundle that ships with the plotly package (no network)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _hover(point: RunPoint) -> str:
    return f"run {point.run_id}<br>version {point.version}<br>{point.finished_at}"


def _layout(title: str, y_title: str, **axis: Any) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "template": "none",
        "font": _FONT,
        "height": HEIGHT,
        "margin": {"l": 64, "r": 24, "t": 48, "b": 96},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "xaxis": {"title": {"text": "run (oldest first)"}, "dtick": 1, "gridcolor": "#d0d5dc"},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#d0d5dc", **axis},
        "legend": {"orientation": "h", "y": -0.32},
        "hovermode": "closest",
    }


def _html(figure: Any, div_id: str) -> str:
    return str(
        figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            default_height=f"{HEIGHT}px",
            config=_CONFIG,
        )
    )


def rate_chart(goal: GoalHistory) -> str:
    """Pass rate per criterion over runs, each with its 95% interval as an error bar; each
    saved baseline's rate of the criterion as a dashed line across the runs, in its colour."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    palette = qualitative.Plotly
    figure = go.Figure()
    for index, criterion in enumerate(goal.criteria):
        colour = palette[index % len(palette)]
        points = [(n, p) for n, p in enumerate(goal.runs, start=1) if criterion in p.rates]
        rates = [p.rates[criterion] for _, p in points]
        figure.add_trace(
            go.Scatter(
                x=[n for n, _ in points],
                y=[r.rate for r in rates],
                name=criterion,
                legendgroup=criterion,
                line={"color": colour},
                mode="lines+markers",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [r.high - r.rate for r in rates],
                    "arrayminus": [r.rate - r.low for r in rates],
                },
                customdata=[
                    [_hover(p), f"{r.passed}/{r.total}", f"{r.low:.0%}–{r.high:.0%}"]
                    for (_, p), r in zip(points, rates, strict=True)
                ],
                hovertemplate=(
                    f"<b>{escape(criterion)}</b> %{{y:.0%}} "
                    "(%{customdata[1]}, 95%: %{customdata[2]})<br>%{customdata[0]}<extra></extra>"
                ),
            )
        )
        for number, saved in enumerate(goal.baselines):
            rate = saved.rates.get(criterion)
            if rate is None:
                continue
            figure.add_trace(_baseline_line(criterion, saved, rate, colour, number, len(goal.runs)))
    layout = _layout("Pass rate per criterion (95% interval)", "pass rate", tickformat=".0%")
    layout["yaxis"]["range"] = [-0.05, 1.05]
    figure.update_layout(layout)
    return _html(figure, f"chart-rates-{goal.goal_id}")


def _baseline_line(
    criterion: str, saved: SavedBaseline, rate: Rate, colour: str, number: int, runs: int
) -> Any:
    """A saved baseline's rate of ``criterion``: a dashed line across every run."""
    import plotly.graph_objects as go

    detail = f"{rate.passed}/{rate.total}, 95%: {rate.low:.0%}–{rate.high:.0%}"
    return go.Scatter(
        x=[0.5, runs + 0.5],
        y=[rate.rate, rate.rate],
        name=f"{criterion}: baseline {saved.version}",
        legendgroup=criterion,
        mode="lines",
        line={"color": colour, "dash": DASHES[number % len(DASHES)], "width": 1.5},
        hovertemplate=(
            f"<b>{escape(criterion)}</b> baseline {escape(saved.version)}: %{{y:.0%}} "
            f"({escape(detail)})<br>saved from run {escape(saved.run_id)}<extra></extra>"
        ),
    )


def cost_chart(goal: GoalHistory) -> str:
    """Cost per run; a simulated or partly unpriced cost is labelled in its hover."""
    import plotly.graph_objects as go

    figure = go.Figure(
        go.Bar(
            x=list(range(1, len(goal.runs) + 1)),
            y=[p.cost_usd for p in goal.runs],
            name="cost",
            customdata=[[_hover(p), _basis(p)] for p in goal.runs],
            hovertemplate="$%{y:.6f}%{customdata[1]}<br>%{customdata[0]}<extra></extra>",
        )
    )
    figure.update_layout(_layout(f"Cost per run{_cost_note(goal)}", "USD", tickformat="$.4f"))
    return _html(figure, f"chart-cost-{goal.goal_id}")


def latency_chart(goal: GoalHistory) -> str:
    """Wall-clock time per run."""
    import plotly.graph_objects as go

    figure = go.Figure(
        go.Scatter(
            x=list(range(1, len(goal.runs) + 1)),
            y=[p.elapsed_s for p in goal.runs],
            name="time",
            mode="lines+markers",
            customdata=[[_hover(p)] for p in goal.runs],
            hovertemplate="%{y:.2f}s<br>%{customdata[0]}<extra></extra>",
        )
    )
    figure.update_layout(_layout("Time per run", "seconds", rangemode="tozero"))
    return _html(figure, f"chart-time-{goal.goal_id}")


def _basis(point: RunPoint) -> str:
    return {"simulated": " (simulated)", "unknown": " + unknown (unpriced calls)"}.get(
        point.cost_basis, ""
    )


def _cost_note(goal: GoalHistory) -> str:
    """`` (simulated)`` when every run's cost is, as every other report labels it."""
    bases = {p.cost_basis for p in goal.runs}
    if bases == {"simulated"}:
        return " (simulated)"
    if "unknown" in bases:
        return " (some calls unpriced)"
    return ""
