"""The mobile event contract of events.md (topic ``mobile.events``), as field specs for
``shared_lib.contract``. The order of the fields is the order in which they are checked."""
from __future__ import annotations

from shared_lib.contract import COUNTRIES, CURRENCIES, Contract, Field, lower_trimmed, upper_trimmed

EVENT_TYPES = ("app_install", "app_open", "screen_view", "purchase", "crash", "custom")
PLATFORMS = ("ios", "android")

MOBILE_CONTRACT = Contract(fields=(
    Field("event_id", required=True, max_length=128),
    Field("event_type", required=True, values=EVENT_TYPES),
    Field("event_ts", kind="timestamp", required=True),
    Field("device_id", required=True, max_length=128),
    Field("user_id"),
    # Compared lower-cased and trimmed ("iOS" is ios); anything else is quarantined.
    Field("platform", required=True, normalize=lower_trimmed, values=PLATFORMS),
    Field("app_version", required=True, max_length=64),
    Field("os_version"),
    Field("screen_name", required_if=("event_type", "screen_view")),
    Field("order_id", required_if=("event_type", "purchase")),
    Field("revenue", kind="number", required_if=("event_type", "purchase"), minimum=0),
    Field("currency", normalize=upper_trimmed, values=CURRENCIES, default="USD"),
    Field("country", normalize=upper_trimmed, values=COUNTRIES, on_bad_value="null"),
    Field("properties", kind="object"),
))
