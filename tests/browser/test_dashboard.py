"""`botify dashboard` in a real browser (headless Chromium): the numbers on the page are botify
ab's on the same events, over a finished experiment and over one whose log grows while the page
is open. Each test saves a screenshot (tests/artifacts/)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.remote.webdriver import WebDriver

from tests.dashboard.logs import log_lines
from tests.dashboard.report import AbReport, botify_ab
from tests.dashboard.server import DashboardCommand

DEADLINE = 60.0  # seconds for the page to show what the test waits for (a busy CI machine)
PAGE_ELEMENTS = (
    "return Array.from(document.querySelectorAll('[id]'))"
    ".map(e => [e.id, e.textContent.trim(), e.dataset.value ?? null]);"
)


def page_figures(browser: WebDriver) -> dict[str, tuple[str, str | None]]:
    """Every element of the page with an id: its text and data-value, read at one moment."""
    return {id_: (text, value) for id_, text, value in browser.execute_script(PAGE_ELEMENTS)}


def bold(cell: str) -> str:
    return cell.replace("*", "")


def differences(page: dict[str, tuple[str, str | None]], report: AbReport) -> list[str]:
    """Where the page's figures differ from botify ab's report (empty: none)."""
    wrong = []

    def check(element: str, expected: str) -> None:
        shown = page.get(element, ("(missing)", None))[0]
        if shown != expected:
            wrong.append(f"{element}: page {shown!r}, botify ab {expected!r}")

    for arm in report.arms:
        prefix = f"arm-{arm['arm']}"
        check(f"{prefix}-users", arm["users"])
        check(f"{prefix}-sessions", arm["sessions"])
        check(f"{prefix}-events", arm["events"])
        check(f"{prefix}-incomplete_sessions", arm["incomplete sessions"])
        check(f"{prefix}-latency_p50_ms", arm["latency p50, ms"])
        check(f"{prefix}-latency_p99_ms", arm["latency p99, ms"])
    for row in report.effects:
        prefix = f"effect-{row['arm']}-{row['metric']}"
        check(f"{prefix}-control_mean", row["control"])
        check(f"{prefix}-treatment_mean", row["treatment"])
        check(f"{prefix}-effect", row["effect %"])
        check(f"{prefix}-interval", row["interval %"])
        check(f"{prefix}-significant", bold(row["significant"]))
        check(f"{prefix}-p_holm", row["p Holm"])
        check(f"{prefix}-significant_holm", bold(row["significant (Holm)"]))
    for row in report.always_valid:
        prefix = f"effect-{row['arm']}-{row['metric']}"
        check(f"{prefix}-sequential_interval", row["always-valid interval %"])
        check(f"{prefix}-sequential_p", row["p"])
    return wrong


def exact_differences(page: dict[str, tuple[str, str | None]], report: AbReport) -> list[str]:
    """The page's data-values against effects.csv's full-precision numbers (10 decimals)."""
    wrong = []
    for row in report.csv:
        for column in ("control_mean", "treatment_mean", "effect", "lower", "upper"):
            element = f"effect-{row['treatment']}-{row['metric']}-{column}"
            value = page.get(element, ("", None))[1]
            if value is None or not math.isclose(float(value), float(row[column]), abs_tol=1e-9):
                wrong.append(f"{element}: page {value}, effects.csv {row[column]}")
    return wrong


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll until `condition()` holds; fail naming `what` after DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the page did not show {what}")
        time.sleep(0.2)


def shows_events(browser: WebDriver, events: int) -> Callable[[], bool]:
    def condition() -> bool:
        page = page_figures(browser)
        return page.get("reader-events", ("", None))[1] == str(events) and "arm-C-users" in page

    return condition


def with_failures(lines: list[bytes], every: int) -> list[bytes]:
    """The lines with every `every`-th `next` event's chain naming a failed link, as the service
    logs a link that raised before its fallback answered."""
    changed = []
    for number, line in enumerate(lines):
        event = json.loads(line)
        if event["message"] == "next" and number % every == 0:
            event["failed"] = ["sasrec_i2i"]
            event["recommender"] = "top_pop"
        changed.append(json.dumps(event).encode() + b"\n")
    return changed


def test_the_page_over_a_finished_experiment_shows_botify_abs_numbers(
    browser, screenshot, tmp_path: Path
) -> None:
    logs = tmp_path / "logs" / "replica-0"
    logs.mkdir(parents=True)
    lines = with_failures(log_lines(users=400, seed=3, effect=0.08), every=9)
    (logs / "events.jsonl").write_bytes(b"".join(lines))
    first, last = json.loads(lines[0])["timestamp"], json.loads(lines[-1])["timestamp"]
    loss = {"lost": 7, "from_timestamp": first, "to_timestamp": last, "error": "disk full"}
    (logs / "lost_events.ndjson").write_text(json.dumps(loss) + "\n")
    report = botify_ab(tmp_path / "logs", tmp_path / "ab")
    assert report.warnings  # the failed links and the lost events, said by botify ab

    dashboard = DashboardCommand(str(tmp_path / "logs"), "--experiment", "AB")
    try:
        browser.get(dashboard.url)
        wait_for(shows_events(browser, len(lines)), f"{len(lines)} events")
        page = page_figures(browser)
        screenshot(full_page=True)
    finally:
        dashboard.stop()
    assert differences(page, report) == []
    assert exact_differences(page, report) == []
    shown = [text for id_, (text, _) in page.items() if id_.startswith("serving-warning-")]
    assert shown == report.warnings
    assert page["serving-lost"][1] == "7"
    assert page["verdict-headline"][0]  # the verdict is said


def test_the_page_follows_a_growing_log_to_botify_abs_numbers(
    browser, screenshot, tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    live = folder / "events.jsonl"
    lines = log_lines(users=400, seed=5, effect=0.08)
    cut = len(lines) // 3
    live.write_bytes(b"".join(lines[:cut]))

    dashboard = DashboardCommand(str(folder), "--experiment", "AB")
    try:
        browser.get(dashboard.url)
        wait_for(shows_events(browser, cut), f"the first {cut} events")
        early = botify_ab(folder, tmp_path / "ab-early")
        assert differences(page_figures(browser), early) == []

        # The service goes on writing: the rest arrives in two writes, the first one ending
        # in the middle of a line.
        rest = b"".join(lines[cut:])
        middle = len(rest) // 2
        with open(live, "ab") as file:
            file.write(rest[:middle])
            file.flush()
            time.sleep(0.5)  # a refresh or two sees the line half written
            file.write(rest[middle:])
        wait_for(shows_events(browser, len(lines)), f"all {len(lines)} events")
        page = page_figures(browser)
        screenshot(full_page=True)
    finally:
        dashboard.stop()
    final = botify_ab(folder, tmp_path / "ab-final")
    assert differences(page, final) == []
    assert exact_differences(page, final) == []
    assert page["reader-bytes"][1] == str(live.stat().st_size)  # each byte parsed once
    # the page's numbers did change: the first third and the whole differ
    assert [a["sessions"] for a in early.arms] != [a["sessions"] for a in final.arms]
