"""Building blocks of the Voila dashboards in ``notebooks/dashboards/``: declared tables read with
delta-rs (no JVM, so a dashboard renders in a few seconds), periods and their change against the
previous period, KPI cards, an empty state instead of a traceback, plotly figures in one look, and
a page whose body is redrawn whenever a filter changes.

A product's dashboard module (``products/<product>/dashboard.py``) computes its numbers with the
pure helpers here and lays them out with the widget helpers; its notebook only calls it.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import time
from dataclasses import dataclass
from typing import Callable

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
from deltalake import DeltaTable
from IPython.display import display

from shared_lib import paths, products

# --- pre-heated pages ----------------------------------------------------------------------


def wait_for_request(product: str) -> None:
    """The first call of every dashboard's ``page()``, before it reads any table.

    When `dp serve` pre-heats (``runners.serve.PREHEAT``, off for now: see there why), it runs
    each dashboard notebook in a spare kernel before anyone asks for the page (Voila's pre-heated
    kernels, one per dashboard, refilled after each request). Everything up to
    here runs ahead of time: the imports, ``product``'s declarations and plotly's first figures.
    Then the kernel waits until a browser requests the page, so the tables are read at request
    time and the numbers are never older than the request. While it waits, the kernel leaves a
    file ``<product>.<pid>`` in ``paths.preheated_dashboards_dir()``: `dp serve` reports ready
    only when every dashboard has one. Outside a pre-heated kernel (a page Voila renders on
    demand, JupyterLab, nbval, papermill) it returns at once."""
    if os.environ.get("VOILA_PREHEAT") != "True":
        return
    _warm_up(product)
    marker = paths.preheated_dashboards_dir() / f"{product}.{os.getpid()}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    try:
        _wait_for_voila()
    finally:
        marker.unlink(missing_ok=True)


def _wait_for_voila() -> None:
    """What ``voila.utils.wait_for_request`` does (Voila 0.5, pinned in constraints.txt), without
    importing voila: that import loads Voila's server packages, two seconds of CPU in each new
    kernel, while the page that started it is being drawn on the same two cores. A websocket to
    Voila's request-info handler for this kernel; its one message is the request, as environment
    variables, sent when a browser asks for the page (at once if it already has)."""
    from websockets.sync.client import connect

    env = os.environ
    base = env.get("VOILA_WS_BASE_URL", env.get("VOILA_SERVER_URL", "/"))
    url = (f"{env.get('VOILA_WS_PROTOCOL', 'ws')}://{env.get('VOILA_APP_IP', '127.0.0.1')}:"
           f"{env.get('VOILA_APP_PORT', '8866')}{base}voila/query/{env['VOILA_KERNEL_ID']}")
    # No timeout on the wait itself: a pre-heated kernel may wait for hours. A failure raises,
    # and the page shows an error rather than numbers read before it was requested.
    with connect(url, open_timeout=10) as socket:
        env.update(json.loads(socket.recv()))


def _warm_up(product: str) -> None:
    """What a kernel's first page would otherwise pay: parsing the product declarations and
    importing plotly's classes of each trace type (about half a second)."""
    products.get(product)
    rows = pd.DataFrame({"date": [dt.date(2024, 1, 1)], "n": [1], "kind": ["a"]})
    for fig in (line_chart(rows, "date", {"n": "n"}, ""), bar_chart(rows, "kind", "n", ""),
                funnel_chart(rows, "kind", "n", ""), heatmap(pd.DataFrame([[1]]), "", "", ""),
                area_chart(rows, "date", "kind", "n", ""),
                timeline_chart(rows, "date", "kind", "kind", {"a": (COLORS[0], 4)}, "")):
        fig.to_json()


# --- reading tables ------------------------------------------------------------------------


def read_table(product: str, table: str, filters: list | None = None) -> pd.DataFrame:
    """A declared table as pandas, read with delta-rs (``filters``: delta-rs row filters, which
    also skip files and partitions). A table that no run has written yet gives an empty frame
    with the declared columns, so that callers need only one test: ``.empty``."""
    declared = products.get(product).table(table)
    if not (declared.path / "_delta_log").is_dir():
        return pd.DataFrame(columns=[c.name for c in declared.columns])
    return DeltaTable(str(declared.path)).to_pandas(filters=filters)


def read_latest(product: str, table: str, time_column: str, partition: str = "date") -> pd.DataFrame:
    """The rows of the latest ``time_column`` value of a table that appends one snapshot at a
    time, partitioned by the snapshot's ``partition`` date: only the newest partition is read."""
    declared = products.get(product).table(table)
    if not (declared.path / "_delta_log").is_dir():
        return read_table(product, table)
    dates = [p[partition] for p in DeltaTable(str(declared.path)).partitions() if p.get(partition)]
    if not dates:
        return read_table(product, table)
    rows = read_table(product, table, filters=[(partition, "=", dt.date.fromisoformat(max(dates)))])
    return rows[rows[time_column] == rows[time_column].max()].reset_index(drop=True)


# --- periods and changes (pure) ------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar days from ``start`` to ``end``, both included."""
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period of the same length that ends the day before this one starts."""
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def rows(self, df: pd.DataFrame, column: str = "date") -> pd.DataFrame:
        """The rows of ``df`` whose ``column`` (a date) falls in the period."""
        return df[(df[column] >= self.start) & (df[column] <= self.end)]

    def label(self) -> str:
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"


def last_days(end: dt.date, days: int) -> Period:
    return Period(end - dt.timedelta(days=days - 1), end)


def default_period(dates, days: int) -> tuple[dt.date, dt.date, Period]:
    """(first, last, the period a page opens on): the last ``days`` days of ``dates``, or all of
    them when there are fewer."""
    first, last = min(dates), max(dates)
    return first, last, Period(max(last_days(last, days).start, first), last)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def relative_change(current, previous) -> float | None:
    """(current − previous) / previous, e.g. 0.25 for +25 %; None when there is nothing to compare
    with (previous missing or zero)."""
    if _missing(current) or _missing(previous) or previous == 0:
        return None
    return (current - previous) / previous


def point_change(current, previous) -> float | None:
    """current − previous, for rates: 0.52 against 0.50 is +0.02 (two percentage points). A
    relative change of a rate ("+4 %") reads as if it were the rate's own change."""
    if _missing(current) or _missing(previous):
        return None
    return current - previous


# --- formatting (pure) ---------------------------------------------------------------------

KINDS = ("count", "money", "rate", "seconds", "ratio")


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    kind: str  # one of KINDS: how the value is formatted and how its change is measured
    higher_is_better: bool = True
    note: str = ""  # shown under the card, e.g. how a range total is made


def format_value(value, kind: str) -> str:
    if _missing(value):
        return "–"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "seconds":
        minutes, seconds = divmod(round(value), 60)
        return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
    if kind == "ratio":
        return f"{value:,.2f}"
    raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")


def kpi_change(kpi: Kpi, current, previous) -> tuple[str, str]:
    """The card's change line and its tone: ("+25.0%", "good"), ("−2.0 pp", "bad"), ("–", "flat")."""
    delta = point_change(current, previous) if kpi.kind == "rate" else relative_change(current, previous)
    if delta is None:
        return "–", "flat"
    text = f"{abs(delta) * 100:.1f}{' pp' if kpi.kind == 'rate' else '%'}"
    if round(delta * 100, 1) == 0:
        return f"±{text}", "flat"
    sign = "+" if delta > 0 else "−"
    return f"{sign}{text}", "good" if (delta > 0) == kpi.higher_is_better else "bad"


# --- widgets -------------------------------------------------------------------------------

CSS = """
.dp-header h1 { font-size: 1.6em; margin: 0 0 0.1em 0; }
.dp-header p, .dp-note { color: #5f6b7a; margin: 0; }
.dp-cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; }
.dp-kpi { background: #fff; border: 1px solid #e3e8ef; border-radius: 10px; padding: 12px 16px;
          box-shadow: 0 1px 2px rgba(16, 24, 40, 0.06); }
.dp-kpi-label { color: #5f6b7a; font-size: 0.9em; }
.dp-kpi-value { font-size: 1.9em; font-weight: 600; color: #1d2939; margin: 2px 0; }
.dp-kpi-change { font-size: 0.85em; color: #5f6b7a; }
.dp-kpi-change b.good { color: #067647; } .dp-kpi-change b.bad { color: #b42318; }
.dp-kpi .dp-note { font-size: 0.75em; margin-top: 4px; }
.dp-section h2 { font-size: 1.15em; margin: 18px 0 6px 0; }
.dp-empty { border: 1px dashed #c5ccd6; border-radius: 10px; padding: 28px; text-align: center;
            color: #5f6b7a; background: #f8fafc; }
.dp-empty b { display: block; font-size: 1.15em; color: #1d2939; margin-bottom: 6px; }
.dp-callout { border-left: 4px solid #d64550; background: #fef3f2; border-radius: 6px; padding: 10px 14px;
              color: #1d2939; margin: 6px 0; }
.dp-callout.good { border-left-color: #1f9d74; background: #ecfdf3; }
.dp-table { border-collapse: collapse; width: 100%; font-size: 0.9em; margin-top: 8px; }
.dp-table th, .dp-table td { padding: 5px 8px; border-bottom: 1px solid #e3e8ef; text-align: right; }
.dp-table th:first-child, .dp-table td:first-child, .dp-table .dp-text { text-align: left; }
"""


def header(title: str, subtitle: str = "") -> widgets.HTML:
    """The page title; it also carries the dashboards' style sheet."""
    sub = f"<p>{html.escape(subtitle)}</p>" if subtitle else ""
    return widgets.HTML(f"<style>{CSS}</style><div class='dp-header'><h1>{html.escape(title)}</h1>{sub}</div>")


def empty_state(title: str, hint: str = "") -> widgets.HTML:
    """A friendly message where data would be (``hint`` may hold simple HTML such as <code>)."""
    return widgets.HTML(f"<div class='dp-empty'><b>{html.escape(title)}</b>{hint}</div>")


def callout(title: str, text: str, tone: str = "bad") -> widgets.HTML:
    """A highlighted line that calls something out (``tone`` "bad" or "good")."""
    return widgets.HTML(f"<div class='dp-callout {html.escape(tone)}'><b>{html.escape(title)}</b> "
                        f"{html.escape(text)}</div>")


def kpi_card_html(kpi: Kpi, current, previous, compared_with: str) -> str:
    change, tone = kpi_change(kpi, current, previous)
    note = f"<div class='dp-note'>{html.escape(kpi.note)}</div>" if kpi.note else ""
    return (f"<div class='dp-kpi' data-kpi='{kpi.key}'><div class='dp-kpi-label'>{html.escape(kpi.label)}</div>"
            f"<div class='dp-kpi-value'>{format_value(current, kpi.kind)}</div>"
            f"<div class='dp-kpi-change'><b class='{tone}'>{change}</b> vs {html.escape(compared_with)}</div>"
            f"{note}</div>")


def kpi_cards(kpis: tuple[Kpi, ...], current: dict, previous: dict, compared_with: str) -> widgets.HTML:
    cards = "".join(kpi_card_html(k, current.get(k.key), previous.get(k.key), compared_with) for k in kpis)
    return widgets.HTML(f"<div class='dp-cards'>{cards}</div>")


def column(*children) -> widgets.VBox:
    return widgets.VBox(list(children))


def section(title: str, *children, columns: int = 1, note: str = "") -> widgets.VBox:
    """A titled block; its children side by side in ``columns`` equal columns."""
    note_html = f"<p class='dp-note'>{html.escape(note)}</p>" if note else ""
    title_html = widgets.HTML(f"<div class='dp-section'><h2>{html.escape(title)}</h2>{note_html}</div>")
    grid = widgets.GridBox(list(children), layout=widgets.Layout(
        grid_template_columns=f"repeat({columns}, minmax(0, 1fr))", grid_gap="12px"))
    return widgets.VBox([title_html, grid])


def table(df: pd.DataFrame, formats: dict[str, str]) -> widgets.HTML:
    """``df`` as an HTML table; ``formats`` maps a column to its kind (see ``format_value``).
    Numbers align right; columns without a format hold text and align left."""
    def cell(tag: str, column, content: str) -> str:
        align = "" if column in formats else " class='dp-text'"
        return f"<{tag}{align}>{content}</{tag}>"

    head = "".join(cell("th", c, html.escape(str(c))) for c in df.columns)
    body = "".join("<tr>" + "".join(
        cell("td", c, format_value(v, formats[c]) if c in formats else html.escape(str(v)))
        for c, v in row.items()) + "</tr>" for _, row in df.iterrows())
    return widgets.HTML(f"<table class='dp-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


class Page:
    """Header, a row of filters and a body that ``render(values)`` redraws whenever a filter
    changes; ``values`` maps each filter's name to its value."""

    def __init__(self, title: str, subtitle: str, filters: dict, render: Callable[[dict], list]):
        self.filters, self.render = filters, render
        self.body = widgets.VBox()
        for widget in filters.values():
            widget.observe(self.refresh, names="value")
        bar = widgets.HBox(list(filters.values()),
                           layout=widgets.Layout(flex_flow="row wrap", grid_gap="16px", margin="10px 0"))
        self.widget = widgets.VBox([header(title, subtitle), bar, self.body])
        self.refresh()

    def values(self) -> dict:
        return {name: widget.value for name, widget in self.filters.items()}

    def refresh(self, _change=None) -> None:
        old, self.body.children = self.body.children, self.render(self.values())
        for widget in old:
            _close(widget)


def _close(widget) -> None:
    """Close a widget and all it holds: replaced widgets would otherwise live on in the kernel."""
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()


_FILTER_LOOK = dict(layout=widgets.Layout(width="auto"), style={"description_width": "initial"})


def date_filters(first: dt.date, last: dt.date, default: Period) -> dict:
    return {"start": widgets.DatePicker(description="From", value=default.start, min=first, max=last,
                                        **_FILTER_LOOK),
            "end": widgets.DatePicker(description="To", value=default.end, min=first, max=last, **_FILTER_LOOK)}


def choice_filter(description: str, options: list, labels: list[str] | None = None) -> widgets.Dropdown:
    """A dropdown of ``options`` (shown as ``labels`` when given), the first one selected."""
    choices = list(zip(labels, options)) if labels else options
    return widgets.Dropdown(description=description, options=choices, value=options[0], **_FILTER_LOOK)


def text_search(description: str, placeholder: str, on_submit: Callable[[str], list]) -> widgets.VBox:
    """A text box and, under it, what ``on_submit(text)`` returns (a list of widgets) for the
    text entered; it runs when the user presses Enter or leaves the box."""
    box = widgets.Text(description=description, placeholder=placeholder, continuous_update=False, **_FILTER_LOOK)
    result = widgets.VBox()

    def submit(change) -> None:
        old, result.children = result.children, on_submit(change["new"].strip())
        for widget in old:
            _close(widget)

    box.observe(submit, names="value")
    return widgets.VBox([box, result])


# --- figures -------------------------------------------------------------------------------

COLORS = ("#2e6fdb", "#f08a24", "#1f9d74", "#b54bc7", "#d64550", "#7a8797")
PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
PLOTLY_CONFIG = {"displaylogo": False, "displayModeBar": False}
_TICK_FORMATS = {"rate": ".0%", "money": ",.0f", "count": ",d", "ratio": ".2f", "seconds": ",.0f", "ms": ",.0f"}
_DAY_MS = 86_400_000
_AXIS = dict(gridcolor="#eaeef3", linecolor="#d0d5dd", zerolinecolor="#d0d5dd", automargin=True)


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    # A look of our own instead of a plotly template: copying a template into every figure took
    # a third of the time a page needs to build.
    return fig.update_layout(
        template="none", title=dict(text=title, x=0, y=0.98, yanchor="top", font=dict(size=15)), height=height,
        font=dict(family="system-ui, sans-serif", color="#344054", size=12), colorway=COLORS,
        paper_bgcolor="white", plot_bgcolor="white", xaxis=_AXIS, yaxis=_AXIS,
        margin=dict(l=10, r=10, t=64, b=10), hovermode="closest",
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0, xanchor="left"))  # under the title


def line_chart(df: pd.DataFrame, x: str, lines: dict[str, str], title: str, value_kind: str = "count",
               height: int = 300, hourly: bool = False) -> go.Figure:
    """One line per entry of ``lines`` (column -> legend label) over the dates in column ``x``
    (``hourly``: over the hours, as timestamps)."""
    fig = go.Figure([go.Scatter(x=df[x], y=df[col], name=label, mode="lines+markers" if not hourly else "lines")
                     for col, label in lines.items()])
    _layout(fig, title, height).update_layout(hovermode="x unified")
    fig.update_yaxes(tickformat=_TICK_FORMATS[value_kind], rangemode="tozero")
    if hourly:
        return fig.update_xaxes(tickformat="%d %b %H:%M", hoverformat="%d %b %H:00 UTC")
    # Whole days only, at most about eight ticks: plotly would otherwise tick hours on short ranges.
    days = (max(df[x]) - min(df[x])).days + 1 if len(df) else 1
    return fig.update_xaxes(tickformat="%d %b", dtick=_DAY_MS * math.ceil(days / 8))


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
    return _layout(fig, title, height).update_xaxes(tickformat=_TICK_FORMATS[value_kind])


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
    text = [[format_value(v, value_kind) if not _missing(v) else "" for v in row] for row in matrix.to_numpy()]
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
    fig.update_yaxes(tickformat=_TICK_FORMATS[value_kind], rangemode="tozero")
    days = (max(df[x]) - min(df[x])).days + 1 if len(df) else 1
    return fig.update_xaxes(tickformat="%d %b", dtick=_DAY_MS * math.ceil(days / 8))


def chart(fig: go.Figure) -> widgets.Output:
    """A plotly figure as a widget (drawn by the plotly extension of JupyterLab and Voila); its
    height is reserved, and the figure itself is sent once the browser has the page (see below)."""
    # The mime bundle that plotly's own renderer would send, without fig.show(): its renderer
    # machinery imports nbformat and jsonschema, seconds of start-up on every page.
    bundle = {PLOTLY_MIMETYPE: {**json.loads(fig.to_json()), "config": PLOTLY_CONFIG}}
    out = widgets.Output(layout=widgets.Layout(min_height=f"{fig.layout.height or 360}px"))
    if _browser.has_the_page():
        _draw(out, bundle)
    else:
        _browser.waiting.append((out, bundle))
    return out


def _draw(out: widgets.Output, bundle: dict) -> None:
    with out:
        display(bundle, raw=True)


class _Browser:
    """Whether the browser has loaded the page's widgets, and the charts that wait for that.

    The browser builds a page's widgets in one go and shows none before the last is drawn; with
    the plotly charts among them, that last one comes after plotly's 4.8 MB of JavaScript has run
    and every chart has been laid out and drawn (measured: 1.6 of the page's 2.6 s of JavaScript),
    so the KPI cards appeared with the last chart. Sent after the page's widgets instead, each
    chart is drawn on its own, and the browser shows the cards first.

    How the kernel hears that the browser has the page: ``jslink`` between two number widgets
    that differ. The browser-side link copies the source's value into the target as soon as it
    loads them, and that change comes back to the kernel - stock ipywidgets, no JavaScript of
    ours. Where no browser ever loads the widgets (nbval, papermill), the charts stay unsent."""

    def __init__(self):
        self.waiting: list[tuple[widgets.Output, dict]] = []
        self._target = None
        self._kept: tuple = ()

    def has_the_page(self) -> bool:
        if self._target is None:  # the kernel's first chart: start listening
            source, self._target = widgets.IntText(value=1), widgets.IntText(value=0)
            self._kept = (source, widgets.jslink((source, "value"), (self._target, "value")))
            self._target.observe(self._draw_waiting, names="value")
        return self._target.value == 1

    def _draw_waiting(self, _change=None) -> None:
        # The browser reports the page's widgets as soon as it has their models, before it has
        # drawn them. Sent at once, the charts sometimes reached it before it painted the KPI
        # cards, and plotly's 1.5 s of JavaScript ran first (cards painted at 2.8 s or 4.3 s,
        # measured). This pause lets the browser paint the cards first. It is a pause, not a
        # timer: the Output widgets capture only the outputs of a request the browser still
        # waits for, and this change's request ends when the handler returns.
        time.sleep(PAINT_GRACE_S)
        while self.waiting:
            out, bundle = self.waiting.pop(0)
            if out.comm is not None:  # not closed by a redraw meanwhile
                _draw(out, bundle)


# How long the charts wait for the cards to be painted; 0.25 s gave cards first in every page measured.
PAINT_GRACE_S = 0.25
_browser = _Browser()
