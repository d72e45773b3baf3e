"""API latency: the web-user-analytics API on gold, served as `dp serve` serves the product APIs
(``runners.apis``, its request logs going to the bench's Kafka), under 50 concurrent clients."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import psutil

from runners import apis
from runners.bench import load
from runners.bench.report import figure
from runners.bench.servers import cpu_s, stop, wait_until_answers
from runners.bench.workspace import Setup
from shared_lib import lake, paths, products

CLIENTS = 50
# Each client's pause between an answer and its next request, as a load test's users have: the
# latency targets are for a served load, not for a queue of clients that never pause (measured
# too: the throughput at saturation, where latency is clients / throughput whatever the server).
THINK_S = 0.5
TARGET_P95_MS, TARGET_P99_MS = 50.0, 150.0
PRODUCT = "web-user-analytics"
DAYS = 365
CHANNELS = ("paid", "email", "social", "organic", "direct", "referral")
COUNTRIES = ("DE", "FR", "US", "GB", "ES", "IT", "NL", "PL", "SE", "BR")
PAGES = 40


def _kpis(day: dt.date, i: int) -> dict:
    sessions = 100 + i % 50
    return {"date": day, "visitors": sessions - 10, "users": sessions // 3, "sessions": sessions,
            "page_views": 3 * sessions, "engaged_sessions": sessions // 2, "engagement_rate": 0.5, "bounce_rate": 0.5,
            "avg_session_duration_s": 60.0, "pages_per_session": 3.0, "purchases": sessions // 10,
            "revenue": 10.0 * sessions, "conversion_rate": 0.1, "bot_events": 5}


def _synthetic_gold(last: dt.date) -> dict[str, list[dict]]:
    """A year of web gold: daily KPIs (overall, by channel, by country), page metrics and funnel."""
    days = [last - dt.timedelta(days=n) for n in range(DAYS)]
    steps = ("home", "product", "cart", "checkout", "purchase")
    return {
        "daily_kpis": [_kpis(d, i) for i, d in enumerate(days)],
        "daily_kpis_by_channel": [{**_kpis(d, i), "channel": c} for i, d in enumerate(days) for c in CHANNELS],
        "daily_kpis_by_country": [{**_kpis(d, i), "country": c} for i, d in enumerate(days) for c in COUNTRIES],
        "page_metrics": [{"date": d, "page_path": f"/page/{p}", "page_views": 100 - p, "unique_visitors": 50,
                          "entrances": 10, "exits": 5, "exit_rate": 0.05, "load_ms_p50": 300.0, "load_ms_p95": 900.0}
                         for d in days for p in range(PAGES)],
        "funnel": [{"date": d, "step": s, "step_name": name, "sessions_reached": 1000 // s,
                    "conversion_from_start": 1 / s, "step_conversion": None if s == 1 else (s - 1) / s}
                   for d in days for s, name in enumerate(steps, 1)],
    }


def write_gold(last: dt.date) -> int:
    """The synthetic web gold tables the web bronze -> gold benchmark did not leave; rows written."""
    import pyarrow as pa

    from runners.runlog import arrow_schema

    written = 0
    for name, rows in _synthetic_gold(last).items():
        table = products.get(PRODUCT).table(name)
        if lake.exists(table):
            continue
        data = pa.Table.from_pylist([{c.name: r.get(c.name) for c in table.columns} for r in rows],
                                    schema=arrow_schema(table))
        lake.write(table, data, mode="overwrite", partition_by=list(table.partitioned_by) or None)
        written += len(rows)
    return written


def queries(last: dt.date) -> list[str]:
    """Gold queries a dashboard or a program would make: a month of KPIs, by channel and by
    country for a week, the day's top pages, a month's funnel."""
    month, week = (last - dt.timedelta(days=29)).isoformat(), (last - dt.timedelta(days=6)).isoformat()
    end = last.isoformat()
    return [f"/kpis/daily?start={month}&end={end}", f"/kpis/daily/by-channel?start={month}&end={end}&channel=paid",
            f"/kpis/daily/by-country?start={week}&end={end}", f"/pages?start={end}&end={end}&limit=20",
            f"/funnel?start={month}&end={end}"]


def bench(setup: Setup) -> list[dict]:
    from shared_lib.api.keys import KeyStore

    last = dt.datetime.now(dt.timezone.utc).date()
    rows = write_gold(last)
    if rows:
        setup.log(f"  wrote {rows:,} rows of synthetic web gold ({DAYS} days)")
    key, _ = KeyStore().create("analyst", f"bench-{os.getpid()}-{time.time_ns()}")
    host, first = "127.0.0.1", apis.free_first_port()
    base = f"http://{host}:{first}"
    env = {**os.environ, "PYTHONPATH": str(paths.PROJECT_ROOT)}
    setup.log(f"  starting the product APIs on {host}:{first}..{first + 4} (as dp serve does) ...")
    proc = subprocess.Popen([sys.executable, "-m", "runners.apis", f"--host={host}", f"--port={first}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_answers(f"{base}/health", proc, "the product APIs")
        urls = [base + q for q in queries(last)]
        headers = {"X-API-Key": key}
        load.run(urls, headers, clients=CLIENTS, total=10 * len(urls))  # fills each query's cache
        total = setup.sizes.api_requests
        setup.log(f"  {total:,} requests from {CLIENTS} concurrent clients over {len(urls)} gold queries ...")
        server, client = psutil.Process(proc.pid), psutil.Process()
        cpu_before = cpu_s(server), cpu_s(client)
        result = load.run(urls, headers, clients=CLIENTS, total=total, think_s=THINK_S)
        server_ms, client_ms = ((cpu_s(p) - before) * 1000 / total for p, before in zip((server, client), cpu_before))
        setup.log(f"  then {total // 2:,} requests from {CLIENTS} clients without pause (the server's capacity) ...")
        saturated = load.run(urls, headers, clients=CLIENTS, total=total // 2)
    finally:
        stop(proc, timeout_s=30)
    notes = (f"{CLIENTS} concurrent clients (each its own httpx client, on the same machine), each sending its next request "
             f"{THINK_S:g} s after its answer, on {len(urls)} gold queries of the web API, direct (no gateway); "
             f"{result.requests:,} requests at {result.per_second:.0f} per second")
    saturated_notes = (f"{CLIENTS} clients without pause: {saturated.requests:,} requests; latency then is queueing "
                       f"(clients / throughput); p95 {saturated.percentile(95):.0f} ms, p99 "
                       f"{saturated.percentile(99):.0f} ms; {saturated.errors} without a 2xx")
    return [
        figure("API latency p50, direct", result.percentile(50), "ms", notes=notes),
        figure("API latency p95, direct", result.percentile(95), "ms", at_most=TARGET_P95_MS, notes=notes),
        figure("API latency p99, direct", result.percentile(99), "ms", at_most=TARGET_P99_MS, notes=notes),
        figure("API throughput at saturation, direct", saturated.per_second, "requests/s", notes=saturated_notes),
        figure("API server CPU per request", server_ms, "ms",
               notes=f"CPU time of the APIs' process over the measured requests (the load generator's own: "
                     f"{client_ms:.2f} ms per request, on the same cores); load average {os.getloadavg()[0]:.1f} "
                     f"on {os.cpu_count()} CPUs at the end"),
        figure("API requests without a 2xx answer", result.errors + saturated.errors, "requests", at_most=0,
               notes=f"answers by status (0: connection lost): {dict(sorted(result.statuses.items()))}, then "
                     f"{dict(sorted(saturated.statuses.items()))}"),
    ]
