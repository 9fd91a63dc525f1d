"""pulse-status: show every host watched by a pulse-echo bucket, as check_result sees it.

Lists ``echo/``, ``pulse/`` and ``failure/``, reads ``state/status.json`` and
the failure records of failing hosts, and classifies each host with
check_result's own rules (``check_result.rules.host_statuses``): ``up``,
``down`` or ``new``, with the age
of the last echo and the current reason. Read-only: it needs ``s3:ListBucket``
and ``s3:GetObject`` on the bucket.

Exit status: 0 shown; 1 AWS error (wrong bucket, no credentials, access
denied, S3 unreachable); 2 wrong command line.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from datetime import datetime, timedelta

from check_result.model import STATUS_DOWN, STATUS_NEW, STATUS_UP, HostStatus
from check_result.rules import host_statuses
from check_result.store import Store
from pulse_echo import settings
from pulse_echo.text import one_line
from pulse_echo.times import format_duration, iso_with_age, isoformat, utcnow

from .aws import add_region_and_now_arguments, run_tool, s3_client, tool_parser

PROG = "pulse-status"
PERMISSIONS = "s3:ListBucket and s3:GetObject"
DEFAULT_STALE_AFTER_MINUTES = settings.STALE_AFTER.default  # the module's stale_after_minutes default
STATUS_ORDER = {STATUS_DOWN: 0, STATUS_NEW: 1, STATUS_UP: 2}

HELP = (
    "Show every host of a pulse-echo bucket with its status (down, new, up), "
    "the age of its last echo and why it is not up, using check_result's own logic.",
    "AWS settings come from the usual environment: AWS_PROFILE, AWS_REGION, "
    "AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID... Exit status: 0 shown, 1 AWS error, 2 usage error.",
)
"""--help: what the tool does, then what else to know."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = tool_parser(PROG, *HELP)
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.add_argument(
        "--stale-after-minutes",
        type=positive_minutes,
        metavar="N",
        default=None,
        help=(
            "an echo older than this means the host is down; use the module's stale_after_minutes "
            f"(default: $STALE_AFTER_MINUTES, else {DEFAULT_STALE_AFTER_MINUTES:g})"
        ),
    )
    add_region_and_now_arguments(parser)
    args = parser.parse_args(argv)
    if args.stale_after_minutes is None:
        raw = settings.raw(settings.STALE_AFTER)
        try:
            args.stale_after_minutes = positive_minutes(raw) if raw else DEFAULT_STALE_AFTER_MINUTES
        except argparse.ArgumentTypeError as exc:
            parser.error(f"environment variable STALE_AFTER_MINUTES: {exc}")
    return args


def positive_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of minutes > 0")
    return value


def collect(s3: object, bucket: str, now: datetime, stale_after: timedelta) -> list[HostStatus]:
    """The status of every watched host, problems first (down, new, up), then by host name.

    Requests: the three listings (one page per 1,000 keys), the state document
    and one GET per failing host's failure record.
    """
    store = Store(s3, bucket)
    observations = store.list_observations()
    stored = store.read_state()
    failing = [host for host, observation in sorted(observations.items()) if observation.failing]
    failures = store.read_failures(failing)
    rows = host_statuses(observations, stored.hosts, now, stale_after, failures)
    return sorted(rows, key=lambda row: (STATUS_ORDER.get(row.status, 9), row.host))


def render_json(rows: list[HostStatus], bucket: str, now: datetime, stale_after_minutes: float) -> str:
    counts = {status: sum(row.status == status for row in rows) for status in STATUS_ORDER}
    minutes = int(stale_after_minutes) if stale_after_minutes.is_integer() else stale_after_minutes
    document = {
        "bucket": bucket,
        "now": isoformat(now),
        "stale_after_minutes": minutes,
        "counts": counts,
        "hosts": [row.to_dict() for row in rows],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def render_table(rows: list[HostStatus], bucket: str, now: datetime, stale_after_minutes: float) -> str:
    """A plain-text table: HOST, STATUS, LAST ECHO (age), SINCE (start of the outage), REASON."""
    if not rows:
        return no_hosts_yet(bucket)
    header = ("HOST", "STATUS", "LAST ECHO", "SINCE", "REASON")
    lines = [header]
    for row in rows:
        lines.append(
            (
                one_line(row.host, limit=200),
                row.status + (" (failing)" if row.status == STATUS_UP and row.failing else ""),
                "never" if row.age is None else f"{format_duration(row.age.total_seconds())} ago",
                since_cell(row, now),
                "-" if row.reason is None else row.reason.detail,
            )
        )
    widths = [max(display_width(line[column]) for line in lines) for column in range(len(header) - 1)]
    text = [
        "  ".join(pad(cell, width) for cell, width in zip(line[:-1], widths, strict=True)) + "  " + line[-1]
        for line in lines
    ]
    counts = ", ".join(f"{sum(row.status == s for row in rows)} {s}" for s in STATUS_ORDER)
    text.append("")
    text.append(
        f"{len(rows)} host{'s' if len(rows) != 1 else ''} in s3://{bucket}: {counts} "
        f"(stale after {stale_after_minutes:g} min, at {isoformat(now)})"
    )
    return "\n".join(text)


def no_hosts_yet(bucket: str) -> str:
    """What an empty bucket (a deployment no host has sent a pulse to) shows, and what to do."""
    return (
        f"No hosts yet in s3://{bucket}: nothing under pulse/ or echo/.\n"
        f"Send a pulse from each host: send-pulse --bucket {bucket} ... (docs/pulses.md)"
    )


def since_cell(row: HostStatus, now: datetime) -> str:
    """For down/new: when it started and how long ago; for a failing up host: the failure's time."""
    moment = row.since
    if moment is None and row.failing and row.reason is not None:
        moment = row.reason.failed_at or row.last_failed_at
    if moment is None:
        return "-"
    return iso_with_age(moment, now)


def display_width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide characters take two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def main(argv: list[str] | None = None) -> int:
    """The command: exit status 0 shown, 1 AWS error, 2 usage error (argparse), 130 interrupted."""
    try:
        args = parse_args(argv)
        now = args.now or utcnow()

        def show() -> None:
            stale_after = timedelta(minutes=args.stale_after_minutes)
            rows = collect(s3_client(args.region), args.bucket, now, stale_after)
            render = render_json if args.json else render_table
            print(render(rows, args.bucket, now, args.stale_after_minutes))

        return run_tool(PROG, PERMISSIONS, args, show)
    except KeyboardInterrupt:
        return 130
