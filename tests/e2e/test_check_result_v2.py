"""check_result and the operator tools with pulse v2, end to end through the deployed zips: each
host's own threshold, pauses (the pulse's ``pause_until`` and the operator's ``pulse-pause``),
and ``pulse-status`` on the deployment (check_echo's side of pulse v2: test_pulse_v2.py).

As in test_scenarios.py: the module applied by real Terraform to the emulator, check_echo run
on each upload and check_result on the schedule from their zips (Lambda played locally), time
moved by ``Deployment.pass_time`` only, each test on an empty bucket. The operator's tools run
as a user runs them (scripts/, the emulator as AWS), at the emulator's time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pulse_echo.times import format_duration

from tests.e2e.conftest import STALE_AFTER_MINUTES, WEBHOOK_PATH, Deployment
from tools.httpserver import LocalHttpServer
from tools.lambda_service import Invocation

PAST_STALE = timedelta(minutes=STALE_AFTER_MINUTES + 1)


@pytest.fixture
def fresh(deployment: Deployment, webhook: LocalHttpServer) -> Iterator[Deployment]:
    """An empty bucket (no hosts, no state, no pauses), a webhook answering 200 "ok"."""
    deployment.clear_bucket()
    deployment.sns_alerts()
    webhook.route(WEBHOOK_PATH, 200, "ok")
    yield deployment
    deployment.clear_bucket()


def sent(invocations: list[Invocation]) -> None:
    (invocation,) = invocations
    assert invocation.ok, invocation.error


def run(deployment: Deployment) -> dict[str, Any]:
    invocation = deployment.run_schedule()
    assert invocation.ok, invocation.error
    return invocation.result


def texts(webhook: LocalHttpServer, start: int) -> list[str]:
    return [r.json()["text"] for r in webhook.requests_to(WEBHOOK_PATH)[start:] if r.method == "POST"]


def status_rows(deployment: Deployment) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    result = deployment.tool("pulse-status", "--json")
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    document = json.loads(result.stdout)
    return document, {row["host"]: row for row in document["hosts"]}


def test_each_host_is_judged_by_the_threshold_its_pulse_sets(
    fresh: Deployment, targets: LocalHttpServer, webhook: LocalHttpServer
) -> None:
    url = targets.route("/v2/health", 200, "ok")
    start = len(webhook.requests_to(WEBHOOK_PATH))
    sent(fresh.upload_document("hourly", {"url": url, "body": "ok", "stale_after_minutes": 60}))
    sent(fresh.upload_document("web-5", {"url": url, "body": "ok"}))
    first = run(fresh)
    assert (first["events_sent"], first["pulses_read"]) == (0, 2)

    fresh.pass_time(PAST_STALE)
    summary = run(fresh)
    assert (summary["events"]["down"], summary["pulses_read"]) == (1, 0)  # unchanged pulses: not read again
    (text,) = texts(webhook, start)
    assert "`web-5`" in text
    assert "hourly" not in text

    document, rows = status_rows(fresh)
    assert (document["stale_after_minutes"], document["stale_after_source"]) == (STALE_AFTER_MINUTES, "state")
    assert (rows["hourly"]["status"], rows["hourly"]["kind"], rows["hourly"]["stale_after_minutes"]) == (
        "up",
        "probe",
        60,
    )
    assert (rows["web-5"]["status"], rows["web-5"]["stale_after_minutes"]) == ("down", 15)

    fresh.pass_time(timedelta(minutes=45))
    assert run(fresh)["events"]["down"] == 1
    assert "`hourly`" in texts(webhook, start)[1]


def test_a_pause_announced_in_the_pulse_holds_back_the_alert_until_it_ends(
    fresh: Deployment, targets: LocalHttpServer, webhook: LocalHttpServer
) -> None:
    url = targets.route("/v2/health", 200, "ok")
    start = len(webhook.requests_to(WEBHOOK_PATH))
    until = (fresh.emulator.now() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sent(fresh.upload_document("db-7", {"url": url, "body": "ok", "pause_until": until}))  # then a reboot
    assert run(fresh)["events_sent"] == 0

    fresh.pass_time(PAST_STALE)
    summary = run(fresh)
    assert (summary["events_sent"], summary["suppressed"], summary["statuses"]["paused"]) == (0, 1, 1)
    _, rows = status_rows(fresh)
    assert (rows["db-7"]["status"], rows["db-7"]["paused_until"]) == ("paused", until)
    assert rows["db-7"]["reason"]["code"] == "pulse_stopped"  # what it would be alerted for

    fresh.pass_time(timedelta(minutes=15))  # the pause has ended; the host did not come back
    assert run(fresh)["events"]["down"] == 1
    (text,) = texts(webhook, start)
    assert "`db-7`" in text
    assert run(fresh)["events_sent"] == 0  # announced once


def test_an_operator_pause_holds_back_the_alert_and_resume_ends_it(
    fresh: Deployment, targets: LocalHttpServer, webhook: LocalHttpServer
) -> None:
    url = targets.route("/v2/health", 200, "ok")
    start = len(webhook.requests_to(WEBHOOK_PATH))
    sent(fresh.upload_document("mail-8", {"url": url, "body": "ok"}))
    assert run(fresh)["events_sent"] == 0

    paused = fresh.tool("pulse-pause", "--for", "1h", "mail-8")
    assert (paused.returncode, paused.stderr) == (0, ""), paused.stderr
    assert paused.stdout.startswith("Paused mail-8 until ")
    unknown = fresh.tool("pulse-pause", "--for", "1h", "mail-9")
    assert unknown.returncode == 1
    assert "did you mean 'mail-8'" in unknown.stderr

    fresh.pass_time(PAST_STALE)
    assert run(fresh)["suppressed"] == 1
    table = fresh.tool("pulse-status")
    assert table.returncode == 0, table.stderr
    (line,) = [line for line in table.stdout.splitlines() if line.startswith("mail-8")]
    assert "paused until " in line
    assert texts(webhook, start) == []

    resumed = fresh.tool("pulse-pause", "--resume", "mail-8")
    assert (resumed.returncode, resumed.stderr) == (0, ""), resumed.stderr
    assert run(fresh)["events"]["down"] == 1
    (text,) = texts(webhook, start)
    assert "`mail-8`" in text


NIGHTLY = {"result": "ok", "exit_code": 0, "duration_seconds": 61, "stale_after_minutes": 1500}


def test_a_job_failure_is_alerted_at_the_next_run_and_its_recovery_says_what_it_reported(
    fresh: Deployment, webhook: LocalHttpServer
) -> None:
    start = len(webhook.requests_to(WEBHOOK_PATH))
    sent(fresh.upload_document("backup", {**NIGHTLY, "message": "backup done: 12 GB"}))
    assert run(fresh)["events_sent"] == 0

    fresh.pass_time(timedelta(hours=24))  # the next night: the job fails
    failed = {**NIGHTLY, "result": "fail", "exit_code": 2, "duration_seconds": 754, "message": "disk full\n"}
    sent(fresh.upload_document("backup", failed))
    assert fresh.object("failure/backup.json")["reason"] == "job_failed"
    summary = run(fresh)
    assert (summary["events"]["down"], summary["pulses_read"]) == (1, 1)  # at once: its threshold is 25 h
    (down,) = texts(webhook, start)
    assert "*DOWN* `backup`" in down
    assert "Why: the job reported a failure (exit code 2, ran 12m 34s): disk full" in down
    (alert,) = fresh.sns_alerts()
    (event,) = alert["events"]
    assert (event["kind"], event["reason"]["code"], event["reason"]["exit_code"]) == ("job", "job_failed", 2)
    _, rows = status_rows(fresh)
    assert (rows["backup"]["status"], rows["backup"]["job"]["result"]) == ("down", "fail")
    assert run(fresh)["events_sent"] == 0  # announced once

    fresh.pass_time(timedelta(hours=24))  # it runs fine again
    sent(fresh.upload_document("backup", {**NIGHTLY, "message": "backup done: 12 GB"}))
    assert run(fresh)["events"]["up"] == 1
    up = texts(webhook, start)[1]
    assert "*UP* `backup`: recovered: the job reported success at " in up
    assert "(exit code 0, ran 1m 1s); down for " in up
    assert up.endswith("It said: backup done: 12 GB")
    (alert,) = fresh.sns_alerts()
    assert alert["events"][0]["job"]["message"] == "backup done: 12 GB"


def test_a_down_up_cycle_is_in_the_history_with_its_duration_and_uptime(
    fresh: Deployment, targets: LocalHttpServer, tmp_path: Path
) -> None:
    """Through the deployed zips: check_result records the first sight, the down and the up (one
    history object each), and pulse-status --history, run as a user runs it, gives the outage (from
    the last success to the next, as S3 dated the echoes) and the uptime over the time watched."""
    url = targets.route("/history/health", 200, "ok")

    def modified(key: str) -> datetime:
        head = fresh.client("s3").head_object(Bucket=fresh.bucket, Key=key)
        return head["LastModified"].astimezone(timezone.utc)

    sent(fresh.upload_pulse("db-9", url, "ok"))
    pulsed, first = modified("pulse/db-9.json"), modified("echo/db-9.json")
    assert run(fresh)["history_written"] == 1  # first seen
    fresh.pass_time(PAST_STALE)
    down = run(fresh)
    assert (down["events"]["down"], down["history_written"]) == (1, 1)
    assert run(fresh)["history_written"] == 0  # announced once, recorded once
    fresh.pass_time(timedelta(minutes=14))
    sent(fresh.upload_pulse("db-9", url, "ok"))  # back about 30 minutes after its last success
    back = modified("echo/db-9.json")
    summary = run(fresh)
    assert (summary["events"]["up"], summary["history_written"]) == (1, 1)
    assert len(fresh.keys("history/")) == 3
    fresh.pass_time(timedelta(minutes=10))  # up since (its threshold is 15 minutes)

    result = fresh.tool("pulse-status", "--history", "db-9", "--json")
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    document = json.loads(result.stdout)
    up, down_event, seen = document["events"]
    assert (up["event"], down_event["event"], seen["event"]) == ("up", "down", "first_seen")
    outage = (back - first).total_seconds()
    assert outage >= 30 * 60  # the clock moved 30 minutes (and the machine's own time)
    assert (up["since"], up["last_ok_at"], up["duration_seconds"]) == (iso(first), iso(back), outage)
    assert down_event["since"] == iso(first)  # the outage began at the last success
    assert seen["since"] == iso(pulsed)  # first seen: its first pulse
    (host,) = document["hosts"]
    day = host["uptime"][0]
    watched = (datetime.fromisoformat(document["now"]) - pulsed).total_seconds()
    assert (host["status"], host["down_now"], host["watched_from"]) == ("up", False, iso(pulsed))
    assert (day["watched_seconds"], day["down_seconds"], day["outages"]) == (watched, outage, 1)
    assert day["uptime"] == pytest.approx(1 - outage / watched, abs=1e-6)

    table = fresh.tool("pulse-status", "--history")
    assert table.returncode == 0, table.stderr
    (row,) = [line for line in table.stdout.splitlines() if line.startswith("db-9  ")][-1:]
    cells = re.split(r"  +", row)
    assert cells[1] == "up"
    assert cells[2] == cells[3] == cells[4] != "100%"  # watched for less than a day: the same
    assert cells[5] == f"{format_duration(outage)} (1 outage)"

    page = tmp_path / "status.html"
    written = fresh.tool("pulse-status", "--html", str(page))
    assert written.returncode == 0, written.stderr
    assert "db-9" in page.read_text(encoding="utf-8")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
