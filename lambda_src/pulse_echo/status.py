"""Host status: pure logic, no AWS, no clock (``now`` is always an argument).

A host is known from three listings (``echo/``, ``pulse/``, ``failure/``;
only the ``LastModified`` of each object is used) plus the notified state that
check_result keeps in ``state/status.json``. From those this module decides
each host's status and the events a run must announce.

Statuses (``HostStatus.status``):

- ``up``: its echo is at most ``stale_after`` old (exactly at the threshold
  is still up: a host is stale only when ``now - last_ok_at > stale_after``).
- ``down``: its echo is older than that; or it never had a successful check
  and ``stale_after`` has passed since it was first seen failing (a ``new``
  host that stayed new too long).
- ``new``: it sends pulses but never had a successful check, and
  ``stale_after`` has not passed yet since it was first seen.

Events (``Event.kind``), one per host and run at most:

- ``down``: the host is down and was not notified yet (from up, or from new).
- ``up``: a notified down host has a fresh echo again (recovery), with how
  long it was down.
- ``still_down``: a reminder for a notified down host, every
  ``renotify_after`` (never when it is None or zero).

The stored state holds only the hosts that are not plainly up: ``down``
(notified: an entry is saved only after the alert was accepted) and ``new``
(so that the time it was first seen survives between runs). A host with
neither a pulse nor an echo (retired by deleting its objects) is dropped from
the state without a message. A failure record alone does not make a host:
``failure/`` records are kept after a host recovers or is retired.

Everything here is a pure function of its arguments, so the Lambda handler,
``scripts/pulse-status`` and the benchmarks share it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from .common import (
    FAILURE_PREFIX,
    S3_KEY_MAX_BYTES,
    format_duration,
    isoformat,
    json_error,
    key_bytes,
    key_fits,
    key_for,
    parse_isoformat,
)

STATUS_UP = "up"
STATUS_DOWN = "down"
STATUS_NEW = "new"
STATUSES = (STATUS_UP, STATUS_DOWN, STATUS_NEW)

EVENT_DOWN = "down"
EVENT_STILL_DOWN = "still_down"
EVENT_UP = "up"
EVENT_KINDS = (EVENT_DOWN, EVENT_STILL_DOWN, EVENT_UP)
"""Also the order of events in a message: the most urgent first."""

# Reasons derived by check_result when no failure record explains the outage
# (the failure-record codes are listed in docs/internals.md).
REASON_PULSE_STOPPED = "pulse_stopped"
REASON_NO_PULSE = "no_pulse"
REASON_NO_CHECK_RESULT = "no_check_result"
REASON_CHECK_FAILED = "check_failed"
REASON_UNREADABLE = "unreadable_failure_record"
REASON_HOST_NAME_TOO_LONG = "host_name_too_long"
REASON_CODE_MAX_CHARS = 64

STATE_SCHEMA = 1
PENDING_SNS_MAX = 10
"""At most this many undelivered SNS messages are kept in the state document (the oldest
beyond it are dropped, logged as an error): a topic that stays broken cannot grow it."""

EXCERPT_CHARS = 90
DETAIL_CHARS = 200


# --- inputs ---


@dataclass(frozen=True)
class Observation:
    """What the listings say about one host; every time is an aware UTC datetime.

    ``last_ok_at``: ``LastModified`` of ``echo/<host>.json`` (last successful
    check), or None. ``last_failed_at``: of ``failure/<host>.json`` (last
    failed check), or None. ``pulse_at``: of ``pulse/<host>.json`` (last
    pulse), or None.
    """

    host: str
    last_ok_at: datetime | None = None
    last_failed_at: datetime | None = None
    pulse_at: datetime | None = None

    @property
    def failing(self) -> bool:
        """True when the last failure is newer than the last success (it is the current reason)."""
        if self.last_failed_at is None:
            return False
        return self.last_ok_at is None or self.last_failed_at > self.last_ok_at

    @property
    def retired(self) -> bool:
        """True when the host has neither a pulse nor an echo: it is no longer watched."""
        return self.last_ok_at is None and self.pulse_at is None


def observations_from_listings(
    echoes: Mapping[str, datetime],
    pulses: Mapping[str, datetime],
    failures: Mapping[str, datetime],
) -> dict[str, Observation]:
    """Join the three ``{host: LastModified}`` listings into ``{host: Observation}``.

    The hosts are those with an echo or a pulse; a failure record alone is
    ignored (it outlives a retired host). Naive datetimes are refused
    (ValueError); aware ones are converted to UTC.
    """
    result: dict[str, Observation] = {}
    for host in set(echoes) | set(pulses):
        result[host] = Observation(
            host=host,
            last_ok_at=_utc(echoes.get(host)),
            last_failed_at=_utc(failures.get(host)),
            pulse_at=_utc(pulses.get(host)),
        )
    return result


@dataclass(frozen=True)
class HostState:
    """The stored, notified status of one host that is not plainly up.

    ``status``: ``down`` (an alert was accepted at ``notified_at``) or ``new``
    (``notified_at`` is None). ``since``: start of the outage, i.e. the last
    successful check before it or, for a host that never succeeded, when it
    was first seen (its first observed failure or pulse). ``last_ok_at``: the
    last successful check known when the entry was written, None for never.
    """

    status: str
    since: datetime
    last_ok_at: datetime | None = None
    notified_at: datetime | None = None


@dataclass(frozen=True)
class PendingSns:
    """An alert the webhook accepted but SNS did not: kept in the state document
    (``pending_sns``) and published again by the next runs, oldest first.

    ``run_id`` and ``created_at``: the run that built it. ``message``: the SNS
    ``Message`` (the structured json alert, already bounded to SNS's 256 KiB);
    ``subject``: its SNS ``Subject``, None for none.
    """

    run_id: str
    created_at: datetime
    message: str
    subject: str | None = None


@dataclass(frozen=True)
class StateDocument:
    """A decoded state document: the hosts and the SNS messages still to publish."""

    hosts: dict[str, HostState]
    pending_sns: tuple[PendingSns, ...] = ()


# --- failure records and reasons ---


@dataclass(frozen=True)
class FailureRecord:
    """The body of ``failure/<host>.json`` as written by check_echo (docs/internals.md).

    ``reason`` is a code (``http_status``, ``wrong_body``, ``timeout``, ``dns``,
    ``tls``, ``connection``, ``too_many_redirects``, ``body_too_large``,
    ``private_target``, ``bad_pulse``, or a newer one, kept as is).
    """

    reason: str
    detail: str = ""
    failed_at: datetime | None = None
    url: str | None = None
    http_status: int | None = None
    elapsed_ms: int | None = None
    expected_excerpt: str | None = None
    received_excerpt: str | None = None


def parse_failure_record(data: bytes) -> FailureRecord:
    """Parse a failure record (UTF-8 JSON object, a BOM tolerated).

    Missing or mistyped optional fields become None, and so does a
    ``failed_at`` that is not an ISO 8601 time in range; ``reason`` defaults to
    ``unknown`` and is kept on one line of at most 64 characters. Raises
    ValueError (and nothing else) when the bytes are not a JSON object Python
    can build (not UTF-8, not JSON, nested too deeply, a 5,000-digit number).
    """
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"failure record is not UTF-8 JSON: {json_error(exc)}") from None
    if not isinstance(document, dict):
        raise ValueError("failure record is not a JSON object")

    def text(name: str) -> str | None:
        value = document.get(name)
        return value if isinstance(value, str) else None

    def integer(name: str) -> int | None:
        value = document.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    failed_at = None
    failed_at_text = text("failed_at")
    if failed_at_text:
        try:
            failed_at = parse_isoformat(failed_at_text)
        except ValueError:
            pass
    return FailureRecord(
        reason=one_line(text("reason") or "unknown", REASON_CODE_MAX_CHARS),
        detail=text("detail") or "",
        failed_at=failed_at,
        url=text("url"),
        http_status=integer("http_status"),
        elapsed_ms=integer("elapsed_ms"),
        expected_excerpt=text("expected_excerpt"),
        received_excerpt=text("received_excerpt"),
    )


@dataclass(frozen=True)
class Reason:
    """Why a host is (or looks) down: a code and a one-line, plain-text explanation.

    ``detail`` is not escaped for any markup (Slack escaping is alert.py's
    job); excerpts are already short and quoted. ``failed_at`` is the time of
    the failed check when the reason comes from a failure record.
    """

    code: str
    detail: str
    failed_at: datetime | None = None
    http_status: int | None = None
    expected_excerpt: str | None = None
    received_excerpt: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (times as ISO 8601 UTC strings)."""
        return {
            "code": self.code,
            "detail": self.detail,
            "failed_at": _iso(self.failed_at),
            "http_status": self.http_status,
            "expected_excerpt": self.expected_excerpt,
            "received_excerpt": self.received_excerpt,
        }


_REASON_LABELS = {
    "http_status": "HTTP error status",
    "wrong_body": "wrong body",
    "timeout": "timeout",
    "dns": "DNS error",
    "tls": "TLS error",
    "connection": "connection error",
    "too_many_redirects": "too many redirects",
    "body_too_large": "response body too large",
    "private_target": "refused: the URL resolves to a private address",
    "bad_pulse": "invalid pulse",
}


def quote_excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """Return an excerpt in double quotes, on one line and at most ``limit`` characters.

    check_echo writes excerpts already escaped (``\\n``, ``\\xNN``, ``…`` at a
    cut, about 80 characters); anything still unprintable is escaped here, so
    a received body can never break the line it is shown on. None gives
    ``(none)``.
    """
    if text is None:
        return "(none)"
    return f'"{one_line(text, limit)}"'


def one_line(text: str, limit: int = DETAIL_CHARS) -> str:
    """Return ``text`` on one line (control characters escaped) and at most ``limit`` characters."""
    escaped = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


def reason_from_failure(record: FailureRecord, last_failed_at: datetime | None = None) -> Reason:
    """Explain a failure record in one line: HTTP status, wrong body (expected vs received), timeout...

    ``last_failed_at`` (the record's ``LastModified``) is used when the record
    carries no readable ``failed_at``.
    """
    code = record.reason
    if code == "wrong_body" and (record.expected_excerpt is not None or record.received_excerpt is not None):
        status = f" (HTTP {record.http_status})" if record.http_status is not None else ""
        detail = (
            f"wrong body{status}: expected {quote_excerpt(record.expected_excerpt)}, "
            f"received {quote_excerpt(record.received_excerpt)}"
        )
    elif code == "http_status" and record.detail:
        detail = one_line(record.detail)  # check_echo's sentence starts with "HTTP <status>"
    elif code == "http_status":
        detail = f"HTTP {record.http_status}" if record.http_status is not None else "HTTP error status"
    else:
        label = _REASON_LABELS.get(code, code)
        detail = f"{label}: {one_line(record.detail)}" if record.detail else label
    return Reason(
        code=code,
        detail=detail,
        failed_at=record.failed_at or last_failed_at,
        http_status=record.http_status,
        expected_excerpt=record.expected_excerpt,
        received_excerpt=record.received_excerpt,
    )


def current_reason(
    observation: Observation,
    failure: FailureRecord | None,
    now: datetime,
    stale_after: timedelta,
    *,
    status: str = STATUS_DOWN,
) -> Reason | None:
    """Say why ``observation``'s host is not up, from what is known without further reads.

    - The failure record counts only when it is newer than the last echo
      (``observation.failing``); pass it as ``failure`` (None when it was not
      read: the reason is then ``check_failed`` with its time).
    - Otherwise: ``no_pulse`` (the pulse object is gone), ``pulse_stopped``
      (the last pulse is older than ``stale_after``: the host or its sender
      stopped), ``host_name_too_long`` (pulses arrive, but the host's
      ``failure/<host>.json`` key would pass S3's 1,024-byte limit, so
      check_echo cannot record why its checks fail), or ``no_check_result``
      (pulses arrive but nothing records a check: check_echo is not running
      or cannot write).

    Returns None for an ``up`` host that is not failing.
    """
    if observation.failing:
        if failure is not None:
            return reason_from_failure(failure, observation.last_failed_at)
        return Reason(
            code=REASON_CHECK_FAILED,
            detail="the last check failed (failure record not read)",
            failed_at=observation.last_failed_at,
        )
    if status == STATUS_UP:
        return None
    if observation.pulse_at is None:
        return Reason(code=REASON_NO_PULSE, detail="no pulse object: the host's pulse was deleted")
    if now - observation.pulse_at > stale_after:
        return Reason(
            code=REASON_PULSE_STOPPED,
            detail=(
                f"no pulse since {isoformat(observation.pulse_at)} "
                f"({format_duration((now - observation.pulse_at).total_seconds())} ago): "
                "the host stopped sending pulses"
            ),
        )
    failure_key = key_for(FAILURE_PREFIX, observation.host)
    if not key_fits(failure_key):
        return Reason(
            code=REASON_HOST_NAME_TOO_LONG,
            detail=(
                f"pulses arrive (last {isoformat(observation.pulse_at)}) but check_echo cannot record "
                f"why its checks fail: {FAILURE_PREFIX}<host>.json would be {key_bytes(failure_key)} "
                f"bytes, over S3's {S3_KEY_MAX_BYTES}-byte key limit (shorten the host name)"
            ),
        )
    return Reason(
        code=REASON_NO_CHECK_RESULT,
        detail=(
            f"pulses arrive (last {isoformat(observation.pulse_at)}) but no check result was "
            "recorded after them: check_echo may not be running"
        ),
    )


# --- the status of one host ---


@dataclass(frozen=True)
class HostStatus:
    """One row of the status table (check_result's summary, ``pulse-status``).

    ``age`` is ``now - last_ok_at`` (None: never succeeded). ``since`` is the
    start of the outage for ``down`` and ``new`` hosts, None for ``up``.
    ``reason`` is filled when it can be told (see current_reason).
    """

    host: str
    status: str
    last_ok_at: datetime | None
    age: timedelta | None
    since: datetime | None
    last_failed_at: datetime | None
    failing: bool
    pulse_at: datetime | None
    notified_at: datetime | None = None
    reason: Reason | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: times as ISO 8601 UTC strings, ``age_seconds`` as a number."""
        return {
            "host": self.host,
            "status": self.status,
            "last_ok_at": _iso(self.last_ok_at),
            "age_seconds": None if self.age is None else round(self.age.total_seconds(), 3),
            "since": _iso(self.since),
            "last_failed_at": _iso(self.last_failed_at),
            "failing": self.failing,
            "pulse_at": _iso(self.pulse_at),
            "notified_at": _iso(self.notified_at),
            "reason": None if self.reason is None else self.reason.to_dict(),
        }


def is_stale(last_ok_at: datetime, now: datetime, stale_after: timedelta) -> bool:
    """True when ``now - last_ok_at > stale_after`` (exactly at the threshold is not stale)."""
    return now - last_ok_at > stale_after


def first_seen(observation: Observation, stale_after: timedelta) -> datetime:
    """When a host with no echo was first seen: its earliest failure or pulse time on record.

    A failure record much older than the current pulse (more than
    ``stale_after`` before it) belongs to an earlier life of the host name (a
    retired host's failure record is kept) and is ignored. Raises ValueError
    for a host with neither a pulse nor a failure.
    """
    candidates = []
    if observation.pulse_at is not None:
        candidates.append(observation.pulse_at)
    if observation.last_failed_at is not None and (
        observation.pulse_at is None or observation.last_failed_at >= observation.pulse_at - stale_after
    ):
        candidates.append(observation.last_failed_at)
    if not candidates:
        raise ValueError(f"host {observation.host!r} has neither a pulse nor a failure")
    return min(candidates)


def classify(
    observation: Observation,
    previous: HostState | None,
    now: datetime,
    stale_after: timedelta,
) -> tuple[str, datetime | None]:
    """Return ``(status, since)`` for one watched (not retired) host.

    ``since`` is None for ``up``. A host already notified down stays down
    until a fresh echo arrives; a ``new`` host keeps the ``since`` stored when
    it was first seen.
    """
    if observation.last_ok_at is not None:
        if not is_stale(observation.last_ok_at, now, stale_after):
            return STATUS_UP, None
        if previous is not None and previous.status == STATUS_DOWN:
            return STATUS_DOWN, previous.since
        return STATUS_DOWN, observation.last_ok_at
    if previous is not None and previous.status == STATUS_DOWN:
        return STATUS_DOWN, previous.since
    since = previous.since if previous is not None else first_seen(observation, stale_after)
    if now - since > stale_after:
        return STATUS_DOWN, since
    return STATUS_NEW, since


def host_statuses(
    observations: Mapping[str, Observation],
    previous_state: Mapping[str, HostState] | None,
    now: datetime,
    stale_after: timedelta,
    failures: Mapping[str, FailureRecord] | None = None,
) -> list[HostStatus]:
    """The status of every watched host, sorted by host name (for a table or ``--json``).

    ``previous_state`` is the stored state (``{}`` or None when unknown: a
    ``new`` host is then dated from its listings). ``failures`` holds the
    failure records read for failing hosts; a reason is given for every host
    that is not up or is failing. Retired hosts are left out.
    """
    previous_state = previous_state or {}
    failures = failures or {}
    rows = []
    for host in sorted(observations):
        observation = observations[host]
        if observation.retired:
            continue
        rows.append(_host_status(observation, previous_state.get(host), now, stale_after, failures.get(host)))
    return rows


def _host_status(
    observation: Observation,
    previous: HostState | None,
    now: datetime,
    stale_after: timedelta,
    failure: FailureRecord | None,
) -> HostStatus:
    status, since = classify(observation, previous, now, stale_after)
    reason = None
    if status != STATUS_UP or observation.failing:
        reason = current_reason(observation, failure, now, stale_after, status=status)
    return HostStatus(
        host=observation.host,
        status=status,
        last_ok_at=observation.last_ok_at,
        age=None if observation.last_ok_at is None else now - observation.last_ok_at,
        since=since,
        last_failed_at=observation.last_failed_at,
        failing=observation.failing,
        pulse_at=observation.pulse_at,
        notified_at=previous.notified_at if previous is not None and status == STATUS_DOWN else None,
        reason=reason,
    )


# --- one run: events and the next state ---


@dataclass(frozen=True)
class Event:
    """One change to announce.

    - ``down``: ``since`` = start of the outage; ``last_ok_at`` = last
      successful check (None: never); ``was_new`` when the host never
      succeeded.
    - ``still_down``: same fields; ``duration`` = ``at - since``.
    - ``up``: ``since`` = start of the outage; ``last_ok_at`` = the check that
      succeeded again; ``duration`` = ``last_ok_at - since`` (how long it was
      down: no successful check in between).

    ``at`` is the run's ``now``; ``observation`` carries the listing times
    (for the reason).
    """

    kind: str
    host: str
    since: datetime
    last_ok_at: datetime | None
    at: datetime
    observation: Observation
    duration: timedelta | None = None
    was_new: bool = False


@dataclass(frozen=True)
class Decision:
    """A change in one host's tracking, for the run's log (one JSON line each).

    ``outcome``: ``alert_down``, ``alert_up``, ``renotify``, ``tracked_new``,
    ``first_success`` (a new host succeeded before being alerted), ``retired``
    (dropped: no pulse and no echo), ``flapped`` (a notified down host had a
    success that is already stale again; it stays down).
    """

    host: str
    outcome: str
    status: str | None


@dataclass(frozen=True)
class Evaluation:
    """The result of evaluate(): what to announce and what to store once it is accepted.

    ``events`` are ordered down, still_down, up, then by host name: a message
    lists them in this order. ``next_state`` is the full state to save after
    the message (if any) was accepted. ``statuses`` covers every watched host.
    """

    events: tuple[Event, ...]
    next_state: dict[str, HostState]
    statuses: tuple[HostStatus, ...]
    decisions: tuple[Decision, ...] = field(default=())

    def counts(self) -> dict[str, int]:
        """``{"up": n, "down": n, "new": n}`` over ``statuses``."""
        counts = dict.fromkeys(STATUSES, 0)
        for row in self.statuses:
            counts[row.status] += 1
        return counts

    def event_counts(self) -> dict[str, int]:
        """``{"down": n, "still_down": n, "up": n}`` over ``events``."""
        return count_events(self.events)


def count_events(events: Iterable[Event]) -> dict[str, int]:
    """``{"down": n, "still_down": n, "up": n}`` over ``events``."""
    counts = dict.fromkeys(EVENT_KINDS, 0)
    for event in events:
        counts[event.kind] += 1
    return counts


def evaluate(
    observations: Mapping[str, Observation],
    previous_state: Mapping[str, HostState],
    now: datetime,
    stale_after: timedelta,
    renotify_after: timedelta | None = None,
) -> Evaluation:
    """Decide this run's events and next state from the listings and the stored state.

    ``stale_after`` must be positive. ``renotify_after`` None or zero means
    never repeat a down alert; otherwise a ``still_down`` event is due once
    ``now - notified_at >= renotify_after``. Transitions:

    ===============  ================  =========================================
    stored           now               result
    ===============  ================  =========================================
    (none)           up                nothing
    (none) / new     down              ``down`` event, stored as down
    (none)           new               stored as new (no message)
    new              new               unchanged
    new              up                dropped (``first_success``, no message)
    down             down              nothing, or ``still_down`` when due
    down             up                ``up`` event with the downtime, dropped
    any              retired           dropped, no message
    ===============  ================  =========================================
    """
    if stale_after <= timedelta(0):
        raise ValueError("stale_after must be positive")
    if renotify_after is not None and renotify_after <= timedelta(0):
        renotify_after = None

    events: list[Event] = []
    decisions: list[Decision] = []
    statuses: list[HostStatus] = []
    next_state: dict[str, HostState] = {}

    for host in sorted(set(observations) | set(previous_state)):
        observation = observations.get(host)
        previous = previous_state.get(host)
        if observation is None or observation.retired:
            if previous is not None:
                decisions.append(Decision(host, "retired", None))
            continue

        row = _host_status(observation, previous, now, stale_after, None)
        statuses.append(row)
        status, since = row.status, row.since

        if status == STATUS_UP:
            if previous is not None and previous.status == STATUS_DOWN:
                assert observation.last_ok_at is not None
                events.append(
                    Event(
                        kind=EVENT_UP,
                        host=host,
                        since=previous.since,
                        last_ok_at=observation.last_ok_at,
                        at=now,
                        observation=observation,
                        duration=max(observation.last_ok_at - previous.since, timedelta(0)),
                    )
                )
                decisions.append(Decision(host, "alert_up", status))
            elif previous is not None:
                decisions.append(Decision(host, "first_success", status))
            continue

        assert since is not None
        if status == STATUS_NEW:
            if previous is None:
                decisions.append(Decision(host, "tracked_new", status))
                next_state[host] = HostState(status=STATUS_NEW, since=since)
            else:
                next_state[host] = previous
            continue

        # status == down
        if previous is None or previous.status != STATUS_DOWN:
            events.append(
                Event(
                    kind=EVENT_DOWN,
                    host=host,
                    since=since,
                    last_ok_at=observation.last_ok_at,
                    at=now,
                    observation=observation,
                    duration=now - since,
                    was_new=observation.last_ok_at is None,
                )
            )
            decisions.append(Decision(host, "alert_down", status))
            next_state[host] = HostState(
                status=STATUS_DOWN, since=since, last_ok_at=observation.last_ok_at, notified_at=now
            )
            continue

        kept = previous
        if observation.last_ok_at is not None and observation.last_ok_at != previous.last_ok_at:
            decisions.append(Decision(host, "flapped", status))
            kept = replace(kept, last_ok_at=observation.last_ok_at)
        notified_at = previous.notified_at or previous.since
        if renotify_after is not None and now - notified_at >= renotify_after:
            events.append(
                Event(
                    kind=EVENT_STILL_DOWN,
                    host=host,
                    since=previous.since,
                    last_ok_at=observation.last_ok_at,
                    at=now,
                    observation=observation,
                    duration=now - previous.since,
                    was_new=observation.last_ok_at is None,
                )
            )
            decisions.append(Decision(host, "renotify", status))
            kept = replace(kept, notified_at=now)
        next_state[host] = kept

    order = {kind: index for index, kind in enumerate(EVENT_KINDS)}
    events.sort(key=lambda event: (order[event.kind], event.host))
    return Evaluation(
        events=tuple(events),
        next_state=next_state,
        statuses=tuple(statuses),
        decisions=tuple(decisions),
    )


def hosts_needing_failure_records(events: Iterable[Event], limit: int) -> list[str]:
    """The hosts whose failure record a message will quote: the first ``limit`` events
    (message order) that are not ``up`` and whose failure is newer than their echo.

    This is the only per-host read check_result makes, bounded by the number of
    hosts a message names.
    """
    hosts = []
    for event in list(events)[: max(limit, 0)]:
        if event.kind != EVENT_UP and event.observation.failing:
            hosts.append(event.host)
    return hosts


# --- the state document (state/status.json) ---


class StateFormatError(ValueError):
    """The state document is not what encode_state writes."""


def encode_state(
    hosts: Mapping[str, HostState],
    *,
    updated_at: datetime,
    run_id: str,
    pending_sns: Sequence[PendingSns] = (),
) -> bytes:
    """Serialise the state as UTF-8 JSON (sorted, compact), times as ISO 8601 UTC.

    Shape: ``{"schema": 1, "updated_at", "run_id", "hosts": {host: {"status",
    "since", "last_ok_at", "notified_at"}}}``, plus ``"pending_sns": [{"run_id",
    "created_at", "message", "subject"}]`` (oldest first) only when there are
    undelivered SNS messages. Times keep their sub-second part when they have
    one, so decode_state_document(encode_state(x, pending_sns=p)) gives x and p back.
    """
    document: dict[str, object] = {
        "schema": STATE_SCHEMA,
        "updated_at": _iso_exact(updated_at),
        "run_id": run_id,
        "hosts": {
            host: {
                "status": entry.status,
                "since": _iso_exact(entry.since),
                "last_ok_at": _iso_exact(entry.last_ok_at),
                "notified_at": _iso_exact(entry.notified_at),
            }
            for host, entry in sorted(hosts.items())
        },
    }
    if pending_sns:
        document["pending_sns"] = [
            {
                "run_id": item.run_id,
                "created_at": _iso_exact(item.created_at),
                "message": item.message,
                "subject": item.subject,
            }
            for item in pending_sns
        ]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_state(data: bytes) -> dict[str, HostState]:
    """The hosts of a state document written by encode_state (see decode_state_document)."""
    return decode_state_document(data).hosts


def decode_state_document(data: bytes) -> StateDocument:
    """Parse a state document written by encode_state.

    Raises StateFormatError (and nothing else) when it is not valid UTF-8 JSON
    of that shape (nested too deeply or a 5,000-digit number included), has
    another schema version, or holds an unknown status, a bad time (one
    outside the years 1-9999 in UTC included) or a malformed ``pending_sns``.
    A document without ``pending_sns`` (every one written before it existed)
    has none pending.
    """
    try:
        document = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise StateFormatError(f"state is not UTF-8 JSON: {json_error(exc)}") from None
    if not isinstance(document, dict) or document.get("schema") != STATE_SCHEMA:
        raise StateFormatError(f"state schema is not {STATE_SCHEMA}")
    hosts = document.get("hosts")
    if not isinstance(hosts, dict):
        raise StateFormatError("state has no hosts object")
    result = {}
    for host, entry in hosts.items():
        if not isinstance(entry, dict) or entry.get("status") not in (STATUS_DOWN, STATUS_NEW):
            raise StateFormatError(f"state entry for {host!r} has no valid status")
        try:
            since = parse_isoformat(entry["since"])
            last_ok_at = _parse_optional(entry.get("last_ok_at"))
            notified_at = _parse_optional(entry.get("notified_at"))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # AttributeError: not a str
            raise StateFormatError(f"state entry for {host!r} has a bad time: {exc}") from None
        result[host] = HostState(
            status=entry["status"], since=since, last_ok_at=last_ok_at, notified_at=notified_at
        )
    return StateDocument(hosts=result, pending_sns=_decode_pending_sns(document.get("pending_sns", [])))


def _decode_pending_sns(items: object) -> tuple[PendingSns, ...]:
    if not isinstance(items, list):
        raise StateFormatError("state pending_sns is not a list")
    pending = []
    for index, item in enumerate(items):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("run_id"), str)
            and isinstance(item.get("message"), str)
            and isinstance(item.get("created_at"), str)
            and isinstance(item.get("subject"), (str, type(None)))
        ):
            raise StateFormatError(f"state pending_sns[{index}] is not a message")
        try:
            created_at = parse_isoformat(item["created_at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise StateFormatError(f"state pending_sns[{index}] has a bad time: {exc}") from None
        pending.append(PendingSns(item["run_id"], created_at, item["message"], item.get("subject")))
    return tuple(pending)


# --- helpers ---


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is timezone.utc:  # Store.list_hosts already gives UTC
        return moment
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pulse-echo uses timezone-aware UTC only")
    return moment.astimezone(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else isoformat(moment)


def _iso_exact(moment: datetime | None) -> str | None:
    utc = _utc(moment)
    return None if utc is None else utc.isoformat().replace("+00:00", "Z")


def _parse_optional(text: object) -> datetime | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError("time is not a string")
    return parse_isoformat(text)
