"""The shared browser fixture works: Chromium renders a page, Selenium reads it, a screenshot is
saved as an artifact."""

from pathlib import Path


def test_browser_reads_a_page_and_saves_a_screenshot(browser, screenshot, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html><body><h1 id='greeting'>hello</h1></body></html>")
    browser.get(page.as_uri())
    assert browser.find_element("id", "greeting").text == "hello"
    saved = screenshot()
    assert saved.name == "test_browser_reads_a_page_and_saves_a_screenshot.png"
    assert saved.read_bytes().startswith(b"\x89PNG")
