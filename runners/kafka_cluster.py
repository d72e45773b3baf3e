"""The workspace's Kafka: one KRaft broker, or several on 127.0.0.1 (``dp up --brokers 3``), each
broker also a controller so that the quorum outlives one of them; or an external cluster
(``platform.services.kafka.bootstrap``) that ``dp up`` only creates topics on.

Broker 1 keeps the single broker's layout (``services/kafka/``, pid ``kafka``); broker i > 1 lives
in ``services/kafka/broker-i/`` with pid and log ``kafka-i``. The count a workspace's cluster was
formatted with is recorded in ``services/kafka/brokers``: its storage cannot change quorum later.
"""
from __future__ import annotations

import logging
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runners import services
from shared_lib import jars, paths
from shared_lib import kafka as kafka_lib

logger = logging.getLogger(__name__)


def process_name(node_id: int) -> str:
    return "kafka" if node_id == 1 else f"kafka-{node_id}"


def broker_home(node_id: int) -> Path:
    home = paths.service_dir("kafka")
    return home if node_id == 1 else home / f"broker-{node_id}"


def properties(params: dict, node_id: int, count: int) -> str:
    """server.properties of broker ``node_id`` of a local cluster of ``count`` brokers."""
    k = params["platform"]["services"]["kafka"]
    host = k["host"]
    brokers = kafka_lib.local_brokers(params, count)
    _, port, controller_port = brokers[node_id - 1]
    replicas = min(3, count)
    min_isr = max(1, replicas - 1)
    return "\n".join([
        "process.roles=broker,controller",
        f"node.id={node_id}",
        "controller.quorum.voters=" + ",".join(f"{i}@{host}:{cp}" for i, _, cp in brokers),
        f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        f"advertised.listeners=PLAINTEXT://{host}:{port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={broker_home(node_id) / 'data'}",
        f"num.partitions={k['partitions']}",
        f"message.max.bytes={k['max_message_bytes']}",
        f"replica.fetch.max.bytes={k['max_message_bytes']}",
        # Internal topics replicated like the products' (one broker: 1 and 1; three: 3 and 2).
        f"default.replication.factor={replicas}",
        f"min.insync.replicas={min_isr}",
        f"offsets.topic.replication.factor={replicas}",
        f"transaction.state.log.replication.factor={replicas}",
        f"transaction.state.log.min.isr={min_isr}",
        f"share.coordinator.state.topic.replication.factor={replicas}",
        f"share.coordinator.state.topic.min.isr={min_isr}",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        # A replica out of sync may not become leader: a lost broker never loses acked messages.
        "unclean.leader.election.enable=false",
        # Data is kept until retention in bronze takes over; the broker keeps a week.
        "log.retention.hours=168",
        "",
    ])


_LOG4J = """Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: INFO
"""


def java_cmd(*args: str, heap_mb: int | None = None) -> list[str]:
    cmd = ["java", services.marker()]
    if heap_mb:
        cmd += [f"-Xms{heap_mb // 2}m", f"-Xmx{heap_mb}m"]
    log4j = paths.service_dir("kafka") / "log4j2.yaml"
    return cmd + [f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{jars.jar_dir('kafka')}/*", *args]


def _recorded_count() -> int | None:
    """The count this workspace's cluster was formatted with; 1 for a workspace formatted before
    the count was recorded; None for a new workspace."""
    try:
        return int(kafka_lib.brokers_file().read_text().strip())
    except (FileNotFoundError, ValueError):
        return 1 if (broker_home(1) / "data" / "meta.properties").exists() else None


def _count(params: dict, requested: int | None) -> int:
    recorded = _recorded_count()
    count = requested or recorded or int(params["platform"]["services"]["kafka"]["brokers"])
    if count < 1:
        raise services.ServiceError(f"kafka: --brokers (platform.services.kafka.brokers) must be 1 or more, "
                                    f"got {count}")
    if recorded and count != recorded:
        raise services.ServiceError(
            f"kafka: this workspace's cluster has {recorded} broker(s) ({paths.service_dir('kafka')}); "
            f"its storage cannot change to {count}. Use `dp up` without --brokers, or a new workspace "
            f"(DP_HOME=...), or `dp down kafka` and delete {paths.service_dir('kafka')} (its topics' data goes).")
    return count


def _format(params: dict, count: int) -> None:
    """Format each broker's storage not yet formatted, all with one cluster id."""
    cluster_id = uuid.uuid4().hex[:22]
    for node_id in range(1, count + 1):
        meta = broker_home(node_id) / "data" / "meta.properties"
        if meta.exists():
            cluster_id = next((line.split("=", 1)[1] for line in meta.read_text().splitlines()
                               if line.startswith("cluster.id=")), cluster_id)
    for node_id in range(1, count + 1):
        home = broker_home(node_id)
        if (home / "data" / "meta.properties").exists():
            continue
        fmt = subprocess.run(java_cmd("kafka.tools.StorageTool", "format", "-t", cluster_id,
                                      "-c", str(home / "server.properties")), capture_output=True, text=True)
        if fmt.returncode != 0:
            raise services.ServiceError(f"kafka: formatting the KRaft storage in {home / 'data'} failed:\n"
                                        f"{fmt.stdout}{fmt.stderr}")
    kafka_lib.brokers_file().write_text(f"{count}\n")


def _cluster_ready(params: dict, count: int) -> bool:
    if not any(services.port_open(host, port) for host, port in kafka_lib.bootstrap_addresses(params)):
        return False  # not even a listener yet: no client (and none of its log lines) needed
    try:
        if count == 1:
            kafka_lib.existing_topics(params)
            return True
        return len(kafka_lib.cluster_brokers(params)) == count
    except Exception:  # brokers still electing their controller
        return False


def start(params: dict, progress=logger.info, brokers: int | None = None) -> str:
    """Start every local broker that is not running (``brokers``: how many, ``dp up --brokers``)
    and wait until the cluster has them all; or check that an external cluster answers."""
    k = params["platform"]["services"]["kafka"]
    if kafka_lib.external(params):
        if not _cluster_ready(params, 1):
            raise services.ServiceError(f"kafka: the cluster at {kafka_lib.bootstrap(params)} "
                                        f"(platform.services.kafka.bootstrap) does not answer: start it, or "
                                        f"empty the parameter to let `dp up` start brokers here")
        return f"kafka: using the cluster at {kafka_lib.bootstrap(params)} (not started here)"
    count = _count(params, brokers)
    nodes = kafka_lib.local_brokers(params, count)
    todo = [(i, port, cp) for i, port, cp in nodes if not services.our_process(process_name(i))]
    if not todo:
        return f"kafka: already running on {kafka_lib.bootstrap(params)}"
    for i, port, cp in todo:
        services.check_port_free(process_name(i), k["host"], port, "DP_KAFKA_PORT")
        services.check_port_free(f"{process_name(i)} controller", k["host"], cp, "DP_KAFKA_CONTROLLER_PORT")
    paths.service_dir("kafka").mkdir(parents=True, exist_ok=True)
    (paths.service_dir("kafka") / "log4j2.yaml").write_text(_LOG4J)
    for i in range(1, count + 1):
        broker_home(i).mkdir(parents=True, exist_ok=True)
        (broker_home(i) / "server.properties").write_text(properties(params, i, count))
    _format(params, count)
    procs = [services.spawn(process_name(i), java_cmd("kafka.Kafka", str(broker_home(i) / "server.properties"),
                                                      heap_mb=k["heap_mb"]))
             for i, _, _ in todo]
    # Each broker is a JVM starting at once beside the others: half the time limit more per broker.
    timeout_s = k["start_timeout_s"] * (1 + (len(todo) - 1) / 2)
    services.wait_ready(process_name(todo[0][0]), procs[0], lambda: _cluster_ready(params, count),
                        timeout_s, progress)
    for (i, _, _), proc in zip(todo, procs):
        if not proc.is_running():
            raise services.ServiceError(f"{process_name(i)} exited during start-up; see {services.log_file(process_name(i))}")
    pids = ", ".join(str(p.pid) for p in procs)
    what = "broker" if count == 1 else f"{count} brokers"
    return f"kafka: {what} running on {kafka_lib.bootstrap(params)} (pid {pids}, logs {paths.logs_dir()}/kafka*.log)"


def names(params: dict) -> list[str]:
    """The process names of this workspace's local brokers."""
    if kafka_lib.external(params):
        return []
    return [process_name(i) for i, _, _ in kafka_lib.local_brokers(params, _recorded_count() or 1)]


def stop_all() -> list[str]:
    """Stop every local broker of this workspace, all at once: the last of several, stopped alone,
    would wait for a quorum that is gone before it gives up its partitions."""
    count = _recorded_count() or 1
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(services.stop, [process_name(i) for i in range(count, 0, -1)]))


def statuses(params: dict) -> list[services.Status]:
    k = params["platform"]["services"]["kafka"]
    if kafka_lib.external(params):
        up = _cluster_ready(params, 1)
        host, port = kafka_lib.bootstrap_addresses(params)[0]  # the first broker a client asks
        return [services.Status("kafka", "running" if up else "stopped", None, kafka_lib.bootstrap(params),
                                services.log_file("kafka"), "external cluster (not started by dp up)",
                                host=host, port=port)]
    nodes = kafka_lib.local_brokers(params, _recorded_count() or 1)
    return [services.process_status(process_name(i), k["host"], port) for i, port, _ in nodes]
