"""check_result's typed values: what the listings say about a host, what its pulse and the
operator ask of it, its status, and a run's changes.

Statuses (``HostStatus.status``), each host judged against its own threshold
``stale_after`` (its pulse's ``stale_after_minutes``, else the module's):

- ``up``: its echo is at most ``stale_after`` old (exactly at the threshold
  is still up: a host is stale only when ``now - last_ok_at > stale_after``).
- ``down``: its echo is older than that; or it never had a successful check
  and ``stale_after`` has passed since it was first seen failing (a ``new``
  host that stayed new too long); or its job reported a failure
  (``"result": "fail"``) newer than its last success, whatever its threshold.
- ``new``: it sends pulses but never had a successful check, and
  ``stale_after`` has not passed yet since it was first seen.
- ``paused``: a pause is running (its pulse's ``pause_until`` or the
  operator's, pulse-pause): it is never announced down; ``HostStatus.health``
  still says which of the three above it is.

Events (``Event.kind``), one per host and run at most:

- ``down``: the host is down and was not notified yet (from up, or from new).
- ``up``: a notified down host has a fresh echo again (recovery), with how
  long it was down.
- ``still_down``: a reminder for a notified down host, every
  ``renotify_after`` (never when it is None or zero).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pulse_echo.pulse import KIND_JOB, RESULT_FAIL, RESULT_OK
from pulse_echo.reasons import Reason
from pulse_echo.times import iso_or_none, to_utc

if TYPE_CHECKING:
    from .state import HostState

STATUS_UP = "up"
STATUS_DOWN = "down"
STATUS_NEW = "new"
STATUS_PAUSED = "paused"
STATUSES = (STATUS_UP, STATUS_DOWN, STATUS_NEW, STATUS_PAUSED)

EVENT_DOWN = "down"
EVENT_STILL_DOWN = "still_down"
EVENT_UP = "up"
EVENT_KINDS = (EVENT_DOWN, EVENT_STILL_DOWN, EVENT_UP)
"""Also the order of events in a message: the most urgent first."""


@dataclass(frozen=True)
class Observation:
    """What the listings say about one host; every time is an aware UTC datetime.

    ``last_ok_at``: ``LastModified`` of ``echo/<host>.json`` (last successful
    check), or None. ``last_failed_at``: of ``failure/<host>.json`` (last
    failed check), or None. ``pulse_at``: of ``pulse/<host>.json`` (last
    pulse), or None; ``pulse_etag`` its ETag (the pulse index's key).
    ``failing_since``: the failure record's start of the current run of
    failures, when it was read (a host never seen before: rules.first_seen).
    """

    host: str
    last_ok_at: datetime | None = None
    last_failed_at: datetime | None = None
    pulse_at: datetime | None = None
    pulse_etag: str | None = None
    failing_since: datetime | None = None

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
    pulse_etags: Mapping[str, str] | None = None,
) -> dict[str, Observation]:
    """Join the three ``{host: LastModified}`` listings (and the pulses' ``{host: ETag}``) into
    ``{host: Observation}``.

    The hosts are those with an echo or a pulse; a failure record alone is
    ignored (it outlives a retired host). Naive datetimes are refused
    (ValueError); aware ones are converted to UTC.
    """
    etags = pulse_etags or {}
    return {
        host: Observation(
            host=host,
            last_ok_at=to_utc(echoes.get(host)),
            last_failed_at=to_utc(failures.get(host)),
            pulse_at=to_utc(pulses.get(host)),
            pulse_etag=etags.get(host),
        )
        for host in set(echoes) | set(pulses)
    }


@dataclass(frozen=True)
class Profile:
    """What check_result expects of one host: from its pulse (kept in the pulse index, read
    again only when it changed) and from the operator's pauses (pulse-pause).

    ``stale_after``: the host's threshold (its pulse's ``stale_after_minutes``,
    else the module's). ``kind``: ``probe``, ``heartbeat``, ``job``,
    ``invalid`` (the pulse does not parse) or None (not read yet).
    ``job_failed``: the pulse reports ``"result": "fail"``. ``pause_until``:
    the end of the later of the pulse's and the operator's pause (None: no
    pause). ``message``, ``exit_code``, ``duration_seconds``: what a job's
    pulse reported (None otherwise). ``pending``: the host has a pulse that
    was not read yet (more changed than a run reads): its threshold is not
    known, so no down alert is sent for it until it is.
    """

    stale_after: timedelta
    kind: str | None = None
    job_failed: bool = False
    pause_until: datetime | None = None
    message: str | None = None
    exit_code: int | None = None
    duration_seconds: float | None = None
    pending: bool = False

    def paused_at(self, now: datetime) -> bool:
        """True while a pause lasts (``now`` before ``pause_until``)."""
        return self.pause_until is not None and now < self.pause_until

    def job_dict(self) -> dict[str, object] | None:
        """A job's last report, JSON-ready (``result``, ``message``, ``exit_code``,
        ``duration_seconds``); None for a host that is not a job."""
        if self.kind != KIND_JOB:
            return None
        return {
            "result": RESULT_FAIL if self.job_failed else RESULT_OK,
            "message": self.message,
            "exit_code": self.exit_code,
            "duration_seconds": self.duration_seconds,
        }


@dataclass(frozen=True)
class HostStatus:
    """One row of the status table (check_result's summary, ``pulse-status``).

    ``age`` is ``now - last_ok_at`` (None: never succeeded). ``since`` is the
    start of the outage for ``down`` and ``new`` hosts, None for ``up``.
    ``status`` is ``paused`` while a pause lasts; ``health`` is then the
    status the host would have without it (``up``, ``down`` or ``new``;
    otherwise the same as ``status``). ``profile`` holds its threshold, kind,
    pause and job report. ``reason`` is filled when it can be told (see
    rules.explain).
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
    health: str = ""
    profile: Profile | None = None

    def __post_init__(self) -> None:
        if not self.health:
            object.__setattr__(self, "health", self.status)

    @property
    def observation(self) -> Observation:
        """The listing times this row was made from."""
        return Observation(self.host, self.last_ok_at, self.last_failed_at, self.pulse_at)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: times as ISO 8601 UTC strings, ``age_seconds`` as a number; the
        profile as ``kind``, ``stale_after_minutes`` (the host's threshold), ``paused_until``
        and ``job`` (Profile.job_dict)."""
        profile = self.profile
        return {
            "host": self.host,
            "status": self.status,
            "last_ok_at": iso_or_none(self.last_ok_at),
            "age_seconds": None if self.age is None else round(self.age.total_seconds(), 3),
            "since": iso_or_none(self.since),
            "last_failed_at": iso_or_none(self.last_failed_at),
            "failing": self.failing,
            "pulse_at": iso_or_none(self.pulse_at),
            "notified_at": iso_or_none(self.notified_at),
            "reason": None if self.reason is None else self.reason.to_dict(),
            "kind": None if profile is None else profile.kind,
            "stale_after_minutes": None if profile is None else minutes(profile.stale_after),
            "paused_until": iso_or_none(profile.pause_until) if self.status == STATUS_PAUSED else None,
            "job": None if profile is None else profile.job_dict(),
        }


def minutes(span: timedelta) -> float | int:
    """A threshold in minutes for JSON and tables: ``15``, ``0.05``, ``1500``."""
    value = span.total_seconds() / 60
    return int(value) if value.is_integer() else round(value, 6)


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
    (for the reason); ``host_kind`` is the host's Profile.kind.
    """

    kind: str
    host: str
    since: datetime
    last_ok_at: datetime | None
    at: datetime
    observation: Observation
    duration: timedelta | None = None
    was_new: bool = False
    host_kind: str | None = None


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
    """The result of rules.evaluate(): what to announce and what to store once it is accepted.

    ``events`` are ordered down, still_down, up, then by host name: a message
    lists them in this order. ``next_state`` is the full state to save after
    the message (if any) was accepted. ``statuses`` covers every watched host
    (their reasons are told by rules.explain, once the failure records are read).
    """

    events: tuple[Event, ...]
    next_state: dict[str, HostState]
    statuses: tuple[HostStatus, ...]
    decisions: tuple[Decision, ...] = field(default=())
    suppressed: int = 0
    """Down and still-down alerts a pause held back in this run."""

    def counts(self) -> dict[str, int]:
        """``{"up": n, "down": n, "new": n, "paused": n}`` over ``statuses``."""
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
