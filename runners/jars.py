"""Set-up of the Java side: the jars for Delta, Spark's Kafka source and the Kafka broker.

They are resolved from Maven Central, transitive dependencies included, by the Apache Ivy jar
that pyspark already ships, so set-up needs nothing but Java 17+ and the Python packages. Each
jar set lands in the machine-wide cache under a folder named by a hash of its coordinates, with
a marker written last: a second set-up (or a clean clone) finds the marker and downloads nothing.

Where they go and which they are: ``shared_lib.jars``. Run as ``python -m runners.jars`` (the
Makefile does).
"""
from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from shared_lib import paths
from shared_lib.jars import DELTA, JAR_SETS, SETUP_SETS, SetupError, set_dir, spark_home  # noqa: F401 (DELTA: bench)

MIN_JAVA = 17
logger = logging.getLogger(__name__)


def java_major() -> int:
    java = shutil.which("java")
    if not java:
        raise SetupError(f"Java {MIN_JAVA}+ is needed and `java` is not on PATH: install a JDK "
                         f"(e.g. `apt-get install openjdk-17-jre-headless`) or set PATH/JAVA_HOME.")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise SetupError(f"could not read the Java version from `java -version`: {out.strip()!r}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major


def check_java() -> int:
    major = java_major()
    if major < MIN_JAVA:
        raise SetupError(f"Java {major} found; Spark 4.2 and Kafka 4 need Java {MIN_JAVA}+. "
                         f"Install a newer JDK and put it first on PATH.")
    return major


def _ivy_jar() -> Path:
    found = sorted((spark_home() / "jars").glob("ivy-*.jar"))
    if not found:
        raise SetupError("pyspark ships no ivy jar: reinstall the pinned pyspark (make demo)")
    return found[-1]


def _ivy_xml(coords: list[tuple[str, str, str]]) -> str:
    deps = "\n".join(f'    <dependency org="{g}" name="{a}" rev="{v}" conf="default->default"/>'
                     for g, a, v in coords)
    return (f'<ivy-module version="2.0">\n  <info organisation="dataplatform" module="jars"/>\n'
            f'  <dependencies>\n{deps}\n  </dependencies>\n</ivy-module>\n')


def _artifact(jar_name: str) -> str:
    """``org.apache.kafka__kafka-clients-3.9.2.jar`` -> ``kafka-clients``."""
    base = jar_name.split("__", 1)[-1]
    return re.sub(r"-\d[^-]*(-[0-9A-Za-z.]+)?\.jar$", "", base)


def _drop_what_spark_ships(folder: Path) -> None:
    # Spark's own jars win: a second, older copy of hadoop, parquet or scala on the classpath
    # is the classic source of NoSuchMethodError.
    shipped = {_artifact(p.name) for p in (spark_home() / "jars").glob("*.jar")}
    for jar in folder.glob("*.jar"):
        if _artifact(jar.name) in shipped:
            jar.unlink()


def fetch(name: str, log=logger.info) -> Path:
    target = set_dir(name)
    if (target / ".complete").exists():
        log(f"  {name} jars: cached in {target}")
        return target
    log(f"  {name} jars: resolving {', '.join(':'.join(c) for c in JAR_SETS[name])} from Maven Central ...")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "ivy.xml").write_text(_ivy_xml(JAR_SETS[name]))
        out = tmp / "jars"
        cmd = ["java", "-jar", str(_ivy_jar()), "-ivy", str(tmp / "ivy.xml"), "-confs", "default",
               "-cache", str(paths.cache_dir() / "ivy"), "-types", "jar", "bundle",
               "-retrieve", f"{out}/[organisation]__[artifact]-[revision](-[classifier]).[ext]"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            log_file = paths.cache_dir() / f"ivy-{name}.log"
            log_file.write_text(proc.stdout + proc.stderr)
            unresolved = re.findall(r"::\s+(\S+#\S+);\S*: (.+)", proc.stdout)
            detail = "; ".join(f"{m} {why}" for m, why in unresolved[:3]) or "see the log"
            raise SetupError(f"downloading the {name} jars from Maven Central failed ({detail}). "
                             f"Full log: {log_file}. Check that this machine reaches Maven "
                             f"Central (a proxy may need JAVA_TOOL_OPTIONS=-Dhttps.proxyHost=...), "
                             f"then run set-up again.")
        if name in ("spark", "s3"):  # both go on Spark's classpath
            _drop_what_spark_ships(out)
        (out / ".complete").write_text("\n".join(sorted(p.name for p in out.glob("*.jar"))) + "\n")
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    log(f"  {name} jars: {len(list(target.glob('*.jar')))} jars in {target}")
    return target


def main() -> int:
    try:
        major = check_java()
        logger.info(f"set-up: Java {major} found")
        for name in SETUP_SETS:
            fetch(name)
    except SetupError as exc:
        logger.error(f"set-up failed: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    from runners import logs
    logs.setup()
    sys.exit(main())
