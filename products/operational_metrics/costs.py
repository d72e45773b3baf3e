"""Cost analysis (README "Cost analysis"): what each product and notebook costs per UTC day, from
the runner's run records, the tables' bytes on disk and the broker's uptime, at the rates of the
parameters ``cost.*``. Pure functions on small pandas frames and plain rows.

- compute: CPU seconds of the Spark server during each notebook run (``spark_cpu_s`` of the run
  record; the run's wall time where it was not measured: one core busy) / 3600 x
  ``executor_hour_usd``. Skipped runs cost nothing.
- storage: bytes on disk of the product's tables at the day's latest ``disk_usage`` measurement
  / 10^9 x ``storage_gb_month_usd`` / 30 (one day of a 30-day month).
- broker: the broker's hours up that day (from its ``process_samples``: from the process's start
  to its latest sample, clipped to the day) x ``broker_hour_usd``, shared among the products by
  the records they processed (products that read a topic); with none, it is the ``platform``'s.
- records processed: messages ingested by the product's bronze notebooks (rows they wrote); for
  a product without a bronze notebook, rows written by all its notebooks.
- cost per 1,000 records: total / records processed x 1000 (null without records).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from shared_lib.utc import as_utc

PLATFORM = "platform"
DAY_OF_MONTH = 1 / 30
GB = 1e9
NOTEBOOK_SCHEMA = ("date date, product string, notebook string, runs bigint, notebook_seconds double, "
                   "cpu_seconds double, compute_usd double")
DAILY_SCHEMA = ("date date, product string, runs bigint, notebook_seconds double, cpu_seconds double, "
                "compute_usd double, storage_bytes bigint, storage_usd double, broker_usd double, total_usd double, "
                "records_processed bigint, usd_per_1k_records double")


@dataclass(frozen=True)
class Rates:
    executor_hour_usd: float
    broker_hour_usd: float
    storage_gb_month_usd: float

    @classmethod
    def from_params(cls, cost: dict) -> Rates:
        rates = {k: float(cost[k]) for k in ("executor_hour_usd", "broker_hour_usd", "storage_gb_month_usd")}
        negative = [k for k, v in rates.items() if v < 0]
        if negative:
            raise ValueError(f"operational-metrics.cost.{negative[0]} must be >= 0 (USD), got {rates[negative[0]]}")
        return cls(**rates)


def _executed_on(runs: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    if runs.empty:
        return runs
    started = pd.to_datetime(runs["started_at"], utc=True).dt.date
    return runs[(started == day) & (runs["status"] != "skipped")]


def cpu_seconds(runs: pd.DataFrame) -> pd.Series:
    """Per run: the Spark server's CPU seconds, or its wall time where they were not measured."""
    measured = runs["spark_cpu_s"] if "spark_cpu_s" in runs else pd.Series(float("nan"), index=runs.index)
    return pd.to_numeric(measured, errors="coerce").fillna(pd.to_numeric(runs["duration_s"]).fillna(0.0))


def by_notebook(runs: pd.DataFrame, day: dt.date, rates: Rates) -> list[dict]:
    """``cost_by_notebook`` rows of ``day``: per product x notebook, the runs that executed."""
    executed = _executed_on(runs, day)
    if executed.empty:
        return []
    frame = executed.assign(_cpu=cpu_seconds(executed), _wall=pd.to_numeric(executed["duration_s"]).fillna(0.0))
    out = []
    for (product, notebook), group in frame.groupby(["product", "notebook"], sort=True):
        cpu = float(group["_cpu"].sum())
        out.append({"date": day, "product": product, "notebook": notebook, "runs": len(group),
                    "notebook_seconds": float(group["_wall"].sum()), "cpu_seconds": cpu,
                    "compute_usd": cpu / 3600 * rates.executor_hour_usd})
    return out


def records_processed(runs: pd.DataFrame, day: dt.date, with_bronze: set[str]) -> dict[str, int]:
    """{product: records processed on ``day``}: rows written by its bronze notebooks, or by all
    its notebooks when it declares no bronze notebook (``with_bronze``: those that do)."""
    executed = _executed_on(runs, day)
    out: dict[str, int] = {}
    for product, group in executed.groupby("product"):
        counted = group[group["layer"] == "bronze"] if product in with_bronze else group
        out[product] = int(pd.to_numeric(counted["rows_written"]).fillna(0).sum())
    return out


def storage_bytes(disk: pd.DataFrame, day: dt.date) -> dict[str, int]:
    """{product: bytes of its tables} at the latest measurement taken on ``day``."""
    if disk.empty:
        return {}
    tables = disk[(disk["kind"] == "table") & (pd.to_datetime(disk["sampled_at"], utc=True).dt.date == day)]
    if tables.empty:
        return {}
    latest = tables[tables["sampled_at"] == tables["sampled_at"].max()]
    return {p: int(b) for p, b in latest.groupby("product")["bytes"].sum().items()}


def broker_hours(samples: pd.DataFrame, day: dt.date, service: str = "kafka") -> float:
    """Hours of ``day`` the brokers were known to be up, summed over the brokers of a cluster
    (``kafka``, ``kafka-2``, ...: runners.kafka_cluster): each broker's own spans join as in
    ``_one_broker_hours``."""
    if samples.empty:
        return 0.0
    names = {s for s in samples["service"].unique() if s == service or re.fullmatch(rf"{service}-\d+", s)}
    return sum(_one_broker_hours(samples[samples["service"] == name], day) for name in sorted(names))


def _one_broker_hours(mine: pd.DataFrame, day: dt.date) -> float:
    """Hours of ``day`` one broker was known to be up: per process (pid and start), from its start
    to its latest sample, clipped to the day; overlapping spans (a restart) count once."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)
    end = start + dt.timedelta(days=1)
    spans = []
    for _, group in mine.groupby(["pid", "up_since"]):
        lo = max(as_utc(group["up_since"].iloc[0]), start)
        hi = min(as_utc(group["sampled_at"].max()), end)
        if hi > lo:
            spans.append((lo, hi))
    hours, reach = 0.0, start
    for lo, hi in sorted(spans):
        lo = max(lo, reach)
        if hi > lo:
            hours += (hi - lo).total_seconds() / 3600
            reach = hi
    return hours


def broker_shares(broker_usd: float, records: dict[str, int], with_bronze: set[str]) -> dict[str, float]:
    """The day's broker cost shared by the records that products reading a topic (``with_bronze``)
    processed; all of it the platform's without any."""
    records = {p: n for p, n in records.items() if p in with_bronze}
    total = sum(records.values())
    if broker_usd == 0:
        return {}
    if total == 0:
        return {PLATFORM: broker_usd}
    return {p: broker_usd * n / total for p, n in records.items() if n > 0}


def daily(notebooks: list[dict], records: dict[str, int], storage: dict[str, int], broker: dict[str, float],
          day: dt.date, rates: Rates) -> list[dict]:
    """``cost_daily`` rows of ``day`` from its ``by_notebook`` rows, ``records_processed``,
    ``storage_bytes`` and ``broker_shares``: one per product with any of them."""
    rows = []
    for product in sorted({n["product"] for n in notebooks} | set(records) | set(storage) | set(broker)):
        mine = [n for n in notebooks if n["product"] == product]
        compute = sum(n["compute_usd"] for n in mine)
        size = storage.get(product, 0)
        storage_usd = size / GB * rates.storage_gb_month_usd * DAY_OF_MONTH
        total = compute + storage_usd + broker.get(product, 0.0)
        n_records = records.get(product, 0)
        rows.append({"date": day, "product": product, "runs": sum(n["runs"] for n in mine),
                     "notebook_seconds": sum(n["notebook_seconds"] for n in mine),
                     "cpu_seconds": sum(n["cpu_seconds"] for n in mine), "compute_usd": compute,
                     "storage_bytes": size, "storage_usd": storage_usd, "broker_usd": broker.get(product, 0.0),
                     "total_usd": total, "records_processed": n_records,
                     "usd_per_1k_records": total / n_records * 1000 if n_records else None})
    return rows


def for_day(runs: pd.DataFrame, disk: pd.DataFrame, samples: pd.DataFrame, day: dt.date, rates: Rates,
            with_bronze: set[str]) -> tuple[list[dict], list[dict]]:
    """(``cost_by_notebook`` rows, ``cost_daily`` rows) of ``day``."""
    notebooks = by_notebook(runs, day, rates)
    records = records_processed(runs, day, with_bronze)
    broker = broker_shares(broker_hours(samples, day) * rates.broker_hour_usd, records, with_bronze)
    return notebooks, daily(notebooks, records, storage_bytes(disk, day), broker, day, rates)
