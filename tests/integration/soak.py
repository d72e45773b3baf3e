"""What the soak test measures: open files, threads and RSS of a process and its children, and the
growth of each figure over the second half of the soak (the first half is the warm-up: JIT,
caches, pools filling)."""
from __future__ import annotations

import statistics

import psutil

FIGURES = ("rss_mb", "threads", "open_files", "children")


def sample(proc: psutil.Process) -> dict[str, float]:
    """``proc`` and its live descendants (a scheduler's kernels, Voila's kernels) summed: RSS in MB,
    threads, open file descriptors, and how many descendants there are."""
    procs = [proc] + proc.children(recursive=True)
    totals = {name: 0.0 for name in FIGURES}
    for p in procs:
        try:
            with p.oneshot():
                totals["rss_mb"] += p.memory_info().rss / 2**20
                totals["threads"] += p.num_threads()
                totals["open_files"] += p.num_fds()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue  # a Voila kernel that ended meanwhile
    totals["children"] = len(procs) - 1
    return {k: round(v, 1) for k, v in totals.items()}


def second_half_growth(samples: list[dict[str, float]]) -> dict[str, float]:
    """Per figure: the median of the last three samples minus the median of the three around the
    middle. A leak grows steadily and shows here; a warm-up's one-off growth does not."""
    mid = len(samples) // 2
    middle, last = samples[max(0, mid - 1):mid + 2], samples[-3:]
    return {name: round(statistics.median(s[name] for s in last) - statistics.median(s[name] for s in middle), 1)
            for name in FIGURES}


def within(growth: dict[str, float], start: dict[str, float], bounds: dict[str, tuple[float, float]]) -> list[str]:
    """The figures whose growth exceeds its bound: (absolute allowance, share of the start value)."""
    return [f"{name}: +{growth[name]} (start {start[name]}, bound +{absolute} + {share:.0%})"
            for name, (absolute, share) in bounds.items() if growth[name] > absolute + share * start[name]]
