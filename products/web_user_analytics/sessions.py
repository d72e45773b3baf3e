"""Web session rows from sessionized silver events (metrics.md, "Per session")."""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from products.web_user_analytics import transform
from shared_lib import sessions as sessions_lib

VISITOR = "anonymous_id"
ENGAGED_MIN_DURATION_S = 10
ENGAGED_MIN_PAGE_VIEWS = 2


def summarize(events: DataFrame, run_id: str) -> DataFrame:
    """One row per ``session_id`` of events that ``shared_lib.sessions.assign`` numbered.

    Channel, device, browser, landing page and the UTM fields come from the session's first event (page
    view for the landing page), the exit page from its last page view; user and country are the
    first non-null ones. Orders are distinct ``order_id``s, each with its first event's revenue.
    """
    first = sessions_lib.first_by_time
    is_page_view = F.col("event_type") == "page_view"
    sessions = sessions_lib.summary(events, VISITOR, run_id, {
        "page_views": F.count(F.when(is_page_view, 1)),
        "_converting": F.max(F.col("event_type").isin("purchase", "form_submit")),
        "channel": first("channel"),
        "utm_source": first("utm_source"),
        "utm_medium": first("utm_medium"),
        "utm_campaign": first("utm_campaign"),
        "referrer_host": first("referrer_host"),
        "landing_page": first("page_path", is_page_view),
        "exit_page": F.max_by("page_path", F.when(is_page_view, F.struct("event_ts", "event_id"))),
        "device_type": first("device_type"),
        "browser": transform.browser(first("user_agent")),
    })
    return (sessions.withColumn("engaged", (F.col("duration_s") > ENGAGED_MIN_DURATION_S)
                                | (F.col("page_views") >= ENGAGED_MIN_PAGE_VIEWS) | F.col("_converting"))
            .drop("_converting"))
