"""Figures and the report: ``figure`` is what a benchmark returns, ``to_markdown`` and
``write_reports`` make ``reports/bench/bench.json`` and ``bench.md`` of a run's results."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

import psutil

from shared_lib import paths


def figure(name: str, value: float, unit: str, at_most: float | None = None,
           at_least: float | None = None, notes: str = "", samples: list[float] | None = None) -> dict:
    """One measured figure; ``met`` is None for a figure without a target."""
    if at_most is not None:
        target, met = f"<= {at_most:g} {unit}", value <= at_most
    elif at_least is not None:
        target, met = f">= {at_least:g} {unit}", value >= at_least
    else:
        target, met = None, None
    result = {"name": name, "value": round(value, 3), "unit": unit, "target": target, "met": met,
              "notes": notes}
    if samples is not None:
        result["samples"] = [round(s, 3) for s in samples]
    return result


def spread(seconds: list[float]) -> str:
    return f"min {min(seconds):.2f} s, max {max(seconds):.2f} s over {len(seconds)} run(s)"


def notebook_figures(records: list[dict], label: str) -> list[dict]:
    """One figure per notebook run record of ``dp run``: its duration, with the rows it wrote."""
    return [figure(f"{r['notebook']} notebook ({label})", r["duration_s"], "s",
                   notes=f"{r['rows_written']} rows written" if r.get("rows_written") is not None else "")
            for r in records]


def server_rss_figure(name: str, peak_bytes: int) -> dict:
    return figure(name, peak_bytes / 2**20, "MiB", notes="Spark Connect server process and children, sampled every 0.2 s")


def load() -> float:
    return round(os.getloadavg()[0], 2)


def machine_info() -> dict:
    import pyspark

    from runners import jars

    memory = psutil.virtual_memory()
    return {"timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "memory_gib": round(memory.total / 2**30, 1),
            "memory_available_gib": round(memory.available / 2**30, 1),
            "load_avg_1m": load(), "python": platform.python_version(),
            "java": jars.java_major(), "pyspark": pyspark.__version__, "delta_jar": jars.DELTA[2]}


def missed(results: list[dict]) -> list[str]:
    return [f["name"] for r in results for f in r["figures"] if f["met"] is False]


def crashed(results: list[dict]) -> list[str]:
    return [r["benchmark"] for r in results if r["error"]]


def to_markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# dp bench ({'quick' if report['quick'] else 'full'})", "",
             f"{m['timestamp']} · {m['cpu_count']} CPUs, {m['memory_gib']} GiB "
             f"({m['memory_available_gib']} GiB free), load {m['load_avg_1m']} at start, "
             f"{report['load_avg_1m_end']} at end · Python {m['python']}, "
             f"Java {m['java']}, Spark {m['pyspark']}, Delta {m['delta_jar']} · {m['platform']}"
             + (f" · Spark {report['spark']}" if report.get("spark") else ""), "",
             "| benchmark | figure | value | target | met | notes |", "|---|---|---:|---|---|---|"]
    for result in report["results"]:
        if result["error"]:
            first_line = result["error"].splitlines()[0][:300]  # the JSON keeps all of it
            lines.append(f"| {result['benchmark']} | **crashed** | | | | {first_line} |")
        for f in result["figures"]:
            met = {True: "yes", False: "**no**", None: "–"}[f["met"]]
            lines.append(f"| {result['benchmark']} | {f['name']} | {f['value']:,.2f} {f['unit']} | "
                         f"{f['target'] or '–'} | {met} | {f['notes']} |")
    misses, broken = missed(report["results"]), crashed(report["results"])
    lines.append("")
    if misses:
        lines.append(f"Targets missed: {', '.join(misses)}.")
    if broken:
        lines.append(f"Could not measure: {', '.join(broken)}.")
    if not misses and not broken:
        lines.append("All targets met.")
    return "\n".join(lines) + "\n"


def write_reports(report: dict) -> Path:
    out = paths.reports_dir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2))
    (out / "bench.md").write_text(to_markdown(report))
    return out
