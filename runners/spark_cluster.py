"""A Spark standalone cluster on this machine for ``services.spark.mode: cluster``: one master and
N workers (``dp up --workers N``) from the pyspark package's own classes
(``org.apache.spark.deploy.master.Master``, ``...worker.Worker``) run by its ``bin/spark-class``.
The Connect server of ``dp up`` then runs its executors on these workers.

Each daemon is a service of its own to ``runners.services`` (pid file, log, workspace marker):
``spark-master``, ``spark-worker-1`` ... A master elsewhere (``cluster.master_url`` set) is only
used, never started here.
"""
from __future__ import annotations

import contextlib
import logging
import re

import psutil

from runners import services
from shared_lib import jars, paths, storage

logger = logging.getLogger(__name__)

MASTER = "spark-master"
WORKER_PREFIX = "spark-worker-"
# Daemons need little heap: the executors they start have their own (worker_memory).
DAEMON_MEMORY = "256m"


def settings(params: dict) -> dict:
    return params["platform"]["services"]["spark"]["cluster"]


def starts_master(params: dict) -> bool:
    """Whether ``dp up`` starts the master here (no ``cluster.master_url`` given)."""
    return not settings(params)["master_url"]


def master_url(params: dict) -> str:
    c, host = settings(params), params["platform"]["services"]["spark"]["host"]
    return c["master_url"] or f"spark://{host}:{c['master_port']}"


def worker_name(number: int) -> str:
    return f"{WORKER_PREFIX}{number}"


def running_workers() -> list[str]:
    """The names of this workspace's worker pid files, in number order."""
    found = [p.stem for p in paths.pids_dir().glob(f"{WORKER_PREFIX}*.pid")] if paths.pids_dir().exists() else []
    return sorted(found, key=lambda name: int(name.removeprefix(WORKER_PREFIX)))


def executor_confs(params: dict) -> dict[str, str]:
    """The Connect server's settings for running on the cluster: one executor per worker with
    all its cores and memory; jobs wait until every executor has registered, so the first run
    gets the whole cluster."""
    s = params["platform"]["services"]["spark"]
    c = s["cluster"]
    return {"spark.executor.memory": c["worker_memory"], "spark.executor.cores": str(c["worker_cores"]),
            "spark.executor.extraJavaOptions": s["java_options"],
            "spark.driver.host": s["host"],
            "spark.scheduler.minRegisteredResourcesRatio": "1.0",
            "spark.scheduler.maxRegisteredResourcesWaitingTime": "120s"}


def _env(name: str, options_var: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    home = jars.spark_home()
    # The REST submission server (port 6066) is not needed and would clash between workspaces.
    options = f"{services.marker()} -Dspark.master.rest.enabled=false -Djava.io.tmpdir={_tmp(name)}"
    return {"SPARK_HOME": str(home), "SPARK_DAEMON_MEMORY": DAEMON_MEMORY, options_var: options, **(extra or {})}


def _tmp(name: str):
    folder = paths.workspace() / "tmp" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _spark_class(*args: str) -> list[str]:
    return [str(jars.spark_home() / "bin" / "spark-class"), *args]


def _log_says(name: str, pattern: str) -> bool:
    try:
        return re.search(pattern, services.log_file(name).read_text(errors="replace").rsplit("==== dp up", 1)[-1]) is not None
    except FileNotFoundError:
        return False


def start_master(params: dict, progress=logger.info) -> str:
    s, c = params["platform"]["services"]["spark"], settings(params)
    if services.our_process(MASTER):
        return f"{MASTER}: already running at {master_url(params)}"
    services.check_port_free(MASTER, s["host"], c["master_port"], "DP_SPARK_MASTER_PORT")
    services.check_port_free(f"{MASTER} UI", s["host"], c["master_ui_port"], "DP_SPARK_MASTER_UI_PORT")
    cmd = _spark_class("org.apache.spark.deploy.master.Master", "--host", s["host"],
                       "--port", str(c["master_port"]), "--webui-port", str(c["master_ui_port"]))
    proc = services.spawn(MASTER, cmd, env=_env(MASTER, "SPARK_MASTER_OPTS", {"SPARK_LOCAL_IP": s["host"]}))
    services.wait_ready(MASTER, proc, lambda: _log_says(MASTER, r"New state: ALIVE"), s["start_timeout_s"], progress)
    return (f"{MASTER}: {master_url(params)}, web UI http://{s['host']}:{c['master_ui_port']} "
            f"(pid {proc.pid}, log {services.log_file(MASTER)})")


def start_worker(params: dict, number: int) -> psutil.Process | None:
    """Spawns worker ``number`` (``None`` when it runs already); ``wait_workers`` waits for it."""
    s, c, name = params["platform"]["services"]["spark"], settings(params), worker_name(number)
    if services.our_process(name):
        return None
    work = paths.service_dir(name)
    work.mkdir(parents=True, exist_ok=True)
    # Port 0: any free port, for the worker and its web UI (the master's UI links to it).
    cmd = _spark_class("org.apache.spark.deploy.worker.Worker", master_url(params), "--host", s["host"],
                       "--cores", str(c["worker_cores"]), "--memory", c["worker_memory"],
                       "--work-dir", str(work / "work"), "--port", "0", "--webui-port", "0")
    # Executors inherit the worker's environment: the lake's credentials when it is on S3.
    extra = {"SPARK_LOCAL_IP": s["host"], "SPARK_LOCAL_DIRS": str(_tmp(name)),
             **storage.spark_environment(storage.from_params(params))}
    return services.spawn(name, cmd, env=_env(name, "SPARK_WORKER_OPTS", extra))


def wait_workers(params: dict, started: dict[str, psutil.Process], progress=logger.info) -> None:
    timeout_s = params["platform"]["services"]["spark"]["start_timeout_s"]
    for name, proc in started.items():
        services.wait_ready(name, proc, lambda name=name: _log_says(name, r"Successfully registered with master"),
                            timeout_s, progress)


def up(params: dict, workers: int, progress=logger.info) -> list[str]:
    """The local master (unless ``cluster.master_url`` names one elsewhere) and workers 1..N,
    waiting until each has registered with the master."""
    lines = [start_master(params, progress)] if starts_master(params) else [f"{MASTER}: using {master_url(params)}"]
    started = {worker_name(n): proc for n in range(1, workers + 1) if (proc := start_worker(params, n))}
    wait_workers(params, started, progress)
    c = settings(params)
    lines.append(f"spark workers: {workers} ({c['worker_cores']} core(s), {c['worker_memory']} each; "
                 f"{len(started)} started now), logs {paths.logs_dir()}/{WORKER_PREFIX}*.log")
    return lines


def executors() -> list[psutil.Process]:
    """The executor processes of this workspace's workers (each worker's children)."""
    found: list[psutil.Process] = []
    for name in running_workers():
        proc = services.our_process(name)
        with contextlib.suppress(psutil.Error):
            found += proc.children(recursive=True) if proc else []
    return found


def down() -> list[str]:
    """Workers first (their executors are their children), then the master."""
    return [services.stop(name) for name in running_workers()] + [services.stop(MASTER)]


def status(params: dict) -> list[services.Status]:
    """The master and every worker this workspace started (nothing when none was)."""
    s = params["platform"]["services"]["spark"]
    rows = []
    for name in ([MASTER] if services.pid_file(MASTER).exists() else []) + running_workers():
        proc = services.our_process(name)
        where = master_url(params) if name == MASTER else f"{s['host']} -> {master_url(params)}"
        # A master started here answers on its port; a worker has none of its own to check.
        host, port = (s["host"], settings(params)["master_port"]) if name == MASTER else (None, None)
        if proc:
            rows.append(services.Status(name, "running", proc.pid, where, services.log_file(name), host=host, port=port))
        else:
            rows.append(services.Status(name, "died", None, where, services.log_file(name),
                                        "pid file left behind; see the log", host=host, port=port))
    return rows
