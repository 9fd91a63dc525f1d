"""Uptime from the history: each host's outages, paused time and time watched, over a window.

Pure functions (``now`` is an argument); the definitions, told once for the operator in
docs/operations.md ("Uptime"):

- **An outage** runs from its ``since`` (the last successful check before it; for a host that
  never succeeded, when it was first seen) to the first successful check after it (the ``up``
  event's ``last_ok_at``); while the host is still down (its down was announced), to now; an
  outage whose end was never recorded (the host was forgotten meanwhile) to its last event.
  A success that is stale again before a run sees it does not end an outage: the history
  holds what was announced.
- **Paused time**: every pause of the host (its pulse's ``pause_until``, the operator's for it
  and the operator's for every host), from its start to its ``until``, or to the next pause
  event of the same host and source (a pause replaces the running one; ``resumed`` ends it).
- **Watched from**: the host's ``first_seen`` (or its earliest event, if earlier: an outage
  proves it was watched); a host seen before the history began has none, and is watched
  from the window's start.
- Over a window of D days ending now: ``start`` = the later of now - D and watched from;
  **watched** = (now - start) - paused time; **down** = outage time that is not paused;
  **uptime** = 1 - down / watched (None when nothing was watched).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from check_result.history import (
    EVENT_DOWN,
    EVENT_FIRST_SEEN,
    EVENT_PAUSED,
    EVENT_RESUMED,
    EVENT_STILL_DOWN,
    EVENT_UP,
    HistoryEvent,
)

Interval = tuple[datetime, datetime]
WINDOWS = (1, 7, 30)
"""The windows uptime is given over, in days."""


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """The intervals merged: sorted, overlapping or touching ones joined, empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def clipped(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The parts of ``intervals`` within ``[start, end]``."""
    return union((max(a, start), min(b, end)) for a, b in intervals)


def minus(intervals: Iterable[Interval], holes: Sequence[Interval]) -> list[Interval]:
    """``intervals`` without the time ``holes`` cover."""
    result = []
    for start, end in union(intervals):
        cursor = start
        for hole_start, hole_end in union(holes):
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
        if cursor < end:
            result.append((cursor, end))
    return result


def total(intervals: Iterable[Interval]) -> timedelta:
    return sum((end - start for start, end in union(intervals)), timedelta(0))


@dataclass(frozen=True)
class HostHistory:
    """What the history says of one host: its ``outages`` and ``paused`` intervals (merged),
    when it was first watched (None: before the history began), and whether it is down now."""

    host: str
    outages: tuple[Interval, ...] = ()
    paused: tuple[Interval, ...] = ()
    watched_from: datetime | None = None
    down_now: bool = False


@dataclass(frozen=True)
class Uptime:
    """A host's uptime over ``days`` (see the module docstring); ``outages`` counts those that
    overlap the window outside a pause."""

    days: int
    watched: timedelta
    down: timedelta
    paused: timedelta
    outages: int

    @property
    def ratio(self) -> float | None:
        """1 - down / watched, or None when nothing was watched."""
        seconds = self.watched.total_seconds()
        return None if seconds <= 0 else max(0.0, 1 - self.down.total_seconds() / seconds)

    def to_dict(self) -> dict[str, object]:
        ratio = self.ratio
        return {
            "days": self.days,
            "uptime": None if ratio is None else round(ratio, 6),
            "watched_seconds": round(self.watched.total_seconds(), 3),
            "down_seconds": round(self.down.total_seconds(), 3),
            "paused_seconds": round(self.paused.total_seconds(), 3),
            "outages": self.outages,
        }


def uptime(history: HostHistory, days: int, now: datetime) -> Uptime:
    """``history``'s uptime over the ``days`` before ``now``."""
    start = now - timedelta(days=days)
    if history.watched_from is not None:
        start = max(start, history.watched_from)
    if start >= now:
        return Uptime(days, timedelta(0), timedelta(0), timedelta(0), 0)
    paused = clipped(history.paused, start, now)
    down = minus(clipped(history.outages, start, now), paused)
    return Uptime(
        days=days,
        watched=(now - start) - total(paused),
        down=total(down),
        paused=total(paused),
        outages=sum(1 for start_, end in history.outages if any(a < end and b > start_ for a, b in down)),
    )


def percent(ratio: float | None) -> str:
    """``99.95%``: two decimals, rounded down, so that only a host never down shows ``100%``;
    ``-`` when nothing was watched."""
    if ratio is None:
        return "-"
    if ratio >= 1:
        return "100%"
    return f"{int(ratio * 10000) / 100:.2f}%"


def pause_intervals(
    events: Iterable[HistoryEvent], now: datetime
) -> dict[tuple[str | None, str], list[Interval]]:
    """``{(host or None for every host, source): [interval]}``: each pause from its start to its
    ``until``, cut at the next pause event of the same host and source (which replaces it)."""
    by_key: dict[tuple[str | None, str], list[HistoryEvent]] = {}
    for event in events:
        if event.event in (EVENT_PAUSED, EVENT_RESUMED) and event.source is not None:
            by_key.setdefault((event.host, event.source), []).append(event)
    result: dict[tuple[str | None, str], list[Interval]] = {}
    for key, items in by_key.items():
        intervals: list[Interval] = []
        running: Interval | None = None
        for event in sorted(items, key=lambda e: (e.since or e.at, e.event == EVENT_PAUSED)):
            begins = event.since or event.at
            if running is not None:
                intervals.append((running[0], min(running[1], begins)))
                running = None
            if event.event == EVENT_PAUSED and event.until is not None:
                running = (begins, event.until)
        if running is not None:
            intervals.append(running)
        result[key] = union((start, min(end, now)) for start, end in intervals)
    return result


def host_histories(
    events: Sequence[HistoryEvent], down_since: Mapping[str, datetime], hosts: Iterable[str], now: datetime
) -> dict[str, HostHistory]:
    """Each host's history, for ``hosts`` and every host with an event: ``events`` de-duplicated
    (dedupe), ``down_since`` the start of each announced outage still running now (pulse-status's
    rows: down, alerted)."""
    pauses = pause_intervals(events, now)
    every_host = [i for (host, _), found in pauses.items() if host is None for i in found]
    per_host: dict[str, list[HistoryEvent]] = {host: [] for host in hosts}
    for event in events:
        if event.host is not None:
            per_host.setdefault(event.host, []).append(event)
    histories = {}
    for host, items in per_host.items():
        ends: dict[datetime, datetime] = {}
        for event in sorted(items, key=lambda e: e.at):
            if event.since is None or event.event not in (EVENT_DOWN, EVENT_STILL_DOWN, EVENT_UP):
                continue
            if event.event == EVENT_UP:
                ends[event.since] = event.last_ok_at or event.at
            elif ends.get(event.since, event.since) <= event.at:
                ends[event.since] = event.at  # the last event known, until its end is
        current = down_since.get(host)
        if current is not None:
            ends[current] = now
        first = [e.since or e.at for e in items if e.event == EVENT_FIRST_SEEN]
        earliest = min((e.since or e.at for e in items), default=None)
        own = [i for (name, _), found in pauses.items() if name == host for i in found]
        histories[host] = HostHistory(
            host=host,
            outages=tuple(union(ends.items())),
            paused=tuple(union([*own, *every_host])),
            watched_from=earliest if first else None,
            down_now=current is not None,
        )
    return histories


def dedupe(events: Iterable[HistoryEvent]) -> list[HistoryEvent]:
    """The events once each (HistoryEvent.key; the earliest written kept), oldest first."""
    seen: dict[tuple[object, ...], HistoryEvent] = {}
    for event in sorted(events, key=lambda e: e.at):
        seen.setdefault(event.key(), event)
    return list(seen.values())
