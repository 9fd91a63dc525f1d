"""Delivery of a run's alert: the webhook first, then SNS, with the SNS messages still pending.

Delivery is at least once, per channel: a webhook failure saves nothing (the
next run sends again, to both); an SNS refusal after the webhook accepted
keeps the message in the state's ``pending_sns`` for the next runs, and never
delays or blocks a webhook alert. The rules, told once: docs/alerts.md.

Also here: where the webhook URL comes from (the environment, or an SSM
SecureString read once per container) and its validation; the URL is a secret,
never logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pulse_echo import urls
from pulse_echo.logs import get_logger, log
from pulse_echo.reasons import Reason
from pulse_echo.records import EchoRecord
from pulse_echo.settings import ConfigError

from . import alert as alerts
from .model import Evaluation
from .state import PENDING_SNS_MAX, PendingSns
from .webhook import post_json

if TYPE_CHECKING:
    from .handler import Config

LOGGER = get_logger("pulse_echo.check_result")  # the name every log line carries since 0.1

_ssm_lock = threading.Lock()
_ssm_urls: dict[str, str] = {}


@dataclass(frozen=True)
class WebhookDelivery:
    """What the webhook step did: ``delivered`` the channels that took the message (``webhook``,
    or none without events), ``listed`` how many hosts it named, ``message`` the alert for SNS
    (the structured json alert; None without events or without a topic)."""

    delivered: tuple[str, ...] = ()
    listed: int = 0
    message: PendingSns | None = None


@dataclass(frozen=True)
class SnsDelivery:
    """What the SNS step did: ``published`` the messages SNS took (oldest first), ``pending`` those
    it did not (its newest PENDING_SNS_MAX), ``dropped`` how many older ones were dropped (all of
    them when no topic is configured any more), ``error`` SNS's refusal, if any."""

    published: tuple[PendingSns, ...] = ()
    pending: tuple[PendingSns, ...] = ()
    dropped: int = 0
    error: Exception | None = None


def validate_webhook_url(url: str, source: str) -> None:
    """Raise ConfigError (naming ``source``, never the URL: it is a secret) unless ``url`` is an
    absolute http or https URL with a valid port (if any) and no whitespace or control
    characters. Credentials in it (``user:password@``) are allowed: webhook.post_json sends
    them as Basic authentication."""
    try:
        urls.split_http_url(url)
    except urls.UrlError as exc:
        if exc.problem == urls.WHITESPACE:
            raise ConfigError(
                f"{source} contains whitespace or control characters (percent-encode them)"
            ) from None
        if exc.problem in (urls.INVALID, urls.PORT_ZERO):
            raise ConfigError(f"{source} is not a valid URL (check its port)") from None
        raise ConfigError(f"{source} must be an absolute https:// (or http://) URL") from None


def resolve_webhook_url(config: Config, ssm: Any | None) -> str:
    """The webhook URL: from the environment, or the SSM SecureString parameter read with
    ``WithDecryption`` through ``ssm`` once per container (cached). Raises ConfigError when the
    parameter does not exist or holds no http(s) URL; other SSM errors (AccessDenied...) as
    botocore's."""
    if config.webhook_url:
        return config.webhook_url
    name = config.webhook_ssm_parameter
    assert name is not None
    if ssm is None:
        raise ValueError("reading ALERT_WEBHOOK_SSM_PARAMETER_NAME needs an SSM client")
    with _ssm_lock:
        cached = _ssm_urls.get(name)
    if cached is not None:
        return cached
    try:
        value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"].strip()
    except ssm.exceptions.ParameterNotFound:
        raise ConfigError(f"ALERT_WEBHOOK_SSM_PARAMETER_NAME={name!r}: no such SSM parameter") from None
    validate_webhook_url(value, f"SSM parameter {name!r} (ALERT_WEBHOOK_SSM_PARAMETER_NAME)")
    with _ssm_lock:
        _ssm_urls[name] = value
    return value


def forget_webhook_urls() -> None:
    """Forget the webhook URLs read from SSM (tests; a changed environment)."""
    with _ssm_lock:
        _ssm_urls.clear()


def post_alert(
    config: Config,
    evaluation: Evaluation,
    reasons: dict[str, Reason],
    webhook_url: str,
    *,
    run_id: str,
    now: datetime,
    sleep: Callable[[float], None],
    deadline: float | None,
    recoveries: Mapping[str, EchoRecord] | None = None,
) -> WebhookDelivery:
    """If the run has events, build its one message (``recoveries``: the echo records of
    recovered jobs) and POST it to the webhook (WebhookError when it is not accepted); return
    what was delivered and the message for SNS."""
    events = evaluation.events
    if not events:
        return WebhookDelivery()
    run_info = alerts.RunInfo(
        run_id=run_id,
        time=now,
        bucket=config.bucket,
        hosts=len(evaluation.statuses),
        statuses=evaluation.counts(),
    )
    alert = alerts.build_alert(
        events, reasons, run_info, max_listed=config.max_hosts_listed, recoveries=recoveries
    )
    structured = alerts.render_json(alert)
    payload = structured
    if config.webhook_format == "slack":
        payload = alerts.render_slack(
            alert,
            channel=config.slack_channel,
            username=config.slack_username,
            icon_emoji=config.slack_icon_emoji,
        )
    post_payload(config, webhook_url, payload, sleep=sleep, deadline=deadline)
    log(
        LOGGER,
        logging.INFO,
        "alert delivered",
        outcome="delivered",
        channel="webhook",
        webhook_host=urls.url_host(webhook_url),
        events=len(events),
        run_id=run_id,
    )
    message = None
    if config.sns_topic_arn:
        text = alerts.encode(structured).decode("utf-8")
        message = PendingSns(run_id=run_id, created_at=now, message=text, subject=alerts.sns_subject(alert))
    return WebhookDelivery(("webhook",), len(alert.listed), message)


def post_payload(
    config: Config,
    webhook_url: str,
    payload: dict[str, object],
    *,
    sleep: Callable[[float], None],
    deadline: float | None,
) -> None:
    """POST ``payload`` to the webhook with the configured timeout and attempts; WebhookError
    when it is not accepted (webhook.post_json)."""
    post_json(
        webhook_url,
        alerts.encode(payload),
        timeout_seconds=config.webhook_timeout_seconds,
        max_attempts=config.webhook_max_attempts,
        sleep=sleep,
        logger=LOGGER,
        deadline=deadline,
    )


def publish_sns(
    topic_arn: str | None, sns: Any | None, outbox: Sequence[PendingSns], run_id: str
) -> SnsDelivery:
    """Publish ``outbox`` (earlier runs' pending messages, then this run's) oldest first,
    stopping at the first failure, so one broken topic costs one failed call per run."""
    if not outbox:
        return SnsDelivery()
    if not topic_arn:
        _log_dropped(logging.WARNING, "ALERT_SNS_TOPIC_ARN is not set any more", outbox, run_id)
        return SnsDelivery(dropped=len(outbox))
    assert sns is not None
    published: list[PendingSns] = []
    error: Exception | None = None
    for item in outbox:
        try:
            extra = {"Subject": item.subject} if item.subject else {}
            response = sns.publish(TopicArn=topic_arn, Message=item.message, **extra)
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
        _log_dropped(logging.ERROR, f"more than {PENDING_SNS_MAX} undelivered", pending[:dropped], run_id)
    return SnsDelivery(tuple(published), tuple(pending[dropped:]), dropped, error)


def _log_dropped(level: int, why: str, dropped: Sequence[PendingSns], run_id: str) -> None:
    log(
        LOGGER,
        level,
        f"pending SNS messages dropped: {why}",
        outcome="sns_dropped",
        count=len(dropped),
        run_ids=[item.run_id for item in dropped],
        run_id=run_id,
    )
