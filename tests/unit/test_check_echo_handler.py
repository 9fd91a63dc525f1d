"""check_echo's handler: real S3 events against moto's S3 and a real local HTTP server."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from check_echo import handler as check_echo
from check_echo.store import output_key
from pulse_echo.layout import ECHO_PREFIX, FAILURE_PREFIX, PULSE_PREFIX
from pulse_echo.records import JOB_FIELDS
from pulse_echo.settings import ConfigError

from tests.conftest import TEST_BUCKET, load_event
from tests.helpers import FAILURE_RECORD_FIELDS, get_json, keys_under, put_event, s3_event_key

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def env(check_echo_s3):
    return check_echo_s3


@pytest.fixture
def logs(check_echo_logs):
    return check_echo_logs


def put_pulse(s3, host: str, url: str, body: str = "ok") -> None:
    s3.put_object(
        Bucket=TEST_BUCKET, Key=f"pulse/{host}.json", Body=json.dumps({"url": url, "body": body}).encode()
    )


def deny_put(s3_client, key_prefix: str) -> None:
    """Make the handler's own PutObject under ``key_prefix`` fail with AccessDenied, as IAM would."""

    def hook(params, **_):
        if params.get("Key", "").startswith(key_prefix):
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}, "ResponseMetadata": {}},
                "PutObject",
            )

    s3_client.meta.events.register("provide-client-params.s3.PutObject", hook)


# --- the console's seed event ---


def test_seed_console_event_as_is_is_a_clear_error_not_a_crash(env, logs):
    event = load_event("seed_s3_put_event.json")

    summary = check_echo.handler(event, None)

    assert summary["records"] == 1
    assert summary["outcomes"]["skipped"] == 1
    assert summary["results"] == [
        {"key": "pulse/myhost.json", "host": "myhost", "outcome": "skipped", "reason": "invalid_bucket_name"}
    ]
    (line,) = [line for line in logs if line.get("key") == "pulse/myhost.json"]
    assert line["level"] == "ERROR"
    assert "作成したバケット" in line["detail"]
    assert "not a valid S3 bucket name" in line["detail"]
    assert keys_under(env, "") == []


def test_seed_console_event_with_a_real_bucket_writes_the_echo(env, http_server):
    url = http_server.route("/health", body=b"ok")
    put_pulse(env, "myhost", url)
    event = load_event("seed_s3_put_event.json")
    event["Records"][0]["s3"]["bucket"].update(name=TEST_BUCKET, arn=f"arn:aws:s3:::{TEST_BUCKET}")

    before = datetime.now(timezone.utc).replace(microsecond=0)
    summary = check_echo.handler(event, None)

    assert summary["outcomes"]["echo"] == 1
    assert summary["results"] == [
        {"key": "pulse/myhost.json", "host": "myhost", "outcome": "echo", "reason": None}
    ]
    echo = get_json(env, "echo/myhost.json")
    assert set(echo) == {"checked_at", "kind", "url", "http_status", "elapsed_ms", *JOB_FIELDS}
    assert echo["kind"] == "probe"
    assert ISO_UTC.fullmatch(echo["checked_at"])
    checked_at = datetime.fromisoformat(echo["checked_at"].replace("Z", "+00:00"))
    assert before <= checked_at <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert echo["url"] == url
    assert echo["http_status"] == 200
    assert isinstance(echo["elapsed_ms"], int)
    assert echo["elapsed_ms"] >= 0
    assert env.head_object(Bucket=TEST_BUCKET, Key="echo/myhost.json")["ContentType"] == "application/json"
    assert keys_under(env, FAILURE_PREFIX) == []


# --- keys ---


@pytest.mark.parametrize(
    ("event_key", "host"),
    [
        ("pulse/web+01.json", "web 01"),  # a space arrives as +
        ("pulse/a%2Bb.json", "a+b"),  # a + arrives as %2B
        ("pulse/100%25.json", "100%"),  # a % arrives as %25
        ("pulse/100%2525.json", "100%25"),  # decoded exactly once
        ("pulse/%E3%82%B5%E3%83%BC%E3%83%90%E3%83%BC.json", "サーバー"),  # UTF-8, percent-encoded
        ("pulse/rack/7/web.json", "rack/7/web"),  # / inside the host
        ("pulse/dc+1/r%C3%A9seau+%2B+50%25.json", "dc 1/réseau + 50%"),
    ],
)
def test_url_encoded_keys_are_decoded_once_and_the_echo_carries_the_host(env, http_server, event_key, host):
    assert s3_event_key(f"pulse/{host}.json") == event_key  # the helper encodes as S3 does
    put_pulse(env, host, http_server.route("/health", body=b"ok"))

    summary = check_echo.handler(put_event(f"pulse/{host}.json"), None)

    assert summary["results"] == [
        {"key": f"pulse/{host}.json", "host": host, "outcome": "echo", "reason": None}
    ]
    assert keys_under(env, ECHO_PREFIX) == [f"echo/{host}.json"]


@pytest.mark.parametrize(
    "key", ["echo/myhost.json", "failure/myhost.json", "pulse/myhost.txt", "pulse/.json"]
)
def test_keys_that_are_not_pulses_are_skipped(env, logs, key):
    env.put_object(Bucket=TEST_BUCKET, Key=key, Body=b'{"url": "http://127.0.0.1:1/", "body": "ok"}')

    summary = check_echo.handler(put_event(key), None)

    assert summary["results"] == [
        {"key": key, "host": None, "outcome": "skipped", "reason": "not_a_pulse_key"}
    ]
    assert sorted(keys_under(env, "")) == [key]
    assert [line["reason"] for line in logs if line.get("key") == key] == ["not_a_pulse_key"]


def test_output_key_never_points_under_pulse():
    assert output_key(ECHO_PREFIX, "pulse/x") == "echo/pulse/x.json"
    with pytest.raises(ValueError, match="never writes under pulse/"):
        output_key(PULSE_PREFIX, "myhost")


# --- events and records ---


def test_two_records_where_the_first_fails_the_second_still_echoes(env, http_server):
    put_pulse(env, "web-1", http_server.route("/down", status=500, body=b"oops"))
    put_pulse(env, "web-2", http_server.route("/up", body=b"ok"))

    summary = check_echo.handler(load_event("s3_put_two_records_event.json"), None)

    assert summary["records"] == 2
    assert summary["outcomes"] == {"echo": 1, "failed": 1, "bad_pulse": 0, "skipped": 0, "error": 0}
    assert [(r["host"], r["outcome"], r["reason"]) for r in summary["results"]] == [
        ("web-1", "failed", "http_status"),
        ("web-2", "echo", None),
    ]
    assert keys_under(env, ECHO_PREFIX) == ["echo/web-2.json"]
    failure = get_json(env, "failure/web-1.json")
    assert (failure["reason"], failure["http_status"]) == ("http_status", 500)


def test_complete_multipart_upload_event_is_a_pulse_too(env, http_server):
    put_pulse(env, "db primary", http_server.route("/health", body=b"ok"))

    summary = check_echo.handler(load_event("s3_complete_multipart_upload_event.json"), None)

    assert summary["results"][0]["outcome"] == "echo"
    assert keys_under(env, ECHO_PREFIX) == ["echo/db primary.json"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [(load_event("s3_test_event.json"), "test_event"), ({}, "no_records"), ({"Records": None}, "no_records")],
    ids=["s3-test-event", "empty", "null-records"],
)
def test_event_without_records_is_logged_and_ignored(env, logs, event, reason):
    summary = check_echo.handler(event, None)

    assert summary == {
        "records": 0,
        "outcomes": {"echo": 0, "failed": 0, "bad_pulse": 0, "skipped": 0, "error": 0},
        "results": [],
    }
    assert [line["reason"] for line in logs] == [reason]
    assert keys_under(env, "") == []


def test_records_that_are_not_object_created_from_s3_are_skipped(env, http_server):
    put_pulse(env, "myhost", http_server.route("/health", body=b"ok"))
    removed = put_event("pulse/myhost.json", event_name="ObjectRemoved:Delete")["Records"][0]
    from_sqs = dict(put_event("pulse/myhost.json")["Records"][0], eventSource="aws:sqs")
    event = {
        "Records": [
            removed,
            from_sqs,
            "not a record",
            {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"},
        ]
    }

    summary = check_echo.handler(event, None)

    assert [r["reason"] for r in summary["results"]] == [
        "not_object_created",
        "not_s3_record",
        "not_s3_record",
        "malformed_record",
    ]
    assert http_server.requests == []
    assert keys_under(env, ECHO_PREFIX) == []


def test_record_from_another_bucket_is_skipped_without_reading_it(env, http_server, logs):
    env.create_bucket(Bucket="someone-elses-bucket")
    env.put_object(
        Bucket="someone-elses-bucket",
        Key="pulse/myhost.json",
        Body=json.dumps({"url": http_server.route("/health", body=b"ok"), "body": "ok"}).encode(),
    )

    summary = check_echo.handler(put_event("pulse/myhost.json", bucket="someone-elses-bucket"), None)

    assert summary["results"][0]["reason"] == "foreign_bucket"
    assert http_server.requests == []
    assert keys_under(env, "") == []
    assert env.list_objects_v2(Bucket="someone-elses-bucket")["KeyCount"] == 1
    assert logs[0]["level"] == "WARNING"


def test_pulse_deleted_before_it_is_read_is_a_logged_skip(env, logs):
    summary = check_echo.handler(put_event("pulse/gone.json"), None)

    assert summary["results"] == [
        {"key": "pulse/gone.json", "host": "gone", "outcome": "skipped", "reason": "pulse_deleted"}
    ]
    assert keys_under(env, "") == []
    assert logs[0]["outcome"] == "skipped"


# --- bad pulses ---


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"body": "ok"}', 'field "body" needs a "url" to probe'),
        (b'{"url": "http://127.0.0.1:1/", "body": ', "not valid JSON"),
        (b'{"url": "http://127.0.0.1:1/", "body": 200}', 'field "body" must be a string'),
        (b'{"url": "file:///etc/passwd", "body": "root"}', "only http and https"),
        (b'{"url": "ftp://myhost.example.com/health", "body": "ok"}', "only http and https"),
        (b'{"url": "/health", "body": "ok"}', "not absolute"),
        (b"", "pulse is empty"),
    ],
)
def test_bad_pulse_writes_a_failure_record_and_no_echo(env, logs, body, detail):
    env.put_object(Bucket=TEST_BUCKET, Key="pulse/myhost.json", Body=body)

    summary = check_echo.handler(put_event("pulse/myhost.json"), None)

    assert summary["results"] == [
        {"key": "pulse/myhost.json", "host": "myhost", "outcome": "bad_pulse", "reason": "bad_pulse"}
    ]
    failure = get_json(env, "failure/myhost.json")
    assert failure["reason"] == "bad_pulse"
    assert detail in failure["detail"]
    assert ISO_UTC.fullmatch(failure["failed_at"])
    assert keys_under(env, ECHO_PREFIX) == []
    (line,) = logs[:-1]
    assert (line["level"], line["key"], line["outcome"]) == ("ERROR", "pulse/myhost.json", "bad_pulse")
    assert detail in line["detail"]


def test_pulse_with_a_utf8_bom_is_accepted(env, http_server):
    url = http_server.route("/health", body=b"ok")
    env.put_object(
        Bucket=TEST_BUCKET,
        Key="pulse/myhost.json",
        Body=b"\xef\xbb\xbf" + json.dumps({"url": url, "body": "ok"}).encode(),
    )

    assert check_echo.handler(put_event("pulse/myhost.json"), None)["outcomes"]["echo"] == 1


def test_oversized_pulse_is_rejected_without_being_read_whole(env, monkeypatch, http_server):
    monkeypatch.setenv("PULSE_MAX_BYTES", "1024")
    url = http_server.route("/health", body=b"ok")
    pulse = json.dumps({"url": url, "body": "ok", "pad": "x" * 200_000}).encode()
    env.put_object(Bucket=TEST_BUCKET, Key="pulse/myhost.json", Body=pulse)
    ranges: list[str | None] = []
    received: list[int] = []
    client = check_echo.s3_client()
    client.meta.events.register(
        "before-send.s3.GetObject",
        lambda request, **_: (
            ranges.append(request.headers.get("Range")) if "/pulse/" in request.url else None
        ),
    )
    client.meta.events.register(
        "after-call.s3.GetObject", lambda parsed, **_: received.append(parsed.get("ContentLength", 0))
    )

    summary = check_echo.handler(put_event("pulse/myhost.json"), None)

    assert summary["results"][0]["outcome"] == "bad_pulse"
    failure = get_json(env, "failure/myhost.json")
    assert f"pulse is {len(pulse)} bytes, over the 1024-byte limit" in failure["detail"]
    assert ranges == [b"bytes=0-1024"]  # botocore sends header values as bytes
    assert received[0] == 1025  # one byte past the cap, not 200 kB (then the previous failure's 404)
    assert http_server.requests == []


def test_pulse_of_exactly_the_cap_is_accepted(env, monkeypatch, http_server):
    url = http_server.route("/health", body=b"ok")
    document = json.dumps({"url": url, "body": "ok", "pad": ""})
    document = document.replace('"pad": ""', '"pad": "' + "x" * (300 - len(document)) + '"')
    assert len(document) == 300
    monkeypatch.setenv("PULSE_MAX_BYTES", "300")
    env.put_object(Bucket=TEST_BUCKET, Key="pulse/myhost.json", Body=document.encode())

    assert check_echo.handler(put_event("pulse/myhost.json"), None)["outcomes"]["echo"] == 1


# --- failed probes ---


def test_wrong_body_failure_record_has_the_excerpts(env, http_server, logs):
    url = http_server.route("/health", body=b"ok\n")
    put_pulse(env, "myhost", url)

    summary = check_echo.handler(put_event("pulse/myhost.json"), None)

    assert summary["results"][0]["reason"] == "wrong_body"
    failure = get_json(env, "failure/myhost.json")
    assert set(failure) == FAILURE_RECORD_FIELDS
    assert failure["url"] == url
    assert failure["http_status"] == 200
    assert isinstance(failure["elapsed_ms"], int)
    assert (failure["expected_excerpt"], failure["received_excerpt"]) == ("ok", "ok\\n")
    assert keys_under(env, ECHO_PREFIX) == []
    line = logs[0]
    assert {"host", "outcome", "reason", "elapsed_ms", "key"} <= set(line)
    assert (line["host"], line["outcome"], line["reason"], line["level"]) == (
        "myhost",
        "failed",
        "wrong_body",
        "WARNING",
    )


def test_target_that_never_answers_is_a_timeout_failure(env, http_server):
    put_pulse(env, "myhost", http_server.route("/health", body=b"ok", delay=3.0))

    summary = check_echo.handler(put_event("pulse/myhost.json"), None)

    assert summary["results"][0]["reason"] == "timeout"
    assert get_json(env, "failure/myhost.json")["http_status"] is None


def test_private_target_is_refused_unless_allowed(env, monkeypatch, http_server):
    put_pulse(env, "myhost", http_server.route("/health", body=b"ok"))
    monkeypatch.delenv("ALLOW_PRIVATE_TARGETS")
    check_echo.config.cache_clear()

    summary = check_echo.handler(put_event("pulse/myhost.json"), None)

    assert summary["results"][0]["reason"] == "private_target"
    assert (
        "allow_private_targets = true (ALLOW_PRIVATE_TARGETS)"
        in get_json(env, "failure/myhost.json")["detail"]
    )
    assert http_server.requests == []

    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "true")
    check_echo.config.cache_clear()

    assert check_echo.handler(put_event("pulse/myhost.json"), None)["outcomes"]["echo"] == 1


# --- infrastructure errors ---


def test_denied_put_raises_after_processing_the_other_records(env, http_server, logs):
    put_pulse(env, "web-1", http_server.route("/one", body=b"ok"))
    put_pulse(env, "web-2", http_server.route("/two", body=b"ok"))
    deny_put(check_echo.s3_client(), "echo/web-1")

    with pytest.raises(check_echo.CheckEchoError, match=r"1 of 2 records.*PutObject: AccessDenied") as error:
        check_echo.handler(load_event("s3_put_two_records_event.json"), None)

    assert isinstance(error.value.__cause__, ClientError)
    assert keys_under(env, ECHO_PREFIX) == ["echo/web-2.json"]
    assert [(line.get("host"), line.get("outcome")) for line in logs[:2]] == [
        ("web-1", "error"),
        ("web-2", "echo"),
    ]
    assert logs[0]["reason"] == "s3_error"
    assert logs[0]["level"] == "ERROR"


def test_denied_get_raises_after_processing_the_other_records(env, http_server):
    put_pulse(env, "web-2", http_server.route("/two", body=b"ok"))

    def deny(params, **_):
        if params.get("Key") == "pulse/web-1.json":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")

    check_echo.s3_client().meta.events.register("provide-client-params.s3.GetObject", deny)

    with pytest.raises(check_echo.CheckEchoError, match="GetObject: AccessDenied"):
        check_echo.handler(load_event("s3_put_two_records_event.json"), None)

    assert keys_under(env, ECHO_PREFIX) == ["echo/web-2.json"]
    assert keys_under(env, FAILURE_PREFIX) == []


def test_no_time_left_is_an_error_so_lambda_retries(env, http_server):
    put_pulse(env, "web-1", http_server.route("/one", body=b"ok"))
    put_pulse(env, "web-2", http_server.route("/two", body=b"ok"))
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: 0)

    with pytest.raises(check_echo.CheckEchoError, match=r"2 of 2 records.*no time left"):
        check_echo.handler(load_event("s3_put_two_records_event.json"), context)

    assert http_server.requests == []


def test_lambda_context_bounds_the_probes_with_a_reserve():
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: 30_000)

    deadline = check_echo.invocation_deadline(context)

    assert deadline is not None
    assert check_echo.invocation_deadline(None) is None


# --- configuration ---


def test_configuration_is_read_once_and_cached(env, monkeypatch):
    first = check_echo.config()
    monkeypatch.setenv("PULSE_MAX_BYTES", "10")

    assert check_echo.config() is first
    assert first.pulse_max_bytes == 65536
    assert first.probe.allow_private_targets is True


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PULSE_ECHO_BUCKET", "", "PULSE_ECHO_BUCKET is required"),
        ("PULSE_ECHO_BUCKET", "作成したバケット", "PULSE_ECHO_BUCKET="),
        ("PULSE_ECHO_BUCKET", "Upper_Case", "PULSE_ECHO_BUCKET="),
        ("PULSE_MAX_BYTES", "0", "PULSE_MAX_BYTES="),
        ("PROBE_MAX_REDIRECTS", "many", "PROBE_MAX_REDIRECTS="),
    ],
)
def test_invalid_configuration_names_the_variable(env, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    check_echo.config.cache_clear()

    with pytest.raises(ConfigError, match=message):
        check_echo.handler(put_event("pulse/myhost.json"), None)
