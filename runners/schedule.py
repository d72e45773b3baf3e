"""``dp schedule``: runs the DAG (or parts of it) on fixed intervals, as configured in the
parameters' ``platform.schedules``. The last start of each schedule is kept in the workspace, so
a restarted scheduler neither runs everything at once again nor forgets what is due.

``dp schedule -p FILE.KEY=VALUE`` overrides parameters as ``dp run -p`` does, the schedules'
included (``-p platform.schedules.all-hourly.every_minutes=1``); the overrides reach every run.
``dp schedule --once`` runs what is due and exits, for a system cron or CI; without it the
scheduler keeps running until interrupted. Each run takes the workspace's run lock like
``dp run``: while another run holds it, the cycle waits for it (``runners.runlock``).
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from shared_lib import params as params_lib
from shared_lib import paths

logger = logging.getLogger(__name__)


def state_file() -> Path:
    return paths.pids_dir() / "schedules.json"


def read_state() -> dict[str, float]:
    try:
        return json.loads(state_file().read_text())
    except (FileNotFoundError, ValueError):
        return {}


def write_state(state: dict[str, float]) -> None:
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps(state, indent=2))


def due(schedules: dict, last_started: dict[str, float], now: float) -> list[str]:
    """Names of the schedules whose interval has passed since their last start (never started:
    due), in name order."""
    return sorted(name for name, spec in schedules.items()
                  if now - last_started.get(name, float("-inf")) >= spec["every_minutes"] * 60)


def seconds_until_next(schedules: dict, last_started: dict[str, float], now: float) -> float:
    waits = [last_started.get(n, now) + s["every_minutes"] * 60 - now for n, s in schedules.items()]
    return max(0.0, min(waits)) if waits else 60.0


def run_due(env: str | None, log=logger.info, now: float | None = None, overrides=()) -> list[tuple[str, bool]]:
    from runners import run

    params = params_lib.load(env, overrides)
    schedules = params["platform"]["schedules"]
    state = read_state()
    now = time.time() if now is None else now
    results = []
    for name in due(schedules, state, now):
        spec = schedules[name]
        log(f"schedule {name}: starting (every {spec['every_minutes']} min)")
        state[name] = now
        write_state(state)  # before the run: a crashed run is not retried in a tight loop
        summary = run.run(products=spec["products"] or None, layer=spec["layer"] or None,
                          notebook=spec["notebook"] or None, env=env, overrides=overrides, log=log,
                          wait=True)  # beside a dp run, the cycle waits for it
        results.append((name, summary.ok))
    return results


def loop(env: str | None, log=logger.info, overrides=()) -> None:
    while True:
        run_due(env, log, overrides=overrides)
        params = params_lib.load(env, overrides)
        wait = seconds_until_next(params["platform"]["schedules"], read_state(), time.time())
        log(f"schedule: next check in {wait / 60:.1f} min")
        time.sleep(max(5.0, wait))
