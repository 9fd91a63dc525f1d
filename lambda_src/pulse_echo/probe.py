"""The HTTP probe: GET a URL and compare the answer with the expected body.

Built on urllib3 alone and only on the parts of its API that are the same in
1.26.x and 2.x, because the Lambda Python runtimes have shipped both (docs/DESIGN.md
section 4). Memory stays bounded whatever the server sends:

- redirects are followed by hand (``redirect=False, retries=False``), and the
  body of a redirect response is never read (urllib3's own redirect handling
  drains it *with* decompression, which is unbounded before urllib3 2.6);
- the body is read raw (``preload_content=False, decode_content=False``) in
  small chunks and decompressed here with ``zlib`` and a ``max_length``, so at
  most ``max_body_bytes + 1`` decoded bytes are ever held (CVE-2025-66471: in
  urllib3 1.26.x and 2.x before 2.6, ``read(amt)`` does not bound the
  decompressed size); the raw bytes are capped too;
- time is bounded by the connect and read timeouts per wait and, when the
  caller gives a deadline, in total (a server dripping bytes just inside the
  read timeout is cut off at the deadline).

A host name that is not ASCII is sent in its IDNA (``xn--``) form, which
urllib3 cannot make without the ``idna`` module that the Lambda runtimes lack.

Unless private targets are allowed, the host of every URL (the pulse's and
each redirect's) is resolved first and refused when any of its addresses is
not public. Known gap: urllib3 resolves the name again to connect, so a DNS
server that answers differently the second time (DNS rebinding) can still
steer the probe to a private address. Closing it means connecting to the
checked address while sending the original Host header and TLS server name;
we accept the gap for a probe that only GETs and keeps no response.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPException
from urllib.parse import urljoin, urlsplit, urlunsplit

import urllib3
from urllib3 import exceptions as urllib3_exceptions

import pulse_echo
from pulse_echo.common import env_bool, env_float, env_int

# Failure reasons (docs/internals.md); a successful probe has reason None.
HTTP_STATUS = "http_status"
WRONG_BODY = "wrong_body"
TIMEOUT = "timeout"
DNS = "dns"
TLS = "tls"
CONNECTION = "connection"
TOO_MANY_REDIRECTS = "too_many_redirects"
BODY_TOO_LARGE = "body_too_large"
PRIVATE_TARGET = "private_target"

USER_AGENT = f"pulse-echo/{getattr(pulse_echo, '__version__', 'dev')} check_echo"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
READ_CHUNK_BYTES = 16 * 1024
EXCERPT_BYTES = 80


@dataclass(frozen=True)
class ProbeConfig:
    """Limits of one probe. Times in seconds, sizes in bytes."""

    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    max_redirects: int = 3
    max_body_bytes: int = 65536
    allow_private_targets: bool = False

    @classmethod
    def from_env(cls) -> ProbeConfig:
        """Read the ``PROBE_*`` and ``ALLOW_PRIVATE_TARGETS`` variables (docs/internals.md).

        Raises common.ConfigError naming the variable when a value is invalid.
        """
        return cls(
            connect_timeout=env_float("PROBE_CONNECT_TIMEOUT_SECONDS", cls.connect_timeout),
            read_timeout=env_float("PROBE_READ_TIMEOUT_SECONDS", cls.read_timeout),
            max_redirects=env_int("PROBE_MAX_REDIRECTS", cls.max_redirects, minimum=0),
            max_body_bytes=env_int("PROBE_MAX_BODY_BYTES", cls.max_body_bytes, minimum=1),
            allow_private_targets=env_bool("ALLOW_PRIVATE_TARGETS", cls.allow_private_targets),
        )

    @property
    def max_raw_bytes(self) -> int:
        """Bytes read from the wire at most: room for an incompressible compressed body, no more."""
        return 2 * self.max_body_bytes + 1024


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of one probe.

    ``ok`` is True for a 2xx answer whose body equals the expected body; then
    ``reason`` is None. Otherwise ``reason`` is one of the codes above and
    ``detail`` says what happened in a sentence. ``http_status`` is the last
    status received (None when no answer came); ``elapsed_ms`` covers the
    whole probe, redirects included. The excerpts are set for ``wrong_body``:
    short escaped windows of both bodies around the first differing byte.
    """

    ok: bool
    reason: str | None
    detail: str
    http_status: int | None
    elapsed_ms: int
    expected_excerpt: str | None = None
    received_excerpt: str | None = None


@dataclass(frozen=True)
class Answer:
    """A final 2xx answer: status, decoded body (at most max_body_bytes), the URL that gave it
    and how many redirects led there."""

    status: int
    body: bytes
    url: str
    redirects: int = 0


class ProbeFailure(Exception):
    """A probe failed for ``reason`` (a code above); ``detail`` is the sentence for the record."""

    def __init__(self, reason: str, detail: str, http_status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.http_status = http_status


def probe(url: str, expected_body: str, config: ProbeConfig, *, deadline: float | None = None) -> ProbeResult:
    """GET ``url`` and report whether it answers 2xx with exactly ``expected_body``.

    The comparison is byte for byte against ``expected_body`` encoded as UTF-8,
    after undoing gzip/deflate content encoding: no whitespace is stripped and
    no charset is converted. ``deadline`` is a ``time.monotonic()`` instant
    the probe must not outlive (the Lambda invocation's end): it caps the
    connect and read timeouts, and a body still arriving then is cut off
    (``timeout``). Never raises for anything the target does: every failure
    is a ProbeResult.
    """
    started = time.monotonic()
    try:
        answer = fetch(url, config, deadline=deadline)
    except ProbeFailure as failure:
        return ProbeResult(False, failure.reason, failure.detail, failure.http_status, _ms_since(started))
    elapsed_ms = _ms_since(started)
    expected = expected_body.encode("utf-8")
    via = f" (redirected to {answer.url})" if answer.redirects else ""
    if answer.body == expected:
        return ProbeResult(True, None, f"HTTP {answer.status}, body matches{via}", answer.status, elapsed_ms)
    offset = first_difference(expected, answer.body)
    return ProbeResult(
        ok=False,
        reason=WRONG_BODY,
        detail=(
            f"HTTP {answer.status}{via} but the body differs from the expected one at byte {offset} "
            f"(expected {len(expected)} bytes, received {len(answer.body)})"
        ),
        http_status=answer.status,
        elapsed_ms=elapsed_ms,
        expected_excerpt=excerpt(expected, offset),
        received_excerpt=excerpt(answer.body, offset),
    )


def fetch(url: str, config: ProbeConfig, *, deadline: float | None = None) -> Answer:
    """GET ``url``, following up to ``config.max_redirects`` redirects, and return the 2xx answer.

    Raises ProbeFailure for a non-2xx final status (``http_status``), a
    redirect too many or to a non-http(s) URL, a refused private address,
    a host name with no IDNA form or any network error (``timeout``,
    ``dns``, ``tls``, ``connection``), a body over the cap
    (``body_too_large``), a content encoding it cannot decode or a
    compressed body cut short (``wrong_body``).
    """
    current, redirects = url, 0
    with urllib3.PoolManager(num_pools=2, retries=False) as pool:
        while True:
            current = ascii_url(current)
            if not config.allow_private_targets:
                check_public_target(current)
            status, location, body = _get(pool, current, config, deadline)
            if location is None:
                return Answer(status, body, current, redirects)
            if redirects == config.max_redirects:
                raise ProbeFailure(
                    TOO_MANY_REDIRECTS,
                    f"more than {config.max_redirects} redirects (PROBE_MAX_REDIRECTS); "
                    f"the last, HTTP {status} from {current}, points to {location}",
                    status,
                )
            current, redirects = _redirect_target(current, location, status), redirects + 1


def _get(
    pool: urllib3.PoolManager, url: str, config: ProbeConfig, deadline: float | None
) -> tuple[int, str | None, bytes]:
    """One GET without following redirects: ``(status, Location, b"")`` for a redirect,
    ``(status, None, body)`` for a 2xx answer; ProbeFailure for anything else.

    The response is closed without draining, so the body of a redirect (or of
    an error status) is never read.
    """
    status = None
    watchdog = _Watchdog(deadline)
    try:
        response = pool.urlopen(
            "GET",
            url,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            timeout=_timeout(config, deadline),
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=False,
        )
        try:
            status = response.status
            location = response.headers.get("Location") if status in REDIRECT_STATUSES else None
            if location:
                return status, location, b""
            if not 200 <= status < 300:
                raise ProbeFailure(HTTP_STATUS, f"HTTP {status} from {url}", status)
            watchdog.watch(response)
            return status, None, _read_body(response, config, watchdog)
        finally:
            watchdog.cancel()
            response.close()
            response.release_conn()
    except (urllib3_exceptions.HTTPError, OSError, HTTPException) as exc:
        watchdog.check()  # a read cut short by the deadline is a timeout
        raise _failure_from(exc, url, config, status) from exc


def _read_body(response: urllib3.HTTPResponse, config: ProbeConfig, watchdog: _Watchdog) -> bytes:
    """Read and decode the body of ``response`` (opened with preload_content=False).

    Returns at most ``config.max_body_bytes`` decoded bytes. Raises
    ProbeFailure ``body_too_large`` as soon as one byte more is decoded or the
    raw bytes exceed ``config.max_raw_bytes``; ``wrong_body`` for a
    Content-Encoding other than gzip, deflate or identity, a corrupt one, or
    a compressed body that ends inside its stream (a body of no bytes at all
    is empty, whatever its Content-Encoding); ``connection`` when the body
    ends before its Content-Length (a Content-Length that is not ASCII
    digits is ignored); ``timeout`` when the watchdog's deadline passes.
    urllib3 errors propagate.
    """
    decoder = _Decoder.for_encoding(response.headers.get("Content-Encoding", ""))
    limit = config.max_body_bytes + 1
    body = bytearray()
    raw_bytes = 0
    length = response.headers.get("Content-Length", "")
    # "²".isdigit() is True but int("²") raises: only ASCII digits are a length.
    expected_raw = int(length) if length.isascii() and length.isdigit() else None
    while True:
        chunk = response.read(READ_CHUNK_BYTES, decode_content=False)
        watchdog.check()
        if not chunk:  # 1.26 returns None once the response is closed, 2.x b""
            if expected_raw is not None and raw_bytes < expected_raw:
                # urllib3 2.x raises here itself, 1.26 does not: same answer on both.
                raise ProbeFailure(
                    CONNECTION,
                    f"connection closed after {raw_bytes} of {expected_raw} body bytes (Content-Length)",
                    response.status,
                )
            if raw_bytes:
                decoder.finish()
            return bytes(body)
        raw_bytes += len(chunk)
        body += decoder.feed(chunk, limit - len(body))
        if len(body) >= limit:
            raise ProbeFailure(
                BODY_TOO_LARGE,
                f"body is larger than {config.max_body_bytes} bytes (PROBE_MAX_BODY_BYTES)",
                response.status,
            )
        if raw_bytes > config.max_raw_bytes:
            raise ProbeFailure(
                BODY_TOO_LARGE,
                f"response sent more than {config.max_raw_bytes} bytes of encoded body",
                response.status,
            )


def ascii_url(url: str) -> str:
    """Return ``url`` with a non-ASCII host name in its ASCII form (``bücher.example`` →
    ``xn--bcher-kva.example``); any other URL unchanged.

    Uses Python's ``idna`` codec (IDNA 2003), the one socket.getaddrinfo
    applies to such a name: urllib3 needs the third-party ``idna`` module for
    it, which the Lambda runtimes do not ship. Raises ProbeFailure ``dns``
    for a name with no ASCII form (an empty label, one over 63 characters).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.isascii():
        return url
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ProbeFailure(
            DNS, f"cannot resolve {host}: not a valid internationalised name ({exc})"
        ) from None
    userinfo, at, _ = parts.netloc.rpartition("@")
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{ascii_host}{port}"))


def check_public_target(url: str) -> None:
    """Resolve the host of ``url`` and refuse it unless every address is public.

    Raises ProbeFailure ``private_target`` naming the first non-public
    address, or ``dns`` when the name does not resolve. Uses
    ``socket.getaddrinfo`` as urllib3 does, so IP literals pass through.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ProbeFailure(DNS, f"cannot resolve {host}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not is_public_address(address):
            named = host if str(address) == host else f"{host} resolves to {address}, which"
            raise ProbeFailure(
                PRIVATE_TARGET,
                f"{named} is not a public address; set ALLOW_PRIVATE_TARGETS=true to probe internal services",
            )


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when ``address`` is globally routable: not loopback, link-local, private, reserved...

    ``is_global`` alone lets multicast, IPv6 site-local and 6to4 through, so
    those are checked too; an IPv4 address embedded in an IPv6 one
    (``::ffff:a.b.c.d``, 6to4 ``2002::/16``) must be public as well. Covers
    169.254.169.254 and fd00:ec2::254 (the instance metadata service).
    """
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        addresses = [address.ipv4_mapped]  # the IPv4 address is what gets connected to
    elif isinstance(address, ipaddress.IPv6Address) and address.sixtofour:
        addresses.append(address.sixtofour)
    return all(
        candidate.is_global
        and not (
            candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_private
            or candidate.is_reserved
            or candidate.is_multicast
            or candidate.is_unspecified
            or getattr(candidate, "is_site_local", False)
        )
        for candidate in addresses
    )


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


# --- helpers ---

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_OUT_OF_TIME = "the probe did not finish within the invocation's remaining time"
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


class _Decoder:
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
    def for_encoding(cls, header: str) -> _Decoder:
        """Return the decoder for a Content-Encoding header; ProbeFailure ``wrong_body`` if unsupported."""
        codings = [c.strip().lower() for c in header.split(",")]
        codings = ["gzip" if c == "x-gzip" else c for c in codings if c not in ("", "identity")]
        if not codings:
            return cls("")
        if len(codings) == 1 and codings[0] in ("gzip", "deflate"):
            return cls(codings[0])
        raise ProbeFailure(
            WRONG_BODY,
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
                raise ProbeFailure(WRONG_BODY, f"cannot decode the {self.encoding} body: {exc}") from None
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
            WRONG_BODY, f"the {self.encoding} body is truncated: it ends before its compressed stream does"
        )


def _redirect_target(current: str, location: str, status: int) -> str:
    """Resolve a Location header against the current URL; only http(s) targets are followed."""
    try:
        target = urljoin(current, location.strip())
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ProbeFailure(
            HTTP_STATUS, f"HTTP {status} from {current} redirects to an invalid URL", status
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeFailure(
            HTTP_STATUS, f"HTTP {status} from {current} redirects to {target}, which is not http(s)", status
        )
    return target


class _Watchdog:
    """Hold a probe to its deadline while it reads a body.

    Socket timeouts bound each wait, not the total: a server that drips a
    byte just inside the read timeout could hold the probe for hours. At the
    deadline this shuts the response's socket down (``HTTPResponse.connection``
    and its ``sock``, the same in urllib3 1.26 and 2.x), so a blocked read
    returns at once, and check() turns whatever the read did into ``timeout``.
    """

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.fired = False
        self._timer: threading.Timer | None = None

    def watch(self, response: urllib3.HTTPResponse) -> None:
        sock = getattr(response.connection, "sock", None)
        if self.deadline is None or sock is None:
            return
        self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._fire, (sock,))
        self._timer.daemon = True
        self._timer.start()

    def _fire(self, sock: socket.socket) -> None:
        self.fired = True
        with contextlib.suppress(OSError):  # already closed: nothing to interrupt
            # socket.socket's own shutdown: an SSLSocket's would also drop its TLS state
            socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def check(self) -> None:
        """Raise ProbeFailure ``timeout`` once the deadline has passed."""
        if self.fired:
            raise ProbeFailure(TIMEOUT, _OUT_OF_TIME)
        _time_left(self.deadline)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _timeout(config: ProbeConfig, deadline: float | None) -> urllib3.Timeout:
    left = _time_left(deadline)
    return urllib3.Timeout(connect=min(config.connect_timeout, left), read=min(config.read_timeout, left))


def _time_left(deadline: float | None) -> float:
    """Seconds until ``deadline`` (inf when None); ProbeFailure ``timeout`` once it has passed."""
    if deadline is None:
        return float("inf")
    left = deadline - time.monotonic()
    if left <= 0:
        raise ProbeFailure(TIMEOUT, _OUT_OF_TIME)
    return left


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then its causes: ``raise ... from``, or the one being handled unless
    ``from None`` hid it; a MaxRetryError is followed by its ``reason``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nested = getattr(current, "reason", None)  # MaxRetryError.reason
        if isinstance(nested, BaseException):
            current = nested
        elif current.__cause__ is not None or current.__suppress_context__:
            # "raise ... from None" hides the context, as tracebacks do: urllib3 1.26 hides
            # the TypeError of its getresponse(buffering=True) attempt behind the real error.
            current = current.__cause__
        else:
            current = current.__context__


def _failure_from(exc: BaseException, url: str, config: ProbeConfig, status: int | None) -> ProbeFailure:
    """Map a urllib3/socket exception to a ProbeFailure, the same way on urllib3 1.26 and 2.x.

    NewConnectionError is tested first: in both lines it subclasses
    ConnectTimeoutError. A name that does not resolve is NameResolutionError
    in 2.x and a NewConnectionError caused by ``socket.gaierror`` in 1.26.
    """
    chain = list(_chain(exc))
    root = str(chain[-1]) or type(chain[-1]).__name__
    netloc = urlsplit(url).netloc
    name_resolution = getattr(urllib3_exceptions, "NameResolutionError", ())
    if any(isinstance(e, (socket.gaierror, name_resolution)) for e in chain):
        return ProbeFailure(DNS, f"cannot resolve {urlsplit(url).hostname}: {root}", status)
    if any(isinstance(e, urllib3_exceptions.NewConnectionError) for e in chain):
        return ProbeFailure(CONNECTION, f"cannot connect to {netloc}: {root}", status)
    if any(isinstance(e, urllib3_exceptions.ConnectTimeoutError) for e in chain):
        return ProbeFailure(
            TIMEOUT, f"connecting to {netloc} timed out ({config.connect_timeout:g} s)", status
        )
    if any(isinstance(e, (urllib3_exceptions.ReadTimeoutError, socket.timeout)) for e in chain):
        return ProbeFailure(TIMEOUT, f"{netloc} sent nothing for {config.read_timeout:g} s", status)
    if any(isinstance(e, (urllib3_exceptions.SSLError, ssl.SSLError, ssl.CertificateError)) for e in chain):
        return ProbeFailure(TLS, f"TLS with {netloc} failed: {root}", status)
    return ProbeFailure(CONNECTION, f"connection to {netloc} failed: {root}", status)


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
