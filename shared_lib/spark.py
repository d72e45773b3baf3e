"""The one Spark session factory.

``services.spark.mode`` picks the session:

- ``connect`` (default): a Spark Connect client of the one server that ``dp up`` starts. No JVM
  in the notebook's kernel, so a notebook starts in about a second. When the server is not
  running (say, a notebook opened in JupyterLab before ``dp up``) the factory raises
  ``SparkUnavailable`` saying to run ``dp up``; it never silently starts something else.
- ``local``: an in-process SparkSession with the same jars and settings (5-10 s to start).
- ``cluster``: a SparkSession against ``services.spark.master``.
"""
from __future__ import annotations

import contextlib
import gc
import socket

from shared_lib import paths
from shared_lib.errors import UserError

_sessions: dict[tuple, object] = {}


class SparkUnavailable(UserError, RuntimeError):
    """No Spark to talk to; the message says how to get one."""


def spark_confs(params: dict) -> dict[str, str]:
    """Spark settings shared by the Connect server and a local session (one place for both)."""
    s = params["platform"]["services"]["spark"]
    work = paths.workspace()
    return {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(work / "warehouse"),
        "spark.local.dir": str(work / "tmp" / "spark"),
        "spark.sql.shuffle.partitions": str(s["shuffle_partitions"]),
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.memory": s["driver_memory"],
        "spark.ui.port": str(s["ui_port"]),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true",
        # Delta rebuilds a table's snapshot after each commit with this many tasks; the default
        # (50) makes every small commit a 2-10 s job on two cores.
        "spark.databricks.delta.snapshotPartitions": "2",
        # Spark's scratch files (artifacts, shuffle spill) stay in the workspace, not in /tmp.
        "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={work / 'tmp' / 'spark'} {s['java_options']}".strip(),
        # The plan cache of a Connect session keeps resolved plans, and with them the rows of
        # every checkpoint they read, after the client has released the checkpoint: a silver
        # batch would stay in memory until 16 newer plans pushed it out (see ``checkpoints``).
        "spark.connect.session.planCache.enabled": "false",
        # Spark frees a released checkpoint's blocks only after a JVM collection has found it
        # unreferenced, and batch work leaves a big heap few full collections: 1.3 GB of the
        # last runs' released checkpoints were still held when the next run started, which
        # then had to push them to disk. Once a minute; Spark's default is 30.
        "spark.cleaner.periodicGC.interval": "1min",
        # Tables stay readable by delta-rs (dashboards, APIs): no deletion vectors.
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
    }


def connect_url(params: dict) -> str:
    s = params["platform"]["services"]["spark"]
    return f"sc://{s['host']}:{s['port']}"


def get_spark(params: dict):
    """The session for ``params``; one per process and mode (cached)."""
    s = params["platform"]["services"]["spark"]
    mode = s["mode"]
    key = (mode, s["host"], s["port"], s["master"], str(paths.workspace()))
    if key in _sessions:
        return _sessions[key]
    if mode == "connect":
        session = _connect(params)
    elif mode in ("local", "cluster"):
        session = _classic(params)
    else:
        raise SparkUnavailable(f"unknown services.spark.mode {mode!r}: expected connect, local or cluster")
    _sessions[key] = session
    return session


def _connect(params: dict):
    s = params["platform"]["services"]["spark"]
    if not _answers(s["host"], s["port"]):
        raise SparkUnavailable(
            f"no Spark Connect server at {connect_url(params)} (workspace {paths.workspace()}). "
            f"Start the services with `dp up` in a terminal, or set services.spark.mode to "
            f"'local' to run an in-process Spark (slower to start).")
    from pyspark.sql import SparkSession
    return SparkSession.builder.remote(connect_url(params)).getOrCreate()


def _classic(params: dict):
    from pyspark.sql import SparkSession

    from shared_lib import jars

    s = params["platform"]["services"]["spark"]
    (paths.workspace() / "tmp" / "spark").mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.appName("dataplatform").master(s["master"])
    builder = builder.config("spark.jars", ",".join(str(j) for j in jars.jars("spark")))
    for key, value in spark_confs(params).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@contextlib.contextmanager
def checkpoints():
    """``keep(df)`` computes ``df`` now and keeps its rows on the server for the ``with`` block (a
    local checkpoint); it returns the DataFrame to use instead of ``df``. The block's checkpoints
    are released when it ends.

    A checkpoint, not ``persist``: Spark's cache stores columnar compressed batches, and building
    them made gold's events of sessions (1M web events) cost 6 s instead of 2 s. A checkpoint
    also cuts the plan, so later queries on it are analysed from its rows, not from the whole
    plan again.

    Release: ``unpersist`` does not free a checkpoint. The client asks the server to forget one
    when its last DataFrame is garbage-collected (the server frees it at its next JVM
    collection, with its plan cache off: see ``spark_confs``), so the block must let go of
    them: keep the DataFrames in a function called inside it. (Kept into the next run, a silver batch of 1M
    web events held 1.2 GB of the server's memory, which spilled the next run to disk. A failed
    block's checkpoints stay referenced by its traceback; the runner's release of the kernel's
    session frees them: ``runners.kernels.RELEASE``.)"""
    held = []

    def keep(df):
        held.append(df.localCheckpoint(eager=True))
        return held[-1]
    try:
        yield keep
    finally:
        held.clear()
        gc.collect()


def stop_all() -> None:
    for (mode, host, port, *_), session in _sessions.items():
        try:
            if mode == "connect" and not _answers(host, port):
                # The server is gone (stopped, or killed by a crash test): releasing the session
                # would be retried for about ten minutes by the client; closing it is enough.
                session.release_session_on_close = False
            session.stop()
        except Exception:
            pass
    _sessions.clear()


def _answers(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0
