"""Notebooks run through the warm-kernel pool keep no file descriptor or thread of the runner's
process: the soak found 12 fds and 3 threads kept per notebook (ZeroMQ contexts of the kernels'
clients, left to the garbage collector), which a long-running `dp schedule` piles up."""
from __future__ import annotations

import contextlib
import json
import threading
import time

import psutil

from runners import execute, kernels

NOTEBOOK = {"cells": [{"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "x = 1",
                       "outputs": [], "execution_count": None},
                      {"cell_type": "code", "id": "c", "metadata": {}, "source": "x + 1", "outputs": [],
                       "execution_count": None}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def test_four_notebooks_through_the_pool_keep_no_fd_or_thread_and_end_no_thread_with_an_error(tmp_path, monkeypatch):
    died = []  # papermill's heartbeat thread used to die on the destroyed context, with a traceback
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(repr(args.exc_value)))
    source = tmp_path / "n.ipynb"
    source.write_text(json.dumps(NOTEBOOK))
    pool = kernels.KernelPool(warm_up="")

    @contextlib.contextmanager
    def lease():
        km = pool.take(tmp_path)
        try:
            yield km
        finally:
            pool.release(km)

    me, figures = psutil.Process(), []
    try:
        for i in range(4):
            execute.execute(source, tmp_path / f"out{i}.ipynb", {}, lease=lease)
            time.sleep(2)  # the release shuts the kernel down in the background
            figures.append((me.num_fds(), me.num_threads()))
    finally:
        pool.close()
    # No growth after the first notebook (a leak adds ~12 files and 3 threads each); fewer is fine:
    # a kernel's background shutdown may still hold a thread at the first sample.
    assert all(fds <= figures[0][0] and threads <= figures[0][1] for fds, threads in figures[1:]), figures
    assert died == []
