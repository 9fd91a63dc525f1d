"""Alert messages: pure functions from a run's events to a Slack or JSON payload.

One run sends one message covering all its events (storm control): the
counts of every kind, then the first ``max_listed`` events by name in the
order down, still_down, up; the rest are counted, not named. Each event says
why (the failure reason, or that pulses stopped; a job's own failure with its
message, exit code and duration), when the last successful check was and how
long ago ("never" for a host that never succeeded), and for a recovery how
long the host was down (a recovered job: what it reported). A paused host is
never named as down: the rules give it no such event, and the first line
counts it among the hosts watched.

Formats:

- ``slack``: ``{"text": ...}`` plus ``channel``, ``username`` and
  ``icon_emoji`` only when configured. The text is Slack mrkdwn with ``&``,
  ``<`` and ``>`` escaped as Slack requires (Slack "Formatting text for app
  surfaces", Escaping), so a host name or a received body can neither
  break the layout nor mention ``@channel``. No ``blocks``: a section
  block holds at most 3,000 characters and a message 50 blocks, and a
  message over those limits is refused (``400 invalid_blocks``); a refused
  alert is worse than a plain one. The text stays under Slack's 40,000
  character limit (TEXT_MAX_CHARS).
- ``json``: the documented schema (ALERT_SCHEMA, see render_json), which is
  also what is published to SNS; it stays under SNS's 256 KiB message limit
  (JSON_MAX_BYTES).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pulse_echo.pulse import KIND_JOB
from pulse_echo.reasons import JOB_FAILED, JOB_MESSAGE_CHARS, Reason, job_facts
from pulse_echo.records import EchoRecord
from pulse_echo.text import counted, encode_json, one_line, tail_line
from pulse_echo.times import elapsed, format_duration, iso_or_none, isoformat

from .model import (
    EVENT_DOWN,
    EVENT_KINDS,
    EVENT_STILL_DOWN,
    EVENT_UP,
    STATUS_PAUSED,
    STATUSES,
    Event,
    count_events,
)

ALERT_SCHEMA = "pulse-echo.alert/1"
TEXT_MAX_CHARS = 35_000
"""Slack truncates a message text after 40,000 characters; stay well under."""
JSON_MAX_BYTES = 250_000
"""SNS refuses a message over 256 KiB (262,144 bytes) including attributes."""
HOST_DISPLAY_CHARS = 200
SNS_SUBJECT_MAX_CHARS = 99

_KIND_TITLES = {EVENT_DOWN: "DOWN", EVENT_STILL_DOWN: "STILL DOWN", EVENT_UP: "UP"}
_KIND_EMOJI = {EVENT_DOWN: ":red_circle:", EVENT_STILL_DOWN: ":warning:", EVENT_UP: ":large_green_circle:"}
_KIND_WORDS = {EVENT_DOWN: "down", EVENT_STILL_DOWN: "still down", EVENT_UP: "up"}


@dataclass(frozen=True)
class RunInfo:
    """Run metadata carried by a message: ``run_id``, ``time`` (the run's now, aware UTC),
    ``bucket``, ``hosts`` watched, and ``statuses`` (``{"up": n, "down": n, "new": n,
    "paused": n}``)."""

    run_id: str
    time: datetime
    bucket: str
    hosts: int
    statuses: Mapping[str, int]


@dataclass(frozen=True)
class Alert:
    """One message: all ``events`` of a run (ordered), the ``reasons`` known per host, how
    many to name (``max_listed``), and the echo records of recovered jobs (``recoveries``)."""

    run: RunInfo
    events: tuple[Event, ...]
    reasons: Mapping[str, Reason]
    max_listed: int
    recoveries: Mapping[str, EchoRecord] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """``{"down": n, "still_down": n, "up": n}`` over all events, listed or not."""
        return count_events(self.events)

    @property
    def listed(self) -> tuple[Event, ...]:
        """The events named in the message: the first ``max_listed``."""
        return self.events[: max(self.max_listed, 0)]


def build_alert(
    events: Sequence[Event],
    reasons: Mapping[str, Reason],
    run: RunInfo,
    *,
    max_listed: int,
    recoveries: Mapping[str, EchoRecord] | None = None,
) -> Alert:
    """Bundle a run's events into one Alert (no I/O). Raises ValueError when there are none."""
    if not events:
        raise ValueError("an alert needs at least one event")
    return Alert(run, tuple(events), dict(reasons), max_listed, dict(recoveries or {}))


# --- text pieces shared by both formats ---


def summary_line(alert: Alert) -> str:
    """``2 down, 1 still down, 1 up`` (kinds with no event left out)."""
    return _counts_text(alert.counts())


def last_ok_text(event: Event) -> str:
    """``2026-01-01T10:05:00Z (25m 0s ago)``, or ``never`` for a host that never succeeded."""
    if event.last_ok_at is None:
        return "never"
    return f"{isoformat(event.last_ok_at)} ({elapsed(event.last_ok_at, event.at)} ago)"


def reason_text(reason: Reason | None) -> str:
    """The reason in one line, with the time of the failed check when known."""
    if reason is None:
        return "unknown"
    if reason.failed_at is not None:
        what = "reported" if reason.code == JOB_FAILED else "check"
        return f"{reason.detail} ({what} at {isoformat(reason.failed_at)})"
    return reason.detail


def recovered_job(event: Event, recovery: EchoRecord | None) -> EchoRecord | None:
    """The echo record of a recovered job (its kind says so), else None."""
    if event.kind != EVENT_UP or recovery is None or recovery.kind != KIND_JOB:
        return None
    return recovery


def event_text(event: Event, reason: Reason | None, recovery: EchoRecord | None = None) -> str:
    """One plain-text line for an event (not escaped for any markup); ``recovery`` is the echo
    record of a recovered host, read for jobs."""
    if event.kind == EVENT_UP:
        assert event.last_ok_at is not None
        assert event.duration is not None
        job = recovered_job(event, recovery)
        said = "check OK" if job is None else "the job reported success"
        facts = "" if job is None else job_facts(job.exit_code, job.duration_seconds)
        words = "" if job is None else tail_line(job.message or "", JOB_MESSAGE_CHARS)
        return (
            f"recovered: {said} at {isoformat(event.last_ok_at)}{facts}; down for "
            f"{format_duration(event.duration.total_seconds())} (no successful check from "
            f"{isoformat(event.since)} to {isoformat(event.last_ok_at)})"
            + (f". It said: {words}" if words else "")
        )
    if event.last_ok_at is None:
        first = f"{isoformat(event.since)}, {elapsed(event.since, event.at)} ago"
        head = f"last successful check: never (new host, first seen {first})"
    else:
        head = f"last successful check {last_ok_text(event)}"
    return f"{head}. Why: {reason_text(reason)}"


def display_host(host: str) -> str:
    """A host name for one line of text: control characters escaped, at most 200 characters."""
    return one_line(host, HOST_DISPLAY_CHARS)


# --- Slack ---


def slack_escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack requires (``&amp;``, ``&lt;``, ``&gt;``), nothing else."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_code(text: str) -> str:
    """Inline code for a name: Slack has no escape for a backtick inside a code span, so
    one is shown as ``ˋ`` (U+02CB); the JSON format keeps the exact name."""
    return "`" + slack_escape(text.replace("`", "\u02cb")) + "`"


def render_slack_text(alert: Alert, *, max_chars: int = TEXT_MAX_CHARS) -> str:
    """The Slack mrkdwn text of an alert (escaped), at most ``max_chars`` characters.

    First line: counts, bucket and run time. Then one line per listed event;
    if the text would pass ``max_chars``, the remaining events are counted in
    the last line instead of named.
    """
    run = alert.run
    lines = [
        f"*pulse-echo*: {summary_line(alert)} "
        f"(bucket {_slack_code(run.bucket)}, {isoformat(run.time)}; watching {counted(run.hosts, 'host')}: "
        + watched_text(run.statuses)
        + ")"
    ]
    used = len(lines[0])
    unlisted: list[Event] = list(alert.events[len(alert.listed) :])
    for index, event in enumerate(alert.listed):
        title = f"{_KIND_EMOJI[event.kind]} *{_KIND_TITLES[event.kind]}*"
        said = event_text(event, alert.reasons.get(event.host), alert.recoveries.get(event.host))
        text = slack_escape(said)
        line = f"{title} {_slack_code(display_host(event.host))}: {text}"
        if used + len(line) + 1 > max_chars - 200:
            unlisted = list(alert.listed[index:]) + unlisted
            break
        lines.append(line)
        used += len(line) + 1
    if unlisted:
        lines.append(f"…and {_more_text(unlisted)} not listed: see `pulse-status` for every host.")
    return "\n".join(lines)


def watched_text(statuses: Mapping[str, int]) -> str:
    """``10 up, 1 down, 0 new, 1 paused``: every status, ``paused`` only when a host is."""
    shown = [s for s in STATUSES if s != STATUS_PAUSED or statuses.get(s, 0)]
    return ", ".join(f"{statuses.get(s, 0)} {s}" for s in shown)


def render_slack(
    alert: Alert,
    *,
    channel: str | None = None,
    username: str | None = None,
    icon_emoji: str | None = None,
) -> dict[str, object]:
    """The Slack incoming-webhook payload of an alert (see slack_payload)."""
    return slack_payload(render_slack_text(alert), channel=channel, username=username, icon_emoji=icon_emoji)


def slack_payload(
    text: str,
    *,
    channel: str | None = None,
    username: str | None = None,
    icon_emoji: str | None = None,
) -> dict[str, object]:
    """A Slack incoming-webhook payload: ``text`` (mrkdwn, already escaped), plus ``channel``,
    ``username`` and ``icon_emoji`` only when given (a webhook posts to its own channel by
    default)."""
    payload: dict[str, object] = {"text": text}
    if channel:
        payload["channel"] = channel
    if username:
        payload["username"] = username
    if icon_emoji:
        payload["icon_emoji"] = icon_emoji
    return payload


# --- JSON ---


def event_dict(event: Event, reason: Reason | None, recovery: EchoRecord | None = None) -> dict[str, object]:
    """One event of the JSON format (see render_json)."""
    down_for = event.duration
    job = recovered_job(event, recovery)
    return {
        "event": event.kind,
        "host": event.host,
        "kind": event.host_kind,
        "since": isoformat(event.since),
        "last_ok_at": None if event.last_ok_at is None else isoformat(event.last_ok_at),
        "last_ok_ago_seconds": (
            None
            if event.last_ok_at is None or event.kind == EVENT_UP
            else int((event.at - event.last_ok_at).total_seconds())
        ),
        "never_succeeded": event.last_ok_at is None,
        "down_seconds": None if down_for is None else int(down_for.total_seconds()),
        "down_for": None if down_for is None else format_duration(down_for.total_seconds()),
        "reason": None if event.kind == EVENT_UP or reason is None else reason.to_dict(),
        "job": None
        if job is None
        else {
            "checked_at": iso_or_none(job.checked_at),
            "message": job.message,
            "exit_code": job.exit_code,
            "duration_seconds": job.duration_seconds,
        },
        "text": event_text(event, reason, recovery),
    }


def render_json(alert: Alert, *, max_bytes: int = JSON_MAX_BYTES) -> dict[str, object]:
    """The structured payload (schema ``pulse-echo.alert/1``), at most ``max_bytes`` encoded.

    ::

        {"schema": "pulse-echo.alert/1",
         "summary": "2 down, 1 up",
         "run": {"id", "time", "bucket", "hosts", "statuses": {"up", "down", "new", "paused"},
                 "counts": {"down", "still_down", "up"}, "listed", "truncated"},
         "events": [{"event": "down" | "still_down" | "up", "host",
                     "kind": "probe" | "heartbeat" | "job" | "invalid" | null, "since",
                     "last_ok_at" (null: never), "last_ok_ago_seconds",
                     "never_succeeded", "down_seconds", "down_for",
                     "reason": {"code", "detail", "failed_at", "http_status",
                                "expected_excerpt", "received_excerpt",
                                "exit_code", "duration_seconds"} | null,
                     "job": {"checked_at", "message", "exit_code", "duration_seconds"} | null,
                     "text"}]}

    ``since`` is when the outage began (the last successful check before it,
    or when a never-successful host was first seen); for ``up``,
    ``last_ok_at`` is the check that succeeded again and ``down_seconds``
    the downtime; for ``down``/``still_down``, ``down_seconds`` is the time
    since ``since``. ``job`` is what a recovered job reported (its echo record),
    null otherwise; a failed job's exit code and duration are in its
    ``reason``. ``truncated`` counts the events not in ``events``. Fields are
    only ever added to schema ``pulse-echo.alert/1``.
    """
    run = alert.run
    items = [
        event_dict(event, alert.reasons.get(event.host), alert.recoveries.get(event.host))
        for event in alert.listed
    ]

    def document(listed: list[dict[str, object]]) -> dict[str, object]:
        return {
            "schema": ALERT_SCHEMA,
            "summary": f"pulse-echo: {summary_line(alert)}",
            "run": {
                "id": run.run_id,
                "time": isoformat(run.time),
                "bucket": run.bucket,
                "hosts": run.hosts,
                "statuses": {s: run.statuses.get(s, 0) for s in STATUSES},
                "counts": alert.counts(),
                "listed": len(listed),
                "truncated": len(alert.events) - len(listed),
            },
            "events": listed,
        }

    sizes = [len(encode(item)) + 1 for item in items]
    budget = max_bytes - len(encode(document([]))) - 32
    keep = 0
    for size in sizes:
        if budget - size < 0:
            break
        budget -= size
        keep += 1
    return document(items[:keep])


def encode(payload: Mapping[str, object]) -> bytes:
    """UTF-8 JSON bytes of a payload, as sent."""
    return encode_json(payload)


def sns_subject(alert: Alert) -> str:
    """An SNS ``Subject``: ASCII, one line, fewer than 100 characters (SNS Publish's rules)."""
    subject = f"pulse-echo {alert.run.bucket}: {summary_line(alert)}"
    subject = subject.encode("ascii", "replace").decode("ascii")
    return subject[:SNS_SUBJECT_MAX_CHARS]


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{counts[kind]} {_KIND_WORDS[kind]}" for kind in EVENT_KINDS if counts[kind])


def _more_text(events: Sequence[Event]) -> str:
    return f"{len(events)} more ({_counts_text(count_events(events))})"
