"""pulse-forget: retire a host from a pulse-echo bucket, so that it is never alerted on again.

Deletes ``pulse/<host>.json``, ``echo/<host>.json`` and ``failure/<host>.json``
and removes the host from check_result's ``state/status.json``, after a
confirmation (``--yes`` skips it). While it works it holds check_result's run
lease (``state/lock.json``), so no check_result run reads the bucket half-way
through; the state is rewritten with ``If-Match`` on the ETag it read
(``check_result.store.Store.write_state``), re-read and retried if check_result
wrote it meanwhile. A host without pulse and echo is dropped by check_result
without a message (``check_result.rules``: retired), so once the objects are
gone no alert can follow.

Until a host is forgotten, a host that is simply turned off keeps showing (and
alerting) as down. A host that still runs send-pulse after being forgotten
comes back as a new host: stop its timer or cron job first.

Exit status: 0 forgotten; 1 unknown host or AWS error; 2 wrong command line,
or no confirmation.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
import uuid
from datetime import datetime, timedelta
from typing import TextIO

from check_result.state import HostState
from check_result.store import StateConflictError, Store
from pulse_echo import aws
from pulse_echo.layout import ECHO_PREFIX, FAILURE_PREFIX, LEASE_KEY, PULSE_PREFIX, STATE_KEY, key_for
from pulse_echo.text import one_line
from pulse_echo.times import elapsed, iso_with_age, isoformat, utcnow

from .aws import CliError, add_region_and_now_arguments, run_bucket_command, tool_parser

PROG = "pulse-forget"
PERMISSIONS = "s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject"
PREFIXES = (PULSE_PREFIX, ECHO_PREFIX, FAILURE_PREFIX)  # deletion order: the pulse first
RECENT_PULSE = timedelta(minutes=15)  # a pulse this fresh means the host still sends them
LEASE_DURATION = timedelta(minutes=2)
LEASE_WAIT_SECONDS = 60.0
STATE_ATTEMPTS = 5

HELP = (
    "Retire HOST: delete its pulse, echo and failure records and its entry in "
    "check_result's state, so that it is never alerted on again. Asks for confirmation.",
    "HOST is the name in pulse/HOST.json (it may contain /, spaces, +, %, non-ASCII); "
    "put -- before a HOST that starts with '-'. Stop send-pulse on the host first, or it "
    "comes back as a new host. AWS settings come from the usual environment (AWS_PROFILE, "
    "AWS_REGION, AWS_ENDPOINT_URL...). Exit status: 0 forgotten, 1 unknown host or AWS "
    "error, 2 usage error or not confirmed.",
)
"""--help: what the tool does, then what else to know."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = tool_parser(PROG, *HELP)
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    add_region_and_now_arguments(parser)
    parser.add_argument("host", metavar="HOST", help="the host to forget")
    args = parser.parse_args(argv)
    if not args.host:
        parser.error("HOST is empty")
    return args


def head(s3: object, bucket: str, key: str) -> datetime | None:
    """``LastModified`` of ``key``, or None when it does not exist."""
    try:
        return s3.head_object(Bucket=bucket, Key=key)["LastModified"]
    except Exception as exc:
        if aws.is_no_such_key(exc):
            return None
        raise


def describe_state_entry(entry: HostState, now: datetime) -> str:
    since = f"since {iso_with_age(entry.since, now)}"
    notified = f", alerted at {isoformat(entry.notified_at)}" if entry.notified_at else ""
    return f"{entry.status} {since}{notified}"


def confirm(prompt: str) -> bool:
    """Ask on the terminal; False on anything but y/yes. Raises CliError without a terminal."""
    if not sys.stdin.isatty():
        raise CliError("refusing to delete without confirmation: stdin is not a terminal; pass --yes", 2)
    try:
        answer = input(prompt)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def take_lease(store: object, run_id: str, wait_seconds: float) -> object:
    """Hold check_result's run lease, waiting up to ``wait_seconds`` for a running check_result."""
    deadline = time.monotonic() + wait_seconds
    while True:
        lease = store.acquire_lease(run_id, utcnow(), LEASE_DURATION)
        if lease is not None:
            return lease
        if time.monotonic() >= deadline:
            raise CliError(
                f"a check_result run holds {LEASE_KEY}; try again in a few minutes "
                "(a crashed run's lease expires after RUN_LEASE_SECONDS, 15 minutes by default)"
            )
        time.sleep(2)


def remove_from_state(store: object, host: str, run_id: str) -> bool:
    """Drop ``host`` from state/status.json with If-Match (pending SNS alerts, the recorded
    threshold and the history events not written yet are kept); True when it was there.

    Re-reads and retries when check_result wrote the state in between
    (StateConflictError), up to STATE_ATTEMPTS times.
    """
    for _ in range(STATE_ATTEMPTS):
        stored = store.read_state()
        if host not in stored.hosts:
            return False
        hosts = {name: entry for name, entry in stored.hosts.items() if name != host}
        try:
            store.write_state(
                hosts,
                etag=stored.etag,
                run_id=run_id,
                now=utcnow(),
                pending_sns=stored.pending_sns,
                stale_after_minutes=stored.stale_after_minutes,
                pending_history=stored.pending_history,
            )
        except StateConflictError:
            time.sleep(0.5)
            continue
        return True
    raise CliError(f"{STATE_KEY} kept changing; {host!r} is still in it: run pulse-forget again")


def forget(args: argparse.Namespace, s3: object, out: TextIO | None = None) -> None:
    """Show what HOST has, confirm, then delete it under the run lease (see the module docstring)."""
    out = out or sys.stdout

    now = args.now or utcnow()
    host, bucket = args.host, args.bucket
    shown = one_line(host, limit=300)
    store = Store(s3, bucket)

    found = {prefix: head(s3, bucket, key_for(prefix, host)) for prefix in PREFIXES}
    entry = store.read_state().hosts.get(host)
    if entry is None and not any(found.values()):
        names = sorted(store.list_observations())
        close = difflib.get_close_matches(host, names, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(name) for name in close)}?" if close else ""
        raise CliError(
            f"unknown host {host!r}: no pulse, echo, failure record or state entry in s3://{bucket}{hint}"
        )

    print(f'Host "{shown}" in s3://{bucket}:', file=out)
    for prefix, modified in found.items():
        key = one_line(key_for(prefix, host), limit=400)
        print(f"  {key}: {'last modified ' + isoformat(modified) if modified else 'absent'}", file=out)
    state_line = "absent" if entry is None else describe_state_entry(entry, now)
    print(f"  {STATE_KEY} entry: {state_line}", file=out)
    pulse_at = found[PULSE_PREFIX]
    if pulse_at is not None and now - pulse_at < RECENT_PULSE:
        print(
            f"Warning: its last pulse is {elapsed(pulse_at, now)} old: the host "
            "still sends pulses. Stop send-pulse there first, or it comes back as a new host.",
            file=out,
        )
    out.flush()
    if not args.yes and not confirm(f'Forget "{shown}"? This cannot be undone. [y/N] '):
        raise CliError("not confirmed; nothing was deleted", 2)

    run_id = f"pulse-forget-{uuid.uuid4()}"
    lease = take_lease(store, run_id, LEASE_WAIT_SECONDS)
    try:
        deleted = []
        for prefix in PREFIXES:
            if found[prefix] is not None:
                s3.delete_object(Bucket=bucket, Key=key_for(prefix, host))
                deleted.append(one_line(key_for(prefix, host), limit=400))
        removed = remove_from_state(store, host, run_id)
    finally:
        store.release_lease(lease)

    done = [f"deleted {', '.join(deleted)}"] if deleted else []
    if removed:
        done.append(f"removed it from {STATE_KEY}")
    print(f'Forgot "{shown}": {"; ".join(done)}.', file=out)
    back = [prefix + "…" for prefix in (PULSE_PREFIX, ECHO_PREFIX) if head(s3, bucket, key_for(prefix, host))]
    if back:
        print(
            f"Warning: {' and '.join(back)} reappeared meanwhile (the host or a check in flight "
            "wrote it again): stop send-pulse on the host and run pulse-forget again.",
            file=out,
        )


def main(argv: list[str] | None = None) -> int:
    """The command: exit status 0 forgotten, 1 unknown host or AWS error, 2 usage error or not
    confirmed, 130 interrupted."""
    return run_bucket_command(PROG, PERMISSIONS, parse_args, forget, argv)
