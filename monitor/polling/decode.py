"""Content-Encoding decoding that never inflates more than a small step at a time.

httpx decodes a whole network chunk at once: a 1.7 kB brotli body can become 1 GiB before any
size check sees it. The fetcher therefore reads the raw stream and decodes it here, where every
decoder hands out at most about `STEP` bytes per call, so `polling.max_bytes` stops a bomb with
memory bounded by the cap plus one step. Only what `Fetcher` advertises is decoded (gzip,
deflate, br); another coding (zstd, compress) is refused by name rather than stored as garbage.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

import brotli

STEP = 64 * 1024  # decoded bytes per step, at most (brotli may overshoot it by half)
ACCEPT_ENCODING = "gzip, deflate, br"


class DecodeError(Exception):
    """The body is not valid in its declared coding, or the coding is not one we decode."""


class _Decoder(Protocol):
    def decode(self, data: bytes) -> Iterator[bytes]: ...


class _Zlib:
    """gzip, or deflate as servers send it: zlib-wrapped per RFC 9110, or raw (old IIS)."""

    def __init__(self, *, gzip: bool) -> None:
        self._gzip = gzip
        self._head = b""
        self._z: zlib._Decompress | None = None

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._z is None:
            self._head += data
            if not self._gzip and len(self._head) < 2:
                return  # not yet the two bytes that tell zlib-wrapped from raw deflate
            self._z = zlib.decompressobj(self._wbits(self._head))
            data, self._head = self._head, b""
        z = self._z
        while data and not z.eof:
            try:
                out = z.decompress(data, STEP)
            except zlib.error as exc:
                raise DecodeError(f"invalid {'gzip' if self._gzip else 'deflate'} data") from exc
            data = z.unconsumed_tail
            if out:
                yield out
            # A full step may leave output inside zlib even when all input is taken.
            while len(out) == STEP and not data and not z.eof:
                out = z.decompress(b"", STEP)
                if out:
                    yield out

    def _wbits(self, head: bytes) -> int:
        if self._gzip:
            return 16 + zlib.MAX_WBITS
        wrapped = head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS


class _Brotli:
    def __init__(self) -> None:
        self._b = brotli.Decompressor()

    def decode(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._b.process(data, output_buffer_limit=STEP)
            while out:
                yield out
                if self._b.is_finished():
                    return
                # Held-back output comes out with empty input, a step at a time.
                out = self._b.process(b"", output_buffer_limit=STEP)
        except brotli.error as exc:
            raise DecodeError("invalid br data") from exc


def _decoder(coding: str) -> _Decoder:
    if coding in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if coding == "deflate":
        return _Zlib(gzip=False)
    if coding == "br":
        return _Brotli()
    raise DecodeError(f"unsupported Content-Encoding {coding!r} (we accept {ACCEPT_ENCODING})")


def decoders(content_encoding: str) -> list[_Decoder]:
    """The decoders for a Content-Encoding header, in the order to apply them: last first."""
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    return [_decoder(c) for c in reversed(codings) if c and c != "identity"]


def decoded(raw: Iterable[bytes], content_encoding: str) -> Iterator[bytes]:
    """The body's bytes, decoded step by step: stop iterating and nothing more is inflated."""
    stream: Iterable[bytes] = raw
    for decoder in decoders(content_encoding):
        stream = _through(decoder, stream)
    return iter(stream)


def _through(decoder: _Decoder, chunks: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        yield from decoder.decode(chunk)
