"""The history of status changes, written by check_result (check_result.history): its codec, the
key layout, what a run records (its announced events, the pauses and new hosts its pulse reads
found), one object per run with changes and none without, and at least once when a write fails
(kept in the state, raised after the save, written by the next run, never a second alert).

check_result runs in this process on moto (tests.helpers.run_at), its webhook a real local server.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from check_result.history import (
    PENDING_HISTORY_MAX,
    HistoryEvent,
    HistoryFormatError,
    decode_history,
    encode_history,
    event_from_dict,
)
from check_result.state import HostState, decode_state_document, encode_state
from check_result.store import Store
from pulse_echo.layout import HISTORY_PREFIX, history_key, history_start_after
from pulse_echo.times import isoformat

from tests.conftest import TEST_BUCKET
from tests.helpers import check_result_env, get_json, keys_under, posts, run_at

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
DOWN = HistoryEvent(
    "down",
    "db-1",
    at=T0,
    since=T0 - 20 * MIN,
    last_ok_at=T0 - 20 * MIN,
    duration=20 * MIN,
    reason_code="timeout",
    reason_detail="timeout: db-1 sent nothing for 5 s",
    kind="probe",
)


@pytest.fixture
def env(monkeypatch, s3, http_server):
    with check_result_env(monkeypatch, http_server):
        yield monkeypatch


def history(s3) -> list[tuple[str, list[dict]]]:
    """``[(key, events)]`` of every history object, oldest first."""
    return [(key, get_json(s3, key)["events"]) for key in sorted(keys_under(s3, HISTORY_PREFIX))]


def beat(s3_seed, host: str, when: datetime, **pulse: object) -> None:
    s3_seed.put(f"pulse/{host}.json", json.dumps({"url": f"https://{host}/", **pulse}), when)
    s3_seed.put(f"echo/{host}.json", b"{}", when)


# --- the codec and the keys ---


def test_an_object_round_trips_every_event_exactly() -> None:
    events = [
        DOWN,
        HistoryEvent("up", "db-1", at=T0 + MIN, since=T0 - 20 * MIN, last_ok_at=T0, duration=20 * MIN),
        HistoryEvent("paused", None, at=T0, since=T0, until=T0 + 60 * MIN, source="operator"),
        HistoryEvent("first_seen", "a/b c+ü", at=T0, since=T0 - timedelta(microseconds=1)),
    ]
    data = encode_history(events, writer="check_result", run_id="r-1", written_at=T0)
    document = json.loads(data)
    assert (document["schema"], document["writer"], document["run_id"]) == (1, "check_result", "r-1")
    assert document["events"][0] == {
        "event": "down",
        "host": "db-1",
        "at": "2026-01-01T10:00:00Z",
        "since": "2026-01-01T09:40:00Z",
        "until": None,
        "last_ok_at": "2026-01-01T09:40:00Z",
        "duration_seconds": 1200.0,
        "reason": {"code": "timeout", "detail": "timeout: db-1 sent nothing for 5 s"},
        "kind": "probe",
        "source": None,
    }
    assert decode_history(data) == (events, 0)


@pytest.mark.parametrize(
    "fields",
    [
        None,
        [],
        {"event": "exploded", "host": "h", "at": "2026-01-01T10:00:00Z"},
        {"event": "down", "host": "", "at": "2026-01-01T10:00:00Z"},
        {"event": "down", "host": None, "at": "2026-01-01T10:00:00Z"},  # only an operator pause has none
        {"event": "down", "host": 7, "at": "2026-01-01T10:00:00Z"},
        {"event": "down", "host": "h"},
        {"event": "down", "host": "h", "at": "yesterday"},
        {"event": "down", "host": "h", "at": "2026-01-01T10:00:00"},
        {"event": "down", "host": "h", "at": 1767261600},
        {"event": "down", "host": "h", "at": "2026-01-01T10:00:00Z", "since": 5},
        {"event": "down", "host": "h", "at": "2026-01-01T10:00:00Z", "duration_seconds": "60"},
        {"event": "down", "host": "h", "at": "2026-01-01T10:00:00Z", "duration_seconds": True},
        {"event": "down", "host": "h", "at": "2026-01-01T10:00:00Z", "duration_seconds": 1e300},
        {"event": "down", "host": "h", "at": "2026-01-01T10:00:00Z", "reason": "timeout"},
        {"event": "down", "host": "h", "at": "2026-01-01T10:00:00Z", "reason": {"code": 1}},
        {"event": "down", "host": "h", "at": "2026-01-01T10:00:00Z", "kind": ["probe"]},
        {"event": "paused", "host": "h", "at": "2026-01-01T10:00:00Z", "source": "\x1b[2J"},
    ],
)
def test_a_malformed_event_is_refused_with_one_error(fields: object) -> None:
    with pytest.raises(HistoryFormatError):
        event_from_dict(fields)


def test_an_object_with_bad_events_keeps_the_good_ones_and_counts_the_others() -> None:
    good = DOWN.to_dict()
    data = json.dumps({"schema": 1, "events": [good, {"event": "down"}, "x", good]}).encode()
    assert decode_history(data) == ([DOWN, DOWN], 2)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xfe", b"[]", b'{"schema": 2, "events": []}', b'{"schema": 1}', b"[" * 100_000],
)
def test_an_object_that_is_not_history_is_refused_with_one_error(data: bytes) -> None:
    with pytest.raises(HistoryFormatError):
        decode_history(data)


def test_history_keys_sort_by_time_one_folder_a_day_and_keep_only_safe_writer_ids() -> None:
    assert history_key(T0, "run-1") == "history/2026/01/01/100000Z-run-1.json"
    assert history_key(T0.astimezone(timezone(timedelta(hours=9))), "a/../b c") == (
        "history/2026/01/01/100000Z-abc.json"
    )
    assert history_key(T0, "///") == "history/2026/01/01/100000Z-run.json"
    later = history_key(T0 + timedelta(seconds=1), "a")
    assert history_start_after(T0) < history_key(T0, "zzz") < later
    assert history_start_after(T0 + timedelta(seconds=1)) > history_key(T0, "zzz")


# --- what a run records ---


def test_a_down_up_cycle_is_two_objects_with_the_outage_and_its_reason(env, s3, s3_seed, http_server) -> None:
    beat(s3_seed, "db-1", T0)
    s3_seed.put(
        "failure/db-1.json",
        json.dumps({"reason": "timeout", "detail": "db-1:443 sent nothing for 5 s"}),
        T0 + 5 * MIN,
    )
    run_at(T0, s3)  # first seen
    assert run_at(T0 + 10 * MIN, s3)["history_written"] == 0  # no change: nothing written
    assert run_at(T0 + 20 * MIN, s3)["history_written"] == 1
    beat(s3_seed, "db-1", T0 + 45 * MIN)
    summary = run_at(T0 + 50 * MIN, s3)
    assert (summary["history_written"], summary["history_pending"]) == (1, 0)
    (first, _), (down_key, [down]), (up_key, [up]) = history(s3)
    assert up_key == "history/2026/01/01/105000Z-run-105000.json"
    assert first == "history/2026/01/01/100000Z-run-100000.json"
    assert down_key == "history/2026/01/01/102000Z-run-102000.json"
    assert down == {
        "event": "down",
        "host": "db-1",
        "at": "2026-01-01T10:20:00Z",
        "since": "2026-01-01T10:00:00Z",
        "until": None,
        "last_ok_at": "2026-01-01T10:00:00Z",
        "duration_seconds": 1200.0,
        "reason": {"code": "timeout", "detail": "timeout: db-1:443 sent nothing for 5 s"},
        "kind": "probe",
        "source": None,
    }
    assert (up["event"], up["since"], up["last_ok_at"], up["duration_seconds"]) == (
        "up",
        "2026-01-01T10:00:00Z",
        "2026-01-01T10:45:00Z",
        2700.0,
    )
    assert up["reason"] is None
    assert len(posts(http_server)) == 2  # what was announced is what was recorded


def test_the_first_run_records_every_host_as_first_seen_in_one_object(env, s3, s3_seed) -> None:
    beat(s3_seed, "web-1", T0 - 5 * MIN)
    beat(s3_seed, "web-2", T0 - 2 * MIN)
    s3_seed.put("failure/web-2.json", b'{"reason": "timeout"}', T0 - 30 * MIN)  # an older failure dates it
    assert run_at(T0, s3)["history_written"] == 2
    ((_, events),) = history(s3)
    assert [(e["event"], e["host"], e["at"], e["since"]) for e in events] == [
        ("first_seen", "web-1", "2026-01-01T09:55:00Z", "2026-01-01T09:55:00Z"),
        ("first_seen", "web-2", "2026-01-01T09:58:00Z", "2026-01-01T09:30:00Z"),
    ]
    beat(s3_seed, "web-3", T0 + 5 * MIN)
    beat(s3_seed, "web-1", T0 + 5 * MIN)  # its pulse changed: read again, not new
    run_at(T0 + 6 * MIN, s3)
    assert [[e["host"] for e in events] for _, events in history(s3)] == [["web-1", "web-2"], ["web-3"]]


def test_a_lost_pulse_index_records_no_host_as_first_seen(env, s3, s3_seed, json_logs) -> None:
    assert run_at(T0 - MIN, s3)["index_saved"] is True  # the first run leaves an index, even empty
    beat(s3_seed, "web-1", T0)
    run_at(T0, s3)
    s3.put_object(Bucket=TEST_BUCKET, Key="state/pulses.json", Body=b"not json")
    beat(s3_seed, "web-1", T0 + MIN)
    run_at(T0 + 2 * MIN, s3)  # unreadable: every host would look new
    assert any(line.get("outcome") == "pulse_index_reset" for line in json_logs)
    s3.delete_object(Bucket=TEST_BUCKET, Key="state/pulses.json")
    beat(s3_seed, "web-1", T0 + 3 * MIN)
    run_at(T0 + 4 * MIN, s3)  # deleted: likewise
    assert [[e["host"] for e in events] for _, events in history(s3)] == [["web-1"]]


def test_a_pause_in_a_pulse_is_recorded_when_it_is_read_and_its_withdrawal_too(env, s3, s3_seed) -> None:
    beat(s3_seed, "db-7", T0)
    run_at(T0, s3)
    beat(s3_seed, "db-7", T0 + 5 * MIN, pause_until=isoformat(T0 + 65 * MIN))
    run_at(T0 + 6 * MIN, s3)
    beat(s3_seed, "db-7", T0 + 10 * MIN, pause_until=isoformat(T0 + 65 * MIN))  # the same pause again
    assert run_at(T0 + 11 * MIN, s3)["history_written"] == 0
    beat(s3_seed, "db-7", T0 + 20 * MIN)  # back early: the pause is withdrawn
    run_at(T0 + 21 * MIN, s3)
    beat(s3_seed, "db-7", T0 + 30 * MIN)
    assert run_at(T0 + 31 * MIN, s3)["history_written"] == 0
    _, (_, [paused]), (_, [resumed]) = history(s3)
    assert (
        paused["event"],
        paused["source"],
        paused["since"],
        paused["until"],
        paused["duration_seconds"],
    ) == (
        "paused",
        "pulse",
        "2026-01-01T10:05:00Z",
        "2026-01-01T11:05:00Z",
        3600.0,
    )
    assert (resumed["event"], resumed["source"], resumed["at"]) == (
        "resumed",
        "pulse",
        "2026-01-01T10:20:00Z",
    )


class FailingHistory:
    """An S3 client whose PutObject under history/ fails ``times`` times (AccessDenied, as after
    an upgrade that missed the new permission), everything else passed through."""

    def __init__(self, s3, times: int) -> None:
        self._s3, self.left = s3, times

    def __getattr__(self, name: str) -> object:
        return getattr(self._s3, name)

    def put_object(self, **kwargs: object) -> dict:
        if str(kwargs["Key"]).startswith(HISTORY_PREFIX) and self.left > 0:
            self.left -= 1
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "PutObject")
        return self._s3.put_object(**kwargs)


def test_a_failed_history_write_is_kept_in_the_state_raised_after_the_save_and_written_next_run(
    env, s3, s3_seed, http_server, json_logs
) -> None:
    beat(s3_seed, "db-1", T0)
    run_at(T0, s3)
    failing = FailingHistory(s3, times=2)
    with pytest.raises(Exception, match="AccessDenied"):
        run_at(T0 + 20 * MIN, failing)  # down: announced, not recorded
    state = Store(s3, TEST_BUCKET).read_state()
    assert state.hosts["db-1"].status == "down"  # saved: the next run does not announce it again
    assert [(e.event, e.host) for e in state.pending_history] == [("down", "db-1")]
    assert any(line.get("outcome") == "history_failed" for line in json_logs)
    (finished,) = [line for line in json_logs if line.get("message") == "run finished"][-1:]
    assert (finished["history_pending"], "AccessDenied" in finished["history_error"]) == (1, True)

    beat(s3_seed, "db-1", T0 + 25 * MIN)
    with pytest.raises(Exception, match="AccessDenied"):
        run_at(T0 + 30 * MIN, failing)  # up: announced, still not recorded
    assert [e.event for e in Store(s3, TEST_BUCKET).read_state().pending_history] == ["down", "up"]
    summary = run_at(T0 + 40 * MIN, failing)  # no change: the pending events are written all the same
    assert (summary["history_written"], summary["history_pending"]) == (2, 0)
    assert Store(s3, TEST_BUCKET).read_state().pending_history == ()
    assert [[e["event"] for e in events] for _, events in history(s3)][1:] == [["down", "up"]]
    assert len(posts(http_server)) == 2  # each event announced once


def test_the_pending_history_is_capped_oldest_dropped(env, s3, s3_seed, monkeypatch, json_logs) -> None:
    from check_result import history as module

    monkeypatch.setattr(module, "PENDING_HISTORY_MAX", 2)
    beat(s3_seed, "db-2", T0)
    run_at(T0, s3)
    old = [DOWN, HistoryEvent("up", "db-1", at=T0, since=T0 - 20 * MIN, last_ok_at=T0)]
    store = Store(s3, TEST_BUCKET)
    state = store.read_state()
    store.write_state({}, etag=state.etag, run_id="r", now=T0, pending_history=old, stale_after_minutes=15)
    with pytest.raises(Exception, match="AccessDenied"):
        run_at(T0 + 20 * MIN, FailingHistory(s3, times=1))  # db-2 down
    kept = store.read_state().pending_history
    assert [(e.event, e.host) for e in kept] == [("up", "db-1"), ("down", "db-2")]
    (failed,) = [line for line in json_logs if line.get("outcome") == "history_failed"]
    assert (failed["events"], failed["dropped"]) == (3, 1)
    assert PENDING_HISTORY_MAX == 20_000


def test_the_state_document_round_trips_its_pending_history() -> None:
    hosts = {"db-1": HostState("down", since=T0 - 20 * MIN, last_ok_at=T0 - 20 * MIN, notified_at=T0)}
    data = encode_state(hosts, updated_at=T0, run_id="r", pending_history=[DOWN])
    document = decode_state_document(data)
    assert (document.hosts, document.pending_history) == (hosts, (DOWN,))
    assert "pending_history" not in json.loads(encode_state(hosts, updated_at=T0, run_id="r"))
