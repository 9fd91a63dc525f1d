"""The test alert (check_result.verify): check_result invoked with ``{"pulse_echo": "test_alert"}``
sends a message marked TEST to every configured channel and changes nothing in the bucket.

Through the handler, as ``aws lambda invoke`` calls it: moto (S3, SNS, SQS) in process and
a real HTTP server on 127.0.0.1 as the webhook. The example of docs/deployment.md is
checked against the function that renders it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from check_result import handler as check_result
from check_result import verify

from tests.conftest import TEST_BUCKET
from tests.helpers import HOOK, ROOT, check_result_env, posts, run_at
from tests.unit.test_check_result_run import seed_host, sns_published, sns_topic_with_queue

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
CONTEXT = SimpleNamespace(aws_request_id="req-test-alert", get_remaining_time_in_millis=lambda: 60_000)
DEPLOYMENT_PAGE = ROOT / "docs" / "deployment.md"


@pytest.fixture
def env(monkeypatch, s3, http_server):
    """check_result's environment (tests.helpers.check_result_env); yields the monkeypatch."""
    with check_result_env(monkeypatch, http_server):
        yield monkeypatch


def bucket_objects(s3) -> dict[str, tuple[str, datetime]]:
    """Every object of the bucket: key -> (ETag, LastModified)."""
    listing = s3.list_objects_v2(Bucket=TEST_BUCKET).get("Contents", [])
    return {item["Key"]: (item["ETag"], item["LastModified"]) for item in listing}


def test_the_test_alert_reaches_the_webhook_and_sns_and_changes_nothing(
    env, s3, s3_seed, http_server
) -> None:
    sns, topic, sqs, queue_url = sns_topic_with_queue()
    env.setenv("ALERT_SNS_TOPIC_ARN", topic)
    env.setenv("SLACK_CHANNEL", "#medical-check")
    env.setenv("SLACK_USERNAME", "medic")
    env.setenv("SLACK_ICON_EMOJI", ":exclamation:")
    # A deployment in use: one host down, its alert sent, the state saved.
    seed_host(s3_seed, "db-1", echo=T0 - timedelta(minutes=30), pulse=T0 - timedelta(minutes=30))
    assert run_at(T0, s3, sns=sns)["outcome"] == "alerted"
    sns_published(sqs, queue_url)
    sent_before = len(posts(http_server))
    before = bucket_objects(s3)
    assert "state/status.json" in before

    summary = check_result.handler(verify.TEST_ALERT_EVENT, CONTEXT)

    assert summary == {
        "run_id": "req-test-alert",
        "outcome": "test_alert_sent",
        "delivered": ["webhook", "sns"],
    }
    (post,) = posts(http_server)[sent_before:]
    assert set(post) == {"text", "channel", "username", "icon_emoji"}
    assert (post["channel"], post["username"], post["icon_emoji"]) == (
        "#medical-check",
        "medic",
        ":exclamation:",
    )
    assert post["text"].startswith(
        f":white_check_mark: *TEST* pulse-echo test alert from bucket `{TEST_BUCKET}` at "
    )
    assert "db-1" not in post["text"]  # not an alert: no host, no status
    (document,) = sns_published(sqs, queue_url)
    assert document["schema"] == "pulse-echo.test-alert/1"
    assert document["test"] is True
    assert document["run"]["bucket"] == TEST_BUCKET
    assert document["run"]["id"] == "req-test-alert"
    assert document["summary"].startswith("TEST ")
    # No lease taken, no state written, no record touched.
    assert bucket_objects(s3) == before


def test_in_the_json_format_the_webhook_gets_the_json_test_alert(env, s3, http_server) -> None:
    env.setenv("ALERT_WEBHOOK_FORMAT", "json")

    summary = check_result.handler(verify.TEST_ALERT_EVENT, CONTEXT)

    assert summary["delivered"] == ["webhook"]
    (post,) = posts(http_server)
    assert post["schema"] == verify.TEST_ALERT_SCHEMA
    assert post["test"] is True
    assert bucket_objects(s3) == {}


def test_a_refused_test_alert_fails_the_invocation_after_trying_every_channel(env, s3, http_server) -> None:
    _, topic, sqs, queue_url = sns_topic_with_queue()
    env.setenv("ALERT_SNS_TOPIC_ARN", topic)
    env.setenv("WEBHOOK_MAX_ATTEMPTS", "1")
    http_server.route(HOOK, 404, "no_service")

    with pytest.raises(verify.TestAlertError) as raised:
        check_result.handler(verify.TEST_ALERT_EVENT, CONTEXT)

    message = str(raised.value)
    assert message.startswith("test alert not delivered to: webhook at 127.0.0.1")
    assert "404" in message
    assert HOOK not in message  # the webhook's URL is a secret: its host only
    (document,) = sns_published(sqs, queue_url)  # SNS got it all the same
    assert document["test"] is True
    assert bucket_objects(s3) == {}


@pytest.mark.parametrize("event", [{"pulse_echo": "test-alert"}, {"pulse_echo": None}, {"pulse_echo": ["x"]}])
def test_an_unknown_command_is_an_error_not_a_run(env, s3, http_server, event) -> None:
    with pytest.raises(ValueError, match=re.escape('the only one is {"pulse_echo": "test_alert"}')):
        check_result.handler(event, CONTEXT)
    assert posts(http_server) == []
    assert bucket_objects(s3) == {}


def test_any_other_event_is_a_run_as_before(env, s3) -> None:
    assert verify.requested_command({"detail-type": "Scheduled Event", "source": "aws.events"}) is None
    summary = check_result.handler({}, CONTEXT)
    assert summary["outcome"] in ("no_change", "state_saved")  # a run (the first records the threshold)
    assert "statuses" in summary


def test_the_documented_test_alert_is_what_check_result_sends() -> None:
    text = verify.render_test_alert_slack_text("my-pulse-echo-bucket", T0)
    page = DEPLOYMENT_PAGE.read_text(encoding="utf-8")
    lines = [line.strip() for line in page.splitlines()]  # the example is inside a list item
    assert text in lines, f"docs/deployment.md should show:\n{text}"
    assert json.dumps(verify.TEST_ALERT_EVENT) in page
