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
    ``unknown`` and is kept on one line of at most 64 characters. Bytes that
    are not UTF-8, and lone surrogates (``"\\ud800"``), become U+FFFD: the text
    is untrusted, and an alert must still be sendable. Raises ValueError (and
    nothing else) when the bytes are not a JSON object Python can build (not
    JSON, nested too deeply, a 5,000-digit number).
    """
    fields = _Fields(data, "failure record")
    return FailureRecord(
        reason=one_line(fields.text("reason") or UNKNOWN_REASON, REASON_CODE_MAX_CHARS),
        detail=fields.text("detail") or "",
        failed_at=fields.moment("failed_at"),
        url=fields.text("url"),
        http_status=fields.integer("http_status"),
        elapsed_ms=fields.integer("elapsed_ms"),
        expected_excerpt=fields.text("expected_excerpt"),
        received_excerpt=fields.text("received_excerpt"),
        failing_since=fields.moment("failing_since"),
        kind=fields.text("kind"),
        message=fields.text("message"),
        exit_code=fields.integer("exit_code"),
        duration_seconds=fields.number("duration_seconds"),
    )


ECHO_RECORD_MAX_BYTES = FAILURE_RECORD_MAX_BYTES
"""Readers do not read a larger echo record."""


@dataclass(frozen=True)
class EchoRecord:
    """The body of ``echo/<host>.json`` as read (check_result reads a recovered job's)."""

    checked_at: datetime | None = None
    kind: str | None = None
    url: str | None = None
    http_status: int | None = None
    elapsed_ms: int | None = None
    message: str | None = None
    exit_code: int | None = None
    duration_seconds: float | None = None


def parse_echo_record(data: bytes) -> EchoRecord:
    """Parse an echo record, as parse_failure_record does (an echo of pulse-echo 0.1 has no
    ``kind``: None). Raises ValueError (and nothing else) for bytes that are not a JSON object."""
    fields = _Fields(data, "echo record")
    return EchoRecord(
        checked_at=fields.moment("checked_at"),
        kind=fields.text("kind"),
        url=fields.text("url"),
        http_status=fields.integer("http_status"),
        elapsed_ms=fields.integer("elapsed_ms"),
        message=fields.text("message"),
        exit_code=fields.integer("exit_code"),
        duration_seconds=fields.number("duration_seconds"),
    )


class _Fields:
    """The fields of a record, each read as its type or None."""

    def __init__(self, data: bytes, what: str) -> None:
        try:
            document = decode_json(data, bom=True)
        except JsonError as exc:
            if not isinstance(exc.cause, UnicodeDecodeError):
                raise ValueError(f"{what} is not UTF-8 JSON: {exc}") from None
            try:  # untrusted text: a bad byte is replaced, the record still read
                document = decode_json(data.decode("utf-8-sig", "replace"))
            except JsonError as again:
                raise ValueError(f"{what} is not UTF-8 JSON: {again}") from None
        if not isinstance(document, dict):
            raise ValueError(f"{what} is not a JSON object")
        self.document = document

    def text(self, name: str) -> str | None:
        value = self.document.get(name)
        if not isinstance(value, str):
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: JSON allows it, UTF-8 (and Slack) do not
            return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
        return value

    def integer(self, name: str) -> int | None:
        value = self.document.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def moment(self, name: str) -> datetime | None:
        value = self.text(name)
        if value:
            try:
                return parse_isoformat(value)
            except ValueError:
                pass
        return None

    def number(self, name: str) -> float | None:
        value = self.document.get(name)
        finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return float(value) if finite else None
