"""An S3-compatible server for a lake on S3 in tests and demos: S3Proxy (``org.gaul:s3proxy`` from
Maven Central) with its filesystem backend under ``<workspace>/services/s3proxy/data``, started by
``dp up`` when ``services.s3proxy.enabled``.

Its identity and credential are the lake's credentials (the environment variables that
``storage.s3`` names), written to its properties file in the workspace (mode 0600), never to the
parameters. The bucket of ``storage.lake_uri`` is created at start: with the filesystem backend a
bucket is a folder of the data folder.
"""
from __future__ import annotations

import logging
from pathlib import Path

from runners import jars as jar_setup
from runners import services
from shared_lib import jars, paths, storage

logger = logging.getLogger(__name__)

NAME = "s3proxy"
# S3Proxy logs every request at DEBUG without a configuration of its own.
LOGBACK = """<configuration>
  <appender name="out" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="out"/></root>
  <logger name="org.gaul.s3proxy" level="INFO"/>
</configuration>
"""


def settings(params: dict) -> dict:
    return params["platform"]["services"]["s3proxy"]


def enabled(params: dict) -> bool:
    return bool(settings(params)["enabled"])


def endpoint(params: dict) -> str:
    s = settings(params)
    return f"http://{s['host']}:{s['port']}"


def data_dir() -> Path:
    return paths.service_dir(NAME) / "data"


def properties(params: dict, identity: str, credential: str) -> str:
    """S3Proxy's configuration: AWS v2 or v4 signatures, the filesystem backend in the workspace."""
    return "\n".join([f"s3proxy.endpoint={endpoint(params)}", "s3proxy.authorization=aws-v2-or-v4",
                      f"s3proxy.identity={identity}", f"s3proxy.credential={credential}",
                      "jclouds.provider=filesystem", f"jclouds.identity={identity}",
                      f"jclouds.credential={credential}", f"jclouds.filesystem.basedir={data_dir()}", ""])


def check_lake(params: dict) -> storage.Storage:
    """The lake's settings, which must point at this server when it is enabled."""
    lake = storage.from_params(params)
    if not lake.on_s3:
        raise services.ServiceError("services.s3proxy.enabled is true but platform.storage.lake_uri is "
                                    f"{lake.lake_uri!r}: set it to s3a://BUCKET/prefix (parameters/<env>/platform.yaml "
                                    "or DP_LAKE_URI)")
    if lake.s3["endpoint"].rstrip("/") != endpoint(params):
        raise services.ServiceError(f"services.s3proxy listens on {endpoint(params)} but platform.storage.s3.endpoint "
                                    f"is {lake.s3['endpoint']!r}: set the endpoint to {endpoint(params)}")
    return lake


def start(params: dict, progress=logger.info) -> str:
    s = settings(params)
    lake = check_lake(params)
    if services.our_process(NAME):
        return f"{NAME}: already running on {endpoint(params)}"
    services.check_port_free(NAME, s["host"], s["port"], "DP_S3PROXY_PORT")
    identity, credential = storage.credentials(lake.s3)
    folder = paths.service_dir(NAME)
    (data_dir() / lake.bucket()).mkdir(parents=True, exist_ok=True)  # the bucket
    conf = folder / "s3proxy.conf"
    conf.touch(mode=0o600)
    conf.write_text(properties(params, identity, credential))
    (folder / "logback.xml").write_text(LOGBACK)
    jar_setup.fetch(NAME, log=progress)
    cmd = ["java", f"-Xmx{s['heap_mb']}m", services.marker(), f"-Dlogback.configurationFile={folder / 'logback.xml'}",
           "-cp", f"{jars.jar_dir(NAME)}/*", "org.gaul.s3proxy.Main", "--properties", str(conf)]
    proc = services.spawn(NAME, cmd)
    services.wait_ready(NAME, proc, lambda: services.port_open(s["host"], s["port"]), s["start_timeout_s"], progress)
    return (f"{NAME}: S3 API on {endpoint(params)}, bucket {lake.bucket()} in {data_dir()} "
            f"(pid {proc.pid}, log {services.log_file(NAME)})")


def status(params: dict) -> list[services.Status]:
    """Its status when enabled; nothing otherwise (no line for a service that is not wanted)."""
    if not enabled(params):
        return []
    s = settings(params)
    return [services.process_status(NAME, s["host"], s["port"])]
