"""One pulse checked: read it (size-capped), then, by its kind, write ``echo/<host>.json`` (a
heartbeat's upload, a job's ``ok``, a probe that passed) or ``failure/<host>.json`` (a bad pulse,
a job's own failure, a probe that failed)."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from pulse_echo import reasons
from pulse_echo.pulse import KIND_HEARTBEAT, Pulse, PulseError, parse_pulse
from pulse_echo.reasons import REASONS
from pulse_echo.records import EVIDENCE, JOB_FIELDS, RECORD_DETAIL_MAX_CHARS, echo_record, failure_record
from pulse_echo.text import clip
from pulse_echo.times import utcnow

from .event import PulseObject
from .outcome import BAD_PULSE, ECHO, FAILED, Outcome, skip
from .probe import ProbeConfig, probe
from .store import failing_since, failure_unwritable, read_pulse, write_echo, write_failure


class OutOfTime(RuntimeError):
    """The invocation's time ran out before a record could be probed (an error: Lambda retries)."""


def check_pulse(
    target: PulseObject, s3: Any, pulse_max_bytes: int, config: ProbeConfig, deadline: float | None = None
) -> Outcome:
    """Read the pulse, judge it and write the echo or the failure record; return the Outcome.

    A heartbeat (no ``url``) and a job reporting ``ok`` without a ``url`` pass
    on their upload alone; ``"result": "fail"`` is a ``job_failed`` failure,
    never probed; a pulse with a ``url`` is probed (check_echo.probe).
    Raises RecordSkipped when the pulse is gone (deleted before we read it),
    OutOfTime when ``deadline`` has passed before the probe; S3 errors
    (botocore ClientError/BotoCoreError) propagate. A host whose failure
    record key would pass S3's key limit is still checked (its echo fits):
    a failure is then logged and counted without a record (store.failure_unwritable).
    """
    received = utcnow()
    try:
        data = read_pulse(s3, target.bucket, target.key, pulse_max_bytes)
        pulse = None if data is None else parse_pulse(data, now=received)
    except PulseError as exc:
        return record_failure(
            s3, target, BAD_PULSE, received, reasons.BAD_PULSE, str(exc), level=logging.ERROR
        )
    if pulse is None:
        raise skip(
            reasons.PULSE_DELETED, "pulse was deleted before it could be read", target.key, target.host
        )
    job = {name: getattr(pulse, name) for name in JOB_FIELDS}
    if pulse.failed:
        said = REASONS[reasons.JOB_FAILED] + job_facts(pulse)
        if pulse.message:
            said += f": {clip(pulse.message, RECORD_DETAIL_MAX_CHARS)}"
        return record_failure(
            s3, target, FAILED, received, reasons.JOB_FAILED, pulse.message or "",
            kind=pulse.kind, url=pulse.url, log_detail=said, **job,
        )  # fmt: skip
    if not pulse.probes:
        write_echo(s3, target, echo_record(received, None, None, None, kind=pulse.kind, **job))
        said = "heartbeat" if pulse.kind == KIND_HEARTBEAT else f"the job reported ok{job_facts(pulse)}"
        detail = f"{said}: the upload is the success"
        return Outcome(ECHO, None, target.key, target.host, detail=detail, kind=pulse.kind)
    if deadline is not None and time.monotonic() >= deadline:
        raise OutOfTime("no time left in this invocation to probe; Lambda will retry the event")
    result = probe(pulse, config, deadline=deadline)
    now = utcnow()
    if result.ok:
        record = echo_record(now, pulse.url, result.http_status, result.elapsed_ms, kind=pulse.kind, **job)
        write_echo(s3, target, record)
        return Outcome(ECHO, None, target.key, target.host, result.elapsed_ms, result.detail, kind=pulse.kind)
    evidence = {name: getattr(result, name) for name in EVIDENCE}
    return record_failure(
        s3, target, FAILED, now, result.reason or "", result.detail,
        kind=pulse.kind, url=pulse.url, **evidence, **job,
    )  # fmt: skip


def record_failure(
    s3: Any,
    target: PulseObject,
    outcome: str,
    now: datetime,
    reason: str,
    detail: str,
    *,
    kind: str | None = None,
    url: str | None = None,
    level: int = logging.WARNING,
    log_detail: str | None = None,
    **fields: Any,
) -> Outcome:
    """Write ``failure/<host>.json`` (records.failure_record: ``detail`` and ``fields``, dated
    by store.failing_since) and return the Outcome to log: ``log_detail`` (else ``detail``, not
    cut, unlike the record's) at ``level``, or at ERROR when no record can be written."""
    note = failure_unwritable(target)
    if note is None:
        since = failing_since(s3, target, now)
        record = failure_record(now, reason, detail, url, failing_since=since, kind=kind, **fields)
        write_failure(s3, target, record)
    return Outcome(
        outcome,
        reason,
        target.key,
        target.host,
        fields.get("elapsed_ms"),
        (log_detail or detail) + (note or ""),
        logging.ERROR if note else level,
        recorded=note is None,
        kind=kind,
    )


def job_facts(pulse: Pulse) -> str:
    """`` (exit code 2, 12.5 s)``: what a job's pulse measured, or "" when it says nothing."""
    facts = []
    if pulse.exit_code is not None:
        facts.append(f"exit code {pulse.exit_code}")
    if pulse.duration_seconds is not None:
        facts.append(f"{pulse.duration_seconds:g} s")
    return f" ({', '.join(facts)})" if facts else ""
