"""check_echo with pulse v2 (DESIGN §2b): heartbeats, job results, the match rules, failing_since,
and every bad value of every field, each through the handler: real S3 events against moto's S3
and a real local HTTP server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from check_echo import check as check_module
from check_echo import handler as check_echo
from pulse_echo.records import JOB_FIELDS, RECORD_DETAIL_MAX_CHARS

from tests.conftest import TEST_BUCKET
from tests.helpers import (
    BAD_PULSE_FIELDS,
    FAILURE_RECORD_FIELDS,
    PULSE_NOW,
    get_json,
    keys_under,
    put_event,
)


@pytest.fixture
def s3_calls(check_echo_s3):
    """The S3 operations check_echo's client makes during the test, in order."""
    calls: list[str] = []
    check_echo.s3_client().meta.events.register(
        "before-call.s3.*", lambda model, **_: calls.append(model.name)
    )
    return calls


def send(s3, document: object, host: str = "myhost") -> dict:
    """Upload ``document`` as ``pulse/<host>.json`` and run the handler on its event; its summary."""
    s3.put_object(Bucket=TEST_BUCKET, Key=f"pulse/{host}.json", Body=json.dumps(document).encode("ascii"))
    return check_echo.handler(put_event(f"pulse/{host}.json"), None)


def outcome_of(summary: dict) -> tuple[str, str | None]:
    (result,) = summary["results"]
    return result["outcome"], result["reason"]


def record_line(check_echo_logs: list[dict]) -> dict:
    """The one log line about the record (not the event summary)."""
    (line,) = [line for line in check_echo_logs if "outcome" in line]
    return line


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- heartbeats ---


def test_heartbeat_upload_is_the_success_nothing_probed(
    check_echo_s3, http_server, check_echo_logs, s3_calls
):
    summary = send(check_echo_s3, {})

    assert outcome_of(summary) == ("echo", None)
    echo = get_json(check_echo_s3, "echo/myhost.json")
    assert echo["kind"] == "heartbeat"
    assert [echo[name] for name in ("url", "http_status", "elapsed_ms", *JOB_FIELDS)] == [None] * 6
    assert keys_under(check_echo_s3, "failure/") == []
    assert http_server.requests == []
    assert s3_calls == ["GetObject", "PutObject"]  # the pulse, the echo: no failure-side reads
    line = record_line(check_echo_logs)
    assert (line["outcome"], line["kind"], line["reason"], line["elapsed_ms"]) == (
        "echo",
        "heartbeat",
        None,
        None,
    )
    assert "heartbeat" in line["detail"]


def test_heartbeat_with_its_own_threshold_and_a_pause_is_still_a_heartbeat(check_echo_s3):
    pause = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    summary = send(check_echo_s3, {"stale_after_minutes": 1500, "pause_until": pause, "note": "my own field"})

    assert outcome_of(summary) == ("echo", None)
    assert get_json(check_echo_s3, "echo/myhost.json")["kind"] == "heartbeat"


# --- job results ---


def test_job_reporting_ok_without_url_writes_an_echo_with_its_report(
    check_echo_s3, http_server, check_echo_logs
):
    summary = send(
        check_echo_s3, {"result": "ok", "exit_code": 0, "duration_seconds": 42.5, "message": "12 GB saved"}
    )

    assert outcome_of(summary) == ("echo", None)
    echo = get_json(check_echo_s3, "echo/myhost.json")
    assert (echo["kind"], echo["exit_code"], echo["duration_seconds"], echo["message"]) == (
        "job",
        0,
        42.5,
        "12 GB saved",
    )
    assert echo["url"] is None
    assert http_server.requests == []
    line = record_line(check_echo_logs)
    assert line["kind"] == "job"
    assert "the job reported ok (exit code 0, 42.5 s)" in line["detail"]


def test_job_failure_is_a_job_failed_record_quoting_its_message_never_probed(
    check_echo_s3, http_server, check_echo_logs
):
    url = http_server.route("/health", body=b"ok")
    summary = send(
        check_echo_s3,
        {"url": url, "result": "fail", "exit_code": 2, "duration_seconds": 3.25, "message": "disk full\n"},
    )

    assert outcome_of(summary) == ("failed", "job_failed")
    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert set(failure) == FAILURE_RECORD_FIELDS
    assert (failure["reason"], failure["detail"], failure["kind"]) == ("job_failed", "disk full\n", "job")
    assert (failure["exit_code"], failure["duration_seconds"], failure["message"]) == (2, 3.25, "disk full\n")
    assert failure["url"] == url
    assert failure["http_status"] is None
    assert failure["failing_since"] == failure["failed_at"]
    assert keys_under(check_echo_s3, "echo/") == []
    assert http_server.requests == []
    line = record_line(check_echo_logs)
    assert (line["outcome"], line["reason"], line["kind"], line["level"]) == (
        "failed",
        "job_failed",
        "job",
        "WARNING",
    )
    assert line["detail"] == "the job reported a failure (exit code 2, 3.25 s): disk full\n"


def test_job_failure_without_a_message_still_says_what_it_measured(check_echo_s3, check_echo_logs):
    summary = send(check_echo_s3, {"result": "fail", "exit_code": 137})

    assert outcome_of(summary) == ("failed", "job_failed")
    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert (failure["detail"], failure["message"], failure["exit_code"]) == ("", None, 137)
    assert record_line(check_echo_logs)["detail"] == "the job reported a failure (exit code 137)"


def test_hostile_job_output_is_kept_as_text_and_clipped(check_echo_s3):
    message = "\x1b[31m<!channel> <@U123> *bold*\r\n\x00" + "x" * 60_000
    summary = send(check_echo_s3, {"result": "fail", "exit_code": 1, "message": message})

    assert outcome_of(summary) == ("failed", "job_failed")
    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert len(failure["message"]) == len(failure["detail"]) == RECORD_DETAIL_MAX_CHARS
    assert failure["message"].startswith("\x1b[31m<!channel> <@U123> *bold*\r\n\x00xxx")
    assert failure["message"].endswith("…")


def test_job_reporting_ok_with_a_url_is_probed_and_its_echo_keeps_the_report(check_echo_s3, http_server):
    url = http_server.route("/health", body=b"ok")
    summary = send(
        check_echo_s3, {"url": url, "body": "ok", "result": "ok", "exit_code": 0, "duration_seconds": 1}
    )

    assert outcome_of(summary) == ("echo", None)
    echo = get_json(check_echo_s3, "echo/myhost.json")
    assert (echo["kind"], echo["http_status"], echo["exit_code"], echo["duration_seconds"]) == (
        "job",
        200,
        0,
        1,
    )
    assert len(http_server.requests_to("/health")) == 1


def test_job_reporting_ok_whose_url_fails_records_the_probe_failure_and_the_report(
    check_echo_s3, http_server
):
    url = http_server.route("/health", status=503, body=b"")
    summary = send(check_echo_s3, {"url": url, "result": "ok", "exit_code": 0})

    assert outcome_of(summary) == ("failed", "http_status")
    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert (failure["kind"], failure["http_status"], failure["exit_code"]) == ("job", 503, 0)


# --- the match rules, through the handler ---


def test_original_two_field_pulse_behaves_as_before(check_echo_s3, http_server):
    url = http_server.route("/health", body=b"ok")

    assert outcome_of(send(check_echo_s3, {"url": url, "body": "ok"})) == ("echo", None)
    echo = get_json(check_echo_s3, "echo/myhost.json")
    assert (echo["kind"], echo["url"], echo["http_status"]) == ("probe", url, 200)
    assert [echo[name] for name in JOB_FIELDS] == [None] * 3


def test_contains_miss_is_a_wrong_body_record_naming_the_text(check_echo_s3, http_server):
    url = http_server.route("/health", body=b'{"status": "fail", "version": "1.2"}')

    assert outcome_of(send(check_echo_s3, {"url": url, "contains": ['"version"', '"status": "pass"']})) == (
        "failed",
        "wrong_body",
    )
    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert 'does not contain ""status": "pass""' in failure["detail"]
    assert failure["expected_excerpt"] == '"status": "pass"'
    assert failure["received_excerpt"] == '{"status": "fail", "version": "1.2"}'
    assert failure["kind"] == "probe"


def test_status_list_accepts_a_401_and_refuses_a_200(check_echo_s3, http_server):
    url = http_server.route("/private", status=401, body=b"")
    assert outcome_of(send(check_echo_s3, {"url": url, "status": [401, 403]})) == ("echo", None)
    assert get_json(check_echo_s3, "echo/myhost.json")["http_status"] == 401

    url = http_server.route("/open", body=b"")
    assert outcome_of(send(check_echo_s3, {"url": url, "status": 401})) == ("failed", "http_status")
    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert failure["http_status"] == 200
    assert failure["detail"].endswith("(the pulse accepts 401)")


def test_status_only_pulse_succeeds_on_a_2xx(check_echo_s3, http_server):
    url = http_server.route("/health", status=204, body=b"")

    assert outcome_of(send(check_echo_s3, {"url": url})) == ("echo", None)


def test_slow_answer_is_a_slow_record_with_both_numbers(check_echo_s3, http_server):
    url = http_server.route("/slow", body=b"ok", delay=0.2)

    assert outcome_of(send(check_echo_s3, {"url": url, "body": "ok", "max_response_ms": 1})) == (
        "failed",
        "slow",
    )
    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert failure["elapsed_ms"] >= 200
    assert f"answered in {failure['elapsed_ms']} ms" in failure["detail"]
    assert "max_response_ms of 1 ms" in failure["detail"]
    assert failure["http_status"] == 200


# --- bad pulses: every bad value of every field ---


@pytest.mark.parametrize(("document", "field", "words"), BAD_PULSE_FIELDS)
def test_every_bad_value_of_every_field_is_a_bad_pulse_record_naming_the_field(
    check_echo_s3, http_server, check_echo_logs, monkeypatch, document, field, words
):
    monkeypatch.setattr(check_module, "utcnow", lambda: PULSE_NOW)  # pause_until is judged against it

    summary = send(check_echo_s3, document)

    assert outcome_of(summary) == ("bad_pulse", "bad_pulse")
    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert failure["reason"] == "bad_pulse"
    assert field in failure["detail"]
    assert words in failure["detail"]
    assert failure["kind"] is None
    assert failure["failed_at"] == "2026-01-01T10:00:00Z"
    assert keys_under(check_echo_s3, "echo/") == []
    assert http_server.requests == []
    line = record_line(check_echo_logs)
    assert (line["outcome"], line["level"], line["kind"]) == ("bad_pulse", "ERROR", None)


# --- failing_since: the start of the current run of failures ---


RUN = {"failed_at": "2026-01-01T09:50:00Z", "failing_since": "2026-01-01T08:00:00Z", "reason": "dns"}
"""A previous failure record: the run of failures began at 08:00."""


def put_failure(s3, **fields: object) -> None:
    """Write a previous ``failure/myhost.json`` with ``fields``."""
    s3.put_object(Bucket=TEST_BUCKET, Key="failure/myhost.json", Body=json.dumps(fields).encode())


def test_first_failure_starts_the_run(check_echo_s3, s3_calls):
    assert outcome_of(send(check_echo_s3, {"result": "fail"})) == ("failed", "job_failed")

    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert failure["failing_since"] == failure["failed_at"]
    assert s3_calls == ["GetObject", "GetObject", "PutObject"]  # no previous failure: no HEAD of the echo


def test_failure_after_failure_keeps_the_start_of_the_run(check_echo_s3, s3_calls):
    put_failure(check_echo_s3, **RUN)

    send(check_echo_s3, {"result": "fail"})

    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert failure["failing_since"] == "2026-01-01T08:00:00Z"
    assert failure["failed_at"] != "2026-01-01T09:50:00Z"
    assert s3_calls == ["GetObject", "GetObject", "HeadObject", "PutObject"]


def test_failure_record_from_before_failing_since_starts_the_run_at_its_failed_at(check_echo_s3):
    put_failure(check_echo_s3, failed_at="2026-01-01T09:50:00Z", reason="timeout", detail="old record")

    send(check_echo_s3, {"result": "fail"})

    assert get_json(check_echo_s3, "failure/myhost.json")["failing_since"] == "2026-01-01T09:50:00Z"


def test_failure_after_a_success_starts_a_new_run(check_echo_s3, http_server, s3_seed):
    put_failure(check_echo_s3, **RUN)
    s3_seed.put("echo/myhost.json", b"{}", datetime(2026, 1, 1, 9, 55, tzinfo=timezone.utc))

    send(check_echo_s3, {"result": "fail"})

    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert failure["failing_since"] == failure["failed_at"]


def test_failure_newer_than_the_last_success_carries_the_run_on(check_echo_s3, s3_seed):
    s3_seed.put("echo/myhost.json", b"{}", datetime(2026, 1, 1, 7, 0, tzinfo=timezone.utc))
    put_failure(check_echo_s3, **RUN)

    send(check_echo_s3, {"result": "fail"})

    assert get_json(check_echo_s3, "failure/myhost.json")["failing_since"] == "2026-01-01T08:00:00Z"


def test_every_kind_of_failure_carries_the_run_on(check_echo_s3, http_server):
    put_failure(check_echo_s3, **RUN)

    send(check_echo_s3, {"url": http_server.url("/nowhere")})  # http_status
    assert get_json(check_echo_s3, "failure/myhost.json")["failing_since"] == "2026-01-01T08:00:00Z"
    send(check_echo_s3, {"body": "no url"})  # bad_pulse
    assert get_json(check_echo_s3, "failure/myhost.json")["failing_since"] == "2026-01-01T08:00:00Z"


def test_previous_failure_with_no_date_but_its_last_modified_carries_the_run_on(check_echo_s3, s3_seed):
    s3_seed.put(
        "failure/myhost.json",
        json.dumps({"reason": "dns", "failed_at": "not a time"}),
        datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc),
    )

    send(check_echo_s3, {"result": "fail"})

    assert get_json(check_echo_s3, "failure/myhost.json")["failing_since"] == "2026-01-01T09:00:00Z"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b"\xff\xfe", b"", json.dumps({"pad": "x" * 70_000}).encode()],
    ids=["not-json", "not-an-object", "not-utf8", "empty", "too-large"],
)
def test_unreadable_previous_failure_means_the_run_starts_now(check_echo_s3, body):
    check_echo_s3.put_object(Bucket=TEST_BUCKET, Key="failure/myhost.json", Body=body)

    assert outcome_of(send(check_echo_s3, {"result": "fail"})) == ("failed", "job_failed")

    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert failure["failing_since"] == failure["failed_at"]


@pytest.mark.parametrize("operation", ["GetObject", "HeadObject"])
def test_s3_refusing_the_reads_dates_the_run_from_now_and_still_records_it(
    check_echo_s3, check_echo_logs, operation
):
    put_failure(check_echo_s3, **RUN)

    def deny(params, **_):
        if not params.get("Key", "").startswith("pulse/"):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, operation)

    check_echo.s3_client().meta.events.register(f"provide-client-params.s3.{operation}", deny)

    assert outcome_of(send(check_echo_s3, {"result": "fail"})) == ("failed", "job_failed")

    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert failure["failing_since"] == failure["failed_at"]
    (warning,) = [
        line
        for line in check_echo_logs
        if line["level"] == "WARNING" and "run of failures" in line["message"]
    ]
    assert f"{operation}: AccessDenied" in warning["detail"]
    assert warning["host"] == "myhost"


def test_failing_since_is_never_in_the_future(check_echo_s3):
    put_failure(
        check_echo_s3,
        failed_at="2999-01-01T00:00:00Z",
        failing_since="2999-01-01T00:00:00Z",
        reason="dns",
    )

    send(check_echo_s3, {"result": "fail"})

    failure = get_json(check_echo_s3, "failure/myhost.json")
    assert utc(failure["failing_since"]) <= utc(failure["failed_at"])


def test_success_reads_nothing_but_the_pulse(check_echo_s3, http_server, s3_calls):
    url = http_server.route("/health", body=b"ok")
    put_failure(check_echo_s3, failed_at="2026-01-01T09:50:00Z", reason="dns")
    s3_calls.clear()

    send(check_echo_s3, {"url": url, "body": "ok"})

    assert s3_calls == ["GetObject", "PutObject"]


# --- docs/internals.md shows the records as check_echo writes them ---


def test_internals_shows_an_echo_and_a_failure_record_as_check_echo_writes_them(check_echo_s3, monkeypatch):
    from tests.unit.test_docs import ROOT, split_markdown

    _, blocks = split_markdown((ROOT / "docs" / "internals.md").read_text(encoding="utf-8"))
    shown = [json.loads(block.text) for block in blocks if block.lang == "json"]
    monkeypatch.setattr(check_module, "utcnow", lambda: datetime(2026, 1, 1, 2, 42, tzinfo=timezone.utc))

    send(check_echo_s3, {"result": "ok", "exit_code": 0, "duration_seconds": 754, "message": "12 GB saved"})
    echo = get_json(check_echo_s3, "echo/myhost.json")
    send(check_echo_s3, {"result": "fail", "exit_code": 2, "duration_seconds": 3, "message": "disk full"})
    failure = get_json(check_echo_s3, "failure/myhost.json")

    assert [list(record.items()) for record in shown if "checked_at" in record] == [list(echo.items())]
    assert [list(record.items()) for record in shown if "failed_at" in record] == [list(failure.items())]
