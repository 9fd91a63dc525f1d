"""The HTTP probe: GET a pulse's URL and judge the answer by the pulse's match rules.

The rules (pulse_echo.pulse, docs/pulses.md): the final status must be one the
pulse accepts (its ``status`` list, else any 2xx); the body must equal ``body``
exactly and contain each of ``contains``; the whole answer must come within
``max_response_ms``. A status-only pulse (neither ``body`` nor ``contains``)
never reads the body.

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
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException
from urllib.parse import urljoin

import pulse_echo
import urllib3
from pulse_echo import reasons, settings, urls
from pulse_echo.pulse import Pulse
from pulse_echo.times import ms_since
from urllib3 import exceptions as urllib3_exceptions

from .body import Decoder, excerpt, first_difference
from .failures import ProbeFailure, failure_from
from .targets import ascii_url, check_public_target

USER_AGENT = f"pulse-echo/{getattr(pulse_echo, '__version__', 'dev')} check_echo"
_OUT_OF_TIME = "the probe did not finish within the invocation's remaining time"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
READ_CHUNK_BYTES = 16 * 1024


@dataclass(frozen=True)
class ProbeConfig:
    """Limits of one probe. Times in seconds, sizes in bytes."""

    connect_timeout: float = settings.PROBE_CONNECT_TIMEOUT.default  # type: ignore[assignment]
    read_timeout: float = settings.PROBE_READ_TIMEOUT.default  # type: ignore[assignment]
    max_redirects: int = settings.PROBE_MAX_REDIRECTS.default  # type: ignore[assignment]
    max_body_bytes: int = settings.PROBE_MAX_BODY_BYTES.default  # type: ignore[assignment]
    allow_private_targets: bool = settings.ALLOW_PRIVATE_TARGETS.default  # type: ignore[assignment]

    @classmethod
    def from_env(cls) -> ProbeConfig:
        """Read the ``PROBE_*`` and ``ALLOW_PRIVATE_TARGETS`` variables (docs/internals.md).

        Raises settings.ConfigError naming the variable when a value is invalid.
        """
        return cls(
            connect_timeout=settings.number(settings.PROBE_CONNECT_TIMEOUT),
            read_timeout=settings.number(settings.PROBE_READ_TIMEOUT),
            max_redirects=settings.integer(settings.PROBE_MAX_REDIRECTS),
            max_body_bytes=settings.integer(settings.PROBE_MAX_BODY_BYTES),
            allow_private_targets=settings.flag(settings.ALLOW_PRIVATE_TARGETS),
        )

    @property
    def max_raw_bytes(self) -> int:
        """Bytes read from the wire at most: room for an incompressible compressed body, no more."""
        return 2 * self.max_body_bytes + 1024


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of one probe.

    ``ok`` is True when the answer passes every rule of the pulse; then
    ``reason`` is None. Otherwise ``reason`` is a code of pulse_echo.reasons and
    ``detail`` says what happened in a sentence. ``http_status`` is the last
    status received (None when no answer came); ``elapsed_ms`` covers the
    whole probe, redirects included, up to the end of the body when the body
    is read (up to the status line when it is not). The excerpts are set for
    ``wrong_body``: short escaped windows of both bodies around the first
    differing byte, or, for a ``contains`` miss, the missing text and the start
    of the body.
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
    """A final answer with an accepted status: status, decoded body (at most max_body_bytes;
    empty when not read), the URL that gave it and how many redirects led there."""

    status: int
    body: bytes
    url: str
    redirects: int = 0


def probe(pulse: Pulse, config: ProbeConfig, *, deadline: float | None = None) -> ProbeResult:
    """GET ``pulse.url`` and judge the answer by the pulse's rules, in this order: the status
    (``http_status``), ``body`` then ``contains`` (``wrong_body``), ``max_response_ms`` (``slow``).

    Bodies are compared byte for byte against the UTF-8 encoding of the
    pulse's texts, after undoing gzip/deflate content encoding: no whitespace
    is stripped and no charset is converted. A redirect is followed unless its
    status is one the pulse accepts (``"status": 301`` checks the redirect
    itself). ``max_response_ms`` does not shorten the wait: an answer that
    comes after it is ``slow``, none at all is ``timeout``. ``deadline`` is a
    ``time.monotonic()`` instant the probe must not outlive (the Lambda
    invocation's end): it caps the connect and read timeouts, and a body still
    arriving then is cut off (``timeout``). Never raises for anything the
    target does: every failure is a ProbeResult. ``pulse.url`` must be set.
    """
    if pulse.url is None:
        raise ValueError("a pulse without url is not probed")
    started = time.monotonic()
    reads_body = pulse.body is not None or bool(pulse.contains)
    try:
        answer = fetch(
            pulse.url, config, accepts=pulse.accepts_status, read_body=reads_body, deadline=deadline
        )
    except ProbeFailure as failure:
        detail = failure.detail
        if failure.reason == reasons.HTTP_STATUS and pulse.status:
            detail += f" (the pulse accepts {', '.join(map(str, pulse.status))})"
        return ProbeResult(False, failure.reason, detail, failure.http_status, ms_since(started))
    elapsed_ms = ms_since(started)
    via = f" (redirected to {answer.url})" if answer.redirects else ""
    mismatch = _judge_body(pulse, answer, via, elapsed_ms)
    if mismatch is not None:
        return mismatch
    if pulse.max_response_ms is not None and elapsed_ms > pulse.max_response_ms:
        return ProbeResult(
            False,
            reasons.SLOW,
            f"HTTP {answer.status}{via} answered in {elapsed_ms} ms, over the pulse's "
            f"max_response_ms of {pulse.max_response_ms} ms",
            answer.status,
            elapsed_ms,
        )
    matched = "body matches" if pulse.body is not None else "body contains every text"
    judged = matched if reads_body else "status accepted"
    return ProbeResult(True, None, f"HTTP {answer.status}, {judged}{via}", answer.status, elapsed_ms)


def _judge_body(pulse: Pulse, answer: Answer, via: str, elapsed_ms: int) -> ProbeResult | None:
    """A ``wrong_body`` ProbeResult when the body breaks ``body`` or ``contains``, else None."""
    if pulse.body is not None:
        expected = pulse.body.encode("utf-8")
        if answer.body != expected:
            offset = first_difference(expected, answer.body)
            return ProbeResult(
                ok=False,
                reason=reasons.WRONG_BODY,
                detail=(
                    f"HTTP {answer.status}{via} but the body differs from the expected one at byte "
                    f"{offset} (expected {len(expected)} bytes, received {len(answer.body)})"
                ),
                http_status=answer.status,
                elapsed_ms=elapsed_ms,
                expected_excerpt=excerpt(expected, offset),
                received_excerpt=excerpt(answer.body, offset),
            )
    missing = [text.encode("utf-8") for text in pulse.contains if text.encode("utf-8") not in answer.body]
    if not missing:
        return None
    others = f" ({len(missing)} of the {len(pulse.contains)} texts are missing)" if len(missing) > 1 else ""
    return ProbeResult(
        ok=False,
        reason=reasons.WRONG_BODY,
        detail=(
            f"HTTP {answer.status}{via} but the body ({len(answer.body)} bytes) does not contain "
            f'"{excerpt(missing[0])}"{others}'
        ),
        http_status=answer.status,
        elapsed_ms=elapsed_ms,
        expected_excerpt=excerpt(missing[0]),
        received_excerpt=excerpt(answer.body),
    )


def fetch(
    url: str,
    config: ProbeConfig,
    *,
    accepts: Callable[[int], bool],
    read_body: bool = True,
    deadline: float | None = None,
) -> Answer:
    """GET ``url``, following up to ``config.max_redirects`` redirects, and return the answer
    whose status ``accepts`` (Pulse.accepts_status); its body is read only when ``read_body``.

    A redirect whose status is accepted is the answer, not followed.
    Raises ProbeFailure for a final status not accepted (``http_status``), a
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
            status, location, body = _get(pool, current, config, deadline, accepts, read_body)
            if location is None:
                return Answer(status, body, current, redirects)
            if redirects == config.max_redirects:
                raise ProbeFailure(
                    reasons.TOO_MANY_REDIRECTS,
                    f"more than {config.max_redirects} redirects (PROBE_MAX_REDIRECTS); "
                    f"the last, HTTP {status} from {current}, points to {location}",
                    status,
                )
            current, redirects = _redirect_target(current, location, status), redirects + 1


def _get(
    pool: urllib3.PoolManager,
    url: str,
    config: ProbeConfig,
    deadline: float | None,
    accepts: Callable[[int], bool],
    read_body: bool,
) -> tuple[int, str | None, bytes]:
    """One GET without following redirects: ``(status, None, body)`` for an accepted status
    (``body`` empty unless ``read_body``), ``(status, Location, b"")`` for a redirect to
    follow; ProbeFailure for anything else.

    The response is closed without draining, so a body that is not judged (a
    redirect's, an error status's, any body of a status-only probe) is never read.
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
            if accepts(status):
                if not read_body:
                    return status, None, b""
                watchdog.watch(response)
                return status, None, _read_body(response, config, watchdog)
            location = response.headers.get("Location") if status in REDIRECT_STATUSES else None
            if location:
                return status, location, b""
            raise ProbeFailure(reasons.HTTP_STATUS, f"HTTP {status} from {url}", status)
        finally:
            watchdog.cancel()
            response.close()
            response.release_conn()
    except (urllib3_exceptions.HTTPError, OSError, HTTPException) as exc:
        watchdog.check()  # a read cut short by the deadline is a timeout
        raise failure_from(
            exc, url, status, connect_timeout=config.connect_timeout, read_timeout=config.read_timeout
        ) from exc


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
    decoder = Decoder.for_encoding(response.headers.get("Content-Encoding", ""))
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
                    reasons.CONNECTION,
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
                reasons.BODY_TOO_LARGE,
                f"body is larger than {config.max_body_bytes} bytes (PROBE_MAX_BODY_BYTES)",
                response.status,
            )
        if raw_bytes > config.max_raw_bytes:
            raise ProbeFailure(
                reasons.BODY_TOO_LARGE,
                f"response sent more than {config.max_raw_bytes} bytes of encoded body",
                response.status,
            )


# --- helpers ---


def _redirect_target(current: str, location: str, status: int) -> str:
    """Resolve a Location header against the current URL; only http(s) targets are followed."""
    invalid = f"HTTP {status} from {current} redirects to an invalid URL"
    try:
        target = urljoin(current, location.strip())
        urls.split_http_url(target, check_characters=False)
    except urls.UrlError as exc:
        if exc.problem not in (urls.INVALID, urls.PORT_ZERO):
            invalid = f"HTTP {status} from {current} redirects to {target}, which is not http(s)"
        raise ProbeFailure(reasons.HTTP_STATUS, invalid, status) from None
    except ValueError:  # urljoin cannot split the current URL with it
        raise ProbeFailure(reasons.HTTP_STATUS, invalid, status) from None
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
            raise ProbeFailure(reasons.TIMEOUT, _OUT_OF_TIME)
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
        raise ProbeFailure(reasons.TIMEOUT, _OUT_OF_TIME)
    return left
