"""check_result against corrupt records, hostile names and bad settings: never a crash loop.

check_result runs every 10 minutes: an exception for data that will not change
by itself (a corrupt state document, a failure record that does not parse, a
stale lease with a far-future expiry) would fail every run from then on, and
no alert would ever go out again. Those become logged outcomes; configuration
errors become ConfigError naming the variable, before anything is sent.
moto for S3, SNS and SQS; a real HTTP server as the webhook.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError
from check_result import handler as check_result
from check_result import store
from check_result.handler import Config, describe_event
from check_result.model import Observation
from check_result.rules import current_reason
from check_result.state import StateFormatError, decode_state
from check_result.store import LEASE_KEY, STATE_KEY, Store
from pulse_echo.reasons import reason_from_failure
from pulse_echo.records import parse_failure_record
from pulse_echo.settings import ConfigError

from tests.conftest import TEST_BUCKET
from tests.helpers import HOOK, check_result_env, posts, run_at

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
CORRUPT_JSON = {
    "deep-nesting": b"[" * 60_000,
    "huge-integer": b'{"schema": ' + b"9" * 5000 + b"}",
    "not-json": b"{truncated",
    "not-utf8": b"\xff\xfe{}",
    "a-list": b"[]",
}


@pytest.fixture
def env(monkeypatch, s3, http_server):
    """check_result's environment (tests.helpers.check_result_env); yields the monkeypatch."""
    with check_result_env(monkeypatch, http_server):
        yield monkeypatch


def seed_host(s3_seed, host, *, echo=None, pulse=None, failure=None, record: bytes | None = None) -> None:
    if echo is not None:
        s3_seed.put(f"echo/{host}.json", b"{}", last_modified=echo)
    if pulse is not None:
        s3_seed.put(f"pulse/{host}.json", b"{}", last_modified=pulse)
    if failure is not None:
        body = record if record is not None else b'{"reason": "timeout", "detail": "slow"}'
        s3_seed.put(f"failure/{host}.json", body, last_modified=failure)


# --- the state document ---


@pytest.mark.parametrize(
    "body",
    [
        *CORRUPT_JSON.values(),
        b'{"schema": 2, "hosts": {}}',
        b'{"schema": 1, "hosts": {"web-1": {"status": "down", "since": "0001-01-01T00:00:00+01:00"}}}',
        b'{"schema": 1, "hosts": {"web-1": {"status": "down", "since": "9999-12-31T23:59:59-01:00"}}}',
    ],
    ids=[*CORRUPT_JSON, "other-schema", "before-year-1-in-utc", "after-year-9999-in-utc"],
)
def test_corrupt_state_is_reset_and_replaced_not_a_failing_run_every_time(
    env, s3, s3_seed, http_server, json_logs, body
):
    s3.put_object(Bucket=TEST_BUCKET, Key=STATE_KEY, Body=body)
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0 + 19 * MIN)

    summary = run_at(T0 + 20 * MIN, s3)

    assert summary["outcome"] == "alerted"  # at least once: the down host is announced again
    assert len(posts(http_server)) == 1
    assert Store(s3, TEST_BUCKET).read_state().unreadable is False
    assert any(line.get("outcome") == "state_reset" for line in json_logs)


def test_state_over_the_size_cap_is_not_read_and_is_replaced(env, s3, s3_seed, monkeypatch, json_logs):
    monkeypatch.setattr(store, "STATE_MAX_BYTES", 1000)
    hosts = {f"h{i}": {"status": "new", "since": "2026-01-01T10:00:00Z"} for i in range(100)}
    s3.put_object(Bucket=TEST_BUCKET, Key=STATE_KEY, Body=json.dumps({"schema": 1, "hosts": hosts}).encode())
    read = Store(s3, TEST_BUCKET).read_state()

    assert (read.hosts, read.unreadable) == ({}, True)
    (line,) = [line for line in json_logs if line.get("outcome") == "state_reset"]
    assert "larger than 1000 bytes" in line["reason"]
    assert run_at(T0, s3)["outcome"] == "state_saved"


# --- failure records ---


@pytest.mark.parametrize(
    "body",
    [
        *CORRUPT_JSON.values(),
        b'{"reason": "timeout", "failed_at": "0001-01-01T00:00:00+01:00"}',
    ],
    ids=[*CORRUPT_JSON, "date-out-of-range"],
)
def test_corrupt_failure_record_still_alerts_with_an_unreadable_reason(env, s3, s3_seed, http_server, body):
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0 + 19 * MIN, failure=T0 + 19 * MIN, record=body)

    summary = run_at(T0 + 20 * MIN, s3)

    assert summary["outcome"] == "alerted"
    [post] = posts(http_server)
    assert "web-1" in post["text"]
    if body.startswith(b'{"reason": "timeout"'):
        assert "Why: timeout (check at" in post["text"]  # the bad time is dropped, the record is used
    else:
        assert "Why: unreadable_failure_record: " in post["text"]


def test_failure_record_over_the_cap_is_not_read_and_is_reported_as_too_large(env, s3, s3_seed, monkeypatch):
    monkeypatch.setattr(store, "FAILURE_RECORD_MAX_BYTES", 100)
    record = json.dumps({"reason": "timeout", "detail": "x" * 500}).encode()
    seed_host(s3_seed, "web-1", echo=T0, failure=T0 + MIN, record=record)

    records = Store(s3, TEST_BUCKET).read_failures(["web-1"])

    assert records["web-1"].reason == "unreadable_failure_record"
    assert "larger than 100 bytes" in records["web-1"].detail


def test_unknown_reason_code_is_shown_on_one_short_line():
    record = parse_failure_record(json.dumps({"reason": "x\n<!channel>" + "y" * 5000}).encode())

    reason = reason_from_failure(record)

    assert "\n" not in reason.code
    assert len(reason.code) <= 64
    assert "\n" not in reason.detail
    assert len(reason.detail) <= 300


# --- clocks ---


def test_echo_from_the_future_is_up_without_a_message_or_a_crash(env, s3, s3_seed, http_server):
    # Clock skew: LastModified after the run's now. A negative age is fresh, never stale.
    seed_host(s3_seed, "web-1", echo=T0 + 30 * MIN, pulse=T0 + 30 * MIN)
    seed_host(s3_seed, "web-2", pulse=T0 + 30 * MIN, failure=T0 + 30 * MIN)

    summary = run_at(T0, s3)

    assert summary["statuses"] == {"up": 1, "down": 0, "new": 1, "paused": 0}
    assert summary["events_sent"] == 0
    assert posts(http_server) == []


# --- the run lease ---


@pytest.mark.parametrize(
    "lock",
    [
        {"run_id": "ghost", "expires_at": "9999-12-31T00:00:00Z"},
        {"run_id": "ghost", "acquired_at": "9999-01-01T00:00:00Z", "expires_at": "9999-12-31T00:00:00Z"},
        {"run_id": "ghost", "acquired_at": "2025-12-30T00:00:00Z", "expires_at": "2057-01-01T00:00:00Z"},
    ],
    ids=["no-acquired-at", "acquired-in-the-future", "a-31-year-lease"],
)
def test_lease_claiming_a_far_future_expiry_is_taken_over_after_a_day(env, s3, s3_seed, json_logs, lock):
    # Otherwise one lease written with RUN_LEASE_SECONDS=1e9 (or by hand) would skip every
    # later run, logged at INFO only: no alert would ever go out again.
    s3_seed.put(LEASE_KEY, json.dumps(lock).encode(), last_modified=T0 - timedelta(days=2))

    assert run_at(T0, s3)["outcome"] != "lease_held"
    assert any(line.get("outcome") == "lease_taken_over" for line in json_logs)


def test_fresh_lease_with_a_far_future_expiry_is_held_for_a_day_at_most(s3, s3_seed):
    body = json.dumps({"run_id": "ghost", "expires_at": "9999-12-31T00:00:00Z"}).encode()
    s3_seed.put(LEASE_KEY, body, last_modified=T0)
    lease = timedelta(seconds=900)

    assert Store(s3, TEST_BUCKET).acquire_lease("run-1", T0 + 2 * lease, lease) is None
    assert Store(s3, TEST_BUCKET).acquire_lease("run-1", T0 + timedelta(days=1, minutes=1), lease)


@pytest.mark.parametrize("body", list(CORRUPT_JSON.values()), ids=list(CORRUPT_JSON))
def test_corrupt_lease_expires_by_its_age(s3, s3_seed, body):
    s3_seed.put(LEASE_KEY, body, last_modified=T0)
    lease = timedelta(seconds=900)

    assert Store(s3, TEST_BUCKET).acquire_lease("run-1", T0 + MIN, lease) is None
    assert Store(s3, TEST_BUCKET).acquire_lease("run-1", T0 + lease + MIN, lease) is not None


# --- host names ---


def test_host_too_long_for_a_failure_record_is_alerted_with_that_reason():
    # check_echo cannot write failure/<host>.json for it (S3's key limit): without this, the
    # alert would say "check_echo may not be running".
    host = "h" * (1024 - len("pulse/.json"))
    observation = Observation(host, last_ok_at=T0, pulse_at=T0 + 19 * MIN)

    reason = current_reason(observation, None, T0 + 20 * MIN, timedelta(minutes=15))

    assert reason.code == "host_name_too_long"
    assert "1024-byte" in reason.detail


def test_hostile_host_name_cannot_mention_or_link_in_slack(env, s3, s3_seed, http_server):
    host = "<!channel> <@U123> <https://evil.example|click> &amp; *b* `x`\n@here"
    seed_host(s3_seed, host, echo=T0, pulse=T0)

    run_at(T0 + 20 * MIN, s3)

    [post] = posts(http_server)
    assert "<" not in post["text"]
    assert "&lt;!channel&gt;" in post["text"]
    assert "&amp;amp;" in post["text"]
    assert "link_names" not in post  # a bare "@here" is plain text unless link_names is set
    assert len(post["text"].splitlines()) == 2


# --- the event ---


@pytest.mark.parametrize(
    "event",
    [{"detail": "[" * 60_000}, {"detail": "9" * 5000}, {"detail": "\ud800"}],
    ids=["deep", "huge-integer", "surrogate"],
)
def test_event_whose_detail_cannot_be_parsed_is_other_and_still_runs(env, s3, event):
    assert describe_event(event) == "other"
    assert check_result.handler(event, None)["outcome"] == "state_saved"  # the first run: its threshold


# --- configuration ---


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STALE_AFTER_MINUTES", "1e300"),  # timedelta overflow
        ("STALE_AFTER_MINUTES", "1e-9"),  # rounds to 0 microseconds: evaluate() would raise every run
        ("STALE_AFTER_MINUTES", "abc"),
        ("STALE_AFTER_MINUTES", "-1"),
        ("STALE_AFTER_MINUTES", "nan"),
        ("STALE_AFTER_MINUTES", "inf"),
        ("STALE_AFTER_MINUTES", "1e309"),
        ("RENOTIFY_MINUTES", "1e13"),
        ("RENOTIFY_MINUTES", "1e-9"),
        ("RUN_LEASE_SECONDS", "1e12"),  # now + lease: year 33,000
        ("WEBHOOK_TIMEOUT_SECONDS", "1e300"),
        ("ALERT_MAX_HOSTS_LISTED", "-1"),
        ("ALERT_WEBHOOK_URL", "https://hooks.example:99999/x"),
        ("ALERT_WEBHOOK_URL", "https://hooks.example:port/x"),
        ("ALERT_WEBHOOK_URL", "https://hooks.example/a b"),
        ("ALERT_WEBHOOK_URL", "https://hooks.example/\x7f"),
        ("ALERT_WEBHOOK_URL", "https://hooks.example:0/x"),
        ("ALERT_WEBHOOK_URL", "hooks.example/x"),
        ("ALERT_SNS_TOPIC_ARN", "alerts"),
        ("ALERT_SNS_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:alerts"),
    ],
)
def test_bad_setting_is_a_config_error_naming_it_not_a_crash_later(env, name, value):
    env.setenv(name, value)

    with pytest.raises(ConfigError, match=name) as caught:
        Config.from_env()

    assert "hooks.example" not in str(caught.value)  # the webhook URL is a secret


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STALE_AFTER_MINUTES", "0.0001"),
        ("STALE_AFTER_MINUTES", "525600"),
        ("RENOTIFY_MINUTES", "0"),
        ("ALERT_WEBHOOK_FORMAT", "SLACK"),
        ("ALERT_MAX_HOSTS_LISTED", "0"),
        ("ALERT_SNS_TOPIC_ARN", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts.fifo"),
    ],
)
def test_unusual_but_valid_settings_are_accepted(env, name, value):
    env.setenv(name, value)

    Config.from_env()


def test_invalid_sns_topic_is_refused_before_the_webhook_is_posted(env, s3, s3_seed, http_server):
    # Otherwise: the webhook accepts, SNS refuses every message, and every run fails with
    # its alerts piling up in pending_sns until the oldest are dropped.
    env.setenv("ALERT_SNS_TOPIC_ARN", "pulse-echo-alerts")
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)

    with pytest.raises(ConfigError, match="ALERT_SNS_TOPIC_ARN"):
        check_result.handler({}, None)

    assert posts(http_server) == []


def test_webhook_credentials_in_the_url_are_sent_as_basic_auth(env, s3, s3_seed, http_server):
    env.setenv("ALERT_WEBHOOK_URL", http_server.url(HOOK).replace("http://", "http://alerts:s3cret@"))
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)

    assert run_at(T0 + 20 * MIN, s3)["outcome"] == "alerted"

    [request] = http_server.requests_to(HOOK)
    assert request.headers["Authorization"] == "Basic YWxlcnRzOnMzY3JldA=="


def test_sns_publish_failing_after_the_webhook_accepted_raises_and_keeps_the_message_pending(
    env, s3, s3_seed, http_server
):
    # The run fails (the error metric counts it), but the webhook's delivery stands: the state
    # is saved with the SNS message pending, so the next run does not post the webhook again.
    sns = boto3.client("sns", region_name="us-east-1")
    env.setenv("ALERT_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:deleted-topic")
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)

    with pytest.raises(ClientError, match=r"NotFound|does not exist"):
        run_at(T0 + 20 * MIN, s3, sns=sns)
    with pytest.raises(ClientError, match=r"NotFound|does not exist"):
        run_at(T0 + 30 * MIN, s3, sns=sns)

    stored = Store(s3, TEST_BUCKET).read_state()
    assert stored.hosts["web-1"].status == "down"
    assert [item.run_id for item in stored.pending_sns] == ["run-102000"]
    assert len(posts(http_server)) == 1


def test_malformed_pending_sns_is_an_unreadable_state_not_a_crash(env, s3, s3_seed, http_server, json_logs):
    body = b'{"schema": 1, "hosts": {}, "pending_sns": [{"run_id": 1, "message": {}}]}'
    s3.put_object(Bucket=TEST_BUCKET, Key=STATE_KEY, Body=body)
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)

    assert run_at(T0 + 20 * MIN, s3)["outcome"] == "alerted"

    assert any(line.get("outcome") == "state_reset" for line in json_logs)
    assert Store(s3, TEST_BUCKET).read_state().unreadable is False


@pytest.mark.parametrize("body", list(CORRUPT_JSON.values()), ids=list(CORRUPT_JSON))
def test_corrupt_json_raises_only_the_documented_errors(body):
    with pytest.raises(StateFormatError):
        decode_state(body)
    with pytest.raises(ValueError, match="failure record"):
        parse_failure_record(body)
