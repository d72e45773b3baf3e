"""Synthetic web events for ``dp generate web-user-analytics``: visitors who come back over several
days through different channels, on desktop, mobile and tablet, walking the shop's funnel
(``/`` -> ``/product`` -> ``/cart`` -> ``/checkout`` -> purchase), a few logged-in users, some
bots, and a small share of the bad inputs of the event contract (each kind at least once).

Sessions start over ``days`` UTC days, the last one today, up to ``now``; a session still going on
at ``now`` has only the events it has had so far, so no event is in the future.

Deterministic: the same ``seed``, ``events``, ``days`` and ``now`` give the same events, in the
same order.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Iterator

from shared_lib import synthetic

UAS = {
    "desktop": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "tablet": "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
}
BOT_UAS = ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
           "python-requests/2.32.3", "curl/8.5.0", "Mozilla/5.0 HeadlessChrome/126.0"]
# (utm_source, utm_medium, utm_campaign, referrer): one entry per channel of metrics.md
CHANNELS = [
    ("google", "cpc", "spring_sale", ""),
    ("newsletter", "email", "weekly", ""),
    (None, None, None, "https://www.facebook.com/"),
    (None, None, None, "https://www.google.com/search?q=shop"),
    (None, None, None, ""),
    (None, None, None, "https://blog.example.org/review"),
]
CHANNEL_WEIGHTS = [15, 8, 12, 25, 30, 10]
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "zz"]  # "zz" is nulled downstream
PRODUCTS = ["shoes", "shirt", "hat", "bag", "café-crème"]
HOST = "https://shop.example.com"
BAD_KINDS = synthetic.BAD_KINDS


def _visit(rng: random.Random, visitor: dict, start: dt.datetime, counter: list[int],
           now: dt.datetime) -> list[dict]:
    """One session: a walk down the funnel that stops early most of the time; its events after
    ``now`` have not happened yet and are left out."""
    src, medium, campaign, referrer = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
    path = ["/"]
    for step, p_next in (("/product", 0.6), ("/cart", 0.35), ("/checkout", 0.6)):
        if rng.random() < p_next:
            path.append(step)
        else:
            break
    if rng.random() < 0.3:
        path.insert(1, f"/product/{rng.choice(PRODUCTS)}")
    ts = start
    events = []

    def emit(event_type: str, **fields) -> None:
        if ts > now:
            return
        counter[0] += 1
        event = {"event_id": f"w-{counter[0]:09d}", "event_type": event_type, "event_ts": synthetic.iso(ts),
                 "anonymous_id": visitor["anonymous_id"], "user_agent": visitor["ua"],
                 "device_type": visitor["device"], "country": visitor["country"], "ip": visitor["ip"]}
        if visitor["user_id"]:
            event["user_id"] = visitor["user_id"]
        event.update({k: v for k, v in fields.items() if v is not None})
        events.append(event)

    for i, page in enumerate(path):
        first = i == 0
        emit("page_view", page_url=f"{HOST}{page}" + ("?ref=nav" if rng.random() < 0.1 else ""),
             page_title=page.strip("/").title() or "Home", page_load_ms=int(rng.lognormvariate(6.5, 0.6)),
             referrer=referrer if first else f"{HOST}{path[i - 1]}",
             utm_source=src if first else None, utm_medium=medium if first else None,
             utm_campaign=campaign if first else None)
        ts += dt.timedelta(seconds=rng.uniform(3, 120))
        if rng.random() < 0.3:
            emit("scroll", page_url=f"{HOST}{page}", properties={"scroll_depth": rng.choice([25, 50, 75, 100])})
            ts += dt.timedelta(seconds=rng.uniform(1, 30))
        if rng.random() < 0.2:
            emit("click", page_url=f"{HOST}{page}", properties={"element_id": rng.choice(["buy", "nav", "logo"])})
            ts += dt.timedelta(seconds=rng.uniform(1, 20))
    if path[-1] == "/checkout" and rng.random() < 0.7:
        emit("form_submit", page_url=f"{HOST}/checkout", properties={"form_id": "checkout"})
        ts += dt.timedelta(seconds=rng.uniform(1, 10))
        emit("purchase", page_url=f"{HOST}/checkout", order_id=f"o-{counter[0]:09d}",
             revenue=round(rng.uniform(5, 300), 2), currency=rng.choice(["USD", "USD", "EUR"]))
    return events


def _bad(kind: str, good: dict, future: dt.datetime, i: int) -> str:
    return synthetic.bad_message(kind, good, future, i, drop="anonymous_id", wrong_type=("page_load_ms", "fast"),
                                 out_of_domain=("event_type", "teleport"))


def generate(events: int, seed: int, days: int = 7, bad_share: float = 0.01, bot_share: float = 0.03,
             now: dt.datetime | None = None) -> Iterator[dict | str]:
    """``events`` messages: dicts for good events, raw strings for the deliberately bad ones."""
    rng = random.Random(seed)
    now = synthetic.clock(now)
    first_day = synthetic.first_midnight(now, days)
    future = now + dt.timedelta(days=2)  # more than 24 h ahead (bad input)
    span_s = (now - first_day).total_seconds()
    n_good, n_dup, n_bad = synthetic.split(events, bad_share)
    counter = [0]
    visitors = []
    produced: list[dict] = []
    while len(produced) < n_good:
        if not visitors or rng.random() < 0.35:
            device = rng.choices(["desktop", "mobile", "tablet"], [55, 38, 7])[0]
            bot = rng.random() < bot_share
            visitors.append({
                "anonymous_id": f"anon-{len(visitors) + 1:06d}", "device": None if bot else device,
                "ua": rng.choice(BOT_UAS) if bot else UAS[device],
                "user_id": f"user-{len(visitors) + 1:05d}" if rng.random() < 0.3 else None,
                "country": rng.choice(COUNTRIES), "ip": f"203.0.113.{rng.randint(1, 254)}"})
        visitor = rng.choice(visitors)
        start = first_day + dt.timedelta(seconds=rng.uniform(0, span_s))
        produced.extend(_visit(rng, visitor, start, counter, now))
    return iter(synthetic.deliver(rng, produced[:n_good], n_dup, n_bad,
                                  lambda kind, good, i: _bad(kind, good, future, i)))


KEY_FIELD = "anonymous_id"  # a visitor's events share a partition, so they stay in order
