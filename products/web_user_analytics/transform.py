"""Web-specific derivations of silver events (metrics.md): page path, hosts, channel, device
type and the bot flag. Pure functions of Columns and DataFrames."""
from __future__ import annotations

import functools

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

CHANNELS = ("paid", "email", "social", "organic", "direct", "referral")
PAID_MEDIUMS = ("cpc", "ppc", "paid", "paidsearch", "display")
SOCIAL_HOSTS = ("facebook.", "t.co", "twitter.", "x.com", "linkedin.", "instagram.", "reddit.")
SEARCH_HOSTS = ("google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.")
BOT_MARKERS = ("bot", "crawler", "spider", "slurp", "curl", "wget", "python-requests", "headlesschrome")
DEVICE_TYPES_DERIVED = ("desktop", "mobile", "tablet", "unknown")

_SCHEME = r"^[A-Za-z][A-Za-z0-9+.-]*://"
# User-agent rules, checked in this order: iPads say "Mobile" and iPhones say "Mac OS X".
_TABLET_UA = r"(?i)ipad|tablet|playbook|kindle|silk/|android(?!.*mobile)"
_MOBILE_UA = r"(?i)mobi|iphone|ipod|android|blackberry|windows phone|opera mini"
_DESKTOP_UA = r"(?i)windows nt|macintosh|mac os x|x11|linux|cros"


def _strip(text: Column, pattern: str, can_match: Column) -> Column:
    """``regexp_replace(text, pattern, "")``, run only where ``can_match`` (a substring test
    without which the pattern cannot match): most URLs need no replacement, and a regex costs far
    more than the test (the two hosts of 1M events: 4.2 s -> 1.5 s)."""
    return F.when(can_match, F.regexp_replace(text, pattern, "")).otherwise(text)


def url_host(url: Column) -> Column:
    """Lower-cased host of an absolute URL, without user info or port; null if none."""
    authority = F.regexp_extract(url, _SCHEME + r"([^/?#]*)", 1)
    no_user = _strip(authority, r"^.*@", F.contains(authority, F.lit("@")))
    host = F.lower(_strip(no_user, r":\d*$", F.contains(no_user, F.lit(":"))))
    return F.when(host != "", host)


def url_path(url: Column) -> Column:
    """The path of an absolute URL: no query string or fragment, no trailing ``/`` except the
    root ``/``. Kept as sent (not percent-decoded), so a unicode path stays readable."""
    path = F.regexp_extract(url, _SCHEME + r"[^/?#]*([^?#]*)", 1)
    path = _strip(path, r"/+$", F.endswith(path, F.lit("/")))
    return F.when(url.isNotNull(), F.when(path == "", F.lit("/")).otherwise(path))


def _contains_any(col: Column, needles: tuple[str, ...]) -> Column:
    return F.coalesce(F.greatest(*[F.contains(col, F.lit(n)) for n in needles]), F.lit(False))


def channel(utm_source: Column, utm_medium: Column, utm_campaign: Column, referrer: Column,
            page_url: Column) -> Column:
    """metrics.md's channel rules, first match wins (applied to a session's first event)."""
    return channel_of_hosts(utm_source, utm_medium, utm_campaign, referrer, url_host(referrer),
                            url_host(page_url))


def channel_of_hosts(utm_source: Column, utm_medium: Column, utm_campaign: Column, referrer: Column,
                     ref_host: Column, page_host: Column) -> Column:
    """``channel`` given the hosts of the referrer and of the page already extracted. Each rule
    looks at the referrer's host: passed as a column, it is extracted once, not once per rule."""
    medium = F.lower(utm_medium)
    no_utm = utm_source.isNull() & utm_medium.isNull() & utm_campaign.isNull()
    own_site = F.coalesce(ref_host == page_host, F.lit(False))
    return (F.when(medium.isin(*PAID_MEDIUMS), "paid")
            .when(medium == "email", "email")
            .when((medium == "social") | _contains_any(ref_host, SOCIAL_HOSTS), "social")
            .when((medium == "organic") | _contains_any(ref_host, SEARCH_HOSTS), "organic")
            .when(no_utm & (referrer.isNull() | own_site), "direct")
            .otherwise("referral"))


def is_bot(user_agent: Column) -> Column:
    # Substring tests, not one regex of the markers: a tenth of the time on 1M events.
    return _contains_any(F.lower(user_agent), BOT_MARKERS)


def device_type(declared: Column, user_agent: Column) -> Column:
    """The declared device type if valid (the contract nulled any other), else from user_agent."""
    return F.coalesce(declared, F.when(user_agent.rlike(_TABLET_UA), "tablet")
                      .when(user_agent.rlike(_MOBILE_UA), "mobile")
                      .when(user_agent.rlike(_DESKTOP_UA), "desktop"), F.lit("unknown"))


# Browser families, checked in this order: Edge and Opera also say "Chrome", Chrome says "Safari".
BROWSERS = (("Edge", ("edg/", "edge/", "edga/", "edgios/")), ("Opera", ("opr/", "opera")),
            ("Samsung Internet", ("samsungbrowser/",)), ("Chrome", ("chrome/", "crios/")),
            ("Firefox", ("firefox/", "fxios/")), ("Safari", ("safari/",)))


def browser(user_agent: Column) -> Column:
    """The browser family of a user agent (``BROWSERS``), ``Other`` when none matches,
    ``unknown`` without a user agent."""
    ua = F.lower(user_agent)
    expr = F.when(user_agent.isNull(), F.lit("unknown"))
    for name, markers in BROWSERS:
        expr = expr.when(functools.reduce(Column.__or__, [F.contains(ua, F.lit(m)) for m in markers]), F.lit(name))
    return expr.otherwise(F.lit("Other"))


def enrich(events: DataFrame) -> DataFrame:
    """Clean contract rows -> silver web events: UTC date, page path, hosts, channel, device, bot."""
    c = F.col
    with_hosts = events.select("*", url_host(c("referrer")).alias("referrer_host"),
                               url_host(c("page_url")).alias("_page_host"))
    return with_hosts.select(
        *events.columns,
        F.to_date("event_ts").alias("event_date"),
        url_path(c("page_url")).alias("page_path"),
        "referrer_host",
        channel_of_hosts(c("utm_source"), c("utm_medium"), c("utm_campaign"), c("referrer"),
                         c("referrer_host"), c("_page_host")).alias("channel"),
        is_bot(c("user_agent")).alias("is_bot"),
    ).withColumn("device_type", device_type(c("device_type"), c("user_agent")))
