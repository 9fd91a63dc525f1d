"""check_echo: the Lambda function S3 invokes when a host uploads its pulse.

Handler ``check_echo.handler.handler``, subscribed to ``s3:ObjectCreated:*``
on ``pulse/``. For every record of the event it reads ``pulse/<host>.json``
(size-capped), judges it (check.check_pulse: a heartbeat's upload or a job's
``ok`` is a success, a job's ``fail`` a failure, a URL is probed) and writes
``echo/<host>.json`` on success or ``failure/<host>.json`` on a failure or a
bad pulse (records: docs/internals.md). It never writes under ``pulse/``,
which would invoke it again.

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
import logging
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import BotoCoreError, ClientError
from pulse_echo import aws, reasons, settings
from pulse_echo.logs import log
from pulse_echo.times import time_left

from .check import OutOfTime, check_pulse
from .event import PulseObject, parse_record
from .outcome import ERROR, SKIPPED, Outcome, RecordSkipped, log_outcome, logger, summarize
from .probe import ProbeConfig

DEADLINE_RESERVE_SECONDS = 2.0
"""Invocation time kept back from probing, to write the records and return."""


class CheckEchoError(RuntimeError):
    """Some records hit infrastructure errors; the message lists them. Raised after all records."""


@dataclass(frozen=True)
class Config:
    """check_echo's configuration, from the environment (pulse_echo.settings)."""

    bucket: str
    pulse_max_bytes: int
    probe: ProbeConfig

    @classmethod
    def from_env(cls) -> Config:
        """Read ``PULSE_ECHO_BUCKET``, ``PULSE_MAX_BYTES`` and the probe's variables.

        Raises ConfigError naming the variable that is missing or invalid.
        """
        return cls(
            bucket=settings.bucket(),
            pulse_max_bytes=settings.integer(settings.PULSE_MAX_BYTES),
            probe=ProbeConfig.from_env(),
        )


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
    """Check the pulse of every record of an S3 event; return the summary (see outcome.summarize).

    ``event`` is an S3 notification (``{"Records": [...]}``, AWS's exact
    shape); an event without Records (S3's ``s3:TestEvent``, ``{}``) is
    logged and ignored, and so, with a warning, is an event that is not a
    JSON object at all (a list, a string, null: a wrongly wired trigger).
    ``context`` is the Lambda context: its remaining time bounds the probes.
    Raises ConfigError when the configuration is invalid, and CheckEchoError
    after processing every record when any of them hit an infrastructure error.
    """
    current = config()
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        if not isinstance(event, dict):
            detail = f"event is {type(event).__name__}, not an S3 notification: ignored"
            log_outcome(Outcome(SKIPPED, reasons.NO_RECORDS, detail=detail, level=logging.WARNING))
            return summarize([])
        reason = reasons.TEST_EVENT if event.get("Event") == "s3:TestEvent" else reasons.NO_RECORDS
        log_outcome(Outcome(SKIPPED, reason, detail="event without Records ignored"))
        return summarize([])
    deadline = invocation_deadline(context)
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []
    for record in records:
        outcome, error = process_record(record, current, s3_client(), deadline)
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
    record: Any, current: Config, s3: Any, deadline: float | None = None
) -> tuple[Outcome, BaseException | None]:
    """Process one S3 event record; return its Outcome and the infrastructure error, if any.

    Never raises: an S3 error (other than the pulse being gone) or an
    unexpected exception becomes an ``error`` Outcome plus the exception, so
    the caller can finish the other records first.
    """
    target: PulseObject | None = None
    try:
        target = parse_record(record, current.bucket)
        return check_pulse(target, s3, current.pulse_max_bytes, current.probe, deadline), None
    except RecordSkipped as skipped:
        return skipped.outcome, None
    except (ClientError, BotoCoreError) as exc:
        error, reason, detail = exc, reasons.S3_ERROR, aws.describe(exc)
    except OutOfTime as exc:
        error, reason, detail = exc, reasons.OUT_OF_TIME, str(exc)
    except Exception as exc:  # noqa: BLE001 - one record's bug must not stop the others; re-raised after them
        error, reason, detail = exc, reasons.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"
    key, host = (target.key, target.host) if target else (None, None)
    return Outcome(ERROR, reason, key, host, detail=detail, level=logging.ERROR), error


def invocation_deadline(context: Any) -> float | None:
    """``time.monotonic()`` instant by which probing must stop, from the Lambda context.

    Keeps DEADLINE_RESERVE_SECONDS (at most a quarter of the remaining time)
    for writing records. None when the context has no remaining time (tests).
    """
    left = time_left(context)
    if left is None:
        return None
    seconds = left.total_seconds()
    return time.monotonic() + seconds - min(DEADLINE_RESERVE_SECONDS, seconds / 4)
