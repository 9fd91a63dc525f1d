"""The body of an answer: decoded with bounded memory, compared, and shown in short excerpts.

Content-Encoding is undone here with ``zlib`` and a ``max_length`` rather than
by urllib3, so at most the allowed number of decoded bytes is ever produced
(CVE-2025-66471: urllib3 1.26.x and 2.x before 2.6 do not bound it).
"""

from __future__ import annotations

import zlib

from pulse_echo import reasons

from .failures import ProbeFailure

EXCERPT_BYTES = 80


def first_difference(expected: bytes, received: bytes) -> int:
    """Index of the first byte where the two differ (the shorter length if one is a prefix)."""
    for index, (left, right) in enumerate(zip(expected, received, strict=False)):
        if left != right:
            return index
    return min(len(expected), len(received))


def excerpt(data: bytes, offset: int = 0, width: int = EXCERPT_BYTES) -> str:
    """A printable excerpt of ``data``: ``width`` bytes starting a little before ``offset``.

    Invalid UTF-8 shows as ``\\xNN``, control characters as ``\\n``, ``\\t``,
    ``\\xNN``, a backslash as ``\\\\``; ``…`` marks a cut at either end.
    """
    start = max(0, min(offset - width // 4, len(data) - width))
    text = data[start : start + width].decode("utf-8", "surrogateescape")
    escaped = "".join(_escape_char(char) for char in text)
    return ("…" if start else "") + escaped + ("…" if start + width < len(data) else "")


_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    code = ord(char)
    if char in _ESCAPES:
        return _ESCAPES[char]
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, from surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    return char


class Decoder:
    """Undo one Content-Encoding with bounded output (``zlib.decompressobj`` with ``max_length``).

    ``deflate`` is zlib-wrapped by the standard, raw in some servers: the
    first two bytes decide, as browsers and urllib3 do. Concatenated gzip
    members are decoded in turn; bytes after the last member are ignored.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding  # "", "gzip" or "deflate"
        self._obj = zlib.decompressobj(_GZIP_WBITS) if encoding == "gzip" else None
        self._head = b""  # deflate: bytes held until the format is known
        self._done = False  # nothing more will be decoded
        self._later_member = False  # decoding a gzip member after the first

    @classmethod
    def for_encoding(cls, header: str) -> Decoder:
        """Return the decoder for a Content-Encoding header; ProbeFailure ``wrong_body`` if unsupported."""
        codings = [c.strip().lower() for c in header.split(",")]
        codings = ["gzip" if c == "x-gzip" else c for c in codings if c not in ("", "identity")]
        if not codings:
            return cls("")
        if len(codings) == 1 and codings[0] in ("gzip", "deflate"):
            return cls(codings[0])
        raise ProbeFailure(
            reasons.WRONG_BODY,
            f"response has Content-Encoding {header!r}, which the probe cannot decode "
            "(it asks for gzip or deflate)",
        )

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data`` and return at most ``room`` (>= 1) bytes; the rest is never produced."""
        if not self.encoding:
            return data[:room]
        if self._obj is None:  # deflate whose format is not known yet
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            cmf, flg = data[0], data[1]
            zlib_wrapped = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
        out = bytearray()
        while not self._done and len(out) < room:
            if self._obj.eof:
                data = self._obj.unused_data + data
                if self.encoding == "deflate":
                    self._done = True  # bytes after the deflate stream are ignored
                    break
                if not data:
                    break
                self._obj = zlib.decompressobj(_GZIP_WBITS)  # the next gzip member
                self._later_member = True
            try:
                piece = self._obj.decompress(data, room - len(out))
            except zlib.error as exc:
                if self._later_member:  # garbage after a complete gzip member is ignored
                    self._done = True
                    break
                raise ProbeFailure(
                    reasons.WRONG_BODY, f"cannot decode the {self.encoding} body: {exc}"
                ) from None
            out += piece
            data = self._obj.unconsumed_tail
            if not piece and not data and not self._obj.eof:
                break  # all input consumed, no output pending
        return bytes(out)

    def finish(self) -> None:
        """At the end of a non-empty body: raise ProbeFailure ``wrong_body`` when its (first)
        compressed stream did not end, e.g. a gzip body without its trailer: what was decoded
        may be only the start of the answer. An unfinished later gzip member is ignored, like
        any bytes after a complete member."""
        if not self.encoding or self._done or self._later_member:
            return
        if self._obj is not None and self._obj.eof:
            return
        raise ProbeFailure(
            reasons.WRONG_BODY,
            f"the {self.encoding} body is truncated: it ends before its compressed stream does",
        )
