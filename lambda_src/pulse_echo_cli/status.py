"""pulse-status: show every host watched by a pulse-echo bucket, as check_result sees it.

Lists ``echo/``, ``pulse/`` and ``failure/``; reads ``state/status.json``
(with the module's threshold, recorded by check_result), the pulse index
``state/pulses.json`` and the pulses that changed since, the operator's
pauses, and the failure records of failing hosts; then classifies each host
with check_result's own rules (``check_result.rules.host_statuses``): ``up``,
``down``, ``new`` or ``paused``, with its kind, its threshold, the age of its
last echo, and the current reason (for a job that ran fine, its last report).
``--history`` and ``--html`` add the history of status changes and uptime
(history.py). Read-only: it needs ``s3:ListBucket`` and ``s3:GetObject`` on the bucket.

Exit status: 0 shown; 1 AWS error (wrong bucket, no credentials, access
denied, S3 unreachable); 2 wrong command line.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from check_result.model import STATUS_DOWN, STATUS_NEW, STATUS_PAUSED, STATUS_UP, HostStatus, minutes
from check_result.rules import host_statuses
from check_result.store import Store
from pulse_echo import settings
from pulse_echo.reasons import JOB_MESSAGE_CHARS, job_facts
from pulse_echo.text import one_line, tail_line
from pulse_echo.times import format_duration, iso_with_age, isoformat, utcnow

from . import history
from .aws import add_region_and_now_arguments, run_tool, s3_client, tool_parser

PROG = "pulse-status"
PERMISSIONS = "s3:ListBucket and s3:GetObject"
DEFAULT_STALE_AFTER_MINUTES = settings.STALE_AFTER.default  # the module's stale_after_minutes default
STATUS_ORDER = {STATUS_DOWN: 0, STATUS_NEW: 1, STATUS_PAUSED: 2, STATUS_UP: 3}
FROM_OPTION, FROM_STATE, FROM_ENVIRONMENT, FROM_DEFAULT = "option", "state", "environment", "default"

HELP = (
    "Show every host of a pulse-echo bucket with its status (down, new, paused, up), its kind "
    "(probe, heartbeat, job) and threshold, the age of its last echo and why it is not up, using "
    "check_result's own logic; --history adds what changed and each host's uptime, --html a status page.",
    "The deployment's threshold is the one check_result recorded in state/status.json; "
    "--stale-after-minutes is needed only before check_result's first run. "
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
            "the module's stale_after_minutes, for hosts whose pulse sets none (default: the one "
            "check_result recorded; before its first run $STALE_AFTER_MINUTES, else "
            f"{DEFAULT_STALE_AFTER_MINUTES:g})"
        ),
    )
    history.add_arguments(parser)
    add_region_and_now_arguments(parser)
    args = parser.parse_args(argv)
    history.check_arguments(parser, args)
    args.stale_after_source = FROM_OPTION
    if args.stale_after_minutes is None:
        raw = settings.raw(settings.STALE_AFTER)
        try:
            args.stale_after_minutes = positive_minutes(raw) if raw else None
        except argparse.ArgumentTypeError as exc:
            parser.error(f"environment variable STALE_AFTER_MINUTES: {exc}")
        args.stale_after_source = FROM_ENVIRONMENT if raw else FROM_DEFAULT
    return args


def positive_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of minutes > 0")
    return value


@dataclass(frozen=True)
class Report:
    """What pulse-status shows: the rows (problems first), the module's threshold in minutes and
    where it came from (``option``, ``state``, ``environment`` or ``default``), and how many
    changed pulses were left unread (over PULSE_READS_PER_RUN: shown as last indexed)."""

    rows: list[HostStatus]
    stale_after_minutes: float
    source: str
    pulses_unread: int = 0


def collect(s3: object, bucket: str, now: datetime, minutes_given: float | None, source: str) -> Report:
    """The status of every watched host, problems first (down, new, paused, up), then by name.

    The module's threshold is ``minutes_given`` when it comes from the option
    (``source``), else the one check_result recorded in its state, else
    ``minutes_given`` (the environment's) or the default. Requests: the three
    listings (one page per 1,000 keys), the state, the pulse index, the
    pauses, the pulses changed since check_result's last run (at most
    PULSE_READS_PER_RUN) and one GET per failing host's failure record.
    """
    store = Store(s3, bucket)
    observations = store.list_observations()
    stored = store.read_state()
    if source != FROM_OPTION and stored.stale_after_minutes is not None:
        minutes_given, source = stored.stale_after_minutes, FROM_STATE
    threshold = minutes_given if minutes_given is not None else DEFAULT_STALE_AFTER_MINUTES
    stale_after = timedelta(minutes=threshold)
    pulses = store.read_profiles(
        observations,
        store.read_pulse_index().value,
        now=now,
        stale_after=stale_after,
        limit=settings.PULSE_READS.default,
        max_bytes=settings.PULSE_MAX_BYTES.default,
    )
    failing = [host for host, observation in sorted(observations.items()) if observation.failing]
    failures = store.read_failures(failing)
    rows = host_statuses(observations, stored.hosts, now, stale_after, failures, pulses.profiles)
    rows.sort(key=lambda row: (STATUS_ORDER.get(row.status, 9), row.host))
    return Report(rows, threshold, source, pulses.unread)


def render_json(report: Report, bucket: str, now: datetime) -> str:
    rows = report.rows
    counts = {status: sum(row.status == status for row in rows) for status in STATUS_ORDER}
    document = {
        "bucket": bucket,
        "now": isoformat(now),
        "stale_after_minutes": minutes(timedelta(minutes=report.stale_after_minutes)),
        "stale_after_source": report.source,
        "counts": counts,
        "hosts": [row.to_dict() for row in rows],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def render_table(report: Report, bucket: str, now: datetime) -> str:
    """A plain-text table: HOST, STATUS, KIND, THRESHOLD, LAST ECHO (age), SINCE (start of the
    outage), REASON (for a job that ran fine: its last report)."""
    rows = report.rows
    if not rows:
        return no_hosts_yet(bucket)
    header = ("HOST", "STATUS", "KIND", "THRESHOLD", "LAST ECHO", "SINCE", "REASON")
    lines = [header]
    for row in rows:
        profile = row.profile
        lines.append(
            (
                one_line(row.host, limit=200),
                status_cell(row),
                (profile.kind if profile is not None else None) or "-",
                "-" if profile is None else f"{minutes(profile.stale_after):g} min",
                "never" if row.age is None else f"{format_duration(row.age.total_seconds())} ago",
                since_cell(row, now),
                reason_cell(row),
            )
        )
    widths = [max(display_width(line[column]) for line in lines) for column in range(len(header) - 1)]
    text = [
        "  ".join(pad(cell, width) for cell, width in zip(line[:-1], widths, strict=True)) + "  " + line[-1]
        for line in lines
    ]
    shown = [s for s in STATUS_ORDER if s != STATUS_PAUSED or any(row.status == s for row in rows)]
    counts = ", ".join(f"{sum(row.status == s for row in rows)} {s}" for s in shown)
    text.append("")
    text.append(
        f"{len(rows)} host{'s' if len(rows) != 1 else ''} in s3://{bucket}: {counts} "
        f"(stale after {report.stale_after_minutes:g} min unless a pulse sets its own, at {isoformat(now)})"
    )
    return "\n".join(text)


def status_cell(row: HostStatus) -> str:
    """``up``, ``up (failing)``, ``down``, ``new``, or ``paused until <time>``."""
    if row.status == STATUS_PAUSED and row.profile is not None and row.profile.pause_until is not None:
        return f"paused until {isoformat(row.profile.pause_until)}"
    return row.status + (" (failing)" if row.status == STATUS_UP and row.failing else "")


def reason_cell(row: HostStatus) -> str:
    """The reason the alert gives; for a job that is not failing, its last report (its message
    by its end, escaped for the terminal)."""
    if row.reason is not None:
        return row.reason.detail
    profile = row.profile
    if profile is None or profile.kind != "job" or profile.job_failed:
        return "-"
    said = tail_line(profile.message or "", JOB_MESSAGE_CHARS)
    return (
        "last run ok" + job_facts(profile.exit_code, profile.duration_seconds) + (f": {said}" if said else "")
    )


def threshold_note(report: Report) -> str | None:
    """One line for stderr when the module's threshold is not the deployment's own record."""
    if report.source in (FROM_OPTION, FROM_STATE):
        return None
    where = "$STALE_AFTER_MINUTES" if report.source == FROM_ENVIRONMENT else "the module's default"
    return (
        f"{PROG}: note: check_result has not recorded the module's stale_after_minutes yet (no run "
        f"since it was deployed or upgraded): using {report.stale_after_minutes:g} min ({where}); "
        "pass --stale-after-minutes if the module sets another"
    )


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
            s3 = s3_client(args.region)
            report = collect(s3, args.bucket, now, args.stale_after_minutes, args.stale_after_source)
            if args.history is not None or args.html is not None:
                history.show(args, s3, report, now, PROG)
            else:
                render = render_json if args.json else render_table
                print(render(report, args.bucket, now))
            notes = [threshold_note(report) if report.rows else None]  # no host: nothing was judged
            if report.pulses_unread:
                notes.append(
                    f"{PROG}: note: {report.pulses_unread} pulses changed since check_result last read them "
                    "and were not read: their kind and threshold are as it last saw them"
                )
            for note in filter(None, notes):
                print(note, file=sys.stderr)

        return run_tool(PROG, PERMISSIONS, args, show)
    except KeyboardInterrupt:
        return 130
