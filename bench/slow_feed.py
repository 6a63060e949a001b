"""How long a slow site delays another feed's alert in one `rumour-monitor poll`.

Two feeds on a loopback server: "Slow" (host `localhost`), whose entries link to pages that
never answer, and "Wire" (host `127.0.0.1`), whose one entry confirms a tracked rumour. The
benchmark runs `poll` twice, with and without the slow feed, and prints when Wire's alert was
printed (the console channel) and when `poll` ended. The difference between the two alert
times is the delay the slow feed caused. Model loading is in both runs.

    python bench/slow_feed.py --entries 12 --timeout 10s
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SEED = """
[[rumour]]
id = "acme-widgets"
claim = "Acme Corp will buy Widget Works"
entities = ["Acme|Acme Corp", "Widget Works"]
"""
ALERT = "[rumour] acme-widgets"


def _rss(items: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    ).encode()


def _serve(port: int, entries: int) -> None:
    slow = "".join(
        f"<item><title>Slow {n}</title><link>http://localhost:{port}/slow/{n}</link>"
        f"<guid>s{n}</guid><description>Weather report {n}.</description></item>"
        for n in range(entries)
    )
    wire = (
        f"<item><title>Acme Corp signs deal</title><link>http://127.0.0.1:{port}/a/1</link>"
        "<guid>a1</guid><description>Acme Corp signed a definitive agreement to buy Widget "
        "Works, the companies said in a joint statement.</description></item>"
    )
    feeds = {"/slow.xml": _rss(slow), "/wire.xml": _rss(wire)}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/slow/"):
                time.sleep(3600)  # never answers
            body = feeds.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def _poll(port: int, timeout: str, *, slow: bool) -> tuple[float | None, float]:
    """Seconds from the start of `poll` to Wire's alert, and to its end."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "seeds").mkdir()
        (root / "seeds" / "s.toml").write_text(SEED, encoding="utf-8")
        feeds = f'[[feeds]]\nname = "Wire"\nurl = "http://127.0.0.1:{port}/wire.xml"\n'
        if slow:
            feeds += f'\n[[feeds]]\nname = "Slow"\nurl = "http://localhost:{port}/slow.xml"\n'
        config = root / "config.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{root}/r.db"\n\n[polling]\ntimeout = "{timeout}"\n'
            f"\n{feeds}",
            encoding="utf-8",
        )
        command = [sys.executable, "-m", "monitor", "--config", str(config)]
        # cwd: `python -m` puts it first on sys.path, and PYTHONPATH must choose the code
        subprocess.run([*command, "init"], check=True, capture_output=True, cwd=root)
        started = time.monotonic()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # lines as they are printed
        child = subprocess.Popen([*command, "poll"], stdout=subprocess.PIPE, env=env, cwd=root)
        assert child.stdout is not None
        alert_at = None
        # readline, not iteration: each line is timed when it is printed, not when a chunk fills
        for raw in iter(child.stdout.readline, b""):
            line = raw.decode()
            if line.startswith(ALERT) and alert_at is None:
                alert_at = time.monotonic() - started
            if line.startswith(("Slow:", "Wire:", "polled", ALERT)):
                print(f"    {time.monotonic() - started:6.1f} s  {line.rstrip()[:100]}")
        child.wait()
        return alert_at, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=12, help="the slow feed's entries")
    parser.add_argument("--timeout", default="10s", help="polling.timeout")
    parser.add_argument("--port", type=int, default=18767)
    args = parser.parse_args()
    server = multiprocessing.Process(target=_serve, args=(args.port, args.entries), daemon=True)
    server.start()
    time.sleep(0.5)
    print(f"code: {os.environ.get('PYTHONPATH') or 'installed'}")
    try:
        print("without the slow feed:")
        alone, _ = _poll(args.port, args.timeout, slow=False)
        print(f"with a slow feed ({args.entries} pages that never answer, timeout {args.timeout}):")
        delayed, total = _poll(args.port, args.timeout, slow=True)
    finally:
        server.terminate()
    if alone is None or delayed is None:
        print("no alert seen: the rumour did not change state")
        return
    print(
        f"Wire's alert after {alone:.1f} s alone, {delayed:.1f} s beside the slow feed: "
        f"delayed {delayed - alone:.1f} s; poll took {total:.1f} s"
    )


if __name__ == "__main__":
    main()
