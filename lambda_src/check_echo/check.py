"""One pulse checked: read it (size-capped), probe it, write ``echo/<host>.json`` or
``failure/<host>.json``. Never writes under ``pulse/``, which would invoke check_echo again."""

from __future__ import annotations

import logging
import time
from typing import Any

from pulse_echo import aws, reasons
from pulse_echo.layout import ECHO_PREFIX, FAILURE_PREFIX, PULSE_PREFIX, failure_key_problem, key_for
from pulse_echo.pulse import PulseError, parse_pulse
from pulse_echo.records import EVIDENCE, echo_record, encode_record, failure_record
from pulse_echo.times import utcnow

from .event import PulseObject
from .outcome import BAD_PULSE, ECHO, FAILED, Outcome, skip
from .probe import ProbeConfig, probe


class OutOfTime(RuntimeError):
    """The invocation's time ran out before a record could be probed (an error: Lambda retries)."""


def check_pulse(
    target: PulseObject, s3: Any, pulse_max_bytes: int, config: ProbeConfig, deadline: float | None = None
) -> Outcome:
    """Read the pulse, probe it and write the echo or the failure record; return the Outcome.

    Raises RecordSkipped when the pulse is gone (deleted before we read it),
    OutOfTime when ``deadline`` has passed before the probe; S3 errors
    (botocore ClientError/BotoCoreError) propagate. A host whose failure
    record key would pass S3's key limit is still checked (its echo fits):
    a failure is then logged and counted without a record (see write_failure).
    """
    try:
        data = read_pulse(s3, target.bucket, target.key, pulse_max_bytes)
        pulse = None if data is None else parse_pulse(data)
    except PulseError as exc:
        failure = failure_record(utcnow(), reasons.BAD_PULSE, str(exc))
        return record_failure(s3, target, BAD_PULSE, failure, str(exc), logging.ERROR)
    if pulse is None:
        raise skip(
            reasons.PULSE_DELETED, "pulse was deleted before it could be read", target.key, target.host
        )
    if deadline is not None and time.monotonic() >= deadline:
        raise OutOfTime("no time left in this invocation to probe; Lambda will retry the event")
    result = probe(pulse.url, pulse.body, config, deadline=deadline)
    now = utcnow()
    if result.ok:
        record = echo_record(now, pulse.url, result.http_status, result.elapsed_ms)
        put_record(s3, target.bucket, output_key(ECHO_PREFIX, target.host), record)
        return Outcome(ECHO, None, target.key, target.host, result.elapsed_ms, result.detail)
    evidence = {name: getattr(result, name) for name in EVIDENCE}
    failure = failure_record(now, result.reason or "", result.detail, pulse.url, **evidence)
    return record_failure(s3, target, FAILED, failure, result.detail, logging.WARNING, result.elapsed_ms)


def record_failure(
    s3: Any,
    target: PulseObject,
    outcome: str,
    record: dict[str, Any],
    detail: str,
    level: int,
    elapsed_ms: int | None = None,
) -> Outcome:
    """Write the failure ``record`` (see write_failure) and return the Outcome to log: ``detail``
    (not cut, unlike the record's), at ``level``, or at ERROR when no record could be written."""
    note = write_failure(s3, target, record)
    return Outcome(
        outcome,
        record["reason"],
        target.key,
        target.host,
        elapsed_ms,
        detail + note,
        logging.ERROR if note else level,
        recorded=not note,
    )


def write_failure(s3: Any, target: PulseObject, record: dict[str, Any]) -> str:
    """Write ``failure/<host>.json``; return "", or a note when its key is over S3's limit.

    ``pulse/<host>.json`` can be within S3's 1,024-byte key limit while
    ``failure/<host>.json`` is two bytes over: S3 would refuse that write on
    every retry (``KeyTooLongError``), so it is not attempted. The note (for
    the log line's detail) says why no record was written; the failure is
    still logged, at ERROR, and counted. S3 errors propagate.
    """
    problem = failure_key_problem(target.host)
    if problem is not None:
        return f"; no failure record: {problem}"
    put_record(s3, target.bucket, output_key(FAILURE_PREFIX, target.host), record)
    return ""


def read_pulse(s3: Any, bucket: str, key: str, max_bytes: int) -> bytes | None:
    """Return the bytes of a pulse of at most ``max_bytes``, reading no more than one byte beyond.

    Uses GetObject with ``Range: bytes=0-<max_bytes>``; S3 answers 206 with
    ``ContentRange: bytes 0-<end>/<size>``, so a larger object is recognised
    and rejected without being read. Raises PulseError for an oversized or
    empty pulse (S3 answers ``InvalidRange`` to a range on an empty object).
    Returns None when the key no longer exists (``NoSuchKey``; without
    s3:ListBucket S3 says AccessDenied instead). Other S3 errors propagate.
    """
    try:
        response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{max_bytes}")
    except Exception as exc:
        if aws.is_no_such_key(exc):
            return None
        if aws.error_code(exc) == "InvalidRange":
            raise PulseError("pulse is empty") from None
        raise
    body = response["Body"]
    try:
        data = body.read(max_bytes + 1)
    finally:
        body.close()
    size = object_size(response.get("ContentRange"), response.get("ContentLength"), len(data))
    if size > max_bytes:
        raise PulseError(f"pulse is {size} bytes, over the {max_bytes}-byte limit (PULSE_MAX_BYTES)")
    if not data:
        raise PulseError("pulse is empty")
    return data


def object_size(content_range: str | None, content_length: int | None, bytes_read: int) -> int:
    """Size of the whole object: the total of ``bytes 0-N/TOTAL``, else ContentLength, else what was read."""
    total = (content_range or "").rpartition("/")[2]
    if total.isdigit():
        return int(total)
    return max(content_length or 0, bytes_read)


def output_key(prefix: str, host: str) -> str:
    """The key ``<prefix><host>.json`` this function writes; never under ``pulse/``.

    Raises ValueError for a key under ``pulse/``: writing there would invoke
    check_echo again, in a loop.
    """
    key = key_for(prefix, host)
    if key.startswith(PULSE_PREFIX):
        raise ValueError(f"refusing to write {key!r}: check_echo never writes under {PULSE_PREFIX}")
    return key


def put_record(s3: Any, bucket: str, key: str, record: dict[str, Any]) -> None:
    """Write ``record`` as UTF-8 JSON (``application/json``) to ``s3://bucket/key``; S3 errors propagate."""
    s3.put_object(Bucket=bucket, Key=key, Body=encode_record(record), ContentType="application/json")
