"""check_echo against hostile and broken input: every case ends in a clear outcome, never a retry loop.

A crash loop here is the handler raising for an input that can never succeed on
retry (Lambda retries an async event twice, then drops it). Infrastructure
errors must raise; bad data must become a logged, counted outcome. Real S3
(moto), a real local HTTP server; nothing is mocked but what S3 would refuse.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from check_echo import handler as check_echo
from check_echo.outcome import logger as check_echo_logger
from pulse_echo.records import FAILURE_RECORD_MAX_BYTES, parse_failure_record

from tests.conftest import TEST_BUCKET, capture_json_logs
from tests.helpers import check_echo_env

S3_KEY_MAX_BYTES = 1024
NO_OUTCOMES = {"echo": 0, "failed": 0, "bad_pulse": 0, "skipped": 0, "error": 0}


@pytest.fixture
def env(s3, monkeypatch):
    """check_echo's environment on moto (tests.helpers.check_echo_env), S3 refusing keys over 1,024 bytes."""
    with check_echo_env(monkeypatch):
        refuse_long_keys(check_echo.s3_client())
        yield s3


@pytest.fixture
def logs():
    """The JSON lines check_echo logs during the test, parsed."""
    with capture_json_logs(check_echo_logger) as lines:
        yield lines


def refuse_long_keys(client) -> None:
    """Answer a request for a key over 1,024 UTF-8 bytes as S3 does (moto accepts them)."""

    def hook(params, model, **_):
        key = params.get("Key")
        if isinstance(key, str) and len(key.encode("utf-8")) > S3_KEY_MAX_BYTES:
            raise ClientError(
                {"Error": {"Code": "KeyTooLongError", "Message": "Your key is too long"}}, model.name
            )

    client.meta.events.register("provide-client-params.s3.*", hook)


def record(raw_key: object, bucket: str = TEST_BUCKET) -> dict:
    """One ObjectCreated:Put record carrying ``raw_key`` exactly as given (not encoded here)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": {"key": raw_key}},
    }


def put_pulse(s3, key: str, document: object) -> None:
    s3.put_object(Bucket=TEST_BUCKET, Key=key, Body=json.dumps(document, ensure_ascii=False).encode())


def keys_under(s3, prefix: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=TEST_BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


# --- the event ---


@pytest.mark.parametrize("event", [[], ["Records"], "Records", None, 42], ids=repr)
def test_event_that_is_not_an_object_is_a_logged_warning_not_a_crash(env, logs, event):
    summary = check_echo.handler(event, None)

    assert summary == {"records": 0, "outcomes": NO_OUTCOMES, "results": []}
    (line,) = logs
    assert (line["level"], line["reason"]) == ("WARNING", "no_records")
    assert "not an S3 notification" in line["detail"]


@pytest.mark.parametrize(
    "s3_part",
    [None, "s3", [], {"bucket": None, "object": {"key": "pulse/a.json"}}, {"bucket": {"name": TEST_BUCKET}}],
    ids=["null", "string", "list", "null-bucket", "no-object"],
)
def test_record_with_a_missing_or_mistyped_s3_part_is_malformed(env, logs, s3_part):
    event = {"Records": [dict(record("pulse/a.json"), s3=s3_part)]}

    summary = check_echo.handler(event, None)

    assert [r["reason"] for r in summary["results"]] == ["malformed_record"]
    assert logs[0]["level"] == "ERROR"


@pytest.mark.parametrize(
    ("raw_key", "why"),
    [
        ("pulse/%FF%FE.json", "not valid percent-encoded UTF-8"),  # bytes that are not UTF-8
        ("pulse/%ED%A0%80.json", "not valid percent-encoded UTF-8"),  # an encoded lone surrogate
        ("pulse/\ud800.json", "not valid percent-encoded UTF-8"),  # a lone surrogate in the JSON itself
        ("pulse/100%.json", "not valid percent-encoded UTF-8"),  # S3 sends a % as %25
        ("pulse/%zz.json", "not valid percent-encoded UTF-8"),
        ("pulse/" + "a" * 1014 + ".json", "longer than S3's 1024-byte key limit"),
    ],
    ids=["not-utf8", "encoded-surrogate", "raw-surrogate", "bare-percent", "bad-escape", "too-long"],
)
def test_key_that_s3_cannot_have_sent_is_skipped_as_malformed_not_retried(env, logs, raw_key, why):
    # Real S3 keys are UTF-8 of at most 1,024 bytes and arrive URL-encoded: any other key
    # is a forged or broken event; decoding it with replacement characters would look
    # for another key (a misleading "pulse_deleted") or crash botocore (a retry loop).
    summary = check_echo.handler({"Records": [record(raw_key)]}, None)

    assert summary["outcomes"] == dict(NO_OUTCOMES, skipped=1)
    assert summary["results"][0]["reason"] == "malformed_record"
    assert why in logs[0]["detail"]
    assert logs[0]["level"] == "ERROR"
    json.dumps(summary).encode("utf-8")  # the summary Lambda returns must serialise
    assert keys_under(env, "") == []


def test_many_records_each_get_an_outcome(env, http_server):
    put_pulse(env, "pulse/web.json", {"url": http_server.route("/h", body=b"ok"), "body": "ok"})
    records = [record("pulse/web.json"), record("echo/web.json"), "junk", record(None)] * 50

    summary = check_echo.handler({"Records": records}, None)

    assert summary["records"] == 200
    assert summary["outcomes"] == dict(NO_OUTCOMES, echo=50, skipped=150)


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("pulse/a.json.json", "a.json"),
        ("pulse/../x.json", "../x"),
        ("pulse/a//b.json", "a//b"),
        ("pulse/dir/.json", "dir/"),
        ("pulse/ .json", " "),
    ],
)
def test_odd_but_valid_keys_are_checked_and_echoed_under_the_same_host(env, http_server, key, host):
    # S3 keys are flat: "..", "//" and a trailing "/" are plain characters, kept as they are.
    put_pulse(env, key, {"url": http_server.route("/h", body=b"ok"), "body": "ok"})

    summary = check_echo.handler({"Records": [record(key.replace(" ", "+"))]}, None)

    assert summary["results"] == [{"key": key, "host": host, "outcome": "echo", "reason": None}]
    assert keys_under(env, "echo/") == [f"echo/{host}.json"]


# --- host names at S3's key limit ---


def test_host_too_long_for_its_failure_record_is_a_logged_failure_without_a_record_not_a_retry(
    env, logs, http_server
):
    # pulse/<host>.json fits in 1,024 bytes, failure/<host>.json (two bytes longer) does not.
    host = "h" * (S3_KEY_MAX_BYTES - len("pulse/.json"))
    key = f"pulse/{host}.json"
    put_pulse(env, key, {"url": http_server.route("/down", status=503, body=b""), "body": "ok"})

    summary = check_echo.handler({"Records": [record(key)]}, None)

    assert summary["outcomes"] == dict(NO_OUTCOMES, failed=1)
    assert summary["results"][0]["reason"] == "http_status"
    assert keys_under(env, "failure/") == []
    line = logs[0]
    assert line["level"] == "ERROR"
    assert "failure record not written" in line["message"]
    assert "1024-byte key limit" in line["detail"]


def test_host_too_long_for_its_failure_record_still_gets_its_echo(env, http_server):
    host = "é" * ((S3_KEY_MAX_BYTES - len("pulse/.json")) // 2)  # 1,012 bytes of UTF-8
    key = f"pulse/{host}.json"
    put_pulse(env, key, {"url": http_server.route("/up", body=b"ok"), "body": "ok"})

    summary = check_echo.handler({"Records": [record(key)]}, None)

    assert summary["outcomes"] == dict(NO_OUTCOMES, echo=1)
    assert keys_under(env, "echo/") == [f"echo/{host}.json"]


def test_bad_pulse_of_a_host_too_long_for_its_failure_record_is_counted_not_retried(env, logs):
    host = "h" * (S3_KEY_MAX_BYTES - len("pulse/.json"))
    key = f"pulse/{host}.json"
    env.put_object(Bucket=TEST_BUCKET, Key=key, Body=b"not json")

    summary = check_echo.handler({"Records": [record(key)]}, None)

    assert summary["outcomes"] == dict(NO_OUTCOMES, bad_pulse=1)
    assert keys_under(env, "failure/") == []
    assert logs[0]["level"] == "ERROR"
    assert "not valid JSON" in logs[0]["detail"]
    assert "failure record not written" in logs[0]["message"]


# --- hostile pulses ---


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"[" * 60_000, "not valid JSON"),  # nesting deeper than the recursion limit
        (b'{"url": "http://h.example/", "body": "ok", "n": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b'{"url": "http://h.example/", "body": "\\ud800"}', 'field "body" is not valid Unicode'),
        (b'{"url": "http://h.example/\\udfff", "body": "ok"}', 'field "url" is not valid Unicode'),
        (b"42", "must be a JSON object, not a number"),
        (b'"ok"', "must be a JSON object, not a string"),
        (b"[]", "must be a JSON object, not an array"),
        (b"null", "must be a JSON object, not null"),
    ],
    ids=[
        "deep-nesting",
        "huge-integer",
        "surrogate-body",
        "surrogate-url",
        "number",
        "string",
        "list",
        "null",
    ],
)
def test_hostile_pulse_is_a_bad_pulse_not_a_retry_loop(env, http_server, body, detail):
    env.put_object(Bucket=TEST_BUCKET, Key="pulse/web.json", Body=body)

    summary = check_echo.handler({"Records": [record("pulse/web.json")]}, None)

    assert summary["results"][0]["outcome"] == "bad_pulse"
    failure = json.loads(env.get_object(Bucket=TEST_BUCKET, Key="failure/web.json")["Body"].read())
    assert detail in failure["detail"]


def test_failure_record_of_a_huge_url_stays_readable_by_check_result(env, http_server):
    # A 60 kB URL (within the 64 KiB pulse), refused with 414: the record quotes the URL in
    # "detail" too; unbounded, it would pass check_result's 64 KiB read cap and be unreadable.
    url = http_server.url("/down?") + "é" * 30_000
    put_pulse(env, "pulse/web.json", {"url": url, "body": "ok"})

    summary = check_echo.handler({"Records": [record("pulse/web.json")]}, None)

    assert summary["results"][0]["reason"] == "http_status"
    data = env.get_object(Bucket=TEST_BUCKET, Key="failure/web.json")["Body"].read()
    assert len(data) < 16 * 1024 < FAILURE_RECORD_MAX_BYTES
    failure = parse_failure_record(data)
    assert (failure.reason, failure.http_status) == ("http_status", 414)
    assert failure.detail.startswith("HTTP 414 from http://")
    assert failure.detail.endswith("…")
    assert failure.url.startswith(url[:100])
    assert failure.url.endswith("…")


def test_empty_expected_body_matches_only_an_empty_answer(env, http_server):
    # Judgment call: "" is a valid expectation (a 204 health check), not "anything goes".
    put_pulse(env, "pulse/empty.json", {"url": http_server.route("/204", status=204, body=b""), "body": ""})
    put_pulse(env, "pulse/full.json", {"url": http_server.route("/200", body=b"ok"), "body": ""})

    summary = check_echo.handler({"Records": [record("pulse/empty.json"), record("pulse/full.json")]}, None)

    assert [(r["host"], r["outcome"], r["reason"]) for r in summary["results"]] == [
        ("empty", "echo", None),
        ("full", "failed", "wrong_body"),
    ]


def test_expected_body_with_nul_and_control_characters_is_compared_exactly(env, http_server):
    url = http_server.route("/h", body=b"a\x00b\x1b[31m\r\n")
    put_pulse(env, "pulse/web.json", {"url": url, "body": "a\x00b\x1b[31m\r\n"})
    put_pulse(env, "pulse/other.json", {"url": url, "body": "a\x00b"})

    summary = check_echo.handler({"Records": [record("pulse/web.json"), record("pulse/other.json")]}, None)

    assert [(r["outcome"], r["reason"]) for r in summary["results"]] == [
        ("echo", None),
        ("failed", "wrong_body"),
    ]
    failure = json.loads(env.get_object(Bucket=TEST_BUCKET, Key="failure/other.json")["Body"].read())
    assert failure["received_excerpt"] == "a\\x00b\\x1b[31m\\r\\n"  # escaped, one line


@pytest.mark.parametrize("url", ["http://[::1]:1/health", "http://[::ffff:127.0.0.1]:1/", "http://0x7f.1:1/"])
def test_loopback_written_in_any_form_is_refused_as_private(env, monkeypatch, url):
    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "false")
    check_echo.config.cache_clear()
    put_pulse(env, "pulse/web.json", {"url": url, "body": "ok"})

    summary = check_echo.handler({"Records": [record("pulse/web.json")]}, None)

    assert summary["results"][0]["reason"] == "private_target"
