"""The dashboards' widgets: header, KPI cards, sections, tables, an empty state instead of a
traceback, filters, and ``page``: the skeleton every dashboard's page follows."""
from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from typing import TypeVar

import ipywidgets as widgets
import pandas as pd

from shared_lib.dashboard._numbers import Kpi, Period, format_value, kpi_change
from shared_lib.dashboard._preheat import wait_for_request

Data = TypeVar("Data")

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
    """``df`` as an HTML table widget (see ``table_html``)."""
    return widgets.HTML(table_html(df, formats))


def table_html(df: pd.DataFrame, formats: dict[str, str]) -> str:
    """``df`` as an HTML table; ``formats`` maps a column to its kind (see ``format_value``).
    Numbers align right; columns without a format hold text and align left."""
    def cell(tag: str, column, content: str) -> str:
        align = "" if column in formats else " class='dp-text'"
        return f"<{tag}{align}>{content}</{tag}>"

    head = "".join(cell("th", c, html.escape(str(c))) for c in df.columns)
    body = "".join("<tr>" + "".join(
        cell("td", c, format_value(v, formats[c]) if c in formats else html.escape(str(v)))
        for c, v in row.items()) + "</tr>" for _, row in df.iterrows())
    return f"<table class='dp-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
    """A start and an end date (read them back with ``chosen_period``)."""
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


def no_period() -> widgets.HTML:
    """The page body while the date filters hold no period (see ``chosen_period``)."""
    return empty_state("No date range", "<p>Pick a start date on or before the end date.</p>")


# --- the page skeleton ---------------------------------------------------------------------


def build_hint(lead: str, product: str) -> str:
    """The hint of a dashboard that has no data yet: ``lead``, then how to build ``product``'s tables."""
    return (f"<p>{lead} <code>dp up</code>, <code>dp generate {product}</code> and <code>dp run</code> "
            "(or <code>make demo</code>), then reload this page.</p>")


def as_of_request(query: str | None = None) -> tuple[str, dt.datetime] | None:
    """``?as_of=RUN_ID`` of the page's request (Voila's ``QUERY_STRING``): every table is then read
    as it was when that run ended (``lake.as_of_run``); returns (run id, that moment) or None."""
    import os
    from urllib.parse import parse_qs

    from shared_lib import lake

    found = parse_qs(os.environ.get("QUERY_STRING", "") if query is None else query).get("as_of")
    moment = lake.as_of_run(found[0] if found else None)
    return (found[0], moment) if found and moment else None


def page(product: str, title: str, subtitle: str, load: Callable[[], Data], *, has_data: Callable[[Data], bool],
         no_data: tuple[str, str], filters: Callable[[Data], dict], render: Callable[[Data, dict], list],
         below: Callable[[Data], list] | None = None) -> widgets.Widget:
    """A dashboard page as every dashboard builds it: wait for the request (pre-heated kernels),
    read the tables (``load``); while they hold nothing (``has_data``), the header over an empty
    state (``no_data``: its title and hint); else a ``Page`` of the ``filters`` made from the data,
    whose body is ``render(data, values)``, with the widgets of ``below(data)`` under it."""
    wait_for_request(product)
    moment = as_of_request()
    if moment is not None:
        subtitle = f"{subtitle} · as of run {moment[0]} ({moment[1]:%Y-%m-%d %H:%M:%S} UTC)"
    data = load()
    if not has_data(data):
        return column(header(title, subtitle), empty_state(*no_data))
    body = Page(title, subtitle, filters(data), lambda values: render(data, values)).widget
    return column(body, *below(data)) if below else body
