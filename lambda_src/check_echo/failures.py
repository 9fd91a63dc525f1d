"""How a probe fails: ProbeFailure, and urllib3's or the socket's exceptions mapped to reason codes.

The mapping is the same on urllib3 1.26.x and 2.x (the Lambda runtimes ship either).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

from pulse_echo import reasons
from urllib3 import exceptions as urllib3_exceptions


class ProbeFailure(Exception):
    """A probe failed for ``reason`` (a code of pulse_echo.reasons); ``detail`` is the sentence
    for the record; ``http_status`` the last status received, if any."""

    def __init__(self, reason: str, detail: str, http_status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.http_status = http_status


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


def failure_from(
    exc: BaseException, url: str, status: int | None, *, connect_timeout: float, read_timeout: float
) -> ProbeFailure:
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
        return ProbeFailure(reasons.DNS, f"cannot resolve {urlsplit(url).hostname}: {root}", status)
    if any(isinstance(e, urllib3_exceptions.NewConnectionError) for e in chain):
        return ProbeFailure(reasons.CONNECTION, f"cannot connect to {netloc}: {root}", status)
    if any(isinstance(e, urllib3_exceptions.ConnectTimeoutError) for e in chain):
        return ProbeFailure(
            reasons.TIMEOUT, f"connecting to {netloc} timed out ({connect_timeout:g} s)", status
        )
    if any(isinstance(e, (urllib3_exceptions.ReadTimeoutError, socket.timeout)) for e in chain):
        return ProbeFailure(reasons.TIMEOUT, f"{netloc} sent nothing for {read_timeout:g} s", status)
    if any(isinstance(e, (urllib3_exceptions.SSLError, ssl.SSLError, ssl.CertificateError)) for e in chain):
        return ProbeFailure(reasons.TLS, f"TLS with {netloc} failed: {root}", status)
    return ProbeFailure(reasons.CONNECTION, f"connection to {netloc} failed: {root}", status)
