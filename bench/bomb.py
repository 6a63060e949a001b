"""Peak memory of `rumour-monitor poll` against a compression bomb on a loopback server.

A feed (or the page its one entry links to) is served with `Content-Encoding: br`, `gzip` or
`deflate`: a small body that inflates to `--gib` GiB of spaces. `polling.max_bytes` (10 MiB by
default) should stop it with memory bounded by the cap, whatever the encoding. Prints the
body's size on the wire, how `poll` reported the feed, its wall time and its peak RSS.

    PYTHONPATH=. python bench/bomb.py --encoding br --gib 1
    PYTHONPATH=. python bench/bomb.py --encoding gzip --target page
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli

SEED = """
[[rumour]]
id = "acme-widgets"
claim = "Acme Corp will buy Widget Works"
"""


def bomb(encoding: str, gib: int) -> bytes:
    """`gib` GiB of spaces, compressed a MiB at a time (never held inflated)."""
    chunk = b" " * (1 << 20)
    if encoding == "br":
        br = brotli.Compressor(quality=5)
        parts = [br.process(chunk) for _ in range(gib * 1024)]
        return b"".join([*parts, br.finish()])
    wbits = 31 if encoding == "gzip" else 15
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [z.compress(chunk) for _ in range(gib * 1024)]
    return b"".join([*parts, z.flush()])


def _feed(port: int, *, items: bool) -> bytes:
    item = (
        f"<item><title>Acme news</title><guid>b1</guid><link>http://127.0.0.1:{port}/page</link>"
        "<description>Acme Corp will buy Widget Works, people said.</description></item>"
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bomb</title>'
        f"{item if items else ''}</channel></rss>"
    ).encode()


def _serve(port: int, body: bytes, encoding: str, target: str) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            bombed = self.path == f"/{target}" and encoding != "none"
            # The baseline's feed has no entry: no page, no model, like a bombed feed.
            data = body if bombed else _feed(port, items=encoding != "none")
            self.send_response(200)
            kind = "application/rss+xml" if self.path == "/feed" else "text/html"
            self.send_header("Content-Type", kind)
            if bombed:
                self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--encoding",
        choices=["br", "gzip", "deflate", "none"],
        default="br",
        help="none: a plain feed without entries, the baseline for a bombed feed",
    )
    parser.add_argument("--gib", type=int, default=1, help="inflated size, GiB")
    parser.add_argument("--target", choices=["feed", "page"], default="feed")
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    body = b"" if args.encoding == "none" else bomb(args.encoding, args.gib)
    server = multiprocessing.Process(
        target=_serve, args=(args.port, body, args.encoding, args.target), daemon=True
    )
    server.start()
    time.sleep(0.5)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "seeds").mkdir()
        (root / "seeds" / "s.toml").write_text(SEED, encoding="utf-8")
        config = root / "config.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{root}/r.db"\n\n[polling]\ntimeout = "60s"\n\n'
            f'[[feeds]]\nname = "Bomb"\nurl = "http://127.0.0.1:{args.port}/feed"\n',
            encoding="utf-8",
        )
        command = [sys.executable, "-m", "monitor", "--config", str(config)]
        # cwd: `python -m` puts it first on sys.path, and PYTHONPATH must choose the code
        subprocess.run([*command, "init"], check=True, capture_output=True, cwd=root)
        out_file, err_file = root / "out.txt", root / "err.txt"
        started = time.monotonic()
        with out_file.open("w") as stdout, err_file.open("w") as stderr:
            child = subprocess.Popen([*command, "poll"], stdout=stdout, stderr=stderr, cwd=root)
            _, status, usage = os.wait4(child.pid, 0)  # the rusage of `poll` alone
        wall = time.monotonic() - started
        out, err = out_file.read_text(), err_file.read_text()
    server.terminate()
    if args.encoding == "none":
        print("baseline: a plain feed without entries")
    else:
        print(
            f"{args.encoding} bomb as the {args.target}: {len(body):,} bytes on the wire, "
            f"{args.gib} GiB inflated"
        )
    for line in out.splitlines()[:2]:
        print(f"  poll: {line[:160]}")
    if "Traceback" in err or "MemoryError" in err:
        print(f"  poll stderr: {err.strip().splitlines()[-1][:160]}")
    code = os.waitstatus_to_exitcode(status)
    print(f"  exit {code}, {wall:.1f} s wall, peak RSS {usage.ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
