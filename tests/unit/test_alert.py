"""Alert messages: pure rendering of a run's events (Slack and JSON), storm control,
escaping, and the examples of docs/alerts.md (which are this code's real output).

``python tests/unit/test_alert.py`` prints that page's examples block.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

if __name__ == "__main__":  # run as a script: make the package importable
    sys.path[:0] = [str(Path(__file__).resolve().parents[2] / "lambda_src")]

from check_result.alert import (
    ALERT_SCHEMA,
    TEXT_MAX_CHARS,
    RunInfo,
    build_alert,
    encode,
    render_json,
    render_slack,
    render_slack_text,
    slack_escape,
    sns_subject,
)
from check_result.model import Observation, Profile
from check_result.rules import evaluate, explain
from check_result.state import HostState
from pulse_echo.records import FailureRecord

ALERTS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"
T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
STALE = 15 * MIN


def make_alert(
    observations,
    state=None,
    failures=None,
    *,
    now,
    renotify=None,
    max_listed=20,
    bucket="acme-pulse",
    profiles=None,
    recoveries=None,
):
    """Evaluate, derive reasons (as check_result does), and build the alert."""
    evaluation = evaluate(observations, state or {}, now, STALE, renotify, profiles)
    reasons = explain(evaluation.statuses, failures or {}, now)
    run = RunInfo(
        run_id="4b9e7c1a-0d3f-4e8b-9a51-2f6d8c0b7e13",
        time=now,
        bucket=bucket,
        hosts=len(evaluation.statuses),
        statuses=evaluation.counts(),
    )
    return build_alert(evaluation.events, reasons, run, max_listed=max_listed, recoveries=recoveries)


def example_alert():
    """The fixed scenario shown in docs/alerts.md: at 10:30, three hosts down (one of them new,
    one a job that reported its failure), one still down (renotify), one recovered, and one
    paused (not named, counted)."""
    now = T0 + 30 * MIN
    observations = {
        "web-1.example.com": Observation(
            "web-1.example.com", last_ok_at=T0 + 5 * MIN, last_failed_at=T0 + 25 * MIN, pulse_at=T0 + 25 * MIN
        ),
        "batch-7": Observation(
            "batch-7", last_ok_at=None, last_failed_at=T0 + 10 * MIN, pulse_at=T0 + 10 * MIN
        ),
        "db-2": Observation("db-2", last_ok_at=T0 - 125 * MIN, pulse_at=T0 - 126 * MIN),
        "api-3": Observation("api-3", last_ok_at=T0 + 28 * MIN, pulse_at=T0 + 28 * MIN),
        "cache-4": Observation("cache-4", last_ok_at=T0 + 29 * MIN, pulse_at=T0 + 29 * MIN),
        "backup": Observation(
            "backup",
            last_ok_at=T0 - 24 * 60 * MIN + 13 * MIN,
            last_failed_at=BACKUP_FAILED,
            pulse_at=BACKUP_FAILED,
        ),
        "mail-5": Observation("mail-5", last_ok_at=T0 - 10 * MIN, pulse_at=T0 - 10 * MIN),
    }
    state = {
        "batch-7": HostState("new", since=T0 - 5 * MIN),
        "db-2": HostState("down", since=T0 - 125 * MIN, last_ok_at=T0 - 125 * MIN, notified_at=T0 - 30 * MIN),
        "api-3": HostState("down", since=T0 - 12 * MIN, last_ok_at=T0 - 12 * MIN, notified_at=T0 + 5 * MIN),
    }
    failures = {
        "web-1.example.com": FailureRecord(
            reason="http_status",
            detail="HTTP 503 from https://web-1.example.com/health",
            failed_at=T0 + 25 * MIN + 2 * timedelta(seconds=1),
            http_status=503,
        ),
        "batch-7": FailureRecord(
            reason="wrong_body",
            detail="HTTP 200 but the body differs from the expected one at byte 0",
            failed_at=T0 + 10 * MIN + timedelta(seconds=1),
            http_status=200,
            expected_excerpt="ok",
            received_excerpt="<html><title>Maintenance & upgrades</title>…",
        ),
        "backup": FailureRecord(
            reason="job_failed",
            detail=BACKUP_OUTPUT,
            failed_at=BACKUP_FAILED,
            kind="job",
            message=BACKUP_OUTPUT,
            exit_code=11,
            duration_seconds=754.2,
        ),
    }
    profiles = {
        "backup": Profile(stale_after=1500 * MIN, kind="job", job_failed=True),
        "mail-5": Profile(stale_after=STALE, kind="heartbeat", pause_until=T0 + 90 * MIN),
    }
    return make_alert(observations, state, failures, now=now, renotify=60 * MIN, profiles=profiles)


BACKUP_FAILED = T0 + 20 * MIN + 5 * timedelta(seconds=1)
BACKUP_OUTPUT = (
    'rsync: write failed on "/backup/db.tar": No space left on device (28)\n'
    "rsync error: error in file IO (code 11) at receiver.c(374) [receiver=3.2.7]\n"
)


def documented_examples() -> str:
    """The examples block of docs/alerts.md, rendered by the real code."""
    alert = example_alert()
    slack = render_slack(alert, channel="#medical-check", username="medic", icon_emoji=":exclamation:")
    structured = render_json(alert)
    return (
        'Slack format (`alert_webhook_format = "slack"`, with channel, user name and icon configured):\n\n'
        "```json\n" + json.dumps(slack, indent=2, ensure_ascii=False) + "\n```\n\n"
        "The same `text`, line by line (Slack shows `*DOWN*` in bold and `&lt;` as `<`):\n\n"
        "```text\n" + slack["text"] + "\n```\n\n"
        'JSON format (`alert_webhook_format = "json"`, also the SNS message):\n\n'
        "```json\n" + json.dumps(structured, indent=2, ensure_ascii=False) + "\n```\n"
    )


# --- what an alert says ---


def test_text_names_each_host_its_last_success_how_long_ago_and_why() -> None:
    text = render_slack_text(example_alert())
    lines = text.splitlines()
    assert lines[0] == (
        "*pulse-echo*: 3 down, 1 still down, 1 up (bucket `acme-pulse`, 2026-01-01T10:30:00Z; "
        "watching 7 hosts: 2 up, 4 down, 0 new, 1 paused)"
    )
    web = next(line for line in lines if "`web-1.example.com`" in line)
    assert "*DOWN*" in web
    assert "last successful check 2026-01-01T10:05:00Z (25m 0s ago)" in web
    assert "Why: HTTP 503 from https://web-1.example.com/health (check at 2026-01-01T10:25:02Z)" in web
    batch = next(line for line in lines if "`batch-7`" in line)
    assert "last successful check: never (new host, first seen 2026-01-01T09:55:00Z, 35m 0s ago)" in batch
    assert (
        'wrong body (HTTP 200): expected "ok", received "&lt;html&gt;&lt;title&gt;Maintenance &amp; upgrades'
        in batch
    )
    backup = next(line for line in lines if "`backup`" in line)
    assert "*DOWN*" in backup  # a job's own failure: at once, though its threshold is 25 hours
    assert "Why: the job reported a failure (exit code 11, ran 12m 34s): rsync: write failed" in backup
    assert backup.endswith("[receiver=3.2.7] (reported at 2026-01-01T10:20:05Z)")
    db = next(line for line in lines if "`db-2`" in line)
    assert "*STILL DOWN*" in db
    assert "last successful check 2026-01-01T07:55:00Z (2h 35m ago)" in db
    assert "Why: no pulse since 2026-01-01T07:54:00Z (2h 36m ago): the host stopped sending pulses" in db
    api = next(line for line in lines if "`api-3`" in line)
    assert "*UP*" in api
    assert "down for 40m 0s" in api
    assert "cache-4" not in text  # plainly up: not mentioned
    assert "mail-5" not in text  # down, but paused: counted, never named


def test_a_fleet_of_one_is_watching_1_host() -> None:
    now = datetime(2026, 1, 1, 10, 30, tzinfo=timezone.utc)
    hour = timedelta(hours=1)
    alert = make_alert({"solo": Observation("solo", last_ok_at=now - hour, pulse_at=now - hour)}, now=now)
    first = render_slack_text(alert).splitlines()[0]
    assert "watching 1 host: 0 up, 1 down, 0 new)" in first, first


def test_order_is_down_still_down_up() -> None:
    kinds = [event.kind for event in example_alert().listed]
    assert kinds == ["down", "down", "down", "still_down", "up"]


def test_reason_when_no_failure_record_is_newer_than_the_echo() -> None:
    now = T0 + 20 * MIN
    observations = {"h": Observation("h", last_ok_at=T0, last_failed_at=T0 - MIN, pulse_at=now - MIN)}
    text = render_slack_text(make_alert(observations, now=now))
    assert "no check result was recorded" in text


# --- Slack specifics ---


def test_slack_escapes_ampersand_and_angle_brackets_only() -> None:
    assert slack_escape("a & b <!channel> > c 'q' \"d\"") == "a &amp; b &lt;!channel&gt; &gt; c 'q' \"d\""


def test_hostile_host_names_and_bodies_cannot_mention_or_break_lines() -> None:
    now = T0 + 20 * MIN
    host = "evil <!channel> & `tick`\nnext"
    observations = {host: Observation(host, last_ok_at=T0, last_failed_at=T0 + MIN, pulse_at=T0 + MIN)}
    failures = {
        host: FailureRecord(
            reason="wrong_body", expected_excerpt="ok", received_excerpt="<!here> <@U123> <https://x|y>"
        )
    }
    text = render_slack_text(make_alert(observations, failures=failures, now=now))
    assert "<" not in text
    assert ">" not in text.replace("&gt;", "")
    assert "&lt;!channel&gt; &amp; ˋtickˋ\\nnext" in text
    assert len(text.splitlines()) == 2


def test_slack_channel_username_and_icon_only_when_configured() -> None:
    alert = example_alert()
    assert set(render_slack(alert)) == {"text"}
    full = render_slack(alert, channel="#medical-check", username="medic", icon_emoji=":exclamation:")
    assert full["channel"] == "#medical-check"
    assert full["username"] == "medic"
    assert full["icon_emoji"] == ":exclamation:"
    assert set(render_slack(alert, username="medic")) == {"text", "username"}


# --- storm control ---


def storm(count: int, *, max_listed: int = 20, bucket: str = "acme-pulse"):
    now = T0 + 20 * MIN
    observations = {
        f"host-{i:03d}": Observation(f"host-{i:03d}", last_ok_at=T0, pulse_at=T0) for i in range(count)
    }
    return make_alert(observations, now=now, max_listed=max_listed, bucket=bucket)


def test_storm_of_500_is_one_message_with_counts_and_the_first_names() -> None:
    alert = storm(500)
    text = render_slack_text(alert)
    assert text.splitlines()[0].startswith("*pulse-echo*: 500 down ")
    named = re.findall(r"`(host-\d{3})`", text)
    assert named == [f"host-{i:03d}" for i in range(20)]
    assert text.splitlines()[-1] == "…and 480 more (480 down) not listed: see `pulse-status` for every host."
    document = render_json(alert)
    assert document["run"]["counts"] == {"down": 500, "still_down": 0, "up": 0}
    assert (document["run"]["listed"], document["run"]["truncated"]) == (20, 480)
    assert [event["host"] for event in document["events"]] == named


def test_zero_hosts_listed_gives_counts_only() -> None:
    alert = storm(3, max_listed=0)
    assert "host-" not in render_slack_text(alert)
    assert render_json(alert)["events"] == []


def test_slack_text_stays_under_slacks_limit_whatever_the_cap() -> None:
    now = T0 + 20 * MIN
    observations = {
        f"{'h' * 900}-{i:04d}": Observation(f"{'h' * 900}-{i:04d}", last_ok_at=T0, pulse_at=T0)
        for i in range(300)
    }
    alert = make_alert(observations, now=now, max_listed=1000)
    text = render_slack_text(alert)
    assert len(text) <= TEXT_MAX_CHARS
    assert "more (" in text.splitlines()[-1]


def test_json_stays_under_the_sns_limit() -> None:
    now = T0 + 20 * MIN
    observations = {
        f"{'h' * 1000}-{i:04d}": Observation(f"{'h' * 1000}-{i:04d}", last_ok_at=T0, pulse_at=T0)
        for i in range(400)
    }
    alert = make_alert(observations, now=now, max_listed=400)
    document = render_json(alert)
    assert len(encode(document)) <= 250_000
    assert document["run"]["listed"] + document["run"]["truncated"] == 400
    assert document["run"]["truncated"] > 0


# --- JSON format ---


def test_json_schema() -> None:
    document = json.loads(encode(render_json(example_alert())))
    assert document["schema"] == ALERT_SCHEMA
    assert document["summary"] == "pulse-echo: 3 down, 1 still down, 1 up"
    assert document["run"] == {
        "id": "4b9e7c1a-0d3f-4e8b-9a51-2f6d8c0b7e13",
        "time": "2026-01-01T10:30:00Z",
        "bucket": "acme-pulse",
        "hosts": 7,
        "statuses": {"up": 2, "down": 4, "new": 0, "paused": 1},
        "counts": {"down": 3, "still_down": 1, "up": 1},
        "listed": 5,
        "truncated": 0,
    }
    events = {event["host"]: event for event in document["events"]}
    assert events["web-1.example.com"]["event"] == "down"
    assert events["web-1.example.com"]["last_ok_at"] == "2026-01-01T10:05:00Z"
    assert events["web-1.example.com"]["last_ok_ago_seconds"] == 1500
    assert events["web-1.example.com"]["reason"]["code"] == "http_status"
    assert events["web-1.example.com"]["reason"]["http_status"] == 503
    assert events["batch-7"]["last_ok_at"] is None
    assert events["batch-7"]["never_succeeded"] is True
    assert events["batch-7"]["since"] == "2026-01-01T09:55:00Z"
    assert events["batch-7"]["reason"]["received_excerpt"] == "<html><title>Maintenance & upgrades</title>…"
    assert events["db-2"]["event"] == "still_down"
    assert events["api-3"]["event"] == "up"
    assert events["api-3"]["down_seconds"] == 2400
    assert events["api-3"]["down_for"] == "40m 0s"
    assert events["api-3"]["reason"] is None
    assert (events["backup"]["kind"], events["backup"]["reason"]["code"]) == ("job", "job_failed")
    assert (events["backup"]["reason"]["exit_code"], events["backup"]["reason"]["duration_seconds"]) == (
        11,
        754.2,
    )
    assert "mail-5" not in events


def test_sns_subject_is_short_ascii_one_line() -> None:
    subject = sns_subject(storm(3, bucket="b" * 63))
    assert len(subject) < 100
    assert subject.isascii()
    assert "\n" not in subject
    assert sns_subject(example_alert()) == "pulse-echo acme-pulse: 3 down, 1 still down, 1 up"


def test_an_alert_needs_events() -> None:
    with pytest.raises(ValueError, match="at least one event"):
        build_alert([], {}, RunInfo("r", T0, "b", 0, {}), max_listed=20)


# --- docs/alerts.md shows the real output ---


def test_documented_examples_are_the_real_output() -> None:
    page = ALERTS_PAGE.read_text(encoding="utf-8")
    assert documented_examples() in page, "docs/alerts.md examples are stale: python tests/unit/test_alert.py"


if __name__ == "__main__":
    print(documented_examples(), end="")
