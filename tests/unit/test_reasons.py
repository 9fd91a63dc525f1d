"""Reason codes become words in one place: pulse_echo.reasons."""

from __future__ import annotations

import pytest
from pulse_echo.reasons import reason_from_failure
from pulse_echo.records import FailureRecord


def test_wrong_body_reason_quotes_short_escaped_excerpts() -> None:
    record = FailureRecord(
        reason="wrong_body",
        detail="HTTP 200 but the body differs",
        http_status=200,
        expected_excerpt="ok",
        received_excerpt="<html>\\n  <b>maintenance</b>\x07" + "x" * 200,
    )
    reason = reason_from_failure(record)
    assert reason.detail.startswith(
        'wrong body (HTTP 200): expected "ok", received "<html>\\n  <b>maintenance</b>\\x07'
    )
    assert reason.detail.endswith('…"')
    assert "\n" not in reason.detail
    assert "\x07" not in reason.detail
    assert len(reason.detail) < 200


@pytest.mark.parametrize(
    ("code", "detail", "expected"),
    [
        ("timeout", "h sent nothing for 5 s", "timeout: h sent nothing for 5 s"),
        (
            "dns",
            "cannot resolve h: Name or service not known",
            "DNS error: cannot resolve h: Name or service not known",
        ),
        (
            "tls",
            "TLS with h failed: certificate expired",
            "TLS error: TLS with h failed: certificate expired",
        ),
        ("connection", "cannot connect to h: refused", "connection error: cannot connect to h: refused"),
        ("http_status", "", "HTTP 500"),
        ("brand_new_code", "something", "brand_new_code: something"),
    ],
)
def test_reason_texts(code: str, detail: str, expected: str) -> None:
    assert reason_from_failure(FailureRecord(reason=code, detail=detail, http_status=500)).detail == expected
