"""Soak (issue 19 item 6): `dp schedule` runs web-user-analytics' DAG for DP_SOAK_CYCLES cycles
(default 50) of a small new batch each, while `dp serve` answers API, gateway, exporter and
dashboard requests; after each cycle every process (the scheduler with its kernels, Kafka, Spark,
each server with its children) is sampled, and the counts must balance. Over the second half no
figure may grow beyond its bound. Slow (about a minute per cycle): `make test-slow`."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from products.web_user_analytics import generator
from runners import generate, schedule, serve, services
from shared_lib import kafka as kafka_lib
from shared_lib import paths
from shared_lib.api.keys import KeyStore
from tests.integration import soak
from tests.integration.pipeline import assert_accounting_balances, table

CYCLES = int(os.environ.get("DP_SOAK_CYCLES", "50"))
BATCH = 200  # events per cycle
IDLE_THREADS_S = 11  # tokio's blocking threads end 10 s after their last work
CYCLE_TIMEOUT_S = 1200  # a cycle takes 1-3 min on 2 idle cores, 15 min under a load of 30
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.after_pipelines,
              pytest.mark.timeout(CYCLES * CYCLE_TIMEOUT_S + 600)]
# Growth allowed over the second half: (absolute, share of the value at the middle).
BOUNDS = {"rss_mb": (64.0, 0.10), "threads": (10.0, 0.10), "open_files": (20.0, 0.10), "children": (2.0, 0.0)}
SCHEDULE = ["-p", "platform.schedules.all-hourly.every_minutes=1",
            "-p", "platform.schedules.all-hourly.products=[web-user-analytics]"]


def _get(url: str, key: str | None = None, timeout: float = 60) -> int:
    request = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class Traffic(threading.Thread):
    """Requests to every server of `dp serve` meanwhile: one a second (web API, gateway, exporter),
    a dashboard page every 5 minutes; counts the answers by status (or error name)."""

    def __init__(self, params: dict, key: str):
        super().__init__(daemon=True)
        api = serve.base_url(params, serve.APIS)
        self.urls = [f"{api}/kpis/daily", f"{api}/pages", f"{serve.base_url(params, serve.GATEWAY)}/health",
                     f"{serve.base_url(params, serve.METRICS)}/metrics"]
        self.dashboard = next(u for u in serve.dashboard_addresses(params) if "web" in u)
        self.key, self.statuses, self.stop = key, {}, threading.Event()

    def run(self):
        i = 0
        while not self.stop.wait(1.0):
            url = self.dashboard if i % 300 == 0 else self.urls[i % len(self.urls)]
            try:
                status = _get(url, self.key)
            except OSError as exc:
                status = type(exc).__name__
            self.statuses[status] = self.statuses.get(status, 0) + 1
            i += 1


@pytest.fixture
def served(params):
    for server in serve.SERVERS:
        serve.start(params, server, progress=lambda _: None)
    try:
        yield
    finally:
        serve.stop()


def _lines(stream, out: queue.Queue, log: Path):
    with log.open("a") as keep:
        for line in stream:
            keep.write(line)
            keep.flush()
            out.put(line)


def _wait_cycle_end(lines: queue.Queue, scheduler: subprocess.Popen) -> list[str]:
    """The scheduler's lines up to its 'next check' line (the cycle's run has ended), once the
    scheduler is idle: delta-rs's runtime keeps a file-reading thread for 10 s after its last use
    (a pool, up to dozens of threads right after a run), so the sample waits that long when the
    schedule leaves the time."""
    seen, deadline = [], time.monotonic() + CYCLE_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=5)
        except queue.Empty:
            assert scheduler.poll() is None, f"dp schedule exited ({scheduler.returncode}): {seen[-5:]}"
            continue
        seen.append(line)
        if "schedule: next check in" in line:
            wait_s = float(line.rsplit("next check in", 1)[1].split()[0]) * 60
            time.sleep(max(0.0, min(IDLE_THREADS_S, wait_s - 2)))
            return seen
    raise AssertionError(f"no cycle end within {CYCLE_TIMEOUT_S} s: {seen[-5:]}")


def _produce(params: dict, cycle: int) -> int:
    # Ids of the cycle's own: else every batch after the first would be all duplicates.
    events = generate.with_fresh_ids(generator.generate(BATCH, seed=9000 + cycle, days=2), f"c{cycle}-")
    return kafka_lib.produce(params, params["web-user-analytics"]["topic"],
                             kafka_lib.encode_events(events, generator.KEY_FIELD))


def test_fifty_scheduled_cycles_leak_nothing_and_every_cycle_balances(params, served):
    key, _ = KeyStore().create("viewer", name="soak")
    # Only the hourly DAG cycles: the daily retention and maintenance are not due during the soak.
    schedule.write_state({"retention-daily": time.time(), "maintenance-daily": time.time()})
    out = paths.workspace() / "soak"
    out.mkdir(exist_ok=True)
    produced = _produce(params, 0)
    lines: queue.Queue = queue.Queue()
    scheduler = subprocess.Popen([sys.executable, "-m", "runners.cli", "schedule", *SCHEDULE], cwd=paths.PROJECT_ROOT,
                                 stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    threading.Thread(target=_lines, args=(scheduler.stderr, lines, out / "schedule.log"), daemon=True).start()
    traffic = Traffic(params, key)
    traffic.start()
    samples: dict[str, list[dict]] = {}
    try:
        for cycle in range(CYCLES):
            cycle_lines = _wait_cycle_end(lines, scheduler)
            scheduler.send_signal(signal.SIGSTOP)  # between cycles: sample and check a still lake
            ends = [line for line in cycle_lines if " succeeded, " in line and " failed" in line]
            assert ends and " 0 failed" in ends[-1], f"cycle {cycle}: {ends or cycle_lines[-5:]}"
            assert len(table("web-user-analytics", "events_raw")) == produced, f"cycle {cycle}"
            assert_accounting_balances("web-user-analytics")
            procs = {"scheduler": scheduler.pid, **{name: services.our_process(name).pid for name in
                                                     ("kafka", "spark", *(s.name for s in serve.SERVERS))}}
            for name, pid in procs.items():
                samples.setdefault(name, []).append(soak.sample(psutil.Process(pid)))
            (out / "samples.json").write_text(json.dumps(samples))
            print(f"cycle {cycle}: " + "; ".join(f"{n} {s[-1]}" for n, s in samples.items()), flush=True)
            produced += _produce(params, cycle + 1)
            scheduler.send_signal(signal.SIGCONT)
    finally:
        traffic.stop.set()
        scheduler.send_signal(signal.SIGCONT)
        scheduler.terminate()
        scheduler.wait(timeout=60)
    growth = {name: soak.second_half_growth(s) for name, s in samples.items()}
    middle = {name: s[len(s) // 2] for name, s in samples.items()}
    print("growth over the second half:", json.dumps(growth), "\nrequests by status:", traffic.statuses, flush=True)
    # Every request answered, none with a server error (a /kpis/daily before the first gold is a 404).
    assert traffic.statuses and all(isinstance(s, int) and s < 500 for s in traffic.statuses), traffic.statuses
    assert {name: soak.within(growth[name], middle[name], BOUNDS) for name in growth} == {n: [] for n in growth}
