"""The one Spark session factory.

``services.spark.mode`` picks the session:

- ``server`` (default): a Spark Connect client of the one server that ``dp up`` starts, Spark
  running inside it on ``services.spark.master`` (``local[2]``). No JVM in the notebook's kernel,
  so a notebook starts in about a second. When the server is not running (say, a notebook
  opened in JupyterLab before ``dp up``) the factory raises ``SparkUnavailable`` saying to run
  ``dp up``; it never silently starts something else.
- ``cluster``: the same client and server; the server's executors run on a Spark standalone
  cluster (``services.spark.cluster``; ``dp up --workers N`` starts one here).
- ``remote``: a Spark Connect client of ``services.spark.remote.url`` (any ``sc://`` endpoint),
  with the token of the environment variable ``remote.token_env`` when it is set.
- ``local``: an in-process SparkSession with the same jars and settings (5-10 s to start).
"""
from __future__ import annotations

import contextlib
import gc
import os
import socket
from typing import Any

from shared_lib import paths, storage
from shared_lib.errors import UserError

_sessions: dict[tuple, Any] = {}

# Spark Connect's client retries an unreachable server with a backoff from 50 ms, x4 per retry:
# capped at 5 s, 8 retries wait about 25 s in all (CLIENT_RETRY_S).
CLIENT_RETRIES, CLIENT_MAX_BACKOFF_MS = 8, 5000
CLIENT_RETRY_S = 25


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
        # The Connect plan cache holds the rows of released checkpoints (see ``checkpoints``).
        "spark.connect.session.planCache.enabled": "false",
        # Released checkpoints are freed only by a JVM collection, which batch work seldom
        # triggers: once a minute (Spark's default is 30).
        "spark.cleaner.periodicGC.interval": "1min",
        # Tables stay readable by delta-rs (dashboards, APIs): no deletion vectors.
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        # A lake on S3: hadoop-aws's settings (none for a local lake).
        **storage.spark_confs(storage.from_params(params)),
    }


MODES = ("server", "cluster", "remote", "local")


def connect_url(params: dict) -> str:
    """The Connect server's URL, without a token (safe to print)."""
    s = params["platform"]["services"]["spark"]
    if s["mode"] == "remote":
        if not s["remote"]["url"].startswith("sc://"):
            raise SparkUnavailable(f"parameters platform.yaml: services.spark.remote.url is "
                                   f"{s['remote']['url']!r}; with mode remote it must be an sc:// URL, "
                                   f"e.g. sc://spark.example.com:443/;use_ssl=true")
        return s["remote"]["url"]
    return f"sc://{s['host']}:{s['port']}"


def with_token(url: str, token: str | None) -> str:
    """``url`` with ``;token=...`` added (Spark Connect's URL parameters follow a ``/``)."""
    if not token:
        return url
    return url + ("" if "/;" in url else "/" if not url.endswith("/") else "") + f";token={token}"


def remote_address(params: dict) -> tuple[str, int]:
    """Host and port of the endpoint ``connect_url`` names (15002, Spark Connect's, when absent)."""
    hostport = connect_url(params).removeprefix("sc://").split("/", 1)[0]
    host, _, port = hostport.partition(":")
    return host, int(port or 15002)


def get_spark(params: dict):
    """The session for ``params``; one per process and mode (cached)."""
    s = params["platform"]["services"]["spark"]
    mode = s["mode"]
    if mode not in MODES:
        raise SparkUnavailable(f"parameters platform.yaml: unknown services.spark.mode {mode!r}: "
                               f"expected one of {', '.join(MODES)}")
    key = (mode, *remote_address(params), s["master"], str(paths.workspace()))
    if key in _sessions:
        if mode == "local" or _still_served(_sessions[key], *remote_address(params)):
            return _sessions[key]
        _forget(_sessions.pop(key))
    session = _classic(params) if mode == "local" else _connect(params)
    _sessions[key] = session
    return session


def _connect(params: dict):
    s = params["platform"]["services"]["spark"]
    host, port = remote_address(params)
    if not _answers(host, port):
        if s["mode"] == "remote":
            raise SparkUnavailable(f"the remote Spark Connect endpoint {connect_url(params)} does not answer: "
                                   f"check services.spark.remote.url and the network")
        raise SparkUnavailable(
            f"no Spark Connect server at {connect_url(params)} (workspace {paths.workspace()}). "
            f"Start the services with `dp up` in a terminal, or set services.spark.mode to "
            f"'local' to run an in-process Spark (slower to start).")
    from pyspark.sql import SparkSession
    from pyspark.sql.connect.client.retries import DefaultPolicy

    url = connect_url(params)
    if s["mode"] == "remote" and s["remote"]["token_env"]:
        url = with_token(url, os.environ.get(s["remote"]["token_env"]))
    session = SparkSession.builder.remote(url).getOrCreate()
    # The client's default retries a server that went away for 10 minutes; a notebook fails
    # within CLIENT_RETRY_S instead, and the runner's retry (after the service is back) takes over.
    session.client.set_retry_policies([DefaultPolicy(max_retries=CLIENT_RETRIES, max_backoff=CLIENT_MAX_BACKOFF_MS)])
    return session


def _still_served(session, host: str, port: int) -> bool:
    """Whether the server still holds ``session``: a restarted server has forgotten it, and every
    call on it fails (the cached session would outlive its server, e.g. in a long test process)."""
    if not _answers(host, port):
        return False  # down: _connect says so at once, not after the client's retries
    try:
        session.conf.get("spark.sql.session.timeZone")  # one round trip to the server
        return True
    except Exception:  # noqa: BLE001 - any failure means: open a new session
        return False


def _forget(session) -> None:
    """Drop a dead Connect session so that the builder creates a new one (no release call: the
    server that held it is gone)."""
    session.release_session_on_close = False
    session.stop()


def _classic(params: dict):
    from pyspark.sql import SparkSession

    from shared_lib import jars

    s = params["platform"]["services"]["spark"]
    (paths.workspace() / "tmp" / "spark").mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.appName("dataplatform").master(s["master"])
    lake = storage.from_params(params)
    spark_jars = jars.jars("spark") + (jars.jars("s3") if lake.on_s3 else [])
    builder = builder.config("spark.jars", ",".join(str(j) for j in spark_jars))
    confs = spark_confs(params)
    if lake.on_s3:  # this process's own JVM: the credentials stay in its memory
        key, secret = storage.credentials(lake.s3)
        confs.update({"spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
                      "spark.hadoop.fs.s3a.access.key": key, "spark.hadoop.fs.s3a.secret.key": secret})
    for key, value in confs.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@contextlib.contextmanager
def checkpoints():
    """``keep(df)`` computes ``df`` now and keeps its rows on the server for the ``with`` block (a
    local checkpoint); it returns the DataFrame to use instead of ``df``. The block's checkpoints
    are released when it ends.

    A checkpoint, not ``persist``: cheaper to build than the cache's compressed batches, and it
    cuts the plan. ``unpersist`` does not free one: the server frees it once the client has
    garbage-collected its last DataFrame, so keep the DataFrames in a function called inside
    the block. Measurements: docs/performance.md."""
    held = []

    def keep(df):
        held.append(df.localCheckpoint(eager=True))
        return held[-1]
    try:
        yield keep
    finally:
        held.clear()
        gc.collect()


# How a session evaluates expressions over few rows: interpreted, not compiled. A step over a
# small batch otherwise compiles 300-400 generated classes (about 7 ms each with Janino) for
# plans whose literals (offsets, bounds, dates) change every run, so Spark's code cache never
# hits. Measured on mobile silver, alternating: 200 rows 7.7-8.5 s against 9.4-10.1 s compiled,
# 20k rows 8.1-8.7 against 10.4-10.5, 100k rows 16.5 against 14.7 (docs/performance.md).
INTERPRETED = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


def interpreted_below(params: dict) -> int:
    """Input rows below which a step evaluates interpreted (``services.spark.interpreted_below_rows``)."""
    return int(params["platform"]["services"]["spark"].get("interpreted_below_rows", 0))


@contextlib.contextmanager
def evaluation_for(spark, rows: int, below: int):
    """Within the block, ``spark`` evaluates expressions interpreted when ``rows`` (what the step
    reads) is below ``below``, compiled otherwise (Spark's default); the session's settings are
    restored when it ends."""
    if rows >= below:
        yield False
        return
    before = {key: spark.conf.get(key, None) for key in INTERPRETED}
    for key, value in INTERPRETED.items():
        spark.conf.set(key, value)
    try:
        yield True
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def stop_all() -> None:
    for (mode, host, port, *_), session in _sessions.items():
        try:
            if mode != "local" and not _answers(host, port):
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
