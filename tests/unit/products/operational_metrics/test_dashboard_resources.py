"""The incidents, cost and infrastructure sections of the operational-metrics dashboard: their
numbers by hand, and each section built from small frames (and its empty state)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from products.operational_metrics import current
from products.operational_metrics import dashboard_resources as resources

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
T = pd.Timestamp("2026-11-02 12:00", tz="UTC")


def cost(day, product, compute, storage, broker, records):
    return {"date": day, "product": product, "compute_usd": compute, "storage_usd": storage, "broker_usd": broker,
            "total_usd": compute + storage + broker, "records_processed": records,
            "usd_per_1k_records": (compute + storage + broker) / records * 1000 if records else None}


COSTS = pd.DataFrame([cost(D1, "web", 1.0, 0.5, 0.5, 1000), cost(D2, "web", 0.75, 0.25, 1.0, 2000),
                      cost(D2, "segments", 0.5, 0.5, 0.0, 0), cost(D2, "platform", 0.0, 0.0, 2.0, 0)])


def test_cost_days_sum_every_product_and_divide_the_sums():
    latest, before, last_day, day_before = resources.cost_days(COSTS)
    assert (last_day, day_before) == (D2, D1)
    # D2: compute 1.25, storage 0.75, broker 3.0, total 5.0 over 2000 records -> $2.50 per 1,000
    assert latest == {"total_usd": 5.0, "compute_usd": 1.25, "storage_usd": 0.75, "broker_usd": 3.0,
                      "usd_per_1k_records": 2.5}
    assert before == {"total_usd": 2.0, "compute_usd": 1.0, "storage_usd": 0.5, "broker_usd": 0.5,
                      "usd_per_1k_records": 2.0}
    assert resources.cost_days(COSTS.iloc[0:0]) == ({}, {}, None, None)


def test_disk_summary_keeps_the_largest_tables_first():
    disk = pd.DataFrame([{"kind": "table", "name": f"t{i}", "product": "p", "bytes": i} for i in range(12)]
                        + [{"kind": "workspace", "name": "/ws", "product": None, "bytes": 5000},
                           {"kind": "disk_free", "name": "/ws", "product": None, "bytes": 9000},
                           {"kind": "topic", "name": "web.events", "product": "web", "bytes": 70}])
    got = resources.disk_summary(disk)
    assert (got["workspace"], got["free"]) == (5000, 9000)
    assert got["tables"]["name"].tolist() == [f"t{i}" for i in range(11, 1, -1)]  # the 10 largest
    assert got["topics"]["name"].tolist() == ["web.events"]


def frames(**extra) -> current.Current:
    empty = pd.DataFrame()
    return current.Current(status=empty, evaluations=empty, freshness=empty, lag=empty, runs=empty,
                           alert_log=extra.pop("alert_log", pd.DataFrame()), **extra)


def html_of(widget) -> str:
    """Every HTML string in a widget tree."""
    own = getattr(widget, "value", "")
    return (own if isinstance(own, str) else "") + "".join(html_of(c) for c in getattr(widget, "children", ()))


def test_sections_show_their_values_and_an_empty_state_without_data():
    log = pd.DataFrame([{"at": T, "alert_id": "a", "event": "fired", "rule": "r", "product": "web",
                         "severity": "warning", "message": "m"}])
    acks = pd.DataFrame([{"alert_id": "a", "acknowledged_at": T + pd.Timedelta(minutes=6), "acknowledged_by": "ann"}])
    incidents_html = html_of(resources.incidents_section(frames(alert_log=log, acks=acks)))
    assert "data-state='acknowledged'" in incidents_html and "<td class='dp-text'>ann</td>" in incidents_html
    assert "<td>6.00</td>" in incidents_html  # minutes to acknowledge
    processes = pd.DataFrame([{"service": "kafka", "pid": 7, "up_since": T, "cpu_percent": 3.5,
                               "rss_bytes": 1_500_000_000, "threads": 80, "open_files": 12, "connections": 4}])
    disk = pd.DataFrame([{"kind": "workspace", "name": "/ws", "product": None, "bytes": 2_500_000_000},
                         {"kind": "disk_free", "name": "/ws", "product": None, "bytes": 40_000_000_000}])
    infra_html = html_of(resources.infrastructure_section(frames(processes=processes, disk=disk)))
    assert "<td>1.5 GB</td>" in infra_html and "<b>2.5 GB</b> on disk, <b>40.0 GB</b> free" in infra_html
    costs_html = html_of(resources.costs_section(frames(costs=COSTS, notebook_costs=pd.DataFrame())))
    assert "data-kpi='total_usd'" in costs_html and "$5.0000" in costs_html and "$2.5000" in costs_html
    for section, title in ((resources.incidents_section, "No alert has fired yet"),
                           (resources.costs_section, "No cost computed yet"),
                           (resources.infrastructure_section, "Nothing measured yet")):
        assert title in html_of(section(frames()))
