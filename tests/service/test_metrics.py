"""GET /metrics: Prometheus' text format, parsed with prometheus_client's own parser; its counts
against the event log's lines, in one process and under gunicorn with two workers (one of them
killed hard), on a real Redis and a real Redis Cluster."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from botify.metrics_dir import VARIABLE, MetricsDir
from lab.metrics_check import check_day
from tests.conftest import small_dataset, write_broken_plugin
from tests.service.test_worker_kill import gunicorn_master, worker_pids

TWO_ARMS = [
    {
        "name": "EXP",
        "arms": {
            "C": [{"recommender": "contextual", "source": "i2i"}],
            "T1": [{"recommender": "random"}],
        },
    }
]


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics: (name, labels) -> value; the page must parse."""
    answer = requests.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (n, got), value in samples.items() if n == name and wanted <= got)


def answered_per_arm(samples: dict) -> Counter:
    """/next and /last answered 200, by arm of EXP."""
    counts: Counter = Counter()
    for (name, labels), value in samples.items():
        found = dict(labels)
        if (
            name == "botify_requests_total"
            and found["endpoint"] in ("next", "last")
            and found["status"] == "200"
            and found["experiment"] == "EXP"
        ):
            counts[found["arm"]] += int(value)
    return counts


def logged_per_arm(log_dir: Path) -> Counter:
    counts: Counter = Counter()
    for path in log_dir.glob("events.jsonl*"):
        for line in path.read_text().splitlines():
            counts[json.loads(line)["experiments"]["EXP"]] += 1
    return counts


def listen(url: str, endpoint: str, user: object, body: object) -> int:
    return requests.post(f"{url}/{endpoint}/{user}", json=body, timeout=10).status_code


def test_metrics_count_every_answer_by_endpoint_arm_status_and_link(
    tmp_path, monkeypatch, loaded, serve_app
):
    plugin = write_broken_plugin(tmp_path)  # raises on every request
    monkeypatch.syspath_prepend(str(tmp_path))
    experiments = [
        {
            "name": "EXP",
            "arms": {"C": [{"recommender": plugin}], "T1": [{"recommender": "random"}]},
        }
    ]
    config, _ = loaded(experiments=experiments)
    server = serve_app(config)
    for user in range(30):
        assert listen(server.url, "next", user, {"track": 3, "time": 0.5}) == 200
    for user in range(10):
        assert listen(server.url, "last", user, {"track": 4, "time": 1.0}) == 200
    assert listen(server.url, "next", "x", {"track": 3, "time": 0.5}) == 400
    assert listen(server.url, "next", 5, {"track": 3, "time": 7}) == 400
    assert listen(server.url, "next", 5, {"track": 100_000, "time": 0.5}) == 404
    assert requests.get(f"{server.url}/no/such/page", timeout=10).status_code == 404
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200

    samples = scrape(server.url)
    logged = Counter(event["experiments"]["EXP"] for event in server.events())
    assert answered_per_arm(samples) == logged
    assert set(logged) == {"C", "T1"}
    # A refused request counts under its endpoint and status; with the user known, its arm.
    assert total(samples, "botify_requests_total", endpoint="next", arm="", status="400") == 1
    arm_of_5 = next(e["experiments"]["EXP"] for e in server.events() if e["user"] == 5)
    for status in ("400", "404"):
        assert total(samples, "botify_requests_total", endpoint="next", status=status, arm=arm_of_5)
    assert total(samples, "botify_requests_total", endpoint="next", status="404") == 1
    assert total(samples, "botify_requests_total", endpoint="other", status="404") == 1
    assert total(samples, "botify_requests_total", endpoint="healthz", status="200") == 1
    # Answers by the link that gave them; arm C's first link always fails, so falls back.
    nexts = [e for e in server.events() if e["message"] == "next"]
    by_link = Counter((e["experiments"]["EXP"], e["recommender"]) for e in nexts)
    for (arm, link), count in by_link.items():
        assert total(samples, "botify_answers_total", arm=arm, link=link) == count
    in_c = sum(e["experiments"]["EXP"] == "C" for e in nexts)
    assert total(samples, "botify_fallbacks_total", arm="C") == in_c > 0
    assert total(samples, "botify_fallbacks_total", arm="T1") == 0
    assert total(samples, "botify_link_failures_total", arm="C", link=plugin) == in_c
    # Latency: every request in its histogram, the answered ones' work time in the other.
    assert total(samples, "botify_request_duration_seconds_count", endpoint="next") == 33
    assert total(samples, "botify_request_work_seconds_count") == len(server.events())
    assert total(samples, "botify_events_written_total") == len(server.events())
    assert total(samples, "botify_events_lost_total", reason="write_failed") == 0
    version = int(server.events()[0]["data_version"].split("-")[0])
    assert total(samples, "botify_data_version") == version
    # Prometheus asks for OpenMetrics first: the same counts in that format.
    openmetrics = requests.get(
        f"{server.url}/metrics",
        headers={"Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"},
        timeout=10,
    )
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    families = {f.name: f for f in openmetrics_families(openmetrics.text)}
    assert sum(
        s.value
        for s in families["botify_requests"].samples
        if s.name == "botify_requests_total"
        and s.labels["endpoint"] in ("next", "last")
        and s.labels["status"] == "200"
    ) == sum(logged.values())
    # /healthz keeps its own account as before.
    health = requests.get(f"{server.url}/healthz", timeout=10).json()
    assert health["log"]["written"] == len(server.events())
    assert health["failed_links"] == {"C": {plugin: in_c}}


def metrics_dir_of(serve_log: Path) -> Path:
    found = re.search(r"workers' metrics in (\S+) \(deleted at the stop\)", serve_log.read_text())
    assert found, serve_log.read_text()
    return Path(found.group(1))


def versions_of(url: str, workers: set[int]) -> dict:
    """A scrape once every worker of `workers`, and no other, shows its data version (a worker
    copies it in once a second after its first request: fresh connections reach each worker)."""
    wanted = {str(pid) for pid in workers}
    deadline = time.monotonic() + 30
    while True:
        for _ in range(10):
            requests.get(f"{url}/healthz", timeout=10)
        samples = scrape(url)
        shown = {dict(labels)["pid"] for name, labels in samples if name == "botify_data_version"}
        if shown == wanted or time.monotonic() > deadline:
            assert shown == wanted
            return samples
        time.sleep(0.2)


def test_two_workers_sum_and_the_counts_of_killed_and_reloaded_workers_stay(tmp_path, served):
    service, log_dir = served(
        data=small_dataset(tmp_path / "data", n_tracks=100, n_users=200),
        experiments=TWO_ARMS,
    )
    folder = metrics_dir_of(service.log)
    master = gunicorn_master(service.pid)
    session = requests.Session()

    def traffic(users: range) -> None:
        for user in users:
            body = {"track": user % 100, "time": 0.5}
            assert session.post(f"{service.url}/next/{user}", json=body, timeout=10).ok
            if user % 4 == 0:
                assert session.post(f"{service.url}/last/{user}", json=body, timeout=10).ok

    traffic(range(0, 120))
    workers = set(worker_pids(master))
    assert len(workers) == 2
    samples = versions_of(service.url, workers)
    assert answered_per_arm(samples) == logged_per_arm(log_dir)
    counter_files = {p.name for p in folder.glob("counter_*.db")}
    assert counter_files == {f"counter_{pid}.db" for pid in workers}

    killed = next(iter(workers))
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        killed in worker_pids(master) or len(worker_pids(master)) < 2
    ):
        time.sleep(0.05)
    session.close()
    session = requests.Session()  # the killed worker's connection is gone
    traffic(range(120, 200))
    session.close()
    # The dead worker's counts are still summed; its gauges are gone (gunicorn's child_exit).
    samples = versions_of(service.url, set(worker_pids(master)))
    assert answered_per_arm(samples) == logged_per_arm(log_dir)
    assert sum(logged_per_arm(log_dir).values()) == 200 + 50
    assert (folder / f"counter_{killed}.db").exists()

    # A graceful reload (new workers, the old ones exit): still every count, in the same folder.
    before = set(worker_pids(master))
    service.reload()
    while time.monotonic() < deadline + 30 and (
        set(worker_pids(master)) & before or len(worker_pids(master)) < 2
    ):
        time.sleep(0.05)
    session = requests.Session()
    traffic(range(200, 240))
    session.close()
    samples = versions_of(service.url, set(worker_pids(master)))
    assert answered_per_arm(samples) == logged_per_arm(log_dir)
    assert sum(logged_per_arm(log_dir).values()) == 240 + 60
    service.stop()
    assert not folder.exists(), "botify serve's own metrics folder is left behind"


def test_a_given_metrics_folder_loses_only_the_last_runs_value_files(tmp_path, monkeypatch):
    folder = tmp_path / "metrics"
    folder.mkdir()
    for name in ("counter_12.db", "histogram_12.db", "gauge_liveall_12.db", "notes.db", "keep"):
        (folder / name).write_text("x")
    monkeypatch.setenv(VARIABLE, str(folder))
    prepared = MetricsDir().prepare()
    assert sorted(p.name for p in folder.iterdir()) == ["keep", "notes.db"]
    assert prepared.stale == 3 and "3 files of a previous run deleted" in prepared.describe()
    prepared.remove()
    assert folder.exists() and os.environ[VARIABLE] == str(folder)


def test_a_metrics_folder_that_cannot_be_made_is_named(tmp_path, monkeypatch):
    from botify.config import ConfigError

    (tmp_path / "file").write_text("")
    monkeypatch.setenv(VARIABLE, str(tmp_path / "file" / "metrics"))
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR: cannot make"):
        MetricsDir().prepare()


def test_the_experiments_check_keeps_the_page_and_says_when_the_log_differs(
    tmp_path, loaded, serve_app
):
    config, _ = loaded(experiments=TWO_ARMS)
    server = serve_app(config)
    for user in range(12):
        assert listen(server.url, "next", user, {"track": 3, "time": 0.5}) == 200
    log_dir = server.service.events.path.parent
    server.service.events.flush()
    logged = logged_per_arm(log_dir)
    line = check_day(server.url, tmp_path, 1, log_dir, "EXP")
    assert line.startswith("/metrics (metrics.day1.txt): answers per arm as in the log: ")
    assert line.endswith(f"C {logged['C']:,}, T1 {logged['T1']:,}")
    assert "botify_requests_total" in (tmp_path / "metrics.day1.txt").read_text()
    # An event the service did not answer (a line added by hand) is a difference, said.
    with open(log_dir / "events.jsonl", "a") as log:
        log.write(json.dumps({"experiments": {"EXP": "C"}}) + "\n")
    line = check_day(server.url, tmp_path, 2, log_dir, "EXP")
    assert line.startswith("warning: /metrics (metrics.day2.txt) counts answers per arm of EXP")
    assert f"log C {logged['C'] + 1:,}, T1 {logged['T1']:,}" in line
