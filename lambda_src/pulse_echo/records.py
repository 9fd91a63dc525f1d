"""The records check_echo writes and check_result and the tools read: one codec.

``echo/<host>.json`` (a successful check) and ``failure/<host>.json`` (a failed
check or a bad pulse); their fields are listed in docs/internals.md.
Standard library only.
"""

from __future__ import annotations

import json
import math
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


JOB_FIELDS = ("message", "exit_code", "duration_seconds")
"""What a job's pulse reports (pulse v2), copied into its echo or failure record (null otherwise);
``message`` cut to RECORD_DETAIL_MAX_CHARS."""


def echo_record(
    now: datetime,
    url: str | None,
    http_status: int | None,
    elapsed_ms: int | None,
    *,
    kind: str = "probe",
    **job: object,
) -> dict[str, object]:
    """The body of ``echo/<host>.json``: ``checked_at`` (UTC, ``Z``), ``kind`` (probe, heartbeat
    or job: pulse_echo.pulse.KINDS), ``url``, ``http_status``, ``elapsed_ms`` (null for a
    heartbeat or a job without URL) and the JOB_FIELDS. Raises TypeError for other job fields."""
    return {
        "checked_at": isoformat(now),
        "kind": kind,
        "url": url,
        "http_status": http_status,
        "elapsed_ms": elapsed_ms,
        **_job_fields(job),
    }


EVIDENCE = ("http_status", "elapsed_ms", "expected_excerpt", "received_excerpt")
"""What a failed probe adds to a failure record, beside its reason and detail (null otherwise)."""


def failure_record(
    now: datetime,
    reason: str,
    detail: str,
    url: str | None = None,
    *,
    failing_since: datetime | None = None,
    kind: str | None = None,
    **fields: object,
) -> dict[str, object]:
    """The body of ``failure/<host>.json``: ``failed_at``, ``failing_since`` (the start of the
    current run of failures: ``now`` unless given), ``kind`` (the pulse's, null for a pulse that
    could not be read), ``url``, ``reason``, ``detail``, the EVIDENCE fields (``http_status``,
    ``elapsed_ms``, ``expected_excerpt``, ``received_excerpt``) and the JOB_FIELDS; fields that
    do not apply are null.

    ``detail``, ``url`` and ``message`` are cut to RECORD_DETAIL_MAX_CHARS characters (``…``
    marks a cut), so the record stays small whatever the pulse or target sent.
    Raises TypeError for a field that is not one of EVIDENCE or JOB_FIELDS.
    """
    evidence = {name: fields.pop(name) for name in EVIDENCE if name in fields}
    return {
        "failed_at": isoformat(now),
        "failing_since": isoformat(failing_since or now),
        "kind": kind,
        "url": None if url is None else clip(url, RECORD_DETAIL_MAX_CHARS),
        "reason": reason,
        "detail": clip(detail, RECORD_DETAIL_MAX_CHARS),
        **{name: evidence.get(name) for name in EVIDENCE},
        **_job_fields(fields),
    }


def _job_fields(job: dict[str, object]) -> dict[str, object]:
    unknown = set(job) - set(JOB_FIELDS)
    if unknown:
        raise TypeError(f"not record fields: {sorted(unknown)}")
    message = job.get("message")
    return {
        "message": clip(message, RECORD_DETAIL_MAX_CHARS) if isinstance(message, str) else None,
        "exit_code": job.get("exit_code"),
        "duration_seconds": job.get("duration_seconds"),
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
    failing_since: datetime | None = None
    kind: str | None = None
    message: str | None = None
    exit_code: int | None = None
    duration_seconds: float | None = None


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

    def moment(name: str) -> datetime | None:
        value = text(name)
        if value:
            try:
                return parse_isoformat(value)
            except ValueError:
                pass
        return None

    def number(name: str) -> float | None:
        value = document.get(name)
        finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return float(value) if finite else None

    return FailureRecord(
        reason=one_line(text("reason") or UNKNOWN_REASON, REASON_CODE_MAX_CHARS),
        detail=text("detail") or "",
        failed_at=moment("failed_at"),
        url=text("url"),
        http_status=integer("http_status"),
        elapsed_ms=integer("elapsed_ms"),
        expected_excerpt=text("expected_excerpt"),
        received_excerpt=text("received_excerpt"),
        failing_since=moment("failing_since"),
        kind=text("kind"),
        message=text("message"),
        exit_code=integer("exit_code"),
        duration_seconds=number("duration_seconds"),
    )
