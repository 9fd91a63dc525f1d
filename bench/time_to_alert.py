"""Time to alert: when does the first alert go out after a host dies? A fake-clock simulation.

Usage: python bench/time_to_alert.py [--json]

Definitions (all times in whole seconds on a fake clock; no wall time):

- ``t = 0`` is the moment of the host's **last successful echo** (the
  ``LastModified`` of ``echo/<host>.json`` that check_echo wrote after the last
  good probe). The host dies right after it: no more pulses, so no more echoes.
  Before that it pulsed every ``pulse_interval`` and each pulse produced an echo.
- check_result runs every ``period`` seconds at ``phase + k * period`` for every
  integer ``k``; ``phase`` in ``[0, period)`` is where the schedule happens to
  sit relative to ``t``.
- At each run the simulation builds the listings that run would see and calls
  the real, pure status rules (``check_result.rules.evaluate``) with ``now`` set
  to the run's time and the state the previous run saved (every message is
  accepted). The **alert time** is the first run that emits a ``down`` event.

So the delay after the last echo is the first run strictly after
``stale_after`` (a host is stale only when its echo is *older* than the
threshold): best just over ``stale_after``, worst exactly ``stale_after +
period`` (a run lands exactly on the threshold, sees the host still up, and
the next run is a full period later). The sweep covers every phase at one
second resolution and asserts the worst case never exceeds that bound.

A second view measures from the moment the host actually **stopped**, which
may be up to one pulse interval after its last echo (it died before its next
pulse was due): that delay is the first minus the stop offset ``u`` in
``[0, pulse_interval)``, swept over every second of ``u`` too.

Not modelled (real time adds them): how late EventBridge delivers the
scheduled event, check_result's own run time (seconds; see the scale
benchmark) and the webhook's delivery.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "lambda_src", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from check_result import model, rules  # noqa: E402  (the real rules, after sys.path is set)
from check_result.state import HostState  # noqa: E402

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
HOST = "web-1"


@dataclass(frozen=True)
class Setting:
    """One configuration to simulate; every duration in seconds."""

    name: str
    period: int  # check_result schedule, rate(...)
    stale_after: int  # STALE_AFTER_MINUTES
    pulse_interval: int  # how often the host uploads a pulse
    schedule_expression: str = ""


DEFAULT = Setting(
    "default", period=600, stale_after=900, pulse_interval=600, schedule_expression="rate(10 minutes)"
)
TIGHT = Setting("tight", period=60, stale_after=180, pulse_interval=60, schedule_expression="rate(1 minute)")

# healthchecks.io, for comparison: a check is "down", and alerts go out, once the time since the
# last ping exceeds Period + Grace (docs: https://healthchecks.io/docs/configuring_checks/ and the
# check states in https://healthchecks.io/docs/); its `sendalerts` worker looks for checks going
# down in a loop that sleeps 2 s when idle (hc/api/management/commands/sendalerts.py). The
# equivalent of our settings is Period = pulse interval, Grace = stale_after - pulse interval.
HEALTHCHECKS_SOURCE = (
    "https://healthchecks.io/docs/configuring_checks/ (Period, Grace Time); check states at "
    "https://healthchecks.io/docs/ ('Down: time since last ping has exceeded Period + Grace'); "
    "github.com/healthchecks/healthchecks hc/api/management/commands/sendalerts.py (polls every 2 s)"
)


def _at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def last_multiple_at_or_before(moment: int, interval: int, latest: int) -> int:
    """The last time ``latest - j * interval`` (j >= 0) that is <= ``moment``."""
    if moment >= latest:
        return latest
    return latest - math.ceil((latest - moment) / interval) * interval


def alert_delay(setting: Setting, phase: int, *, failing: bool = False) -> int:
    """Seconds from the last echo (t = 0) to the first ``down`` event, for one schedule phase.

    ``failing``: the host keeps pulsing but every check fails (a failure record
    at each pulse) instead of stopping; only the echo's age decides, so the
    result is the same, which the tests check.

    Raises AssertionError if a run before the threshold alerts, or if no run
    alerts within ``stale_after + 2 * period``.
    """
    if not 0 <= phase < setting.period:
        raise ValueError("phase must be in [0, period)")
    stale_after = timedelta(seconds=setting.stale_after)
    # start early enough that the host has been seen up by at least two runs
    first_k = math.floor((-2 * setting.period - setting.pulse_interval - phase) / setting.period)
    state: dict[str, HostState] = {}
    k = first_k
    while True:
        run_at = phase + k * setting.period
        if run_at > setting.stale_after + 2 * setting.period:
            raise AssertionError(f"no alert by {run_at} s ({setting.name}, phase {phase})")
        last_echo = last_multiple_at_or_before(run_at, setting.pulse_interval, 0)
        if failing and run_at > 0:
            # pulses keep coming at j * pulse_interval; every check after t = 0 fails
            last_pulse = (run_at // setting.pulse_interval) * setting.pulse_interval
            last_failure: int | None = last_pulse if last_pulse > 0 else None
        else:
            last_pulse = last_echo
            last_failure = None
        observations = model.observations_from_listings(
            echoes={HOST: _at(last_echo)},
            pulses={HOST: _at(last_pulse)},
            failures={} if last_failure is None else {HOST: _at(last_failure)},
        )
        evaluation = rules.evaluate(observations, state, _at(run_at), stale_after)
        downs = [event for event in evaluation.events if event.kind == model.EVENT_DOWN]
        if downs:
            if run_at <= setting.stale_after:
                raise AssertionError(f"alert at {run_at} s, before the threshold ({setting.name})")
            return run_at
        state = evaluation.next_state
        k += 1


@dataclass
class Sweep:
    setting: Setting
    phases: int
    best: int
    mean: float
    worst: int
    bound: int  # stale_after + period
    from_stop_best: int
    from_stop_mean: float
    from_stop_worst: int


def sweep(setting: Setting, step: int = 1, *, failing: bool = False) -> Sweep:
    """Alert delay over every schedule phase (``step`` seconds apart) and stop offset.

    Asserts the worst delay after the last echo is at most ``stale_after + period``.
    """
    phases = list(range(0, setting.period, step))
    delays = [alert_delay(setting, phase, failing=failing) for phase in phases]
    bound = setting.stale_after + setting.period
    worst = max(delays)
    assert worst <= bound, f"worst {worst} s exceeds stale_after + period = {bound} s"
    # from the stop: the host stopped u seconds after its last echo, u in [0, pulse_interval)
    offsets = range(0, setting.pulse_interval, step)
    mean_offset = statistics.fmean(offsets)
    return Sweep(
        setting=setting,
        phases=len(phases),
        best=min(delays),
        mean=statistics.fmean(delays),
        worst=worst,
        bound=bound,
        from_stop_best=min(delays) - max(offsets),
        from_stop_mean=statistics.fmean(delays) - mean_offset,
        from_stop_worst=worst - min(offsets),
    )


def healthchecks_equivalent(setting: Setting) -> dict[str, Any]:
    """healthchecks.io's alert time for the same host: Period = pulse interval, Grace = the rest."""
    period = setting.pulse_interval
    grace = max(setting.stale_after - period, 60)
    return {
        "period_s": period,
        "grace_s": grace,
        "alert_after_last_ping_s": period + grace,
        "note": "plus the sendalerts loop (polls every 2 s) and delivery",
        "source": HEALTHCHECKS_SOURCE,
    }


def _mmss(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def measure(step: int = 1) -> dict[str, Any]:
    results = []
    for setting in (DEFAULT, TIGHT):
        result = sweep(setting, step)
        failing = sweep(setting, step, failing=True)
        results.append(
            {
                **asdict(result),
                "failing_checks_same": (failing.best, failing.worst) == (result.best, result.worst),
                "healthchecks_io": healthchecks_equivalent(setting),
            }
        )
    return {"step_seconds": step, "settings": results}


def table(report: dict[str, Any]) -> str:
    """Render the sweep as a Markdown table (durations in minutes:seconds)."""
    lines = [
        "| setting | phases swept | after last echo: best / mean / worst | worst ≤ stale_after + period | "
        "after the host stopped: best / mean / worst | healthchecks.io, same host (period + grace) |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    for row in report["settings"]:
        s = row["setting"]
        hc = row["healthchecks_io"]
        verdict = "PASS" if row["worst"] <= row["bound"] else "FAIL"
        lines.append(
            f"| {s['name']}: {s['schedule_expression']}, stale after {s['stale_after'] // 60} min, "
            f"pulse every {s['pulse_interval'] // 60} min | {row['phases']} "
            f"| {_mmss(row['best'])} / {_mmss(row['mean'])} / {_mmss(row['worst'])} "
            f"| {verdict} ({_mmss(row['worst'])} ≤ {_mmss(row['bound'])}) "
            f"| {_mmss(row['from_stop_best'])} / {_mmss(row['from_stop_mean'])} / "
            f"{_mmss(row['from_stop_worst'])} "
            f"| {_mmss(hc['alert_after_last_ping_s'])} after the last ping "
            f"({_mmss(hc['period_s'])} + {_mmss(hc['grace_s'])}), checked every 2 s |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=1, help="phase grid, seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = measure(args.step)
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
