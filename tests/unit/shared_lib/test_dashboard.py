"""The dashboards' pure helpers on hand-computed cases: periods, changes against the previous
period, formatting, and the web dashboard's range totals, breakdowns, top pages and funnel."""
import datetime as dt
import math

import pandas as pd
import pytest

from products.web_user_analytics import dashboard as web
from shared_lib import dashboard as ui
from shared_lib.dashboard import Kpi, Period

D = dt.date


# --- periods -------------------------------------------------------------------------------

def test_previous_period_has_the_same_length_and_ends_the_day_before():
    week = Period(D(2024, 3, 8), D(2024, 3, 14))
    assert week.days == 7
    assert week.previous() == Period(D(2024, 3, 1), D(2024, 3, 7))
    # one day, across a leap day
    assert Period(D(2024, 3, 1), D(2024, 3, 1)).previous() == Period(D(2024, 2, 29), D(2024, 2, 29))


def test_default_period_is_the_last_days_cut_at_the_first_date():
    dates = [D(2024, 3, 1), D(2024, 3, 20), D(2024, 3, 9)]
    assert ui.default_period(dates, 7) == (D(2024, 3, 1), D(2024, 3, 20), Period(D(2024, 3, 14), D(2024, 3, 20)))
    # Fewer days than asked: the whole range.
    assert ui.default_period(dates, 28) == (D(2024, 3, 1), D(2024, 3, 20), Period(D(2024, 3, 1), D(2024, 3, 20)))


def test_last_days_ends_on_the_day_given():
    assert ui.last_days(D(2024, 3, 14), 7) == Period(D(2024, 3, 8), D(2024, 3, 14))
    assert ui.last_days(D(2024, 3, 14), 1) == Period(D(2024, 3, 14), D(2024, 3, 14))


def test_period_rows_include_both_ends():
    df = pd.DataFrame({"date": [D(2024, 3, 7), D(2024, 3, 8), D(2024, 3, 14), D(2024, 3, 15)], "n": [1, 2, 3, 4]})
    assert Period(D(2024, 3, 8), D(2024, 3, 14)).rows(df)["n"].tolist() == [2, 3]


def test_chosen_period_of_the_date_filters_is_none_while_incomplete_or_reversed():
    assert ui.chosen_period({"start": D(2024, 3, 1), "end": D(2024, 3, 7)}) == Period(D(2024, 3, 1), D(2024, 3, 7))
    assert ui.chosen_period({"start": D(2024, 3, 1), "end": D(2024, 3, 1)}) == Period(D(2024, 3, 1), D(2024, 3, 1))
    for start, end in ((D(2024, 3, 2), D(2024, 3, 1)), (None, D(2024, 3, 1)), (D(2024, 3, 1), None)):
        assert ui.chosen_period({"start": start, "end": end}) is None


# --- changes and formatting ----------------------------------------------------------------

def test_relative_change():
    assert ui.relative_change(125, 100) == 0.25
    assert ui.relative_change(90, 120) == -0.25
    assert ui.relative_change(7, 7) == 0
    for current, previous in ((5, 0), (None, 3), (3, None), (float("nan"), 3), (3, float("nan"))):
        assert ui.relative_change(current, previous) is None


def test_point_change_is_a_difference():
    assert ui.point_change(0.75, 0.5) == 0.25
    assert ui.point_change(0.5, 0.75) == -0.25
    assert ui.point_change(0.5, 0) == 0.5  # a rate may rise from zero
    assert ui.point_change(None, 0.5) is None


@pytest.mark.parametrize("value, kind, text", [
    (1234567, "count", "1,234,567"), (0, "count", "0"), (2000, "money", "2,000.00"),
    (1234.567, "money", "1,234.57"), (0.0637, "rate", "6.4%"), (1, "rate", "100.0%"),
    (42, "seconds", "42s"), (65.4, "seconds", "1m 05s"), (59.6, "seconds", "1m 00s"),
    (3600, "seconds", "60m 00s"), (2.5, "ratio", "2.50"), (None, "count", "–"), (float("nan"), "rate", "–"),
    (1234.5, "ms", "1,234 ms"), (61.6, "s", "62 s"), (12.34, "min", "12.3 min"), (0.9991, "fine_rate", "99.91%"),
    (D(2024, 3, 5), "day", "05 Mar"), (D(2024, 3, 5), "date", "05 Mar 2024"),
    (dt.datetime(2024, 3, 5, 14, 7, tzinfo=dt.timezone.utc), "time", "05 Mar 14:07"), (pd.NaT, "time", "–"),
])
def test_format_value(value, kind, text):
    assert ui.format_value(value, kind) == text


def test_format_value_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown kind 'percent'"):
        ui.format_value(1, "percent")


def test_kpi_change_text_and_tone():
    visitors = Kpi("visitors", "Visitors", "count")
    engagement = Kpi("engagement_rate", "Engagement rate", "rate")
    bounce = Kpi("bounce_rate", "Bounce rate", "rate", higher_is_better=False)
    assert ui.kpi_change(visitors, 125, 100) == ("+25.0%", "good")
    assert ui.kpi_change(visitors, 75, 100) == ("−25.0%", "bad")
    assert ui.kpi_change(visitors, 100, 100) == ("±0.0%", "flat")
    assert ui.kpi_change(visitors, 100, 0) == ("–", "flat")
    assert ui.kpi_change(engagement, 0.5, 0.75) == ("−25.0 pp", "bad")
    assert ui.kpi_change(bounce, 0.5, 0.75) == ("−25.0 pp", "good")
    assert ui.kpi_change(engagement, None, 0.5) == ("–", "flat")


def test_kpi_card_shows_value_change_and_period():
    html = ui.kpi_card_html(Kpi("revenue", "Revenue", "money"), 2000.0, 1000.0, "previous 28 days")
    assert "data-kpi='revenue'" in html
    assert "<div class='dp-kpi-value'>2,000.00</div>" in html
    assert "<b class='good'>+100.0%</b> vs previous 28 days" in html


# --- the web dashboard's numbers -----------------------------------------------------------

def daily(*rows):
    """Daily KPI rows from (date, visitors, sessions, engaged, conversion_rate, avg duration, revenue)."""
    return pd.DataFrame([{
        "date": d, "visitors": v, "users": 0, "sessions": s, "page_views": 2 * s, "engaged_sessions": e,
        "purchases": round(c * s) if s else 0, "revenue": r, "conversion_rate": c, "avg_session_duration_s": dur}
        for d, v, s, e, c, dur, r in rows])


TWO_DAYS = daily((D(2024, 1, 1), 80, 100, 60, 0.05, 30.0, 1234.5),
                 (D(2024, 1, 2), 45, 60, 36, 0.05, 70.0, 765.5))


def test_totals_recompute_rates_from_summed_counts():
    t = web.totals(TWO_DAYS)
    assert t["visitors"] == 125 and t["sessions"] == 160 and t["revenue"] == 2000.0
    assert t["engagement_rate"] == 96 / 160 == 0.6
    assert t["bounce_rate"] == 1 - 0.6
    assert t["conversion_rate"] == 8 / 160  # 5 + 3 converted sessions
    assert t["avg_session_duration_s"] == (100 * 30 + 60 * 70) / 160 == 45.0  # weighted, not (30 + 70) / 2
    assert t["pages_per_session"] == 2.0


def test_totals_of_no_rows_are_zero_with_undefined_rates():
    t = web.totals(TWO_DAYS.iloc[0:0])
    assert t["sessions"] == 0 and t["revenue"] == 0
    assert t["engagement_rate"] is None and t["conversion_rate"] is None
    assert t["avg_session_duration_s"] is None


def test_a_day_without_sessions_adds_nothing_and_breaks_nothing():
    empty_day = daily((D(2024, 1, 3), 0, 0, 0, float("nan"), float("nan"), 0.0))
    assert web.totals(pd.concat([TWO_DAYS, empty_day])) == web.totals(TWO_DAYS)


def test_by_dimension_sums_per_value_most_sessions_first_null_as_unknown():
    df = pd.concat([TWO_DAYS.assign(country="DE"), TWO_DAYS.assign(country=None).iloc[:1],
                    TWO_DAYS.assign(country="US").iloc[1:]])
    out = web.by_dimension(df, "country")
    assert out["country"].tolist() == ["DE", "unknown", "US"]
    assert out["sessions"].tolist() == [160, 100, 60]
    assert out["engagement_rate"].tolist() == [0.6, 0.6, 0.6]
    assert out["revenue"].tolist() == [2000.0, 1234.5, 765.5]


def test_top_pages_sum_days_and_rank_by_views_then_path():
    pages = pd.DataFrame([
        {"date": D(2024, 1, 1), "page_path": "/", "page_views": 100, "unique_visitors": 80, "entrances": 50, "exits": 25},
        {"date": D(2024, 1, 2), "page_path": "/", "page_views": 60, "unique_visitors": 50, "entrances": 30, "exits": 15},
        {"date": D(2024, 1, 1), "page_path": "/cart", "page_views": 40, "unique_visitors": 30, "entrances": 0, "exits": 10},
        {"date": D(2024, 1, 1), "page_path": "/b", "page_views": 40, "unique_visitors": 40, "entrances": 0, "exits": 0},
    ])
    top = web.top_pages(pages, n=2)
    assert top["page_path"].tolist() == ["/", "/b"]
    assert top.iloc[0][["page_views", "unique_visitors", "entrances", "exits"]].tolist() == [160, 130, 80, 40]
    assert top["exit_rate"].tolist() == [40 / 160, 0.0]


def test_funnel_steps_sum_days_and_convert_from_start_and_from_the_step_before():
    funnel = pd.DataFrame([
        {"date": d, "step": step, "step_name": name, "sessions_reached": n}
        for d, counts in ((D(2024, 1, 1), (60, 30, 6)), (D(2024, 1, 2), (40, 20, 4)))
        for (step, name), n in zip(((1, "/"), (2, "/product"), (3, "purchase")), counts)])
    out = web.funnel_steps(funnel.sample(frac=1, random_state=1))  # order of rows does not matter
    assert out["step_name"].tolist() == ["/", "/product", "purchase"]
    assert out["sessions_reached"].tolist() == [100, 50, 10]
    assert out["conversion_from_start"].tolist() == [1.0, 0.5, 0.1]
    assert math.isnan(out["step_conversion"][0]) and out["step_conversion"][1:].tolist() == [0.5, 0.2]


def test_funnel_that_nobody_entered_has_no_conversions():
    funnel = pd.DataFrame([{"date": D(2024, 1, 1), "step": s, "step_name": str(s), "sessions_reached": 0}
                           for s in (1, 2)])
    out = web.funnel_steps(funnel)
    assert out["conversion_from_start"].isna().all() and out["step_conversion"].isna().all()


# --- the page ------------------------------------------------------------------------------

def _texts(widget) -> str:
    """Every HTML value in a widget tree."""
    own = getattr(widget, "value", "") if isinstance(getattr(widget, "value", None), str) else ""
    return own + "".join(_texts(child) for child in getattr(widget, "children", ()))


def test_page_without_tables_is_the_empty_state(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    text = _texts(web.page())
    assert "No web analytics data yet" in text and "data-kpi=" not in text


def test_render_of_a_range_without_sessions_or_without_dates_says_so():
    gold = web.Gold(TWO_DAYS, *(pd.DataFrame() for _ in web.GOLD_TABLES[1:]))
    [state] = web.render(gold, {"start": D(2023, 1, 1), "end": D(2023, 1, 31), "channel": web.ALL_CHANNELS})
    assert "No sessions in 01 Jan 2023 – 31 Jan 2023" in state.value
    for start, end in ((D(2024, 1, 2), D(2024, 1, 1)), (None, D(2024, 1, 1)), (D(2024, 1, 1), None)):
        [state] = web.render(gold, {"start": start, "end": end, "channel": web.ALL_CHANNELS})
        assert "No date range" in state.value


def skeleton(rows: list, below=None):
    """A page of ``ui.page`` over ``rows`` with one choice filter; its body lists the chosen value."""
    return ui.page("web-user-analytics", "Title", "Sub", lambda: rows, has_data=bool,
                   no_data=("Nothing yet", "<p>run it</p>"),
                   filters=lambda data: {"pick": ui.choice_filter("Pick", data)},
                   render=lambda data, values: [ui.callout("Picked", f"{values['pick']} of {len(data)}")],
                   below=below)


def test_page_skeleton_shows_header_filters_body_and_what_goes_below(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    page = skeleton(["a", "b"], below=lambda data: [ui.empty_state(f"Below {len(data)}")])
    body, below = page.children
    assert "<h1>Title</h1><p>Sub</p>" in _texts(body) and "Picked</b> a of 2" in _texts(body)
    assert "Below 2" in _texts(below)
    filters = body.children[1].children
    filters[0].value = "b"  # the body is redrawn for the new value
    assert "Picked</b> b of 2" in _texts(body) and "a of 2" not in _texts(body)


def test_page_skeleton_without_data_is_the_header_and_the_empty_state(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    text = _texts(skeleton([], below=lambda data: [ui.empty_state("Below")]))
    assert "<h1>Title</h1>" in text and "<b>Nothing yet</b><p>run it</p>" in text
    assert "Picked" not in text and "Below" not in text
