"""check_result end to end in one process: moto (S3, SNS, SQS, SSM) and a real HTTP
server on 127.0.0.1 as the webhook receiver. urllib3 is not mocked.

Most tests call ``check_result.run`` with a fixed ``now`` (S3 sets
``LastModified`` itself, so the objects are back-dated through ``s3_seed``);
the event-shape tests go through ``handler`` with the real clock.
"""

from __future__ import annotations

import json
import math
import threading
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from check_result import delivery
from check_result import handler as check_result
from check_result.handler import Config, describe_event
from check_result.state import HostState
from check_result.store import LEASE_KEY, STATE_KEY, Store
from check_result.webhook import WebhookError
from pulse_echo.settings import ConfigError

from tests.conftest import TEST_BUCKET, load_event
from tests.helpers import HOOK, check_result_env, posts, run_at

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)


@pytest.fixture
def env(monkeypatch, s3, http_server):
    """check_result's environment (tests.helpers.check_result_env); yields the monkeypatch."""
    with check_result_env(monkeypatch, http_server):
        yield monkeypatch


def seed_host(
    s3_seed, host, *, echo=None, pulse=None, failure=None, record=None, pulse_body=None, echo_body=None
) -> None:
    """Write the objects of one host with the given LastModified times (None: no object);
    ``pulse_body``, ``echo_body``: what they hold (default: a probe's pulse and echo)."""
    if echo is not None:
        body = echo_body or {
            "checked_at": echo.isoformat(),
            "url": f"https://{host}/health",
            "http_status": 200,
        }
        s3_seed.put(f"echo/{host}.json", json.dumps(body), last_modified=echo)
    if pulse is not None:
        body = pulse_body or {"url": f"https://{host}/health", "body": "ok"}
        s3_seed.put(f"pulse/{host}.json", json.dumps(body), pulse)
    if failure is not None:
        record = record or {"reason": "http_status", "detail": f"HTTP 503 from https://{host}/health"}
        s3_seed.put(f"failure/{host}.json", json.dumps({"http_status": 503, **record}), last_modified=failure)


def state_of(s3) -> dict:
    return Store(s3, TEST_BUCKET).read_state().hosts


def lease_exists(s3) -> bool:
    return "Contents" in s3.list_objects_v2(Bucket=TEST_BUCKET, Prefix=LEASE_KEY)


def count_s3_calls(client) -> list[str]:
    calls: list[str] = []
    client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return calls


# --- the main job: one alert, silence, one recovery ---


def test_up_then_down_then_silence_then_recovery(env, s3, s3_seed, http_server) -> None:
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    assert run_at(T0 + 5 * MIN, s3)["outcome"] == "state_saved"  # the module's threshold, recorded once
    assert run_at(T0 + 10 * MIN, s3)["outcome"] == "no_change"
    assert posts(http_server) == []

    summary = run_at(T0 + 20 * MIN, s3)
    assert summary["outcome"] == "alerted"
    assert summary["events"] == {"down": 1, "still_down": 0, "up": 0}
    assert summary["delivered"] == ["webhook"]
    [message] = posts(http_server)
    assert "*DOWN* `web-1`" in message["text"]
    assert "last successful check 2026-01-01T10:00:00Z (20m 0s ago)" in message["text"]
    assert state_of(s3)["web-1"].status == "down"

    for minutes in (30, 40):
        assert run_at(T0 + minutes * MIN, s3)["outcome"] == "no_change"
    assert len(posts(http_server)) == 1

    seed_host(s3_seed, "web-1", echo=T0 + 45 * MIN, pulse=T0 + 45 * MIN)
    assert run_at(T0 + 50 * MIN, s3)["events"] == {"down": 0, "still_down": 0, "up": 1}
    recovery = posts(http_server)[1]["text"]
    assert "*UP* `web-1`" in recovery
    assert "down for 45m 0s" in recovery
    assert state_of(s3) == {}
    assert run_at(T0 + 60 * MIN, s3)["outcome"] == "no_change"
    assert len(posts(http_server)) == 2
    assert not lease_exists(s3)


def test_renotify_sends_still_down_reminders(env, s3, s3_seed, http_server) -> None:
    env.setenv("RENOTIFY_MINUTES", "60")
    seed_host(s3_seed, "db-2", echo=T0, pulse=T0)
    run_at(T0 + 20 * MIN, s3)
    run_at(T0 + 70 * MIN, s3)
    run_at(T0 + 80 * MIN, s3)
    assert len(posts(http_server)) == 2
    assert "*STILL DOWN* `db-2`" in posts(http_server)[1]["text"]


def test_one_stale_echo_on_the_second_listing_page_is_alerted(env, s3, s3_seed, http_server) -> None:
    for i in range(1000):
        seed_host(s3_seed, f"host-{i:04d}", echo=T0 + 10 * MIN)
    seed_host(s3_seed, "host-1000", echo=T0)  # sorts last: on the second page
    summary = run_at(T0 + 16 * MIN, s3)
    assert summary["hosts"] == 1001
    assert summary["statuses"] == {"up": 1000, "down": 1, "new": 0, "paused": 0}
    [message] = posts(http_server)
    assert "`host-1000`" in message["text"]
    assert message["text"].count("*DOWN*") == 1


# --- what the alert says ---


def test_alert_names_host_last_success_how_long_ago_and_the_newer_failure(
    env, s3, s3_seed, http_server
) -> None:
    seed_host(
        s3_seed,
        "shop",
        echo=T0,
        pulse=T0 + 10 * MIN,
        failure=T0 + 10 * MIN + 2 * SEC,
        record={
            "reason": "wrong_body",
            "failed_at": "2026-01-01T10:10:02Z",
            "http_status": 200,
            "expected_excerpt": "ok",
            "received_excerpt": "<h1>Down for maintenance</h1>",
        },
    )
    # an old failure (before the last echo) is not the reason: the pulses stopped
    seed_host(s3_seed, "quiet", echo=T0, pulse=T0 - MIN, failure=T0 - 5 * MIN, record={"reason": "timeout"})
    run_at(T0 + 20 * MIN, s3)
    text = posts(http_server)[0]["text"]
    shop = next(line for line in text.splitlines() if "`shop`" in line)
    assert "last successful check 2026-01-01T10:00:00Z (20m 0s ago)" in shop
    assert (
        'Why: wrong body (HTTP 200): expected "ok", received "&lt;h1&gt;Down for maintenance&lt;/h1&gt;" '
        "(check at 2026-01-01T10:10:02Z)"
    ) in shop
    quiet = next(line for line in text.splitlines() if "`quiet`" in line)
    assert "no pulse since 2026-01-01T09:59:00Z (21m 0s ago)" in quiet
    assert "timeout" not in quiet


def test_new_host_is_saved_without_a_message_then_alerted_once_as_never_successful(
    env, s3, s3_seed, http_server
) -> None:
    seed_host(
        s3_seed,
        "batch-7",
        pulse=T0,
        failure=T0 + 2 * SEC,
        record={"reason": "connection", "detail": "refused"},
    )
    summary = run_at(T0 + 5 * MIN, s3)
    assert summary["outcome"] == "state_saved"
    assert posts(http_server) == []
    assert state_of(s3) == {"batch-7": HostState("new", since=T0)}

    seed_host(s3_seed, "batch-7", pulse=T0 + 10 * MIN, failure=T0 + 10 * MIN + 2 * SEC)
    assert run_at(T0 + 15 * MIN, s3)["outcome"] == "no_change"  # exactly stale_after: not yet
    assert run_at(T0 + 16 * MIN, s3)["outcome"] == "alerted"
    assert run_at(T0 + 26 * MIN, s3)["outcome"] == "no_change"
    [message] = posts(http_server)
    assert "last successful check: never (new host, first seen 2026-01-01T10:00:00Z" in message["text"]


def test_retired_host_is_dropped_without_a_message(env, s3, http_server) -> None:
    store = Store(s3, TEST_BUCKET)
    store.write_state(
        {"gone": HostState("down", since=T0, last_ok_at=T0, notified_at=T0)}, etag=None, run_id="r", now=T0
    )
    summary = run_at(T0 + 60 * MIN, s3)
    assert summary["outcome"] == "state_saved"
    assert state_of(s3) == {}
    assert posts(http_server) == []


def test_an_unreadable_state_is_replaced(env, s3, s3_seed, http_server, json_logs) -> None:
    s3.put_object(Bucket=TEST_BUCKET, Key=STATE_KEY, Body=b"{truncated")
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    assert run_at(T0 + 5 * MIN, s3)["outcome"] == "state_saved"
    assert Store(s3, TEST_BUCKET).read_state().unreadable is False
    assert run_at(T0 + 6 * MIN, s3)["outcome"] == "no_change"
    assert sum(line.get("outcome") == "state_reset" for line in json_logs) == 1


# --- storm control ---


def test_storm_of_500_hosts_down_at_once_is_one_message(env, s3, s3_seed, http_server) -> None:
    env.setenv("ALERT_MAX_HOSTS_LISTED", "20")
    for i in range(500):
        seed_host(s3_seed, f"node-{i:03d}", echo=T0, pulse=T0, failure=T0 + MIN)
    run_at(T0 + 2 * MIN, s3)  # indexes the 500 pulses
    calls = count_s3_calls(s3)
    summary = run_at(T0 + 20 * MIN, s3)
    [message] = posts(http_server)
    lines = message["text"].splitlines()
    assert lines[0].startswith("*pulse-echo*: 500 down ")
    assert [line.split("`")[1] for line in lines[1:-1]] == [f"node-{i:03d}" for i in range(20)]
    assert lines[-1].startswith("…and 480 more (480 down)")
    assert summary["events_sent"] == 500
    assert summary["listed"] == 20
    # the state, the pulse index, the pauses, and one failure record per named host
    assert calls.count("GetObject") == 3 + 20
    assert len(state_of(s3)) == 500


# --- formats ---


def test_json_format(env, s3, s3_seed, http_server) -> None:
    env.setenv("ALERT_WEBHOOK_FORMAT", "json")
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0, failure=T0 + 5 * MIN)
    run_at(T0 + 20 * MIN, s3)
    [document] = posts(http_server)
    assert document["schema"] == "pulse-echo.alert/1"
    assert document["run"]["bucket"] == TEST_BUCKET
    assert document["run"]["counts"] == {"down": 1, "still_down": 0, "up": 0}
    [event] = document["events"]
    assert (event["event"], event["host"], event["last_ok_at"], event["since"]) == (
        "down",
        "web-1",
        "2026-01-01T10:00:00Z",
        "2026-01-01T10:00:00Z",
    )
    assert event["reason"]["code"] == "http_status"
    assert event["reason"]["detail"] == "HTTP 503 from https://web-1/health"


@pytest.mark.parametrize("configured", [False, True])
def test_slack_channel_username_and_icon_only_when_configured(
    env, s3, s3_seed, http_server, configured
) -> None:
    if configured:
        env.setenv("SLACK_CHANNEL", "#medical-check")
        env.setenv("SLACK_USERNAME", "medic")
        env.setenv("SLACK_ICON_EMOJI", ":exclamation:")
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    run_at(T0 + 20 * MIN, s3)
    [message] = posts(http_server)
    if configured:
        assert (message["channel"], message["username"], message["icon_emoji"]) == (
            "#medical-check",
            "medic",
            ":exclamation:",
        )
    else:
        assert set(message) == {"text"}


# --- delivery: at least once, never twice ---


@pytest.mark.parametrize(("status", "body"), [(404, "no_service"), (400, "invalid_payload")])
def test_webhook_refusal_fails_the_run_with_state_unchanged(
    env, s3, s3_seed, http_server, json_logs, status, body
):
    http_server.route(HOOK, status, body)
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    with pytest.raises(WebhookError) as caught:
        run_at(T0 + 20 * MIN, s3)
    assert caught.value.status == status
    assert len(http_server.requests_to(HOOK)) == 1  # not retried
    assert state_of(s3) == {}
    assert not lease_exists(s3)
    refused = [line for line in json_logs if line.get("outcome") == "refused"]
    assert (refused[0]["status"], refused[0]["body"]) == (status, body)
    assert HOOK not in json.dumps(json_logs)


def test_webhook_500_is_retried_then_fails_the_run(env, s3, s3_seed, http_server) -> None:
    http_server.route(HOOK, 500, "rollup_error")
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    waits: list[float] = []
    with pytest.raises(WebhookError, match="HTTP 500"):
        run_at(T0 + 20 * MIN, s3, sleep=waits.append)
    assert len(http_server.requests_to(HOOK)) == 3
    assert waits == [1.0, 2.0]
    assert state_of(s3) == {}


def test_webhook_429_with_retry_after_then_200_is_delivered_once(env, s3, s3_seed, http_server) -> None:
    http_server.route(HOOK, responses=[(429, {"Retry-After": "1"}, "rate_limited"), (200, {}, "ok")])
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    started = time.monotonic()
    assert run_at(T0 + 20 * MIN, s3, sleep=time.sleep)["outcome"] == "alerted"
    assert time.monotonic() - started >= 1.0
    assert len(http_server.requests_to(HOOK)) == 2
    assert run_at(T0 + 30 * MIN, s3)["outcome"] == "no_change"
    assert len(http_server.requests_to(HOOK)) == 2


def test_webhook_that_fails_then_recovers_delivers_exactly_once(env, s3, s3_seed, http_server) -> None:
    http_server.route(HOOK, responses=[(500, {}, "down")] * 3 + [(200, {}, "ok")])
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)

    with pytest.raises(WebhookError):
        run_at(T0 + 20 * MIN, s3)  # run 1: three 500s
    assert state_of(s3) == {}
    assert not lease_exists(s3)

    assert run_at(T0 + 30 * MIN, s3)["outcome"] == "alerted"  # run 2: accepted
    assert run_at(T0 + 40 * MIN, s3)["outcome"] == "no_change"  # run 3: nothing
    answers = [request for request in http_server.requests_to(HOOK)]
    assert len(answers) == 4
    assert http_server.routes[HOOK].calls == 4
    assert all("*DOWN* `web-1`" in request.json()["text"] for request in answers)


def test_two_overlapping_runs_deliver_once(env, s3, s3_seed, http_server, json_logs) -> None:
    http_server.route(HOOK, 200, "ok", delay=1.5)  # run A is still posting when run B starts
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    results: dict[str, object] = {}

    def run_a() -> None:
        results["a"] = run_at(T0 + 20 * MIN, s3)

    thread = threading.Thread(target=run_a)
    thread.start()
    deadline = time.monotonic() + 10
    while not http_server.requests_to(HOOK) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lease_exists(s3)
    results["b"] = run_at(T0 + 20 * MIN + SEC, s3)
    thread.join(timeout=30)

    assert results["b"]["outcome"] == "lease_held"
    assert results["a"]["outcome"] == "alerted"
    assert run_at(T0 + 30 * MIN, s3)["outcome"] == "no_change"
    assert len(http_server.requests_to(HOOK)) == 1
    assert any(line.get("outcome") == "lease_held" for line in json_logs)


class LambdaContext:
    """The parts of the Lambda context object check_result uses."""

    aws_request_id = "req-deadline"

    def __init__(self, remaining_ms: int) -> None:
        self.ends = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self.ends - time.monotonic()) * 1000)


def test_webhook_retries_stop_before_the_invocation_times_out(env, s3, http_server) -> None:
    """With 12 s left (10 s kept for the rest), one 500 is all there is time for: the run fails
    cleanly, releasing the lease, instead of being killed."""
    http_server.route(HOOK, 500, "busy")
    s3.put_object(Bucket=TEST_BUCKET, Key="pulse/web-1.json", Body=b"{}")
    store = Store(s3, TEST_BUCKET)
    store.write_state(
        {"web-1": HostState("new", since=datetime.now(timezone.utc) - 20 * MIN)},
        etag=None,
        run_id="r",
        now=T0,
    )
    started = time.monotonic()
    with pytest.raises(WebhookError) as caught:
        check_result.handler({}, LambdaContext(remaining_ms=12_000))
    assert caught.value.attempts == 1
    assert time.monotonic() - started < 5
    assert not lease_exists(s3)


def test_a_live_lease_from_another_run_skips_the_run(env, s3, s3_seed, http_server) -> None:
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    Store(s3, TEST_BUCKET).acquire_lease("other-run", T0 + 19 * MIN, timedelta(seconds=900))
    summary = run_at(T0 + 20 * MIN, s3)
    assert summary["outcome"] == "lease_held"
    assert posts(http_server) == []
    # once it has expired (the other run crashed), a run takes over and sends
    assert run_at(T0 + 40 * MIN, s3)["outcome"] == "alerted"


# --- cost per run ---


def mixed_pulse(index: int) -> dict:
    """Host ``index``'s pulse in the 3,000-host tests: a probe, a heartbeat, or a nightly job."""
    if index % 3 == 0:
        return {"url": f"https://h{index:04d}/health", "body": "ok"}
    if index % 3 == 1:
        return {}
    return {"result": "ok", "exit_code": 0, "duration_seconds": 12.0, "stale_after_minutes": 1500}


def test_s3_requests_per_run_stay_within_the_bound_with_kinds_mixed_and_pulses_changing(
    env, s3, s3_seed, http_server
) -> None:
    hosts = 3000
    listed = 3 * math.ceil(hosts / 1000)  # echo/, pulse/, failure/: one page per 1,000 keys each
    constant = 6  # lease PUT and DELETE; state, pulse index and pauses GETs; one PUT when changed
    env.setenv("PULSE_READS_PER_RUN", str(hosts))
    for i in range(hosts):
        seed_host(s3_seed, f"h{i:04d}", echo=T0 + 10 * MIN, pulse=T0 + 10 * MIN, pulse_body=mixed_pulse(i))
    calls = count_s3_calls(s3)

    first = run_at(T0 + 11 * MIN, s3)  # an empty index: every pulse is read once, within the cap
    assert first["pulses_read"] == hosts
    assert first["index_saved"] is True
    assert len(calls) <= listed + constant + 1 + 1 + hosts  # + the state's first write, + one history object
    assert calls.count("PutObject") == 4  # the lease, the state, the pulse index, the history (first seen)

    calls.clear()
    steady = run_at(T0 + 12 * MIN, s3)
    assert (steady["outcome"], steady["pulses_read"], steady["index_saved"]) == ("no_change", 0, False)
    assert len(calls) <= listed + constant
    assert calls.count("GetObject") == 3  # the state, the pulse index, the pauses

    # 1% of the pulses change: 28 jobs ran fine again, 2 failed (down at once, threshold 1,500 minutes),
    # and a heartbeat host went silent (down after the module's 15 minutes: a status change, no read)
    for i in range(2, 92, 3):
        body = {**mixed_pulse(i), "duration_seconds": 13.0}
        if i in (2, 89):
            body.update(result="fail", exit_code=2, message="disk full")
            seed_host(
                s3_seed,
                f"h{i:04d}",
                failure=T0 + 15 * MIN,
                record={"reason": "job_failed", "detail": "disk full"},
            )
        seed_host(s3_seed, f"h{i:04d}", pulse=T0 + 15 * MIN, pulse_body=body)
    seed_host(s3_seed, "h0001", echo=T0, pulse=T0, pulse_body={})
    calls.clear()
    changed = run_at(T0 + 16 * MIN, s3)
    assert changed["pulses_read"] == 30
    assert changed["events"] == {"down": 3, "still_down": 0, "up": 0}
    changes = 3
    assert len(calls) <= listed + constant + 1 + 1 + 30 + 1 * changes  # + the index's write, + the history
    assert calls.count("GetObject") == 3 + 30 + 2  # + the changed pulses, + the 2 failure records
    assert calls.count("PutObject") == 4  # the lease, the state, the pulse index, one history object
    assert changed["s3_requests"] == len(calls)
    [message] = posts(http_server)
    assert "`h0002`" in message["text"]
    assert "`h0089`" in message["text"]
    assert "`h0001`" in message["text"]

    calls.clear()
    assert run_at(T0 + 20 * MIN, s3)["outcome"] == "no_change"
    assert len(calls) <= listed + constant
    assert calls.count("GetObject") == 3


# --- SNS and SSM ---


def sns_topic_with_queue() -> tuple[object, str, object, str]:
    """An SNS topic with an SQS queue subscribed (raw delivery): (sns, topic_arn, sqs, queue_url)."""
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="pulse-echo-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    return sns, topic, sqs, queue_url


def sns_published(sqs, queue_url) -> list[dict]:
    """The alerts the topic delivered to the queue since the last call (json documents)."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(message["Body"]) for message in messages]


def failing_sns_publish(sns, times: int) -> list[str]:
    """Make the first ``times`` Publish calls of ``sns`` fail (a transient throttling error,
    raised by a botocore event hook before the request is sent); returns the call log."""
    calls: list[str] = []

    def refuse(**_) -> None:
        calls.append("Publish")
        if len(calls) <= times:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Publish")

    sns.meta.events.register("before-call.sns.Publish", refuse)
    return calls


def hosts_in(document: dict) -> list[tuple[str, str]]:
    return [(event["event"], event["host"]) for event in document["events"]]


def test_sns_receives_the_json_payload(env, s3, s3_seed, http_server) -> None:
    sns, topic, sqs, queue_url = sns_topic_with_queue()
    env.setenv("ALERT_SNS_TOPIC_ARN", topic)
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0, failure=T0 + MIN)

    summary = run_at(T0 + 20 * MIN, s3, sns=sns)
    assert summary["delivered"] == ["webhook", "sns"]
    assert (summary["sns_republished"], summary["sns_pending"], summary["sns_dropped"]) == (0, 0, 0)
    [document] = sns_published(sqs, queue_url)
    assert document["schema"] == "pulse-echo.alert/1"
    assert hosts_in(document) == [("down", "web-1")]
    assert document["events"][0]["reason"]["code"] == "http_status"
    assert "text" in posts(http_server)[0]  # the webhook still got the Slack format
    assert Store(s3, TEST_BUCKET).read_state().pending_sns == ()


def test_sns_failure_after_the_webhook_accepted_saves_the_state_and_keeps_the_message_pending(
    env, s3, s3_seed, http_server, json_logs
) -> None:
    sns, topic, sqs, queue_url = sns_topic_with_queue()
    env.setenv("ALERT_SNS_TOPIC_ARN", topic)
    calls = failing_sns_publish(sns, times=1)
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0, failure=T0 + MIN)

    with pytest.raises(ClientError, match="Throttling"):  # the error metric and the alarm see it
        run_at(T0 + 20 * MIN, s3, sns=sns)
    assert len(posts(http_server)) == 1
    stored = Store(s3, TEST_BUCKET).read_state()
    assert stored.hosts["web-1"].status == "down"
    assert stored.hosts["web-1"].notified_at == T0 + 20 * MIN
    [pending] = stored.pending_sns
    assert (pending.run_id, pending.created_at) == ("run-102000", T0 + 20 * MIN)
    assert pending.subject == f"pulse-echo {TEST_BUCKET}: 1 down"
    assert hosts_in(json.loads(pending.message)) == [("down", "web-1")]
    assert not lease_exists(s3)
    assert sns_published(sqs, queue_url) == []
    failed = [line for line in json_logs if line.get("outcome") == "sns_failed"]
    assert [(line["level"], line["alert_run_id"]) for line in failed] == [("ERROR", "run-102000")]
    finished = [line for line in json_logs if line["message"] == "run finished"]
    assert finished[-1]["state_saved"] is True
    assert "Throttling" in finished[-1]["sns_error"]

    summary = run_at(T0 + 30 * MIN, s3, sns=sns)  # SNS healthy again: the SNS copy only
    assert (summary["outcome"], summary["state_saved"]) == ("state_saved", True)
    assert (summary["sns_republished"], summary["sns_pending"]) == (1, 0)
    assert summary["delivered"] == []
    [document] = sns_published(sqs, queue_url)
    assert hosts_in(document) == [("down", "web-1")]
    assert document["run"]["id"] == "run-102000"
    assert len(posts(http_server)) == 1  # the webhook got nothing new
    assert Store(s3, TEST_BUCKET).read_state().pending_sns == ()
    assert Store(s3, TEST_BUCKET).read_state().hosts == stored.hosts

    assert run_at(T0 + 40 * MIN, s3, sns=sns)["outcome"] == "no_change"
    assert sns_published(sqs, queue_url) == []
    assert len(posts(http_server)) == 1
    assert len(calls) == 2


def test_sns_failing_for_several_runs_sends_each_event_to_the_webhook_once_and_caps_the_pending(
    env, s3, s3_seed, http_server, json_logs, monkeypatch
) -> None:
    monkeypatch.setattr(delivery, "PENDING_SNS_MAX", 2)
    sns, topic, sqs, queue_url = sns_topic_with_queue()
    env.setenv("ALERT_SNS_TOPIC_ARN", topic)
    calls = failing_sns_publish(sns, times=4)
    names = ["a", "b", "c", "d"]
    for i, name in enumerate(names):  # one more host goes down before each run
        seed_host(s3_seed, name, echo=T0 + 10 * i * MIN, pulse=T0 + 10 * i * MIN)

    for i in range(4):
        with pytest.raises(ClientError, match="Throttling"):
            run_at(T0 + (16 + 10 * i) * MIN, s3, sns=sns)
    texts = [post["text"] for post in posts(http_server)]
    assert len(texts) == 4
    for i, text in enumerate(texts):  # each event once, in its own run
        assert [name for name in names if f"`{name}`" in text] == [names[i]]
    assert len(calls) == 4  # one failed Publish per run: the first refusal stops the rest
    stored = Store(s3, TEST_BUCKET).read_state()
    assert {host: entry.status for host, entry in stored.hosts.items()} == dict.fromkeys(names, "down")
    assert [item.run_id for item in stored.pending_sns] == ["run-103600", "run-104600"]  # c, d
    dropped = [line for line in json_logs if line.get("outcome") == "sns_dropped"]
    assert [(line["level"], line["count"], line["run_ids"]) for line in dropped] == [
        ("ERROR", 1, ["run-101600"]),
        ("ERROR", 1, ["run-102600"]),
    ]

    summary = run_at(T0 + 50 * MIN, s3, sns=sns)
    assert (summary["sns_republished"], summary["sns_pending"], summary["sns_dropped"]) == (2, 0, 0)
    assert [hosts_in(document) for document in sns_published(sqs, queue_url)] == [
        [("down", "c")],
        [("down", "d")],
    ]  # oldest first
    assert len(posts(http_server)) == 4
    assert Store(s3, TEST_BUCKET).read_state().pending_sns == ()


def test_webhook_failure_saves_nothing_and_leaves_the_pending_sns_messages_for_the_next_run(
    env, s3, s3_seed, http_server
) -> None:
    sns, topic, sqs, queue_url = sns_topic_with_queue()
    env.setenv("ALERT_SNS_TOPIC_ARN", topic)
    calls = failing_sns_publish(sns, times=1)
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    seed_host(s3_seed, "web-2", echo=T0 + 10 * MIN, pulse=T0 + 10 * MIN)
    with pytest.raises(ClientError):
        run_at(T0 + 20 * MIN, s3, sns=sns)  # web-1: webhook yes, SNS no
    before = Store(s3, TEST_BUCKET).read_state()
    assert len(before.pending_sns) == 1

    http_server.route(HOOK, 500, "down")
    with pytest.raises(WebhookError):
        run_at(T0 + 30 * MIN, s3, sns=sns)  # web-2 down, but the webhook fails
    assert Store(s3, TEST_BUCKET).read_state() == before  # nothing saved, the ETag included
    assert len(calls) == 1  # and SNS was not called: the webhook goes first

    http_server.route(HOOK, 200, "ok")
    summary = run_at(T0 + 40 * MIN, s3, sns=sns)
    assert summary["delivered"] == ["webhook", "sns"]
    assert summary["sns_republished"] == 1
    assert [hosts_in(document) for document in sns_published(sqs, queue_url)] == [
        [("down", "web-1")],
        [("down", "web-2")],
    ]
    assert Store(s3, TEST_BUCKET).read_state().pending_sns == ()


def test_pending_sns_messages_are_dropped_when_the_topic_is_unset(env, s3, s3_seed, json_logs) -> None:
    sns, topic, _, _ = sns_topic_with_queue()
    env.setenv("ALERT_SNS_TOPIC_ARN", topic)
    failing_sns_publish(sns, times=1)
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    with pytest.raises(ClientError):
        run_at(T0 + 20 * MIN, s3, sns=sns)

    env.delenv("ALERT_SNS_TOPIC_ARN")
    summary = run_at(T0 + 30 * MIN, s3)
    assert (summary["outcome"], summary["sns_dropped"], summary["sns_pending"]) == ("state_saved", 1, 0)
    assert Store(s3, TEST_BUCKET).read_state().pending_sns == ()
    [line] = [line for line in json_logs if line.get("outcome") == "sns_dropped"]
    assert (line["level"], line["run_ids"]) == ("WARNING", ["run-102000"])


def test_webhook_url_from_ssm_is_read_once_per_container(env, s3, http_server) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/pulse-echo/webhook", Value=http_server.url(HOOK), Type="SecureString")
    env.delenv("ALERT_WEBHOOK_URL")
    env.setenv("ALERT_WEBHOOK_SSM_PARAMETER_NAME", "/pulse-echo/webhook")
    s3.put_object(Bucket=TEST_BUCKET, Key="pulse/web-1.json", Body=b"{}")  # a new host: state saved

    context = SimpleNamespace(aws_request_id="req-1")
    assert check_result.handler({}, context)["outcome"] == "state_saved"
    ssm.delete_parameter(Name="/pulse-echo/webhook")
    s3.delete_object(Bucket=TEST_BUCKET, Key="pulse/web-1.json")
    assert check_result.handler({}, context)["outcome"] == "state_saved"  # cached: no second read

    check_result.reset()
    with pytest.raises(ConfigError, match="ALERT_WEBHOOK_SSM_PARAMETER_NAME"):
        check_result.handler({}, context)


def test_webhook_url_from_ssm_delivers(env, s3, s3_seed, http_server) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="webhook", Value=http_server.url(HOOK), Type="SecureString")
    env.delenv("ALERT_WEBHOOK_URL")
    env.setenv("ALERT_WEBHOOK_SSM_PARAMETER_NAME", "webhook")
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    config = Config.from_env()
    assert check_result.run(config, s3=s3, ssm=ssm, now=T0 + 20 * MIN)["outcome"] == "alerted"
    assert len(posts(http_server)) == 1


# --- the event and the configuration ---


@pytest.mark.parametrize(
    ("event", "shape"),
    [
        (load_event("eventbridge_scheduled_event.json"), "scheduled"),
        (load_event("eventbridge_scheduled_event_detail_string.json"), "detail_string"),
        ({"detail": "{}"}, "detail_string"),
        ({}, "empty"),
    ],
)
def test_the_accepted_event_shapes_run(env, s3, http_server, json_logs, event, shape) -> None:
    s3.put_object(Bucket=TEST_BUCKET, Key="echo/web-1.json", Body=b"{}")
    s3.put_object(Bucket=TEST_BUCKET, Key="pulse/web-1.json", Body=b"{}")
    assert describe_event(event) == shape
    summary = check_result.handler(event, SimpleNamespace(aws_request_id="req-1"))
    assert summary["outcome"] == "state_saved"  # the first run records the module's threshold
    assert summary["run_id"] == "req-1"
    assert summary["statuses"] == {"up": 1, "down": 0, "new": 0, "paused": 0}
    invoked = next(line for line in json_logs if line["message"] == "check_result invoked")
    assert invoked["event_shape"] == shape


@pytest.mark.parametrize("event", [{"foo": 1}, {"detail": "not json"}, [1, 2], None])
def test_other_events_are_logged_and_run_anyway(env, s3, json_logs, event) -> None:
    summary = check_result.handler(event, None)
    assert summary["outcome"] == "state_saved"  # the first run records the module's threshold
    assert any(line["message"] == "unexpected event shape; running anyway" for line in json_logs)


def test_decisions_are_logged_one_line_each_and_never_the_webhook_url(env, s3, s3_seed, json_logs) -> None:
    seed_host(
        s3_seed, "web-1", echo=T0, pulse=T0, failure=T0 + MIN, record={"reason": "timeout", "detail": "slow"}
    )
    seed_host(s3_seed, "new-1", pulse=T0 + 19 * MIN)
    run_at(T0 + 20 * MIN, s3)
    decisions = {line["host"]: line for line in json_logs if line["message"] == "host decision"}
    assert (decisions["web-1"]["outcome"], decisions["web-1"]["reason"]) == ("alert_down", "timeout")
    assert (decisions["new-1"]["outcome"], decisions["new-1"]["reason"]) == ("tracked_new", "no_check_result")
    assert HOOK not in json.dumps(json_logs)
    finished = next(line for line in json_logs if line["message"] == "run finished")
    assert finished["outcome"] == "alerted"


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"PULSE_ECHO_BUCKET": None}, "PULSE_ECHO_BUCKET"),
        ({"ALERT_WEBHOOK_URL": None}, "ALERT_WEBHOOK_URL"),
        ({"ALERT_WEBHOOK_URL": "ftp://example.com/x"}, "ALERT_WEBHOOK_URL"),
        ({"ALERT_WEBHOOK_SSM_PARAMETER_NAME": "/x"}, "ALERT_WEBHOOK_SSM_PARAMETER_NAME"),
        ({"STALE_AFTER_MINUTES": "0"}, "STALE_AFTER_MINUTES"),
        ({"RENOTIFY_MINUTES": "-1"}, "RENOTIFY_MINUTES"),
        ({"ALERT_WEBHOOK_FORMAT": "xml"}, "ALERT_WEBHOOK_FORMAT"),
        ({"ALERT_MAX_HOSTS_LISTED": "many"}, "ALERT_MAX_HOSTS_LISTED"),
        ({"WEBHOOK_MAX_ATTEMPTS": "0"}, "WEBHOOK_MAX_ATTEMPTS"),
        ({"WEBHOOK_TIMEOUT_SECONDS": "0"}, "WEBHOOK_TIMEOUT_SECONDS"),
        ({"RUN_LEASE_SECONDS": "nan"}, "RUN_LEASE_SECONDS"),
    ],
)
def test_configuration_errors_name_the_variable(env, changes, variable) -> None:
    for name, value in changes.items():
        if value is None:
            env.delenv(name, raising=False)
        else:
            env.setenv(name, value)
    with pytest.raises(ConfigError, match=variable) as caught:
        Config.from_env()
    assert "ftp://example.com" not in str(caught.value)


def test_configuration_defaults_and_secret_kept_out_of_repr(env, http_server) -> None:
    config = Config.from_env()
    assert config.stale_after == timedelta(minutes=15)
    assert config.renotify_after is None
    assert (config.webhook_format, config.max_hosts_listed, config.webhook_max_attempts) == ("slack", 20, 3)
    assert config.run_lease == timedelta(seconds=900)
    assert HOOK not in repr(config)
    env.setenv("STALE_AFTER_MINUTES", "0.5")
    env.setenv("RENOTIFY_MINUTES", "0")
    assert Config.from_env().stale_after == timedelta(seconds=30)


def test_state_and_lease_keys_are_outside_pulse(env) -> None:
    assert not STATE_KEY.startswith("pulse/")
    assert not LEASE_KEY.startswith("pulse/")
