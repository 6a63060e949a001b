"""Headless Chromium for the web view's tests, driven over the DevTools protocol on a pipe.

`--remote-debugging-pipe` makes Chromium read JSON commands on fd 3 and write answers and
events on fd 4, NUL-separated: no websocket client, no extra package, no port. One browser
renders every page at each width: the DOM after load (what `--dump-dom` prints), a screenshot
(what `--screenshot` writes), the document's scroll width (does anything overflow a phone?)
and every console message, CSP violation and script error the page caused.

Also a script, for the README's screenshot (the same code path as the test):

    PYTHONPATH=. python -m tests.browser DEMO_DB /rumours/xiaomi-ev docs/rumour-page.png
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

# Without the background-networking flags Chromium phones home at start-up; on a closed
# network those connections are refused and logged. The pages themselves fetch nothing.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
]
NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
TIMEOUT = 30.0  # seconds for any one answer from the browser


def find_chromium() -> str | None:
    return next((found for name in NAMES if (found := shutil.which(name))), None)


@dataclass(frozen=True)
class Rendered:
    url: str
    width: int
    dom: str  # document.documentElement.outerHTML once loaded
    scroll_width: int  # wider than `width`: the page scrolls sideways
    problems: list[str]  # console errors and warnings, CSP violations, uncaught exceptions
    screenshot: bytes  # PNG of the viewport


class Chromium:
    """One headless browser; `render` each page, then `close` (or use `with`)."""

    def __init__(self, binary: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="rm-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds() -> None:  # in the child: its fd 3 reads our commands, fd 4 answers
            # by way of fresh copies, as either pipe end may itself be fd 3 or 4
            reading, writing = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            pass_fds=(3, 4),  # kept open after wire_fds, when the others are closed
            preexec_fn=wire_fds,  # the child runs no threads before exec
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Chromium:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self._call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._profile.cleanup()

    def render(self, url: str, width: int, height: int = 900) -> Rendered:
        """Load `url` in a fresh tab `width` CSS pixels wide (a phone below 600), wait for the
        load event, and read back the DOM, the layout width, a screenshot and any problems."""
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        try:
            for domain in ("Page", "Runtime", "Log"):
                self._call(f"{domain}.enable", session=session)
            metrics = {"width": width, "height": height, "deviceScaleFactor": 1}
            metrics["mobile"] = width < 600
            self._call("Emulation.setDeviceMetricsOverride", metrics, session=session)
            self._events.clear()
            self._call("Page.navigate", {"url": url}, session=session)
            self._wait_for("Page.loadEventFired", session)
            dom = self._evaluate("document.documentElement.outerHTML", session)
            scroll = self._evaluate("document.documentElement.scrollWidth", session)
            shot = self._call("Page.captureScreenshot", {"format": "png"}, session=session)
            return Rendered(
                url,
                width,
                dom,
                int(scroll),
                self._problems(session),
                base64.b64decode(shot["data"]),
            )
        finally:
            self._call("Target.closeTarget", {"targetId": target})

    def _evaluate(self, expression: str, session: str) -> Any:
        params = {"expression": expression, "returnByValue": True}
        return self._call("Runtime.evaluate", params, session=session)["result"]["value"]

    def _problems(self, session: str) -> list[str]:
        found = []
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(f"{params['entry']['source']}: {params['entry']['text']}")
            elif method == "Runtime.consoleAPICalled":
                args = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                found.append(f"console.{params['type']}: {args}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
        return found

    def _call(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._receive()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self._events.append(answer)

    def _wait_for(self, method: str, session: str) -> None:
        seen = lambda: any(  # noqa: E731
            e.get("method") == method and e.get("sessionId") == session for e in self._events
        )
        while not seen():
            self._events.append(self._receive())

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError(f"no answer from chromium within {TIMEOUT:g}s")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError(f"chromium exited (code {self.process.poll()})")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(message))


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of pixels (RGB or RGBA, 8 bits) of a PNG, with stdlib only."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth}/{colour}"
    step = 4 if colour == 6 else 3
    raw, stride = zlib.decompress(idat), width * step
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + guess) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def ink(png: bytes) -> tuple[int, float]:
    """How many colours a screenshot holds and what share of it is not the background (the
    top-left pixel's colour): a blank page has one colour and no ink."""
    width, _, rows = png_pixels(png)
    step = len(rows[0]) // width
    background = rows[0][:step]
    colours, inked, total = set(), 0, 0
    for row in rows[::4]:  # every fourth row is plenty, and four times faster
        for x in range(0, len(row), step):
            pixel = row[x : x + step]
            colours.add(pixel)
            inked += pixel != background
            total += 1
    return len(colours), inked / total


def main() -> None:
    """Screenshot one page of a database's web view (the README's picture)."""
    from monitor.db import Database
    from monitor.service.health import HealthCheck, StatusServer
    from monitor.service.metrics import Metrics

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("database", type=Path)
    parser.add_argument("path", help="the page, e.g. /rumours/xiaomi-ev")
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--height", type=int, default=640)
    args = parser.parse_args()
    binary = find_chromium()
    if binary is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    database = Database(f"sqlite:///{args.database}")
    health = HealthCheck(database, scheduler_running=lambda: True)
    server = StatusServer("127.0.0.1:0", health, Metrics()).start()
    try:
        with Chromium(binary) as browser:
            page = browser.render(f"http://{server.address}{args.path}", args.width, args.height)
    finally:
        server.stop()
        database.dispose()
    if page.problems:
        raise SystemExit("the page has problems: " + "; ".join(page.problems))
    args.out.write_bytes(page.screenshot)
    print(f"{args.out}: {len(page.screenshot)} bytes, {args.width}x{args.height}")


if __name__ == "__main__":
    main()
