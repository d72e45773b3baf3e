"""Infrastructure metrics: a process sample's row, disk used per table, per topic and by the
workspace, measured on a folder tree of known sizes, and a live sample of this test's process."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import psutil

from products.operational_metrics import infrastructure

NOW = dt.datetime(2026, 11, 2, 14, 0, tzinfo=dt.timezone.utc)


@dataclass
class FakeTable:
    qualified_name: str
    product: str
    path: Path


def write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def test_a_broker_partition_folder_names_its_topic():
    assert infrastructure.topic_of("web.events-2") == "web.events"
    assert infrastructure.topic_of("compliance.consent-10") == "compliance.consent"
    assert infrastructure.topic_of("__cluster_metadata-0") is None  # the broker's own
    assert infrastructure.topic_of("meta.properties") is None


def test_disk_used_per_table_topic_and_workspace(tmp_path):
    events = tmp_path / "lake" / "web" / "silver" / "events"
    write(events / "part-0.parquet", 1000)
    write(events / "event_date=2026-11-02" / "part-1.parquet", 500)
    write(events / "_delta_log" / "00000.json", 24)  # the log counts: it is on disk too
    kafka = tmp_path / "services" / "kafka" / "data"
    write(kafka / "web.events-0" / "0.log", 300)
    write(kafka / "web.events-1" / "0.log", 200)
    write(kafka / "__cluster_metadata-0" / "0.log", 7)
    write(kafka / "meta.properties", 3)
    tables = [FakeTable("web.silver.events", "web", events),
              FakeTable("web.gold.daily", "web", tmp_path / "lake" / "web" / "gold" / "daily")]  # not written yet
    rows = infrastructure.disk_rows(tables, {"web.events": "web"}, kafka, tmp_path, NOW)
    got = {(r["kind"], r["name"]): (r["product"], r["bytes"]) for r in rows if r["kind"] != "disk_free"}
    assert got == {("table", "web.silver.events"): ("web", 1524), ("topic", "web.events"): ("web", 500),
                   ("workspace", str(tmp_path)): (None, 1524 + 500 + 7 + 3)}
    free = [r for r in rows if r["kind"] == "disk_free"]
    assert len(free) == 1 and free[0]["bytes"] > 0 and free[0]["date"] == NOW.date()


def test_a_process_row_from_what_psutil_said():
    facts = {"create_time": NOW.timestamp() - 3600, "cpu_percent": 12.5, "cpu_seconds": 40.0, "rss_bytes": 2048,
             "threads": 9, "open_files": 3, "connections": 2}
    assert infrastructure.process_row("kafka", 42, facts, NOW) == {
        "sampled_at": NOW, "date": NOW.date(), "service": "kafka", "pid": 42,
        "up_since": dt.datetime(2026, 11, 2, 13, 0, tzinfo=dt.timezone.utc), "cpu_percent": 12.5,
        "cpu_seconds": 40.0, "rss_bytes": 2048, "threads": 9, "open_files": 3, "connections": 2}


def test_the_services_of_the_pid_files_are_sampled_and_dead_ones_left_out(tmp_path):
    (tmp_path / "tests.pid").write_text(str(psutil.Process().pid))
    (tmp_path / "gone.pid").write_text("999999999")
    (tmp_path / "garbled.pid").write_text("not a pid")
    services = infrastructure.running_services(tmp_path)
    assert list(services) == ["tests"]
    [row] = infrastructure.sample_processes(services, NOW, interval_s=0.05)
    assert row["service"] == "tests" and row["pid"] == psutil.Process().pid
    assert row["rss_bytes"] > 0 and row["threads"] >= 1 and row["cpu_percent"] >= 0 and row["cpu_seconds"] > 0
