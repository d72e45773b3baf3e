"""The web event contract of events.md (topic ``web.events``), as field specs for
``shared_lib.contract``. The order of the fields is the order in which they are checked."""
from __future__ import annotations

from shared_lib.contract import COUNTRIES, CURRENCIES, Contract, Field, lower_trimmed, upper_trimmed

EVENT_TYPES = ("page_view", "click", "scroll", "form_submit", "purchase", "custom")
DEVICE_TYPES = ("desktop", "mobile", "tablet")
MAX_PAGE_LOAD_MS = 300_000
ABSOLUTE_HTTP_URL = r"(?i)^https?://[^/?#\s]+"
ABSOLUTE_URL = r"^[A-Za-z][A-Za-z0-9+.-]*://\S"

WEB_CONTRACT = Contract(fields=(
    Field("event_id", required=True, max_length=128),
    Field("event_type", required=True, values=EVENT_TYPES),
    Field("event_ts", kind="timestamp", required=True),
    Field("anonymous_id", required=True),
    Field("user_id"),
    Field("page_url", required_if=("event_type", "page_view"), pattern=ABSOLUTE_HTTP_URL),
    Field("page_title"),
    # An empty referrer counts as absent; anything else must be an absolute URL.
    Field("referrer", pattern=ABSOLUTE_URL),
    Field("utm_source"),
    Field("utm_medium"),
    Field("utm_campaign"),
    Field("user_agent"),
    Field("ip"),
    Field("country", normalize=upper_trimmed, values=COUNTRIES, on_bad_value="null"),
    # Not one of the three: nulled here, then derived from user_agent (transform.device_type).
    Field("device_type", normalize=lower_trimmed, values=DEVICE_TYPES, on_bad_value="null"),
    Field("page_load_ms", kind="integer", minimum=0, maximum=MAX_PAGE_LOAD_MS, on_bad_value="null"),
    Field("order_id", required_if=("event_type", "purchase")),
    Field("revenue", kind="number", required_if=("event_type", "purchase"), minimum=0),
    Field("currency", normalize=upper_trimmed, values=CURRENCIES, default="USD"),
    Field("properties", kind="object"),
))
