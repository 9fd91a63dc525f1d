"""check_echo: the Lambda function S3 invokes when a host uploads its pulse.

Handler ``pulse_echo.check_echo.handler``, subscribed to ``s3:ObjectCreated:*``
on ``pulse/``. For every record of the event it reads ``pulse/<host>.json``
(size-capped), probes the URL the pulse names and writes
``echo/<host>.json`` on success or ``failure/<host>.json`` on a failed check
or a bad pulse (records: docs/internals.md). It never writes under
``pulse/``, which would invoke it again.

A bad pulse or a failed probe is an outcome, not an error: the handler
returns a summary. It raises only for infrastructure errors (S3 refusing a
read or a write, a bug), and only after every other record was processed,
so that Lambda retries the event and the Errors metric counts it. Input that
no retry can fix (a malformed event, a key S3 cannot have sent, a pulse that
is not valid) is a logged, counted outcome instead: raising for it would only
make Lambda retry it twice and then drop it.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import BotoCoreError, ClientError

from pulse_echo.common import (
    ECHO_PREFIX,
    FAILURE_PREFIX,
    PULSE_PREFIX,
    S3_KEY_MAX_BYTES,
    ConfigError,
    env_int,
    env_required,
    get_logger,
    host_from_key,
    isoformat,
    key_bytes,
    key_fits,
    key_for,
    log,
    utcnow,
)
from pulse_echo.probe import ProbeConfig, ProbeResult, probe
from pulse_echo.pulse import PulseError, parse_pulse

logger = get_logger("pulse_echo.check_echo")

# Outcome of one record (the summary counts each).
ECHO = "echo"  # the check passed: echo/<host>.json written
FAILED = "failed"  # the probe failed: failure/<host>.json written, reason = a probe reason
BAD_PULSE = "bad_pulse"  # the pulse is invalid: failure/<host>.json written, reason "bad_pulse"
SKIPPED = "skipped"  # not ours to check (reason says why): nothing written
ERROR = "error"  # infrastructure error: the handler raises once all records are done
OUTCOMES = (ECHO, FAILED, BAD_PULSE, SKIPPED, ERROR)

DEADLINE_RESERVE_SECONDS = 2.0
"""Invocation time kept back from probing, to write the records and return."""

RECORD_DETAIL_MAX_CHARS = 1000
"""A failure record's ``detail`` and ``url`` are cut to this many characters (marked ``…``).

The detail quotes URLs (the pulse's, a redirect's Location) that can be tens
of kilobytes; cut, a record stays far below the 64 KiB check_result reads
(store.FAILURE_RECORD_MAX_BYTES) whatever the target answers.
"""

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class CheckEchoError(RuntimeError):
    """Some records hit infrastructure errors; the message lists them. Raised after all records."""


class OutOfTime(RuntimeError):
    """The invocation's time ran out before a record could be probed (an error: Lambda retries)."""


@dataclass(frozen=True)
class Config:
    """check_echo's configuration, from the environment (docs/internals.md)."""

    bucket: str
    pulse_max_bytes: int
    probe: ProbeConfig

    @classmethod
    def from_env(cls) -> Config:
        """Read ``PULSE_ECHO_BUCKET``, ``PULSE_MAX_BYTES`` and the probe's variables.

        Raises ConfigError naming the variable that is missing or invalid.
        """
        bucket = env_required("PULSE_ECHO_BUCKET")
        if not is_valid_bucket_name(bucket):
            raise ConfigError(
                f"environment variable PULSE_ECHO_BUCKET={bucket!r} is not a valid S3 bucket name"
            )
        return cls(
            bucket=bucket,
            pulse_max_bytes=env_int("PULSE_MAX_BYTES", 65536, minimum=1),
            probe=ProbeConfig.from_env(),
        )


@dataclass(frozen=True)
class PulseObject:
    """A record that names a pulse of our bucket: the decoded key and its host."""

    bucket: str
    key: str
    host: str


@dataclass(frozen=True)
class Outcome:
    """What became of one record; logged as one line and summarised."""

    outcome: str
    reason: str | None
    key: str | None = None
    host: str | None = None
    elapsed_ms: int | None = None
    detail: str = ""
    level: int = logging.INFO
    recorded: bool = True  # False: a failure/bad_pulse whose failure record could not be written


class RecordSkipped(Exception):
    """The record is not one to check; carries the Outcome to log."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


@functools.cache
def config() -> Config:
    """The configuration, read and validated once per container (ConfigError is not cached)."""
    return Config.from_env()


@functools.cache
def s3_client() -> Any:
    """The S3 client, created once per container. Honours AWS_ENDPOINT_URL like any boto3 client."""
    return boto3.client(
        "s3",
        config=BotocoreConfig(
            connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}
        ),
    )


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Check the pulse of every record of an S3 event; return the summary (see summarize).

    ``event`` is an S3 notification (``{"Records": [...]}``, AWS's exact
    shape); an event without Records (S3's ``s3:TestEvent``, ``{}``) is
    logged and ignored, and so, with a warning, is an event that is not a
    JSON object at all (a list, a string, null: a wrongly wired trigger).
    ``context`` is the Lambda context: its remaining time bounds the probes.
    Raises ConfigError when the configuration is invalid, and CheckEchoError
    after processing every record when any of them hit an infrastructure error.
    """
    settings = config()
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        if not isinstance(event, dict):
            detail = f"event is {type(event).__name__}, not an S3 notification: ignored"
            log_outcome(Outcome(SKIPPED, "no_records", detail=detail, level=logging.WARNING))
            return summarize([])
        reason = "test_event" if event.get("Event") == "s3:TestEvent" else "no_records"
        log_outcome(Outcome(SKIPPED, reason, detail="event without Records ignored"))
        return summarize([])
    deadline = invocation_deadline(context)
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []
    for record in records:
        outcome, error = process_record(record, settings, s3_client(), deadline)
        log_outcome(outcome)
        outcomes.append(outcome)
        if error is not None:
            errors.append(error)
    summary = summarize(outcomes)
    log(logger, logging.INFO, "event processed", records=summary["records"], outcomes=summary["outcomes"])
    if errors:
        failed = [o for o in outcomes if o.outcome == ERROR]
        raise CheckEchoError(
            f"{len(failed)} of {len(outcomes)} records hit infrastructure errors: "
            + "; ".join(f"{o.key}: {o.detail}" for o in failed)
        ) from errors[0]
    return summary


def process_record(
    record: Any, settings: Config, s3: Any, deadline: float | None = None
) -> tuple[Outcome, BaseException | None]:
    """Process one S3 event record; return its Outcome and the infrastructure error, if any.

    Never raises: an S3 error (other than the pulse being gone) or an
    unexpected exception becomes an ``error`` Outcome plus the exception, so
    the caller can finish the other records first.
    """
    target: PulseObject | None = None
    try:
        target = parse_record(record, settings.bucket)
        return check_pulse(target, settings, s3, deadline), None
    except RecordSkipped as skipped:
        return skipped.outcome, None
    except (ClientError, BotoCoreError) as exc:
        error, reason, detail = exc, "s3_error", describe_s3_error(exc)
    except OutOfTime as exc:
        error, reason, detail = exc, "out_of_time", str(exc)
    except Exception as exc:  # noqa: BLE001 - one record's bug must not stop the others; re-raised after them
        error, reason, detail = exc, "internal_error", f"{type(exc).__name__}: {exc}"
    key, host = (target.key, target.host) if target else (None, None)
    return Outcome(ERROR, reason, key, host, detail=detail, level=logging.ERROR), error


def parse_record(record: Any, bucket: str) -> PulseObject:
    """Return the pulse an S3 event record names, or raise RecordSkipped saying why not.

    Follows the S3 event message structure (eventVersion 2.x): skips records
    whose ``eventSource`` is not ``aws:s3`` or whose ``eventName`` is not
    ``ObjectCreated:*``, malformed records, a bucket name that is not a valid
    S3 bucket name (the console's test event has a placeholder), a bucket other
    than ``bucket`` (this function's IAM grants and check_result cover only
    that one), and keys that are not ``pulse/<host>.json``. The key is
    URL-encoded with ``+`` for spaces in the event and decoded here, once
    (see decode_event_key): a key that S3 cannot have sent is a malformed record.
    """
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        raise _skip("not_s3_record", "record is not from S3")
    event_name = record.get("eventName")
    if not isinstance(event_name, str) or not event_name.startswith("ObjectCreated:"):
        raise _skip("not_object_created", f"event {event_name!r} is not ObjectCreated")
    s3_part = record.get("s3")
    record_bucket = _dig(s3_part, "bucket", "name")
    raw_key = _dig(s3_part, "object", "key")
    if not isinstance(record_bucket, str) or not isinstance(raw_key, str):
        raise _skip("malformed_record", "record has no s3.bucket.name or s3.object.key", level=logging.ERROR)
    key = decode_event_key(raw_key)
    host = host_from_key(key, PULSE_PREFIX)
    if not is_valid_bucket_name(record_bucket):
        raise _skip(
            "invalid_bucket_name",
            f"record's bucket {record_bucket!r} is not a valid S3 bucket name "
            "(a placeholder from a console test event?)",
            key,
            host,
            logging.ERROR,
        )
    if record_bucket != bucket:
        detail = f"record's bucket {record_bucket!r} is not PULSE_ECHO_BUCKET {bucket!r}"
        raise _skip("foreign_bucket", detail, key, host, logging.WARNING)
    if host is None:
        raise _skip("not_a_pulse_key", f"key is not {PULSE_PREFIX}<host>.json", key)
    return PulseObject(record_bucket, key, host)


def decode_event_key(raw_key: str) -> str:
    """Decode an S3 event's object key (URL-encoded, ``+`` for a space) exactly once.

    S3 keys are UTF-8 of at most 1,024 bytes and S3 encodes every ``%`` as
    ``%25``, so a bare ``%``, an escape that is not UTF-8 (``%FF``, an encoded
    surrogate) or a key over the limit cannot come from S3. Decoding those with
    replacement characters would name another key (a misleading
    ``pulse_deleted``) or make botocore raise on every retry; raises
    RecordSkipped ``malformed_record`` instead.
    """
    problem = None
    try:
        if _BAD_PERCENT.search(raw_key):
            raise UnicodeError("a % not followed by two hex digits")
        key = unquote_plus(raw_key, errors="strict")
        size = len(key.encode("utf-8"))
    except UnicodeError:
        problem = "is not valid percent-encoded UTF-8"
    else:
        if size > S3_KEY_MAX_BYTES:
            problem = f"decodes to {size} bytes, longer than S3's {S3_KEY_MAX_BYTES}-byte key limit"
    if problem is not None:
        shown = _clip(raw_key.encode("ascii", "backslashreplace").decode("ascii"), 200)
        raise _skip(
            "malformed_record",
            f"record's s3.object.key {shown!r} {problem}: S3 cannot have sent it",
            level=logging.ERROR,
        )
    return key


def check_pulse(target: PulseObject, settings: Config, s3: Any, deadline: float | None = None) -> Outcome:
    """Read the pulse, probe it and write the echo or the failure record; return the Outcome.

    Raises RecordSkipped when the pulse is gone (deleted before we read it),
    OutOfTime when ``deadline`` has passed before the probe; S3 errors
    (botocore ClientError/BotoCoreError) propagate. A host whose failure
    record key would pass S3's key limit is still checked (its echo fits):
    a failure is then logged and counted without a record (see write_failure).
    """
    try:
        data = read_pulse(s3, target.bucket, target.key, settings.pulse_max_bytes)
        pulse = None if data is None else parse_pulse(data)
    except PulseError as exc:
        failure = failure_record(utcnow(), reason=BAD_PULSE, detail=str(exc))
        note = write_failure(s3, target, failure)
        return Outcome(
            BAD_PULSE,
            BAD_PULSE,
            target.key,
            target.host,
            detail=str(exc) + note,
            level=logging.ERROR,
            recorded=not note,
        )
    if pulse is None:
        raise _skip("pulse_deleted", "pulse was deleted before it could be read", target.key, target.host)
    if deadline is not None and time.monotonic() >= deadline:
        raise OutOfTime("no time left in this invocation to probe; Lambda will retry the event")
    result = probe(pulse.url, pulse.body, settings.probe, deadline=deadline)
    now = utcnow()
    if result.ok:
        put_record(
            s3, target.bucket, output_key(ECHO_PREFIX, target.host), echo_record(now, pulse.url, result)
        )
        return Outcome(ECHO, None, target.key, target.host, result.elapsed_ms, result.detail)
    failure = failure_record(
        now,
        reason=result.reason or "",
        detail=result.detail,
        url=pulse.url,
        http_status=result.http_status,
        elapsed_ms=result.elapsed_ms,
        expected_excerpt=result.expected_excerpt,
        received_excerpt=result.received_excerpt,
    )
    note = write_failure(s3, target, failure)
    return Outcome(
        FAILED,
        result.reason,
        target.key,
        target.host,
        result.elapsed_ms,
        result.detail + note,
        logging.ERROR if note else logging.WARNING,
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
    key = output_key(FAILURE_PREFIX, target.host)
    if not key_fits(key):
        return (
            f"; no failure record: {FAILURE_PREFIX}<host>.json would be {key_bytes(key)} bytes, "
            f"over S3's {S3_KEY_MAX_BYTES}-byte key limit (shorten the host name)"
        )
    put_record(s3, target.bucket, key, record)
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
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "NoSuchKey":
            return None
        if code == "InvalidRange":
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


def echo_record(now: datetime, url: str, result: ProbeResult) -> dict[str, Any]:
    """The body of ``echo/<host>.json`` (docs/internals.md): checked_at (UTC, ``Z``), url, status, ms."""
    return {
        "checked_at": isoformat(now),
        "url": url,
        "http_status": result.http_status,
        "elapsed_ms": result.elapsed_ms,
    }


def failure_record(
    now: datetime,
    *,
    reason: str,
    detail: str,
    url: str | None = None,
    http_status: int | None = None,
    elapsed_ms: int | None = None,
    expected_excerpt: str | None = None,
    received_excerpt: str | None = None,
) -> dict[str, Any]:
    """The body of ``failure/<host>.json`` (docs/internals.md); fields that do not apply are null.

    ``detail`` and ``url`` are cut to RECORD_DETAIL_MAX_CHARS characters (``…``
    marks a cut), so the record stays small whatever the pulse or target sent.
    """
    return {
        "failed_at": isoformat(now),
        "url": _clip(url),
        "reason": reason,
        "detail": _clip(detail),
        "http_status": http_status,
        "elapsed_ms": elapsed_ms,
        "expected_excerpt": expected_excerpt,
        "received_excerpt": received_excerpt,
    }


def put_record(s3: Any, bucket: str, key: str, record: dict[str, Any]) -> None:
    """Write ``record`` as UTF-8 JSON (``application/json``) to ``s3://bucket/key``; S3 errors propagate."""
    body = json.dumps(record, ensure_ascii=False).encode("utf-8")
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    """``{"records": n, "outcomes": {outcome: count}, "results": [{key, host, outcome, reason}]}``."""
    return {
        "records": len(outcomes),
        "outcomes": {name: sum(o.outcome == name for o in outcomes) for name in OUTCOMES},
        "results": [
            {"key": o.key, "host": o.host, "outcome": o.outcome, "reason": o.reason} for o in outcomes
        ],
    }


def log_outcome(outcome: Outcome) -> None:
    """One JSON log line for a record: stable keys host, outcome, reason, elapsed_ms, key, detail."""
    log(
        logger,
        outcome.level,
        _MESSAGES[outcome.outcome] if outcome.recorded else _NOT_RECORDED_MESSAGES[outcome.outcome],
        host=outcome.host,
        outcome=outcome.outcome,
        reason=outcome.reason,
        elapsed_ms=outcome.elapsed_ms,
        key=outcome.key,
        detail=outcome.detail,
    )


def invocation_deadline(context: Any) -> float | None:
    """``time.monotonic()`` instant by which probing must stop, from the Lambda context.

    Keeps DEADLINE_RESERVE_SECONDS (at most a quarter of the remaining time)
    for writing records. None when the context has no remaining time (tests).
    """
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    seconds = remaining() / 1000
    return time.monotonic() + seconds - min(DEADLINE_RESERVE_SECONDS, seconds / 4)


def is_valid_bucket_name(name: str) -> bool:
    """True for a valid S3 general purpose bucket name.

    AWS's rules: 3-63 characters of lowercase letters, digits, ``.`` and
    ``-``; starts and ends with a letter or digit; no ``..``; not formatted
    as an IPv4 address; not one of the reserved prefixes (``xn--``,
    ``sthree-``, ``amzn-s3-demo-``) or suffixes (``-s3alias``, ``--ol-s3``,
    ``.mrap``, ``--x-s3``, ``--table-s3``).
    """
    return (
        _BUCKET_NAME.fullmatch(name) is not None
        and ".." not in name
        and _IPV4.fullmatch(name) is None
        and not name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    )


def describe_s3_error(exc: BaseException) -> str:
    """``GetObject: AccessDenied: Access Denied`` for a ClientError, the message for other botocore errors."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{exc.operation_name}: {error.get('Code', '?')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


_MESSAGES = {
    ECHO: "check passed, echo written",
    FAILED: "check failed, failure recorded",
    BAD_PULSE: "bad pulse, failure recorded",
    SKIPPED: "record skipped",
    ERROR: "record not processed: infrastructure error",
}
_NOT_RECORDED_MESSAGES = {
    FAILED: "check failed, failure record not written",
    BAD_PULSE: "bad pulse, failure record not written",
}


def _clip(text: str | None, limit: int = RECORD_DETAIL_MAX_CHARS) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _skip(
    reason: str, detail: str, key: str | None = None, host: str | None = None, level: int = logging.INFO
) -> RecordSkipped:
    return RecordSkipped(Outcome(SKIPPED, reason, key, host, detail=detail, level=level))


def _dig(value: Any, *names: str) -> Any:
    for name in names:
        value = value.get(name) if isinstance(value, dict) else None
    return value
