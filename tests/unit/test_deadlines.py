"""Deadlines, pure: when each host is next due (check_result.rules.deadline), a deadline check's
evaluation merged into the sweep's (rules.recheck), and an invocation's window and wake times
(check_result.window). No AWS, no clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from check_result.model import EVENT_DOWN, STATUS_DOWN, STATUS_NEW, Observation, Profile
from check_result.rules import deadline, deadlines, evaluate, recheck
from check_result.state import HostState
from check_result.window import (
    CHECK_SPACING,
    HOSTS_PER_DEADLINE_CHECK,
    WAKE_AFTER,
    WINDOW_MARGIN,
    due,
    next_wake,
    window,
)

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)
STALE = 15 * MIN


def up(host: str, last_ok_at: datetime) -> Observation:
    return Observation(host, last_ok_at=last_ok_at, pulse_at=last_ok_at)


# --- when each host is due ---


def test_a_host_is_due_at_its_last_success_plus_its_own_threshold() -> None:
    observations = {"web": up("web", T0), "tight": up("tight", T0), "nightly": up("nightly", T0)}
    profiles = {"tight": Profile(stale_after=3 * MIN), "nightly": Profile(stale_after=1500 * MIN)}
    evaluation = evaluate(observations, {}, T0 + MIN, STALE, profiles=profiles)
    assert deadlines(evaluation) == {"web": T0 + STALE, "tight": T0 + 3 * MIN, "nightly": T0 + 1500 * MIN}
    # exactly at its deadline a host is still up; just after it, it is down
    at_deadline = evaluate(observations, {}, T0 + STALE, STALE, profiles=profiles)
    assert [e.host for e in at_deadline.events] == ["tight"]  # 12 minutes past its own
    later = evaluate(observations, at_deadline.next_state, T0 + STALE + WAKE_AFTER, STALE, profiles=profiles)
    assert [e.host for e in later.events] == ["web"]


def test_a_new_host_is_due_its_threshold_after_it_was_first_seen() -> None:
    observations = {"fresh": Observation("fresh", pulse_at=T0, last_failed_at=T0)}
    evaluation = evaluate(observations, {}, T0 + MIN, STALE)
    assert evaluation.next_state["fresh"].status == STATUS_NEW
    assert deadlines(evaluation) == {"fresh": T0 + STALE}


def test_a_paused_host_is_due_when_its_pause_ends_if_that_is_later() -> None:
    observations = {"db": up("db", T0), "app": up("app", T0)}
    profiles = {
        "db": Profile(stale_after=STALE, pause_until=T0 + 40 * MIN),  # stale during its pause
        "app": Profile(stale_after=STALE, pause_until=T0 + 5 * MIN),  # pause ends first
    }
    evaluation = evaluate(observations, {}, T0 + 30 * MIN, STALE, profiles=profiles)
    assert [(e.kind, e.host) for e in evaluation.events] == [(EVENT_DOWN, "app")]
    assert evaluation.suppressed == 1  # db: down, held back by its pause
    assert deadlines(evaluation) == {"db": T0 + 40 * MIN}
    before = evaluate(observations, {}, T0 + MIN, STALE, profiles=profiles)
    assert deadlines(before) == {"db": T0 + 40 * MIN, "app": T0 + STALE}


def test_no_deadline_for_a_host_announced_down_or_whose_threshold_is_unknown() -> None:
    observations = {"gone": up("gone", T0), "unread": up("unread", T0 + 20 * MIN)}
    state = {"gone": HostState(status=STATUS_DOWN, since=T0, last_ok_at=T0, notified_at=T0 + 16 * MIN)}
    profiles = {"unread": Profile(stale_after=STALE, pending=True)}
    evaluation = evaluate(observations, state, T0 + 21 * MIN, STALE, profiles=profiles)
    assert deadlines(evaluation) == {}
    # and the host this very check announces has none either
    announced = evaluate({"web": up("web", T0)}, {}, T0 + 16 * MIN, STALE)
    assert [e.kind for e in announced.events] == [EVENT_DOWN]
    assert deadlines(announced) == {}


def test_deadline_of_a_row_without_a_profile_is_none() -> None:
    [row] = evaluate({"web": up("web", T0)}, {}, T0, STALE).statuses
    assert deadline(row, None) == T0 + STALE
    from dataclasses import replace

    assert deadline(replace(row, profile=None), None) is None


# --- a deadline check's evaluation ---


def test_recheck_evaluates_only_the_hosts_read_again_and_keeps_the_others() -> None:
    observations = {f"h{i}": up(f"h{i}", T0 + i * SEC) for i in range(3)}
    old = {"old": HostState(status=STATUS_DOWN, since=T0 - 60 * MIN, notified_at=T0 - 40 * MIN)}
    sweep = evaluate({**observations, "old": up("old", T0 - 60 * MIN)}, old, T0 + STALE - SEC, STALE)
    assert sweep.events == ()

    moment = T0 + STALE + 1.5 * SEC  # h0 and h1 are due, h2 not yet
    fresh = {"h0": observations["h0"], "h1": up("h1", T0 + STALE)}  # h1 sent a pulse in time
    checked = recheck(sweep, fresh, sweep.next_state, moment, STALE)
    assert [(e.kind, e.host) for e in checked.events] == [(EVENT_DOWN, "h0")]
    assert set(checked.next_state) == {"old", "h0"}
    assert checked.next_state["old"] == sweep.next_state["old"]
    assert [row.host for row in checked.statuses] == ["h0", "h1", "h2", "old"]
    assert {row.host: row.status for row in checked.statuses}["h1"] == "up"


def test_recheck_drops_a_host_retired_meanwhile() -> None:
    sweep = evaluate({"web": Observation("web", pulse_at=T0)}, {}, T0 + MIN, STALE)
    assert sweep.next_state["web"].status == STATUS_NEW
    checked = recheck(sweep, {"web": Observation("web")}, sweep.next_state, T0 + STALE + SEC, STALE)
    assert checked.events == ()
    assert checked.next_state == {}
    assert checked.statuses == ()


# --- the window ---


def test_the_window_ends_before_the_next_scheduled_run() -> None:
    assert window(T0, T0, MIN, timedelta(seconds=120)).end == T0 + MIN - WINDOW_MARGIN
    assert window(T0, T0, MIN, None).next_run == T0 + MIN


def test_a_late_delivery_shortens_the_window_rather_than_moving_it() -> None:
    late = window(T0, T0 + 20 * SEC, MIN, timedelta(seconds=120))
    assert late.next_run == T0 + MIN
    assert late.end == T0 + MIN - WINDOW_MARGIN


@pytest.mark.parametrize("scheduled_at", [T0 + 5 * SEC, T0 - MIN, T0 - 10 * MIN])
def test_a_scheduled_time_after_the_start_or_a_period_before_it_is_not_trusted(scheduled_at) -> None:
    assert window(scheduled_at, T0, MIN, None).next_run == T0 + MIN


def test_the_window_ends_before_the_lambda_timeout_and_a_long_period_is_cut_by_it() -> None:
    assert window(T0, T0, MIN, timedelta(seconds=30)).end == T0 + 30 * SEC - WINDOW_MARGIN
    assert window(T0, T0, 10 * MIN, timedelta(seconds=120)).end == T0 + 120 * SEC - WINDOW_MARGIN


# --- when the next check wakes, and which hosts it reads ---


def test_a_check_wakes_just_after_the_earliest_deadline() -> None:
    end = T0 + 50 * SEC
    assert next_wake([T0 + 30 * SEC, T0 + 20 * SEC], T0, end) == T0 + 20 * SEC + WAKE_AFTER
    assert next_wake([], T0, end) is None
    assert next_wake([T0 + 50 * SEC], T0, end) is None  # after the window: the next sweep


def test_checks_of_one_invocation_are_at_least_the_spacing_apart() -> None:
    end = T0 + 50 * SEC
    assert next_wake([T0 + SEC], T0, end) == T0 + CHECK_SPACING
    assert next_wake([T0 + SEC], end - CHECK_SPACING + SEC, end) is None


def test_due_hosts_are_those_past_their_deadline_earliest_first_and_bounded() -> None:
    pending = {"b": T0 + 2 * SEC, "a": T0 + 2 * SEC, "c": T0 + SEC, "late": T0 + 9 * SEC, "now": T0 + 3 * SEC}
    assert due(pending, T0 + 3 * SEC) == ["c", "a", "b"]  # "now" is due only after its deadline
    assert due(pending, T0 + 3 * SEC, limit=2) == ["c", "a"]
    many = {f"h{i:04d}": T0 for i in range(HOSTS_PER_DEADLINE_CHECK + 5)}
    assert len(due(many, T0 + SEC)) == HOSTS_PER_DEADLINE_CHECK
