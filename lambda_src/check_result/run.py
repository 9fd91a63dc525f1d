"""One check_result invocation: a sweep, then deadline checks until its window ends.

1. the **sweep**: list ``echo/``, ``pulse/`` and ``failure/`` (at once); read
   ``state/status.json``, the pulse index ``state/pulses.json`` and the
   operator's pauses ``state/pauses.json``; read the pulses that changed since
   they were indexed (bounded, pulses.py) for each host's Profile, and the
   failure records that date never-successful hosts seen for the first time
   (bounded); evaluate the statuses at ``now`` (rules.evaluate: pure); then
   *finish the check* (below) and save the pulse index when it changed (a
   cache: a conditional PUT; a failed write is logged, never fatal);
2. **deadline checks**, while the invocation's window lasts (window.py): sleep
   until the earliest deadline the last check found (rules.deadlines), HEAD the
   echo, pulse and failure object of each host due by then (bounded), evaluate
   them at that moment (rules.recheck: the same rules) and finish the check.

Every check, the sweep or a deadline check, is one unit (finish_check). A check
with nothing to announce and nothing to save writes nothing. Otherwise it takes
the run lease ``state/lock.json`` (a check that finds another run's live lease
logs it and ends the invocation without sending: EventBridge may deliver a
schedule twice, and a Lambda retry may overlap the next run), checks that the
state is still the one it read (a HEAD: its ETag) and, if another run changed
it since, reads it and evaluates again against it; then it
reads the failure records its message names (and a recovered job's echo
record), tells each host's reason once (rules.explain), logs one line per
decision, delivers its one message (the webhook, then SNS with the messages
earlier checks could not publish: delivery.py, docs/alerts.md), writes what it
announced (the sweep: with the pauses and new hosts its pulse reads found) as
one history object, with the events earlier checks could not write
(history.py), saves the next state, the pending SNS messages and history events
(conditional PUT) and releases the lease (also on error). The lease is held
only while a check delivers and saves: an invocation waiting for a deadline
never holds up the next scheduled run.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pulse_echo.logs import log
from pulse_echo.reasons import Reason
from pulse_echo.records import FailureRecord
from pulse_echo.times import ms_since, utcnow

from .checks import Check, totals
from .delivery import LOGGER, SnsDelivery, WebhookDelivery, post_alert, publish_sns, resolve_webhook_url
from .history import HistoryEvent, index_events, run_events, write_history
from .model import STATUS_UP, Evaluation, Observation, Profile, minutes
from .pulses import PulseEntry
from .rules import (
    DATING_READS_PER_RUN,
    deadlines,
    evaluate,
    explain,
    hosts_needing_echo_records,
    hosts_needing_failure_records,
    hosts_to_date,
    recheck,
    with_failing_since,
)
from .state import HostState
from .store import Lease, Store, Stored, StoredState
from .window import Window, due, next_wake

if TYPE_CHECKING:
    from .handler import Config


@dataclass
class Invocation:
    """What one invocation works with: its configuration, bucket, clients, clock and bounds.

    ``clock`` gives the time (aware UTC); ``sleep`` waits (the webhook's retries and the
    wait for a deadline); ``deadline`` (``time.monotonic()`` scale) bounds the webhook
    retries; ``window`` (None: no deadline checks) bounds the deadline checks.
    """

    config: Config
    store: Store
    sns: Any
    webhook_url: str
    run_id: str
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    deadline: float | None
    window: Window | None
    sns_error: Exception | None = None
    history_error: Exception | None = None
    checks: list[Check] = field(default_factory=list)
    index: dict[str, PulseEntry] = field(default_factory=dict)
    """The pulse index as the sweep left it (deadline checks read a due host's pulse only
    when its ETag differs)."""
    lease_held: bool = False
    """A check found another run's live lease: the invocation ends without sending."""

    def webhook_deadline(self) -> float | None:
        """The webhook's retries stop at the Lambda deadline and before the next scheduled run."""
        if self.window is None:
            return self.deadline
        left = (self.window.next_run - self.clock()).total_seconds()
        bound = time.monotonic() + max(left, 0.0)
        return bound if self.deadline is None else min(self.deadline, bound)


def run(
    config: Config,
    *,
    s3: Any,
    sns: Any | None = None,
    ssm: Any | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
    window: Window | None = None,
) -> dict:
    """One check_result invocation (see the module docstring). ``now`` (aware UTC) fixes the
    time of the sweep (tests, simulations; it then runs no deadline checks); otherwise
    ``clock`` gives it, after the listings. ``sleep`` waits for the webhook's retries and for
    deadlines; ``deadline`` (``time.monotonic()`` scale) bounds the webhook retries;
    ``window`` (window.window; None: none) bounds the deadline checks.

    Returns ``{"run_id", "outcome", "hosts", "statuses", "events", "events_sent",
    "listed", "delivered", "sns_republished", "sns_pending", "sns_dropped",
    "state_saved", "suppressed", "pulses_read", "pulses_unread", "index_saved",
    "history_written", "history_pending", "deadline_checks", "s3_requests", "elapsed_ms"}``,
    where ``outcome`` is ``alerted``, ``state_saved``, ``no_change`` or ``lease_held``.
    ``hosts``, ``statuses``, ``listed`` and the pulse fields are the sweep's; ``events``,
    ``events_sent``, ``delivered``, the SNS and history counts add up every check;
    ``deadline_checks`` lists the deadline checks (Check.to_dict). ``sns_republished``
    counts the earlier checks' messages SNS took now,
    ``sns_pending`` those it still has not, ``sns_dropped`` those dropped (over
    PENDING_SNS_MAX, or no topic configured any more); ``suppressed`` the alerts a pause
    held back; ``pulses_read`` the changed pulses read, ``pulses_unread`` those left for the
    next runs (over PULSE_READS_PER_RUN); ``history_written`` the events written to the
    history, ``history_pending`` those kept for the next run.

    When SNS refused a message or the history write failed, the summary is logged ("run
    finished", with ``sns_error`` or ``history_error``) and that error (botocore's) is raised
    after the state was saved.
    """
    started = time.monotonic()
    if now is not None:
        clock, window = (lambda: now), None
    run_id = run_id or str(uuid.uuid4())
    webhook_url = resolve_webhook_url(config, ssm)
    store = Store(s3, config.bucket, logger=LOGGER)
    work = Invocation(config, store, sns, webhook_url, run_id, clock, sleep, deadline, window)
    summary: dict[str, object] = {"run_id": run_id, **sweep(work)}
    check_deadlines(work)
    summary.update(totals(work.checks))
    if work.lease_held and len(work.checks) == 0:
        summary["outcome"] = "lease_held"
    errors = {"sns_error": work.sns_error, "history_error": work.history_error}
    summary.update({name: repr(error) for name, error in errors.items() if error is not None})
    summary.update(s3_requests=store.requests, elapsed_ms=ms_since(started))
    log(LOGGER, logging.INFO, "run finished", **summary)
    for error in errors.values():
        if error is not None:
            raise error  # after the save: the error metric and the alarm see the failure
    return summary


def sweep(work: Invocation) -> dict[str, object]:
    """The sweep: list everything, evaluate every host, finish the check, save the pulse index;
    returns its part of the run summary (hosts, statuses, pulses, index)."""
    config, store = work.config, work.store
    observations = store.list_observations()
    stored = store.read_state()
    index = store.read_pulse_index()
    moment = work.clock()
    pulses = store.read_profiles(
        observations,
        index.value,
        now=moment,
        stale_after=config.stale_after,
        limit=config.pulse_reads,
        max_bytes=config.pulse_max_bytes,
    )
    first = store.read_failures(hosts_to_date(observations, stored.hosts, DATING_READS_PER_RUN))
    observations = with_failing_since(observations, first)

    def against(state: dict[str, HostState]) -> Evaluation:
        return evaluate(
            observations, state, moment, config.stale_after, config.renotify_after, pulses.profiles
        )

    noted = index_events(index, pulses.index, observations, first_run=stored.etag is None)
    check = finish_check(work, "sweep", moment, against, stored, pulses.profiles, known=first, noted=noted)
    work.index = pulses.index
    evaluation = against(stored.hosts) if check is None else check.evaluation
    return {
        "hosts": len(evaluation.statuses),
        "statuses": evaluation.counts(),
        "listed": 0 if check is None else check.webhook.listed,
        "suppressed": evaluation.suppressed,
        "pulses_read": pulses.read,
        "pulses_unread": pulses.unread,
        "index_saved": save_index(store, index, pulses.index, moment, work.run_id),
    }


def check_deadlines(work: Invocation) -> None:
    """Deadline checks until the window ends: wait for the earliest deadline the last check
    found, read the hosts due by then again (HEADs) and finish the check."""
    config, store = work.config, work.store
    while work.window is not None and work.checks and not work.lease_held:
        last = work.checks[-1]
        pending = {
            host: moment for host, moment in deadlines(last.evaluation).items() if moment <= work.window.end
        }
        wake = next_wake(pending.values(), last.at, work.window.end)
        if wake is None:
            return
        wait = (wake - work.clock()).total_seconds()
        if wait > 0:
            work.sleep(wait)
        moment = work.clock()
        hosts = due(pending, moment)
        observed = store.observe(hosts)
        reading = store.read_profiles(
            observed,
            {host: work.index[host] for host in observed if host in work.index},
            now=moment,
            stale_after=config.stale_after,
            limit=config.pulse_reads,
            max_bytes=config.pulse_max_bytes,
        )
        against = rechecking(last.evaluation, observed, moment, config, reading.profiles)
        finish_check(work, "deadline", moment, against, last.state, reading.profiles, checked=len(hosts))


def rechecking(
    evaluation: Evaluation,
    observed: dict[str, Observation],
    moment: datetime,
    config: Config,
    profiles: Mapping[str, Profile],
) -> Callable[[dict[str, HostState]], Evaluation]:
    """A deadline check's evaluation against a state (rules.recheck), for finish_check."""

    def against(state: dict[str, HostState]) -> Evaluation:
        return recheck(
            evaluation, observed, state, moment, config.stale_after, config.renotify_after, profiles
        )

    return against


def finish_check(
    work: Invocation,
    kind: str,
    moment: datetime,
    against: Callable[[dict[str, HostState]], Evaluation],
    stored: StoredState,
    profiles: Mapping[str, Profile],
    *,
    known: dict[str, FailureRecord] | None = None,
    noted: Sequence[HistoryEvent] = (),
    checked: int = 0,
) -> Check | None:
    """One check's end, the same for the sweep and a deadline check (see the module docstring):
    ``against(state)`` evaluates the check against a state (``stored``, the one read; another
    run's, if it changed meanwhile). Failure records in ``known`` are not read again; ``noted``
    goes to the history with what the check announces. Appends
    the Check to ``work.checks`` and returns it; None when another run holds the lease."""
    config, store = work.config, work.store
    check_id = work.run_id if kind == "sweep" else f"{work.run_id}:{len(work.checks)}"
    threshold = minutes(config.stale_after)
    evaluation = against(stored.hosts)
    if not (noted or writes(evaluation, stored, threshold)):
        check = Check(
            kind,
            check_id,
            moment,
            evaluation,
            WebhookDelivery(),
            SnsDelivery(),
            False,
            stored,
            checked=checked,
        )
        work.checks.append(check)
        return check
    lease = store.acquire_lease(work.run_id, work.clock(), config.run_lease)
    if lease is None:
        work.lease_held = True
        log(
            LOGGER,
            logging.INFO,
            "check skipped: another run holds the lease",
            outcome="lease_held",
            run_id=check_id,
        )
        return None
    try:
        if store.state_etag() != stored.etag:  # another run wrote it after this check read it
            stored = store.read_state()
            evaluation = against(stored.hosts)
        check = deliver_and_save(
            work, kind, check_id, moment, evaluation, stored, profiles, known or {}, noted
        )
    finally:
        release(store, lease)
    check = replace(check, checked=checked)
    work.checks.append(check)
    return check


def writes(evaluation: Evaluation, stored: StoredState, threshold: float | int) -> bool:
    """True when a check has something to announce or to save: events, a changed state, SNS
    messages or history events waiting, a state document to rewrite, or the module's threshold
    to record."""
    return bool(
        evaluation.events
        or evaluation.next_state != stored.hosts
        or stored.unreadable
        or stored.pending_sns
        or stored.pending_history
        or stored.stale_after_minutes != threshold
    )


def deliver_and_save(
    work: Invocation,
    kind: str,
    check_id: str,
    moment: datetime,
    evaluation: Evaluation,
    stored: StoredState,
    profiles: Mapping[str, Profile],
    known: dict[str, FailureRecord],
    noted: Sequence[HistoryEvent] = (),
) -> Check:
    """Under the lease: read the records the message quotes, tell the reasons, log the
    decisions, deliver, write the history, and save the next state when it changed (over
    ``stored``)."""
    config, store = work.config, work.store
    wanted = hosts_needing_failure_records(evaluation.events, config.max_hosts_listed)
    failures = {**known, **store.read_failures([host for host in wanted if host not in known])}
    recoveries = store.read_echoes(
        hosts_needing_echo_records(evaluation.events, profiles, config.max_hosts_listed)
    )
    reasons = explain(evaluation.statuses, failures, moment)
    log_decisions(evaluation, reasons, check_id)
    webhook = post_alert(
        config,
        evaluation,
        reasons,
        work.webhook_url,
        run_id=check_id,
        now=moment,
        sleep=work.sleep,
        deadline=work.webhook_deadline(),
        recoveries=recoveries,
    )
    outbox = [*stored.pending_sns, *([webhook.message] if webhook.message is not None else [])]
    sns = publish_sns(config.sns_topic_arn, work.sns, outbox, check_id)
    work.sns_error = work.sns_error or sns.error
    history = write_history(
        store,
        [*run_events(evaluation.events, reasons), *noted],
        stored.pending_history,
        run_id=check_id,
        now=moment,
        logger=LOGGER,
    )
    work.history_error = work.history_error or history.error
    threshold = minutes(config.stale_after)
    state_saved = (
        evaluation.next_state != stored.hosts
        or stored.unreadable
        or sns.pending != stored.pending_sns
        or stored.stale_after_minutes != threshold
        or history.pending != stored.pending_history
    )
    state = stored
    if state_saved:
        etag = store.write_state(
            evaluation.next_state,
            etag=stored.etag,
            run_id=check_id,
            now=moment,
            pending_sns=sns.pending,
            stale_after_minutes=threshold,
            pending_history=history.pending,
        )
        state = StoredState(evaluation.next_state, etag, False, sns.pending, threshold, history.pending)
    return Check(kind, check_id, moment, evaluation, webhook, sns, state_saved, state, history)


def release(store: Store, lease: Lease) -> None:
    """Release the lease; a failure is logged, never raised over the check's own outcome."""
    try:
        store.release_lease(lease)
    except Exception as exc:  # noqa: BLE001 - never hide the check's own error behind this one
        log(
            LOGGER,
            logging.ERROR,
            "could not release the lease",
            outcome="lease_release_failed",
            reason=repr(exc),
        )


def save_index(
    store: Store, index: Stored, entries: dict[str, PulseEntry], now: datetime, run_id: str
) -> bool:
    """Write the pulse index when it changed or is absent (conditional PUT over the version read);
    True when written. A cache: a failed write is logged and the next run reads those pulses
    again. The first run writes it even empty: an index missing later was lost (history.py)."""
    if entries == index.value and not index.unreadable and index.etag is not None:
        return False
    try:
        store.write_pulse_index(entries, etag=index.etag, now=now)
    except Exception as exc:  # noqa: BLE001 - a cache: the alert and the state are already done
        log(
            LOGGER,
            logging.WARNING,
            "pulse index not saved",
            outcome="index_not_saved",
            reason=repr(exc),
            run_id=run_id,
        )
        return False
    return True


def log_decisions(evaluation: Evaluation, reasons: dict[str, Reason], run_id: str) -> None:
    """One JSON line per change in a host's tracking (``host``, ``outcome``, ``status``, ``reason``)."""
    for decision in evaluation.decisions:
        reason = reasons.get(decision.host) if decision.status not in (None, STATUS_UP) else None
        log(
            LOGGER,
            logging.INFO,
            "host decision",
            host=decision.host,
            outcome=decision.outcome,
            status=decision.status,
            reason=None if reason is None else reason.code,
            run_id=run_id,
        )
