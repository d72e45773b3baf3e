"""Warm kernels: while one notebook runs, the next one's kernel starts in the background and
imports what every platform notebook imports (pyspark's Connect client, pandas, the shared
library). A notebook then starts in a fraction of a second instead of paying for a kernel start
and those imports.

Each kernel serves exactly one notebook execution and is shut down after it (in the background):
no state leaks from one notebook into the next, as with papermill's own fresh kernels. The
runner owns the pool (``runners.run.lease``); ``runners.execute`` only runs in what it is given.
"""
from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir

WARM_UP = "import pandas, pyspark.sql.connect.session, shared_lib.notebook, shared_lib.ingest"


class SharedContextKernelManager(AsyncKernelManager):
    """Every client of the kernel (the warm-up's, papermill's, the release's) uses the manager's
    ZeroMQ context, destroyed once at shut-down: a context of a client's own was left to the
    garbage collector, which often could not destroy it (12 fds and 3 threads kept per notebook).
    It keeps its clients so that shut-down stops their channels first: papermill leaves its own
    client's heartbeat thread running on a kernel it did not start, and that thread died with a
    traceback on the destroyed context."""

    def client(self, **kwargs):
        kwargs.setdefault("context", self.context)
        kc = super().client(**kwargs)
        self.__dict__.setdefault("opened_clients", []).append(kc)
        return kc

    def stop_clients(self) -> None:
        for kc in self.__dict__.pop("opened_clients", []):
            if kc.channels_running:
                kc.stop_channels()


def start_kernel(kernel_name: str, cwd: Path, warm_up: str = WARM_UP) -> AsyncKernelManager:
    """A started kernel in ``cwd`` with ``warm_up`` executed. Blocking: runs its own event loop,
    so it can be called from a worker thread. The manager is the async kind that nbclient
    (papermill's engine) drives; with a blocking one, nbclient's cell timeout never fires."""
    return asyncio.run(_start(kernel_name, cwd, warm_up))


async def _start(kernel_name: str, cwd: Path, warm_up: str) -> AsyncKernelManager:
    # IPC sockets: local only, and ipykernel does not warn about unencrypted TCP. Their paths
    # must be absolute: kernel and client run in different working directories.
    runtime = Path(jupyter_runtime_dir())
    runtime.mkdir(parents=True, exist_ok=True)
    km = SharedContextKernelManager(kernel_name=kernel_name, transport="ipc",
                                    ip=str(runtime / f"dp-{uuid.uuid4().hex[:12]}"))
    await km.start_kernel(cwd=str(cwd))
    kc = km.client()
    try:
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        if warm_up:
            await kc.execute_interactive(warm_up, timeout=120, output_hook=lambda msg: None)
    finally:
        _close(kc)
    return km


def _close(kc) -> None:
    """Stop a client's channels, and close a ZeroMQ context it made for itself now rather than
    whenever the garbage collector gets to it (its sockets are file descriptors); the manager's
    context, shared by its clients, goes at the kernel's shut-down."""
    kc.stop_channels()
    if kc._created_context:
        kc.context.destroy(linger=0)


class KernelPool:
    """Spare kernels started ahead, each for a given working directory: at most one (a run of one
    notebook at a time), or ``spares`` (notebooks side by side, ``platform.runner.parallel``).
    Kernels in use are known, so that Ctrl-C can interrupt them all (``interrupt_leased``)."""

    def __init__(self, kernel_name: str = "python3", warm_up: str = WARM_UP, spares: int = 1):
        self.kernel_name = kernel_name
        self.warm_up = warm_up
        self.spares = max(1, spares)
        self._executor = ThreadPoolExecutor(max_workers=self.spares + 1, thread_name_prefix="dp-kernels")
        self._spare: list[tuple[Path, Future]] = []  # oldest first
        self._leased: list[AsyncKernelManager] = []
        self._lock = threading.Lock()

    def prefetch(self, cwd: Path) -> None:
        """Start a kernel for a next notebook (in ``cwd``) in the background."""
        with self._lock:
            if any(folder == cwd for folder, _ in self._spare):
                return
            while len(self._spare) >= self.spares:  # the oldest guess makes way
                self._release_future(self._spare.pop(0)[1])
            self._spare.append((cwd, self._executor.submit(start_kernel, self.kernel_name, cwd, self.warm_up)))

    def take(self, cwd: Path) -> AsyncKernelManager:
        """A started kernel in ``cwd``: a spare when one fits and started fine, else a new one."""
        km = self._take(cwd)
        with self._lock:
            self._leased.append(km)
        return km

    def _take(self, cwd: Path) -> AsyncKernelManager:
        with self._lock:
            fits = next((s for s in self._spare if s[0] == cwd), None)
            if fits:
                self._spare.remove(fits)
            elif self.spares == 1 and self._spare:  # one notebook at a time: the guess was wrong
                self._release_future(self._spare.pop()[1])
        if fits:
            try:
                km = fits[1].result()
                if asyncio.run(km.is_alive()):
                    return km
                self.release(km)
            except Exception:
                pass  # a spare that failed to start is no reason to fail: start one now
        return start_kernel(self.kernel_name, cwd, self.warm_up)

    def release(self, km: AsyncKernelManager) -> None:
        """Shut a used kernel down without making the run wait for it."""
        with self._lock:
            if km in self._leased:
                self._leased.remove(km)
        self._executor.submit(shut_down, km)

    def interrupt_leased(self) -> None:
        """Interrupt every kernel in use (Ctrl-C while notebooks run side by side): each running
        cell raises KeyboardInterrupt and its notebook ends as failed."""
        with self._lock:
            leased = list(self._leased)
        for km in leased:
            try:
                asyncio.run(_interrupt(km))
            except Exception:
                pass  # a kernel already gone needs no interrupt

    def close(self) -> None:
        with self._lock:
            self._discard_spare()
        self._executor.shutdown(wait=True)

    def _discard_spare(self) -> None:
        while self._spare:
            self._release_future(self._spare.pop()[1])

    @staticmethod
    def _release_future(future: Future) -> None:
        """Shut down a spare nobody will use, once it has started (in the thread that started it)."""
        def shut_down_started(f: Future) -> None:
            if f.exception() is None:
                shut_down(f.result())

        future.add_done_callback(shut_down_started)


async def _interrupt(km: AsyncKernelManager) -> None:
    await km.interrupt_kernel()


# Run in a used kernel before it is shut down: the server drops what the notebook's Spark Connect
# session held (checkpoints, cached plans) now, not at the session's idle timeout.
RELEASE = ("import sys\n"
           "if 'shared_lib.spark' in sys.modules:\n"
           "    sys.modules['shared_lib.spark'].stop_all()")


def shut_down(km: AsyncKernelManager) -> None:
    try:
        asyncio.run(_release_and_shutdown(km))
    except Exception:
        pass


async def _release_and_shutdown(km: AsyncKernelManager) -> None:
    try:
        if await km.is_alive():
            kc = km.client()
            try:
                # Only what execute_interactive needs: no heartbeat thread, stdin or control socket.
                kc.start_channels(stdin=False, hb=False, control=False)
                await kc.execute_interactive(RELEASE, timeout=30, output_hook=lambda msg: None)
            finally:
                _close(kc)
    except Exception:
        pass  # a kernel that cannot release its session still has to go
    if isinstance(km, SharedContextKernelManager):
        km.stop_clients()  # before the shut-down, which destroys the context under their threads
    try:
        await km.shutdown_kernel(now=True)  # also removes its IPC socket files
    finally:
        km.context.destroy(linger=0)  # its clients' sockets too
