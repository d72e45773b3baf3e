"""The dashboards' plotly figures in one look, and ``chart``: a figure as a widget, sent to the
browser once it has drawn the page's other widgets (see ``_Browser``)."""
from __future__ import annotations

import html
import json
import math
import time
from typing import Callable

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
from IPython.display import display

from shared_lib.dashboard._numbers import KINDS, format_value, missing

COLORS = ("#2e6fdb", "#f08a24", "#1f9d74", "#b54bc7", "#d64550", "#7a8797")
PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
PLOTLY_CONFIG = {"displaylogo": False, "displayModeBar": False}
_DAY_MS = 86_400_000
_AXIS = dict(gridcolor="#eaeef3", linecolor="#d0d5dd", zerolinecolor="#d0d5dd", automargin=True)


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    # A look of our own instead of a plotly template: copying a template into every figure is slow.
    return fig.update_layout(
        template="none", title=dict(text=title, x=0, y=0.98, yanchor="top", font=dict(size=15)), height=height,
        font=dict(family="system-ui, sans-serif", color="#344054", size=12), colorway=COLORS,
        paper_bgcolor="white", plot_bgcolor="white", xaxis=_AXIS, yaxis=_AXIS,
        margin=dict(l=10, r=10, t=64, b=10), hovermode="closest",
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0, xanchor="left"))  # under the title


def _over_days(fig: go.Figure, df: pd.DataFrame, x: str, value_kind: str) -> go.Figure:
    """The axes of a chart over the dates in column ``x``: values from zero; whole days only, at
    most about eight ticks (plotly would otherwise tick hours on short ranges)."""
    fig.update_yaxes(tickformat=KINDS[value_kind].tick, rangemode="tozero")
    days = (max(df[x]) - min(df[x])).days + 1 if len(df) else 1
    return fig.update_xaxes(tickformat=KINDS["day"].tick, dtick=_DAY_MS * math.ceil(days / 8))


def line_chart(df: pd.DataFrame, x: str, lines: dict[str, str], title: str, value_kind: str = "count",
               height: int = 300, hourly: bool = False, connect_gaps: bool = False) -> go.Figure:
    """One line per entry of ``lines`` (column -> legend label) over the dates in column ``x``
    (``hourly``: over the hours, as timestamps; ``connect_gaps``: a line goes on over missing values)."""
    mode = "lines+markers" if not hourly or connect_gaps else "lines"
    fig = go.Figure([go.Scatter(x=df[x], y=df[col], name=label, mode=mode, connectgaps=connect_gaps)
                     for col, label in lines.items()])
    _layout(fig, title, height).update_layout(hovermode="x unified")
    if not hourly:
        return _over_days(fig, df, x, value_kind)
    fig.update_yaxes(tickformat=KINDS[value_kind].tick, rangemode="tozero")
    return fig.update_xaxes(tickformat=KINDS["time"].tick, hoverformat="%d %b %H:00 UTC")


def bar_chart(df: pd.DataFrame, category: str, value: str, title: str, value_kind: str = "count",
              hover: dict[str, str] | None = None, height: int = 300, highlight: str | None = None) -> go.Figure:
    """Horizontal bars, largest on top; ``hover`` adds columns (column -> kind) to the tooltip;
    the bar of category ``highlight`` is drawn in the warning colour."""
    hover = hover or {}
    data = df.sort_values(value)
    custom = [[format_value(v, kind) for v in data[col]] for col, kind in hover.items()]
    extra = "".join(f"<br>{col.replace('_', ' ')}: %{{customdata[{i}]}}" for i, col in enumerate(hover))
    fig = go.Figure(go.Bar(x=data[value], y=data[category].astype(str), orientation="h",
                           marker_color=[COLORS[4] if str(c) == highlight else COLORS[0] for c in data[category]],
                           customdata=list(zip(*custom)) if custom else None,
                           hovertemplate="%{y}: %{x}" + extra + "<extra></extra>"))
    return _layout(fig, title, height).update_xaxes(tickformat=KINDS[value_kind].tick)


def timeline_chart(df: pd.DataFrame, x: str, y: str, category: str, styles: dict[str, tuple[str, int]],
                   title: str, hover: str | None = None, height: int = 300) -> go.Figure:
    """Events over time, one row per value of ``y``; one marker series per value of ``category``,
    drawn in ``styles`` order with (colour, marker size), so that e.g. failures stand out on top;
    ``hover``: a column of text shown on hover."""
    traces = []
    for value, (color, size) in styles.items():
        rows = df[df[category] == value]
        traces.append(go.Scatter(x=rows[x], y=rows[y], name=str(value), mode="markers",
                                 marker=dict(color=color, size=size, line=dict(width=0)),
                                 text=rows[hover] if hover else None,
                                 hovertemplate="%{y}<br>%{x|%d %b %H:%M:%S} UTC" + ("<br>%{text}" if hover else "")
                                 + "<extra>" + html.escape(str(value)) + "</extra>"))
    fig = _layout(go.Figure(traces), title, height)
    return fig.update_yaxes(type="category", categoryorder="category descending")


def funnel_chart(df: pd.DataFrame, stage: str, value: str, title: str, height: int = 300) -> go.Figure:
    """Stages top to bottom in the order of ``df``, each with its count and share of the first."""
    fig = go.Figure(go.Funnel(y=df[stage], x=df[value], texttemplate="%{value:,}<br>%{percentInitial:.0%}",
                              marker_color=COLORS[0]))
    return _layout(fig, title, height)


def heatmap(matrix: pd.DataFrame, title: str, x_title: str, y_title: str, hover: pd.DataFrame | None = None,
            height: int = 360, value_kind: str = "count") -> go.Figure:
    """``matrix`` (rows top to bottom, columns left to right) as a heatmap with each cell's value
    written in it (formatted as ``value_kind``), a missing value left blank; ``hover`` (same
    shape, text) adds a line to each cell's tooltip."""
    text = [["" if missing(v) else format_value(v, value_kind) for v in row] for row in matrix.to_numpy()]
    extra = hover.to_numpy().tolist() if hover is not None else None
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(dtype=float), x=[str(c) for c in matrix.columns], y=[str(i) for i in matrix.index],
        text=text, texttemplate="%{text}", customdata=extra, colorscale="Blues", showscale=False, xgap=2, ygap=2,
        hoverongaps=False,
        hovertemplate=f"{y_title} %{{y}}, {x_title} %{{x}}: %{{text}}" + ("<br>%{customdata}" if extra else "")
        + "<extra></extra>"))
    _layout(fig, title, height).update_xaxes(title_text=x_title, type="category", showgrid=False)
    return fig.update_yaxes(title_text=y_title, type="category", autorange="reversed", showgrid=False)


def area_chart(df: pd.DataFrame, x: str, series: str, value: str, title: str, value_kind: str = "rate",
               height: int = 300) -> go.Figure:
    """Stacked areas, one per value of column ``series`` (long format: one row per x and series)."""
    fig = go.Figure([go.Scatter(x=part[x], y=part[value], name=str(name), mode="lines", stackgroup="one")
                     for name, part in df.sort_values(x).groupby(series, sort=True)])
    _layout(fig, title, height).update_layout(hovermode="x unified")
    return _over_days(fig, df, x, value_kind)


def layered_graph(placed: list, edges: set[tuple[str, str]], styles: dict[str, tuple[str, str]], title: str,
                  height: int | None = None) -> go.Figure:
    """A directed graph in columns, left to right: ``placed`` nodes (each with ``node``, ``kind``,
    ``layer``, ``row``, ``label``) as labelled markers, one series per kind in ``styles`` order
    (kind: (colour, legend name)); ``edges`` (from, to) as grey lines; the node's id on hover."""
    where = {p.node: (p.layer, -p.row) for p in placed}
    xs: list = []
    ys: list = []
    for a, b in sorted(edges):
        if a in where and b in where:  # one trace for every edge: None breaks the line between them
            xs += [where[a][0], where[b][0], None]
            ys += [where[a][1], where[b][1], None]
    traces = [go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#c5ccd6", width=1.2), hoverinfo="skip",
                         showlegend=False)]
    for kind, (color, name) in styles.items():
        mine = [p for p in placed if p.kind == kind]
        traces.append(go.Scatter(x=[p.layer for p in mine], y=[-p.row for p in mine], mode="markers+text", name=name,
                                 text=[p.label for p in mine], textposition="top center", customdata=[p.node for p in mine],
                                 marker=dict(color=color, size=14, line=dict(width=0)),
                                 hovertemplate="%{customdata}<extra>" + html.escape(name) + "</extra>"))
    rows = max([p.row for p in placed] + [0]) + 1
    fig = _layout(go.Figure(traces), title, height or max(260, 80 * rows + 120))
    hidden = dict(visible=False, showgrid=False, zeroline=False)
    # room on both sides for the labels centred on the first and last columns
    return fig.update_xaxes(**hidden, range=[-0.8, max([p.layer for p in placed] + [0]) + 0.8]).update_yaxes(
        **hidden, range=[-rows + 0.4, 0.6])


def chart(fig: go.Figure | Callable[[], go.Figure], height: int = 300) -> widgets.Output:
    """A plotly figure as a widget (drawn by the plotly extension of JupyterLab and Voila); its
    height is reserved, and the figure itself is sent once the browser has the page (``_Browser``).
    Given as a function of no arguments (its figure ``height`` px high), the figure is also built
    only then: plotly validates every property it is given, tens of milliseconds a figure that
    would otherwise hold back the page's first answer, and with it the KPI cards."""
    def draw() -> None:
        # The mime bundle that plotly's own renderer would send, without fig.show(): its renderer
        # machinery imports nbformat and jsonschema, seconds of start-up on every page.
        built = fig() if callable(fig) else fig
        display({PLOTLY_MIMETYPE: {**json.loads(built.to_json()), "config": PLOTLY_CONFIG}}, raw=True)

    reserved = height if callable(fig) else fig.layout.height or 360
    return _when_the_browser_has_the_page(draw, f"{reserved}px")


def later(build: Callable[[], widgets.Widget], min_height: str = "120px") -> widgets.Output:
    """A part of a page built and sent only once the browser has the rest (as the charts are): a
    heavy section (a catalog, a graph) then holds back neither the server's first answer nor the
    browser's first paint. ``build()`` returns the section's widget."""
    return _when_the_browser_has_the_page(lambda: display(build()), min_height)


def _when_the_browser_has_the_page(draw: Callable[[], None], min_height: str) -> widgets.Output:
    out = widgets.Output(layout=widgets.Layout(min_height=min_height))
    if _browser.has_the_page():
        _draw(out, draw)
    else:
        _browser.waiting.append((out, draw))
    return out


def _draw(out: widgets.Output, draw: Callable[[], None]) -> None:
    with out:
        draw()


class _Browser:
    """Whether the browser has loaded the page's widgets, and the charts that wait for that: sent
    after the other widgets, the charts no longer hold back the KPI cards (docs/performance.md, Dashboards).

    How the kernel hears it: ``jslink`` between two number widgets that differ. The browser-side
    link copies the source's value into the target as soon as it loads them, and that change
    comes back to the kernel - stock ipywidgets, no JavaScript of ours. Where no browser ever
    loads the widgets (nbval, papermill), the charts stay unsent."""

    def __init__(self):
        self.waiting: list[tuple[widgets.Output, Callable[[], None]]] = []
        self._target = None
        self._kept: tuple = ()

    def has_the_page(self) -> bool:
        if self._target is None:  # the kernel's first chart: start listening
            source, self._target = widgets.IntText(value=1), widgets.IntText(value=0)
            self._kept = (source, widgets.jslink((source, "value"), (self._target, "value")))
            self._target.observe(self._draw_waiting, names="value")
        return self._target.value == 1

    def _draw_waiting(self, _change=None) -> None:
        # The browser reports the widgets before it has painted them: pause so that it paints the
        # cards before plotly's JavaScript runs. A pause, not a timer: the Output widgets capture
        # only the outputs of a request the browser still waits for, which ends when this returns.
        time.sleep(PAINT_GRACE_S)
        while self.waiting:
            out, draw = self.waiting.pop(0)
            if out.comm is not None:  # not closed by a redraw meanwhile
                _draw(out, draw)


# How long the charts wait for the cards to be painted (docs/performance.md, Dashboards).
PAINT_GRACE_S = 0.25
_browser = _Browser()
