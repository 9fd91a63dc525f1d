"""check_result's typed values: what the listings say about a host, its status, and a run's changes.

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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pulse_echo.reasons import Reason
from pulse_echo.times import iso_or_none, to_utc

if TYPE_CHECKING:
    from .state import HostState

STATUS_UP = "up"
STATUS_DOWN = "down"
STATUS_NEW = "new"
STATUSES = (STATUS_UP, STATUS_DOWN, STATUS_NEW)

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
    return {
        host: Observation(
            host=host,
            last_ok_at=to_utc(echoes.get(host)),
            last_failed_at=to_utc(failures.get(host)),
            pulse_at=to_utc(pulses.get(host)),
        )
        for host in set(echoes) | set(pulses)
    }


@dataclass(frozen=True)
class HostStatus:
    """One row of the status table (check_result's summary, ``pulse-status``).

    ``age`` is ``now - last_ok_at`` (None: never succeeded). ``since`` is the
    start of the outage for ``down`` and ``new`` hosts, None for ``up``.
    ``reason`` is filled when it can be told (see rules.explain).
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

    @property
    def observation(self) -> Observation:
        """The listing times this row was made from."""
        return Observation(self.host, self.last_ok_at, self.last_failed_at, self.pulse_at)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: times as ISO 8601 UTC strings, ``age_seconds`` as a number."""
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
        }


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
