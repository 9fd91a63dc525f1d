"""The status rules (check_result.rules): statuses, events, next state, reasons. No AWS, no clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from check_result.model import (
    EVENT_DOWN,
    EVENT_STILL_DOWN,
    EVENT_UP,
    STATUS_DOWN,
    STATUS_NEW,
    STATUS_UP,
    Observation,
    observations_from_listings,
)
from check_result.rules import (
    current_reason,
    evaluate,
    first_seen,
    host_statuses,
    hosts_needing_failure_records,
    is_stale,
)
from check_result.state import HostState
from pulse_echo.reasons import CHECK_FAILED as REASON_CHECK_FAILED
from pulse_echo.reasons import NO_CHECK_RESULT as REASON_NO_CHECK_RESULT
from pulse_echo.reasons import NO_PULSE as REASON_NO_PULSE
from pulse_echo.reasons import PULSE_STOPPED as REASON_PULSE_STOPPED
from pulse_echo.records import FailureRecord

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)
STALE = 15 * MIN


def echo_only(host: str, last_ok_at: datetime) -> dict[str, Observation]:
    """One host whose last echo and last pulse are both at ``last_ok_at``."""
    return {host: Observation(host, last_ok_at=last_ok_at, pulse_at=last_ok_at)}


# --- staleness threshold ---


def test_echo_exactly_at_the_threshold_is_not_stale() -> None:
    assert not is_stale(T0, T0 + STALE, STALE)
    result = evaluate(echo_only("web-1", T0), {}, T0 + STALE, STALE)
    assert result.events == ()
    assert [s.status for s in result.statuses] == [STATUS_UP]


def test_echo_just_past_the_threshold_is_stale() -> None:
    now = T0 + STALE + timedelta(microseconds=1)
    assert is_stale(T0, now, STALE)
    result = evaluate(echo_only("web-1", T0), {}, now, STALE)
    assert [(e.kind, e.host) for e in result.events] == [(EVENT_DOWN, "web-1")]


def test_fractional_minutes_threshold() -> None:
    stale = timedelta(minutes=0.5)
    assert not evaluate(echo_only("h", T0), {}, T0 + 30 * SEC, stale).events
    assert evaluate(echo_only("h", T0), {}, T0 + 31 * SEC, stale).events


# --- up -> down -> (silence) -> up ---


def test_up_then_down_then_silence_then_recovery_with_downtime() -> None:
    # 10:10 fresh echo from 10:00: up, nothing stored
    run1 = evaluate(echo_only("web-1", T0), {}, T0 + 10 * MIN, STALE)
    assert run1.events == ()
    assert run1.next_state == {}

    # 10:20: the echo is 20 minutes old: one down alert, stored as notified
    run2 = evaluate(echo_only("web-1", T0), run1.next_state, T0 + 20 * MIN, STALE)
    assert [(e.kind, e.host) for e in run2.events] == [(EVENT_DOWN, "web-1")]
    down = run2.events[0]
    assert down.since == T0
    assert down.last_ok_at == T0
    assert not down.was_new
    assert run2.next_state == {
        "web-1": HostState(status=STATUS_DOWN, since=T0, last_ok_at=T0, notified_at=T0 + 20 * MIN)
    }

    # 10:30, 10:40: still down, nothing more, state unchanged
    state = run2.next_state
    for minutes in (30, 40):
        again = evaluate(echo_only("web-1", T0), state, T0 + minutes * MIN, STALE)
        assert again.events == ()
        assert again.next_state == state

    # 10:45 a check succeeds; 10:50: one recovery, down for 45 minutes, dropped from the state
    back = evaluate(echo_only("web-1", T0 + 45 * MIN), state, T0 + 50 * MIN, STALE)
    assert [(e.kind, e.host) for e in back.events] == [(EVENT_UP, "web-1")]
    assert back.events[0].duration == 45 * MIN
    assert back.events[0].since == T0
    assert back.events[0].last_ok_at == T0 + 45 * MIN
    assert back.next_state == {}
    assert [d.outcome for d in back.decisions] == ["alert_up"]

    # and the next run is quiet again
    assert evaluate(echo_only("web-1", T0 + 45 * MIN), {}, T0 + 60 * MIN, STALE).events == ()


def test_unnotified_down_is_announced_again_while_the_state_is_not_saved() -> None:
    """At least once: until the state is saved (after delivery), every run finds the same event."""
    for minutes in (20, 30, 40):
        result = evaluate(echo_only("web-1", T0), {}, T0 + minutes * MIN, STALE)
        assert [e.kind for e in result.events] == [EVENT_DOWN]


# --- renotify ---


def test_renotify_repeats_a_down_alert_every_period() -> None:
    renotify = 60 * MIN
    state = evaluate(echo_only("db", T0), {}, T0 + 20 * MIN, STALE, renotify).next_state
    notified = T0 + 20 * MIN

    early = evaluate(echo_only("db", T0), state, notified + renotify - SEC, STALE, renotify)
    assert early.events == ()
    assert early.next_state == state

    due = evaluate(echo_only("db", T0), state, notified + renotify, STALE, renotify)
    assert [(e.kind, e.host) for e in due.events] == [(EVENT_STILL_DOWN, "db")]
    assert due.events[0].duration == notified + renotify - T0
    assert due.next_state["db"].notified_at == notified + renotify
    assert due.next_state["db"].since == T0

    after = evaluate(echo_only("db", T0), due.next_state, notified + renotify + 10 * MIN, STALE, renotify)
    assert after.events == ()


@pytest.mark.parametrize("renotify", [None, timedelta(0)])
def test_no_renotify_when_disabled(renotify: timedelta | None) -> None:
    state = evaluate(echo_only("db", T0), {}, T0 + 20 * MIN, STALE, renotify).next_state
    later = evaluate(echo_only("db", T0), state, T0 + 30 * 24 * 60 * MIN, STALE, renotify)
    assert later.events == ()


# --- new hosts ---


def new_host(pulse_at: datetime, failed_at: datetime | None) -> dict[str, Observation]:
    return {"batch-7": Observation("batch-7", last_ok_at=None, last_failed_at=failed_at, pulse_at=pulse_at)}


def test_new_host_that_never_succeeds_is_alerted_once_after_stale_after_since_its_first_failure() -> None:
    first_failure = T0 + 3 * SEC
    # 10:05: first seen; tracked as new (saved without a message)
    run1 = evaluate(new_host(T0 + 3 * SEC, first_failure), {}, T0 + 5 * MIN, STALE)
    assert run1.events == ()
    assert run1.next_state == {"batch-7": HostState(status=STATUS_NEW, since=first_failure)}
    assert [d.outcome for d in run1.decisions] == ["tracked_new"]
    assert [s.status for s in run1.statuses] == [STATUS_NEW]

    # pulses and failures keep coming; exactly stale_after after the first failure: not yet
    at_threshold = first_failure + STALE
    run2 = evaluate(new_host(T0 + 10 * MIN, T0 + 10 * MIN + 2 * SEC), run1.next_state, at_threshold, STALE)
    assert run2.events == ()
    assert run2.next_state == run1.next_state

    # one second later: one down alert, "never succeeded"
    run3 = evaluate(
        new_host(T0 + 10 * MIN, T0 + 10 * MIN + 2 * SEC), run2.next_state, at_threshold + SEC, STALE
    )
    assert [(e.kind, e.host) for e in run3.events] == [(EVENT_DOWN, "batch-7")]
    assert run3.events[0].was_new
    assert run3.events[0].last_ok_at is None
    assert run3.events[0].since == first_failure
    assert run3.next_state["batch-7"].status == STATUS_DOWN

    # later runs: silence
    run4 = evaluate(new_host(T0 + 20 * MIN, T0 + 20 * MIN + 2 * SEC), run3.next_state, T0 + 40 * MIN, STALE)
    assert run4.events == ()


def test_new_host_that_succeeds_before_being_alerted_is_dropped_without_a_message() -> None:
    state = evaluate(new_host(T0, T0 + SEC), {}, T0 + 5 * MIN, STALE).next_state
    ok = {"batch-7": Observation("batch-7", last_ok_at=T0 + 10 * MIN, last_failed_at=T0 + SEC, pulse_at=T0)}
    result = evaluate(ok, state, T0 + 12 * MIN, STALE)
    assert result.events == ()
    assert result.next_state == {}
    assert [d.outcome for d in result.decisions] == ["first_success"]


def test_new_host_alerted_down_then_recovering_reports_downtime_since_first_seen() -> None:
    state = evaluate(new_host(T0, T0), {}, T0 + 16 * MIN, STALE).next_state
    assert state["batch-7"].status == STATUS_DOWN
    ok = {
        "batch-7": Observation("batch-7", last_ok_at=T0 + 40 * MIN, last_failed_at=T0, pulse_at=T0 + 40 * MIN)
    }
    result = evaluate(ok, state, T0 + 41 * MIN, STALE)
    assert [(e.kind, e.duration) for e in result.events] == [(EVENT_UP, 40 * MIN)]


def test_first_seen_ignores_a_failure_record_from_an_earlier_life_of_the_host() -> None:
    old = Observation("h", last_failed_at=T0 - timedelta(days=30), pulse_at=T0)
    assert first_seen(old, STALE) == T0
    recent = Observation("h", last_failed_at=T0 - 5 * MIN, pulse_at=T0)
    assert first_seen(recent, STALE) == T0 - 5 * MIN
    # so a re-added host is not alerted at once
    assert evaluate({"h": old}, {}, T0 + MIN, STALE).events == ()


def test_host_with_a_pulse_and_no_check_at_all_is_new_then_down() -> None:
    only_pulse = {"h": Observation("h", pulse_at=T0)}
    assert evaluate(only_pulse, {}, T0 + MIN, STALE).next_state["h"].status == STATUS_NEW
    assert [e.kind for e in evaluate(only_pulse, {}, T0 + 16 * MIN, STALE).events] == [EVENT_DOWN]


def test_new_host_whose_only_echo_went_stale_is_alerted_as_down() -> None:
    state = {"h": HostState(status=STATUS_NEW, since=T0)}
    obs = {"h": Observation("h", last_ok_at=T0 + MIN, pulse_at=T0 + MIN)}
    result = evaluate(obs, state, T0 + 20 * MIN, STALE)
    assert [(e.kind, e.since) for e in result.events] == [(EVENT_DOWN, T0 + MIN)]


# --- retired hosts, flapping, ordering ---


def test_retired_host_is_dropped_from_the_state_silently() -> None:
    state = {
        "gone-down": HostState(status=STATUS_DOWN, since=T0, last_ok_at=T0, notified_at=T0 + 16 * MIN),
        "gone-new": HostState(status=STATUS_NEW, since=T0),
    }
    # the failure record outlives the host; it does not keep it alive
    observations = observations_from_listings(echoes={}, pulses={}, failures={"gone-down": T0})
    result = evaluate(observations, state, T0 + 60 * MIN, STALE)
    assert result.events == ()
    assert result.next_state == {}
    assert result.statuses == ()
    assert sorted((d.host, d.outcome) for d in result.decisions) == [
        ("gone-down", "retired"),
        ("gone-new", "retired"),
    ]


def test_a_host_turned_off_keeps_its_down_state_until_retired() -> None:
    obs = {"off": Observation("off", last_ok_at=T0, pulse_at=T0 - MIN)}
    state = evaluate(obs, {}, T0 + 20 * MIN, STALE).next_state
    later = evaluate(obs, state, T0 + 24 * 60 * MIN, STALE)
    assert later.next_state == state
    assert [s.status for s in later.statuses] == [STATUS_DOWN]


def test_a_success_that_is_already_stale_again_keeps_the_host_down_without_a_message() -> None:
    state = evaluate(echo_only("h", T0), {}, T0 + 20 * MIN, STALE).next_state
    flapped = evaluate(echo_only("h", T0 + 30 * MIN), state, T0 + 50 * MIN, STALE)
    assert flapped.events == ()
    assert flapped.next_state["h"].last_ok_at == T0 + 30 * MIN
    assert flapped.next_state["h"].since == T0
    assert [d.outcome for d in flapped.decisions] == ["flapped"]


def test_events_are_ordered_down_still_down_up_then_by_host() -> None:
    renotify = 10 * MIN
    now = T0 + 60 * MIN
    observations = {
        "b-down": Observation("b-down", last_ok_at=T0, pulse_at=T0),
        "a-down": Observation("a-down", last_ok_at=T0, pulse_at=T0),
        "z-still": Observation("z-still", last_ok_at=T0, pulse_at=T0),
        "c-up": Observation("c-up", last_ok_at=now - MIN, pulse_at=now - MIN),
        "fine": Observation("fine", last_ok_at=now - MIN, pulse_at=now - MIN),
    }
    state = {
        "z-still": HostState(STATUS_DOWN, since=T0, last_ok_at=T0, notified_at=T0 + 16 * MIN),
        "c-up": HostState(STATUS_DOWN, since=T0, last_ok_at=T0, notified_at=T0 + 16 * MIN),
    }
    result = evaluate(observations, state, now, STALE, renotify)
    assert [(e.kind, e.host) for e in result.events] == [
        (EVENT_DOWN, "a-down"),
        (EVENT_DOWN, "b-down"),
        (EVENT_STILL_DOWN, "z-still"),
        (EVENT_UP, "c-up"),
    ]
    assert result.counts() == {"up": 2, "down": 3, "new": 0, "paused": 0}
    assert result.event_counts() == {"down": 2, "still_down": 1, "up": 1}


def test_evaluate_refuses_a_non_positive_threshold() -> None:
    with pytest.raises(ValueError, match="stale_after"):
        evaluate({}, {}, T0, timedelta(0))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        observations_from_listings({"h": datetime(2026, 1, 1)}, {}, {})


# --- reasons ---


def test_failure_newer_than_the_echo_is_the_reason() -> None:
    obs = Observation("h", last_ok_at=T0, last_failed_at=T0 + 10 * MIN, pulse_at=T0 + 10 * MIN)
    record = FailureRecord(reason="http_status", detail="HTTP 503 from https://h/health", http_status=503)
    reason = current_reason(obs, record, T0 + 20 * MIN, STALE)
    assert reason is not None
    assert reason.code == "http_status"
    assert reason.detail == "HTTP 503 from https://h/health"
    assert reason.failed_at == T0 + 10 * MIN
    assert reason.http_status == 503


def test_failure_older_than_the_echo_is_not_the_reason() -> None:
    obs = Observation("h", last_ok_at=T0, last_failed_at=T0 - MIN, pulse_at=T0 - 30 * MIN)
    reason = current_reason(obs, FailureRecord(reason="timeout"), T0 + 20 * MIN, STALE)
    assert reason is not None
    assert reason.code == REASON_PULSE_STOPPED
    assert "no pulse since 2026-01-01T09:30:00Z (50m 0s ago)" in reason.detail


def test_reason_without_a_failure_record() -> None:
    now = T0 + 20 * MIN
    failing = Observation("h", last_ok_at=T0, last_failed_at=T0 + MIN, pulse_at=T0 + MIN)
    assert current_reason(failing, None, now, STALE).code == REASON_CHECK_FAILED
    no_pulse = Observation("h", last_ok_at=T0)
    assert current_reason(no_pulse, None, now, STALE).code == REASON_NO_PULSE
    unchecked = Observation("h", last_ok_at=T0, pulse_at=now - MIN)
    assert current_reason(unchecked, None, now, STALE).code == REASON_NO_CHECK_RESULT
    up = Observation("h", last_ok_at=now - MIN, pulse_at=now - MIN)
    assert current_reason(up, None, now, STALE, status=STATUS_UP) is None


def test_hosts_needing_failure_records_is_bounded_by_the_hosts_listed() -> None:
    now = T0 + 60 * MIN
    observations = {
        f"h{i:02d}": Observation(f"h{i:02d}", last_ok_at=T0, last_failed_at=T0 + MIN, pulse_at=T0)
        for i in range(30)
    }
    observations["quiet"] = Observation("quiet", last_ok_at=T0, pulse_at=T0)  # no failure: nothing to read
    events = evaluate(observations, {}, now, STALE).events
    assert len(events) == 31
    assert hosts_needing_failure_records(events, 5) == ["h00", "h01", "h02", "h03", "h04"]
    assert len(hosts_needing_failure_records(events, 100)) == 30
    assert hosts_needing_failure_records(events, 0) == []


# --- the status view ---


def test_host_statuses_for_a_status_table() -> None:
    now = T0 + 30 * MIN
    observations = {
        "up": Observation("up", last_ok_at=now - MIN, pulse_at=now - MIN),
        "up-but-failing": Observation(
            "up-but-failing", last_ok_at=now - 11 * MIN, last_failed_at=now - MIN, pulse_at=now - MIN
        ),
        "down": Observation("down", last_ok_at=T0, last_failed_at=T0 + 20 * MIN, pulse_at=T0 + 20 * MIN),
        "new": Observation("new", pulse_at=now - 2 * MIN, last_failed_at=now - 2 * MIN),
    }
    state = {"down": HostState(STATUS_DOWN, since=T0, last_ok_at=T0, notified_at=T0 + 16 * MIN)}
    failures = {"down": FailureRecord(reason="timeout", detail="h sent nothing for 5 s")}
    rows = host_statuses(observations, state, now, STALE, failures)
    by_host = {row.host: row for row in rows}
    assert [row.host for row in rows] == sorted(observations)
    assert by_host["up"].status == STATUS_UP
    assert by_host["up"].reason is None
    assert by_host["up"].age == MIN
    assert by_host["up-but-failing"].status == STATUS_UP
    assert by_host["up-but-failing"].failing
    assert by_host["up-but-failing"].reason.code == REASON_CHECK_FAILED
    assert by_host["down"].status == STATUS_DOWN
    assert by_host["down"].since == T0
    assert by_host["down"].notified_at == T0 + 16 * MIN
    assert by_host["down"].reason.detail == "timeout: h sent nothing for 5 s"
    assert by_host["new"].status == STATUS_NEW
    assert by_host["new"].age is None
    assert by_host["new"].since == now - 2 * MIN
    row = json.loads(json.dumps(by_host["down"].to_dict()))
    assert row["last_ok_at"] == "2026-01-01T10:00:00Z"
    assert row["age_seconds"] == 1800
    assert row["reason"]["code"] == "timeout"
    # without the stored state a status table still works
    assert [r.status for r in host_statuses(observations, None, now, STALE)] == ["down", "new", "up", "up"]
