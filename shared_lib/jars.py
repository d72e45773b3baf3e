"""Where the Java side's jars are: which jar sets the platform needs (Delta and Spark's Kafka
source for Spark, the broker for Kafka) and the folder each set is cached in.

Only locations: downloading them from Maven Central is set-up's job (``runners.jars``).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from shared_lib import paths
from shared_lib.errors import UserError

# delta-spark 4.4.1 (the pip package) is not published for Spark 4.2 on Maven Central: the
# artifact delta-spark_4.2_2.13 exists at 4.4.0 only, so the server runs the 4.4.0 jar.
DELTA = ("io.delta", "delta-spark_4.2_2.13", "4.4.0")
SPARK_KAFKA = ("org.apache.spark", "spark-sql-kafka-0-10_2.13", "4.2.0")
KAFKA_VERSION = "4.4.0"
# hadoop-aws at the version of pyspark's hadoop-client-api jar (3.5.0): it brings the AWS SDK
# bundle it was built with (~660 MB), so it is fetched only for a lake on S3 (`dp up`).
HADOOP_AWS = ("org.apache.hadoop", "hadoop-aws", "3.5.0")
S3PROXY = ("org.gaul", "s3proxy", "4.1.0")

JAR_SETS: dict[str, list[tuple[str, str, str]]] = {
    "spark": [DELTA, SPARK_KAFKA],
    "kafka": [
        ("org.apache.kafka", "kafka_2.13", KAFKA_VERSION),
        # Declared by kafka_2.13 at runtime scope but packaged as an OSGi bundle; named so
        # that it is never missed.
        ("com.typesafe.scala-logging", "scala-logging_2.13", "3.9.6"),
        ("org.apache.logging.log4j", "log4j-core", "2.24.3"),
        ("org.apache.logging.log4j", "log4j-slf4j2-impl", "2.24.3"),
    ],
    "s3": [HADOOP_AWS],
    "s3proxy": [S3PROXY],
    # Kafka's own producer benchmark (ProducerPerformance), the floor of `dp bench`'s Kafka loading.
    "kafka-tools": [("org.apache.kafka", "kafka-tools", KAFKA_VERSION)],
}
# Fetched by set-up; the others when they are needed (storage.lake_uri, services.s3proxy, dp bench).
SETUP_SETS = ("spark", "kafka")


class SetupError(UserError, RuntimeError):
    """Set-up cannot go on, or has not run; the message says what to do."""


def set_dir(name: str) -> Path:
    """The cache folder of jar set ``name``, named by a hash of its coordinates."""
    digest = hashlib.sha256(repr(JAR_SETS[name]).encode()).hexdigest()[:12]
    return paths.jars_dir(f"{name}-{digest}")


def jar_dir(name: str) -> Path:
    """Folder of a fetched jar set; a clear error when set-up has not fetched it."""
    folder = set_dir(name)
    if not (folder / ".complete").exists():
        raise SetupError(f"the {name} jars are not in {folder}: run `make demo` or "
                         f"`.venv/bin/python -m runners.jars` first")
    return folder


def jars(name: str) -> list[Path]:
    """The jar files of set ``name`` (a key of ``JAR_SETS``)."""
    return sorted(jar_dir(name).glob("*.jar"))


def spark_home() -> Path:
    """pyspark's installation, whose ``jars/`` Spark runs with."""
    import pyspark
    return Path(pyspark.__file__).parent
