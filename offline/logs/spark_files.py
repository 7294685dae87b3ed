"""Which files the Spark engine reads: offline.logs.logfiles' rules on any file system Spark
reaches (a local folder, `hdfs://`, `s3a://`), listed through Hadoop's FileSystem API.

A folder is searched as logfiles.search_folder searches it: its own log files first (rotated
backups oldest first, then the live file, then other `*.jsonl`: botify.lognames' order), then
its sub-folders in name order, hidden ones skipped. A file named twice is read once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from botify.lognames import COURSE_LOG_FILE, LOG_FILE, age_order, is_log_name
from offline.logs.errors import InputError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class LogFile:
    name: str  # as the user named it, or its folder and the path below (the reports' name)
    uri: str  # fully qualified, as Spark's _metadata.file_path gives it
    size: int


def find_spark_files(spark: SparkSession, paths: list[str]) -> list[LogFile]:
    """The files to read, in reading order, each once."""
    jvm = spark._jvm
    assert jvm is not None  # a session on a JVM (not Spark Connect)
    conf = spark._jsc.hadoopConfiguration()
    found: list[LogFile] = []
    for text in paths:
        path = jvm.org.apache.hadoop.fs.Path(on_this_process(text))
        try:
            fs = path.getFileSystem(conf)
            qualified = fs.makeQualified(path)
            status = fs.getFileStatus(qualified) if fs.exists(qualified) else None
        except Exception as error:  # py4j's: a scheme without a file system, no credentials
            first = str(error).strip().splitlines()[0]
            raise InputError(f"cannot read {text}: {first}") from None
        if status is None:
            raise InputError(f"no such file or folder: {text}")
        if status.isDirectory():
            files = search(fs, qualified, text.rstrip("/"))
            if not files:
                raise InputError(
                    f"no event log files ({LOG_FILE}, {COURSE_LOG_FILE}, their .N backups, "
                    f"*.jsonl) under {text}"
                )
            found.extend(files)
        else:
            found.append(LogFile(text, qualified.toString(), status.getLen()))
    seen: set[str] = set()
    unique = []
    for file in found:
        if file.uri not in seen:
            seen.add(file.uri)
            unique.append(file)
    return unique


def on_this_process(text: str) -> str:
    """A local relative path made absolute here: the JVM resolves it against its own working
    folder, which is not this process's once it has changed folder (a command run in-process)."""
    return os.path.abspath(text) if not urlparse(text).scheme else text


def search(fs: Any, folder: Any, name: str) -> list[LogFile]:
    """The log files under `folder` (named `name` in reports), as os.walk would visit them."""
    entries = sorted(fs.listStatus(folder), key=lambda status: status.getPath().getName())
    files = [e for e in entries if e.isFile() and is_log_name(e.getPath().getName())]
    files.sort(key=lambda status: age_order(status.getPath().getName()))
    found = [
        LogFile(f"{name}/{e.getPath().getName()}", e.getPath().toString(), e.getLen())
        for e in files
    ]
    for entry in entries:
        child = entry.getPath().getName()
        if entry.isDirectory() and not child.startswith("."):
            found.extend(search(fs, entry.getPath(), f"{name}/{child}"))
    return found


def final_line(spark: SparkSession, file: LogFile, chunk: int = 1 << 16) -> bytes:
    """The bytes after the file's last newline (empty when it ends with one), read from its end
    a chunk at a time."""
    jvm = spark._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(file.uri)
    stream = path.getFileSystem(spark._jsc.hadoopConfiguration()).open(path)
    tail = b""
    try:
        end = file.size
        while end > 0:
            start = max(0, end - chunk)
            stream.seek(start)
            piece = bytes(stream.readNBytes(end - start))
            tail = piece + tail
            if b"\n" in piece:
                break
            end = start
    finally:
        stream.close()
    return tail[tail.rfind(b"\n") + 1 :]
