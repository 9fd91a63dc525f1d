"""The module's life with Terraform: no drift, two instances side by side, and wrong
inputs stopped at plan time with a message that says what to do."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import MAIN_BUCKET, MAIN_PREFIX, WEBHOOK_PATH, Deployment, Timings, as_list
from tools import build_zips, tf
from tools.build_zips import code_sha256
from tools.httpserver import LocalHttpServer
from tools.lambda_service import DeployedFunction, scheduled_event

ROOT = tf.ROOT


def _plain(text: str) -> str:
    """Terraform's diagnostics without box drawing and line wrapping."""
    return " ".join(text.replace("│", " ").replace("╵", " ").replace("╷", " ").split())


def test_a_second_plan_right_after_apply_has_no_changes(deployment: Deployment, timings: Timings) -> None:
    started = time.monotonic()
    code, text = deployment.terraform.plan_exit_code()
    timings.record("plan (no changes)", time.monotonic() - started)
    assert code == 0, f"the second plan wants changes (drift):\n{text}"
    assert tf.warnings(text) == [], text


def test_apply_on_the_provider_users_run_shows_no_warning(deployment: Deployment) -> None:
    """No deprecated argument, no attribute the provider will drop: a warning here is a
    change users would see first."""
    assert tf.warnings(deployment.apply_output) == [], deployment.apply_output


SECOND_ROOT_EXTRAS = """
resource "aws_vpc" "probes" {
  cidr_block = "10.42.0.0/16"
}

resource "aws_subnet" "probes" {
  vpc_id     = aws_vpc.probes.id
  cidr_block = "10.42.1.0/24"
}

resource "aws_security_group" "probes" {
  name   = "e2e-second-probes"
  vpc_id = aws_vpc.probes.id
}

resource "aws_kms_key" "webhook" {
  description = "e2e-second webhook parameter"
}

resource "aws_ssm_parameter" "webhook" {
  name   = "/e2e-second/alert-webhook-url"
  type   = "SecureString"
  key_id = aws_kms_key.webhook.arn
  value  = var.webhook_url
}

resource "aws_sns_topic" "failed_invocations" {
  name = "e2e-second-failed-invocations"
}

variable "webhook_url" {
  type      = string
  sensitive = true
}

output "module" {
  value = module.second
}

output "subnet_id" {
  value = aws_subnet.probes.id
}

output "security_group_id" {
  value = aws_security_group.probes.id
}

output "kms_key_arn" {
  value = aws_kms_key.webhook.arn
}

output "failed_invocations_topic_arn" {
  value = aws_sns_topic.failed_invocations.arn
}
"""


def test_a_second_instance_applies_beside_the_first_without_a_clash(
    deployment: Deployment,
    emulator: tf.Emulator,
    webhook: LocalHttpServer,
    zips: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    timings: Timings,
) -> None:
    """Also the other way to configure it: webhook from SSM (customer KMS key), check_echo in
    a VPC, a cron schedule, failed invocations to SNS, alarms without a topic."""
    arguments = {
        "bucket_name": "pulse-echo-e2e-second",
        "name_prefix": "e2e-second",
        "alert_webhook_url": None,
        "alert_webhook_ssm_parameter_name": "/e2e-second/alert-webhook-url",
        "alert_webhook_ssm_kms_key_arn": tf.Raw("aws_kms_key.webhook.arn"),
        "force_destroy": True,
        "vpc_subnet_ids": [tf.Raw("aws_subnet.probes.id")],
        "vpc_security_group_ids": [tf.Raw("aws_security_group.probes.id")],
        "check_schedule_expression": "cron(0/15 * * * ? *)",
        "schedule_period_seconds": 900,
        "alarms_enabled": True,
        "failure_destination_arn": tf.Raw("aws_sns_topic.failed_invocations.arn"),
        "check_result_reserved_concurrency": None,
        "lambda_package_dir": str(zips["check_result"].parent),
    }
    root = tmp_path_factory.mktemp("root-second")
    tf.write_root(root, emulator.endpoint, "second", arguments, SECOND_ROOT_EXTRAS)
    terraform = tf.Terraform(root, env={"TF_VAR_webhook_url": webhook.url(WEBHOOK_PATH)})
    terraform.init()
    try:
        timings.record("apply (second)", terraform.apply())
        outputs = terraform.outputs()
        second = outputs["module"]
        lambda_client = emulator.boto3_client("lambda")
        names = {f["FunctionName"] for f in lambda_client.list_functions()["Functions"]}
        assert {
            f"{MAIN_PREFIX}-check-echo",
            f"{MAIN_PREFIX}-check-result",
            "e2e-second-check-echo",
            "e2e-second-check-result",
        } <= names
        assert second["bucket_name"] == "pulse-echo-e2e-second"
        assert second["schedule_rule_name"] == "e2e-second-check-result"
        assert second["schedule_rule_name"] != deployment.module["schedule_rule_name"]

        # The webhook URL is not in the function's configuration, only the parameter's name.
        result = DeployedFunction.fetch(
            lambda_client,
            second["check_result_function_name"],
            zips["check_result"],
            emulator.endpoint,
        )
        assert "ALERT_WEBHOOK_URL" not in result.environment
        assert result.environment["ALERT_WEBHOOK_SSM_PARAMETER_NAME"] == "/e2e-second/alert-webhook-url"
        assert result.environment["SCHEDULE_PERIOD_SECONDS"] == "900"  # schedule_period_seconds
        assert "ReservedConcurrentExecutions" not in lambda_client.get_function_concurrency(
            FunctionName=result.name
        )
        # ...and check_result reads it at run time (an empty bucket: a run with nothing to say,
        # whose only write is the state recording the module's threshold, the first time).
        run = result.invoke(
            scheduled_event(
                emulator.boto3_client("events").describe_rule(Name=second["schedule_rule_name"])["Arn"]
            ),
            emulator.client_environment(),
        )
        assert (run.result["outcome"], run.result["events_sent"]) == ("state_saved", 0)

        echo = lambda_client.get_function(FunctionName=second["check_echo_function_name"])["Configuration"]
        assert echo["VpcConfig"]["SubnetIds"] == [outputs["subnet_id"]]
        assert echo["VpcConfig"]["SecurityGroupIds"] == [outputs["security_group_id"]]

        iam = emulator.boto3_client("iam")
        echo_policy = {
            statement["Sid"]: statement
            for statement in iam.get_role_policy(
                RoleName="e2e-second-check-echo", PolicyName="least-privilege"
            )["PolicyDocument"]["Statement"]
        }
        # The one documented exception to "no Resource *": Lambda's VPC network interfaces.
        eni = echo_policy["ManageVpcNetworkInterfaces"]
        assert eni["Resource"] == "*"
        assert all(action.startswith("ec2:") and "*" not in action for action in eni["Action"])
        assert echo_policy["SendFailedInvocations"]["Action"] == "sns:Publish"
        assert echo_policy["SendFailedInvocations"]["Resource"] == outputs["failed_invocations_topic_arn"]
        assert iam.list_attached_role_policies(RoleName="e2e-second-check-echo")["AttachedPolicies"] == []

        result_policy = {
            statement["Sid"]: statement
            for statement in iam.get_role_policy(
                RoleName="e2e-second-check-result", PolicyName="least-privilege"
            )["PolicyDocument"]["Statement"]
        }
        parameter_arn = "arn:aws:ssm:us-east-1:123456789012:parameter/e2e-second/alert-webhook-url"
        assert result_policy["ReadWebhookParameter"]["Action"] == "ssm:GetParameter"
        assert result_policy["ReadWebhookParameter"]["Resource"] == parameter_arn
        decrypt = result_policy["DecryptWebhookParameter"]
        assert decrypt["Action"] == "kms:Decrypt"
        assert decrypt["Resource"] == outputs["kms_key_arn"]
        assert set(decrypt["Condition"]) == {"StringEquals"}
        assert {k: as_list(v) for k, v in decrypt["Condition"]["StringEquals"].items()} == {
            "kms:ViaService": ["ssm.us-east-1.amazonaws.com"]
        }
        assert "ManageVpcNetworkInterfaces" not in result_policy

        alarms = emulator.boto3_client("cloudwatch").describe_alarms(AlarmNamePrefix="e2e-second-")[
            "MetricAlarms"
        ]
        assert len(alarms) == 5
        assert {alarm["Period"] for alarm in alarms} == {
            900
        }  # schedule_period_seconds, for the cron schedule
        assert all(alarm["AlarmActions"] == [] for alarm in alarms)
    finally:
        timings.record("destroy (second)", terraform.destroy())
    # The first instance is untouched.
    code, text = deployment.terraform.plan_exit_code()
    assert code == 0, text


MINIMAL_ARGUMENTS: dict[str, object] = {
    "bucket_name": "pulse-echo-e2e-plan-only",
    "alert_webhook_url": "https://hooks.example.com/services/T000/B000/XXXX",
}


@pytest.fixture(scope="module")
def plan_only_root(emulator: tf.Emulator, tmp_path_factory: pytest.TempPathFactory) -> tf.Terraform:
    """A root module that is only planned, with the module's inputs rewritten per test."""
    root = tmp_path_factory.mktemp("root-plan-only")
    terraform = tf.Terraform(root)
    tf.write_root(root, emulator.endpoint, "pulse_echo", MINIMAL_ARGUMENTS)
    terraform.init()
    return terraform


def test_the_default_package_dir_is_the_modules_committed_dist_dir(
    plan_only_root: tf.Terraform, emulator: tf.Emulator
) -> None:
    tf.write_root(plan_only_root.workdir, emulator.endpoint, "pulse_echo", MINIMAL_ARGUMENTS)
    code, text = plan_only_root.plan_exit_code()
    assert code == 2
    for name in ("check_echo", "check_result"):
        assert f"/dist/{name}.zip" in text
        hash_line = rf'source_code_hash\s+= "{re.escape(code_sha256(build_zips.DIST / f"{name}.zip"))}"'
        assert re.search(hash_line, text), text


def _plan_errors(terraform: tf.Terraform, endpoint: str, arguments: dict[str, object]) -> str:
    tf.write_root(terraform.workdir, endpoint, "pulse_echo", arguments)
    return _plain(terraform.plan_error())


def test_invalid_inputs_fail_at_plan_with_a_message_naming_them(
    plan_only_root: tf.Terraform, emulator: tf.Emulator
) -> None:
    errors = _plan_errors(
        plan_only_root,
        emulator.endpoint,
        {
            "bucket_name": "作成したバケット",  # the original design's console test event
            "alert_webhook_url": "ftp://hooks.example.com/x",
            "stale_after_minutes": 0,
            "check_schedule_expression": "every 10 minutes",
            "alert_webhook_format": "teams",
            "lambda_runtime": "nodejs20.x",
            "name_prefix": "pulse echo",
            "log_retention_days": 10,
            "check_result_reserved_concurrency": 0,
        },
    )
    for expected in (
        "The bucket_name must be a valid S3 bucket name",
        "The alert_webhook_url must be an https:// URL",
        "The stale_after_minutes must be greater than 0 and at most 525600 (a year).",
        "The check_schedule_expression must be rate(value unit) or cron(",
        'The alert_webhook_format must be "slack" or "json".',
        "The lambda_runtime must be a Python 3 runtime",
        "The name_prefix must be 1-32 letters",
        "The log_retention_days must be one of",
        "The check_result_reserved_concurrency must be null",
    ):
        assert expected in errors, f"{expected!r} not in:\n{errors}"


# Each schedule expression EventBridge refuses, and the rule it breaks (EventBridge user guide:
# "Rate expressions reference": a positive value, a singular unit for 1 and a plural one
# otherwise; "Cron expressions reference": six required fields, each with its values and
# wildcards, one N#M at most in day-of-week, and never both day fields specified).
REFUSED_SCHEDULES = {
    "every 10 minutes": "must be rate(value unit) or cron(minutes hours",
    "rate(10 minutes": "must be rate(value unit) or cron(minutes hours",
    "rate(1 minutes)": "with a singular unit for 1 and a plural one otherwise",
    "rate(2 minute)": "with a singular unit for 1 and a plural one otherwise",
    "rate(1 hours)": "with a singular unit for 1 and a plural one otherwise",
    "rate(5 day)": "with a singular unit for 1 and a plural one otherwise",
    "rate(0 minutes)": "takes a whole value of at least 1",
    "rate(1.5 hours)": "takes a whole value of at least 1",
    "rate(2 weeks)": "takes a whole value of at least 1",
    "cron(0 10 * * ?)": "must have exactly six fields",
    "cron(0 10 * * ? * *)": "must have exactly six fields",
    "cron(0  10 * * ? *)": "must have exactly six fields",
    "cron(60 10 * * ? *)": "minutes field (the first of cron(...)) must be 0-59",
    "cron(0 24 * * ? *)": "hours field (the second of cron(...)) must be 0-23",
    "cron(0 0 32 * ? *)": "day-of-month field (the third of cron(...)) must be 1-31",
    "cron(0 0 1 13 ? *)": "month field (the fourth of cron(...)) must be 1-12 or JAN-DEC",
    "cron(0 0 ? * 8 *)": "day-of-week field (the fifth of cron(...)) must be 1-7 or SUN-SAT",
    "cron(0 0 ? * 3#1,6#3 *)": "day-of-week field (the fifth of cron(...)) must be 1-7 or SUN-SAT",
    "cron(0 0 1 * ? 2200)": "year field (the sixth of cron(...)) must be 1970-2199",
    "cron(0 9 * * MON *)": "must have ? in exactly one of day-of-month and day-of-week",
    "cron(0 9 1 * MON *)": "must have ? in exactly one of day-of-month and day-of-week",
    "cron(0 9 ? * ? *)": "must have ? in exactly one of day-of-month and day-of-week",
}
ACCEPTED_SCHEDULES = (
    "rate(1 minute)",
    "rate(2 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "rate(7 days)",
    "cron(0/15 * * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(15 10 ? * 6L 2019-2022)",
    "cron(0 9 ? * 2#1 *)",
    "cron(0 0 L * ? *)",
    "cron(0 0 3W * ? *)",
    "cron(0,30 8-17 1-15 JAN,JUL ? 2026-2030)",
)


def test_every_schedule_eventbridge_refuses_fails_at_plan_and_what_it_accepts_passes(
    emulator: tf.Emulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """One root module with one module call per expression: one plan says it all."""
    root = tmp_path_factory.mktemp("root-schedules")
    values = [*REFUSED_SCHEDULES, *ACCEPTED_SCHEDULES]
    calls = [{**MINIMAL_ARGUMENTS, "check_schedule_expression": value} for value in values]
    source = tf.local_source(tf.ROOT, root)
    extras = "".join(tf.module_block(f"schedule_{i}", source, call) for i, call in enumerate(calls) if i)
    tf.write_root(root, emulator.endpoint, "schedule_0", calls[0], extras)
    terraform = tf.Terraform(root)
    terraform.init()

    said: dict[str, list[str]] = {}
    for diagnostic in terraform.plan_error().split("Error: ")[1:]:
        found = re.search(r'var\.check_schedule_expression is "([^"]*)"', diagnostic)
        if found:
            said.setdefault(found.group(1), []).append(_plain(diagnostic))
    for value, expected in REFUSED_SCHEDULES.items():
        assert any(expected in text for text in said.get(value, [])), f"{value!r}: {said.get(value)}"
    assert [value for value in ACCEPTED_SCHEDULES if value in said] == []


def test_inconsistent_inputs_and_a_missing_build_fail_at_plan(
    plan_only_root: tf.Terraform, emulator: tf.Emulator, tmp_path: Path
) -> None:
    errors = _plan_errors(
        plan_only_root,
        emulator.endpoint,
        {
            "bucket_name": "pulse-echo-e2e-plan-only",
            "alert_webhook_url": "https://hooks.example.com/services/T000/B000/XXXX",
            "alert_webhook_ssm_parameter_name": "/pulse-echo/webhook",
            "lambda_package_dir": str(tmp_path),  # empty: no zips built
            "check_echo_timeout_seconds": 20,  # (3 + 5) x (3 + 1) = 32 s of probing
            "vpc_subnet_ids": ["subnet-0123456789abcdef0"],
        },
    )
    for expected in (
        f"The Lambda package {tmp_path}/check_echo.zip does not exist: set lambda_package_dir",
        f"The Lambda package {tmp_path}/check_result.zip does not exist: set lambda_package_dir",
        "Set exactly one of alert_webhook_url and alert_webhook_ssm_parameter_name",
        "The check_echo timeout (20 s) must exceed the probe budget",
        "Set vpc_subnet_ids and vpc_security_group_ids together",
    ):
        assert expected in errors, f"{expected!r} not in:\n{errors}"
    assert not re.search(r"(?<!\w)Error: (?!Resource precondition failed)", errors), errors


def _instance_snapshot(deployment: Deployment) -> dict[str, object]:
    """What a second root could change of the first instance: its functions' code, role and
    environment (and when they last changed), its roles' tags, its schedule rule and target."""
    lambda_client, iam, events = (deployment.client(name) for name in ("lambda", "iam", "events"))
    rule = deployment.module["schedule_rule_name"]
    configurations = [
        lambda_client.get_function_configuration(FunctionName=deployment.module[f"{kind}_function_name"])
        for kind in ("check_echo", "check_result")
    ]
    return {
        "functions": [
            {key: configuration.get(key) for key in ("CodeSha256", "LastModified", "Role", "Environment")}
            for configuration in configurations
        ],
        "roles": [
            iam.list_role_tags(RoleName=f"{MAIN_PREFIX}-{kind}")["Tags"]
            for kind in ("check-echo", "check-result")
        ],
        "rule": {
            key: value for key, value in events.describe_rule(Name=rule).items() if key != "ResponseMetadata"
        },
        "targets": events.list_targets_by_rule(Rule=rule)["Targets"],
    }


def test_a_second_instance_with_the_same_name_prefix_fails_at_plan_and_leaves_the_first_alone(
    plan_only_root: tf.Terraform, emulator: tf.Emulator, deployment: Deployment
) -> None:
    before = _instance_snapshot(deployment)
    errors = _plan_errors(
        plan_only_root, emulator.endpoint, {**MINIMAL_ARGUMENTS, "name_prefix": MAIN_PREFIX}
    )
    expected = (
        f'The name_prefix "{MAIN_PREFIX}" is already used in this account by the pulse-echo instance of '
        f"bucket {MAIN_BUCKET} (IAM role {MAIN_PREFIX}-check-echo, {MAIN_PREFIX}-check-result, tag "
        f"pulse-echo:bucket): set a name_prefix of its own for this instance "
        f"(bucket {MINIMAL_ARGUMENTS['bucket_name']})."
    )
    assert expected in errors, errors
    assert 'docs/deployment.md, "Several instances in one account"' in errors
    assert _instance_snapshot(deployment) == before

    # docs/deployment.md shows the same message, for its own names.
    message = errors[
        errors.index("The name_prefix") : errors.index('Several instances in one account").') + 35
    ]
    documented = (
        message.replace(MAIN_BUCKET, "acme-pulse")
        .replace(str(MINIMAL_ARGUMENTS["bucket_name"]), "acme-pulse-staging")
        .replace(MAIN_PREFIX, "pulse-echo")
    )
    page = _plain((ROOT / "docs" / "deployment.md").read_text(encoding="utf-8"))
    assert documented in page, f"docs/deployment.md should show:\n{documented}"
