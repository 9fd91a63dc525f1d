"""The state document (check_result.state): its bytes round-trip and bad ones are refused."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from check_result import state as codec
from check_result.model import STATUS_DOWN, STATUS_NEW
from check_result.state import HostState, PendingSns, StateDocument, StateFormatError

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)


# --- state document ---


def test_state_document_round_trips_exactly() -> None:
    hosts = {
        "web 1/ü+%": HostState(
            STATUS_DOWN, since=T0, last_ok_at=T0, notified_at=T0 + timedelta(microseconds=123456)
        ),
        "new": HostState(STATUS_NEW, since=T0 + SEC),
        "never": HostState(STATUS_DOWN, since=T0, last_ok_at=None, notified_at=T0 + 16 * MIN),
    }
    data = codec.encode_state(hosts, updated_at=T0, run_id="run-1")
    assert codec.decode_state(data) == hosts
    document = json.loads(data)
    assert document["schema"] == 1
    assert document["run_id"] == "run-1"
    assert document["hosts"]["new"] == {
        "status": "new",
        "since": "2026-01-01T10:00:01Z",
        "last_ok_at": None,
        "notified_at": None,
    }


def test_state_document_round_trips_the_pending_sns_messages_oldest_first() -> None:
    hosts = {"web-1": HostState(STATUS_DOWN, since=T0, last_ok_at=T0, notified_at=T0 + 20 * MIN)}
    pending = (
        PendingSns(
            "run-1", T0 + 20 * MIN, '{"schema":"pulse-echo.alert/1","ü":"\\n"}', "pulse-echo b: 1 down"
        ),
        PendingSns("run-2", T0 + timedelta(minutes=30, microseconds=5), "{}", None),
    )
    data = codec.encode_state(hosts, updated_at=T0, run_id="run-2", pending_sns=pending)
    assert codec.decode_state_document(data) == StateDocument(hosts=hosts, pending_sns=pending)
    assert codec.decode_state(data) == hosts
    assert json.loads(data)["pending_sns"][0] == {
        "run_id": "run-1",
        "created_at": "2026-01-01T10:20:00Z",
        "message": '{"schema":"pulse-echo.alert/1","ü":"\\n"}',
        "subject": "pulse-echo b: 1 down",
    }


def test_state_document_without_pending_sns_is_schema_1_as_before() -> None:
    data = codec.encode_state({}, updated_at=T0, run_id="run-1")
    assert json.loads(data) == {
        "schema": 1,
        "updated_at": "2026-01-01T10:00:00Z",
        "run_id": "run-1",
        "hosts": {},
    }
    old = b'{"schema": 1, "hosts": {"h": {"status": "new", "since": "2026-01-01T10:00:00Z"}}}'
    assert codec.decode_state_document(old) == StateDocument(hosts={"h": HostState(STATUS_NEW, since=T0)})
    assert codec.decode_state_document(old).pending_sns == ()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"[]",
        b'{"schema": 2, "hosts": {}}',
        b'{"schema": 1}',
        b'{"schema": 1, "hosts": {"h": {"status": "up", "since": "2026-01-01T00:00:00Z"}}}',
        b'{"schema": 1, "hosts": {"h": {"status": "down", "since": "soon"}}}',
        b'{"schema": 1, "hosts": {"h": {"status": "down"}}}',
        b'{"schema": 1, "hosts": {"h": {"status": "down", "since": 5}}}',
        *(
            json.dumps({"schema": 1, "hosts": {}, "pending_sns": pending}).encode()
            for pending in [
                {},
                ["x"],
                [{"run_id": "r", "message": "m"}],
                [{"run_id": "r", "message": "m", "created_at": 5}],
                [{"run_id": "r", "message": "m", "created_at": "soon"}],
                [{"run_id": "r", "message": 1, "created_at": "2026-01-01T00:00:00Z"}],
                [{"run_id": None, "message": "m", "created_at": "2026-01-01T00:00:00Z"}],
                [{"run_id": "r", "message": "m", "created_at": "2026-01-01T00:00:00Z", "subject": 1}],
            ]
        ),
    ],
)
def test_state_document_errors(data: bytes) -> None:
    with pytest.raises(StateFormatError):
        codec.decode_state(data)
