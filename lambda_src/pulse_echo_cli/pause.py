"""pulse-pause: the operator's maintenance window, for one host, several, or all of them.

While a host is paused, check_result sends no down or still_down alert for it
and shows it as ``paused``; when the pause ends it is judged as usual (a host
still down then is alerted once, unless that down was announced before the
pause); a recovery is announced even during a pause. Pauses live in
``state/pauses.json`` (check_result.pauses), written only by this tool, with
a conditional PUT (``If-Match`` on the ETag read, ``If-None-Match: *`` when
absent) that is re-read and retried when another writer got there first: two
operators, or an operator and a check_result run, lose nothing (check_result
only reads the file). Each pause or resume is also recorded in the history
(check_result.history: one object per command, events ``paused`` and
``resumed`` with source ``operator``), for ``pulse-status --history``.

Exit status: 0 done; 1 unknown host or AWS error; 2 wrong command line.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TextIO

from check_result.history import (
    EVENT_PAUSED,
    EVENT_RESUMED,
    SOURCE_OPERATOR,
    WRITER_PULSE_PAUSE,
    HistoryEvent,
    write_history,
)
from check_result.pauses import Pauses
from check_result.store import StateConflictError, Store
from pulse_echo import aws
from pulse_echo.layout import ECHO_PREFIX, PAUSES_KEY, PULSE_PREFIX, key_for
from pulse_echo.pulse import PAUSE_MAX_AHEAD
from pulse_echo.text import one_line
from pulse_echo.times import elapsed, isoformat, utcnow

from .aws import (
    CliError,
    add_region_and_now_arguments,
    iso_time,
    run_bucket_command,
    tool_parser,
)

PROG = "pulse-pause"
PERMISSIONS = "s3:ListBucket, s3:GetObject and s3:PutObject"
WRITE_ATTEMPTS = 5
DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
SHOWN_HOSTS = 10

HELP = (
    "Pause alerts for HOSTs (or --all) during a maintenance window: no down or still_down alert "
    "until the pause ends; the hosts show as paused in pulse-status. --resume ends the pause.",
    "DURATION is whole days, hours and minutes, largest first, without spaces: 30m, 2h, 1d, "
    f"1h30m; a pause lasts at most {PAUSE_MAX_AHEAD.days} days. TIME is ISO 8601 with a UTC offset "
    "(2026-01-01T12:00:00Z). --all also covers hosts that appear during the pause. When a pause "
    "ends, a host still down is alerted once (unless its down was announced before the pause); a "
    "recovery is announced even during a pause. --resume ends the operator's pause, not a "
    "pause_until the host sent in its pulse. AWS settings come from the usual environment "
    "(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL...). Exit status: 0 done, 1 unknown host or AWS "
    "error, 2 usage error.",
)
"""--help: what the tool does, then what else to know."""


def duration(text: str) -> timedelta:
    """argparse type: ``30m``, ``2h``, ``1d``, ``1h30m`` (whole days, hours, minutes, largest first)."""
    match = DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration such as 30m, 2h, 1d or 1h30m (whole days, hours, minutes)"
        )
    days, hours, minutes = (int(part or 0) for part in match.groups())
    try:
        span = timedelta(days=days, hours=hours, minutes=minutes)
    except OverflowError:  # more days than a datetime holds: far over the longest pause
        raise argparse.ArgumentTypeError(
            f"{text!r} is longer than a pause may last ({PAUSE_MAX_AHEAD.days} days at most)"
        ) from None
    if span <= timedelta(0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive duration")
    return span


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = tool_parser(PROG, *HELP)
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--for", dest="duration", type=duration, metavar="DURATION", help="pause for this long")
    when.add_argument("--until", type=iso_time, metavar="TIME", help="pause until this time")
    when.add_argument("--resume", action="store_true", help="end the pause now")
    parser.add_argument("--all", action="store_true", help="every host, including hosts that appear later")
    add_region_and_now_arguments(parser)
    parser.add_argument("hosts", nargs="*", metavar="HOST", help="the hosts (names as in pulse/HOST.json)")
    args = parser.parse_args(argv)
    if args.all == bool(args.hosts):
        parser.error("give HOST... or --all (one of them)")
    if any(not host for host in args.hosts):
        parser.error("HOST is empty")
    args.now = args.now or utcnow()
    if args.duration is not None and args.duration > PAUSE_MAX_AHEAD:
        parser.error(f"a pause lasts at most {PAUSE_MAX_AHEAD.days} days (--for {args.duration} asked)")
    if args.duration is not None:
        args.until = args.now + args.duration
    if args.until is not None:
        if args.until <= args.now:
            parser.error(f"--until {isoformat(args.until)} has passed (it is {isoformat(args.now)})")
        if args.until - args.now > PAUSE_MAX_AHEAD:
            parser.error(
                f"a pause lasts at most {PAUSE_MAX_AHEAD.days} days (until {isoformat(args.until)} asked)"
            )
    return args


def exists(s3: object, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
    except Exception as exc:
        if aws.is_no_such_key(exc):
            return False
        raise
    return True


def check_hosts(store: Store, hosts: Sequence[str], known: Pauses) -> None:
    """Raise CliError (status 1) naming the hosts with neither a pulse nor an echo (nor, to
    resume it, a pause), with the closest known names (difflib)."""
    unknown = [
        host
        for host in dict.fromkeys(hosts)
        if host not in known.hosts
        and not exists(store.s3, store.bucket, key_for(PULSE_PREFIX, host))
        and not exists(store.s3, store.bucket, key_for(ECHO_PREFIX, host))
    ]
    if not unknown:
        return
    names = sorted(store.list_observations())
    hints = []
    for host in unknown[:3]:
        close = difflib.get_close_matches(host, names, n=3, cutoff=0.6)
        hints.append(f"{host!r}" + (f" (did you mean {', '.join(repr(n) for n in close)}?)" if close else ""))
    more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
    raise CliError(f"unknown host: {', '.join(hints)}{more}: no pulse or echo in s3://{store.bucket}")


def write(store: Store, change: object, now: datetime, err: TextIO) -> tuple[Pauses, Pauses]:
    """Apply ``change`` (Pauses -> Pauses) to the stored pauses with a conditional PUT, re-reading
    and retrying when another writer got there first; returns (before, after)."""
    for attempt in range(WRITE_ATTEMPTS):
        stored = store.read_pauses()
        if stored.unreadable and attempt == 0:
            print(f"{PROG}: warning: {PAUSES_KEY} could not be read and is replaced", file=err)
        after = change(stored.value)  # type: ignore[operator]
        try:
            store.write_pauses(after, etag=stored.etag, now=now)
        except StateConflictError:
            time.sleep(0.2 * (attempt + 1))
            continue
        return stored.value, after
    raise CliError(f"{PAUSES_KEY} kept changing while it was written; nothing changed: run {PROG} again")


def names_text(hosts: Sequence[str]) -> str:
    shown = ", ".join(one_line(host, limit=100) for host in hosts[:SHOWN_HOSTS])
    return shown + (f" and {len(hosts) - SHOWN_HOSTS} more" if len(hosts) > SHOWN_HOSTS else "")


def pause(args: argparse.Namespace, s3: object, out: TextIO | None = None, err: TextIO | None = None) -> None:
    """Pause or resume (see the module docstring), then say what was done on ``out``."""
    out, err = out or sys.stdout, err or sys.stderr
    store, now = Store(s3, args.bucket), args.now
    hosts = None if args.all else list(dict.fromkeys(args.hosts))
    if hosts is not None:
        check_hosts(store, hosts, store.read_pauses().value if args.resume else Pauses())
    who = "every host" if hosts is None else names_text(hosts)
    if not args.resume:
        write(store, lambda pauses: pauses.paused(hosts, args.until, now), now, err)
        record(
            store, [pause_event(EVENT_PAUSED, host, now, args.until) for host in hosts or [None]], now, err
        )
        print(
            f"Paused {who} until {isoformat(args.until)} ({elapsed(now, args.until)}): no down alert "
            "until then; a host still down then is alerted once.",
            file=out,
        )
        return
    before, after = write(store, lambda pauses: pauses.resumed(hosts, now), now, err)
    was = [host for host in hosts or () if before.until(host, now) is not None and host in before.hosts]
    ended = was if hosts is not None else [host for host, p in before.hosts.items() if p.active(now)]
    if hosts is None and before.every_host is not None and before.every_host.active(now):
        ended = [None, *ended]
    record(store, [pause_event(EVENT_RESUMED, host, now) for host in ended], now, err)
    print(
        f"Resumed {who}: check_result judges {'them' if hosts is None or len(hosts) > 1 else 'it'} "
        "as usual from its next run.",
        file=out,
    )
    if hosts is not None and len(was) < len(hosts):
        print(f"Note: {names_text([h for h in hosts if h not in was])} had no pause of its own.", file=out)
    if hosts is not None and after.every_host is not None and after.every_host.active(now):
        print(
            f"Note: every host is still paused until {isoformat(after.every_host.until)}: "
            f"{PROG} --resume --all ends that.",
            file=out,
        )


def pause_event(event: str, host: str | None, now: datetime, until: datetime | None = None) -> HistoryEvent:
    """An operator pause (``until``) or its end, for the history (``host`` None: every host)."""
    return HistoryEvent(
        event,
        host,
        at=now,
        since=now,
        until=until,
        duration=None if until is None else until - now,
        source=SOURCE_OPERATOR,
    )


def record(store: Store, events: list[HistoryEvent], now: datetime, err: TextIO) -> None:
    """Write ``events`` to the history as one object; a failure is a warning (the pause itself
    is done): the history then lacks it, and pulse-status counts that time as watched."""
    written = write_history(
        store, events, run_id=f"{PROG}-{uuid.uuid4().hex}", now=now, writer=WRITER_PULSE_PAUSE
    )
    if written.error is not None:
        reason = one_line(aws.describe(written.error))
        print(f"{PROG}: warning: done, but not recorded in the history: {reason}", file=err)


def main(argv: Sequence[str] | None = None) -> int:
    """The command: exit status 0 done, 1 unknown host or AWS error, 2 usage error, 130 interrupted."""
    return run_bucket_command(PROG, PERMISSIONS, parse_args, pause, argv)
