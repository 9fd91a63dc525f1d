"""What became of each record of an S3 event: one JSON log line each, and the handler's summary."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pulse_echo.logs import get_logger, log

logger = get_logger("pulse_echo.check_echo")  # the name every log line carries since 0.1

# Outcome of one record (the summary counts each).
ECHO = "echo"  # the check passed: echo/<host>.json written
FAILED = "failed"  # the probe failed: failure/<host>.json written, reason = a probe reason
BAD_PULSE = "bad_pulse"  # the pulse is invalid: failure/<host>.json written, reason "bad_pulse"
SKIPPED = "skipped"  # not ours to check (reason says why): nothing written
ERROR = "error"  # infrastructure error: the handler raises once all records are done
OUTCOMES = (ECHO, FAILED, BAD_PULSE, SKIPPED, ERROR)

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


@dataclass(frozen=True)
class Outcome:
    """What became of one record; logged as one line and summarised. ``reason`` is a code of
    pulse_echo.reasons (None for an echo)."""

    outcome: str
    reason: str | None
    key: str | None = None
    host: str | None = None
    elapsed_ms: int | None = None
    detail: str = ""
    level: int = logging.INFO
    recorded: bool = True  # False: a failure/bad_pulse whose failure record could not be written
    kind: str | None = None  # the pulse's kind (pulse_echo.pulse.KINDS); None when it was not read


class RecordSkipped(Exception):
    """The record is not one to check; carries the Outcome to log."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


def skip(
    reason: str, detail: str, key: str | None = None, host: str | None = None, level: int = logging.INFO
) -> RecordSkipped:
    """A RecordSkipped to raise: outcome ``skipped`` for ``reason``."""
    return RecordSkipped(Outcome(SKIPPED, reason, key, host, detail=detail, level=level))


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
    """One JSON log line for a record: stable keys host, outcome, reason, elapsed_ms, kind, key, detail."""
    log(
        logger,
        outcome.level,
        _MESSAGES[outcome.outcome] if outcome.recorded else _NOT_RECORDED_MESSAGES[outcome.outcome],
        host=outcome.host,
        outcome=outcome.outcome,
        reason=outcome.reason,
        elapsed_ms=outcome.elapsed_ms,
        kind=outcome.kind,
        key=outcome.key,
        detail=outcome.detail,
    )
