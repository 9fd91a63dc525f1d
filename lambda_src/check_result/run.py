"""One check_result run, at ``now``: the I/O around the pure rules.

1. take the run lease ``state/lock.json`` (a run that finds a live lease
   logs it and returns without sending: EventBridge may deliver a schedule
   twice, and a Lambda retry may overlap the next run);
2. list ``echo/``, ``pulse/`` and ``failure/``; read ``state/status.json``,
   the pulse index ``state/pulses.json`` and the operator's pauses
   ``state/pauses.json``;
3. read the pulses that changed since they were indexed (bounded, pulses.py)
   for each host's Profile, and the failure records that date never-successful
   hosts seen for the first time (bounded);
4. evaluate the statuses at ``now`` (rules.evaluate: pure);
5. read the failure records of the hosts the message names (and a recovered
   job's echo record), and tell each host's reason once (rules.explain); log
   one line per decision;
6. deliver: one message to the webhook, then SNS with the messages earlier runs
   could not publish (delivery.py; the rules: docs/alerts.md);
7. write what was announced, and the pauses and new hosts its pulse reads found,
   as one history object, with the events earlier runs could not write
   (history.py);
8. save the next state, the pending SNS messages and history events
   (conditional PUT) when they changed, then the pulse index when it changed (a
   cache: a failed write is logged, never fatal);
9. release the lease (also on error).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pulse_echo.logs import log
from pulse_echo.reasons import Reason
from pulse_echo.times import ms_since, utcnow

from .delivery import LOGGER, post_alert, publish_sns, resolve_webhook_url
from .history import index_events, run_events, write_history
from .model import STATUS_UP, Evaluation, minutes
from .pulses import PulseEntry
from .rules import (
    DATING_READS_PER_RUN,
    evaluate,
    explain,
    hosts_needing_echo_records,
    hosts_needing_failure_records,
    hosts_to_date,
    with_failing_since,
)
from .store import Store, Stored

if TYPE_CHECKING:
    from .handler import Config


def run(
    config: Config,
    *,
    s3: Any,
    sns: Any | None = None,
    ssm: Any | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> dict:
    """One check_result run (see the module docstring). ``now`` (aware UTC) is taken after
    the listings unless given (tests, simulations); ``sleep`` is the webhook retry wait;
    ``deadline`` (``time.monotonic()`` scale) bounds the webhook retries.

    Returns ``{"run_id", "outcome", "hosts", "statuses", "events", "events_sent",
    "listed", "delivered", "sns_republished", "sns_pending", "sns_dropped",
    "state_saved", "suppressed", "pulses_read", "pulses_unread", "index_saved",
    "history_written", "history_pending", "s3_requests", "elapsed_ms"}``, where ``outcome`` is ``alerted``,
    ``state_saved``, ``no_change`` or ``lease_held``; ``sns_republished``
    counts the earlier runs' messages SNS took now, ``sns_pending`` those it
    still has not, ``sns_dropped`` those dropped (over PENDING_SNS_MAX, or no
    topic configured any more); ``suppressed`` the alerts a pause held back;
    ``pulses_read`` the changed pulses read, ``pulses_unread`` those left for
    the next runs (over PULSE_READS_PER_RUN); ``history_written`` the events
    written to the history, ``history_pending`` those kept for the next run.

    When SNS refused a message or the history write failed, the summary is logged
    ("run finished", with ``sns_error`` or ``history_error``) and that error
    (botocore's) is raised after the state was saved.
    """
    started = time.monotonic()
    run_id = run_id or str(uuid.uuid4())
    webhook_url = resolve_webhook_url(config, ssm)
    store = Store(s3, config.bucket, logger=LOGGER)
    summary: dict[str, object] = {"run_id": run_id}

    lease = store.acquire_lease(run_id, now or utcnow(), config.run_lease)
    if lease is None:
        summary.update(outcome="lease_held", s3_requests=store.requests, elapsed_ms=ms_since(started))
        log(
            LOGGER,
            logging.INFO,
            "run skipped: another run holds the lease",
            outcome="lease_held",
            run_id=run_id,
        )
        return summary

    sns_error: Exception | None = None
    history_error: Exception | None = None
    try:
        observations = store.list_observations()
        stored = store.read_state()
        index = store.read_pulse_index()
        moment = now or utcnow()
        pulses = store.read_profiles(
            observations,
            index.value,
            now=moment,
            stale_after=config.stale_after,
            limit=config.pulse_reads,
            max_bytes=config.pulse_max_bytes,
        )
        host_profiles = pulses.profiles
        first = store.read_failures(hosts_to_date(observations, stored.hosts, DATING_READS_PER_RUN))
        observations = with_failing_since(observations, first)
        evaluation = evaluate(
            observations, stored.hosts, moment, config.stale_after, config.renotify_after, host_profiles
        )
        wanted = hosts_needing_failure_records(evaluation.events, config.max_hosts_listed)
        failures = {**first, **store.read_failures([host for host in wanted if host not in first])}
        recoveries = store.read_echoes(
            hosts_needing_echo_records(evaluation.events, host_profiles, config.max_hosts_listed)
        )
        reasons = explain(evaluation.statuses, failures, moment)
        log_decisions(evaluation, reasons, run_id)
        webhook = post_alert(
            config,
            evaluation,
            reasons,
            webhook_url,
            run_id=run_id,
            now=moment,
            sleep=sleep,
            deadline=deadline,
            recoveries=recoveries,
        )
        outbox = [*stored.pending_sns, *([webhook.message] if webhook.message is not None else [])]
        sns = publish_sns(config.sns_topic_arn, sns, outbox, run_id)
        sns_error = sns.error
        this_run_published = webhook.message is not None and webhook.message in sns.published
        history = write_history(
            store,
            [
                *run_events(evaluation.events, reasons),
                *index_events(index, pulses.index, observations, first_run=stored.etag is None),
            ],
            stored.pending_history,
            run_id=run_id,
            now=moment,
            logger=LOGGER,
        )
        history_error = history.error
        threshold = minutes(config.stale_after)
        state_saved = (
            evaluation.next_state != stored.hosts
            or stored.unreadable
            or sns.pending != stored.pending_sns
            or stored.stale_after_minutes != threshold
            or history.pending != stored.pending_history
        )
        if state_saved:
            store.write_state(
                evaluation.next_state,
                etag=stored.etag,
                run_id=run_id,
                now=moment,
                pending_sns=sns.pending,
                stale_after_minutes=threshold,
                pending_history=history.pending,
            )
        index_saved = save_index(store, index, pulses.index, moment, run_id)
        outcome = "alerted" if evaluation.events else "state_saved" if state_saved else "no_change"
        summary.update(
            outcome=outcome,
            hosts=len(evaluation.statuses),
            statuses=evaluation.counts(),
            events=evaluation.event_counts(),
            events_sent=len(evaluation.events),
            listed=webhook.listed,
            delivered=[*webhook.delivered, *(["sns"] if this_run_published else [])],
            sns_republished=len(sns.published) - this_run_published,
            sns_pending=len(sns.pending),
            sns_dropped=sns.dropped,
            state_saved=state_saved,
            suppressed=evaluation.suppressed,
            pulses_read=pulses.read,
            pulses_unread=pulses.unread,
            index_saved=index_saved,
            history_written=history.written,
            history_pending=len(history.pending),
        )
        if sns_error is not None:
            summary["sns_error"] = repr(sns_error)
        if history_error is not None:
            summary["history_error"] = repr(history_error)
    finally:
        try:
            store.release_lease(lease)
        except Exception as exc:  # noqa: BLE001 - never hide the run's own error behind this one
            log(
                LOGGER,
                logging.ERROR,
                "could not release the lease",
                outcome="lease_release_failed",
                reason=repr(exc),
            )
    summary.update(s3_requests=store.requests, elapsed_ms=ms_since(started))
    log(LOGGER, logging.INFO, "run finished", **summary)
    for error in (sns_error, history_error):
        if error is not None:
            raise error  # after the save: the error metric and the alarm see the failure
    return summary


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
