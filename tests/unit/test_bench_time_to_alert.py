"""The time-to-alert simulation (bench/time_to_alert.py) is right: its bound, its edges, its inputs."""

from __future__ import annotations

import pytest

from bench import time_to_alert as tta


@pytest.mark.parametrize(
    ("setting", "step"),
    [(tta.DEFAULT, 60), (tta.TIGHT, 10)],
    ids=["default", "tight"],
)
def test_worst_case_equals_stale_after_plus_period_on_a_coarse_grid(setting: tta.Setting, step: int) -> None:
    result = tta.sweep(setting, step)

    assert result.worst == setting.stale_after + setting.period
    assert result.best > setting.stale_after
    assert result.worst <= result.bound


def test_a_run_exactly_at_the_threshold_does_not_alert_and_the_next_one_does() -> None:
    setting = tta.Setting("edge", period=600, stale_after=900, pulse_interval=600)
    phase_on_threshold = setting.stale_after % setting.period  # a run lands at t = 900 s

    assert tta.alert_delay(setting, phase_on_threshold) == setting.stale_after + setting.period


def test_a_run_one_second_after_the_threshold_alerts_at_once() -> None:
    setting = tta.Setting("edge", period=600, stale_after=900, pulse_interval=600)
    phase = (setting.stale_after + 1) % setting.period

    assert tta.alert_delay(setting, phase) == setting.stale_after + 1


def test_a_host_whose_checks_fail_alerts_at_the_same_time_as_one_that_stopped() -> None:
    for phase in range(0, tta.DEFAULT.period, 50):
        assert tta.alert_delay(tta.DEFAULT, phase, failing=True) == tta.alert_delay(tta.DEFAULT, phase)


def test_the_delay_from_the_stop_is_the_delay_from_the_last_echo_minus_the_stop_offset() -> None:
    setting = tta.Setting("small", period=120, stale_after=300, pulse_interval=60)
    result = tta.sweep(setting, 1)

    assert result.from_stop_worst == result.worst
    assert result.from_stop_best == result.best - (setting.pulse_interval - 1)
    assert result.from_stop_mean == pytest.approx(result.mean - (setting.pulse_interval - 1) / 2)


def test_a_phase_outside_the_period_is_refused() -> None:
    with pytest.raises(ValueError, match="phase"):
        tta.alert_delay(tta.DEFAULT, tta.DEFAULT.period)


def test_last_echo_before_a_run_is_the_latest_pulse_at_or_before_it() -> None:
    assert tta.last_multiple_at_or_before(-5, 10, 0) == -10
    assert tta.last_multiple_at_or_before(-10, 10, 0) == -10
    assert tta.last_multiple_at_or_before(0, 10, 0) == 0
    assert tta.last_multiple_at_or_before(1234, 10, 0) == 0
