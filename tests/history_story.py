"""A week of a small fleet, made by check_result's own runs: the history that pulse-status
--history and --html show in docs/operations.md, in the browser test and in the CLI's tests.

Moto's S3 clock is pinned (``clock``) so that every object's LastModified is the story's time;
``run(now)`` is one check_result run at ``now`` (its webhook a local HTTP server). The hosts:

- ``web-1``: healthy all week.
- ``db-1``: first seen on Jan 2; its checks time out on Jan 5 (down 03:00-03:45: announced at
  03:20, recovered at 03:50), and again since 09:10 today (announced at 09:30): down now.
- ``mail-1``: a heartbeat, paused by the operator on Jan 7 from 20:00 for 2 hours
  (pulse-pause) while it is silent; back at 21:40, never announced.
- ``web-2``: announces its own reboot in its pulse on Jan 7 (``pause_until`` 23:00 at 22:00),
  back and its pause withdrawn at 22:20.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, timezone

from pulse_echo.times import isoformat
from pulse_echo_cli import pause as pulse_pause

NOW = datetime(2026, 1, 8, 10, 0, tzinfo=timezone.utc)
HOSTS = ("web-1", "web-2", "db-1", "mail-1")
TIMEOUT = {
    "failed_at": None,
    "url": "https://db-1.example.com/health",
    "reason": "timeout",
    "detail": "db-1.example.com:443 sent nothing for 5 s",
    "http_status": None,
    "elapsed_ms": 5003,
    "expected_excerpt": None,
    "received_excerpt": None,
}
PAUSE_ARGV = ["--for", "2h", "mail-1"]


def at(text: str) -> datetime:
    """``"01-05 03:20"``: that time of January 2026, UTC."""
    day, clock = text.split()
    month, date = day.split("-")
    hours, minutes = clock.split(":")
    return datetime(2026, int(month), int(date), int(hours), int(minutes), tzinfo=timezone.utc)


def pulse_of(host: str, **extra: object) -> dict[str, object]:
    if host == "mail-1":
        return dict(extra)  # a heartbeat: no URL
    return {"url": f"https://{host}.example.com/health", "body": "ok", **extra}


def tell(
    s3: object,
    bucket: str,
    clock: Callable[[datetime], None],
    run: Callable[[datetime], object],
) -> str:
    """Play the week (see the module docstring); returns what pulse-pause printed."""

    def put(key: str, body: object, when: datetime) -> None:
        clock(when)
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode(), ContentType="application/json")

    def beat(when: datetime, *hosts: str) -> None:
        for host in hosts:
            put(f"pulse/{host}.json", pulse_of(host), when)
            put(f"echo/{host}.json", {"checked_at": isoformat(when)}, when)

    def fail(host: str, when: datetime) -> None:
        put(f"pulse/{host}.json", pulse_of(host), when)
        put(f"failure/{host}.json", {**TIMEOUT, "failed_at": isoformat(when)}, when)

    def check(when: datetime) -> None:
        clock(when)
        run(when)

    beat(at("01-02 09:00"), *HOSTS)
    check(at("01-02 09:00"))
    beat(at("01-05 03:00"), "db-1")
    fail("db-1", at("01-05 03:10"))
    beat(at("01-05 03:20"), "web-1", "web-2", "mail-1")
    check(at("01-05 03:20"))
    beat(at("01-05 03:45"), "db-1")
    beat(at("01-05 03:50"), "web-1", "web-2", "mail-1")
    check(at("01-05 03:50"))

    beat(at("01-07 19:55"), *HOSTS)
    check(at("01-07 19:55"))
    clock(at("01-07 20:00"))
    said = io.StringIO()
    argv = [*PAUSE_ARGV, "--bucket", bucket, "--now", isoformat(at("01-07 20:00"))]
    pulse_pause.pause(pulse_pause.parse_args(argv), s3, said, io.StringIO())
    beat(at("01-07 20:30"), "web-1", "web-2", "db-1")
    check(at("01-07 20:30"))
    beat(at("01-07 21:40"), *HOSTS)
    check(at("01-07 21:40"))
    beat(at("01-07 22:00"), "web-1", "db-1", "mail-1")
    put("pulse/web-2.json", pulse_of("web-2", pause_until="2026-01-07T23:00:00Z"), at("01-07 22:00"))
    check(at("01-07 22:00"))
    beat(at("01-07 22:20"), *HOSTS)
    check(at("01-07 22:20"))

    beat(at("01-08 09:10"), *HOSTS)
    check(at("01-08 09:10"))
    fail("db-1", at("01-08 09:20"))
    beat(at("01-08 09:30"), "web-1", "web-2", "mail-1")
    check(at("01-08 09:30"))
    fail("db-1", at("01-08 09:58"))
    beat(at("01-08 10:00"), "web-1", "web-2", "mail-1")
    check(NOW)
    return said.getvalue()
