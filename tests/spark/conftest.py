"""One Spark session for every Spark test (starting a JVM takes about 10 s here): `local[2]`,
one shuffle partition (the tests' logs are small), no UI, errors only in the log. Made by the
engines' own offline.logs.spark_session, so a command run in-process with `--engine spark` gets
this session back instead of starting another. CI has Java 17; without Java the fixture fails
saying what to install: Spark's tests must run, not skip."""

from __future__ import annotations

import pytest

from offline.logs.errors import InputError
from offline.logs.spark_session import spark_session

MASTER = "local[2]"


@pytest.fixture(scope="session")
def spark():
    try:
        session = spark_session(MASTER, {"spark.sql.shuffle.partitions": "1"})
    except InputError as error:
        pytest.fail(f"Spark cannot start: {error}", pytrace=False)
    yield session
    session.stop()
