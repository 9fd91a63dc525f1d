"""The pulse index (check_result.pulses) and the operator's pauses (check_result.pauses): their
bytes round-trip, bad documents and entries are refused or dropped, and the pure choices (which
pulses to read, each host's Profile) hold."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from check_result.model import Observation, Profile
from check_result.pauses import Pause, Pauses, PausesFormatError, decode_pauses, encode_pauses
from check_result.pulses import (
    KIND_INVALID,
    IndexFormatError,
    PulseEntry,
    decode_index,
    encode_index,
    index_entry,
    profiles,
    pulses_to_read,
    refresh_index,
)

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
STALE = 15 * MIN


def pulse(**fields: object) -> bytes:
    return json.dumps(fields).encode()


# --- what a pulse is indexed as ---


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (pulse(url="https://web-1.example.com/health", body="ok"), "probe"),
        (pulse(), "heartbeat"),
        (pulse(result="ok", exit_code=0), "job"),
        (b"not json", KIND_INVALID),
        (pulse(body="ok"), KIND_INVALID),  # a probe field without url
        (pulse(stale_after_minutes=0), KIND_INVALID),
        (pulse(pause_until="2026-01-30T00:00:00Z"), KIND_INVALID),  # more than 7 days ahead
        (None, KIND_INVALID),  # over the size limit: not read
    ],
)
def test_each_kind_of_pulse_is_indexed(data: bytes | None, kind: str) -> None:
    entry = index_entry(data, '"etag"', T0)
    assert (entry.etag, entry.kind) == ('"etag"', kind)
    if kind == KIND_INVALID:
        assert entry.profile(STALE) == Profile(stale_after=STALE, kind=KIND_INVALID)


def test_a_job_is_indexed_with_its_threshold_result_pause_and_the_end_of_its_message() -> None:
    data = pulse(
        result="fail",
        exit_code=2,
        duration_seconds=12.5,
        message="x" * 5000 + "disk full",
        stale_after_minutes=1500,
        pause_until="2026-01-01T12:00:00Z",
    )
    entry = index_entry(data, '"e"', T0)
    assert (entry.kind, entry.result, entry.exit_code, entry.duration_seconds) == ("job", "fail", 2, 12.5)
    assert entry.message == "…" + "x" * 190 + "disk full"
    profile = entry.profile(STALE)
    assert profile.stale_after == 1500 * MIN
    assert profile.job_failed
    assert profile.pause_until == T0 + 120 * MIN


def test_only_a_job_keeps_its_report() -> None:
    entry = index_entry(pulse(url="https://x.example/", message="hello"), '"e"', T0)
    assert (entry.kind, entry.message) == ("probe", None)


# --- the document ---


def test_the_index_round_trips_and_leaves_absent_fields_out() -> None:
    entries = {
        "web 1/ü": PulseEntry('"a"', "probe"),
        "backup": PulseEntry('"b"', "job", 1500.0, T0, "fail", "disk full", 2, 12.5),
        "bad": PulseEntry('"c"', KIND_INVALID),
    }
    data = encode_index(entries, updated_at=T0)
    assert decode_index(data) == entries
    document = json.loads(data)
    assert document["schema"] == 1
    assert document["hosts"]["web 1/ü"] == {"etag": '"a"', "kind": "probe"}


@pytest.mark.parametrize(
    "fields",
    [
        "x",
        {"kind": "probe"},
        {"etag": 5, "kind": "probe"},
        {"etag": "e", "kind": "probe", "stale_after_minutes": True},
        {"etag": "e", "kind": "probe", "stale_after_minutes": 0},
        {"etag": "e", "kind": "probe", "stale_after_minutes": 1e300},
        {"etag": "e", "kind": "probe", "pause_until": "soon"},
        {"etag": "e", "kind": "job", "exit_code": 1.5},
    ],
)
def test_an_index_entry_of_the_wrong_shape_is_dropped_and_its_pulse_read_again(fields: object) -> None:
    data = json.dumps({"schema": 1, "hosts": {"bad": fields, "good": {"etag": "e", "kind": "heartbeat"}}})
    assert decode_index(data.encode()) == {"good": PulseEntry("e", "heartbeat")}


@pytest.mark.parametrize(
    "data", [b"", b"{", b"[]", b'{"schema": 2, "hosts": {}}', b'{"schema": 1}', b"\xff", b"[" * 100_000]
)
def test_a_document_that_is_not_an_index_is_refused(data: bytes) -> None:
    with pytest.raises(IndexFormatError):
        decode_index(data)


# --- which pulses are read, in what order ---


def test_only_changed_or_unindexed_pulses_are_read_those_that_would_be_due_first() -> None:
    observations = {
        "same": Observation("same", last_ok_at=T0, pulse_at=T0, pulse_etag='"1"'),
        "changed-up": Observation("changed-up", last_ok_at=T0, pulse_at=T0, pulse_etag='"2"'),
        "changed-stale": Observation("changed-stale", T0 - 20 * MIN, None, T0, '"3"'),
        "unindexed-failing": Observation("unindexed-failing", T0 - MIN, T0, T0, '"4"'),
        "a-new": Observation("a-new", pulse_at=T0, pulse_etag='"5"'),
        "echo-only": Observation("echo-only", last_ok_at=T0),
    }
    index = {
        "same": PulseEntry('"1"', "probe"),
        "changed-up": PulseEntry('"old"', "probe"),
        "changed-stale": PulseEntry('"old"', "probe"),
    }
    order = pulses_to_read(observations, index, T0 + MIN, STALE)
    assert order == ["a-new", "changed-stale", "unindexed-failing", "changed-up"]
    assert pulses_to_read(observations, index, T0 + MIN, STALE, limit=2) == ["a-new", "changed-stale"]
    assert pulses_to_read(observations, index, T0 + MIN, STALE, limit=0) == []


def test_the_next_index_keeps_unread_entries_and_drops_hosts_without_a_pulse() -> None:
    observations = {
        "read": Observation("read", pulse_at=T0, pulse_etag='"new"'),
        "unread": Observation("unread", pulse_at=T0, pulse_etag='"new"'),
        "gone": Observation("gone", last_ok_at=T0),  # its pulse was deleted
    }
    index = {
        "read": PulseEntry('"old"', "probe"),
        "unread": PulseEntry('"old"', "job"),
        "gone": PulseEntry('"x"', "probe"),
        "retired": PulseEntry('"y"', "probe"),
    }
    read = {"read": PulseEntry('"new"', "heartbeat")}
    assert refresh_index(index, observations, read) == {
        "read": PulseEntry('"new"', "heartbeat"),
        "unread": PulseEntry('"old"', "job"),  # until its turn comes
    }


def test_a_profile_takes_the_later_pause_and_the_modules_threshold_by_default() -> None:
    index = {
        "web": PulseEntry('"a"', "probe", pause_until=T0 + 10 * MIN),
        "db": PulseEntry('"b"', "heartbeat", stale_after_minutes=3.0),
    }
    operator = {"web": T0 + 60 * MIN, "db": T0 + 5 * MIN, "unindexed": T0 + 5 * MIN}
    observations = {
        host: Observation(host, last_ok_at=T0, pulse_at=T0, pulse_etag='"e"')
        for host in ("web", "db", "unindexed", "unread")
    }
    observations["no-pulse"] = Observation("no-pulse", last_ok_at=T0)
    result = profiles(index, observations, STALE, operator)
    assert result == {
        "web": Profile(stale_after=STALE, kind="probe", pause_until=T0 + 60 * MIN),
        "db": Profile(stale_after=3 * MIN, kind="heartbeat", pause_until=T0 + 5 * MIN),
        "unindexed": Profile(stale_after=STALE, pause_until=T0 + 5 * MIN, pending=True),
        "unread": Profile(stale_after=STALE, pending=True),  # its threshold is not known yet
        "no-pulse": Profile(stale_after=STALE),  # nothing to read: judged by the module's
    }


# --- the operator's pauses ---


def test_pauses_round_trip_and_end_on_their_own() -> None:
    pauses = Pauses(
        hosts={"web 1/ü": Pause(T0 + 60 * MIN, T0), "db": Pause(T0 + 5 * MIN, T0)},
        every_host=Pause(T0 + 30 * MIN, T0),
    )
    assert decode_pauses(encode_pauses(pauses, updated_at=T0)) == pauses
    assert pauses.until("web 1/ü", T0) == T0 + 60 * MIN
    assert pauses.until("db", T0) == T0 + 30 * MIN  # the pause of every host lasts longer
    assert pauses.until("other", T0 + 40 * MIN) is None
    assert pauses.until_by_host(["db", "web 1/ü"], T0 + 40 * MIN) == {"web 1/ü": T0 + 60 * MIN}
    assert pauses.active(T0 + 40 * MIN) == Pauses(hosts={"web 1/ü": Pause(T0 + 60 * MIN, T0)})


def test_pausing_and_resuming_hosts_or_every_host() -> None:
    pauses = Pauses().paused(["a", "b"], T0 + 60 * MIN, T0).paused(None, T0 + 30 * MIN, T0 + MIN)
    assert set(pauses.hosts) == {"a", "b"}
    assert pauses.every_host == Pause(T0 + 30 * MIN, T0 + MIN)
    shorter = pauses.paused(["a"], T0 + 10 * MIN, T0 + 2 * MIN)
    assert shorter.hosts["a"] == Pause(T0 + 10 * MIN, T0 + 2 * MIN)
    assert shorter.resumed(["a"], T0 + 3 * MIN).hosts == {"b": pauses.hosts["b"]}
    assert shorter.resumed(None, T0 + 3 * MIN) == Pauses()
    # an ended pause is dropped at the next change
    assert set(shorter.paused(["c"], T0 + 90 * MIN, T0 + 45 * MIN).hosts) == {"b", "c"}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"schema": 2}',
        b'{"schema": 1, "hosts": []}',
        b'{"schema": 1, "hosts": {"h": {}}}',
        b'{"schema": 1, "hosts": {"h": {"until": "soon"}}}',
        b'{"schema": 1, "hosts": {"h": {"until": 5}}}',
        b'{"schema": 1, "hosts": {}, "all": {"until": "2026-01-01T10:00:00"}}',
    ],
)
def test_a_pauses_document_of_the_wrong_shape_is_refused(data: bytes) -> None:
    with pytest.raises(PausesFormatError):
        decode_pauses(data)
