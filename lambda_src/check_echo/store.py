"""check_echo's S3 reads and writes: the pulse (size-capped), the echo, the failure record, and
the start of a run of failures (``failing_since``). Never writes under ``pulse/``, which would
invoke check_echo again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pulse_echo import aws
from pulse_echo.layout import ECHO_PREFIX, FAILURE_PREFIX, PULSE_PREFIX, failure_key_problem, key_for
from pulse_echo.logs import log
from pulse_echo.pulse import PulseError
from pulse_echo.records import FAILURE_RECORD_MAX_BYTES, encode_record, parse_failure_record
from pulse_echo.times import to_utc

from .event import PulseObject
from .outcome import logger


@dataclass(frozen=True)
class Capped:
    """The first bytes of an object read with a Range (at most the cap + 1), its whole size
    and its LastModified (aware UTC, None when S3 did not say)."""

    data: bytes
    size: int
    last_modified: datetime | None


def read_capped(s3: Any, bucket: str, key: str, max_bytes: int) -> Capped | None:
    """GET at most ``max_bytes + 1`` bytes of ``key`` (``Range: bytes=0-<max_bytes>``); None when
    the key does not exist (``NoSuchKey``; without s3:ListBucket S3 says AccessDenied instead).

    S3 answers 206 with ``ContentRange: bytes 0-<end>/<size>``, so a larger object
    is recognised (``size > max_bytes``) without being read. An empty object
    (S3 answers ``InvalidRange`` to a range on it) is ``Capped(b"", 0, None)``.
    Other S3 errors propagate.
    """
    try:
        response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{max_bytes}")
    except Exception as exc:
        if aws.is_no_such_key(exc):
            return None
        if aws.error_code(exc) == "InvalidRange":
            return Capped(b"", 0, None)
        raise
    body = response["Body"]
    try:
        data = body.read(max_bytes + 1)
    finally:
        body.close()
    size = object_size(response.get("ContentRange"), response.get("ContentLength"), len(data))
    return Capped(data, size, to_utc(response.get("LastModified")))


def read_pulse(s3: Any, bucket: str, key: str, max_bytes: int) -> bytes | None:
    """Return the bytes of a pulse of at most ``max_bytes``, reading no more than one byte beyond.

    Raises PulseError for an oversized or empty pulse. Returns None when the
    key no longer exists. Other S3 errors propagate.
    """
    capped = read_capped(s3, bucket, key, max_bytes)
    if capped is None:
        return None
    if capped.size > max_bytes:
        raise PulseError(f"pulse is {capped.size} bytes, over the {max_bytes}-byte limit (PULSE_MAX_BYTES)")
    if not capped.data:
        raise PulseError("pulse is empty")
    return capped.data


def object_size(content_range: str | None, content_length: int | None, bytes_read: int) -> int:
    """Size of the whole object: the total of ``bytes 0-N/TOTAL``, else ContentLength, else what was read."""
    total = (content_range or "").rpartition("/")[2]
    if total.isdigit():
        return int(total)
    return max(content_length or 0, bytes_read)


def failing_since(s3: Any, target: PulseObject, now: datetime) -> datetime:
    """The start of the run of failures that a failure at ``now`` belongs to.

    The previous failure record's ``failing_since`` (its ``failed_at`` for a
    record without one, from before pulse v2) when that failure is newer than
    the last echo (HEAD ``echo/<host>.json``; no echo: the host never passed),
    else ``now``. Costs one GET, plus one HEAD when a previous record exists.
    A previous record that is missing, too large or unreadable means the run
    starts now, and so, logged as a warning, does an S3 error: dating a
    failure must never stop it from being recorded. Never later than ``now``.
    """
    try:
        previous = read_capped(
            s3, target.bucket, key_for(FAILURE_PREFIX, target.host), FAILURE_RECORD_MAX_BYTES
        )
        if previous is None or previous.size > FAILURE_RECORD_MAX_BYTES:
            return now
        try:
            record = parse_failure_record(previous.data)
        except ValueError:
            return now
        failed_at = record.failed_at or previous.last_modified
        if failed_at is None:
            return now
        echo_at = last_echo_at(s3, target)
    except (ClientError, BotoCoreError) as exc:
        log(
            logger,
            logging.WARNING,
            "cannot read the previous failure or the echo: the run of failures is dated from now",
            host=target.host,
            key=target.key,
            detail=aws.describe(exc),
        )
        return now
    if echo_at is not None and failed_at <= echo_at:
        return now  # the host passed since its last failure: a new run starts
    return min(record.failing_since or failed_at, now)


def last_echo_at(s3: Any, target: PulseObject) -> datetime | None:
    """LastModified of ``echo/<host>.json`` (HEAD), None when the host never passed."""
    try:
        response = s3.head_object(Bucket=target.bucket, Key=key_for(ECHO_PREFIX, target.host))
    except Exception as exc:
        if aws.is_no_such_key(exc):
            return None
        raise
    return to_utc(response.get("LastModified"))


def write_echo(s3: Any, target: PulseObject, record: dict[str, Any]) -> None:
    """Write ``echo/<host>.json``; S3 errors propagate."""
    put_record(s3, target.bucket, output_key(ECHO_PREFIX, target.host), record)


def write_failure(s3: Any, target: PulseObject, record: dict[str, Any]) -> None:
    """Write ``failure/<host>.json`` (its key must fit: see layout.failure_key_problem); S3 errors
    propagate."""
    put_record(s3, target.bucket, output_key(FAILURE_PREFIX, target.host), record)


def failure_unwritable(target: PulseObject) -> str | None:
    """A note for the log when ``failure/<host>.json`` cannot be written, else None.

    ``pulse/<host>.json`` can be within S3's 1,024-byte key limit while
    ``failure/<host>.json`` is two bytes over: S3 would refuse that write on
    every retry (``KeyTooLongError``), so it is not attempted.
    """
    problem = failure_key_problem(target.host)
    return None if problem is None else f"; no failure record: {problem}"


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
