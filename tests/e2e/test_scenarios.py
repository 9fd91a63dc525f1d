"""The job, end to end: pulses uploaded to the emulator, the deployed functions run
from their zips (Lambda played locally), alerts arriving at a webhook on 127.0.0.1.

The deployed instance has ``stale_after_minutes = 15`` and one webhook attempt
per run. Time passes only when a test says so (``Deployment.pass_time``: the
emulator's and the functions' clocks move forward together), so a busy
machine cannot make a host stale between two steps. Each test starts from an
empty bucket (no hosts, no state).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.conftest import STALE_AFTER_MINUTES, WEBHOOK_PATH, Deployment
from tools.httpserver import LocalHttpServer, RecordedRequest
from tools.lambda_service import Invocation

STALE_SECONDS = STALE_AFTER_MINUTES * 60
PAST_STALE = timedelta(minutes=STALE_AFTER_MINUTES + 1)


@pytest.fixture
def fresh(deployment: Deployment, webhook: LocalHttpServer, targets: LocalHttpServer) -> Iterator[Deployment]:
    """An empty bucket, a webhook answering 200 "ok", the SNS queue drained."""
    deployment.clear_bucket()
    deployment.sns_alerts()
    webhook.route(WEBHOOK_PATH, 200, "ok")
    yield deployment
    deployment.clear_bucket()


class Webhook:
    """The alert posts received since it was created."""

    def __init__(self, server: LocalHttpServer) -> None:
        self.server = server
        self.start = len(server.requests_to(WEBHOOK_PATH))

    def posts(self) -> list[RecordedRequest]:
        return [r for r in self.server.requests_to(WEBHOOK_PATH)[self.start :] if r.method == "POST"]

    def texts(self) -> list[str]:
        return [post.json()["text"] for post in self.posts()]


def _upload_ok(deployment: Deployment, host: str, url: str) -> Invocation:
    """Upload ``host``'s pulse (expected body "ok") and check that check_echo ran without error."""
    (invocation,) = deployment.upload_pulse(host, url, "ok")
    assert invocation.ok, invocation.error
    return invocation


def _run_ok(deployment: Deployment) -> dict[str, Any]:
    invocation = deployment.run_schedule()
    assert invocation.ok, invocation.error
    return invocation.result


def _events(alert: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {event["host"]: event for event in alert["events"]}


def test_an_uploaded_pulse_gives_an_echo(fresh: Deployment, targets: LocalHttpServer) -> None:
    url = targets.route("/web-1/health", 200, "ok")
    # A host name with a space, '+', '/' and non-ASCII: the S3 event carries it URL-encoded.
    for host in ("web-1", "rack 7/db+1 ü"):
        invocation = _upload_ok(fresh, host, url)
        echo = fresh.object(f"echo/{host}.json")
        assert echo is not None, f"no echo for {host}: {invocation.logs}"
        assert echo["url"] == url
        assert echo["http_status"] == 200
        assert isinstance(echo["elapsed_ms"], int)
        assert echo["checked_at"].endswith("Z")
        assert fresh.object(f"failure/{host}.json") is None
    assert len(targets.requests_to("/web-1/health")) == 2


def test_a_host_answering_the_wrong_body_gets_no_echo_and_the_alert_says_why(
    fresh: Deployment, targets: LocalHttpServer, webhook: LocalHttpServer
) -> None:
    url = targets.route("/api-2/health", 200, "maintenance")
    received = Webhook(webhook)

    _upload_ok(fresh, "api-2", url)
    assert fresh.object("echo/api-2.json") is None
    failure = fresh.object("failure/api-2.json")
    assert failure is not None
    assert failure["reason"] == "wrong_body"
    assert failure["url"] == url

    # A host that never succeeded is reported once stale_after has passed since it was first seen failing.
    assert _run_ok(fresh)["events_sent"] == 0
    assert received.posts() == []
    fresh.pass_time(PAST_STALE)
    assert _run_ok(fresh)["events_sent"] == 1

    (text,) = received.texts()
    assert "`api-2`" in text
    assert "maintenance" in text  # what came back, quoted
    (post,) = received.posts()
    assert post.json()["channel"] == "#medical-check"
    assert post.json()["username"] == "medic"
    assert post.json()["icon_emoji"] == ":exclamation:"

    (alert,) = fresh.sns_alerts()
    event = _events(alert)["api-2"]
    assert event["event"] == "down"
    assert event["never_succeeded"] is True
    assert event["reason"]["code"] == "wrong_body"


def test_a_stale_host_gives_one_alert_then_silence_then_a_recovery(
    fresh: Deployment, targets: LocalHttpServer, webhook: LocalHttpServer
) -> None:
    url = targets.route("/db-3/health", 200, "ok")
    received = Webhook(webhook)

    _upload_ok(fresh, "db-3", url)
    assert _run_ok(fresh)["events_sent"] == 0  # up: nothing to say

    fresh.pass_time(PAST_STALE)  # the pulses stop
    assert _run_ok(fresh)["events_sent"] == 1
    (down,) = received.texts()
    assert "DOWN" in down
    assert "`db-3`" in down
    (alert,) = fresh.sns_alerts()
    assert _events(alert)["db-3"]["event"] == "down"
    assert _events(alert)["db-3"]["last_ok_at"] is not None

    # Still down: the next run says nothing (renotify_minutes = 0).
    summary = _run_ok(fresh)
    assert summary["events_sent"] == 0
    assert len(received.posts()) == 1
    assert fresh.sns_alerts() == []

    # The host comes back: one recovery message, saying how long it was down.
    _upload_ok(fresh, "db-3", url)
    assert _run_ok(fresh)["events_sent"] == 1
    recovery = received.texts()[1]
    assert "UP" in recovery
    assert "`db-3`" in recovery
    assert "down for" in recovery
    (alert,) = fresh.sns_alerts()
    assert _events(alert)["db-3"]["event"] == "up"
    assert _events(alert)["db-3"]["down_seconds"] >= STALE_SECONDS

    assert _run_ok(fresh)["events_sent"] == 0
    assert len(received.posts()) == 2


def test_an_alert_the_webhook_refused_is_delivered_by_the_next_run_exactly_once(
    fresh: Deployment, targets: LocalHttpServer, webhook: LocalHttpServer
) -> None:
    url = targets.route("/cache-4/health", 200, "ok")
    _upload_ok(fresh, "cache-4", url)
    assert _run_ok(fresh)["events_sent"] == 0
    fresh.pass_time(PAST_STALE)

    webhook.route(WEBHOOK_PATH, responses=[(500, {}, "rollup_error"), (200, {}, "ok")])
    received = Webhook(webhook)

    refused = fresh.run_schedule()
    assert not refused.ok  # the invocation fails: Lambda's Errors metric and retries see it
    assert "500" in (refused.error or "")
    assert len(received.posts()) == 1
    assert fresh.sns_alerts() == []  # nothing published before the webhook accepted

    assert _run_ok(fresh)["events_sent"] == 1
    first, second = received.texts()
    for text in (first, second):  # the same alert, sent again
        assert "DOWN" in text
        assert "`cache-4`" in text
    assert len(fresh.sns_alerts()) == 1

    assert _run_ok(fresh)["events_sent"] == 0
    assert len(received.posts()) == 2


def test_the_test_alert_reaches_the_webhook_and_sns_and_changes_no_state(
    fresh: Deployment, targets: LocalHttpServer, webhook: LocalHttpServer
) -> None:
    """docs/deployment.md's "after apply" check, through the deployed zip: a deployment in use
    (a host, check_result's state) keeps every object as it was."""
    url = targets.route("/web-9/health", 200, "ok")
    _upload_ok(fresh, "web-9", url)
    fresh.pass_time(PAST_STALE)
    assert _run_ok(fresh)["state_saved"] is True  # web-9 down, alerted
    fresh.sns_alerts()
    s3 = fresh.client("s3")
    before = {key: s3.head_object(Bucket=fresh.bucket, Key=key)["ETag"] for key in fresh.keys()}
    assert "state/status.json" in before
    received = Webhook(webhook)

    invocation = fresh.function("check_result").invoke(
        {"pulse_echo": "test_alert"},
        fresh.emulator.client_environment(),
        clock_offset=fresh.emulator.clock_offset,
    )

    assert invocation.result["outcome"] == "test_alert_sent"
    assert invocation.result["delivered"] == ["webhook", "sns"]
    (text,) = received.texts()
    assert text.startswith(
        f":white_check_mark: *TEST* pulse-echo test alert from bucket `{fresh.bucket}` at "
    )
    assert "web-9" not in text
    (document,) = fresh.sns_alerts()
    assert document["schema"] == "pulse-echo.test-alert/1"
    assert document["test"] is True
    assert document["run"]["bucket"] == fresh.bucket
    after = {key: s3.head_object(Bucket=fresh.bucket, Key=key)["ETag"] for key in fresh.keys()}
    assert after == before  # no lease, no state write, no record
