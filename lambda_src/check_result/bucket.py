"""One S3 bucket through one boto3 client: bounded GETs (one or many at once), conditional PUTs,
the documents of ``state/``, and a count of the requests made. check_result.store builds on it.

Conditional writes follow the S3 user guide ("How to prevent object overwrites
with conditional writes"): PutObject with ``If-None-Match: *`` creates only
when the key is absent, ``If-Match: <ETag>`` replaces only the version that
was read; a failed condition is ``412 PreconditionFailed``, a concurrent
conditional write can be ``409 ConditionalRequestConflict``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from pulse_echo import aws
from pulse_echo.logs import get_logger, log

T = TypeVar("T")

LOGGER = get_logger("pulse_echo.store")  # the name every log line carries since 0.1
PARALLEL_READS = 8
"""GETs _get_many has in flight at once (boto3's clients are thread-safe; its default connection
pool holds 10): S3's latency is paid about once per this many objects instead of once each."""


class StateConflictError(RuntimeError):
    """A document of ``state/`` changed since it was read (another writer): nothing was saved."""


@dataclass(frozen=True)
class Stored(Generic[T]):
    """A document of ``state/`` as read: its decoded ``value``, its ``etag`` (None: absent) and
    whether it existed but could not be read (``unreadable``: ``value`` is then the empty one)."""

    value: T
    etag: str | None
    unreadable: bool = False


class Bucket:
    """S3 access with a request count (``requests``: every API call made through this object).
    Errors other than a missing key and the documented conflicts are botocore's, raised as is."""

    def __init__(self, s3_client: object, bucket: str, *, logger: logging.Logger | None = None) -> None:
        self.s3: Any = s3_client
        self.bucket = bucket
        self.logger = logger or LOGGER
        self.requests = 0
        self._count_lock = threading.Lock()

    def _count(self, requests: int = 1) -> None:
        with self._count_lock:
            self.requests += requests

    def _get(self, key: str, max_bytes: int, *, with_last_modified: bool = False) -> tuple | None:
        """GET ``key`` if it is at most ``max_bytes``: ``(data, etag[, last_modified])``, or
        None when absent. ``data`` is None for a larger object, which is not read (its
        ContentLength says so; the connection is closed), so memory stays bounded."""
        try:
            self._count()
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if aws.is_no_such_key(exc):
                return None
            raise
        body = response["Body"]
        try:
            size = response.get("ContentLength")
            data = None if isinstance(size, int) and size > max_bytes else body.read(max_bytes + 1)
        finally:
            body.close()
        if data is not None and len(data) > max_bytes:
            data = None
        if with_last_modified:
            last_modified = response.get("LastModified")
            return data, response["ETag"], last_modified.astimezone(timezone.utc) if last_modified else None
        return data, response["ETag"]

    def _get_many(self, keys: Sequence[str], max_bytes: int) -> dict[str, tuple | None]:
        """_get each of ``keys``, PARALLEL_READS at a time: ``{key: (data, etag) or None}``. The
        first error (botocore's) is raised once every read has ended."""
        if len(keys) <= 1:
            return {key: self._get(key, max_bytes) for key in keys}
        with ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(keys))) as pool:
            return dict(zip(keys, pool.map(lambda key: self._get(key, max_bytes), keys), strict=True))

    def _head(self, key: str) -> tuple[datetime, str] | None:
        """HEAD ``key``: ``(LastModified in UTC, ETag)``, or None when absent."""
        try:
            self._count()
            response = self.s3.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if aws.is_no_such_key(exc):
                return None
            raise
        return response["LastModified"].astimezone(timezone.utc), response["ETag"]

    def _head_many(self, keys: Sequence[str]) -> dict[str, tuple[datetime, str] | None]:
        """_head each of ``keys``, PARALLEL_READS at a time (see _get_many)."""
        if len(keys) <= 1:
            return {key: self._head(key) for key in keys}
        with ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(keys))) as pool:
            return dict(zip(keys, pool.map(self._head, keys), strict=True))

    def _put_conditional(self, key: str, body: bytes, etag: str | None) -> str:
        """PUT ``key`` only over the version read (``If-Match``) or only if absent
        (``If-None-Match: *`` when ``etag`` is None): the new ETag, or StateConflictError."""
        condition = {"IfMatch": etag} if etag is not None else {"IfNoneMatch": "*"}
        try:
            self._count()
            response = self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", **condition
            )
        except Exception as exc:
            if aws.is_conflict(exc):
                raise StateConflictError(
                    f"s3://{self.bucket}/{key} changed since it was read ({aws.error_code(exc)})"
                ) from None
            raise
        return response["ETag"]

    def _read_document(
        self,
        key: str,
        max_bytes: int,
        decode: Callable[[bytes], object],
        error: type[Exception],
        message: str,
        outcome: str,
        empty: Any = None,
    ) -> Stored[Any]:
        """GET a document of ``state/`` and ``decode`` it; one that is over ``max_bytes`` or
        raises ``error`` is logged as an ERROR (``message``, ``outcome``) and read as ``empty``."""
        found = self._get(key, max_bytes)
        if found is None:
            return Stored(empty, None)
        data, etag = found
        try:
            if data is None:
                raise error(f"{key} is larger than {max_bytes} bytes")
            return Stored(decode(data), etag)
        except error as exc:
            log(self.logger, logging.ERROR, message, outcome=outcome, reason=str(exc))
            return Stored(empty, etag, unreadable=True)
