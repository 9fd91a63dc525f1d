"""The records check_echo writes and check_result and the tools read: one codec.

``echo/<host>.json`` (a successful check) and ``failure/<host>.json`` (a failed
check or a bad pulse); their fields are listed in docs/internals.md.
Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from .text import JsonError, clip, decode_json, one_line
from .times import isoformat, parse_isoformat

RECORD_DETAIL_MAX_CHARS = 1000
"""A failure record's ``detail`` and ``url`` are cut to this many characters (marked ``…``).

The detail quotes URLs (the pulse's, a redirect's Location) that can be tens
of kilobytes; cut, a record stays far below the FAILURE_RECORD_MAX_BYTES that
readers take, whatever the target answers.
"""

FAILURE_RECORD_MAX_BYTES = 65536
"""Readers do not read a larger failure record."""

REASON_CODE_MAX_CHARS = 64
UNKNOWN_REASON = "unknown"


def echo_record(now: datetime, url: str, http_status: int | None, elapsed_ms: int) -> dict[str, object]:
    """The body of ``echo/<host>.json``: checked_at (UTC, ``Z``), url, HTTP status, milliseconds."""
    return {"checked_at": isoformat(now), "url": url, "http_status": http_status, "elapsed_ms": elapsed_ms}


EVIDENCE = ("http_status", "elapsed_ms", "expected_excerpt", "received_excerpt")
"""What a failed probe adds to a failure record, beside its reason and detail (null otherwise)."""


def failure_record(
    now: datetime, reason: str, detail: str, url: str | None = None, **evidence: object
) -> dict[str, object]:
    """The body of ``failure/<host>.json``: ``failed_at``, ``url``, ``reason``, ``detail`` and the
    EVIDENCE fields (``http_status``, ``elapsed_ms``, ``expected_excerpt``,
    ``received_excerpt``); fields that do not apply are null.

    ``detail`` and ``url`` are cut to RECORD_DETAIL_MAX_CHARS characters (``…``
    marks a cut), so the record stays small whatever the pulse or target sent.
    Raises TypeError for evidence that is not one of EVIDENCE.
    """
    unknown = set(evidence) - set(EVIDENCE)
    if unknown:
        raise TypeError(f"not failure record fields: {sorted(unknown)}")
    return {
        "failed_at": isoformat(now),
        "url": None if url is None else clip(url, RECORD_DETAIL_MAX_CHARS),
        "reason": reason,
        "detail": clip(detail, RECORD_DETAIL_MAX_CHARS),
        **{name: evidence.get(name) for name in EVIDENCE},
    }


def encode_record(record: dict[str, object]) -> bytes:
    """The bytes of a record as written to S3 (UTF-8 JSON, ``application/json``)."""
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class FailureRecord:
    """The body of ``failure/<host>.json`` as read.

    ``reason`` is a code of pulse_echo.reasons, or a newer one, kept as is.
    """

    reason: str
    detail: str = ""
    failed_at: datetime | None = None
    url: str | None = None
    http_status: int | None = None
    elapsed_ms: int | None = None
    expected_excerpt: str | None = None
    received_excerpt: str | None = None


def parse_failure_record(data: bytes) -> FailureRecord:
    """Parse a failure record (UTF-8 JSON object, a BOM tolerated).

    Missing or mistyped optional fields become None, and so does a
    ``failed_at`` that is not an ISO 8601 time in range; ``reason`` defaults to
    ``unknown`` and is kept on one line of at most 64 characters. Raises
    ValueError (and nothing else) when the bytes are not a JSON object Python
    can build (not UTF-8, not JSON, nested too deeply, a 5,000-digit number).
    """
    try:
        document = decode_json(data, bom=True)
    except JsonError as exc:
        raise ValueError(f"failure record is not UTF-8 JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("failure record is not a JSON object")

    def text(name: str) -> str | None:
        value = document.get(name)
        return value if isinstance(value, str) else None

    def integer(name: str) -> int | None:
        value = document.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    failed_at = None
    failed_at_text = text("failed_at")
    if failed_at_text:
        try:
            failed_at = parse_isoformat(failed_at_text)
        except ValueError:
            pass
    return FailureRecord(
        reason=one_line(text("reason") or UNKNOWN_REASON, REASON_CODE_MAX_CHARS),
        detail=text("detail") or "",
        failed_at=failed_at,
        url=text("url"),
        http_status=integer("http_status"),
        elapsed_ms=integer("elapsed_ms"),
        expected_excerpt=text("expected_excerpt"),
        received_excerpt=text("received_excerpt"),
    )
