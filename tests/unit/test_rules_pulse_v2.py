"""The status rules with pulse v2 (check_result.rules): each host's own threshold, a job's own
failure, pauses, and the dating of a never-successful host. Pure: no AWS, no clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from check_result.model import (
    EVENT_DOWN,
    EVENT_STILL_DOWN,
    EVENT_UP,
    STATUS_DOWN,
    STATUS_NEW,
    STATUS_PAUSED,
    STATUS_UP,
    Observation,
    Profile,
)
from check_result.rules import (
    evaluate,
    first_seen,
    host_statuses,
    hosts_needing_echo_records,
    hosts_to_date,
    with_failing_since,
)
from check_result.state import HostState
from pulse_echo.records import FailureRecord

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
STALE = 15 * MIN
NIGHTLY = Profile(stale_after=1500 * MIN, kind="job")


def events_of(result) -> list[tuple[str, str]]:
    return [(event.kind, event.host) for event in result.events]


# --- each host's own threshold ---


def test_each_host_is_judged_by_its_own_threshold() -> None:
    observations = {
        "backup": Observation("backup", last_ok_at=T0 - 20 * 60 * MIN, pulse_at=T0 - 20 * 60 * MIN),
        "web": Observation("web", last_ok_at=T0 - 20 * MIN, pulse_at=T0 - 20 * MIN),
        "tight": Observation("tight", last_ok_at=T0 - 4 * MIN, pulse_at=T0 - 4 * MIN),
    }
    profiles = {"backup": NIGHTLY, "tight": Profile(stale_after=3 * MIN, kind="heartbeat")}
    result = evaluate(observations, {}, T0, STALE, profiles=profiles)
    assert events_of(result) == [(EVENT_DOWN, "tight"), (EVENT_DOWN, "web")]  # web: no profile, 15 minutes
    assert {row.host: row.status for row in result.statuses} == {
        "backup": "up",
        "tight": "down",
        "web": "down",
    }

    later = evaluate(observations, result.next_state, T0 + 5 * 60 * MIN + MIN, STALE, profiles=profiles)
    assert events_of(later) == [(EVENT_DOWN, "backup")]  # 25 h 1 min after its last success


def test_a_new_host_becomes_down_after_its_own_threshold() -> None:
    observations = {"job": Observation("job", last_failed_at=T0, pulse_at=T0)}
    profiles = {"job": Profile(stale_after=60 * MIN)}
    first = evaluate(observations, {}, T0 + 30 * MIN, STALE, profiles=profiles)
    assert [row.status for row in first.statuses] == [STATUS_NEW]
    assert events_of(evaluate(observations, first.next_state, T0 + 61 * MIN, STALE, profiles=profiles)) == [
        (EVENT_DOWN, "job")
    ]


def test_the_pulse_stopped_reason_uses_the_hosts_threshold() -> None:
    observations = {"backup": Observation("backup", last_ok_at=T0, pulse_at=T0)}
    [row] = host_statuses(observations, {}, T0 + 26 * 60 * MIN, STALE, profiles={"backup": NIGHTLY})
    assert (row.status, row.reason.code) == (STATUS_DOWN, "pulse_stopped")
    assert row.to_dict()["stale_after_minutes"] == 1500
    assert row.to_dict()["kind"] == "job"


# --- a job's own failure ---


def failed_job(last_ok_at: datetime | None, failed_at: datetime) -> Observation:
    return Observation("backup", last_ok_at=last_ok_at, last_failed_at=failed_at, pulse_at=failed_at)


FAILED = Profile(stale_after=1500 * MIN, kind="job", job_failed=True, exit_code=2)


def test_a_job_failure_is_down_at_the_next_run_whatever_its_threshold() -> None:
    observations = {"backup": failed_job(T0 - 24 * 60 * MIN, T0 - MIN)}
    result = evaluate(observations, {}, T0, STALE, profiles={"backup": FAILED})
    assert events_of(result) == [(EVENT_DOWN, "backup")]
    [event] = result.events
    assert event.since == T0 - 24 * 60 * MIN  # the outage: since its last successful run
    assert event.host_kind == "job"
    assert result.next_state["backup"].status == STATUS_DOWN


def test_a_job_that_never_succeeded_and_fails_is_down_at_once() -> None:
    observations = {"backup": failed_job(None, T0 - MIN)}
    result = evaluate(observations, {}, T0, STALE, profiles={"backup": FAILED})
    assert events_of(result) == [(EVENT_DOWN, "backup")]
    assert result.events[0].was_new


def test_a_fail_result_older_than_the_echo_is_not_a_failure() -> None:
    # the index still says "fail" (its new pulse not read yet) but the job succeeded since
    observations = {"backup": Observation("backup", T0 - MIN, T0 - 60 * MIN, T0 - MIN)}
    result = evaluate(observations, {}, T0, STALE, profiles={"backup": FAILED})
    assert result.events == ()
    assert [row.status for row in result.statuses] == [STATUS_UP]


def test_a_failed_job_recovers_when_it_succeeds_again() -> None:
    down = evaluate(
        {"backup": failed_job(T0 - 24 * 60 * MIN, T0)}, {}, T0 + MIN, STALE, profiles={"backup": FAILED}
    )
    succeeded = Observation("backup", T0 + 24 * 60 * MIN, T0, T0 + 24 * 60 * MIN)
    later = T0 + 24 * 60 * MIN + 5 * MIN
    up = evaluate({"backup": succeeded}, down.next_state, later, STALE, profiles={"backup": NIGHTLY})
    assert events_of(up) == [(EVENT_UP, "backup")]
    assert up.next_state == {}
    assert hosts_needing_echo_records(up.events, {"backup": NIGHTLY}, 20) == ["backup"]
    assert (
        hosts_needing_echo_records(up.events, {"backup": Profile(stale_after=STALE, kind="probe")}, 20) == []
    )
    assert hosts_needing_echo_records(up.events, {"backup": NIGHTLY}, 0) == []


# --- pauses ---

PAUSE_END = T0 + 60 * MIN


def paused(kind: str = "probe", stale_after: timedelta = STALE) -> Profile:
    return Profile(stale_after=stale_after, kind=kind, pause_until=PAUSE_END)


def stale_host(host: str = "web") -> dict[str, Observation]:
    return {host: Observation(host, last_ok_at=T0 - 30 * MIN, pulse_at=T0 - 30 * MIN)}


def test_a_paused_host_is_never_announced_down_and_shows_paused() -> None:
    result = evaluate(stale_host(), {}, T0, STALE, profiles={"web": paused()})
    assert result.events == ()
    assert result.suppressed == 1
    [row] = result.statuses
    assert (row.status, row.health) == (STATUS_PAUSED, STATUS_DOWN)
    assert row.to_dict()["paused_until"] == "2026-01-01T11:00:00Z"
    assert result.counts() == {"up": 0, "down": 0, "new": 0, "paused": 1}
    assert result.next_state == {}  # nothing announced: nothing stored


def test_when_the_pause_ends_a_host_still_down_is_announced_once() -> None:
    profiles = {"web": paused()}
    during = evaluate(stale_host(), {}, T0, STALE, profiles=profiles)
    after = evaluate(
        stale_host(), during.next_state, PAUSE_END, STALE, profiles=profiles
    )  # ended (exclusive)
    assert events_of(after) == [(EVENT_DOWN, "web")]
    again = evaluate(stale_host(), after.next_state, PAUSE_END + 10 * MIN, STALE, profiles=profiles)
    assert again.events == ()


def test_a_down_announced_before_the_pause_is_not_announced_again_after_it() -> None:
    notified = {
        "web": HostState(
            STATUS_DOWN, since=T0 - 30 * MIN, last_ok_at=T0 - 30 * MIN, notified_at=T0 - 10 * MIN
        )
    }
    profiles = {"web": paused()}
    during = evaluate(stale_host(), notified, T0, STALE, timedelta(minutes=5), profiles)
    assert during.events == ()  # not even the reminder that is due
    assert during.suppressed == 1
    assert during.next_state == notified
    after = evaluate(stale_host(), during.next_state, PAUSE_END, STALE, profiles=profiles)
    assert after.events == ()


def test_reminders_resume_after_the_pause() -> None:
    notified = {
        "web": HostState(
            STATUS_DOWN, since=T0 - 30 * MIN, last_ok_at=T0 - 30 * MIN, notified_at=T0 - 10 * MIN
        )
    }
    after = evaluate(stale_host(), notified, PAUSE_END, STALE, timedelta(minutes=60), {"web": paused()})
    assert events_of(after) == [(EVENT_STILL_DOWN, "web")]


def test_a_recovery_during_a_pause_is_still_announced() -> None:
    notified = {
        "web": HostState(
            STATUS_DOWN, since=T0 - 30 * MIN, last_ok_at=T0 - 30 * MIN, notified_at=T0 - 10 * MIN
        )
    }
    back = {"web": Observation("web", last_ok_at=T0 - MIN, pulse_at=T0 - MIN)}
    result = evaluate(back, notified, T0, STALE, profiles={"web": paused()})
    assert events_of(result) == [(EVENT_UP, "web")]
    assert result.next_state == {}
    assert [row.status for row in result.statuses] == [STATUS_PAUSED]


def test_a_job_failure_during_a_pause_waits_for_its_end() -> None:
    profile = Profile(stale_after=1500 * MIN, kind="job", job_failed=True, pause_until=PAUSE_END)
    observations = {"backup": failed_job(T0 - 24 * 60 * MIN, T0 - MIN)}
    during = evaluate(observations, {}, T0, STALE, profiles={"backup": profile})
    assert during.events == ()
    after = evaluate(observations, during.next_state, PAUSE_END + MIN, STALE, profiles={"backup": profile})
    assert events_of(after) == [(EVENT_DOWN, "backup")]


def test_a_never_successful_host_keeps_its_first_seen_time_through_a_pause() -> None:
    observations = {"new": Observation("new", last_failed_at=T0 - 20 * MIN, pulse_at=T0 - 20 * MIN)}
    profiles = {"new": paused()}
    during = evaluate(observations, {}, T0, STALE, profiles=profiles)
    assert during.events == ()
    assert during.next_state == {"new": HostState(STATUS_NEW, since=T0 - 20 * MIN)}
    later = {"new": Observation("new", last_failed_at=PAUSE_END, pulse_at=PAUSE_END)}
    after = evaluate(later, during.next_state, PAUSE_END + MIN, STALE, profiles=profiles)
    assert events_of(after) == [(EVENT_DOWN, "new")]
    assert after.events[0].since == T0 - 20 * MIN


def test_an_up_host_that_is_paused_shows_paused_and_has_no_reason() -> None:
    observations = {"web": Observation("web", last_ok_at=T0 - MIN, pulse_at=T0 - MIN)}
    [row] = host_statuses(observations, {}, T0, STALE, profiles={"web": paused()})
    assert (row.status, row.health, row.reason) == (STATUS_PAUSED, STATUS_UP, None)


def test_a_pause_that_has_ended_is_no_pause() -> None:
    profile = Profile(stale_after=STALE, pause_until=T0 - MIN)
    result = evaluate(stale_host(), {}, T0, STALE, profiles={"web": profile})
    assert events_of(result) == [(EVENT_DOWN, "web")]
    assert result.statuses[0].to_dict()["paused_until"] is None


# --- dating a host that never succeeded ---


def test_failing_since_dates_a_host_first_seen_by_this_run() -> None:
    observation = Observation("batch", last_failed_at=T0, pulse_at=T0)
    observations = {"batch": observation, "ok": Observation("ok", last_ok_at=T0, pulse_at=T0)}
    assert hosts_to_date(observations, {}, 20) == ["batch"]
    assert hosts_to_date(observations, {"batch": HostState(STATUS_NEW, since=T0)}, 20) == []
    assert hosts_to_date(observations, {}, 0) == []
    dated = with_failing_since(
        observations, {"batch": FailureRecord(reason="timeout", failing_since=T0 - 40 * MIN)}
    )
    assert dated["ok"] is observations["ok"]
    assert first_seen(dated["batch"], STALE) == T0 - 40 * MIN
    result = evaluate(dated, {}, T0 + MIN, STALE)
    assert events_of(result) == [(EVENT_DOWN, "batch")]  # failing for 41 minutes: no 15-minute wait
    assert result.events[0].since == T0 - 40 * MIN


@pytest.mark.parametrize("failing_since", [None, T0 + MIN])
def test_a_missing_or_later_failing_since_changes_nothing(failing_since) -> None:
    observation = Observation("batch", last_failed_at=T0, pulse_at=T0, failing_since=failing_since)
    assert first_seen(observation, STALE) == T0
