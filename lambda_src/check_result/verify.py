"""The test alert: after ``terraform apply``, prove that every alert channel works.

check_result invoked by hand with the test event ``{"pulse_echo": "test_alert"}`` (TEST_ALERT_EVENT)
sends one message, marked TEST, to each configured channel: the webhook (Slack text or the
JSON format, as configured) and the SNS topic, if any. It changes nothing: no run lease, no
listing, no state write, no history. Each channel is tried even when another fails; the
invocation then fails with TestAlertError naming the channels that did not take it, so
``aws lambda invoke`` shows it. docs/deployment.md ("After apply") shows the commands.

The JSON message (the webhook's body in the json format, and what SNS publishes) has its
own schema, TEST_ALERT_SCHEMA, so that a subscriber that reads alerts never mistakes it for
one: ``{"schema", "test": true, "summary", "text", "run": {"id", "time", "bucket"}}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pulse_echo import urls
from pulse_echo.logs import log
from pulse_echo.times import isoformat

from . import alert as alerts
from .delivery import LOGGER, post_payload, resolve_webhook_url

if TYPE_CHECKING:
    from .handler import Config

COMMAND_KEY = "pulse_echo"
TEST_ALERT = "test_alert"
TEST_ALERT_EVENT = {COMMAND_KEY: TEST_ALERT}
"""The event that asks check_result for a test alert instead of a run."""
COMMANDS = (TEST_ALERT,)
TEST_ALERT_SCHEMA = "pulse-echo.test-alert/1"


class TestAlertError(RuntimeError):
    """A channel did not take the test alert; the message names each one and why (never the
    webhook's URL: a secret)."""

    __test__ = False  # not a pytest test class, whatever its name says


def requested_command(event: object) -> str | None:
    """The command of a manual invocation (``{"pulse_echo": "<command>"}``), or None for any
    other event: a schedule, or a manual invoke without that key (a run, as always).

    Raises ValueError for an unknown command, so a typo is an error and not a real run.
    """
    if not isinstance(event, dict) or COMMAND_KEY not in event:
        return None
    command = event[COMMAND_KEY]
    if command not in COMMANDS:
        known = ", ".join(f'{{"{COMMAND_KEY}": "{name}"}}' for name in COMMANDS)
        raise ValueError(f"unknown {COMMAND_KEY} command {command!r}: the only one is {known}")
    return str(command)


def _sentence(bucket: str, now: datetime) -> str:
    return (
        f"pulse-echo test alert from bucket {bucket} at {isoformat(now)}. This channel receives "
        "pulse-echo's alerts. A test says nothing about the hosts (pulse-status does); no host, state "
        "or history changed."
    )


def render_test_alert_text(bucket: str, now: datetime) -> str:
    """The words of the test alert (plain text, one line, starting ``TEST:``)."""
    return f"TEST: {_sentence(bucket, now)}"


def render_test_alert_json(bucket: str, now: datetime, run_id: str) -> dict[str, object]:
    """The JSON test alert (TEST_ALERT_SCHEMA): the webhook's body in the json format, and SNS's."""
    return {
        "schema": TEST_ALERT_SCHEMA,
        "test": True,
        "summary": f"TEST pulse-echo: test alert from bucket {bucket}",
        "text": render_test_alert_text(bucket, now),
        "run": {"id": run_id, "time": isoformat(now), "bucket": bucket},
    }


def render_test_alert_slack_text(bucket: str, now: datetime) -> str:
    """The Slack mrkdwn text of the test alert (escaped as alert.slack_escape does)."""
    return f":white_check_mark: *TEST* {alerts.slack_escape(_sentence(f'`{bucket}`', now))}"


def sns_subject(bucket: str) -> str:
    """The test alert's SNS ``Subject`` (ASCII, one line, under 100 characters)."""
    subject = f"TEST pulse-echo {bucket}: test alert".encode("ascii", "replace").decode("ascii")
    return subject[: alerts.SNS_SUBJECT_MAX_CHARS]


def send_test_alert(
    config: Config,
    *,
    sns: Any | None,
    ssm: Any | None,
    run_id: str,
    now: datetime,
    sleep: Callable[[float], None],
    deadline: float | None,
) -> dict[str, object]:
    """Send the test alert to the webhook, then to SNS when a topic is configured. Touches
    nothing in the bucket.

    Returns ``{"run_id", "outcome": "test_alert_sent", "delivered": ["webhook", "sns"?]}``.
    Raises TestAlertError when a channel refused it (after trying every channel), ConfigError
    when the webhook URL cannot be read (SSM).
    """
    document = render_test_alert_json(config.bucket, now, run_id)
    failures: list[str] = []
    delivered: list[str] = []

    webhook_url = resolve_webhook_url(config, ssm)
    payload: dict[str, object] = document
    if config.webhook_format == "slack":
        payload = alerts.slack_payload(
            render_test_alert_slack_text(config.bucket, now),
            channel=config.slack_channel,
            username=config.slack_username,
            icon_emoji=config.slack_icon_emoji,
        )
    try:
        post_payload(config, webhook_url, payload, sleep=sleep, deadline=deadline)
        delivered.append("webhook")
    except Exception as exc:  # noqa: BLE001 - reported below, after SNS was tried too
        failures.append(f"webhook at {urls.url_host(webhook_url)}: {exc}")

    if config.sns_topic_arn:
        try:
            sns.publish(
                TopicArn=config.sns_topic_arn,
                Message=alerts.encode(document).decode("utf-8"),
                Subject=sns_subject(config.bucket),
            )
            delivered.append("sns")
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(f"SNS topic {config.sns_topic_arn}: {exc}")

    outcome = "test_alert_failed" if failures else "test_alert_sent"
    log(
        LOGGER,
        logging.ERROR if failures else logging.INFO,
        "test alert " + ("not delivered everywhere" if failures else "delivered"),
        outcome=outcome,
        delivered=delivered,
        failures=failures,
        run_id=run_id,
    )
    if failures:
        raise TestAlertError("test alert not delivered to: " + "; ".join(failures))
    return {"run_id": run_id, "outcome": outcome, "delivered": delivered}
