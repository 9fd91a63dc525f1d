"""AWS errors, read the same way everywhere: the error code, not found, a conditional-write conflict.

Duck-typed on botocore's ``ClientError`` (``response["Error"]["Code"]``,
``response["ResponseMetadata"]["HTTPStatusCode"]``, ``operation_name``), so this
module needs only the standard library.
"""

from __future__ import annotations

NO_SUCH_KEY_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
"""GetObject answers ``NoSuchKey``; HeadObject, which has no error body, ``404``."""

NO_SUCH_BUCKET_CODES = frozenset({"NoSuchBucket", "NotFound", "404"})
"""GetObject and ListObjectsV2 answer ``NoSuchBucket``; HeadBucket, with no error body, ``404``."""

CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409"})
"""A conditional write or delete that lost (S3 user guide, conditional writes): ``412
PreconditionFailed``, ``409 ConditionalRequestConflict``, or ``If-Match`` on a key now gone."""


def _response(exc: BaseException) -> dict:
    response = getattr(exc, "response", None)
    return response if isinstance(response, dict) else {}


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (``AccessDenied``...), "" for anything else."""
    return str(_response(exc).get("Error", {}).get("Code", ""))


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of the AWS answer, None when there was none."""
    return _response(exc).get("ResponseMetadata", {}).get("HTTPStatusCode")


def is_no_such_key(exc: BaseException) -> bool:
    """True for an answer that says the object does not exist (never for a missing bucket)."""
    return error_code(exc) in NO_SUCH_KEY_CODES


def is_no_such_bucket(exc: BaseException) -> bool:
    """True for an answer to a bucket-level request that says the bucket does not exist."""
    return error_code(exc) in NO_SUCH_BUCKET_CODES


def is_conflict(exc: BaseException) -> bool:
    """True for a conditional write or delete that another writer won (see CONFLICT_CODES)."""
    return error_code(exc) in CONFLICT_CODES or http_status(exc) in (409, 412)


def describe(exc: BaseException) -> str:
    """``GetObject: AccessDenied: Access Denied`` for a ClientError, ``Type: message`` for other errors."""
    if _response(exc) and hasattr(exc, "operation_name"):
        message = _response(exc).get("Error", {}).get("Message", "")
        return f"{exc.operation_name}: {error_code(exc) or '?'}: {message}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"
