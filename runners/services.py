"""The embedded services of a workspace: Kafka (one KRaft broker, or several: ``runners.kafka_cluster``)
and one Spark Connect server with Delta and the Kafka source, on 127.0.0.1 (``dp up``, ``dp down``,
``dp status``).

Each service's pid file and log live in the workspace. Processes carry a ``-Ddp.workspace=...``
marker on their command line: ``dp down`` and ``dp status`` only ever touch a process whose
marker names this workspace, so two workspaces side by side never stop each other's services.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from runners import kafka_cluster
from shared_lib import audit, jars, paths, storage
from shared_lib import kafka as kafka_lib
from shared_lib import params as params_lib
from shared_lib import spark as spark_session
from shared_lib.errors import UserError

logger = logging.getLogger(__name__)

# In start order: the lake's S3 server (when enabled) before the Spark that writes to it.
SERVICES = ("s3proxy", "kafka", "spark")


class ServiceError(UserError, RuntimeError):
    """A service cannot start or be reached; the message says which, why, and where its log is."""


@dataclass
class Status:
    name: str
    state: str  # running | stopped | died
    pid: int | None
    address: str  # as `dp status` shows it: host:port, a URL, or what the service is
    log: Path
    detail: str = ""
    # Where the service answers, for a port check; None when it has no port of its own (in-process, a worker).
    host: str | None = None
    port: int | None = None

    @classmethod
    def on_port(cls, name: str, state: str, pid: int | None, host: str, port: int, log: Path,
                detail: str = "") -> Status:
        """A service listening on ``host:port``, shown as that address."""
        return cls(name, state, pid, f"{host}:{port}", log, detail, host=host, port=port)


def marker() -> str:
    return f"-Ddp.workspace={paths.workspace()}"


def pid_file(name: str) -> Path:
    return paths.pids_dir() / f"{name}.pid"


def log_file(name: str) -> Path:
    return paths.logs_dir() / f"{name}.log"


def address(params: dict, name: str) -> tuple[str, int]:
    svc = params["platform"]["services"][name]
    return svc["host"], svc["port"]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def our_process(name: str) -> psutil.Process | None:
    """The live process that ``dp up`` started for ``name`` in this workspace, if any."""
    try:
        pid = int(pid_file(name).read_text().strip())
        proc = psutil.Process(pid)
        if proc.status() != psutil.STATUS_ZOMBIE and marker() in proc.cmdline():
            return proc
    except (FileNotFoundError, ValueError, psutil.Error):
        pass
    return None


def process_status(name: str, host: str, port: int) -> Status:
    """The state of the process ``dp up`` starts as ``name``, listening on ``host:port``."""
    proc = our_process(name)
    if proc:
        ready = port_open(host, port)
        return Status.on_port(name, "running" if ready else "starting", proc.pid, host, port,
                              log_file(name), "" if ready else "process up, port not answering yet")
    if pid_file(name).exists():
        return Status.on_port(name, "died", None, host, port, log_file(name),
                              f"pid file left behind; last log lines:\n{_tail(log_file(name))}")
    detail = f"port {port} is in use by another process" if port_open(host, port) else ""
    return Status.on_port(name, "stopped", None, host, port, log_file(name), detail)


def status(params: dict) -> list[Status]:
    result = []
    for name in SERVICES:
        if name == "spark" and spark_mode(params) in ("remote", "local"):
            result.append(_spark_elsewhere(params))
        elif name == "kafka":
            result += kafka_cluster.statuses(params)
        elif name == "s3proxy":
            from runners import s3proxy
            result += s3proxy.status(params)
        else:
            result.append(process_status(name, *address(params, name)))
    from runners import spark_cluster
    return result + spark_cluster.status(params)


def _spark_elsewhere(params: dict) -> Status:
    """Spark of mode remote (an endpoint elsewhere: does it answer?) or local (in each process)."""
    if spark_mode(params) == "local":
        return Status("spark", "running", None, "in-process (mode local)", log_file("spark"))
    host, port = spark_session.remote_address(params)
    url = spark_session.connect_url(params)
    answers = port_open(host, port, timeout=2)
    return Status("spark", "running" if answers else "stopped", None, url,
                  log_file("spark"), "" if answers else f"remote endpoint {url} does not answer", host=host, port=port)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def check_port_free(name: str, host: str, port: int, var: str) -> None:
    if port_open(host, port):
        raise ServiceError(f"{name}: port {host}:{port} is already taken by another process. Stop it, "
                           f"or pick another port with {var}=<port> (see README, 'Ports').")


def spawn(name: str, cmd: list[str], env: dict | None = None) -> psutil.Process:
    paths.logs_dir().mkdir(parents=True, exist_ok=True)
    paths.pids_dir().mkdir(parents=True, exist_ok=True)
    log = open(log_file(name), "ab")
    log.write(f"\n==== dp up {time.strftime('%Y-%m-%d %H:%M:%S')} ====\n".encode())
    log.flush()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, **(env or {})})
    pid_file(name).write_text(str(proc.pid))
    return psutil.Process(proc.pid)


def wait_ready(name: str, proc: psutil.Process, ready, timeout_s: float, progress=logger.info) -> None:
    deadline = time.time() + timeout_s
    last_note = time.time()
    while time.time() < deadline:
        if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
            pid_file(name).unlink(missing_ok=True)
            raise ServiceError(f"{name} exited during start-up. Last lines of {log_file(name)}:\n"
                               f"{_tail(log_file(name))}")
        if ready():
            return
        if time.time() - last_note > 15:
            progress(f"  {name}: still starting ({int(time.time() - deadline + timeout_s)} s) ...")
            last_note = time.time()
        time.sleep(0.5)
    raise ServiceError(f"{name} did not become ready within {timeout_s:.0f} s; see {log_file(name)}:\n"
                       f"{_tail(log_file(name))}")


# --- Kafka (runners.kafka_cluster) ----------------------------------------------------------

def start_kafka(params: dict, progress=logger.info, brokers: int | None = None) -> str:
    return kafka_cluster.start(params, progress, brokers)


def ensure_topics(params: dict) -> str:
    """Every declared product's topic on the running broker, created if missing. Run by every
    ``dp up``, also when Kafka was already running: a product added since gets its topic (the
    broker does not create topics on first use)."""
    created = kafka_lib.ensure_topics(params, kafka_lib.all_topics(params))
    if created:
        return f"kafka: created topic{'s' if len(created) > 1 else ''} {', '.join(created)}"
    return "kafka: every product's topic exists"


# --- Spark Connect -------------------------------------------------------------------------

def start_spark(params: dict, progress=logger.info) -> str:
    s = params["platform"]["services"]["spark"]
    if our_process("spark"):
        return f"spark: already running on sc://{s['host']}:{s['port']}"
    check_port_free("spark", s["host"], s["port"], "DP_SPARK_PORT")
    home = jars.spark_home()
    confs = spark_session.spark_confs(params)
    lake = storage.from_params(params)
    spark_jars = jars.jars("spark")
    if lake.on_s3:  # hadoop-aws and the AWS SDK, fetched on first use (large)
        from runners import jars as jar_setup
        jar_setup.fetch("s3", log=progress)
        spark_jars += jars.jars("s3")
    master = s["master"]
    if s["mode"] == "cluster":  # executors on the standalone cluster's workers
        from runners import spark_cluster
        master = spark_cluster.master_url(params)
        confs.update(spark_cluster.executor_confs(params))
    (paths.workspace() / "tmp" / "spark").mkdir(parents=True, exist_ok=True)
    cmd = [str(home / "bin" / "spark-submit"), "--class",
           "org.apache.spark.sql.connect.service.SparkConnectServer", "--name", "dp-spark-connect",
           "--master", master,
           "--driver-java-options", f"{marker()} {confs.pop('spark.driver.extraJavaOptions')}",
           "--jars", ",".join(str(j) for j in spark_jars)]
    confs.update({"spark.connect.grpc.binding.address": s["host"],
                  "spark.connect.grpc.binding.port": str(s["port"]),
                  "spark.connect.grpc.maxInboundMessageSize": str(128 * 1024 * 1024)})
    for key, value in confs.items():
        cmd += ["--conf", f"{key}={value}"]
    # The lake's credentials reach S3A by the environment, never by the command line or the log.
    # MALLOC_ARENA_MAX: glibc's per-thread malloc arenas kept native memory the JVM had freed;
    # with two, the server's peak RSS over 1M web events fell from 9.97 to 8.63 GiB.
    proc = spawn("spark", cmd, env={"SPARK_HOME": str(home), "SPARK_LOCAL_IP": s["host"],
                                     "MALLOC_ARENA_MAX": "2",
                                     "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", "python3"),
                                     **storage.spark_environment(lake)})
    started_line = "Spark Connect server started"

    def ready() -> bool:
        return port_open(s["host"], s["port"]) and started_line in log_file("spark").read_text(errors="replace")

    wait_ready("spark", proc, ready, s["start_timeout_s"], progress)
    return (f"spark: Spark Connect on sc://{s['host']}:{s['port']}, master {master} "
            f"(pid {proc.pid}, log {log_file('spark')})")


STARTERS = {"kafka": start_kafka, "spark": start_spark}


def _names(only: list[str] | None) -> list[str]:
    unknown = sorted(set(only or ()) - set(SERVICES))
    if unknown:
        raise ServiceError(f"unknown service {', '.join(unknown)}: expected {', '.join(SERVICES)}")
    return [s for s in SERVICES if not only or s in only]


def spark_mode(params: dict) -> str:
    return params["platform"]["services"]["spark"]["mode"]


def _start(name: str, params: dict, progress, workers: int | None, brokers: int | None) -> list[str]:
    """Starts ``name``: Kafka with ``brokers`` brokers (default ``kafka.brokers``); Spark by its
    mode: ``cluster`` first starts the standalone master and ``workers`` workers (default
    ``cluster.workers``), ``remote`` and ``local`` start nothing."""
    if name == "kafka":
        return [start_kafka(params, progress, brokers)]
    if name == "s3proxy":
        from runners import s3proxy
        return [s3proxy.start(params, progress)] if s3proxy.enabled(params) else []
    if name != "spark":
        return [STARTERS[name](params, progress)]
    mode = spark_mode(params)
    if mode in ("remote", "local"):
        return [f"spark: mode {mode}, no server to start"]
    lines = []
    if mode == "cluster":
        from runners import spark_cluster
        count = params["platform"]["services"]["spark"]["cluster"]["workers"] if workers is None else workers
        lines += spark_cluster.up(params, count, progress)
    return lines + [start_spark(params, progress)]


def up(params: dict, only: list[str] | None = None, progress=logger.info, workers: int | None = None,
       brokers: int | None = None) -> list[str]:
    """Start the services named (default all); ``workers``: Spark cluster workers (``--workers``),
    ``brokers``: how many Kafka brokers (``--brokers``)."""
    names = _names(only)
    lines = [line for name in names for line in _start(name, params, progress, workers, brokers)]
    if "kafka" in names:
        lines.append(ensure_topics(params))
    return lines


def stop(name: str, timeout_s: float = 30) -> str:
    proc = our_process(name)
    if proc is None:
        left = pid_file(name).exists()
        pid_file(name).unlink(missing_ok=True)
        return f"{name}: not running" + (" (removed a stale pid file)" if left else "")
    procs = [proc] + proc.children(recursive=True)
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=timeout_s)
    for p in alive:
        p.kill()
    psutil.wait_procs(alive, timeout=5)
    pid_file(name).unlink(missing_ok=True)
    return f"{name}: stopped (pid {proc.pid})" + (" after SIGKILL" if alive else "")


def down(only: list[str] | None = None) -> list[str]:
    # This process's audit producer first (tests, the bench): left open, it would retry a stopped
    # broker until exit. Then Spark: its streaming queries are Kafka's clients.
    audit.close()
    from runners import spark_cluster
    lines = [line for name in reversed(_names(only))
             for line in (kafka_cluster.stop_all() if name == "kafka" else [stop(name)])]
    # The standalone cluster after its Connect server: it had the executors.
    return lines + (spark_cluster.down() if "spark" in _names(only) else [])


def require_running(params: dict, names=SERVICES) -> None:
    for name in names:
        if name == "spark" and spark_mode(params) in ("remote", "local"):
            continue  # nothing of `dp up`'s: the session factory says when it cannot connect
        if name == "s3proxy" and not params["platform"]["services"]["s3proxy"]["enabled"]:
            continue
        where = kafka_lib.bootstrap_addresses(params) if name == "kafka" else [address(params, name)]
        if not any(port_open(host, port) for host, port in where):
            shown = ",".join(f"{host}:{port}" for host, port in where)
            raise ServiceError(f"{name} is not reachable on {shown}: start the services with `dp up` "
                               f"(workspace {paths.workspace()})")


def down_services(params: dict) -> str:
    """One line per service that does not answer on its port, with the fix; "" when all answer (also
    services that another workspace's `dp up` started, as in the tests)."""
    lines = []
    for st in status(params):
        answers = st.host is not None and st.port is not None and port_open(st.host, st.port)
        if st.state == "running" or answers:
            continue
        why = "it died (pid file left behind)" if st.state == "died" else st.state
        lines.append(f"{st.name} is not running on {st.address}: {why}; see {st.log}; `dp up` starts it")
    return "\n".join(lines)


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 now (all sockets stay bound until every port is
    picked, so the ports differ)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def free_port_run(count: int, attempts: int = 50) -> int:
    """The first of ``count`` consecutive ports that are all free on 127.0.0.1 now."""
    for _ in range(attempts):
        with contextlib.ExitStack() as stack:
            first = free_ports(1)[0]
            try:
                for port in range(first, first + count):
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
            return first
    raise ServiceError(f"found no {count} consecutive free ports on 127.0.0.1 in {attempts} attempts")


# Port variables that name the first of several consecutive ports.
PORT_RUNS = {"DP_API_PORT": 5}


def free_port_environment() -> dict[str, str]:
    """A free port for every port variable (``DP_*_PORT``; five in a row for ``DP_API_PORT``): a
    workspace whose services run beside a developer's (tests, the bench)."""
    names = [var for var in params_lib.ENV_VAR_OVERRIDES if var.endswith("_PORT") and var not in PORT_RUNS]
    ports = dict(zip(names, map(str, free_ports(len(names)))))
    taken = {int(p) for p in ports.values()}
    for var, count in PORT_RUNS.items():
        first = free_port_run(count)
        while taken & set(range(first, first + count)):
            first = free_port_run(count)
        ports[var] = str(first)
    return ports
