"""Web derivations of metrics.md and events.md: page_path, hosts, every channel rule (first match
wins), device type from user_agent, and the bot rule. One DataFrame per concern, one collect."""


from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from products.web_user_analytics import transform

HOST = "https://shop.example.com"


IPAD = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"


IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


ANDROID_PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"


ANDROID_TABLET = "Mozilla/5.0 (Linux; Android 14; SM-X910) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


@pytest.mark.integration
def test_page_path_and_host(spark):
    cases = {
        f"{HOST}": ("/", "shop.example.com"),
        f"{HOST}/": ("/", "shop.example.com"),
        f"{HOST}/product/": ("/product", "shop.example.com"),
        f"{HOST}/product?ref=nav": ("/product", "shop.example.com"),
        f"{HOST}/a/b//#top": ("/a/b", "shop.example.com"),
        f"{HOST}/?q=1": ("/", "shop.example.com"),
        f"{HOST}/produkt/café-crème/": ("/produkt/café-crème", "shop.example.com"),
        "https://例え.jp/パス?x=1": ("/パス", "例え.jp"),
        "HTTPS://user:pw@Shop.Example.COM:8443/Cart": ("/Cart", "shop.example.com"),
        "ftp://files.example.com?x=/a/b": ("/", "files.example.com"),
        "https://shop.example.com#frag/x": ("/", "shop.example.com"),
        "http://": ("/", None),
        "shop.example.com/cart": ("/", None),  # no scheme: no host, and the root
        "1http://shop.example.com/cart": ("/", None),  # a scheme starts with a letter
        "mailto:someone@example.com": ("/", None),
    }
    df = spark.createDataFrame([(u,) for u in cases], "url string")
    got = {r["url"]: (r["path"], r["host"]) for r in df.select(
        "url", transform.url_path(F.col("url")).alias("path"),
        transform.url_host(F.col("url")).alias("host")).collect()}
    assert got == cases


# (utm_source, utm_medium, utm_campaign, referrer, expected channel); the page is on HOST.
CHANNEL_CASES = [
    ("google", "CPC", "spring", None, "paid"),
    (None, "display", None, "https://www.facebook.com/", "paid"),  # rule 1 before rule 3
    ("news", "email", "weekly", None, "email"),
    ("fb", "social", None, None, "social"),
    (None, None, None, "https://t.co/abc", "social"),
    (None, None, None, "https://www.reddit.com/r/x", "social"),
    (None, "organic", None, None, "organic"),
    (None, None, None, "https://www.google.com/search?q=shop", "organic"),
    (None, None, None, "https://duckduckgo.com/", "organic"),
    (None, None, None, None, "direct"),
    (None, None, None, f"{HOST}/product", "direct"),  # the page's own host
    (None, None, None, "https://blog.example.org/review", "referral"),
    ("partner", None, None, None, "referral"),  # a utm field: not direct
    (None, "affiliate", None, f"{HOST}/", "referral"),
]


@pytest.mark.integration
def test_channel_rules_first_match_wins(spark):
    rows = [(i, *case[:4]) for i, case in enumerate(CHANNEL_CASES)]
    df = spark.createDataFrame(
        rows, "i int, utm_source string, utm_medium string, utm_campaign string, referrer string")
    c = F.col
    got = dict(df.select("i", transform.channel(c("utm_source"), c("utm_medium"), c("utm_campaign"), c("referrer"),
                                                F.lit(f"{HOST}/landing")).alias("channel")).collect())
    assert [got[i] for i in range(len(CHANNEL_CASES))] == [case[4] for case in CHANNEL_CASES]


@pytest.mark.integration
def test_device_type_and_bots(spark):
    cases = [  # (declared device_type after the contract, user_agent, device, is_bot)
        ("desktop", IPHONE, "desktop", False),
        (None, IPAD, "tablet", False),
        (None, IPHONE, "mobile", False),
        (None, ANDROID_PHONE, "mobile", False),
        (None, ANDROID_TABLET, "tablet", False),
        (None, WINDOWS, "desktop", False),
        (None, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "unknown", True),
        (None, "curl/8.5.0", "unknown", True),
        (None, "python-requests/2.32", "unknown", True),
        (None, "Mozilla/5.0 HeadlessChrome/126.0", "unknown", True),
        (None, "Mozilla/5.0 (compatible; Yahoo! Slurp)", "unknown", True),
        (None, "Wget/1.21", "unknown", True),
        (None, None, "unknown", False),
    ]
    df = spark.createDataFrame([(i, d, ua) for i, (d, ua, _, _) in enumerate(cases)],
                               "i int, device_type string, user_agent string")
    got = {r["i"]: (r["device"], r["bot"]) for r in df.select(
        "i", transform.device_type(F.col("device_type"), F.col("user_agent")).alias("device"),
        transform.is_bot(F.col("user_agent")).alias("bot")).collect()}
    assert [got[i] for i in range(len(cases))] == [(d, b) for _, _, d, b in cases]


@pytest.mark.integration
def test_browser_family_first_match_wins(spark):
    cases = [
        (WINDOWS, "Chrome"),  # says Safari too
        (IPHONE, "Safari"),
        (WINDOWS.replace("Safari/537.36", "Safari/537.36 Edg/126.0"), "Edge"),  # says Chrome and Safari too
        (WINDOWS + " OPR/110.0", "Opera"),
        ("Mozilla/5.0 (Linux; Android 14) SamsungBrowser/25.0 Chrome/121.0 Mobile Safari/537.36", "Samsung Internet"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", "Firefox"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) CriOS/126.0 Mobile Safari/604.1", "Chrome"),
        ("curl/8.5.0", "Other"),
        (None, "unknown"),
    ]
    df = spark.createDataFrame([(ua,) for ua, _ in cases], "ua string")
    assert [r[0] for r in df.select(transform.browser(F.col("ua"))).collect()] == [b for _, b in cases]
