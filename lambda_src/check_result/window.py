"""When one invocation checks deadlines: its window, and when it wakes. Pure: times are arguments.

check_result runs on its schedule (``rate(1 minute)`` by default). Each invocation
first *sweeps* (lists every host, evaluates, delivers, saves: run.py); the sweep
also says when each watched host will next be due for a down alert if nothing
arrives (rules.deadlines). Until its window ends, the invocation then waits for
the earliest of those deadlines and runs a *deadline check* of the hosts due by
then (a few HEADs each, the same rules, at most one message), so that a host is
announced within seconds of its deadline instead of at the next sweep.

- The window ends WINDOW_MARGIN before the next scheduled run (the schedule's
  period after the scheduled time of this invocation) and before the Lambda
  timeout: an invocation never runs into the next one, whose sweep catches
  whatever falls later.
- Two checks of one invocation (the sweep included) start at least CHECK_SPACING
  apart: storm control. Each check names every host due by then in one
  message, so a mass outage makes at most a few messages a minute.
- A host is stale only once its echo is *older* than its threshold
  (rules.is_stale): a check wakes WAKE_AFTER past the deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW_MARGIN = timedelta(seconds=10)
"""The window ends this long before the next scheduled run (or the Lambda timeout): time for
the last check (a few HEADs, the webhook POST, the state PUT) and the lease's release."""

CHECK_SPACING = timedelta(seconds=15)
"""Least time between the start of two checks of one invocation (storm control)."""

WAKE_AFTER = timedelta(milliseconds=1)
"""A deadline check runs this long after the deadline (exactly at it, the host is still up)."""

HOSTS_PER_DEADLINE_CHECK = 100
"""A deadline check reads (three HEADs each) at most this many due hosts, the earliest deadlines
first; the others wait for the next check or the next sweep. Bounds a check's time in a storm."""


@dataclass(frozen=True)
class Window:
    """How long an invocation may check deadlines after its sweep (wall clock, aware UTC).

    ``end``: no deadline check starts after it. ``next_run``: when the next scheduled
    run is due; no check's webhook retries run into it.
    """

    end: datetime
    next_run: datetime


def window(
    scheduled_at: datetime, started: datetime, period: timedelta, remaining: timedelta | None
) -> Window:
    """The window of an invocation scheduled at ``scheduled_at`` (the EventBridge event's
    ``time``; ``started`` when unknown) that ``started`` with ``remaining`` Lambda time (None:
    unbounded) on a schedule of ``period``.

    A late delivery (``scheduled_at`` earlier than ``started``) shortens the window rather
    than moving it: the next run is due ``period`` after the scheduled time. A
    ``scheduled_at`` after ``started`` or a whole period before it (a retried or replayed
    event) is not trusted: ``started`` is used instead.
    """
    anchor = scheduled_at if started - period < scheduled_at <= started else started
    next_run = anchor + period
    end = next_run - WINDOW_MARGIN
    if remaining is not None:
        end = min(end, started + remaining - WINDOW_MARGIN)
    return Window(end=end, next_run=next_run)


def next_wake(deadlines: Iterable[datetime], last_check: datetime, end: datetime) -> datetime | None:
    """When the next deadline check starts: just after the earliest of ``deadlines``, and at
    least CHECK_SPACING after ``last_check`` (the moment of the previous check); None when
    there is none or it would start after ``end`` (the next sweep sees those hosts)."""
    earliest = min(deadlines, default=None)
    if earliest is None:
        return None
    wake = max(earliest + WAKE_AFTER, last_check + CHECK_SPACING)
    return wake if wake <= end else None


def due(deadlines: Mapping[str, datetime], now: datetime, limit: int = HOSTS_PER_DEADLINE_CHECK) -> list[str]:
    """The hosts whose deadline has passed at ``now`` (rules.is_stale's strict comparison),
    earliest deadline first (then by name), at most ``limit``."""
    passed = sorted((moment, host) for host, moment in deadlines.items() if moment < now)
    return [host for _, host in passed[: max(limit, 0)]]
