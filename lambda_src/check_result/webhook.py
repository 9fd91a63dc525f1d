"""POST a JSON alert to a webhook (Slack incoming webhook, or any endpoint taking JSON).

Behaviour followed (Slack, "Incoming webhooks" and the 2016 changelog
"Improving error conditions for Incoming Webhooks"): success is a 2xx (Slack
answers ``200 ok``); a refusal is a 4xx with a short text body such as
``invalid_payload`` (400), ``action_prohibited`` or ``invalid_token`` (403),
``channel_not_found`` or ``no_service`` (404), ``channel_is_archived`` (410);
``rollup_error`` and other 5xx are server trouble; rate limiting is ``429``
with a ``Retry-After`` header in seconds (Slack "Rate limits": about one
message per second per channel). So: retry 429 (after Retry-After, capped), 5xx
and connection errors, a bounded number of times; never retry any other
status, which will not change by itself. The status decides: a 2xx whose body
then breaks off (or never ends) was accepted, and is not sent again.

Works on urllib3 1.26.x and 2.x (the Lambda runtimes ship either): it uses
``PoolManager.urlopen`` with an encoded body, never the 2.x-only ``json=``
argument or ``urllib3.request()``. The response body read is bounded and not
decompressed (the request asks for ``identity``), so a hostile or broken
endpoint cannot make it use memory (CVE-2025-66471 concerns decompression in
``read(amt)`` before urllib3 2.6).

The webhook URL is a secret (it authorises posting): it is never logged or put
into an exception message; logs and errors name only its host. Credentials in
it (``https://user:password@host/...``) are sent as HTTP Basic authentication,
as curl and browsers do; urllib3 itself would drop them without a word.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from urllib.parse import unquote, urlsplit

import urllib3
from pulse_echo.logs import get_logger, log
from pulse_echo.times import ms_since, utcnow
from pulse_echo.urls import url_host

MAX_RESPONSE_BYTES = 4096
"""Bytes of a response body read (and kept for logs and errors)."""

BODY_EXCERPT_CHARS = 500

LOGGER = get_logger("pulse_echo.webhook")  # the name every log line carries since 0.1


class WebhookError(RuntimeError):
    """The webhook did not accept the message after the allowed attempts.

    ``status`` is the last HTTP status (None when no answer came: connection
    error or timeout), ``body`` the start of the last response body,
    ``attempts`` how many POSTs were made. The message names the webhook's
    host, never its URL.
    """

    def __init__(self, message: str, *, status: int | None, body: str, attempts: int) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.attempts = attempts


@dataclass(frozen=True)
class WebhookResult:
    """An accepted POST: final ``status`` (2xx), start of the ``body``, ``attempts`` made."""

    status: int
    body: str
    attempts: int
    elapsed_ms: int


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header (RFC 9110: delay-seconds or an HTTP-date) into seconds.

    Returns None when absent or unreadable; a date in the past gives 0. Only
    ASCII digits are delay-seconds (``"²".isdigit()`` is True, but it is no
    number); a huge value is returned as is (the caller caps it).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - (now or utcnow())).total_seconds())


def post_json(
    url: str,
    payload: Mapping[str, object] | bytes,
    *,
    timeout_seconds: float = 10.0,
    max_attempts: int = 3,
    backoff_seconds: float = 1.0,
    max_retry_after_seconds: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
    logger: logging.Logger | None = None,
    deadline: float | None = None,
) -> WebhookResult:
    """POST ``payload`` (a JSON-ready mapping, or bytes already encoded) to ``url``.

    ``Content-Type: application/json; charset=utf-8``. ``timeout_seconds`` is
    both the connect and the read timeout of each attempt. Up to
    ``max_attempts`` POSTs: a 429 waits ``Retry-After`` seconds (at most
    ``max_retry_after_seconds``; ``backoff_seconds`` when absent or
    unreadable), a 5xx or a connection error or timeout waits
    ``backoff_seconds * 2**(attempt-1)``, also at most
    ``max_retry_after_seconds``. The status decides: a response body that
    cannot be read (cut off, or slower than the timeout) turns neither a 2xx
    into a failure nor a 5xx into a refusal.
    Redirects are not followed (a 3xx is a refusal). ``deadline`` (a
    ``time.monotonic()`` value, e.g. from the Lambda context's remaining
    time) shortens the last attempt's timeouts and stops retrying when
    another wait and attempt would pass it, so the caller gets a WebhookError
    rather than being killed mid-run.

    Returns WebhookResult on a 2xx. Raises WebhookError on any other final
    answer, with the status and the start of the body; each attempt is one
    JSON log line (``webhook_host``, ``attempt``, ``status``, ``outcome``).
    """
    logger = logger or LOGGER
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode("utf-8")
    host = url_host(url)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Accept-Encoding": "identity",
        "User-Agent": "pulse-echo",
        **_basic_auth(url),
    }
    timeout = urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds)
    pool = urllib3.PoolManager(timeout=timeout, retries=False)
    status: int | None = None
    text = ""
    started = time.monotonic()
    try:
        for attempt in range(1, max(1, max_attempts) + 1):
            wait: float | None
            if deadline is not None:
                left = max(deadline - time.monotonic(), 1.0)
                timeout = urllib3.Timeout(connect=min(timeout_seconds, left), read=min(timeout_seconds, left))
            try:
                response = pool.urlopen(
                    "POST",
                    url,
                    body=body,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    preload_content=False,
                    timeout=timeout,
                )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                status, text = None, _redact(f"{type(exc).__name__}: {exc}", url)
                wait = _backoff(backoff_seconds, attempt, max_retry_after_seconds)
                outcome = "connection_error"
            else:
                status = response.status
                try:
                    raw = response.read(MAX_RESPONSE_BYTES, decode_content=False) or b""
                    text = raw.decode("utf-8", "replace")[:BODY_EXCERPT_CHARS]
                except (urllib3.exceptions.HTTPError, OSError, HTTPException) as exc:
                    text = _redact(f"(body unreadable: {type(exc).__name__}: {exc})", url)
                finally:
                    response.close()
                if 200 <= status < 300:
                    elapsed_ms = ms_since(started)
                    log(
                        logger,
                        logging.INFO,
                        "webhook accepted the message",
                        webhook_host=host,
                        attempt=attempt,
                        status=status,
                        outcome="accepted",
                        elapsed_ms=elapsed_ms,
                    )
                    return WebhookResult(status=status, body=text, attempts=attempt, elapsed_ms=elapsed_ms)
                if status == 429:
                    after = retry_after_seconds(response.headers.get("Retry-After"))
                    wait = min(after if after is not None else backoff_seconds, max_retry_after_seconds)
                    outcome = "rate_limited"
                elif status >= 500:
                    wait = _backoff(backoff_seconds, attempt, max_retry_after_seconds)
                    outcome = "server_error"
                else:
                    wait = None
                    outcome = "refused"
            final = wait is None or attempt >= max_attempts
            if not final and deadline is not None and time.monotonic() + (wait or 0) + 1.0 > deadline:
                final = True
                outcome += "_no_time_left"
            log(
                logger,
                logging.ERROR if final else logging.WARNING,
                "webhook did not accept the message",
                webhook_host=host,
                attempt=attempt,
                status=status,
                outcome=outcome,
                body=text,
                retry_in_seconds=None if final else wait,
            )
            if final:
                break
            assert wait is not None
            sleep(wait)
    finally:
        pool.clear()
    answer = f"HTTP {status}" if status is not None else "no answer"
    raise WebhookError(
        f"webhook at {host} did not accept the message after {attempt} attempt(s): {answer}: {text!r}",
        status=status,
        body=text,
        attempts=attempt,
    )


def _backoff(base: float, attempt: int, cap: float) -> float:
    """``base * 2**(attempt-1)`` seconds, at most ``cap`` (the exponent is bounded: no overflow)."""
    return min(base * 2 ** min(attempt - 1, 30), cap)


def _basic_auth(url: str) -> dict[str, str]:
    """``{"Authorization": "Basic ..."}`` for ``user:password@`` in ``url``, else {}.

    The user and password are percent-decoded and encoded as UTF-8 (RFC 7617's
    ``charset="UTF-8"``; urllib3's make_headers would raise on non-Latin-1).
    """
    parts = urlsplit(url)
    if parts.username is None:
        return {}
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")}


def _redact(text: str, url: str) -> str:
    """Remove the URL and its path (the secret part of a Slack webhook URL) from ``text``."""
    parts = urlsplit(url)
    for part in (url, parts.path, parts.query):
        if part and part != "/":
            text = text.replace(part, "<redacted>")
    return text
