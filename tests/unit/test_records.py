"""The failure record codec (pulse_echo.records): what check_echo writes, what readers make of it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from pulse_echo.records import FailureRecord, parse_failure_record

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
SEC = timedelta(seconds=1)


def test_parse_failure_record() -> None:
    record = parse_failure_record(
        "\ufeff".encode()
        + json.dumps(
            {
                "failed_at": "2026-01-01T10:00:05Z",
                "url": "https://h/health",
                "reason": "wrong_body",
                "detail": "d",
                "http_status": 200,
                "elapsed_ms": 12,
                "expected_excerpt": "ok",
                "received_excerpt": "no",
            }
        ).encode()
    )
    assert record == FailureRecord(
        reason="wrong_body",
        detail="d",
        failed_at=T0 + 5 * SEC,
        url="https://h/health",
        http_status=200,
        elapsed_ms=12,
        expected_excerpt="ok",
        received_excerpt="no",
    )
    odd = parse_failure_record(b'{"failed_at": "yesterday", "http_status": "500", "reason": 7}')
    assert (odd.reason, odd.failed_at, odd.http_status) == ("unknown", None, None)
    for bad in (b"not json", b"[]", b"\xff\xfe"):
        with pytest.raises(ValueError, match="failure record"):
            parse_failure_record(bad)
