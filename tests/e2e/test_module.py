"""What `terraform apply` created, read back from the emulator (not from the state)."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import (
    MAIN_BUCKET,
    MAIN_PREFIX,
    STALE_AFTER_MINUTES,
    Deployment,
    as_list,
    module_string_default,
)
from tools.build_zips import code_sha256

ACCOUNT = "123456789012"  # moto's account


def _statements(document: str | dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(document)
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _role_policy(deployment: Deployment, role_name: str) -> dict[str, dict[str, Any]]:
    """The role's only inline policy, statements by Sid; no managed policy attached."""
    iam = deployment.client("iam")
    assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == []
    names = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    assert len(names) == 1
    document = iam.get_role_policy(RoleName=role_name, PolicyName=names[0])["PolicyDocument"]
    statements = _statements(document)
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"wildcard action {action} in {role_name}"
        for resource in as_list(statement["Resource"]):
            assert resource != "*", f'Resource "*" in {role_name}'
    return {statement["Sid"]: statement for statement in statements}


def test_bucket_blocks_public_access_and_denies_requests_without_tls(deployment: Deployment) -> None:
    s3 = deployment.client("s3")
    block = s3.get_public_access_block(Bucket=MAIN_BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    (statement,) = _statements(s3.get_bucket_policy(Bucket=MAIN_BUCKET)["Policy"])
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] in ("*", {"AWS": "*"})
    assert as_list(statement["Action"]) == ["s3:*"]
    assert sorted(as_list(statement["Resource"])) == [
        f"arn:aws:s3:::{MAIN_BUCKET}",
        f"arn:aws:s3:::{MAIN_BUCKET}/*",
    ]
    assert as_list(statement["Condition"]["Bool"]["aws:SecureTransport"]) == ["false"]
    assert set(statement["Condition"]) == {"Bool"}


def test_the_history_expires_after_history_retention_days_and_nothing_else_does(
    deployment: Deployment,
) -> None:
    rules = deployment.client("s3").get_bucket_lifecycle_configuration(Bucket=MAIN_BUCKET)["Rules"]
    by_id = {rule["ID"]: rule for rule in rules}
    assert set(by_id) == {"expire-history", "abort-incomplete-multipart-uploads"}
    history = by_id["expire-history"]
    assert (history["Status"], history["Filter"], history["Expiration"]) == (
        "Enabled",
        {"Prefix": "history/"},
        {"Days": 90},  # the module's default
    )
    uploads = by_id["abort-incomplete-multipart-uploads"]
    assert uploads["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert "Expiration" not in uploads


def test_pulse_uploads_notify_check_echo_only_for_pulse_json(deployment: Deployment) -> None:
    configuration = deployment.client("s3").get_bucket_notification_configuration(Bucket=MAIN_BUCKET)
    (rule,) = configuration["LambdaFunctionConfigurations"]
    assert rule["LambdaFunctionArn"] == deployment.module["check_echo_function_arn"]
    assert rule["Events"] == ["s3:ObjectCreated:*"]
    filters = {item["Name"].lower(): item["Value"] for item in rule["Filter"]["Key"]["FilterRules"]}
    assert filters == {"prefix": "pulse/", "suffix": ".json"}
    assert not configuration.get("TopicConfigurations")
    assert not configuration.get("QueueConfigurations")

    # S3 may invoke check_echo only for this bucket, in this account.
    policy = json.loads(
        deployment.client("lambda").get_policy(FunctionName=deployment.module["check_echo_function_name"])[
            "Policy"
        ]
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:s3:::{MAIN_BUCKET}"
    assert statement["Condition"]["StringEquals"]["AWS:SourceAccount"] == ACCOUNT


def test_schedule_runs_check_result_and_only_this_rule_may_invoke_it(deployment: Deployment) -> None:
    events = deployment.client("events")
    rule = events.describe_rule(Name=deployment.module["schedule_rule_name"])
    assert rule["Name"] == f"{MAIN_PREFIX}-check-result"
    assert rule["ScheduleExpression"] == "rate(1 minute)"  # the module's default
    assert rule["State"] == "ENABLED"
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == deployment.module["check_result_function_arn"]

    policy = json.loads(
        deployment.client("lambda").get_policy(FunctionName=deployment.module["check_result_function_name"])[
            "Policy"
        ]
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]


def test_functions_run_the_local_zips_with_the_configured_environment(deployment: Deployment) -> None:
    webhook_url = deployment.arguments["alert_webhook_url"]
    echo = deployment.function("check_echo")
    result = deployment.function("check_result")

    assert (echo.handler, result.handler) == (
        "check_echo.handler.handler",
        "check_result.handler.handler",
    )
    assert echo.runtime == result.runtime == module_string_default("lambda_runtime")
    assert echo.code_sha256 == code_sha256(deployment.zips["check_echo"])
    assert result.code_sha256 == code_sha256(deployment.zips["check_result"])

    assert echo.environment == {
        "PULSE_ECHO_BUCKET": MAIN_BUCKET,
        "LOG_LEVEL": "INFO",
        "PULSE_MAX_BYTES": "65536",
        "PROBE_CONNECT_TIMEOUT_SECONDS": "3",
        "PROBE_READ_TIMEOUT_SECONDS": "5",
        "PROBE_MAX_REDIRECTS": "3",
        "PROBE_MAX_BODY_BYTES": "65536",
        "ALLOW_PRIVATE_TARGETS": "true",
    }
    assert result.environment == {
        "PULSE_ECHO_BUCKET": MAIN_BUCKET,
        "LOG_LEVEL": "INFO",
        "PULSE_MAX_BYTES": "65536",
        "STALE_AFTER_MINUTES": str(STALE_AFTER_MINUTES),
        "RENOTIFY_MINUTES": "0",
        "ALERT_WEBHOOK_URL": webhook_url,
        "ALERT_WEBHOOK_FORMAT": "slack",
        "SLACK_CHANNEL": "#medical-check",
        "SLACK_USERNAME": "medic",
        "SLACK_ICON_EMOJI": ":exclamation:",
        "ALERT_MAX_HOSTS_LISTED": "20",
        "ALERT_SNS_TOPIC_ARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:e2e-main-alerts",
        "WEBHOOK_TIMEOUT_SECONDS": "5",
        "WEBHOOK_MAX_ATTEMPTS": "1",
        "RUN_LEASE_SECONDS": "180",
        "SCHEDULE_PERIOD_SECONDS": "60",  # rate(1 minute): deadline checks until the next run
    }
    # The probe's worst case is (3 + 5) s x (3 redirects + 1) = 32 s; the timeout leaves room for S3.
    assert echo.timeout == deployment.module["check_echo_timeout_seconds"] == 47
    assert result.timeout == 120
    assert (echo.memory_size, result.memory_size) == (128, 384)

    concurrency = deployment.client("lambda").get_function_concurrency(FunctionName=result.name)
    assert concurrency["ReservedConcurrentExecutions"] == 1
    assert "ReservedConcurrentExecutions" not in deployment.client("lambda").get_function_concurrency(
        FunctionName=echo.name
    )


def test_each_role_has_least_privilege(deployment: Deployment) -> None:
    bucket_arn = f"arn:aws:s3:::{MAIN_BUCKET}"
    logs = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda"
    failed_queue = deployment.outputs["failed_invocations_queue_arn"]

    echo = _role_policy(deployment, f"{MAIN_PREFIX}-check-echo")
    assert set(echo) == {
        "ListPulses",
        "ReadPulses",
        "ReadLastEchoAndFailure",
        "WriteEchoesAndFailures",
        "WriteOwnLogs",
        "SendFailedInvocations",
    }
    # Listing only under pulse/; ...IfExists so a deleted pulse reads as 404, not 403 (see main.tf).
    assert as_list(echo["ListPulses"]["Action"]) == ["s3:ListBucket"]
    assert as_list(echo["ListPulses"]["Resource"]) == [bucket_arn]
    assert set(echo["ListPulses"]["Condition"]) == {"StringLikeIfExists"}
    assert as_list(echo["ListPulses"]["Condition"]["StringLikeIfExists"]["s3:prefix"]) == ["pulse/*"]
    assert as_list(echo["ReadPulses"]["Action"]) == ["s3:GetObject"]
    assert as_list(echo["ReadPulses"]["Resource"]) == [f"{bucket_arn}/pulse/*"]
    # On a failed check only, to date the run of failures (failing_since): GET failure, HEAD echo.
    assert as_list(echo["ReadLastEchoAndFailure"]["Action"]) == ["s3:GetObject"]
    assert sorted(as_list(echo["ReadLastEchoAndFailure"]["Resource"])) == [
        f"{bucket_arn}/echo/*",
        f"{bucket_arn}/failure/*",
    ]
    assert as_list(echo["WriteEchoesAndFailures"]["Action"]) == ["s3:PutObject"]
    assert sorted(as_list(echo["WriteEchoesAndFailures"]["Resource"])) == [
        f"{bucket_arn}/echo/*",
        f"{bucket_arn}/failure/*",
    ]
    assert sorted(as_list(echo["WriteOwnLogs"]["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert as_list(echo["WriteOwnLogs"]["Resource"]) == [f"{logs}/{MAIN_PREFIX}-check-echo:*"]
    assert as_list(echo["SendFailedInvocations"]["Action"]) == ["sqs:SendMessage"]
    assert as_list(echo["SendFailedInvocations"]["Resource"]) == [failed_queue]

    result = _role_policy(deployment, f"{MAIN_PREFIX}-check-result")
    assert set(result) == {
        "ListHostRecords",
        "ReadFailuresAndState",
        "ReadPulsesAndEchoes",
        "WriteState",
        "WriteHistory",
        "WriteOwnLogs",
        "PublishAlerts",
        "SendFailedInvocations",
    }
    listing = result["ListHostRecords"]
    assert as_list(listing["Action"]) == ["s3:ListBucket"]
    assert as_list(listing["Resource"]) == [bucket_arn]
    # ...IfExists: a GET of a missing object answers 404, not 403 (see main.tf).
    assert set(listing["Condition"]) == {"StringLikeIfExists"}
    assert sorted(as_list(listing["Condition"]["StringLikeIfExists"]["s3:prefix"])) == [
        "echo/*",
        "failure/*",
        "pulse/*",
        "state/*",
    ]
    assert as_list(result["ReadFailuresAndState"]["Action"]) == ["s3:GetObject"]
    assert sorted(as_list(result["ReadFailuresAndState"]["Resource"])) == [
        f"{bucket_arn}/failure/*",
        f"{bucket_arn}/state/*",
    ]
    # a changed pulse (for the host's threshold, kind and pause), a recovered job's echo
    assert as_list(result["ReadPulsesAndEchoes"]["Action"]) == ["s3:GetObject"]
    assert sorted(as_list(result["ReadPulsesAndEchoes"]["Resource"])) == [
        f"{bucket_arn}/echo/*",
        f"{bucket_arn}/pulse/*",
    ]
    assert sorted(as_list(result["WriteState"]["Action"])) == ["s3:DeleteObject", "s3:PutObject"]
    assert as_list(result["WriteState"]["Resource"]) == [f"{bucket_arn}/state/*"]
    # append-only: no read, no delete (the lifecycle rule expires the history)
    assert as_list(result["WriteHistory"]["Action"]) == ["s3:PutObject"]
    assert as_list(result["WriteHistory"]["Resource"]) == [f"{bucket_arn}/history/*"]
    assert as_list(result["WriteOwnLogs"]["Resource"]) == [f"{logs}/{MAIN_PREFIX}-check-result:*"]
    assert as_list(result["PublishAlerts"]["Action"]) == ["sns:Publish"]
    assert as_list(result["PublishAlerts"]["Resource"]) == [
        f"arn:aws:sns:us-east-1:{ACCOUNT}:e2e-main-alerts"
    ]

    trust = deployment.client("iam").get_role(RoleName=f"{MAIN_PREFIX}-check-echo")["Role"]
    (assume,) = _statements(trust["AssumeRolePolicyDocument"])
    assert assume["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_pulse_writer_policy_allows_only_writing_pulses(deployment: Deployment) -> None:
    (statement,) = _statements(deployment.module["pulse_writer_policy_json"])
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["s3:PutObject"]
    assert as_list(statement["Resource"]) == [f"arn:aws:s3:::{MAIN_BUCKET}/pulse/*"]
    assert "Condition" not in statement


def test_log_groups_have_retention(deployment: Deployment) -> None:
    groups = deployment.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{MAIN_PREFIX}-")
    retention = {group["logGroupName"]: group.get("retentionInDays") for group in groups["logGroups"]}
    assert retention == {
        deployment.module["check_echo_log_group_name"]: 30,
        deployment.module["check_result_log_group_name"]: 30,
    }


def test_alarms_watch_both_functions(deployment: Deployment) -> None:
    cloudwatch = deployment.client("cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"{MAIN_PREFIX}-")["MetricAlarms"]
    topic = deployment.outputs["alarm_topic_arn"]
    found = {}
    for alarm in alarms:
        assert alarm["Namespace"] == "AWS/Lambda"
        assert alarm["Statistic"] == "Sum"
        assert alarm["Period"] == 60  # the schedule's rate(1 minute)
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic]
        (dimension,) = alarm["Dimensions"]
        assert dimension["Name"] == "FunctionName"
        found[alarm["AlarmName"]] = (
            dimension["Value"],
            alarm["MetricName"],
            alarm["ComparisonOperator"],
            alarm["Threshold"],
            alarm["EvaluationPeriods"],
            alarm["TreatMissingData"],
        )
    echo, result = f"{MAIN_PREFIX}-check-echo", f"{MAIN_PREFIX}-check-result"
    above_zero = ("GreaterThanThreshold", 0.0, 1, "notBreaching")
    assert found == {
        f"{echo}-errors": (echo, "Errors", *above_zero),
        f"{echo}-throttles": (echo, "Throttles", *above_zero),
        f"{result}-errors": (result, "Errors", *above_zero),
        f"{result}-throttles": (result, "Throttles", *above_zero),
        # Not running: fewer than 1 invocation in each of two schedule periods; no data counts.
        f"{result}-not-running": (result, "Invocations", "LessThanThreshold", 1.0, 2, "breaching"),
    }
    assert deployment.module["alarm_names"] == {
        "check-echo-errors": f"{echo}-errors",
        "check-echo-throttles": f"{echo}-throttles",
        "check-result-errors": f"{result}-errors",
        "check-result-throttles": f"{result}-throttles",
        "check-result-not-running": f"{result}-not-running",
    }


def test_failed_async_invocations_are_retried_then_kept(deployment: Deployment) -> None:
    client = deployment.client("lambda")
    queue = deployment.outputs["failed_invocations_queue_arn"]
    for kind in ("check_echo", "check_result"):
        config = client.get_function_event_invoke_config(
            FunctionName=deployment.module[f"{kind}_function_name"]
        )
        assert config["MaximumRetryAttempts"] == 2
        assert config["MaximumEventAgeInSeconds"] == 3600
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue


def test_every_taggable_resource_is_tagged(deployment: Deployment) -> None:
    # The caller's tags, and the instance's bucket (how a second instance with the same
    # name_prefix is told apart at plan: test_lifecycle.py).
    expected = {"suite": "e2e", "owner": "pulse-echo", "pulse-echo:bucket": MAIN_BUCKET}
    module = deployment.module

    s3_tags = deployment.client("s3").get_bucket_tagging(Bucket=MAIN_BUCKET)["TagSet"]
    assert {t["Key"]: t["Value"] for t in s3_tags} == expected
    for kind in ("check_echo", "check_result"):
        tags = deployment.client("lambda").list_tags(Resource=module[f"{kind}_function_arn"])["Tags"]
        assert tags == expected
        role = module[f"{kind}_role_arn"].split("/")[-1]
        role_tags = deployment.client("iam").list_role_tags(RoleName=role)["Tags"]
        assert {t["Key"]: t["Value"] for t in role_tags} == expected
        log_tags = deployment.client("logs").list_tags_log_group(
            logGroupName=module[f"{kind}_log_group_name"]
        )
        assert log_tags["tags"] == expected
    rule_tags = deployment.client("events").list_tags_for_resource(ResourceARN=module["schedule_rule_arn"])[
        "Tags"
    ]
    assert {t["Key"]: t["Value"] for t in rule_tags} == expected
    cloudwatch = deployment.client("cloudwatch")
    for alarm in cloudwatch.describe_alarms(AlarmNamePrefix=f"{MAIN_PREFIX}-")["MetricAlarms"]:
        alarm_tags = cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
        assert {t["Key"]: t["Value"] for t in alarm_tags} == expected
