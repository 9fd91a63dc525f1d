"""The time-to-alert simulation (bench/time_to_alert.py) is right: its edges, its bounds, its inputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from check_result.window import CHECK_SPACING, WAKE_AFTER, WINDOW_MARGIN

from bench import time_to_alert as tta

SPACING = CHECK_SPACING.total_seconds()
MARGIN = WINDOW_MARGIN.total_seconds()
BEFORE = tta.Mechanism("rate(10 minutes)", 600, 1.0)
SWEEP = tta.Mechanism("rate(1 minute)", 60, 1.0)
CHOSEN = tta.Mechanism("rate(1 minute) + deadline checks", 60, 1.0, deadline_checks=True)


def delay(host: tta.Host, mechanism: tta.Mechanism, phase: float) -> float:
    return tta.alert_time(host, mechanism, phase).at - host.stale_after


def test_a_sweep_exactly_at_the_deadline_sees_the_host_up_and_the_next_one_alerts() -> None:
    # runs start ``phase`` before the deadline; a sweep's moment is its own time after that
    assert delay(tta.DEFAULT, BEFORE, BEFORE.sweep_seconds) == pytest.approx(BEFORE.period)
    assert delay(tta.DEFAULT, SWEEP, SWEEP.sweep_seconds) == pytest.approx(SWEEP.period)


def test_a_sweep_just_after_the_deadline_alerts_at_once() -> None:
    assert delay(tta.DEFAULT, SWEEP, 0.0) == pytest.approx(SWEEP.sweep_seconds)


def test_a_deadline_inside_the_window_is_checked_just_after_it() -> None:
    # runs start 20 s before the deadline: the sweep's moment is 19 s before it
    alert = tta.alert_time(tta.DEFAULT, CHOSEN, 20.0)
    assert alert.by == "deadline"
    assert alert.at - tta.DEFAULT.stale_after == pytest.approx(WAKE_AFTER.total_seconds())
    assert alert.waited == pytest.approx(19.0 + WAKE_AFTER.total_seconds())


def test_a_deadline_right_after_the_sweep_waits_for_the_spacing() -> None:
    alert = tta.alert_time(tta.DEFAULT, CHOSEN, CHOSEN.sweep_seconds)  # the deadline at the sweep's moment
    assert alert.by == "deadline"
    assert alert.at - tta.DEFAULT.stale_after == pytest.approx(SPACING)


def test_a_deadline_after_the_window_waits_for_the_next_sweep() -> None:
    phase = CHOSEN.period - MARGIN + 1  # the deadline is 1 s after the window's end
    alert = tta.alert_time(tta.DEFAULT, CHOSEN, phase)
    assert alert.by == "sweep"
    assert alert.at - tta.DEFAULT.stale_after == pytest.approx(MARGIN - 1 + CHOSEN.sweep_seconds)


def test_the_worst_case_is_the_spacing_or_the_margin_plus_the_sweep_whichever_is_longer() -> None:
    for seconds in (1.0, 30.0):
        mechanism = tta.Mechanism("x", 60, seconds, deadline_checks=True)
        row = tta.sweep(tta.TIGHT, mechanism, step=0.5)
        assert row.worst == pytest.approx(max(SPACING, MARGIN + seconds), abs=0.51)
        assert row.best <= 0.01


@pytest.mark.parametrize("host", tta.HOSTS, ids=lambda host: host.name)
def test_each_host_is_judged_by_its_own_threshold(host: tta.Host) -> None:
    row = tta.sweep(host, SWEEP, step=1)
    assert row.worst_after_last_success == pytest.approx(host.stale_after + SWEEP.period)


def test_the_table_marks_the_goal_on_the_default_mechanism_only() -> None:
    report = tta.measure(step=5, sweep_seconds={"1,000 hosts": 1.0})
    goals = {(row["host"]["name"], row["mechanism"]["name"]): row["goal_pass"] for row in report["rows"]}
    assert goals[("default", "rate(1 minute) sweep + deadline checks (default)")] is True
    assert goals[("default", "before: rate(10 minutes) sweep")] is None
    text = tta.table(report)
    assert "| default (15 min, pulse 10 min) | rate(1 minute) sweep + deadline checks (default) |" in text
    assert "healthchecks.io: sendalerts polls every 2 s" in text


def test_a_phase_outside_the_period_is_refused() -> None:
    with pytest.raises(ValueError, match="phase"):
        tta.alert_time(tta.DEFAULT, SWEEP, SWEEP.period)


def test_last_success_before_a_moment_is_the_latest_pulse_at_or_before_it() -> None:
    assert tta.last_multiple_at_or_before(-5, 10, 0) == -10
    assert tta.last_multiple_at_or_before(-10, 10, 0) == -10
    assert tta.last_multiple_at_or_before(0, 10, 0) == 0
    assert tta.last_multiple_at_or_before(1234, 10, 0) == 0


# --- docs/scale.md shows the real table ---

SCALE_PAGE = Path(__file__).resolve().parents[2] / "docs" / "scale.md"
SWEEP_CELL = re.compile(r"\| ([0-9.]+) s \(([0-9,]+ hosts)\) \|")
SCALE_ROW = re.compile(
    r"^\| ([0-9,]+) \([0-9,]+\) \|.*?\| ([0-9.]+) s of [0-9]+ s: (?:PASS|FAIL)", re.MULTILINE
)


def documented_sweep_seconds(page: str) -> dict[str, float]:
    """The sweep times the page's time-to-alert table was made with (its only measured input:
    the scale table's Lambda estimates), in the order shown."""
    found: dict[str, float] = {}
    for seconds, fleet in SWEEP_CELL.findall(page):
        found.setdefault(fleet, float(seconds))
    return found


def test_docs_show_the_real_time_to_alert_table() -> None:
    page = SCALE_PAGE.read_text(encoding="utf-8")
    sweep_seconds = documented_sweep_seconds(page)
    assert len(sweep_seconds) == 2, sweep_seconds
    table = tta.table(tta.measure(sweep_seconds=sweep_seconds))
    assert table in page, "docs/scale.md's time-to-alert table is stale: run make bench and paste it"


def test_the_documented_sweep_times_are_the_scale_tables_estimates() -> None:
    page = SCALE_PAGE.read_text(encoding="utf-8")
    estimates = {f"{hosts} hosts": float(seconds) for hosts, seconds in SCALE_ROW.findall(page)}
    sweep_seconds = documented_sweep_seconds(page)
    assert sweep_seconds
    assert {fleet: estimates.get(fleet) for fleet in sweep_seconds} == sweep_seconds
