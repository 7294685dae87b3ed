"""`botify experiment`'s look at the service's /metrics at the end of each day over HTTP: the page
is kept in the run folder (metrics.day<N>.txt, Prometheus' text format, the service's counts since
it started, over all its workers), and its answered /next and /last per arm of the day's routing
experiment are compared with the day's event log, line by line. They agree when every answer was
logged and counted; a difference is said, never hidden."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import requests
import ujson
from prometheus_client.parser import text_string_to_metric_families

from botify.lognames import is_log_name


def answered_per_arm(page: str, experiment: str) -> Counter[str]:
    """/next and /last answered 200 by arm of `experiment`, from a /metrics page."""
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "botify_requests_total"
                and labels.get("endpoint") in ("next", "last")
                and labels.get("status") == "200"
                and labels.get("experiment") == experiment
            ):
                counts[labels["arm"]] += int(sample.value)
    return counts


def logged_per_arm(log_dir: Path, experiment: str) -> Counter[str]:
    """Events by their arm of `experiment`, in every log file of `log_dir` (backups too); a line
    that does not parse counts under "?"."""
    counts: Counter[str] = Counter()
    for path in sorted(log_dir.iterdir()):
        if not is_log_name(path.name):
            continue
        with open(path, "rb") as file:
            for line in file:
                try:
                    counts[ujson.loads(line)["experiments"][experiment]] += 1
                except (ValueError, KeyError, TypeError):
                    counts["?"] += 1
    return counts


def describe(counts: Counter[str]) -> str:
    return ", ".join(f"{arm} {count:,}" for arm, count in sorted(counts.items())) or "none"


def check_day(url: str, run: Path, day: int, log_dir: Path, experiment: str) -> str:
    """Keep the service's /metrics as metrics.day<day>.txt and compare; the line to print."""
    try:
        answer = requests.get(f"{url}/metrics", timeout=10)
        answer.raise_for_status()
    except requests.RequestException as error:
        return f"warning: the service's /metrics could not be read ({error})"
    (run / f"metrics.day{day}.txt").write_text(answer.text)
    counted = answered_per_arm(answer.text, experiment)
    logged = logged_per_arm(log_dir, experiment)
    if counted == logged:
        return f"/metrics (metrics.day{day}.txt): answers per arm as in the log: {describe(logged)}"
    return (
        f"warning: /metrics (metrics.day{day}.txt) counts answers per arm of {experiment} that "
        f"the log does not: /metrics {describe(counted)}; log {describe(logged)}"
    )
