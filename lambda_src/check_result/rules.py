"""The status rules: pure functions, no AWS, no clock (``now`` is always an argument).

A host is known from three listings (``echo/``, ``pulse/``, ``failure/``;
only the ``LastModified`` of each object is used), its Profile (what its pulse
and the operator ask: threshold, job result, pause) and the notified state that
check_result keeps in ``state/status.json``. From those these rules decide
each host's status (model.py says what ``up``, ``down``, ``new`` and
``paused`` mean), the events a run must announce, and why a host is not up.

A pause holds back ``down`` and ``still_down`` events and nothing else: a
host that goes down during a pause is announced at the first run after it
(unless its down was announced before the pause), and a recovery is always
announced.

The stored state holds only the hosts that are not plainly up: ``down``
(notified: an entry is saved only after the alert was accepted) and ``new``
(so that the time it was first seen survives between runs). A host with
neither a pulse nor an echo (retired by deleting its objects) is dropped from
the state without a message. A failure record alone does not make a host:
``failure/`` records are kept after a host recovers or is retired.

check_result, ``pulse-status`` and the benchmarks share these rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pulse_echo import reasons
from pulse_echo.layout import failure_key_problem
from pulse_echo.pulse import KIND_JOB
from pulse_echo.reasons import Reason, reason_from_failure, reason_long
from pulse_echo.records import FailureRecord

from .model import (
    EVENT_DOWN,
    EVENT_KINDS,
    EVENT_STILL_DOWN,
    EVENT_UP,
    STATUS_DOWN,
    STATUS_NEW,
    STATUS_PAUSED,
    STATUS_UP,
    Decision,
    Evaluation,
    Event,
    HostStatus,
    Observation,
    Profile,
)
from .state import HostState


def is_stale(last_ok_at: datetime, now: datetime, stale_after: timedelta) -> bool:
    """True when ``now - last_ok_at > stale_after`` (exactly at the threshold is not stale)."""
    return now - last_ok_at > stale_after


def first_seen(observation: Observation, stale_after: timedelta) -> datetime:
    """When a host with no echo was first seen: its earliest failure or pulse time on record,
    or the start of its run of failures (``failing_since``) when its failure record was read.

    A failure record much older than the current pulse (more than
    ``stale_after`` before it) belongs to an earlier life of the host name (a
    retired host's failure record is kept) and is ignored. Raises ValueError
    for a host with neither a pulse nor a failure.
    """
    candidates = []
    if observation.pulse_at is not None:
        candidates.append(observation.pulse_at)
    if observation.last_failed_at is not None and (
        observation.pulse_at is None or observation.last_failed_at >= observation.pulse_at - stale_after
    ):
        candidates.append(observation.last_failed_at)
        if observation.failing_since is not None and observation.failing_since <= observation.last_failed_at:
            candidates.append(observation.failing_since)
    if not candidates:
        raise ValueError(f"host {observation.host!r} has neither a pulse nor a failure")
    return min(candidates)


def classify(
    observation: Observation, previous: HostState | None, now: datetime, profile: Profile
) -> tuple[str, datetime | None]:
    """Return ``(status, since)`` for one watched (not retired) host, pause aside: ``up``,
    ``down`` or ``new``.

    ``since`` is None for ``up``. A host already notified down stays down
    until a fresh echo arrives; a ``new`` host keeps the ``since`` stored when
    it was first seen. A job's own failure, newer than its last success, is
    down at once, whatever its threshold.
    """
    stale_after = profile.stale_after
    job_failed = profile.job_failed and observation.failing
    if (
        not job_failed
        and observation.last_ok_at is not None
        and not is_stale(observation.last_ok_at, now, stale_after)
    ):
        return STATUS_UP, None
    if previous is not None and previous.status == STATUS_DOWN:
        return STATUS_DOWN, previous.since
    if observation.last_ok_at is not None:
        return STATUS_DOWN, observation.last_ok_at
    since = previous.since if previous is not None else first_seen(observation, stale_after)
    return (STATUS_DOWN if job_failed or now - since > stale_after else STATUS_NEW), since


def current_reason(
    observation: Observation,
    failure: FailureRecord | None,
    now: datetime,
    stale_after: timedelta,
    *,
    status: str = STATUS_DOWN,
) -> Reason | None:
    """Say why ``observation``'s host is not up, from what is known without further reads.

    - The failure record counts only when it is newer than the last echo
      (``observation.failing``); pass it as ``failure`` (None when it was not
      read: the reason is then ``check_failed`` with its time).
    - Otherwise: ``no_pulse`` (the pulse object is gone), ``pulse_stopped``
      (the last pulse is older than ``stale_after``: the host or its sender
      stopped), ``host_name_too_long`` (pulses arrive, but the host's
      ``failure/<host>.json`` key would pass S3's 1,024-byte limit, so
      check_echo cannot record why its checks fail), or ``no_check_result``
      (pulses arrive but nothing records a check: check_echo is not running
      or cannot write).

    Returns None for an ``up`` host that is not failing.
    """
    if observation.failing and failure is not None:
        return reason_from_failure(failure, observation.last_failed_at)
    if observation.failing:
        code = reasons.CHECK_FAILED
    elif status == STATUS_UP:
        return None
    elif observation.pulse_at is None:
        code = reasons.NO_PULSE
    elif now - observation.pulse_at > stale_after:
        code = reasons.PULSE_STOPPED
    elif failure_key_problem(observation.host):
        code = reasons.HOST_NAME_TOO_LONG
    else:
        code = reasons.NO_CHECK_RESULT
    detail = reason_long(code, host=observation.host, pulse_at=observation.pulse_at, now=now)
    return Reason(code, detail, failed_at=observation.last_failed_at if observation.failing else None)


def host_status(
    observation: Observation, previous: HostState | None, now: datetime, profile: Profile
) -> HostStatus:
    """The status row of one watched host (its reason is told by explain)."""
    health, since = classify(observation, previous, now, profile)
    return HostStatus(
        host=observation.host,
        status=STATUS_PAUSED if profile.paused_at(now) else health,
        last_ok_at=observation.last_ok_at,
        age=None if observation.last_ok_at is None else now - observation.last_ok_at,
        since=since,
        last_failed_at=observation.last_failed_at,
        failing=observation.failing,
        pulse_at=observation.pulse_at,
        notified_at=previous.notified_at if previous is not None and health == STATUS_DOWN else None,
        health=health,
        profile=profile,
    )


def explain(
    rows: Iterable[HostStatus], failures: Mapping[str, FailureRecord], now: datetime
) -> dict[str, Reason]:
    """Each host's reason, told once per run: ``{host: Reason}`` for every row that is not up
    (paused ones included) or is failing, from its failure record when one was read
    (``failures``), against the host's own threshold."""
    told = {}
    for row in rows:
        if row.health != STATUS_UP or row.failing:
            stale_after = row.profile.stale_after if row.profile is not None else timedelta.max
            reason = current_reason(
                row.observation, failures.get(row.host), now, stale_after, status=row.health
            )
            if reason is not None:
                told[row.host] = reason
    return told


def host_statuses(
    observations: Mapping[str, Observation],
    previous_state: Mapping[str, HostState] | None,
    now: datetime,
    stale_after: timedelta,
    failures: Mapping[str, FailureRecord] | None = None,
    profiles: Mapping[str, Profile] | None = None,
) -> list[HostStatus]:
    """The status of every watched host with its reason, sorted by host name (``pulse-status``).

    ``previous_state`` is the stored state (``{}`` or None when unknown: a
    ``new`` host is then dated from its listings). ``failures`` holds the
    failure records read for failing hosts; a reason is given for every host
    that is not up or is failing. ``profiles``: each host's (a host without
    one is judged by the module's ``stale_after``). Retired hosts are left out.
    """
    previous_state, profiles = previous_state or {}, profiles or {}
    default = Profile(stale_after=stale_after)
    rows = [
        host_status(observations[host], previous_state.get(host), now, profiles.get(host, default))
        for host in sorted(observations)
        if not observations[host].retired
    ]
    told = explain(rows, failures or {}, now)
    return [replace(row, reason=told.get(row.host)) for row in rows]


@dataclass(frozen=True)
class Step:
    """What one host's run changes: the ``event`` to announce, the ``outcomes`` to log (Decision
    outcomes), the entry ``kept`` in the next state (None: dropped), and whether a pause held
    back an alert (``suppressed``)."""

    event: Event | None = None
    outcomes: tuple[str, ...] = ()
    kept: HostState | None = None
    suppressed: bool = False


def holds_alerts(row: HostStatus) -> bool:
    """True when no down or still_down alert may be sent for the host now: it is paused, or its
    pulse was not read yet (its own threshold unknown: Profile.pending)."""
    return row.status == STATUS_PAUSED or (row.profile is not None and row.profile.pending)


def step(
    row: HostStatus, previous: HostState | None, now: datetime, renotify_after: timedelta | None
) -> Step:
    """One host's transition (see evaluate's table)."""
    since = row.since or now
    notified = previous if previous is not None and previous.status == STATUS_DOWN else None
    if row.health == STATUS_UP:
        if notified is None:
            return Step(outcomes=("first_success",) if previous is not None else ())
        downtime = max(row.last_ok_at - notified.since, timedelta(0))  # type: ignore[operator]
        return Step(_event(EVENT_UP, row, notified.since, now, downtime), ("alert_up",))
    held = row.health == STATUS_DOWN  # only a pause (or an unread pulse) keeps a down host here
    if row.health == STATUS_NEW or (holds_alerts(row) and notified is None):
        if previous is not None:
            return Step(kept=previous, suppressed=held)
        if row.last_ok_at is not None:  # down during a pause: its echo dates it, nothing to keep
            return Step(suppressed=True)
        return Step(
            outcomes=("tracked_new",), kept=HostState(status=STATUS_NEW, since=since), suppressed=held
        )
    if notified is None:
        kept = HostState(status=STATUS_DOWN, since=since, last_ok_at=row.last_ok_at, notified_at=now)
        return Step(_event(EVENT_DOWN, row, since, now, now - since), ("alert_down",), kept)
    kept, outcomes = notified, ()
    if row.last_ok_at is not None and row.last_ok_at != notified.last_ok_at:
        kept, outcomes = replace(kept, last_ok_at=row.last_ok_at), ("flapped",)
    if renotify_after is None or now - (notified.notified_at or notified.since) < renotify_after:
        return Step(None, outcomes, kept)
    if holds_alerts(row):
        return Step(None, outcomes, kept, suppressed=True)
    event = _event(EVENT_STILL_DOWN, row, notified.since, now, now - notified.since)
    return Step(event, (*outcomes, "renotify"), replace(kept, notified_at=now))


def evaluate(
    observations: Mapping[str, Observation],
    previous_state: Mapping[str, HostState],
    now: datetime,
    stale_after: timedelta,
    renotify_after: timedelta | None = None,
    profiles: Mapping[str, Profile] | None = None,
) -> Evaluation:
    """Decide this run's events and next state from the listings, each host's Profile (none:
    the module's ``stale_after``, no pause) and the stored state.

    ``stale_after`` must be positive. ``renotify_after`` None or zero means
    never repeat a down alert; otherwise a ``still_down`` event is due once
    ``now - notified_at >= renotify_after``. Transitions:

    ===============  ================  =========================================
    stored           now               result
    ===============  ================  =========================================
    (none)           up                nothing
    (none) / new     down              ``down`` event, stored as down
    (none)           new               stored as new (no message)
    new              new               unchanged
    new              up                dropped (``first_success``, no message)
    down             down              nothing, or ``still_down`` when due
    down             up                ``up`` event with the downtime, dropped
    any              retired           dropped, no message
    (none) / new     paused, down      no event (suppressed); new kept, or
                                       stored as new if it never succeeded
    down             paused, down      unchanged, no ``still_down`` (suppressed)
    down             paused, up        ``up`` event, as without a pause
    ===============  ================  =========================================

    A host whose pulse was not read yet (Profile.pending) is held as a paused one is.
    """
    if stale_after <= timedelta(0):
        raise ValueError("stale_after must be positive")
    renotify = renotify_after if renotify_after is not None and renotify_after > timedelta(0) else None
    profiles, default = profiles or {}, Profile(stale_after=stale_after)
    events, decisions, statuses, next_state, suppressed = [], [], [], {}, 0
    for host in sorted(set(observations) | set(previous_state)):
        observation, previous = observations.get(host), previous_state.get(host)
        if observation is None or observation.retired:
            decisions += [Decision(host, "retired", None)] if previous is not None else []
            continue
        row = host_status(observation, previous, now, profiles.get(host, default))
        change = step(row, previous, now, renotify)
        statuses.append(row)
        events += [change.event] if change.event is not None else []
        decisions += [Decision(host, outcome, row.status) for outcome in change.outcomes]
        suppressed += change.suppressed
        if change.kept is not None:
            next_state[host] = change.kept
    order = {kind: index for index, kind in enumerate(EVENT_KINDS)}
    events.sort(key=lambda event: (order[event.kind], event.host))
    return Evaluation(tuple(events), next_state, tuple(statuses), tuple(decisions), suppressed)


def deadline(row: HostStatus, kept: HostState | None) -> datetime | None:
    """When ``row``'s host becomes due for a down alert if nothing arrives before (window.py):
    its last success plus its own threshold (a new host: when it was first seen plus its
    threshold), or the end of its pause if that is later. ``kept`` is its entry in the next
    state. None when time alone brings no down alert: it is already announced down, or its
    pulse was not read yet (its threshold is unknown: Profile.pending). The host is stale
    only *after* that moment (is_stale)."""
    profile = row.profile
    if profile is None or profile.pending or (kept is not None and kept.status == STATUS_DOWN):
        return None
    if row.health == STATUS_UP and row.last_ok_at is not None:
        moment = row.last_ok_at + profile.stale_after
    elif row.health == STATUS_NEW and row.since is not None:
        moment = row.since + profile.stale_after
    else:  # down and not announced: only a pause holds it back
        moment = profile.pause_until
    if moment is not None and profile.pause_until is not None:
        moment = max(moment, profile.pause_until)
    return moment


def deadlines(evaluation: Evaluation) -> dict[str, datetime]:
    """``{host: deadline}`` for every watched host of ``evaluation`` that has one (deadline)."""
    found = {}
    for row in evaluation.statuses:
        moment = deadline(row, evaluation.next_state.get(row.host))
        if moment is not None:
            found[row.host] = moment
    return found


def recheck(
    evaluation: Evaluation,
    observations: Mapping[str, Observation],
    state: Mapping[str, HostState],
    now: datetime,
    stale_after: timedelta,
    renotify_after: timedelta | None = None,
    profiles: Mapping[str, Profile] | None = None,
) -> Evaluation:
    """A deadline check: the hosts of ``observations`` (read again just now) evaluated at
    ``now`` against ``state`` (the state the last check saved), merged into ``evaluation``
    (the sweep's, or the last check's). Every other host keeps its row and its state entry;
    a checked host with neither a pulse nor an echo any more is retired (dropped)."""
    checked = set(observations)
    part = evaluate(
        observations,
        {host: entry for host, entry in state.items() if host in checked},
        now,
        stale_after,
        renotify_after,
        profiles,
    )
    rows = {row.host: row for row in evaluation.statuses if row.host not in checked}
    rows.update((row.host, row) for row in part.statuses)
    next_state = {host: entry for host, entry in state.items() if host not in checked}
    next_state.update(part.next_state)
    return Evaluation(
        part.events,
        dict(sorted(next_state.items())),
        tuple(rows[host] for host in sorted(rows)),
        part.decisions,
        part.suppressed,
    )


DATING_READS_PER_RUN = 20
"""At most this many failure records are read in a run to date hosts seen for the first time."""


def hosts_to_date(
    observations: Mapping[str, Observation], previous_state: Mapping[str, HostState], limit: int
) -> list[str]:
    """Hosts that never succeeded, fail, and are not in the state yet (the first run that sees
    them, or a lost state), at most ``limit`` by name: their failure record's ``failing_since``
    says when they were first seen failing (first_seen), which the listings cannot."""
    hosts = (
        host
        for host, observation in sorted(observations.items())
        if host not in previous_state and observation.last_ok_at is None and observation.failing
    )
    return list(hosts)[: max(limit, 0)]


def with_failing_since(
    observations: Mapping[str, Observation], failures: Mapping[str, FailureRecord]
) -> dict[str, Observation]:
    """``observations`` with the ``failing_since`` of the failure records read (hosts_to_date)."""
    return {
        host: replace(observation, failing_since=failures[host].failing_since)
        if host in failures
        else observation
        for host, observation in observations.items()
    }


def hosts_needing_echo_records(
    events: Iterable[Event], profiles: Mapping[str, Profile], limit: int
) -> list[str]:
    """The recovered jobs among the first ``limit`` events (message order): their echo record
    says what the job reported when it succeeded again. Bounded like the failure records."""
    listed = list(events)[: max(limit, 0)]
    return [
        event.host
        for event in listed
        if event.kind == EVENT_UP and event.host in profiles and profiles[event.host].kind == KIND_JOB
    ]


def hosts_needing_failure_records(events: Iterable[Event], limit: int) -> list[str]:
    """The hosts whose failure record a message will quote: the first ``limit`` events
    (message order) that are not ``up`` and whose failure is newer than their echo.

    This is the only per-host read check_result makes, bounded by the number of
    hosts a message names.
    """
    listed = list(events)[: max(limit, 0)]
    return [event.host for event in listed if event.kind != EVENT_UP and event.observation.failing]


def _event(kind: str, row: HostStatus, since: datetime, now: datetime, duration: timedelta) -> Event:
    observation = row.observation
    return Event(
        kind=kind,
        host=observation.host,
        since=since,
        last_ok_at=observation.last_ok_at,
        at=now,
        observation=observation,
        duration=duration,
        was_new=kind != EVENT_UP and observation.last_ok_at is None,
        host_kind=None if row.profile is None else row.profile.kind,
    )
