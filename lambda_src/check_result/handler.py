"""check_result: the scheduled run that finds down hosts and announces changes.

Handler ``check_result.handler.handler`` (EventBridge schedule). This module
holds the entry point and the configuration (read once per container from
the environment, pulse_echo.settings); one invocation (a sweep, then deadline
checks until shortly before the next scheduled run) is run.py, its window
window.py, the status rules rules.py, delivery (webhook, then SNS)
delivery.py. It imports pulse_echo, never check_echo.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pulse_echo import settings
from pulse_echo.logs import log
from pulse_echo.settings import ConfigError
from pulse_echo.text import JsonError, decode_json
from pulse_echo.times import parse_isoformat, parse_s3_time, time_left, utcnow

from .delivery import LOGGER, forget_webhook_urls, validate_webhook_url
from .run import run
from .verify import TEST_ALERT, requested_command, send_test_alert
from .window import window

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
    pulse_reads: int = settings.PULSE_READS.default  # type: ignore[assignment]
    pulse_max_bytes: int = settings.PULSE_MAX_BYTES.default  # type: ignore[assignment]
    schedule_period: timedelta = timedelta(seconds=settings.SCHEDULE_PERIOD.default)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls) -> Config:
        """Read and validate the environment; raise ConfigError naming the variable at fault.

        Durations must be finite, positive once rounded to microseconds (a
        ``timedelta``) and within their bounds (pulse_echo.settings);
        ALERT_SNS_TOPIC_ARN must be an SNS topic ARN, so a typo fails here,
        before the webhook has been posted, rather than after it on every run.
        """
        webhook_url = settings.text(settings.WEBHOOK_URL)
        ssm_parameter = settings.text(settings.WEBHOOK_SSM_PARAMETER)
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
        sns_topic_arn = settings.text(settings.SNS_TOPIC_ARN)
        if sns_topic_arn is not None and not _SNS_TOPIC_ARN.fullmatch(sns_topic_arn):
            raise ConfigError(
                f"environment variable ALERT_SNS_TOPIC_ARN={sns_topic_arn!r} is not an SNS topic ARN "
                "(arn:aws:sns:REGION:ACCOUNT:NAME)"
            )
        return cls(
            bucket=settings.bucket(),
            stale_after=settings.duration(settings.STALE_AFTER),
            renotify_after=settings.duration(settings.RENOTIFY) or None,
            webhook_url=webhook_url,
            webhook_ssm_parameter=ssm_parameter,
            webhook_format=settings.choice(settings.WEBHOOK_FORMAT),
            slack_channel=settings.text(settings.SLACK_CHANNEL),
            slack_username=settings.text(settings.SLACK_USERNAME),
            slack_icon_emoji=settings.text(settings.SLACK_ICON_EMOJI),
            max_hosts_listed=settings.integer(settings.MAX_HOSTS_LISTED),
            sns_topic_arn=sns_topic_arn,
            webhook_timeout_seconds=settings.number(settings.WEBHOOK_TIMEOUT),
            webhook_max_attempts=settings.integer(settings.WEBHOOK_MAX_ATTEMPTS),
            run_lease=settings.duration(settings.RUN_LEASE),
            pulse_reads=settings.integer(settings.PULSE_READS),
            pulse_max_bytes=settings.integer(settings.PULSE_MAX_BYTES),
            schedule_period=settings.duration(settings.SCHEDULE_PERIOD),
        )


# --- per-container caches (a Lambda container runs one invocation at a time) ---

_lock = threading.Lock()
_config: Config | None = None
_clients: dict[str, object] = {}


def reset() -> None:
    """Forget the cached configuration, clients and SSM value (tests; a changed environment)."""
    global _config
    with _lock:
        _config = None
        _clients.clear()
    forget_webhook_urls()


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
            import botocore.session
            from botocore.config import Config as BotoConfig

            # botocore parses every timestamp of a response with dateutil: at 50,000 hosts the
            # 100,000 listing times of a run were 60% of its CPU time. Its response parser
            # factory takes another parser (ResponseParserFactory.set_parser_defaults, as the
            # AWS CLI's scalarparse does); ours reads S3's two formats and hands anything else
            # back to botocore's own.
            session = botocore.session.get_session()
            factory = session.get_component("response_parser_factory")
            factory.set_parser_defaults(timestamp_parser=_parse_timestamp)
            _clients[service] = boto3.session.Session(botocore_session=session).client(
                service,
                config=BotoConfig(
                    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30
                ),
            )
        return _clients[service]


def _parse_timestamp(value: object) -> datetime:
    """botocore's timestamp parser for our clients: S3's formats fast (times.parse_s3_time),
    anything else (epoch numbers: SSM, SNS) by botocore.utils.parse_timestamp."""
    moment = parse_s3_time(value) if isinstance(value, str) else None
    if moment is not None:
        return moment
    from botocore.utils import parse_timestamp

    return parse_timestamp(value)


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
            return "detail_string" if isinstance(decode_json(detail), dict) else "other"
        except JsonError:  # not JSON, nested too deeply, a 5,000-digit number
            return "other"
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return "scheduled"
    return "other"


def handler(event: object, context: object) -> dict:
    """Lambda entry point (EventBridge schedule). Returns the run summary (see run()).

    The invocation checks deadlines until shortly before the next scheduled run
    (window.window): the event's ``time`` (when the schedule fired) plus SCHEDULE_PERIOD_SECONDS,
    and within the Lambda timeout the context reports.

    Raises ConfigError for a bad configuration, WebhookError when the webhook
    refuses the message, botocore's ClientError when S3 fails or SNS refuses a
    message (after the state, with the message pending, was saved), and
    StateConflictError when another writer changed the state meanwhile.

    The test event ``{"pulse_echo": "test_alert"}`` sends a test alert to every
    channel instead of a run, and changes nothing (verify.py); an unknown
    ``pulse_echo`` command raises ValueError.
    """
    if requested_command(event) == TEST_ALERT:
        log(LOGGER, logging.INFO, "check_result invoked", event_shape="test_alert")
        config = _get_config()
        return send_test_alert(
            config,
            sns=_client("sns") if config.sns_topic_arn else None,
            ssm=_client("ssm") if config.webhook_ssm_parameter else None,
            run_id=getattr(context, "aws_request_id", None) or str(uuid.uuid4()),
            now=utcnow(),
            sleep=time.sleep,
            deadline=_deadline(time_left(context)),
        )
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
    started = utcnow()
    left = time_left(context)
    deadline = _deadline(left)
    scheduled_at = scheduled_time(event) if isinstance(event, dict) else None
    return run(
        config,
        s3=_client("s3"),
        sns=_client("sns") if config.sns_topic_arn else None,
        ssm=_client("ssm") if config.webhook_ssm_parameter else None,
        run_id=run_id,
        deadline=deadline,
        window=window(scheduled_at or started, started, config.schedule_period, left),
    )


def _deadline(left: timedelta | None) -> float | None:
    """When to stop retrying the webhook (``time.monotonic()`` scale): the invocation's end
    (``left`` from now) less DEADLINE_MARGIN_SECONDS, or None without a Lambda context."""
    if left is None:
        return None
    return time.monotonic() + left.total_seconds() - DEADLINE_MARGIN_SECONDS


def scheduled_time(event: dict) -> datetime | None:
    """The ``time`` of an EventBridge Scheduled Event (when the schedule fired), or None when it
    is missing or not an ISO 8601 time: the run then counts from its own start."""
    value = event.get("time")
    try:
        return parse_isoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
