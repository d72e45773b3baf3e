"""Building blocks of the Voila dashboards in ``notebooks/dashboards/``: periods and their change
against the previous period, one formatter of values by kind, KPI cards, an empty state instead of
a traceback, plotly figures in one look, and ``page``: the skeleton of every dashboard's page,
whose body is redrawn whenever a filter changes. Tables are read with ``shared_lib.lake``.

A product's dashboard module (``products/<product>/dashboard.py``) computes its numbers with the
pure helpers here and lays them out with the widget helpers; its notebook only calls it.
``from shared_lib import dashboard as ui`` gives all of it; the private modules split it by kind.
"""

import ipywidgets as widgets  # ui.widgets.HTML: a product's own markup

from shared_lib.dashboard._charts import (
    COLORS,
    area_chart,
    bar_chart,
    chart,
    funnel_chart,
    heatmap,
    later,
    layered_graph,
    line_chart,
    timeline_chart,
)
from shared_lib.dashboard._numbers import (
    KINDS,
    Kind,
    Kpi,
    Period,
    chosen_period,
    default_period,
    format_value,
    kpi_change,
    last_days,
    missing,
    point_change,
    relative_change,
)
from shared_lib.dashboard._preheat import wait_for_request
from shared_lib.dashboard._widgets import (
    CSS,
    Page,
    build_hint,
    callout,
    choice_filter,
    column,
    date_filters,
    empty_state,
    header,
    kpi_card_html,
    kpi_cards,
    no_period,
    page,
    section,
    table,
    table_html,
    text_search,
)

__all__ = [
    "COLORS",
    "CSS",
    "KINDS",
    "Kind",
    "Kpi",
    "Page",
    "Period",
    "area_chart",
    "bar_chart",
    "build_hint",
    "callout",
    "chart",
    "later",
    "choice_filter",
    "chosen_period",
    "column",
    "date_filters",
    "default_period",
    "empty_state",
    "format_value",
    "funnel_chart",
    "header",
    "heatmap",
    "kpi_card_html",
    "kpi_cards",
    "kpi_change",
    "last_days",
    "layered_graph",
    "line_chart",
    "missing",
    "no_period",
    "page",
    "point_change",
    "relative_change",
    "section",
    "table",
    "table_html",
    "text_search",
    "timeline_chart",
    "wait_for_request",
    "widgets",
]
