"""Every reason code, its label and its sentence: the only place a code becomes words.

As healthchecks declares ``REASONS`` once and words them in ``Flip.reason_long``:
codes are declared here, REASONS labels the codes a failed check records, and
reason_long() makes the sentence for any code. docs/internals.md lists them all.
Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .layout import failure_key_problem
from .records import FailureRecord
from .text import one_line, quote_excerpt, tail_line
from .times import elapsed, format_duration, iso_or_none, isoformat

# --- written by check_echo in failure/<host>.json: why a check failed ---
HTTP_STATUS, WRONG_BODY, TIMEOUT, DNS, TLS = "http_status", "wrong_body", "timeout", "dns", "tls"
CONNECTION, TOO_MANY_REDIRECTS, BODY_TOO_LARGE = "connection", "too_many_redirects", "body_too_large"
PRIVATE_TARGET, BAD_PULSE = "private_target", "bad_pulse"
SLOW, JOB_FAILED = "slow", "job_failed"

REASONS: dict[str, str] = {
    HTTP_STATUS: "HTTP error status",
    WRONG_BODY: "wrong body",
    TIMEOUT: "timeout",
    DNS: "DNS error",
    TLS: "TLS error",
    CONNECTION: "connection error",
    TOO_MANY_REDIRECTS: "too many redirects",
    BODY_TOO_LARGE: "response body too large",
    PRIVATE_TARGET: "refused: the URL resolves to a private address",
    BAD_PULSE: "invalid pulse",
    SLOW: "too slow",
    JOB_FAILED: "the job reported a failure",
}
"""Label of each code a failure record carries. Any other code read from a record (a newer
pulse-echo's, or UNREADABLE_FAILURE_RECORD) is shown as itself."""

# --- derived by check_result when no current failure record explains an outage (never written) ---
PULSE_STOPPED, NO_PULSE, NO_CHECK_RESULT = "pulse_stopped", "no_pulse", "no_check_result"
CHECK_FAILED, HOST_NAME_TOO_LONG = "check_failed", "host_name_too_long"
UNREADABLE_FAILURE_RECORD = "unreadable_failure_record"

_DERIVED: dict[str, str] = {
    CHECK_FAILED: "the last check failed (failure record not read)",
    NO_PULSE: "no pulse object: the host's pulse was deleted",
    PULSE_STOPPED: "no pulse since {pulse_at} ({pulse_age} ago): the host stopped sending pulses",
    HOST_NAME_TOO_LONG: (
        "pulses arrive (last {pulse_at}) but check_echo cannot record why its checks fail: {key_problem}"
    ),
    NO_CHECK_RESULT: (
        "pulses arrive (last {pulse_at}) but no check result was recorded after them: "
        "check_echo may not be running"
    ),
}

# --- why check_echo did not check a record (outcome "skipped") or could not (outcome "error") ---
TEST_EVENT, NO_RECORDS, NOT_S3_RECORD = "test_event", "no_records", "not_s3_record"
NOT_OBJECT_CREATED, MALFORMED_RECORD = "not_object_created", "malformed_record"
INVALID_BUCKET_NAME, FOREIGN_BUCKET = "invalid_bucket_name", "foreign_bucket"
NOT_A_PULSE_KEY, PULSE_DELETED = "not_a_pulse_key", "pulse_deleted"
S3_ERROR, OUT_OF_TIME, INTERNAL_ERROR = "s3_error", "out_of_time", "internal_error"


@dataclass(frozen=True)
class Reason:
    """Why a host is (or looks) down: a code and a one-line, plain-text explanation.

    ``detail`` is not escaped for any markup (Slack escaping is the alert's
    job); excerpts are already short and quoted. ``failed_at`` is the time of
    the failed check when the reason comes from a failure record.
    """

    code: str
    detail: str
    failed_at: datetime | None = None
    http_status: int | None = None
    expected_excerpt: str | None = None
    received_excerpt: str | None = None
    exit_code: int | None = None
    duration_seconds: float | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (times as ISO 8601 UTC strings)."""
        return {
            "code": self.code,
            "detail": self.detail,
            "failed_at": iso_or_none(self.failed_at),
            "http_status": self.http_status,
            "expected_excerpt": self.expected_excerpt,
            "received_excerpt": self.received_excerpt,
            "exit_code": self.exit_code,
            "duration_seconds": self.duration_seconds,
        }


def job_facts(exit_code: int | None, duration_seconds: float | None) -> str:
    """`` (exit code 2, ran 3m 4s)``: what send-pulse measured of a job, or "" when nothing."""
    facts = [] if exit_code is None else [f"exit code {exit_code}"]
    if duration_seconds is not None:
        facts.append(f"ran {format_duration(duration_seconds)}")
    return f" ({', '.join(facts)})" if facts else ""


JOB_MESSAGE_CHARS = 200
"""A job's message is shown by its last this many characters (the end of its output says most)."""


def reason_long(
    code: str,
    *,
    detail: str = "",
    http_status: int | None = None,
    expected_excerpt: str | None = None,
    received_excerpt: str | None = None,
    exit_code: int | None = None,
    duration_seconds: float | None = None,
    host: str = "",
    pulse_at: datetime | None = None,
    now: datetime | None = None,
) -> str:
    """The sentence for ``code``, on one line: from a failure record's fields (``detail``,
    ``http_status``, the excerpts; for ``job_failed`` the job's message, its exit code and
    duration, the message by its end) or, for a derived code, from the host's name, its last
    pulse and ``now``."""
    if code in _DERIVED:
        facts = {"key_problem": failure_key_problem(host) or ""}
        if pulse_at is not None:
            facts["pulse_at"] = isoformat(pulse_at)
            facts["pulse_age"] = elapsed(pulse_at, now or pulse_at)
        return _DERIVED[code].format(**facts)
    if code == WRONG_BODY and (expected_excerpt is not None or received_excerpt is not None):
        status = f" (HTTP {http_status})" if http_status is not None else ""
        return (
            f"wrong body{status}: expected {quote_excerpt(expected_excerpt)}, "
            f"received {quote_excerpt(received_excerpt)}"
        )
    if code == HTTP_STATUS and detail:
        return one_line(detail)  # check_echo's sentence starts with "HTTP <status>"
    if code == HTTP_STATUS:
        return f"HTTP {http_status}" if http_status is not None else REASONS[HTTP_STATUS]
    if code == JOB_FAILED:
        said = tail_line(detail, JOB_MESSAGE_CHARS)
        return REASONS[JOB_FAILED] + job_facts(exit_code, duration_seconds) + (f": {said}" if said else "")
    label = REASONS.get(code, code)
    return f"{label}: {one_line(detail)}" if detail else label


def reason_from_failure(record: FailureRecord, last_failed_at: datetime | None = None) -> Reason:
    """Explain a failure record in one line: HTTP status, wrong body (expected vs received), timeout...

    ``last_failed_at`` (the record's ``LastModified``) is used when the record
    carries no readable ``failed_at``.
    """
    return Reason(
        code=record.reason,
        detail=reason_long(
            record.reason,
            detail=record.detail,
            http_status=record.http_status,
            expected_excerpt=record.expected_excerpt,
            received_excerpt=record.received_excerpt,
            exit_code=record.exit_code,
            duration_seconds=record.duration_seconds,
        ),
        failed_at=record.failed_at or last_failed_at,
        http_status=record.http_status,
        expected_excerpt=record.expected_excerpt,
        received_excerpt=record.received_excerpt,
        exit_code=record.exit_code,
        duration_seconds=record.duration_seconds,
    )
