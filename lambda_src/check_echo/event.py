"""The records of an S3 event: which pulse each one names, or why it is skipped."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from pulse_echo import reasons
from pulse_echo.layout import PULSE_PREFIX, S3_KEY_MAX_BYTES, host_from_key, is_valid_bucket_name
from pulse_echo.text import clip

from .outcome import skip

_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class PulseObject:
    """A record that names a pulse of our bucket: the decoded key and its host."""

    bucket: str
    key: str
    host: str


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
        raise skip(reasons.NOT_S3_RECORD, "record is not from S3")
    event_name = record.get("eventName")
    if not isinstance(event_name, str) or not event_name.startswith("ObjectCreated:"):
        raise skip(reasons.NOT_OBJECT_CREATED, f"event {event_name!r} is not ObjectCreated")
    s3_part = record.get("s3")
    record_bucket = _dig(s3_part, "bucket", "name")
    raw_key = _dig(s3_part, "object", "key")
    if not isinstance(record_bucket, str) or not isinstance(raw_key, str):
        raise skip(
            reasons.MALFORMED_RECORD, "record has no s3.bucket.name or s3.object.key", level=logging.ERROR
        )
    key = decode_event_key(raw_key)
    host = host_from_key(key, PULSE_PREFIX)
    if not is_valid_bucket_name(record_bucket):
        raise skip(
            reasons.INVALID_BUCKET_NAME,
            f"record's bucket {record_bucket!r} is not a valid S3 bucket name "
            "(a placeholder from a console test event?)",
            key,
            host,
            logging.ERROR,
        )
    if record_bucket != bucket:
        detail = f"record's bucket {record_bucket!r} is not PULSE_ECHO_BUCKET {bucket!r}"
        raise skip(reasons.FOREIGN_BUCKET, detail, key, host, logging.WARNING)
    if host is None:
        raise skip(reasons.NOT_A_PULSE_KEY, f"key is not {PULSE_PREFIX}<host>.json", key)
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
        shown = clip(raw_key.encode("ascii", "backslashreplace").decode("ascii"), 200)
        raise skip(
            reasons.MALFORMED_RECORD,
            f"record's s3.object.key {shown!r} {problem}: S3 cannot have sent it",
            level=logging.ERROR,
        )
    return key


def _dig(value: Any, *names: str) -> Any:
    for name in names:
        value = value.get(name) if isinstance(value, dict) else None
    return value
