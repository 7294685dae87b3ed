"""The event log's loss records (`lost_events.ndjson`, offline.logs.losses) beside the files the
Spark engine reads, on any file system Spark reaches.

On the local file system the records are offline.logs.losses' own (the same files, the same
names, so the two engines' reports name them alike); elsewhere (`hdfs://`, `s3a://`) each
folder's file is read through Hadoop's FileSystem API and named by its URI.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from botify.lognames import LOST_FILE
from offline.logs.losses import find_loss_records, parse_loss_records
from offline.logs.spark_files import LogFile

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_loss_records(spark: SparkSession, files: list[LogFile]) -> list[dict]:
    """The loss records in the folders of `files`, each folder once, in the files' order."""
    local = [urlparse(file.uri) for file in files]
    if all(uri.scheme in ("", "file") for uri in local):
        return find_loss_records([Path(uri.path) for uri in local])
    jvm = spark._jvm
    assert jvm is not None  # a session on a JVM (not Spark Connect)
    conf = spark._jsc.hadoopConfiguration()
    folders = dict.fromkeys(file.uri.rsplit("/", 1)[0] for file in files)
    records = []
    for folder in folders:
        path = jvm.org.apache.hadoop.fs.Path(f"{folder}/{LOST_FILE}")
        fs = path.getFileSystem(conf)
        if not fs.isFile(path):
            continue
        stream = fs.open(path)
        try:
            text = bytes(stream.readAllBytes()).decode(errors="replace")
        finally:
            stream.close()
        records += parse_loss_records(text, path.toString())
    return records
