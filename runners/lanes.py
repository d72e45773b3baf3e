"""Notebooks side by side (``platform.runner.parallel``): up to ``width`` at a time, each started
once every node it waits for has ended, ready nodes in DAG order. What a node's end does (its
status, its run record) happens in the calling thread, one node at a time, before any node that
waits for it starts.

On an error or Ctrl-C in the calling thread, ``interrupt`` stops the running notebooks; their
ends are still handed to ``ended`` (each is then a failed notebook), then the error goes on.
"""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable


def run(order: list[str], waits_for: dict[str, set[str]], width: int, start: Callable[[str], dict],
        ended: Callable[[str, dict], None], interrupt: Callable[[], None]) -> None:
    """``start(node)`` for every node of ``order`` in worker threads, ``ended(node, its result)``
    here as each one ends."""
    pending, done = list(order), set[str]()
    running: dict[Future, str] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, width), thread_name_prefix="dp-lane")
    try:
        while pending or running:
            ready = [n for n in pending if waits_for.get(n, set()) <= done]
            for node in ready[:max(0, width - len(running))]:
                pending.remove(node)
                running[pool.submit(start, node)] = node
            if not running:  # nothing can start: a node waits for one not in ``order``
                raise ValueError(f"{', '.join(pending)} wait for nodes that are not run")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: order.index(running[f])):
                node = running.pop(future)
                done.add(node)
                ended(node, future.result())
    except BaseException:
        interrupt()
        for future, node in list(running.items()):
            try:
                ended(node, future.result())  # the interrupted notebooks' records are kept
            except BaseException:
                pass  # the first error is the one to report
        raise
    finally:
        pool.shutdown(wait=True)
