"""check_result: the scheduled run that finds down hosts and announces changes.

Flow of one run (handler → run):

1. take the run lease ``state/lock.json`` (a run that finds a live lease
   logs it and returns without sending: EventBridge may deliver a schedule
   twice, and a Lambda retry may overlap the next run);
2. list ``echo/``, ``pulse/`` and ``failure/`` and read ``state/status.json``;
3. evaluate the statuses at ``now`` (status.evaluate: pure);
4. if there are events: read the failure records of the hosts the message
   names, build one message and POST it to the webhook;
5. when SNS is configured, publish the SNS messages earlier runs could not
   (``pending_sns`` in the state), oldest first, then this run's, stopping at
   the first refusal: what SNS did not take stays pending (at most
   PENDING_SNS_MAX, the oldest dropped beyond it);
6. save the next state and the pending SNS messages (conditional PUT) when
   they changed;
7. release the lease (also on error).

Delivery is at least once, per channel. A webhook failure raises before
anything is saved, so the next run sends the message again (to both). An SNS
failure does not undo the webhook's delivery: the state is saved with the
message pending, then the run raises (the invocation fails, the error metric
counts it), and the next runs publish it to SNS only. SNS goes after the
webhook, so a broken topic never delays or blocks a webhook alert.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from . import alert as alerts
from .common import ConfigError, env_float, env_int, env_required, env_str, get_logger, log, utcnow
from .status import (
    EVENT_UP,
    PENDING_SNS_MAX,
    STATUS_UP,
    Evaluation,
    PendingSns,
    current_reason,
    evaluate,
    hosts_needing_failure_records,
)
from .store import LEASE_MAX, Store
from .webhook import post_json, url_host

LOGGER = get_logger(__name__)

WEBHOOK_FORMATS = ("slack", "json")
MAX_MINUTES = 525_600.0
"""STALE_AFTER_MINUTES and RENOTIFY_MINUTES are at most a year: far larger values overflow
the date arithmetic (``datetime`` ends at year 9999) on every run."""
MAX_SECONDS = 86_400.0
"""WEBHOOK_TIMEOUT_SECONDS is at most a day, and RUN_LEASE_SECONDS at most store.LEASE_MAX
(also a day): a Lambda run lasts at most 15 minutes."""
_SNS_TOPIC_ARN = re.compile(r"arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]{1,256}")
DEADLINE_MARGIN_SECONDS = 10.0
"""Time kept, out of the invocation's, for SNS, the state PUT and the lease release."""


@dataclass(frozen=True)
class Config:
    """check_result's settings, read once from the environment (docs/internals.md).

    ``webhook_url`` is a secret: it is kept out of ``repr``. Exactly one of
    ``webhook_url`` and ``webhook_ssm_parameter`` is set.
    """

    bucket: str
    stale_after: timedelta
    renotify_after: timedelta | None
    webhook_url: str | None = field(repr=False)
    webhook_ssm_parameter: str | None
    webhook_format: str
    slack_channel: str | None
    slack_username: str | None
    slack_icon_emoji: str | None
    max_hosts_listed: int
    sns_topic_arn: str | None
    webhook_timeout_seconds: float
    webhook_max_attempts: int
    run_lease: timedelta

    @classmethod
    def from_env(cls) -> Config:
        """Read and validate the environment; raise ConfigError naming the variable at fault.

        Durations must be finite, positive once rounded to microseconds (a
        ``timedelta``) and at most MAX_MINUTES / MAX_SECONDS; ALERT_SNS_TOPIC_ARN
        must be an SNS topic ARN, so a typo fails here, before the webhook has
        been posted, rather than after it on every run.
        """
        webhook_url = env_str("ALERT_WEBHOOK_URL")
        ssm_parameter = env_str("ALERT_WEBHOOK_SSM_PARAMETER_NAME")
        if webhook_url and ssm_parameter:
            raise ConfigError(
                "set only one of ALERT_WEBHOOK_URL and ALERT_WEBHOOK_SSM_PARAMETER_NAME (both are set)"
            )
        if not webhook_url and not ssm_parameter:
            raise ConfigError(
                "environment variable ALERT_WEBHOOK_URL or ALERT_WEBHOOK_SSM_PARAMETER_NAME is required"
            )
        if webhook_url:
            validate_webhook_url(webhook_url, "environment variable ALERT_WEBHOOK_URL")
        webhook_format = (env_str("ALERT_WEBHOOK_FORMAT", "slack") or "slack").lower()
        if webhook_format not in WEBHOOK_FORMATS:
            raise ConfigError(
                f"environment variable ALERT_WEBHOOK_FORMAT={webhook_format!r} must be slack or json"
            )
        renotify_after = _env_duration("RENOTIFY_MINUTES", 0.0, "minutes", MAX_MINUTES, allow_zero=True)
        sns_topic_arn = env_str("ALERT_SNS_TOPIC_ARN")
        if sns_topic_arn is not None and not _SNS_TOPIC_ARN.fullmatch(sns_topic_arn):
            raise ConfigError(
                f"environment variable ALERT_SNS_TOPIC_ARN={sns_topic_arn!r} is not an SNS topic ARN "
                "(arn:aws:sns:REGION:ACCOUNT:NAME)"
            )
        return cls(
            bucket=env_required("PULSE_ECHO_BUCKET"),
            stale_after=_env_duration("STALE_AFTER_MINUTES", 15.0, "minutes", MAX_MINUTES),
            renotify_after=renotify_after or None,
            webhook_url=webhook_url,
            webhook_ssm_parameter=ssm_parameter,
            webhook_format=webhook_format,
            slack_channel=env_str("SLACK_CHANNEL"),
            slack_username=env_str("SLACK_USERNAME"),
            slack_icon_emoji=env_str("SLACK_ICON_EMOJI"),
            max_hosts_listed=env_int("ALERT_MAX_HOSTS_LISTED", 20, minimum=0),
            sns_topic_arn=sns_topic_arn,
            webhook_timeout_seconds=env_float(
                "WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.0, maximum=MAX_SECONDS
            ),
            webhook_max_attempts=env_int("WEBHOOK_MAX_ATTEMPTS", 3, minimum=1),
            run_lease=_env_duration("RUN_LEASE_SECONDS", 900.0, "seconds", LEASE_MAX.total_seconds()),
        )


def _env_duration(
    name: str, default: float, unit: str, maximum: float, *, allow_zero: bool = False
) -> timedelta:
    """Environment variable ``name`` in ``unit`` ("minutes" or "seconds") as a timedelta.

    Raises ConfigError naming it unless the value is a finite number greater than 0
    (or exactly 0 when ``allow_zero``), at most ``maximum``, and not so small that it
    rounds to 0 microseconds.
    """
    value = env_float(name, default, minimum=0.0, allow_equal=allow_zero, maximum=maximum)
    duration = timedelta(**{unit: value})
    if value > 0 and duration <= timedelta(0):
        raise ConfigError(f"environment variable {name}={value!r} is too small: it rounds to 0 {unit}")
    return duration


def validate_webhook_url(url: str, source: str) -> None:
    """Raise ConfigError (naming ``source``, never the URL: it is a secret) unless ``url`` is an
    absolute http or https URL with a valid port (if any) and no whitespace or control
    characters. Credentials in it (``user:password@``) are allowed: webhook.post_json sends
    them as Basic authentication."""
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise ConfigError(f"{source} contains whitespace or control characters (percent-encode them)")
    try:
        parts = urlsplit(url)
        if parts.port == 0:  # raises ValueError for a port that is not a number in 0-65535
            raise ValueError("port 0")
    except ValueError:
        raise ConfigError(f"{source} is not a valid URL (check its port)") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{source} must be an absolute https:// (or http://) URL")


# --- per-container caches (a Lambda container runs one invocation at a time) ---

_lock = threading.Lock()
_config: Config | None = None
_clients: dict[str, object] = {}
_ssm_urls: dict[str, str] = {}


def reset() -> None:
    """Forget the cached configuration, clients and SSM value (tests; a changed environment)."""
    global _config
    with _lock:
        _config = None
        _clients.clear()
        _ssm_urls.clear()


def _get_config() -> Config:
    global _config
    with _lock:
        if _config is None:
            _config = Config.from_env()
        return _config


def _client(service: str) -> object:
    with _lock:
        if service not in _clients:
            import boto3
            from botocore.config import Config as BotoConfig

            _clients[service] = boto3.client(
                service,
                config=BotoConfig(
                    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30
                ),
            )
        return _clients[service]


def resolve_webhook_url(config: Config, ssm: object | None) -> str:
    """The webhook URL: from the environment, or the SSM SecureString parameter read with
    ``WithDecryption`` once per container (cached). Raises ConfigError when the parameter
    does not exist or holds no http(s) URL; other SSM errors (AccessDenied...) as botocore's."""
    if config.webhook_url:
        return config.webhook_url
    name = config.webhook_ssm_parameter
    assert name is not None
    with _lock:
        cached = _ssm_urls.get(name)
    if cached is not None:
        return cached
    if ssm is None:
        ssm = _client("ssm")
    try:
        value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"].strip()
    except ssm.exceptions.ParameterNotFound:
        raise ConfigError(f"ALERT_WEBHOOK_SSM_PARAMETER_NAME={name!r}: no such SSM parameter") from None
    validate_webhook_url(value, f"SSM parameter {name!r} (ALERT_WEBHOOK_SSM_PARAMETER_NAME)")
    with _lock:
        _ssm_urls[name] = value
    return value


# --- the event ---


def describe_event(event: object) -> str:
    """Name the shape of an invocation event: ``scheduled`` (EventBridge ``Scheduled Event``),
    ``detail_string`` (``detail`` is a JSON string such as ``"{}"``), ``empty`` (``{}``), or
    ``other``. The run does the same whatever the shape: a schedule carries no input that
    changes it, and a manual test invoke with any payload should just run; ``other`` is logged
    as a warning so a wrongly wired trigger is visible."""
    if not isinstance(event, dict):
        return "other"
    if not event:
        return "empty"
    detail = event.get("detail")
    if isinstance(detail, str):
        try:
            return "detail_string" if isinstance(json.loads(detail), dict) else "other"
        except (ValueError, RecursionError):  # not JSON, nested too deeply, a 5,000-digit number
            return "other"
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return "scheduled"
    return "other"


def handler(event: object, context: object) -> dict:
    """Lambda entry point (EventBridge schedule). Returns the run summary (see run()).

    Raises ConfigError for a bad configuration, WebhookError when the webhook
    refuses the message, botocore's ClientError when S3 fails or SNS refuses a
    message (after the state, with the message pending, was saved), and
    StateConflictError when another writer changed the state meanwhile.
    """
    shape = describe_event(event)
    fields = {"event_shape": shape}
    if isinstance(event, dict):
        fields.update(event_id=event.get("id"), event_time=event.get("time"))
    if shape == "other":
        keys = sorted(event)[:10] if isinstance(event, dict) else type(event).__name__
        log(LOGGER, logging.WARNING, "unexpected event shape; running anyway", event_keys=keys, **fields)
    else:
        log(LOGGER, logging.INFO, "check_result invoked", **fields)
    config = _get_config()
    run_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
    deadline = None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        deadline = time.monotonic() + remaining() / 1000 - DEADLINE_MARGIN_SECONDS
    return run(
        config,
        s3=_client("s3"),
        sns=_client("sns") if config.sns_topic_arn else None,
        ssm=_client("ssm") if config.webhook_ssm_parameter else None,
        run_id=run_id,
        deadline=deadline,
    )


def run(
    config: Config,
    *,
    s3: object,
    sns: object | None = None,
    ssm: object | None = None,
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
    "state_saved", "s3_requests", "elapsed_ms"}``, where ``outcome`` is
    ``alerted``, ``state_saved``, ``no_change`` or ``lease_held``;
    ``sns_republished`` counts the earlier runs' messages SNS took now,
    ``sns_pending`` those it still has not, ``sns_dropped`` those dropped (over
    PENDING_SNS_MAX, or no topic configured any more).

    When SNS refused a message, the summary is logged ("run finished", with
    ``sns_error``) and that error (botocore's) is raised after the state was saved.
    """
    started = time.monotonic()
    run_id = run_id or str(uuid.uuid4())
    webhook_url = resolve_webhook_url(config, ssm)
    store = Store(s3, config.bucket, logger=LOGGER)
    summary: dict[str, object] = {"run_id": run_id}

    lease = store.acquire_lease(run_id, now or utcnow(), config.run_lease)
    if lease is None:
        summary.update(outcome="lease_held", s3_requests=store.requests, elapsed_ms=_ms(started))
        log(
            LOGGER,
            logging.INFO,
            "run skipped: another run holds the lease",
            outcome="lease_held",
            run_id=run_id,
        )
        return summary

    sns_error: Exception | None = None
    try:
        observations = store.list_observations()
        stored = store.read_state()
        moment = now or utcnow()
        evaluation = evaluate(observations, stored.hosts, moment, config.stale_after, config.renotify_after)
        delivered, listed, message = _deliver(
            config, store, evaluation, webhook_url, sns, run_id, moment, sleep, deadline
        )
        outbox = list(stored.pending_sns) + ([message] if message is not None else [])
        pending, published, dropped, sns_error = _publish_sns(config, sns, outbox, run_id)
        if message is not None and published and published[-1] is message:
            delivered.append("sns")
        pending = tuple(pending)
        state_saved = (
            evaluation.next_state != stored.hosts or stored.unreadable or pending != stored.pending_sns
        )
        if state_saved:
            store.write_state(
                evaluation.next_state, etag=stored.etag, run_id=run_id, now=moment, pending_sns=pending
            )
        if evaluation.events:
            outcome = "alerted"
        else:
            outcome = "state_saved" if state_saved else "no_change"
        summary.update(
            outcome=outcome,
            hosts=len(evaluation.statuses),
            statuses=evaluation.counts(),
            events=evaluation.event_counts(),
            events_sent=len(evaluation.events),
            listed=listed,
            delivered=delivered,
            sns_republished=sum(item is not message for item in published),
            sns_pending=len(pending),
            sns_dropped=dropped,
            state_saved=state_saved,
        )
        if sns_error is not None:
            summary["sns_error"] = repr(sns_error)
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
    summary.update(s3_requests=store.requests, elapsed_ms=_ms(started))
    log(LOGGER, logging.INFO, "run finished", **summary)
    if sns_error is not None:
        raise sns_error  # after the save: the error metric and the alarm see the SNS failure
    return summary


def _deliver(
    config: Config,
    store: Store,
    evaluation: Evaluation,
    webhook_url: str,
    sns: object | None,
    run_id: str,
    now: datetime,
    sleep: Callable[[float], None],
    deadline: float | None,
) -> tuple[list[str], int, PendingSns | None]:
    """Log the decisions; if there are events, post the one message to the webhook.

    Returns (channels, listed, sns): ``sns`` is the message for SNS (the
    structured json alert), None when there is no event or no topic.
    """
    events = evaluation.events
    records = {}
    if events:
        wanted = hosts_needing_failure_records(events, config.max_hosts_listed)
        records = store.read_failures(wanted, limit=config.max_hosts_listed)
    reasons = {}
    for event in events[: config.max_hosts_listed]:
        if event.kind != EVENT_UP:
            reason = current_reason(event.observation, records.get(event.host), now, config.stale_after)
            if reason is not None:
                reasons[event.host] = reason
    # evaluate() already explained every host that is not up (without failure records).
    rows = {row.host: row for row in evaluation.statuses} if evaluation.decisions else {}
    for decision in evaluation.decisions:
        reason = reasons.get(decision.host)
        row = rows.get(decision.host)
        if reason is None and row is not None and decision.status != STATUS_UP:
            reason = row.reason
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
    if not events:
        return [], 0, None

    run_info = alerts.RunInfo(
        run_id=run_id,
        time=now,
        bucket=config.bucket,
        hosts=len(evaluation.statuses),
        statuses=evaluation.counts(),
    )
    alert = alerts.build_alert(events, reasons, run_info, max_listed=config.max_hosts_listed)
    structured = alerts.render_json(alert)
    if config.webhook_format == "json":
        payload = structured
    else:
        payload = alerts.render_slack(
            alert,
            channel=config.slack_channel,
            username=config.slack_username,
            icon_emoji=config.slack_icon_emoji,
        )
    post_json(
        webhook_url,
        alerts.encode(payload),
        timeout_seconds=config.webhook_timeout_seconds,
        max_attempts=config.webhook_max_attempts,
        sleep=sleep,
        logger=LOGGER,
        deadline=deadline,
    )
    delivered = ["webhook"]
    log(
        LOGGER,
        logging.INFO,
        "alert delivered",
        outcome="delivered",
        channel="webhook",
        webhook_host=url_host(webhook_url),
        events=len(events),
        run_id=run_id,
    )
    message = None
    if config.sns_topic_arn:
        message = PendingSns(
            run_id=run_id,
            created_at=now,
            message=alerts.encode(structured).decode("utf-8"),
            subject=alerts.sns_subject(alert),
        )
    return delivered, len(alert.listed), message


def _publish_sns(
    config: Config, sns: object | None, outbox: list[PendingSns], run_id: str
) -> tuple[list[PendingSns], list[PendingSns], int, Exception | None]:
    """Publish ``outbox`` (earlier runs' pending messages, then this run's) oldest first,
    stopping at the first failure, so one broken topic costs one failed call per run.

    Returns (pending, published, dropped, error): ``pending`` is what SNS did not
    take, its newest PENDING_SNS_MAX; ``dropped`` counts the older ones dropped
    (all of them when no topic is configured any more); ``error`` is the refusal.
    """
    if not outbox:
        return [], [], 0, None
    if not config.sns_topic_arn:
        log(
            LOGGER,
            logging.WARNING,
            "pending SNS messages dropped: ALERT_SNS_TOPIC_ARN is not set any more",
            outcome="sns_dropped",
            count=len(outbox),
            run_ids=[item.run_id for item in outbox],
            run_id=run_id,
        )
        return [], [], len(outbox), None
    assert sns is not None
    published: list[PendingSns] = []
    error: Exception | None = None
    for item in outbox:
        try:
            extra = {"Subject": item.subject} if item.subject else {}
            response = sns.publish(TopicArn=config.sns_topic_arn, Message=item.message, **extra)
        except Exception as exc:  # noqa: BLE001 - kept pending; raised by run() after the save
            error = exc
            log(
                LOGGER,
                logging.ERROR,
                "SNS did not accept the alert; kept pending for the next run",
                outcome="sns_failed",
                channel="sns",
                alert_run_id=item.run_id,
                reason=repr(exc),
                run_id=run_id,
            )
            break
        published.append(item)
        log(
            LOGGER,
            logging.INFO,
            "alert delivered",
            outcome="delivered",
            channel="sns",
            message_id=response.get("MessageId"),
            alert_run_id=item.run_id,
            run_id=run_id,
        )
    pending = outbox[len(published) :]
    dropped = max(len(pending) - PENDING_SNS_MAX, 0)
    if dropped:
        log(
            LOGGER,
            logging.ERROR,
            f"pending SNS messages dropped: more than {PENDING_SNS_MAX} undelivered",
            outcome="sns_dropped",
            count=dropped,
            run_ids=[item.run_id for item in pending[:dropped]],
            run_id=run_id,
        )
        pending = pending[dropped:]
    return pending, published, dropped, error


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
