"""The history of status changes: append-only objects under ``history/``, schema beside codec.

Each check_result run that changes a status writes one object, after its message was accepted
and before its state is saved, so the history holds what was announced: at most one write a
run, nothing per host per run (pulse_echo.layout.history_key names it). pulse-pause writes one
per command. The bytes::

    {"schema": 1, "written_at", "writer": "check_result" | "pulse-pause", "run_id",
     "events": [{"event", "host", "at", "since", "until", "last_ok_at", "duration_seconds",
                 "reason": {"code", "detail"} | null, "kind", "source"}]}

Times are ISO 8601 UTC; fields that do not apply are null. The events (EVENTS):

- ``down``, ``still_down``, ``up``: the events a run announced (model.Event): ``since`` the
  start of the outage (the last successful check before it; for a host that never succeeded,
  when it was first seen), ``at`` the run's time; ``duration_seconds`` how long it had been
  down when announced, or for ``up`` how long it was down (``since`` to ``last_ok_at``, the
  check that succeeded again). ``reason`` is the one the alert gave; a job's own failure is a
  ``down`` with reason ``job_failed`` (its message in the detail).
- ``paused``: a pause began at ``since`` and lasts until ``until``; ``resumed``: a pause ended
  at ``at``, before its ``until``. ``source`` says whose: ``pulse`` (its ``pause_until``,
  recorded by check_result when it reads the changed pulse; ``since`` is the pulse's upload)
  or ``operator`` (pulse-pause; ``host`` null for every host). A pause replaces the running
  pause of the same host and source.
- ``first_seen``: check_result indexed the host's pulse for the first time; ``since`` is the
  earliest time its listings show.

At least once, like the alert: a write that fails keeps its events in the state
(``pending_history``, at most PENDING_HISTORY_MAX) for the next run's object, and a run whose
state save fails after its history was written announces and writes again, so readers
de-duplicate (HistoryEvent.key).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pulse_echo.layout import history_key
from pulse_echo.logs import log
from pulse_echo.reasons import Reason
from pulse_echo.text import clip, decode_document, encode_json
from pulse_echo.times import iso_exact, parse_isoformat, parse_optional_isoformat

from .bucket import Bucket, Stored
from .model import EVENT_DOWN, EVENT_STILL_DOWN, EVENT_UP, Event, Observation

if TYPE_CHECKING:
    from .pulses import PulseEntry

HISTORY_SCHEMA = 1
EVENT_PAUSED, EVENT_RESUMED, EVENT_FIRST_SEEN = "paused", "resumed", "first_seen"
EVENTS = (EVENT_DOWN, EVENT_STILL_DOWN, EVENT_UP, EVENT_PAUSED, EVENT_RESUMED, EVENT_FIRST_SEEN)
"""Every event kind a history object holds."""
SOURCE_PULSE, SOURCE_OPERATOR = "pulse", "operator"
SOURCES = (SOURCE_PULSE, SOURCE_OPERATOR)
WRITER_CHECK_RESULT, WRITER_PULSE_PAUSE = "check_result", "pulse-pause"
DETAIL_CHARS = 400
"""A reason's detail is kept to this many characters (a job's message is already cut to 200)."""
PENDING_HISTORY_MAX = 20_000
"""Events kept in the state while history writes fail (the oldest beyond it are dropped, logged)."""


class HistoryFormatError(ValueError):
    """A history object, or one of its events, is not what encode_history writes."""


@dataclass(frozen=True)
class HistoryEvent:
    """One event of the history (see the module docstring). ``host`` is None only for an
    operator pause of every host."""

    event: str
    host: str | None
    at: datetime
    since: datetime | None = None
    until: datetime | None = None
    last_ok_at: datetime | None = None
    duration: timedelta | None = None
    reason_code: str | None = None
    reason_detail: str | None = None
    kind: str | None = None
    source: str | None = None

    def key(self) -> tuple[object, ...]:
        """What makes an event the same as another one written again (at least once): its host,
        kind, source and start, and for a pause its end; a reminder's time too (each one counts)."""
        return (
            self.host,
            self.event,
            self.source,
            self.since,
            self.until if self.event == EVENT_PAUSED else None,
            self.at if self.event in (EVENT_STILL_DOWN, EVENT_RESUMED) else None,
        )

    def to_dict(self) -> dict[str, object]:
        """The event as stored (every field; null when it does not apply)."""
        return {
            "event": self.event,
            "host": self.host,
            "at": iso_exact(self.at),
            "since": iso_exact(self.since),
            "until": iso_exact(self.until),
            "last_ok_at": iso_exact(self.last_ok_at),
            "duration_seconds": None if self.duration is None else round(self.duration.total_seconds(), 3),
            "reason": None
            if self.reason_code is None
            else {"code": self.reason_code, "detail": self.reason_detail},
            "kind": self.kind,
            "source": self.source,
        }


def event_from_dict(fields: object) -> HistoryEvent:
    """Read one stored event; HistoryFormatError (and nothing else) when it is not one."""
    if not isinstance(fields, dict) or fields.get("event") not in EVENTS:
        raise HistoryFormatError("not a history event")
    host = fields.get("host")
    if not (isinstance(host, str) and host) and not (
        host is None and fields.get("source") == SOURCE_OPERATOR
    ):
        raise HistoryFormatError("history event without a host")
    reason = fields.get("reason")
    if reason is not None and not (
        isinstance(reason, dict)
        and isinstance(reason.get("code"), str)
        and isinstance(reason.get("detail"), (str, type(None)))
    ):
        raise HistoryFormatError("history event with a malformed reason")
    seconds = fields.get("duration_seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))):
        raise HistoryFormatError("history event with a malformed duration")
    if not isinstance(fields.get("kind"), (str, type(None))):
        raise HistoryFormatError("history event with a malformed kind")
    if fields.get("source") not in (*SOURCES, None):
        raise HistoryFormatError("history event with an unknown source")
    try:
        duration = None if seconds is None else timedelta(seconds=seconds)
        return HistoryEvent(
            event=fields["event"],
            host=host,
            at=parse_isoformat(fields["at"]),
            since=parse_optional_isoformat(fields.get("since")),
            until=parse_optional_isoformat(fields.get("until")),
            last_ok_at=parse_optional_isoformat(fields.get("last_ok_at")),
            duration=duration,
            reason_code=None if reason is None else reason["code"],
            reason_detail=None if reason is None else reason.get("detail"),
            kind=fields.get("kind"),
            source=fields.get("source"),
        )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise HistoryFormatError(f"history event with a bad time: {exc}") from None


def encode_history(
    events: Sequence[HistoryEvent], *, writer: str, run_id: str, written_at: datetime
) -> bytes:
    """The bytes of one history object (see the module docstring)."""
    return encode_json(
        {
            "schema": HISTORY_SCHEMA,
            "written_at": iso_exact(written_at),
            "writer": writer,
            "run_id": run_id,
            "events": [event.to_dict() for event in events],
        }
    )


def decode_history(data: bytes) -> tuple[list[HistoryEvent], int]:
    """``(events, skipped)`` of a history object: the events it holds and how many of them did
    not parse (skipped, counted). HistoryFormatError when the object itself is not one."""
    document = decode_document(data, HISTORY_SCHEMA, HistoryFormatError, "history object")
    items = document.get("events")
    if not isinstance(items, list):
        raise HistoryFormatError("history object has no events list")
    events, skipped = [], 0
    for item in items:
        try:
            events.append(event_from_dict(item))
        except HistoryFormatError:
            skipped += 1
    return events, skipped


# --- the events of a run (pure) ---


def run_events(events: Iterable[Event], reasons: Mapping[str, Reason]) -> list[HistoryEvent]:
    """The history of a run's announced events (down, still_down, up), each down or still_down
    with the reason its host was told (rules.explain)."""
    history = []
    for event in events:
        reason = reasons.get(event.host) if event.kind != EVENT_UP else None
        history.append(
            HistoryEvent(
                event=event.kind,
                host=event.host,
                at=event.at,
                since=event.since,
                last_ok_at=event.last_ok_at,
                duration=event.duration,
                reason_code=None if reason is None else reason.code,
                reason_detail=None if reason is None else clip(reason.detail, DETAIL_CHARS),
                kind=event.host_kind,
            )
        )
    return history


def index_events(
    index: Stored[Mapping[str, PulseEntry]],
    after: Mapping[str, PulseEntry],
    observations: Mapping[str, Observation],
    *,
    first_run: bool = False,
) -> list[HistoryEvent]:
    """What the pulses read in a run changed, from the pulse ``index`` as read and as it will be
    saved (``after``; pulses.py): a pause a pulse began (``paused``, from its upload until its
    ``pause_until``) or ended early (``resumed``), and each host indexed for the first time
    (``first_seen``), unless the index was lost: unreadable, or missing after the ``first_run``
    wrote it (every host would look new)."""
    before = index.value
    first_seen = not index.unreadable and (index.etag is not None or first_run)
    history = []
    for host, entry in after.items():
        old = before.get(host)
        observation = observations.get(host)
        if old is entry or observation is None or observation.pulse_at is None:
            continue
        uploaded = observation.pulse_at
        if old is None and first_seen:
            known = [
                t for t in (uploaded, observation.last_ok_at, observation.last_failed_at) if t is not None
            ]
            history.append(HistoryEvent(EVENT_FIRST_SEEN, host, at=uploaded, since=min(known)))
        was = None if old is None else old.pause_until
        if entry.pause_until == was:
            continue
        if entry.pause_until is not None and entry.pause_until > uploaded:
            history.append(
                HistoryEvent(
                    EVENT_PAUSED,
                    host,
                    at=uploaded,
                    since=uploaded,
                    until=entry.pause_until,
                    duration=entry.pause_until - uploaded,
                    kind=entry.kind,
                    source=SOURCE_PULSE,
                )
            )
        elif was is not None and was > uploaded:
            history.append(
                HistoryEvent(
                    EVENT_RESUMED, host, at=uploaded, since=uploaded, kind=entry.kind, source=SOURCE_PULSE
                )
            )
    return history


# --- the write ---


@dataclass(frozen=True)
class HistoryWrite:
    """What write_history did: the ``key`` written (None: nothing, or it failed), the events it
    holds (``written``), those kept ``pending`` for the next run after a failure (``error``,
    botocore's), and how many older ones were ``dropped`` (over PENDING_HISTORY_MAX)."""

    key: str | None = None
    written: int = 0
    pending: tuple[HistoryEvent, ...] = ()
    dropped: int = 0
    error: Exception | None = None


def write_history(
    bucket: Bucket,
    events: Sequence[HistoryEvent],
    pending: Sequence[HistoryEvent] = (),
    *,
    run_id: str,
    now: datetime,
    writer: str = WRITER_CHECK_RESULT,
    logger: logging.Logger | None = None,
) -> HistoryWrite:
    """Write ``pending`` (earlier runs' events not written yet) and ``events`` as one history
    object (a create-only PUT), or nothing when both are empty. A failed write is returned with
    the events to keep pending, never raised here; with a ``logger``, the write or its failure
    is logged."""
    batch = [*pending, *events]
    if not batch:
        return HistoryWrite()
    key = history_key(now, run_id)
    body = encode_history(batch, writer=writer, run_id=run_id, written_at=now)
    try:
        bucket._put_conditional(key, body, None)
    except Exception as exc:  # noqa: BLE001 - kept pending; the caller raises it after the state save
        kept = batch[-PENDING_HISTORY_MAX:]
        if logger is not None:
            log(
                logger,
                logging.ERROR,
                "history not written; its events are kept for the next run",
                outcome="history_failed",
                key=key,
                events=len(batch),
                dropped=len(batch) - len(kept),
                reason=repr(exc),
                run_id=run_id,
            )
        return HistoryWrite(pending=tuple(kept), dropped=len(batch) - len(kept), error=exc)
    if logger is not None:
        log(logger, logging.INFO, "history written", outcome="history_written", key=key, events=len(batch))
    return HistoryWrite(key=key, written=len(batch))
