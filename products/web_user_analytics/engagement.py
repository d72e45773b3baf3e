"""Engagement depth, per session-start date x page (bots excluded, events in sessions only): how
far visitors scroll, how often they click, and which forms they complete.

- Scroll depth: ``properties.scroll_depth`` of ``scroll`` events, a number from 0 to 100. A value
  outside 0-100 or not a number is nulled and counted in ``scroll_depth_invalid``; an absent one
  is neither. p25, p50, p75, p95 are continuous percentiles of the valid values (Spark's
  ``percentile``): with the n values sorted x[0] <= ... <= x[n-1], the p-th is
  x[i] + (h - i) * (x[i+1] - x[i]) where h = p * (n - 1) and i = floor(h) (x[i] when h = i).
- Click-through: ``click`` events / ``page_view`` events of the page (null without page views;
  above 1 when visitors click more than once per view). Clicks per ``properties.element_id``.
- Form completion per date x ``properties.form_id``: successful / all ``form_submit`` events; a
  submit is successful unless ``properties.success`` is false (``false`` or ``"false"``).

Events without a ``page_path`` (no ``page_url`` sent) count for no page.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

PERCENTILES = (0.25, 0.5, 0.75, 0.95)
# The columns ``interactions`` adds, that the gold step carries along with events in sessions.
COLUMNS = ("scroll_depth", "scroll_invalid", "element_id", "form_id", "form_success")
SCROLL_MIN, SCROLL_MAX = 0.0, 100.0


def _property(name: str) -> Column:
    return F.get_json_object(F.col("properties"), f"$.{name}")


def interactions(events: DataFrame) -> DataFrame:
    """Events with the properties engagement needs, read from the JSON text: ``scroll_depth``
    (valid value or null), ``scroll_invalid``, ``element_id``, ``form_id``, ``form_success``."""
    depth_text = F.when(F.col("event_type") == "scroll", _property("scroll_depth"))
    depth = depth_text.try_cast("double")  # not a number: null, and counted below
    valid = depth.between(SCROLL_MIN, SCROLL_MAX)
    success = F.lower(F.trim(_property("success")))
    return events.select(
        "*",
        F.when(valid, depth).alias("scroll_depth"),
        (depth_text.isNotNull() & ~F.coalesce(valid, F.lit(False))).alias("scroll_invalid"),
        F.when(F.col("event_type") == "click", _property("element_id")).alias("element_id"),
        F.when(F.col("event_type") == "form_submit", _property("form_id")).alias("form_id"),
        F.coalesce(success != "false", F.lit(True)).alias("form_success"))


def depth(events: DataFrame) -> DataFrame:
    """``engagement_depth``: per ``date`` x ``page_path``, page views, scroll events (valid),
    scroll depth percentiles, invalid depths, clicks and click-through. ``events`` are
    ``interactions`` of events in sessions (with ``date``)."""
    on_page = events.where(F.col("page_path").isNotNull())
    percentiles = F.percentile("scroll_depth", F.array(*[F.lit(p) for p in PERCENTILES]))
    rows = on_page.groupBy("date", "page_path").agg(
        F.count(F.when(F.col("event_type") == "page_view", 1)).alias("page_views"),
        F.count("scroll_depth").alias("scroll_events"),
        percentiles.alias("_p"),
        F.count(F.when(F.col("scroll_invalid"), 1)).alias("scroll_depth_invalid"),
        F.count(F.when(F.col("event_type") == "click", 1)).alias("clicks"))
    names = [f"scroll_depth_p{round(p * 100)}" for p in PERCENTILES]
    return rows.select(
        "date", "page_path", "page_views", "scroll_events",
        *[F.col("_p")[i].alias(name) for i, name in enumerate(names)],
        "scroll_depth_invalid", "clicks",
        F.when(F.col("page_views") > 0, F.col("clicks") / F.col("page_views")).alias("click_through"))


def element_clicks(events: DataFrame) -> DataFrame:
    """``element_clicks``: clicks per ``date`` x ``page_path`` x ``element_id`` (null: a click
    without one), with ``rank`` 1 for the most clicked (ties by element id)."""
    clicks = (events.where((F.col("event_type") == "click") & F.col("page_path").isNotNull())
              .groupBy("date", "page_path", "element_id").agg(F.count("*").alias("clicks")))
    order = Window.partitionBy("date", "page_path").orderBy(F.col("clicks").desc(), F.col("element_id").asc_nulls_last())
    return clicks.select("date", "page_path", "element_id", "clicks", F.row_number().over(order).alias("rank"))


def form_completion(events: DataFrame) -> DataFrame:
    """``form_completion``: per ``date`` x ``form_id`` (null: submits without one), submits,
    successful ones and completion_rate = successful / submits."""
    return (events.where(F.col("event_type") == "form_submit").groupBy("date", "form_id").agg(
        F.count("*").alias("submits"), F.count(F.when(F.col("form_success"), 1)).alias("successful"))
        .withColumn("completion_rate", F.col("successful") / F.col("submits")))
