"""Synthetic app events for ``dp generate mobile-user-analytics``: devices installing the app
over several weeks, then coming back less and less (retention that decays roughly as a power of
the days since install, as real apps' does), on iOS and Android; app versions released during the
window and rolled out gradually, so devices update (sometimes in the middle of a day); crashes
concentrated in one version (3.2.0 on Android); screens, purchases, sessions across midnight; a
few events delivered twice and a small share of the bad inputs of the event contract (each kind at
least once).

The window is ``days`` UTC days, the last one today, up to ``now``: sessions after ``now`` have not
happened yet (nor the rest of one going on at ``now``), so no event is in the future.

Deterministic: the same ``seed``, ``events``, ``days`` and ``now`` give the same events, in the
same order.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Iterator

from shared_lib import synthetic

KEY_FIELD = "device_id"  # a device's events share a partition, so they stay in order
PLATFORMS = {"android": 55, "ios": 45}
OS_VERSIONS = {"android": ["12", "13", "14", "15"], "ios": ["16.7", "17.5", "18.1"]}
# (version, release as a fraction of the window); each release rolls out to ROLLOUT_PER_DAY of the
# devices still on an older one, per day they use the app.
RELEASES = [("3.1.0", 0.0), ("3.2.0", 0.3), ("3.3.0", 0.7)]
ROLLOUT_PER_DAY = 0.25
CRASHY = ("android", "3.2.0")
CRASH_PER_SESSION = {CRASHY: 0.15}
BASE_CRASH_PER_SESSION = 0.01
SCREENS = ["home", "search", "product", "cart", "checkout", "profile", "settings"]
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "zz"]  # "zz" is nulled downstream
PURCHASE_PER_SESSION = 0.04
BAD_KINDS = synthetic.BAD_KINDS


def return_probability(days_since_install: int) -> float:
    """The chance that a device is used on day k after its install: about 40 % on day 1, 13 % on
    day 7, 6 % on day 30."""
    return 0.4 * days_since_install ** -0.55


def _released(day: int, days: int) -> list[str]:
    return [v for v, at in RELEASES if int(at * days) <= day]


class _Emitter:
    def __init__(self, rng: random.Random, now: dt.datetime):
        self.rng, self.now, self.counter, self.events = rng, now, 0, []

    def emit(self, device: dict, ts: dt.datetime, event_type: str, **fields) -> None:
        if ts > self.now:
            return
        self.counter += 1
        event = {"event_id": f"m-{self.counter:09d}", "event_type": event_type, "event_ts": synthetic.iso(ts),
                 "device_id": device["device_id"], "platform": device["platform"],
                 "app_version": device["version"], "os_version": device["os"], "country": device["country"]}
        if device["user_id"]:
            event["user_id"] = device["user_id"]
        event.update({k: v for k, v in fields.items() if v is not None})
        self.events.append(event)


def _session(out: _Emitter, device: dict, start: dt.datetime, first_day: int, days: int, day: int) -> None:
    """One session: an app open, some screens, maybe a purchase, maybe a crash that ends it."""
    rng, ts = out.rng, start
    newer = _released(day, days)[-1]
    if device["version"] != newer and rng.random() < ROLLOUT_PER_DAY:
        device["version"] = newer  # updated just before this session: maybe in the middle of a day
    if first_day:
        out.emit(device, ts, "app_install")
        ts += dt.timedelta(seconds=rng.uniform(1, 5))
    out.emit(device, ts, "app_open")
    crash_p = CRASH_PER_SESSION.get((device["platform"], device["version"]), BASE_CRASH_PER_SESSION)
    for _ in range(rng.choice([1, 1, 2, 3, 4, 6, 8])):
        ts += dt.timedelta(seconds=rng.uniform(2, 90))
        out.emit(device, ts, "screen_view", screen_name=rng.choice(SCREENS))
        if rng.random() < crash_p / 3:
            ts += dt.timedelta(seconds=rng.uniform(0.5, 20))
            out.emit(device, ts, "crash", properties={"exception": "NullPointerException", "screen": "cart"})
            return
    if rng.random() < PURCHASE_PER_SESSION:
        ts += dt.timedelta(seconds=rng.uniform(5, 60))
        out.emit(device, ts, "purchase", order_id=f"mo-{out.counter:09d}",
                 revenue=round(rng.choice([0.99, 1.99, 4.99, 9.99, 19.99]) * rng.choice([1, 1, 2]), 2),
                 currency=rng.choice(["USD", "USD", "EUR"]))
    if rng.random() < 0.05:
        ts += dt.timedelta(seconds=rng.uniform(1, 30))
        out.emit(device, ts, "custom", properties={"action": rng.choice(["share", "rate", "notify_on"])})


def _device_life(out: _Emitter, device: dict, install_day: int, days: int, window_start: dt.datetime) -> None:
    rng = out.rng
    for day in range(install_day, days):
        k = day - install_day
        if k > 0 and rng.random() >= return_probability(k) * device["engagement"]:
            continue
        midnight = window_start + dt.timedelta(days=day)
        starts = sorted(rng.uniform(0, 86400 - 3600) for _ in range(rng.choice([1, 1, 1, 2, 2, 3])))
        for s, second in enumerate(starts):
            _session(out, device, midnight + dt.timedelta(seconds=second), first_day=(k == 0 and s == 0),
                     days=days, day=day)


def _bad(kind: str, good: dict, future: dt.datetime, i: int) -> str:
    return synthetic.bad_message(kind, good, future, i, drop="device_id", wrong_type=("app_version", 3.2),
                                 out_of_domain=("platform", "windows_phone"))


def generate(events: int, seed: int, days: int = 42, bad_share: float = 0.01,
             now: dt.datetime | None = None) -> Iterator[dict | str]:
    """``events`` messages: dicts for good events, raw strings for the deliberately bad ones."""
    rng = random.Random(seed)
    now = synthetic.clock(now)
    window_start = synthetic.first_midnight(now, days)
    future = now + dt.timedelta(days=2)  # more than 24 h ahead (bad input)
    n_good, n_dup, n_bad = synthetic.split(events, bad_share)
    out = _Emitter(rng, now)
    while len(out.events) < n_good:
        platform = rng.choices(list(PLATFORMS), list(PLATFORMS.values()))[0]
        # More installs early in the window, as after a launch, and some every day after.
        install_day = int(rng.expovariate(2.5 / days)) % days
        device = {"device_id": f"dev-{rng.getrandbits(48):012x}", "platform": platform,
                  "os": rng.choice(OS_VERSIONS[platform]), "version": _released(install_day, days)[-1],
                  "country": rng.choice(COUNTRIES), "engagement": rng.uniform(0.5, 1.6),
                  "user_id": f"muser-{rng.getrandbits(32):08x}" if rng.random() < 0.4 else None}
        _device_life(out, device, install_day, days, window_start)
    # Mostly in time order, as devices send them, with some late arrivals (offline phones).
    return iter(synthetic.deliver(rng, out.events[:n_good], n_dup, n_bad,
                                  lambda kind, good, i: _bad(kind, good, future, i)))
