"""End-to-end fixtures: the module applied by real Terraform to a local AWS emulator.

One session: ``moto_server`` on a free 127.0.0.1 port, the offline toolchain
(tools/tf.py), and a test root module (generated into a temporary directory)
that calls the module with ``source`` = the repository root, hashicorp/aws
5.100.0 pointed at the emulator, the module's default runtime, a realistic
threshold (``stale_after_minutes = 15``) and a webhook receiver on 127.0.0.1.
It is applied once per session; ``tests/e2e/test_teardown.py`` destroys it
last (the fixture destroys it too, should that test not run).

The functions are run from their deployed zips by tools/lambda_service.py,
which plays the Lambda service (docs/DESIGN.md section 4). Time passes only
when a test says so: ``Deployment.pass_time()`` moves the emulator's clock
and the functions' clock forward together; no test sleeps.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cli_env, run_cli
from tools import build_zips, tf, tfdocs
from tools.httpserver import LocalHttpServer, start_http_server
from tools.lambda_service import DeployedFunction, Invocation, PulseRouter, scheduled_event

ROOT = tf.ROOT
MAIN_PREFIX = "e2e-main"
MAIN_BUCKET = "pulse-echo-e2e-main"
WEBHOOK_PATH = "/hook/T000/B000/XXXX"
STALE_AFTER_MINUTES = 15  # the main instance's threshold: the module's default, as users run it


def as_list(value: str | list[str]) -> list[str]:
    """An IAM policy element as a list: provider 5.x writes a one-item list as a string."""
    return [value] if isinstance(value, str) else list(value)


def module_string_default(variable: str) -> str:
    """The default of the module's string input ``variable`` (e.g. lambda_runtime), read
    from the module's .tf files: what a caller who leaves it out gets."""
    for path in sorted(ROOT.glob("*.tf")):
        for item in tfdocs.read_inputs(path):
            if item.name == variable and item.default is not None:
                return tfdocs.string_value(item.default)
    raise LookupError(f"the module has no input {variable} with a default")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run test_teardown.py (destroy, then check nothing is left) after everything else."""
    items.sort(key=lambda item: item.path.name == "test_teardown.py")


@dataclass
class Timings:
    """Seconds taken by each Terraform command of the session (for the report)."""

    values: dict[str, float] = field(default_factory=dict)

    def record(self, name: str, seconds: float) -> None:
        self.values[name] = round(seconds, 1)


_TIMINGS = Timings()


@pytest.fixture(scope="session")
def timings() -> Timings:
    return _TIMINGS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how long each Terraform command took (apply, plan, destroy)."""
    if _TIMINGS.values:
        terminalreporter.write_line(
            "Terraform timings (s): " + ", ".join(f"{k} {v}" for k, v in _TIMINGS.values.items())
        )


@pytest.fixture(scope="session")
def zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The function zips, built from lambda_src once per session into a directory of its own.

    The main instance deploys them (lambda_package_dir), so the suite runs the source as it
    is, and a `make build` in another terminal during the run cannot make the deployed code
    and the zips the tests compare it with differ. That the committed dist/ is that same
    build is tests/unit/test_build_zips.py's check; test_day_one.py deploys dist/ as users
    do, from a git:: source.
    """
    out = tmp_path_factory.mktemp("zips")
    return {name: build_zips.build_zip(name, out) for name in sorted(build_zips.PACKAGES)}


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tf.Emulator]:
    """moto_server on 127.0.0.1:<free port>, for the whole session."""
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with tf.Emulator(log_path=log) as server:
        yield server


@pytest.fixture(scope="session")
def webhook() -> Iterator[LocalHttpServer]:
    """The alert webhook receiver (answers 200 "ok" like Slack), for the whole session."""
    server, stop = start_http_server()
    server.route(WEBHOOK_PATH, 200, "ok")
    try:
        yield server
    finally:
        stop()


@pytest.fixture(scope="session")
def targets() -> Iterator[LocalHttpServer]:
    """The monitored hosts' health endpoints (probe targets), for the whole session."""
    server, stop = start_http_server()
    try:
        yield server
    finally:
        stop()


def main_module_arguments(webhook_url: str, package_dir: Path) -> dict[str, object]:
    """Inputs of the main test instance: every optional feature the emulator can show."""
    return {
        "bucket_name": MAIN_BUCKET,
        "name_prefix": MAIN_PREFIX,
        "alert_webhook_url": webhook_url,
        "stale_after_minutes": STALE_AFTER_MINUTES,
        "allow_private_targets": True,
        "force_destroy": True,
        "slack_channel": "#medical-check",
        "slack_username": "medic",
        "slack_icon_emoji": ":exclamation:",
        # One attempt per run: a refused alert must be sent again by the next run.
        "webhook_max_attempts": 1,
        "webhook_timeout_seconds": 5,
        "alert_sns_topic_arn": tf.Raw("aws_sns_topic.alerts.arn"),
        "alarm_sns_topic_arn": tf.Raw("aws_sns_topic.alarms.arn"),
        "alarms_enabled": True,  # the topic is created in the same apply
        "failure_destination_arn": tf.Raw("data.aws_sqs_queue.failed_invocations.arn"),
        "tags": {"suite": "e2e", "owner": "pulse-echo"},
        "lambda_package_dir": str(package_dir),
    }


MAIN_ROOT_EXTRAS = """
resource "aws_sns_topic" "alarms" {
  name = "e2e-main-alarms"
}

resource "aws_sns_topic" "alerts" {
  name = "e2e-main-alerts"
}

# The two queues exist before the apply, as a caller's existing queues (HARNESS_QUEUES):
# provider 5.x waits about 30 s after creating a queue, until its attributes read back
# the same six times in a row, and the module would wait for it.
data "aws_sqs_queue" "alerts" {
  name = "e2e-main-alerts"
}

data "aws_sqs_queue" "failed_invocations" {
  name = "e2e-main-failed-invocations"
}

# The structured alerts, as a subscriber (PagerDuty, e-mail...) would get them.
resource "aws_sns_topic_subscription" "alerts" {
  topic_arn            = aws_sns_topic.alerts.arn
  protocol             = "sqs"
  endpoint             = data.aws_sqs_queue.alerts.arn
  raw_message_delivery = true
}

output "module" {
  value     = module.pulse_echo
  sensitive = false
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}

output "alert_queue_url" {
  value = data.aws_sqs_queue.alerts.url
}

output "failed_invocations_queue_arn" {
  value = data.aws_sqs_queue.failed_invocations.arn
}
"""
HARNESS_QUEUES = ("e2e-main-alerts", "e2e-main-failed-invocations")


@dataclass
class Deployment:
    """The applied main instance: its outputs, the emulator, and Lambda played locally."""

    terraform: tf.Terraform
    emulator: tf.Emulator
    outputs: dict[str, Any]
    arguments: dict[str, object]
    zips: dict[str, Path]
    apply_output: str = ""
    destroyed: bool = False

    @property
    def module(self) -> dict[str, Any]:
        return self.outputs["module"]

    @property
    def bucket(self) -> str:
        return self.module["bucket_name"]

    def client(self, service: str) -> Any:
        return self.emulator.boto3_client(service)

    def function(self, kind: str) -> DeployedFunction:
        """check_echo or check_result as deployed (configuration read from the emulator)."""
        return DeployedFunction.fetch(
            self.client("lambda"),
            self.module[f"{kind}_function_name"],
            self.zips[kind],
            self.emulator.endpoint,
        )

    def pass_time(self, delta: timedelta) -> None:
        """``delta`` passes for the emulator and, from the next invocation on, for the
        functions: their clocks move forward together (no sleeping)."""
        self.emulator.shift_clock(delta)

    def upload_pulse(self, host: str, url: str, body: str) -> list[Invocation]:
        """Upload the original two-field pulse ``{"url", "body"}`` as ``host``'s (see upload_document)."""
        return self.upload_document(host, {"url": url, "body": body})

    def upload_document(self, host: str, document: dict[str, Any]) -> list[Invocation]:
        """Upload ``document`` as ``pulse/<host>.json``, as a host would, and deliver the S3 event."""
        self.client("s3").put_object(
            Bucket=self.bucket,
            Key=f"pulse/{host}.json",
            Body=json.dumps(document).encode(),
            ContentType="application/json",
        )
        return self.deliver_pulse(host)

    def deliver_pulse(self, host: str) -> list[Invocation]:
        """Deliver the S3 event of ``pulse/<host>.json`` (already uploaded: by upload_document,
        or by send-pulse itself) to check_echo as S3 would; its invocations."""
        echo = self.function("check_echo")
        router = PulseRouter(self.client("s3"), self.bucket, {echo.arn: echo})
        return router.object_created(
            f"pulse/{host}.json", self.emulator.client_environment(), clock_offset=self.emulator.clock_offset
        )

    def tool(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the operator's ``scripts/<name>`` on this bucket as a user would (tests.helpers.run_cli,
        the emulator as AWS), at the emulator's time (the tools' hidden ``--now``)."""
        now = self.emulator.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        env = cli_env(Path(tempfile.gettempdir()), self.emulator.endpoint)
        return run_cli(name, ["--bucket", self.bucket, "--now", now, *args], env)

    def run_schedule(self) -> Invocation:
        """Deliver one EventBridge scheduled event to the rule's target, as EventBridge would.
        While the function waits for a deadline, time passes for the emulator too (no test
        waits): the emulator's clock is read again after it."""
        events = self.client("events")
        rule_name = self.module["schedule_rule_name"]
        rule_arn = events.describe_rule(Name=rule_name)["Arn"]
        (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        result = self.function("check_result")
        assert target["Arn"] == result.arn
        try:
            return result.invoke(
                scheduled_event(rule_arn, when=self.emulator.now()),
                self.emulator.client_environment(),
                check=False,
                clock_offset=self.emulator.clock_offset,
                clock_url=self.emulator.clock_url,
            )
        finally:
            self.emulator.read_clock()

    def object(self, key: str) -> dict[str, Any] | None:
        """The JSON body of ``key`` in the bucket, or None when absent."""
        try:
            response = self.client("s3").get_object(Bucket=self.bucket, Key=key)
        except self.client("s3").exceptions.NoSuchKey:
            return None
        return json.loads(response["Body"].read())

    def keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` in the bucket."""
        paginator = self.client("s3").get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def clear_bucket(self) -> None:
        """Delete every object: hosts, records and check_result's state (a fresh start)."""
        self.emulator.empty_bucket(self.bucket)

    def sns_alerts(self) -> list[dict[str, Any]]:
        """The structured alerts published to the SNS topic since the last call, as the
        subscribed SQS queue received them."""
        sqs = self.client("sqs")
        queue = self.outputs["alert_queue_url"]
        alerts = []
        while True:
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return alerts
            for message in messages:
                body = json.loads(message["Body"])
                alerts.append(json.loads(body["Message"]) if "TopicArn" in body else body)
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    def destroy(self, timings: Timings | None = None, *, empty_bucket: bool = True) -> None:
        """``terraform destroy``, once. ``empty_bucket`` first deletes every object with
        boto3: provider 5.x's force_destroy can loop on moto for keys that need
        URL-encoding (docs/DESIGN.md section 4)."""
        if not self.destroyed:
            if empty_bucket:
                self.emulator.empty_bucket(str(self.arguments["bucket_name"]))
            seconds = self.terraform.destroy()
            self.destroyed = True
            sqs = self.client("sqs")
            for name in HARNESS_QUEUES:  # the harness made them, the harness removes them
                sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
            if timings is not None:
                timings.record("destroy (main)", seconds)


@pytest.fixture(scope="session")
def deployment(
    tmp_path_factory: pytest.TempPathFactory,
    emulator: tf.Emulator,
    webhook: LocalHttpServer,
    zips: dict[str, Path],
    timings: Timings,
) -> Iterator[Deployment]:
    """The main instance, applied once per session (destroyed at the end)."""
    arguments = main_module_arguments(webhook.url(WEBHOOK_PATH), zips["check_echo"].parent)
    root = tmp_path_factory.mktemp("root-main")
    tf.write_root(root, emulator.endpoint, "pulse_echo", arguments, MAIN_ROOT_EXTRAS)
    terraform = tf.Terraform(root)
    sqs = emulator.boto3_client("sqs")
    for name in HARNESS_QUEUES:
        sqs.create_queue(QueueName=name)
    start = time.monotonic()
    terraform.init()
    timings.record("init", time.monotonic() - start)
    deployed = Deployment(terraform, emulator, {}, arguments, zips)
    try:
        timings.record("apply (main)", terraform.apply())
        deployed.apply_output = terraform.last_output
        deployed.outputs = terraform.outputs()
        yield deployed
    finally:
        deployed.destroy(timings)
