"""What the runner, the scheduler and the services say while they work: stdlib ``logging``, one
timestamped line per event on stderr (a command's own output, such as ``dp catalog``'s table,
stays on stdout). On a terminal, ``dp run`` also draws a live bar per notebook (cell i of n,
elapsed); without one (cron, CI, a pipe) the same run is plain lines only.
"""
from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from typing import Any, TextIO

# The platform's own loggers; other libraries' (papermill, py4j, kafka) stay at WARNING.
OWN = ("runners", "shared_lib", "products")
LINE = "%(asctime)s %(levelname)s %(message)s"
TIME = "%Y-%m-%dT%H:%M:%SZ"


def formatter() -> logging.Formatter:
    """``2026-05-01T12:00:03Z INFO message``: UTC, like the run ids and the run records."""
    fmt = logging.Formatter(LINE, TIME)
    fmt.converter = time.gmtime
    return fmt


class _Handler(logging.StreamHandler):
    """Writes to ``stream``, or to whatever ``sys.stderr`` is at the time (pytest swaps it); on a
    terminal through tqdm, so that a log line appears above a live bar instead of through it."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__()
        self._fixed = stream
        self.bars = on_terminal(self.stream)

    @property
    def stream(self) -> TextIO:
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler's own __init__ and setStream assign it
        self._fixed = value

    def emit(self, record: logging.LogRecord) -> None:
        if not self.bars:
            return super().emit(record)
        from tqdm import tqdm
        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:
            self.handleError(record)


def on_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()


def setup(debug: bool = False, stream: TextIO | None = None) -> None:
    """A handler on the root logger (replacing one that an earlier call added); the platform's
    loggers at INFO, DEBUG with ``debug``."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(stream)
    handler.setFormatter(formatter())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in OWN:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.INFO)


class _Lines:
    """Progress without a terminal: each cell start is a DEBUG line (shown with ``dp --debug``)."""

    def __init__(self, label: str, logger: logging.Logger):
        self.label, self.logger, self.started = label, logger, time.monotonic()

    def cell(self, index: int, total: int) -> None:
        self.logger.debug("%s: cell %d of %d (%.1f s)", self.label, index, total,
                          time.monotonic() - self.started)

    def close(self) -> None:
        pass


class _Bar:
    """A tqdm bar from the first cell on, redrawn every second so that the elapsed time (since
    the notebook started) moves during a long cell."""

    def __init__(self, label: str, stream: TextIO):
        self.label, self.stream, self.started = label, stream, time.time()
        self.bar: Any = None  # tqdm, created at the first cell
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="dp-progress", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            if self.bar is not None:
                self.bar.refresh()

    def cell(self, index: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm
            # a terminal that reports no width (some ptys) would get no bar at all
            size = shutil.get_terminal_size((0, 0))
            width = {} if size.columns and size.lines else {"ncols": 100, "nrows": 30}
            self.bar = tqdm(total=total, initial=index, desc=self.label, file=self.stream, leave=False,
                            dynamic_ncols=not width, **width,
                            bar_format="{desc}: cell {n_fmt} of {total_fmt} {bar:20} {elapsed}")
            self.bar.start_t = self.started
        self.bar.total, self.bar.n = total, index
        self.bar.refresh()

    def close(self) -> None:
        self._stop.set()
        self._ticker.join()
        if self.bar is not None:
            self.bar.close()


def notebook_progress(label: str, logger: logging.Logger, stream: TextIO | None = None):
    """Progress of one notebook: ``.cell(i, n)`` as cell i of n starts, ``.close()`` at the end."""
    stream = stream or sys.stderr
    if on_terminal(stream) and logger.isEnabledFor(logging.INFO):
        return _Bar(label, stream)
    return _Lines(label, logger)


class _CountLines:
    """A count's progress without a terminal: an INFO line each time another ``every`` are done."""

    def __init__(self, label: str, total: int | None, logger: logging.Logger, every: int = 100_000):
        self.label, self.total, self.logger, self.every, self.shown = label, total, logger, every, 0

    def update(self, done: int) -> None:
        if done // self.every > self.shown // self.every:
            self.shown = done
            self.logger.info("  %s: %s%s", self.label, f"{done:,}", f" of {self.total:,}" if self.total else "")

    def close(self) -> None:
        pass


class _CountBar:
    """A count's progress on a terminal: a tqdm bar with the rate (a counter when the total is unknown)."""

    def __init__(self, label: str, total: int | None, stream: TextIO):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=label, file=stream, leave=False, unit=" msg", unit_scale=True,
                        mininterval=0.5)

    def update(self, done: int) -> None:
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def count_progress(label: str, total: int | None, logger: logging.Logger, stream: TextIO | None = None):
    """Progress of a count (messages sent): ``.update(done)`` as it grows, ``.close()`` at the end."""
    stream = stream or sys.stderr
    if on_terminal(stream) and logger.isEnabledFor(logging.INFO):
        return _CountBar(label, total, stream)
    return _CountLines(label, total, logger)
