"""Time to alert: how long after a host's deadline does its alert go out? A fake-clock simulation.

Usage: python bench/time_to_alert.py [--step 0.1] [--json]

A host's **deadline** is its last successful check plus its own threshold: the
physical floor, since it is up until then (``t = 0`` is its last success; it
dies right after, so no more echoes). What is measured is the time from the
deadline to the moment of the check that sends its ``down`` alert, over every
**phase**: where the deadline falls relative to the schedule (the schedule's
runs start at ``deadline - phase + k * period``), swept over a whole period at
``--step`` resolution (0.1 s).

Each check calls check_result's real, pure code with the simulated time as
``now``: the status rules (``rules.evaluate``) for a sweep, and for the
invocation's deadline checks the same ones the run uses (``rules.deadlines``
for when each host is due, ``window.window`` and ``window.next_wake`` for when
a check may run, ``window.due`` and ``rules.recheck`` for the check itself). A
sweep's ``now`` is its start plus its own time (the listings: ``sweep_seconds``,
taken from the scale benchmark's Lambda estimate when run.py has one).

Mechanisms compared, for the default host (15-minute threshold, a pulse every
10 minutes), a tight one (3 minutes, every minute) and a nightly job (1,500
minutes, every 1,440):

- the schedule before: a ``rate(10 minutes)`` sweep;
- a ``rate(1 minute)`` sweep alone;
- the module's default: a ``rate(1 minute)`` sweep, then deadline checks in the
  same invocation until its window ends (check_result.window);
- healthchecks.io: a check goes down once the time since its last ping exceeds
  Period + Grace (its threshold: the same deadline), found by the ``sendalerts``
  loop, which sleeps 2 s when it finds nothing to do (HEALTHCHECKS_SOURCE).

Not modelled (real time adds them to every row alike): how late EventBridge
delivers the scheduled event, a deadline check's few HEADs, and the webhook's
answer.
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

from check_result import model, rules, window  # noqa: E402  (the real code, after sys.path is set)
from check_result.state import HostState  # noqa: E402

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
HOST = "web-1"
MODULE_STALE_AFTER = timedelta(minutes=15)
LAMBDA_TIMEOUT_SECONDS = 120.0  # check_result_timeout_seconds' default
GOAL_AFTER_DEADLINE_SECONDS = 60.0
GOAL_AFTER_LAST_SUCCESS_SECONDS = 16 * 60.0  # the default host: 15:00 + the goal's minute
DEFAULT_SWEEP_SECONDS = {"1,000 hosts": 1.0, "50,000 hosts": 30.0}
"""A sweep's own time when the scale benchmark did not run (its Lambda estimates replace it)."""

HEALTHCHECKS_SOURCE = (
    "https://healthchecks.io/docs/configuring_checks/ (Period, Grace Time); check states at "
    "https://healthchecks.io/docs/ ('Down: time since last ping has exceeded Period + Grace'); "
    "github.com/healthchecks/healthchecks hc/api/management/commands/sendalerts.py (handle(): "
    "time.sleep(2) when there is no work)"
)


@dataclass(frozen=True)
class Host:
    """A monitored host: its own threshold and how often it pulses, in seconds."""

    name: str
    stale_after: int
    pulse_interval: int


DEFAULT = Host("default", stale_after=900, pulse_interval=600)
TIGHT = Host("tight", stale_after=180, pulse_interval=60)
NIGHTLY = Host("nightly job", stale_after=1500 * 60, pulse_interval=1440 * 60)
HOSTS = (DEFAULT, TIGHT, NIGHTLY)


@dataclass(frozen=True)
class Mechanism:
    """How check_result (or healthchecks.io) looks: every ``period`` seconds a sweep whose
    ``now`` comes ``sweep_seconds`` after its start, and, with ``deadline_checks``, the
    invocation's deadline checks after it."""

    name: str
    period: float
    sweep_seconds: float = 0.0
    deadline_checks: bool = False
    fleet: str = ""


def mechanisms(sweep_seconds: dict[str, float]) -> list[Mechanism]:
    """The rows of the table, for each host: the schedule before, a one-minute sweep alone, the
    module's default at each fleet size in ``sweep_seconds`` (``{"1,000 hosts": s, ...}``),
    and healthchecks.io."""
    small = min(sweep_seconds.values())
    first = next(label for label, seconds in sweep_seconds.items() if seconds == small)
    rows = [
        Mechanism("before: rate(10 minutes) sweep", 600, small, fleet=first),
        Mechanism("rate(1 minute) sweep alone", 60, small, fleet=first),
    ]
    rows += [
        Mechanism("rate(1 minute) sweep + deadline checks (default)", 60, seconds, True, fleet=label)
        for label, seconds in sweep_seconds.items()
    ]
    rows.append(Mechanism("healthchecks.io: sendalerts polls every 2 s", 2))
    return rows


def _at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def last_multiple_at_or_before(moment: float, interval: float, latest: float) -> float:
    """The last time ``latest - j * interval`` (j >= 0) that is <= ``moment``."""
    if moment >= latest:
        return latest
    return latest - math.ceil((latest - moment) / interval) * interval


@dataclass(frozen=True)
class Alert:
    """When the alert went out (seconds after the last success) and how: by a ``sweep`` or a
    ``deadline`` check, and how long the invocation waited for it (``waited``: from its sweep's
    moment to the check, 0 for a sweep)."""

    at: float
    by: str
    waited: float = 0.0


class World:
    """One host that stopped at ``t = 0``, seen by check_result's real code."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.profiles = {
            HOST: model.Profile(stale_after=timedelta(seconds=host.stale_after), kind="heartbeat")
        }

    def observations(self, moment: float) -> dict[str, model.Observation]:
        last_ok = last_multiple_at_or_before(moment, self.host.pulse_interval, 0)
        return model.observations_from_listings(
            echoes={HOST: _at(last_ok)}, pulses={HOST: _at(last_ok)}, failures={}
        )

    def evaluate(self, moment: float, state: dict[str, HostState]) -> model.Evaluation:
        return rules.evaluate(
            self.observations(moment), state, _at(moment), MODULE_STALE_AFTER, None, self.profiles
        )


def _down(evaluation: model.Evaluation) -> bool:
    return any(event.kind == model.EVENT_DOWN for event in evaluation.events)


def alert_time(host: Host, mechanism: Mechanism, phase: float) -> Alert:
    """When ``mechanism`` alerts ``host`` whose deadline falls ``phase`` seconds after the start
    of a run (runs start at ``deadline - phase + k * period``). Raises AssertionError if a check
    alerts before the deadline, or none within two periods after it."""
    if not 0 <= phase < mechanism.period:
        raise ValueError("phase must be in [0, period)")
    world, deadline, period = World(host), host.stale_after, mechanism.period
    state: dict[str, HostState] = {}
    start = deadline - phase - 2 * period - mechanism.sweep_seconds  # seen up by earlier runs first
    start = deadline - phase - math.ceil((deadline - phase - start) / period) * period
    while start <= deadline + 2 * period:
        moment = start + mechanism.sweep_seconds
        evaluation = world.evaluate(moment, state)
        if _down(evaluation):
            return _checked(Alert(moment, "sweep"), deadline)
        state = evaluation.next_state
        if mechanism.deadline_checks:
            found = deadline_checks(world, evaluation, state, start, moment, period)
            if found is not None:
                return _checked(found, deadline)
        start += period
    raise AssertionError(f"no alert by {start} s ({host.name}, {mechanism.name}, phase {phase})")


def deadline_checks(
    world: World,
    evaluation: model.Evaluation,
    state: dict[str, HostState],
    started: float,
    swept: float,
    period: float,
) -> Alert | None:
    """The invocation's deadline checks after a sweep at ``swept`` (check_result.run's loop, on
    the simulated clock); the first that alerts, or None when the window ends first."""
    bounds = window.window(
        _at(started), _at(started), timedelta(seconds=period), timedelta(seconds=LAMBDA_TIMEOUT_SECONDS)
    )
    last_at = _at(swept)
    while True:
        pending = {host: due for host, due in rules.deadlines(evaluation).items() if due <= bounds.end}
        wake = window.next_wake(pending.values(), last_at, bounds.end)
        if wake is None:
            return None
        moment = (wake - EPOCH).total_seconds()
        fresh = {host: world.observations(moment)[host] for host in window.due(pending, wake)}
        evaluation = rules.recheck(evaluation, fresh, state, wake, MODULE_STALE_AFTER, None, world.profiles)
        if _down(evaluation):
            return Alert(moment, "deadline", moment - swept)
        state, last_at = evaluation.next_state, wake


def _checked(alert: Alert, deadline: float) -> Alert:
    if alert.at <= deadline:
        raise AssertionError(f"alert at {alert.at} s, not after the deadline {deadline} s")
    return alert


@dataclass
class Row:
    host: Host
    mechanism: Mechanism
    phases: int
    best: float
    mean: float
    worst: float
    worst_after_last_success: float
    deadline_checks_share: float
    mean_wait: float
    """Mean time an invocation waited for the deadline check that alerted (0 for a sweep)."""

    @property
    def goal_pass(self) -> bool | None:
        """The issue's goal, for the module's default: at most 60 s after the deadline (and 16:00
        after the last success for the default host)."""
        if not self.mechanism.deadline_checks:
            return None
        ok = self.worst <= GOAL_AFTER_DEADLINE_SECONDS
        if self.host == DEFAULT:
            ok = ok and self.worst_after_last_success <= GOAL_AFTER_LAST_SUCCESS_SECONDS
        return ok


def sweep(host: Host, mechanism: Mechanism, step: float = 0.1) -> Row:
    """alert_time over every phase of the period, ``step`` seconds apart."""
    count = max(1, round(mechanism.period / step))
    alerts = [alert_time(host, mechanism, index * mechanism.period / count) for index in range(count)]
    delays = [alert.at - host.stale_after for alert in alerts]
    return Row(
        host=host,
        mechanism=mechanism,
        phases=count,
        best=min(delays),
        mean=statistics.fmean(delays),
        worst=max(delays),
        worst_after_last_success=host.stale_after + max(delays),
        deadline_checks_share=sum(alert.by == "deadline" for alert in alerts) / count,
        mean_wait=statistics.fmean(alert.waited for alert in alerts),
    )


def measure(step: float = 0.1, sweep_seconds: dict[str, float] | None = None) -> dict[str, Any]:
    """Every host under every mechanism; JSON-ready."""
    seconds = dict(sweep_seconds or DEFAULT_SWEEP_SECONDS)
    rows = [sweep(host, mechanism, step) for host in HOSTS for mechanism in mechanisms(seconds)]
    return {
        "step_seconds": step,
        "sweep_seconds": seconds,
        "margins": {
            "window_margin_s": window.WINDOW_MARGIN.total_seconds(),
            "check_spacing_s": window.CHECK_SPACING.total_seconds(),
        },
        "rows": [
            {
                **{k: v for k, v in asdict(row).items() if k not in ("host", "mechanism")},
                "host": asdict(row.host),
                "mechanism": asdict(row.mechanism),
                "goal_pass": row.goal_pass,
            }
            for row in rows
        ],
        "healthchecks_source": HEALTHCHECKS_SOURCE,
    }


def _span(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)}:{rest:04.1f}"
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}"


def table(report: dict[str, Any]) -> str:
    """Render the rows as a Markdown table."""
    lines = [
        "| host (threshold, pulse) | how check_result looks | sweep's own time | phases | "
        "after the deadline: best / mean / worst | worst after the last success | goal: ≤ 60 s "
        "after the deadline (default host: ≤ 16:00 after the last success) |",
        "| --- | --- | ---: | ---: | --- | ---: | --- |",
    ]
    for row in report["rows"]:
        host, mechanism = row["host"], row["mechanism"]
        pulse = (
            _span(host["pulse_interval"]).replace(":00.0", " min")
            if host["pulse_interval"] < 3600
            else "daily"
        )
        label = f"{host['name']} ({host['stale_after'] // 60} min, pulse {pulse})"
        sweep_time = (
            f"{mechanism['sweep_seconds']:.1f} s ({mechanism['fleet']})" if mechanism["fleet"] else "-"
        )
        goal = {None: "", True: "PASS", False: "FAIL"}[row["goal_pass"]]
        lines.append(
            f"| {label} | {mechanism['name']} | {sweep_time} | {row['phases']} "
            f"| {_span(row['best'])} / {_span(row['mean'])} / {_span(row['worst'])} "
            f"| {_span(row['worst_after_last_success'])} | {goal} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=float, default=0.1, help="phase grid, seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = measure(args.step)
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
