"""The web view in a real browser: headless Chromium renders every page at a phone's 390 px and
a desktop's 1280 px over the real listener.

Each page must load with no console message, CSP violation or script error, must not scroll
sideways, and must paint something; each rumour page's chart must be in the rendered DOM with
one marker per evidence. Where Chromium is missing these tests skip, unless
RUMOUR_MONITOR_REQUIRE_BROWSER=1 (set by .ci/run) turns the skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from lxml import html as lxml_html
from pytest_httpserver import HTTPServer

from monitor.db import Database
from monitor.service.health import SECURITY_HEADERS
from tests.browser import Chromium, Rendered, find_chromium, ink
from tests.service.test_webview import _seed, cli_stdout, serve

REQUIRE = "RUMOUR_MONITOR_REQUIRE_BROWSER"
WIDTHS = (390, 1280)
PAGES = ("/", "/?state=confirmed&sort=confidence&order=desc", "/feeds", "/nowhere", "/?sort=x")
# the one message an error page causes: the browser notes the page's own status
STATUS_NOTE = "network: Failed to load resource: the server responded with a status of {}"
RUMOURS = ("acme-widgets", "evil", "globex-ev", "gone")


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        message = "chromium not installed (apt-get install chromium)"
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{message}, and {REQUIRE}=1 requires the browser tests")
        pytest.skip(message)
    with Chromium(binary) as chromium:
        yield chromium


@pytest.fixture
def listener(
    write_config: Callable[..., Path], tmp_path: Path
) -> Iterator[tuple[httpx.Client, str]]:
    """The listener over an `init`-ed SQLite database with the web view tests' rumours."""
    url = f"sqlite:///{tmp_path / 'state' / 'rumours.db'}"
    cli_stdout(write_config(db_url=url), "init")
    database = Database(url)
    _seed(database)
    with serve(database) as client:
        yield client, str(client.base_url).rstrip("/")
    database.dispose()


def _check(page: Rendered, shots: Path) -> None:
    where = f"{page.url} at {page.width}px"
    address = urlsplit(page.url)
    path = address.path + (f"?{address.query}" if address.query else "")
    status = {"/nowhere": "404 (Not Found)", "/?sort=x": "400 (Bad Request)"}.get(path)
    expected = [STATUS_NOTE.format(status)] if status else []
    assert page.problems == expected, where
    assert page.scroll_width <= page.width, f"{where} scrolls sideways ({page.scroll_width}px)"
    shot = shots / f"{page.width}-{abs(hash(page.url))}.png"
    shot.write_bytes(page.screenshot)
    colours, share = ink(shot.read_bytes())
    assert colours > 8 and share > 0.002, f"{where}: the screenshot looks blank"


def test_every_page_renders_cleanly_on_a_phone_and_a_desktop(
    browser: Chromium, listener: tuple[httpx.Client, str], tmp_path: Path
) -> None:
    client, base = listener
    for width in WIDTHS:
        for path in PAGES:
            _check(browser.render(base + path, width), tmp_path)
        for rumour in RUMOURS:
            page = browser.render(f"{base}/rumours/{rumour}", width)
            _check(page, tmp_path)
            evidence = client.get(f"/rumours/{rumour}.json").json()["evidence"]
            tree = lxml_html.fromstring(page.dom)
            (chart,) = tree.xpath("//svg[contains(@class, 'confidence')]")
            marks = chart.xpath(".//a[@class='evidence-mark']")
            assert len(marks) == len(evidence), f"{rumour} at {width}px"
            for mark in marks:
                assert mark.findtext("title")
                assert tree.xpath(f"//tr[@id='{mark.get('href')[1:]}']")


def test_the_check_catches_a_page_that_breaks_the_policy(
    browser: Chromium, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The detector itself: a page with an inline script and an outside image, served with the
    listener's own headers, must be reported, or a clean result above means nothing."""
    bad = (
        '<!doctype html><meta name="viewport" content="width=device-width">'
        "<p>hi</p><script>console.log('ran')</script>"
        '<img src="http://198.51.100.7/x.png">'
        '<div style="width:900px">wide</div>'
    )
    httpserver.expect_request("/bad").respond_with_data(
        bad, content_type="text/html", headers=SECURITY_HEADERS
    )
    page = browser.render(httpserver.url_for("/bad"), 390)
    assert any("Content Security Policy" in p and "inline" in p for p in page.problems)
    assert any("198.51.100.7" in p for p in page.problems)
    assert page.scroll_width > 390
    blank = browser.render("about:blank", 390)
    assert ink(blank.screenshot)[1] == 0  # the blankness check would catch an empty page
