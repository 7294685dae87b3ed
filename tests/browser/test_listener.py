"""The listener page in a real browser (headless Chromium) against a real `botify serve`: a person's
clicks through a session of 3 tracks end up in the service's event log, as shown on the page."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.lab.listening import ROUTING, ListenerServer, make_world, read_events, running_service


@pytest.fixture
def page(tmp_path, redis_server):
    """(listener server, the service's log folder): the listener on a tiny world, against
    `botify serve` on that world's catalog."""
    world_dir = tmp_path / "world"
    world = make_world(world_dir)
    with running_service(tmp_path, world_dir, redis_server.url, "browser") as (service, log_dir):
        listener = ListenerServer(world, service.url)
        yield listener, log_dir
        listener.stop()


def click(browser: WebDriver, element_id: str) -> None:
    """Click a button that submits a form, and wait for the page it leads to."""
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, element_id).click()
    WebDriverWait(browser, 10).until(expected_conditions.staleness_of(old))


def text(browser: WebDriver, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def test_a_session_clicked_through_in_the_browser_is_in_the_log(browser, screenshot, page):
    listener, log_dir = page
    browser.get(listener.url + "/")
    user = int(browser.find_element(By.ID, "user").get_attribute("value") or "")
    click(browser, "start")
    assert text(browser, "user") == str(user)
    arm = text(browser, "arm")
    shown = []  # (track, title) as the page showed each recommendation
    for button in ("next-2", "next-3", "last-1"):  # half, all of it, then a quarter and stop
        shown.append((int(text(browser, "track")), text(browser, "title")))
        assert text(browser, "artist") and text(browser, "genre")
        if button == "last-1":
            screenshot("listener_session")
        click(browser, button)
    assert text(browser, "ended").startswith(f"Session of user {user} ended after 3 tracks")
    screenshot("listener_ended")

    events = read_events(log_dir)
    assert [(e["message"], e["user"]) for e in events] == [("next", user)] * 3 + [("last", user)]
    assert [e["time"] for e in events] == [1.0, 0.5, 1.0, 0.25]
    tracks = [track for track, _ in shown]
    assert [e["recommendation"] for e in events[:3]] == tracks
    assert [e["track"] for e in events[1:]] == tracks
    assert all(e["experiments"][ROUTING] == arm for e in events)
    describe = listener.listener.describe
    assert [(track, describe(track)["title"]) for track in tracks] == shown
