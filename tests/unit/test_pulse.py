"""Parsing and validating a pulse (pure: no AWS, no network)."""

from __future__ import annotations

import codecs
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from pulse_echo.pulse import (
    KIND_HEARTBEAT,
    KIND_JOB,
    KIND_PROBE,
    Pulse,
    PulseError,
    parse_pulse,
    validate_url,
)

from tests.helpers import BAD_PULSE_FIELDS, PULSE_NOW


def pulse_bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def test_valid_pulse_is_parsed():
    assert parse_pulse(b'{"url": "https://myhost.example.com/health", "body": "ok"}') == Pulse(
        url="https://myhost.example.com/health", body="ok"
    )


def test_utf8_bom_is_tolerated():
    data = codecs.BOM_UTF8 + b'{"url": "http://myhost.example.com/", "body": "ok"}'

    assert parse_pulse(data) == Pulse("http://myhost.example.com/", "ok")


def test_body_is_kept_exactly_whitespace_and_non_ascii_included():
    pulse = parse_pulse(pulse_bytes({"url": "http://h.example/", "body": " 稼働中\n"}))

    assert pulse.body == " 稼働中\n"


def test_unknown_fields_are_ignored():
    pulse = parse_pulse(pulse_bytes({"url": "http://h.example/", "body": "ok", "interval": 600}))

    assert pulse == Pulse("http://h.example/", "ok")


def test_empty_body_is_a_valid_expectation():
    assert parse_pulse(pulse_bytes({"url": "http://h.example/", "body": ""})).body == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"body": "ok"}', 'field "body" needs a "url" to probe'),
        (b'{"url": "http://h.example/", "body": ', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"url=http://h.example/", "not valid JSON"),
        (b'["http://h.example/", "ok"]', "must be a JSON object, not an array"),
        (b"null", "must be a JSON object, not null"),
        (b'{"url": "http://h.example/", "body": 1}', 'field "body" must be a string, not a number'),
        (b'{"url": "http://h.example/", "body": true}', "not a boolean"),
        (b'{"url": ["http://h.example/"], "body": "ok"}', 'field "url" must be a string, not an array'),
        (b'{"url": "http://h.example/", "body": {"status": "ok"}}', "not an object"),
        (b'\xff\xfe{"url": "http://h.example/", "body": "ok"}', "not UTF-8"),
        ('{"url": "http://h.example/", "body": "ok"}'.encode("utf-16"), "not UTF-8"),
    ],
)
def test_invalid_pulse_is_rejected_with_a_clear_message(data, message):
    with pytest.raises(PulseError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_pulse(data)


@pytest.mark.parametrize(
    "url",
    [
        "http://myhost.example.com/health",
        "https://myhost.example.com:8443/health?verbose=1",
        "HTTPS://MYHOST.EXAMPLE.COM/",
        "http://192.0.2.10/",
        "http://[2001:db8::1]:8080/health",
        "https://bücher.example/health",
    ],
)
def test_absolute_http_urls_are_accepted(url):
    assert validate_url(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("ftp://myhost.example.com/health", "scheme 'ftp'"),
        ("gopher://myhost.example.com/", "scheme 'gopher'"),
        ("/health", "not absolute"),
        ("myhost.example.com/health", "not absolute"),
        ("//myhost.example.com/health", "not absolute"),
        ("http:///health", "no host"),
        ("https://", "no host"),
        ("http://myhost.example.com:99999/", "not a valid URL"),
        ("http://myhost.example.com:http/", "not a valid URL"),
        ("http://[::1/", "not a valid URL"),
        ("http://myhost.example.com:0/", "port 0"),
        ("http://user:secret@myhost.example.com/", "credentials"),
        ("http://myhost.example.com/he alth", "whitespace"),
        ("http://myhost.example.com/\r\nX-Injected: 1", "control characters"),
        ("", "empty"),
    ],
)
def test_invalid_urls_are_rejected_with_a_clear_message(url, message):
    with pytest.raises(PulseError, match=message):
        validate_url(url)


def test_credentials_are_not_echoed_in_the_error():
    with pytest.raises(PulseError) as error:
        validate_url("https://admin:hunter2@myhost.example.com/")

    assert "hunter2" not in str(error.value)


def test_invalid_url_in_a_pulse_names_the_url():
    with pytest.raises(PulseError, match="file:///etc/passwd"):
        parse_pulse(pulse_bytes({"url": "file:///etc/passwd", "body": "root"}))


# --- pulse version 2 (docs/DESIGN.md §2b) ---

NOW = PULSE_NOW


def parse(document: dict) -> Pulse:
    """Parse ``document`` as a host would send it (non-ASCII escaped, so a lone surrogate can be sent)."""
    return parse_pulse(json.dumps(document).encode("ascii"), now=NOW)


def test_the_original_two_field_pulse_keeps_its_meaning():
    pulse = parse({"url": "https://h.example/health", "body": "ok"})

    assert pulse == Pulse(url="https://h.example/health", body="ok")
    assert pulse.kind == KIND_PROBE
    assert pulse.probes
    assert pulse.accepts_status(200)
    assert pulse.accepts_status(299)
    assert not pulse.accepts_status(301)
    assert not pulse.accepts_status(401)
    assert pulse.threshold(timedelta(minutes=15)) == timedelta(minutes=15)


def test_an_empty_object_is_a_heartbeat():
    pulse = parse({})

    assert pulse == Pulse()
    assert pulse.kind == KIND_HEARTBEAT
    assert not pulse.probes


def test_a_url_alone_is_a_status_only_probe():
    pulse = parse({"url": "https://h.example/health"})

    assert pulse.kind == KIND_PROBE
    assert pulse.body is None
    assert pulse.contains == ()


def test_null_fields_count_as_absent():
    assert parse({"url": None, "body": None, "stale_after_minutes": None}) == Pulse()


def test_every_v2_field_is_read():
    pulse = parse(
        {
            "url": "https://h.example/health",
            "body": "ok",
            "contains": ['"status":"pass"', "db"],
            "status": [200, 401],
            "max_response_ms": 800,
            "stale_after_minutes": 1500,
            "result": "ok",
            "message": "backup done: 12 GB",
            "exit_code": 0,
            "duration_seconds": 42.5,
            "pause_until": "2026-01-01T11:00:00+01:00",
            "interval": "my own field",
        }
    )

    assert pulse.contains == ('"status":"pass"', "db")
    assert pulse.status == (200, 401)
    assert pulse.accepts_status(401)
    assert not pulse.accepts_status(204)
    assert pulse.max_response_ms == 800
    assert pulse.threshold(timedelta(minutes=15)) == timedelta(minutes=1500)
    assert pulse.kind == KIND_JOB
    assert (pulse.message, pulse.exit_code, pulse.duration_seconds) == ("backup done: 12 GB", 0, 42.5)
    assert pulse.pause_until == datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)
    assert not pulse.paused_at(NOW)  # the pause ends at 10:00 UTC: not paused at 10:00


def test_single_values_of_list_fields_become_one_element_lists():
    pulse = parse({"url": "https://h.example/", "contains": "pass", "status": 204})

    assert (pulse.contains, pulse.status) == (("pass",), (204,))


def test_a_failed_job_is_never_probed_even_with_a_url():
    pulse = parse({"url": "https://h.example/", "result": "fail", "message": "disk full", "exit_code": 2})

    assert pulse.failed
    assert not pulse.probes
    assert pulse.kind == KIND_JOB


def test_a_job_without_url_reporting_success_is_a_job():
    pulse = parse({"result": "ok", "exit_code": 0, "duration_seconds": 3})

    assert pulse.kind == KIND_JOB
    assert not pulse.failed
    assert not pulse.probes


def test_a_pause_ahead_pauses_until_it_ends():
    pulse = parse({"pause_until": "2026-01-01T10:30:00Z"})

    assert pulse.paused_at(NOW)
    assert not pulse.paused_at(NOW + timedelta(minutes=30))


def test_a_pause_in_the_past_is_no_pause_and_valid():
    assert not parse({"pause_until": "2025-12-31T00:00:00Z"}).paused_at(NOW)


def test_a_pause_of_exactly_seven_days_is_accepted():
    assert parse({"pause_until": "2026-01-08T10:00:00Z"}).paused_at(NOW)


@pytest.mark.parametrize(("document", "field", "message"), BAD_PULSE_FIELDS)
def test_every_bad_value_of_every_field_is_a_pulse_error_naming_the_field(document, field, message):
    with pytest.raises(PulseError, match=re.escape(message)) as error:
        parse(document)

    assert error.value.field == field
    assert f'"{field}"' in str(error.value) or field == "url"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(literal):
    for field in ("stale_after_minutes", "duration_seconds"):
        with pytest.raises(PulseError) as error:
            parse_pulse(f'{{"{field}": {literal}}}'.encode(), now=NOW)
        assert error.value.field == field


def test_a_document_level_error_names_no_field():
    with pytest.raises(PulseError) as error:
        parse_pulse(b"[1, 2]", now=NOW)

    assert error.value.field is None


def test_the_error_never_repeats_a_long_value_whole():
    with pytest.raises(PulseError) as error:
        parse({"result": "x" * 5000})

    assert len(str(error.value)) < 200
