"""A real browser for the tests of botify's pages: headless Chromium driven by Selenium.

It is Debian's `chromium` with its `chromium-driver` (.ci/run installs both when missing), driven
through /usr/bin/chromedriver so that Selenium Manager never tries to download a browser or a
driver. One browser serves the whole session (starting one takes about a second); each test opens
its own page in it. `screenshot(name)` saves what the window shows under tests/artifacts/ (git
ignored, kept by CI as an artifact), named after the test unless a name is given."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1280, 1000)
# BOTIFY_TEST_ARTIFACTS moves them (a CI job that uploads a folder of its own).
ARTIFACTS = Path(os.environ.get("BOTIFY_TEST_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    """Headless Chromium, shared by the session's tests (each opens its own URL)."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        # Fail, never skip: CI must run the browser tests (.ci/run installs these).
        pytest.fail(
            f"{' and '.join(missing)} missing: "
            "apt-get install -y chromium chromium-driver (as .ci/run does)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",  # containers' /dev/shm is small
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshot(browser: webdriver.Chrome, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """`screenshot()` or `screenshot("name")`: the window's picture saved as a PNG artifact;
    `full_page=True`: the whole page, the window stretched to its height for the picture."""

    def save(name: str | None = None, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name or request.node.name)
        path = ARTIFACTS / f"{stem}.png"
        if full_page:
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.set_window_size(WINDOW[0], max(WINDOW[1], int(height) + 150))
        try:
            if not browser.save_screenshot(str(path)):
                raise AssertionError(f"the browser could not save a screenshot to {path}")
        finally:
            if full_page:
                browser.set_window_size(*WINDOW)
        return path

    return save
