"""Time: timezone-aware UTC everywhere, ISO 8601 in and out, durations in words.

Standard library only.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


def to_utc(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC (None stays None). Raises ValueError for a naive datetime (ambiguous)."""
    if moment is None or moment.tzinfo is timezone.utc:  # S3 listings already give UTC
        return moment
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pulse-echo uses timezone-aware UTC only")
    return moment.astimezone(timezone.utc)


def isoformat(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with a ``Z`` suffix, second precision.

    Raises ValueError for a naive datetime (it would be ambiguous).
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pulse-echo uses timezone-aware UTC only")
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def iso_or_none(moment: datetime | None) -> str | None:
    """isoformat(moment), or None for None (JSON-ready optional times)."""
    return None if moment is None else isoformat(moment)


def iso_exact(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with a ``Z`` suffix that keeps the sub-second part, if any (None for None):
    parse_isoformat(iso_exact(t)) == t."""
    utc = to_utc(moment)
    return None if utc is None else utc.isoformat().replace("+00:00", "Z")


class TimeRangeError(ValueError):
    """An ISO 8601 time with an offset that falls outside the years 1-9999 in UTC."""


def parse_isoformat(text: str) -> datetime:
    """Parse ISO 8601 (``Z`` or an offset) into an aware UTC datetime.

    Raises ValueError when the text is not ISO 8601 or carries no offset, and
    TimeRangeError (a ValueError) when it falls outside the years 1-9999 once
    converted to UTC (``0001-01-01T00:00:00+01:00``).
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise TimeRangeError(f"timestamp {text!r} is out of range in UTC") from None


def parse_optional_isoformat(text: object) -> datetime | None:
    """parse_isoformat for an optional JSON field: None stays None; TypeError when ``text`` is
    not a string, ValueError as parse_isoformat."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError("time is not a string")
    return parse_isoformat(text)


def parse_s3_time(text: str) -> datetime | None:
    """S3's two time formats as an aware UTC datetime: ISO 8601 with an offset
    (``2026-01-01T10:00:00.000Z``, in listing bodies) or an HTTP date (``Thu, 01 Jan 2026
    10:00:00 GMT``, the ``Last-Modified`` header); None for any other text, or one without a
    zone (the caller's general parser decides). A few microseconds each: check_result's S3
    client parses 100,000 listing times per run at 50,000 hosts with it (check_result.handler).
    """
    try:
        if text[:1].isdigit():
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            moment = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return to_utc(moment)


def format_duration(seconds: float) -> str:
    """Render a non-negative duration in seconds as ``1d 2h``, ``3h 4m``, ``5m 6s`` or ``7s``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def elapsed(start: datetime, end: datetime) -> str:
    """format_duration of ``end - start``: ``25m 0s``."""
    return format_duration((end - start).total_seconds())


def iso_with_age(moment: datetime, now: datetime) -> str:
    """``2026-01-01T10:05:00Z (25m 0s)``: the time and how long before ``now`` it was."""
    return f"{isoformat(moment)} ({elapsed(moment, now)})"


def time_left(context: object) -> timedelta | None:
    """The invocation's time left, as a Lambda context reports it (``get_remaining_time_in_millis``);
    None without one (tests, tools)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return timedelta(milliseconds=remaining()) if callable(remaining) else None


def ms_since(started: float) -> int:
    """Milliseconds elapsed since ``started``, a ``time.monotonic()`` reading."""
    return round((time.monotonic() - started) * 1000)
