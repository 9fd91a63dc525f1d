"""S3 access for check_result against moto: listings, failure records, state, run lease."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from check_result.state import HostState, PendingSns
from check_result.store import LEASE_KEY, STATE_KEY, StateConflictError, Store

from tests.conftest import TEST_BUCKET

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
LEASE = timedelta(seconds=900)


def count_requests(client) -> list[str]:
    """Every S3 API call the client makes from now on, by operation name (botocore event hooks)."""
    calls: list[str] = []
    client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return calls


# --- listings ---


def test_listing_pages_through_more_than_1000_hosts(s3, s3_seed) -> None:
    for i in range(1003):
        s3_seed.put(f"echo/host-{i:04d}.json", last_modified=T0 + i * timedelta(seconds=1))
    calls = count_requests(s3)
    store = Store(s3, TEST_BUCKET)
    hosts = store.list_hosts("echo/")
    assert len(hosts) == 1003
    assert hosts["host-1002"] == T0 + 1002 * timedelta(seconds=1)
    assert hosts["host-1002"].tzinfo == timezone.utc
    assert calls == ["ListObjectsV2", "ListObjectsV2"]
    assert store.requests == 2


def test_listing_keeps_host_names_as_they_are(s3) -> None:
    names = ["web 1", "a+b", "100%", "rack/7/node", "ünïcødé-ホスト", "x%2By"]
    for name in names:
        s3.put_object(Bucket=TEST_BUCKET, Key=f"echo/{name}.json", Body=b"{}")
    assert sorted(Store(s3, TEST_BUCKET).list_hosts("echo/")) == sorted(names)


def test_listing_skips_keys_that_are_not_host_records_and_logs_the_count(s3, s3_seed, json_logs) -> None:
    for key in ["echo/ok.json", "echo/", "echo/.json", "echo/notes.txt", "echo/ok.json.bak"]:
        s3_seed.put(key)
    assert list(Store(s3, TEST_BUCKET).list_hosts("echo/")) == ["ok"]
    [line] = [line for line in json_logs if line.get("outcome") == "skipped_keys"]
    assert line["count"] == 4
    assert line["prefix"] == "echo/"


def test_list_observations_joins_the_three_prefixes(s3, s3_seed) -> None:
    s3_seed.put("echo/a.json", last_modified=T0)
    s3_seed.put("pulse/a.json", last_modified=T0 - MIN)
    s3_seed.put("failure/a.json", last_modified=T0 + MIN)
    s3_seed.put("pulse/b.json", last_modified=T0)
    s3_seed.put("failure/retired.json", last_modified=T0)
    observations = Store(s3, TEST_BUCKET).list_observations()
    assert sorted(observations) == ["a", "b"]
    a = observations["a"]
    assert (a.last_ok_at, a.pulse_at, a.last_failed_at, a.failing) == (T0, T0 - MIN, T0 + MIN, True)
    assert observations["b"].last_ok_at is None


# --- failure records ---


def test_read_failures_reads_only_what_is_asked_up_to_the_limit(s3, s3_seed, json_logs) -> None:
    record = {"reason": "timeout", "detail": "h sent nothing for 5 s", "failed_at": "2026-01-01T10:00:00Z"}
    for host in ["a", "b", "c"]:
        s3_seed.put(f"failure/{host}.json", json.dumps(record))
    s3_seed.put("failure/bad.json", b"{not json")
    s3_seed.put("failure/huge.json", b"[" + b" " * 100_000 + b"]")
    calls = count_requests(s3)
    store = Store(s3, TEST_BUCKET)
    records = store.read_failures(["a", "missing", "bad", "huge", "b", "c"], limit=5)
    assert calls == ["GetObject"] * 5
    assert sorted(records) == ["a", "b", "bad", "huge"]
    assert records["a"].reason == "timeout"
    assert records["a"].failed_at == T0
    assert records["bad"].reason == "unreadable_failure_record"
    assert records["huge"].reason == "unreadable_failure_record"
    assert {line["host"] for line in json_logs if line["message"] == "unreadable failure record"} == {
        "bad",
        "huge",
    }


# --- state document ---


def test_state_absent_then_created_then_replaced(s3) -> None:
    store = Store(s3, TEST_BUCKET)
    empty = store.read_state()
    assert (empty.hosts, empty.etag) == ({}, None)
    hosts = {"h": HostState("down", since=T0, last_ok_at=T0, notified_at=T0 + 16 * MIN)}
    etag = store.write_state(hosts, etag=None, run_id="r1", now=T0)
    read = store.read_state()
    assert (read.hosts, read.etag) == (hosts, etag)
    etag2 = store.write_state({}, etag=etag, run_id="r2", now=T0)
    assert store.read_state() == type(read)(hosts={}, etag=etag2)


def test_state_keeps_the_pending_sns_messages_only_when_they_are_written_back(s3) -> None:
    store = Store(s3, TEST_BUCKET)
    pending = (PendingSns("r1", T0, '{"events": []}', "pulse-echo: 1 down"),)
    etag = store.write_state({}, etag=None, run_id="r1", now=T0, pending_sns=pending)
    read = store.read_state()
    assert (read.hosts, read.etag, read.pending_sns) == ({}, etag, pending)
    store.write_state({}, etag=etag, run_id="r2", now=T0)
    assert store.read_state().pending_sns == ()


def test_state_write_detects_a_concurrent_writer(s3) -> None:
    store = Store(s3, TEST_BUCKET)
    first = store.write_state({}, etag=None, run_id="r1", now=T0)
    # someone else writes in between
    store.write_state({"x": HostState("new", since=T0)}, etag=first, run_id="r2", now=T0)
    with pytest.raises(StateConflictError, match="changed since it was read"):
        store.write_state({}, etag=first, run_id="r1", now=T0)
    # and a create-only write finds it present
    with pytest.raises(StateConflictError):
        store.write_state({}, etag=None, run_id="r3", now=T0)
    # a deleted state is a conflict for an If-Match write too
    s3.delete_object(Bucket=TEST_BUCKET, Key=STATE_KEY)
    with pytest.raises(StateConflictError):
        store.write_state({}, etag=first, run_id="r4", now=T0)


def test_unreadable_state_reads_as_empty_and_can_be_replaced(s3, json_logs) -> None:
    s3.put_object(Bucket=TEST_BUCKET, Key=STATE_KEY, Body=b"{oops")
    store = Store(s3, TEST_BUCKET)
    read = store.read_state()
    assert read.hosts == {}
    assert read.etag
    assert read.unreadable
    assert any(line.get("outcome") == "state_reset" and line["level"] == "ERROR" for line in json_logs)
    store.write_state({}, etag=read.etag, run_id="r", now=T0)
    assert store.read_state().hosts == {}


# --- run lease ---


def test_lease_is_exclusive_until_released(s3, json_logs) -> None:
    store = Store(s3, TEST_BUCKET)
    lease = store.acquire_lease("run-1", T0, LEASE)
    assert lease is not None
    assert lease.expires_at == T0 + LEASE
    body = json.loads(s3.get_object(Bucket=TEST_BUCKET, Key=LEASE_KEY)["Body"].read())
    assert body == {
        "run_id": "run-1",
        "acquired_at": "2026-01-01T10:00:00Z",
        "expires_at": "2026-01-01T10:15:00Z",
    }

    assert store.acquire_lease("run-2", T0 + MIN, LEASE) is None
    held = [line for line in json_logs if line.get("outcome") == "lease_held"]
    assert held[0]["holder"] == "run-1"

    store.release_lease(lease)
    assert store.acquire_lease("run-3", T0 + 2 * MIN, LEASE) is not None


def test_lease_acquire_and_release_cost_two_requests(s3) -> None:
    calls = count_requests(s3)
    store = Store(s3, TEST_BUCKET)
    store.release_lease(store.acquire_lease("run-1", T0, LEASE))
    assert calls == ["PutObject", "DeleteObject"]


def test_expired_lease_is_taken_over_by_exactly_one_run(s3, json_logs) -> None:
    store = Store(s3, TEST_BUCKET)
    crashed = store.acquire_lease("crashed", T0, LEASE)
    assert crashed is not None
    later = T0 + LEASE + MIN
    winner = store.acquire_lease("run-2", later, LEASE)
    assert winner is not None
    assert any(line.get("outcome") == "lease_taken_over" for line in json_logs)
    # a second run taking over the same expired lease (If-Match on the old ETag) loses
    assert store._put_lease("run-3", later, LEASE, {"IfMatch": crashed.etag}) is None
    # the crashed run's late release does not delete the new holder's lease
    store.release_lease(crashed)
    assert any(line.get("outcome") == "lease_lost" for line in json_logs)
    assert json.loads(s3.get_object(Bucket=TEST_BUCKET, Key=LEASE_KEY)["Body"].read())["run_id"] == "run-2"


def test_lease_of_the_same_run_is_ours(s3) -> None:
    """A retried PUT whose first answer was lost finds its own lease: it owns it."""
    store = Store(s3, TEST_BUCKET)
    first = store.acquire_lease("run-1", T0, LEASE)
    again = store.acquire_lease("run-1", T0, LEASE)
    assert again is not None
    assert again.etag == first.etag


def test_unreadable_lease_expires_by_its_age(s3) -> None:
    s3.put_object(Bucket=TEST_BUCKET, Key=LEASE_KEY, Body=b"garbage")
    store = Store(s3, TEST_BUCKET)
    now = datetime.now(timezone.utc)
    assert store.acquire_lease("run-1", now, LEASE) is None
    assert store.acquire_lease("run-1", now + LEASE + MIN, LEASE) is not None
