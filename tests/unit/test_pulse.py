"""Parsing and validating a pulse (pure: no AWS, no network)."""

from __future__ import annotations

import codecs
import json

import pytest
from check_echo.pulse import Pulse, PulseError, parse_pulse, validate_url


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
        (b'{"body": "ok"}', 'no "url" field'),
        (b'{"url": "http://h.example/"}', 'no "body" field'),
        (b'{"url": "http://h.example/", "body": ', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"url=http://h.example/", "not valid JSON"),
        (b'["http://h.example/", "ok"]', "must be a JSON object, not an array"),
        (b"null", "must be a JSON object, not null"),
        (b'{"url": "http://h.example/", "body": 1}', 'field "body" must be a string, not a number'),
        (b'{"url": "http://h.example/", "body": null}', 'field "body" must be a string, not null'),
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
