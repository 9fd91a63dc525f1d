"""pulse-status --history and --html: what happened, how often, at a glance.

Reads the history objects (check_result.history) written since the start of the longest
window (30 days, or ``--days`` if longer) and the longest pause before it (7 days, so that a
pause begun earlier is counted), with one ListObjectsV2 page per 1,000 objects and one GET
each (PARALLEL_READS at a time); de-duplicates the events (they are written at least once);
joins them with the current status (pulse-status's own rows: an announced outage still
running counts until now) and computes each host's uptime over 1, 7 and 30 days (uptime.py).
``--history`` prints the events of the last ``--days`` (newest first) and the uptime table, or
``--json``; ``--html FILE`` writes the status page (html.py). Needs ``s3:ListBucket`` and
``s3:GetObject`` on ``history/*`` too.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from check_result.bucket import Bucket
from check_result.history import (
    EVENT_DOWN,
    EVENT_PAUSED,
    EVENT_RESUMED,
    EVENT_STILL_DOWN,
    EVENT_UP,
    HistoryEvent,
    HistoryFormatError,
    decode_history,
)
from check_result.model import STATUS_DOWN, HostStatus
from pulse_echo.layout import HISTORY_PREFIX, history_start_after
from pulse_echo.pulse import PAUSE_MAX_AHEAD
from pulse_echo.text import counted, one_line
from pulse_echo.times import format_duration, iso_or_none, isoformat

from . import uptime as up
from .aws import CliError

if TYPE_CHECKING:
    from .status import Report

DEFAULT_DAYS = 7
MAX_DAYS = 3660
HISTORY_OBJECT_MAX_BYTES = 64 * 1024 * 1024
"""A larger history object is not read (counted as unreadable): a run of 50,000 events is ~20 MB."""
PAGE_SIZE = 1000


def days(text: str) -> int:
    """argparse type: a whole number of days, 1 to MAX_DAYS."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} must be from 1 to {MAX_DAYS} days")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """pulse-status's --history [HOST], --days N and --html FILE."""
    parser.add_argument(
        "--history",
        nargs="?",
        const="",
        metavar="HOST",
        help="the status changes (newest first) and each host's uptime over 1, 7 and 30 days; "
        "with HOST, that host's only",
    )
    parser.add_argument(
        "--days",
        type=days,
        metavar="N",
        help=f"days of events (--history) or of timeline (--html) shown (default {DEFAULT_DAYS})",
    )
    parser.add_argument(
        "--html",
        metavar="FILE",
        help="write a self-contained HTML status page (fleet, uptime, timeline) to FILE ('-': stdout)",
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse the combinations that mean nothing (argparse's usage error, exit status 2)."""
    if args.html is not None and (args.history is not None or args.json):
        parser.error("--html writes the page alone: leave out --history and --json")
    if args.days is not None and args.history is None and args.html is None:
        parser.error("--days goes with --history or --html")
    args.days = args.days or DEFAULT_DAYS


# --- reading ---


@dataclass(frozen=True)
class HistoryLog:
    """The history read: its ``events`` (de-duplicated, oldest first), the ``objects`` read,
    those ``unreadable`` (not a history object, or too large) and the events ``skipped`` (one
    that did not parse, in an object that did)."""

    events: list[HistoryEvent]
    objects: int = 0
    unreadable: int = 0
    skipped: int = 0


class HistoryReader(Bucket):
    """The history objects of a bucket, through one boto3 S3 client."""

    def keys(self, start: datetime) -> list[str]:
        """The history keys written at or after ``start`` (one ListObjectsV2 page per 1,000)."""
        paginator = self.s3.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=HISTORY_PREFIX,
            StartAfter=history_start_after(start),
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        keys = []
        for page in pages:
            self._count()
            keys.extend(item["Key"] for item in page.get("Contents", ()))
        return keys

    def read(self, start: datetime) -> HistoryLog:
        """Every event written since ``start`` (a few earlier ones of the same second too)."""
        found = self._get_many(self.keys(start), HISTORY_OBJECT_MAX_BYTES)
        events: list[HistoryEvent] = []
        objects = unreadable = skipped = 0
        for got in found.values():
            if got is None:  # expired between the listing and the GET
                continue
            objects += 1
            try:
                if got[0] is None:
                    raise HistoryFormatError("too large")
                decoded, bad = decode_history(got[0])
            except HistoryFormatError:
                unreadable += 1
                continue
            events.extend(decoded)
            skipped += bad
        return HistoryLog(up.dedupe(events), objects, unreadable, skipped)


# --- what --history and --html show ---


@dataclass(frozen=True)
class HostRow:
    """One host of the history: its current status row (None: not watched any more), what the
    history says of it and its uptime over each window (uptime.WINDOWS)."""

    host: str
    status: HostStatus | None
    history: up.HostHistory
    uptimes: tuple[up.Uptime, ...] = field(default=())

    def uptime(self, days: int) -> up.Uptime:
        return next(u for u in self.uptimes if u.days == days)

    def worst_first(self) -> tuple[float, str]:
        ratios = [u.ratio for u in self.uptimes if u.ratio is not None]
        return (min(ratios, default=1.0), self.host)


@dataclass(frozen=True)
class Overview:
    """What the history and the status say at ``now``: the ``rows`` (lowest uptime first), the
    history ``log`` and the ``days`` shown."""

    now: datetime
    days: int
    rows: list[HostRow]
    log: HistoryLog
    counts: dict[str, int]

    def events(self, host: str | None = None) -> list[HistoryEvent]:
        """The events of the last ``days``, newest first (of ``host`` and every host, when given)."""
        start = self.now - timedelta(days=self.days)
        shown = [
            e
            for e in self.log.events
            if start <= e.at <= self.now and (host is None or e.host in (host, None))
        ]
        by_host = sorted(shown, key=lambda e: host_cell(e.host))
        return sorted(by_host, key=lambda e: e.at, reverse=True)  # stable: same time, by host


def read_start(now: datetime, shown_days: int) -> datetime:
    """Where reading starts: the longest window, and the longest pause before it."""
    return now - timedelta(days=max(shown_days, *up.WINDOWS)) - PAUSE_MAX_AHEAD


def overview(s3: object, bucket: str, report: Report, now: datetime, shown_days: int) -> Overview:
    """Read the history and compute every host's uptime (see the module docstring)."""
    log = HistoryReader(s3, bucket).read(read_start(now, shown_days))
    statuses = {row.host: row for row in report.rows}
    down_since = {
        row.host: row.since
        for row in report.rows
        if row.health == STATUS_DOWN and row.notified_at is not None and row.since is not None
    }
    histories = up.host_histories(log.events, down_since, statuses, now)
    rows = [
        HostRow(
            host,
            statuses.get(host),
            history,
            tuple(up.uptime(history, window, now) for window in up.WINDOWS),
        )
        for host, history in histories.items()
    ]
    rows.sort(key=HostRow.worst_first)
    counts: dict[str, int] = {}
    for row in report.rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return Overview(now, shown_days, rows, log, counts)


def select(view: Overview, host: str) -> list[HostRow]:
    """The row of ``host``; CliError (exit status 1) with the closest names when it has neither
    a status nor an event."""
    rows = [row for row in view.rows if row.host == host]
    if rows:
        return rows
    close = difflib.get_close_matches(host, [row.host for row in view.rows], n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(name) for name in close)}?)" if close else ""
    raise CliError(f"unknown host {host!r}{hint}: no pulse, echo or history event")


# --- text and JSON ---


def event_detail(event: HistoryEvent) -> str:
    """What an event says, on one line (a reason is untrusted text: escaped)."""
    if event.event in (EVENT_DOWN, EVENT_STILL_DOWN):
        return one_line(event.reason_detail or event.reason_code or "-")
    if event.event == EVENT_UP:
        return f"succeeded again at {iso_or_none(event.last_ok_at) or '?'}"
    who = f"{event.source}{'' if event.host is not None else ', every host'}"
    if event.event == EVENT_PAUSED:
        return f"paused until {iso_or_none(event.until) or '?'} ({who})"
    if event.event == EVENT_RESUMED:
        return f"pause ended ({who})"
    return ""  # first_seen says it all


def host_cell(host: str | None) -> str:
    return "(every host)" if host is None else one_line(host, limit=200)


def status_word(row: HostRow) -> str:
    return "-" if row.status is None else row.status.status


def columns(lines: Sequence[Sequence[str]]) -> list[str]:
    """Align every column but the last (the terminal's widths, status.display_width)."""
    from .status import display_width, pad

    widths = [max(display_width(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    return [
        "  ".join([*(pad(c, w) for c, w in zip(line[:-1], widths, strict=True)), line[-1]]) for line in lines
    ]


def render_text(view: Overview, bucket: str, host: str | None = None) -> str:
    """The events of the last ``days`` (newest first), then the uptime table, then a summary."""
    rows = view.rows if host is None else select(view, host)
    events = view.events(host)
    text = columns(
        [
            ("AT", "HOST", "EVENT", "SINCE", "DURATION", "DETAIL"),
            *(
                (
                    isoformat(e.at),
                    host_cell(e.host),
                    e.event,
                    iso_or_none(e.since) or "-",
                    "-" if e.duration is None else format_duration(e.duration.total_seconds()),
                    event_detail(e) or "-",
                )
                for e in events
            ),
        ]
    )
    text.append("")
    table = [
        (
            "HOST",
            "STATUS",
            "1 DAY",
            "7 DAYS",
            "30 DAYS",
            "DOWN (30 DAYS)",
            "PAUSED (30 DAYS)",
            "WATCHED (30 DAYS)",
        )
    ]
    for row in rows:
        month = row.uptime(30)
        outages = f"{month.outages} outage{'s' if month.outages != 1 else ''}"
        table.append(
            (
                host_cell(row.host),
                status_word(row),
                *(up.percent(row.uptime(window).ratio) for window in up.WINDOWS),
                f"{format_duration(month.down.total_seconds())} ({outages})",
                format_duration(month.paused.total_seconds()),
                format_duration(month.watched.total_seconds()),
            )
        )
    text.extend(columns(table))
    text.append("")
    text.append(
        f"{len(events)} event{'s' if len(events) != 1 else ''} in the last {view.days} "
        f"day{'s' if view.days != 1 else ''} in s3://{bucket}, newest first (at {isoformat(view.now)}); "
        "uptime = time not down / time watched, paused time left out"
    )
    return "\n".join(text)


def render_json(view: Overview, bucket: str, host: str | None = None) -> str:
    rows = view.rows if host is None else select(view, host)
    document = {
        "bucket": bucket,
        "now": isoformat(view.now),
        "days": view.days,
        "events": [event.to_dict() for event in view.events(host)],
        "hosts": [
            {
                "host": row.host,
                "status": None if row.status is None else row.status.status,
                "watched_from": iso_or_none(row.history.watched_from),
                "down_now": row.history.down_now,
                "uptime": [u.to_dict() for u in row.uptimes],
            }
            for row in rows
        ],
        "history": {
            "objects": view.log.objects,
            "unreadable_objects": view.log.unreadable,
            "skipped_events": view.log.skipped,
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def notes(view: Overview, prog: str) -> list[str]:
    """Lines for stderr about history that could not be read."""
    log = view.log
    if not (log.unreadable or log.skipped):
        return []
    return [
        f"{prog}: note: {log.unreadable} history objects and {log.skipped} events could not be read "
        "and were left out"
    ]


def show(args: argparse.Namespace, s3: object, report: Report, now: datetime, prog: str) -> None:
    """--history (text or --json) or --html: read, compute, print or write."""
    view = overview(s3, args.bucket, report, now, args.days)
    if args.html is not None:
        from .html import render_page

        page = render_page(view, args.bucket)
        if args.html == "-":
            sys.stdout.write(page)
        else:
            try:
                Path(args.html).write_text(page, encoding="utf-8")
            except OSError as exc:
                raise CliError(f"cannot write {args.html}: {exc.strerror or exc}") from None
            hosts, events = counted(len(view.rows), "host"), counted(len(view.events()), "event")
            print(f"Wrote {args.html}: {hosts}, {events} in {counted(view.days, 'day')}.")
    else:
        render = render_json if args.json else render_text
        print(render(view, args.bucket, args.history or None))
    for line in notes(view, prog):
        print(line, file=sys.stderr)
