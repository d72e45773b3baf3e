"""Infrastructure metrics, taken at every health check:

- ``process_samples``: each service process of the workspace that runs now (every pid file that
  ``dp up`` and ``dp serve`` leave in the workspace: Kafka, Spark, dashboards, exporter, APIs):
  CPU % over a short interval, CPU seconds since it started, resident memory, threads, open
  files and internet connections (psutil);
- ``disk_usage``: bytes on disk of each declared table (every file under it: data, Delta log,
  old versions), of each Kafka topic (its partition logs in the broker's data folder), of the
  whole workspace, and the free space of the workspace's file system.

Sampling and walking the disk are I/O; the rows are built by pure functions.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path
from typing import Iterable

import psutil

from shared_lib import storage

PROCESS_SCHEMA = ("sampled_at timestamp, date date, service string, pid int, up_since timestamp, cpu_percent double, "
                  "cpu_seconds double, rss_bytes bigint, threads int, open_files int, connections int")
DISK_SCHEMA = "sampled_at timestamp, date date, kind string, name string, product string, bytes bigint"


# --- pure row builders ---------------------------------------------------------------------

def process_row(service: str, pid: int, facts: dict, now: dt.datetime) -> dict:
    """One ``process_samples`` row from what psutil said about a process (``facts``: create_time
    as epoch seconds, cpu_percent, cpu_seconds, rss_bytes, threads, open_files, connections)."""
    return {"sampled_at": now, "date": now.date(), "service": service, "pid": pid,
            "up_since": dt.datetime.fromtimestamp(facts["create_time"], tz=dt.timezone.utc),
            **{k: facts.get(k) for k in ("cpu_percent", "cpu_seconds", "rss_bytes", "threads", "open_files",
                                          "connections")}}


def disk_row(kind: str, name: str, product: str | None, size: int, now: dt.datetime) -> dict:
    return {"sampled_at": now, "date": now.date(), "kind": kind, "name": name, "product": product, "bytes": int(size)}


def topic_of(partition_folder: str) -> str | None:
    """The topic of a broker partition folder (``web.events-2`` -> ``web.events``); None for the
    broker's own folders and files."""
    topic, _, number = partition_folder.rpartition("-")
    return topic if topic and number.isdigit() and not topic.startswith("__") else None


# --- reads of the machine ------------------------------------------------------------------

def folder_bytes(path: Path) -> int:
    """Bytes of every file under ``path`` (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:  # removed while walking (a Delta checkpoint being replaced)
                pass
    return total


def topic_bytes(kafka_data: Path) -> dict[str, int]:
    """{topic: bytes of its partition logs} in the broker's data folder."""
    sizes: dict[str, int] = {}
    if not kafka_data.is_dir():
        return sizes
    for folder in kafka_data.iterdir():
        topic = topic_of(folder.name) if folder.is_dir() else None
        if topic:
            sizes[topic] = sizes.get(topic, 0) + folder_bytes(folder)
    return sizes


def running_services(pids_dir: Path) -> dict[str, psutil.Process]:
    """{service: its live process} for every pid file of the workspace."""
    found = {}
    for pid_file in sorted(pids_dir.glob("*.pid")):
        try:
            proc = psutil.Process(int(pid_file.read_text().strip()))
            if proc.status() != psutil.STATUS_ZOMBIE:
                found[pid_file.stem] = proc
        except (ValueError, OSError, psutil.Error):
            continue
    return found


def _facts(proc: psutil.Process) -> dict | None:
    try:
        with proc.oneshot():
            times, memory = proc.cpu_times(), proc.memory_info()
            return {"create_time": proc.create_time(), "cpu_seconds": times.user + times.system,
                    "rss_bytes": memory.rss, "threads": proc.num_threads(), "open_files": len(proc.open_files()),
                    "connections": len(proc.net_connections(kind="inet"))}
    except psutil.Error:  # ended, or not ours to inspect
        return None


def sample_processes(services: dict[str, psutil.Process], now: dt.datetime, interval_s: float) -> list[dict]:
    """One ``process_samples`` row per process still alive; CPU % over ``interval_s`` seconds,
    measured for all of them at once."""
    for proc in services.values():
        try:
            proc.cpu_percent(None)  # starts the interval
        except psutil.Error:
            pass
    time.sleep(interval_s)
    rows = []
    for name, proc in services.items():
        facts = _facts(proc)
        if facts is None:
            continue
        try:
            facts["cpu_percent"] = proc.cpu_percent(None)
        except psutil.Error:
            facts["cpu_percent"] = None
        rows.append(process_row(name, proc.pid, facts, now))
    return rows


def disk_rows(tables: Iterable, topics: dict[str, str], kafka_data: Path, workspace: Path,
              now: dt.datetime) -> list[dict]:
    """``disk_usage`` rows: each declared table that exists on disk, each topic of ``topics``
    ({topic: product}) with a log, the workspace and its file system's free space."""
    # A lake on S3 has no folders to measure here: only the workspace's own disk is reported.
    local = [] if storage.current().on_s3 else list(tables)
    rows = [disk_row("table", t.qualified_name, t.product, folder_bytes(t.path), now)
            for t in local if t.path.exists()]
    rows += [disk_row("topic", topic, topics.get(topic), size, now)
             for topic, size in sorted(topic_bytes(kafka_data).items())]
    rows.append(disk_row("workspace", str(workspace), None, folder_bytes(workspace), now))
    rows.append(disk_row("disk_free", str(workspace), None, shutil.disk_usage(workspace).free, now))
    return rows
