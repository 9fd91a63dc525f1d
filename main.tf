# pulse-echo: a dead man's switch for servers.
#
# Hosts upload pulse/<host>.json; the upload triggers check_echo, which probes
# the URL the pulse names and writes echo/<host>.json on success (or
# failure/<host>.json). check_result runs on a schedule, finds stale echoes
# and alerts a webhook. Layout and environment: docs/internals.md.
#
# Written against the part of the AWS provider that is the same in 3.39 and
# 5.x/6.x (docs/DESIGN.md section 4): separate bucket sub-resources, no inline
# bucket arguments, no inline role policies, no bucket `region`.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  package_dir      = var.lambda_package_dir != null ? var.lambda_package_dir : "${path.module}/build"
  check_echo_zip   = "${local.package_dir}/check_echo.zip"
  check_result_zip = "${local.package_dir}/check_result.zip"

  check_echo_name   = "${var.name_prefix}-check-echo"
  check_result_name = "${var.name_prefix}-check-result"

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # The region, without data.aws_region (its `name` attribute is deprecated in
  # provider 6.x): the fourth field of an ARN this module creates.
  region = split(":", aws_cloudwatch_log_group.check_result.arn)[3]

  # The probe's worst case: connect + read for the first request and each
  # redirect. check_echo's timeout must exceed it, with room for S3.
  probe_budget_seconds   = (var.probe_connect_timeout_seconds + var.probe_read_timeout_seconds) * (var.probe_max_redirects + 1)
  check_echo_timeout     = var.check_echo_timeout_seconds != null ? var.check_echo_timeout_seconds : min(900, ceil(local.probe_budget_seconds) + 15)
  webhook_budget_seconds = var.webhook_timeout_seconds * var.webhook_max_attempts
  run_lease_seconds      = var.check_result_timeout_seconds + 60

  # Seconds between check_result runs, for the alarm periods: derived from
  # rate(N unit[s]); from schedule_period_seconds for cron(...).
  rate_parts = regexall("^rate\\(([0-9]+) (minute|hour|day)s?\\)$", var.check_schedule_expression)
  unit_seconds = {
    minute = 60
    hour   = 3600
    day    = 86400
  }
  schedule_period_seconds = (
    length(local.rate_parts) > 0
    ? tonumber(local.rate_parts[0][0]) * local.unit_seconds[local.rate_parts[0][1]]
    : var.schedule_period_seconds
  )

  webhook_url_set = nonsensitive(var.alert_webhook_url != null && try(length(var.alert_webhook_url) > 0, false))
  webhook_ssm_set = var.alert_webhook_ssm_parameter_name != null
  webhook_ssm_parameter_arn = (
    local.webhook_ssm_set
    ? "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(coalesce(var.alert_webhook_ssm_parameter_name, "-"), "/")}"
    : null
  )

  vpc_enabled = length(var.vpc_subnet_ids) > 0

  # The failure destination as a list of zero or one ARN, for the dynamic blocks that use it.
  failure_destinations        = var.failure_destination_arn != null ? [var.failure_destination_arn] : []
  failure_destination_service = var.failure_destination_arn != null ? split(":", var.failure_destination_arn)[2] : null
  failure_destination_action  = local.failure_destination_service == "sqs" ? "sqs:SendMessage" : "sns:Publish"

  common_environment = {
    PULSE_ECHO_BUCKET = aws_s3_bucket.this.id
    LOG_LEVEL         = var.log_level
  }

  check_echo_environment = merge(local.common_environment, {
    PULSE_MAX_BYTES               = tostring(var.pulse_max_bytes)
    PROBE_CONNECT_TIMEOUT_SECONDS = tostring(var.probe_connect_timeout_seconds)
    PROBE_READ_TIMEOUT_SECONDS    = tostring(var.probe_read_timeout_seconds)
    PROBE_MAX_REDIRECTS           = tostring(var.probe_max_redirects)
    PROBE_MAX_BODY_BYTES          = tostring(var.probe_max_body_bytes)
    ALLOW_PRIVATE_TARGETS         = var.allow_private_targets ? "true" : "false"
  })

  # Optional settings are sent only when set (the function's defaults apply otherwise).
  check_result_optional_environment = {
    for name, value in {
      SLACK_CHANNEL       = var.slack_channel
      SLACK_USERNAME      = var.slack_username
      SLACK_ICON_EMOJI    = var.slack_icon_emoji
      ALERT_SNS_TOPIC_ARN = var.alert_sns_topic_arn
    } : name => value if value != null && value != ""
  }

  check_result_environment = merge(
    local.common_environment,
    {
      STALE_AFTER_MINUTES     = tostring(var.stale_after_minutes)
      RENOTIFY_MINUTES        = tostring(var.renotify_minutes)
      ALERT_WEBHOOK_FORMAT    = var.alert_webhook_format
      ALERT_MAX_HOSTS_LISTED  = tostring(var.alert_max_hosts_listed)
      WEBHOOK_TIMEOUT_SECONDS = tostring(var.webhook_timeout_seconds)
      WEBHOOK_MAX_ATTEMPTS    = tostring(var.webhook_max_attempts)
      RUN_LEASE_SECONDS       = tostring(local.run_lease_seconds)
    },
    local.check_result_optional_environment,
    local.webhook_ssm_set ? { ALERT_WEBHOOK_SSM_PARAMETER_NAME = var.alert_webhook_ssm_parameter_name } : {},
    local.webhook_url_set ? { ALERT_WEBHOOK_URL = var.alert_webhook_url } : {},
  )
}

# -----------------------------------------------------------------------------
# Bucket
# -----------------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logging needs a second (log) bucket; left to the caller's account-wide logging setup.
  #checkov:skip=CKV_AWS_21:Versioning would keep every pulse and echo rewrite (one per host every few minutes) forever; the data is ephemeral by design.
  #checkov:skip=CKV_AWS_144:Cross-region replication of ephemeral heartbeat data is not worth a second bucket and role.
  #checkov:skip=CKV_AWS_145:New objects are encrypted with SSE-S3 by default (since January 2023); a KMS key is left to the caller.
  #checkov:skip=CKV2_AWS_61:No lifecycle rule: every object is overwritten in place, one per host and prefix, so nothing accumulates.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # S3 rejects a bucket policy while the public access block is being changed.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_notification" "pulses" {
  bucket = aws_s3_bucket.this.id

  lambda_function {
    id                  = "pulse-uploaded"
    lambda_function_arn = aws_lambda_function.check_echo.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "pulse/"
    filter_suffix       = ".json"
  }

  # S3 tests the destination when the notification is created: the permission must exist first.
  depends_on = [aws_lambda_permission.s3_invoke_check_echo]
}

# -----------------------------------------------------------------------------
# Functions
# -----------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "check_echo" {
  #checkov:skip=CKV_AWS_158:Logs hold host names and probe outcomes, no secrets; CloudWatch Logs encrypts them at rest by default.
  #checkov:skip=CKV_AWS_338:Retention is the caller's choice (log_retention_days, default 30 days) to keep cost proportional.
  name              = "/aws/lambda/${local.check_echo_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "check_result" {
  #checkov:skip=CKV_AWS_158:Logs hold host names and statuses, no secrets; CloudWatch Logs encrypts them at rest by default.
  #checkov:skip=CKV_AWS_338:Retention is the caller's choice (log_retention_days, default 30 days) to keep cost proportional.
  name              = "/aws/lambda/${local.check_result_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "check_echo" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments on "*"; the JSON logs carry elapsed_ms per check.
  #checkov:skip=CKV_AWS_115:Concurrency follows the pulse uploads; a reservation would throttle checks (the Throttles alarm watches).
  #checkov:skip=CKV_AWS_116:Asynchronous failures go to failure_destination_arn (aws_lambda_function_event_invoke_config), which supersedes a DLQ.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (bucket name, timeouts); AWS encrypts it at rest with its own key.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the zips are byte-reproducible and hashed (source_code_hash).
  function_name    = local.check_echo_name
  description      = "pulse-echo: probes the URL of each uploaded pulse and writes an echo on success"
  role             = aws_iam_role.check_echo.arn
  handler          = "check_echo.handler.handler"
  runtime          = var.lambda_runtime
  filename         = local.check_echo_zip
  source_code_hash = fileexists(local.check_echo_zip) ? filebase64sha256(local.check_echo_zip) : null
  memory_size      = var.check_echo_memory_mb
  timeout          = local.check_echo_timeout
  tags             = var.tags

  environment {
    variables = local.check_echo_environment
  }

  dynamic "vpc_config" {
    for_each = local.vpc_enabled ? [1] : []
    content {
      subnet_ids         = var.vpc_subnet_ids
      security_group_ids = var.vpc_security_group_ids
    }
  }

  lifecycle {
    precondition {
      condition     = fileexists(local.check_echo_zip)
      error_message = "The Lambda package ${local.check_echo_zip} does not exist: run `make build` in the pulse-echo repository (or set lambda_package_dir to where the zips are)."
    }
    precondition {
      condition     = local.check_echo_timeout > local.probe_budget_seconds
      error_message = "The check_echo timeout (${local.check_echo_timeout} s) must exceed the probe budget (probe_connect_timeout_seconds + probe_read_timeout_seconds) x (probe_max_redirects + 1) = ${local.probe_budget_seconds} s: raise check_echo_timeout_seconds (or leave it null to compute it) or lower the probe timeouts."
    }
    precondition {
      condition     = local.vpc_enabled == (length(var.vpc_security_group_ids) > 0)
      error_message = "Set vpc_subnet_ids and vpc_security_group_ids together (both empty runs check_echo outside a VPC)."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.check_echo,
    aws_iam_role_policy.check_echo,
  ]
}

resource "aws_lambda_function" "check_result" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments on "*"; the JSON logs carry one line per decision.
  #checkov:skip=CKV_AWS_116:Asynchronous failures go to failure_destination_arn (aws_lambda_function_event_invoke_config), which supersedes a DLQ.
  #checkov:skip=CKV_AWS_117:Talks only to S3, SNS and the webhook; no VPC resource to reach.
  #checkov:skip=CKV_AWS_173:A webhook URL in the environment is the documented trade-off; alert_webhook_ssm_parameter_name keeps it out.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the zips are byte-reproducible and hashed (source_code_hash).
  function_name                  = local.check_result_name
  description                    = "pulse-echo: finds stale echoes on a schedule and alerts on status changes"
  role                           = aws_iam_role.check_result.arn
  handler                        = "check_result.handler.handler"
  runtime                        = var.lambda_runtime
  filename                       = local.check_result_zip
  source_code_hash               = fileexists(local.check_result_zip) ? filebase64sha256(local.check_result_zip) : null
  memory_size                    = var.check_result_memory_mb
  timeout                        = var.check_result_timeout_seconds
  reserved_concurrent_executions = var.check_result_reserved_concurrency != null ? var.check_result_reserved_concurrency : -1
  tags                           = var.tags

  environment {
    variables = local.check_result_environment
  }

  lifecycle {
    precondition {
      condition     = fileexists(local.check_result_zip)
      error_message = "The Lambda package ${local.check_result_zip} does not exist: run `make build` in the pulse-echo repository (or set lambda_package_dir to where the zips are)."
    }
    precondition {
      condition     = local.webhook_url_set != local.webhook_ssm_set
      error_message = "Set exactly one of alert_webhook_url and alert_webhook_ssm_parameter_name (the other null or \"\")."
    }
    precondition {
      condition     = var.check_result_timeout_seconds >= local.webhook_budget_seconds + 15
      error_message = "The check_result_timeout_seconds (${var.check_result_timeout_seconds} s) must leave room for webhook_max_attempts x webhook_timeout_seconds (${local.webhook_budget_seconds} s) plus 15 s."
    }
    precondition {
      condition     = !local.alarms_enabled || local.schedule_period_seconds != null
      error_message = "With a cron(...) check_schedule_expression and alarms on, set schedule_period_seconds (the time between two runs) for the alarm periods."
    }
    precondition {
      # CloudWatch: period x evaluation periods (2 for "not running") at most 1 day
      # for periods under an hour, 7 days otherwise.
      condition     = !local.alarms_enabled || try(local.schedule_period_seconds * 2 <= 604800, true)
      error_message = "CloudWatch alarms evaluate at most 7 days: with alarms on, check_result must run at least every 3.5 days."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.check_result,
    aws_iam_role_policy.check_result,
  ]
}

resource "aws_lambda_permission" "s3_invoke_check_echo" {
  statement_id   = "AllowPulseBucketInvoke"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.check_echo.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.this.arn
  source_account = local.account_id
}

# Failed asynchronous invocations of either function are retried, then sent to
# the failure destination (if any) instead of being lost silently.
resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = {
    check_echo   = aws_lambda_function.check_echo.function_name
    check_result = aws_lambda_function.check_result.function_name
  }

  function_name                = each.value
  maximum_retry_attempts       = var.async_maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_maximum_event_age_seconds

  dynamic "destination_config" {
    for_each = local.failure_destinations
    content {
      on_failure {
        destination = destination_config.value
      }
    }
  }
}

# Addresses before the two configurations became one for_each resource:
# existing deployments are moved in place, not replaced.
moved {
  from = aws_lambda_function_event_invoke_config.check_echo
  to   = aws_lambda_function_event_invoke_config.this["check_echo"]
}

moved {
  from = aws_lambda_function_event_invoke_config.check_result
  to   = aws_lambda_function_event_invoke_config.this["check_result"]
}

# -----------------------------------------------------------------------------
# IAM: one role per function, least privilege (no s3:*, no Resource "*"
# except the VPC network-interface actions, which AWS documents as needing it)
# -----------------------------------------------------------------------------

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "check_echo" {
  name               = local.check_echo_name
  description        = "pulse-echo check_echo: read pulses, write echoes and failure records"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
  tags               = var.tags
}

resource "aws_iam_role" "check_result" {
  name               = local.check_result_name
  description        = "pulse-echo check_result: list echoes, keep alert state, post alerts"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "check_echo" {
  # Why s3:ListBucket at all: S3 answers a GET of a missing object with 404
  # only when the caller may list the bucket, else 403 AccessDenied. A pulse
  # deleted between its upload and the check (pulse-forget, a host retired)
  # must be a logged skip, not an error that Lambda retries; a host's first
  # failure finds no previous failure record and no echo (404s too). The
  # listing has no s3:prefix key in that check, hence ...IfExists (as for
  # check_result).
  statement {
    sid       = "ListPulses"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]

    condition {
      test     = "StringLikeIfExists"
      variable = "s3:prefix"
      values   = ["pulse/*"]
    }
  }

  statement {
    sid       = "ReadPulses"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/pulse/*"]
  }

  # On a failed check only: the previous failure record (GET) and the echo
  # (HEAD, which needs s3:GetObject) date the start of the run of failures
  # (failing_since).
  statement {
    sid     = "ReadLastEchoAndFailure"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.this.arn}/echo/*",
      "${aws_s3_bucket.this.arn}/failure/*",
    ]
  }

  statement {
    sid     = "WriteEchoesAndFailures"
    actions = ["s3:PutObject"]
    resources = [
      "${aws_s3_bucket.this.arn}/echo/*",
      "${aws_s3_bucket.this.arn}/failure/*",
    ]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.check_echo.arn}:*"]
  }

  dynamic "statement" {
    for_each = local.failure_destinations
    content {
      sid       = "SendFailedInvocations"
      actions   = [local.failure_destination_action]
      resources = [statement.value]
    }
  }

  # Inline rather than the managed AWSLambdaVPCAccessExecutionRole, which also
  # grants logs:CreateLogGroup/PutLogEvents on every log group. These are the
  # network-interface actions Lambda needs for a VPC function; AWS documents
  # that they only work with Resource "*" (ec2:Describe* has no resource-level
  # permissions, and the interfaces do not exist before Lambda creates them).
  dynamic "statement" {
    for_each = local.vpc_enabled ? [1] : []
    content {
      sid = "ManageVpcNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["*"]
    }
  }
}

data "aws_iam_policy_document" "check_result" {
  # Listings only under the four prefixes check_result reads. ...IfExists: S3
  # also consults s3:ListBucket, without an s3:prefix key, to answer a GET of a
  # missing object (state/status.json before the first alert, a failure record
  # deleted meanwhile): 404 with the permission, 403 AccessDenied without it.
  # Plain StringLike would turn every such 404 into a 403 on AWS.
  statement {
    sid       = "ListHostRecords"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]

    condition {
      test     = "StringLikeIfExists"
      variable = "s3:prefix"
      values   = ["echo/*", "pulse/*", "failure/*", "state/*"]
    }
  }

  statement {
    sid     = "ReadFailuresAndState"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.this.arn}/failure/*",
      "${aws_s3_bucket.this.arn}/state/*",
    ]
  }

  statement {
    sid       = "WriteState"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.this.arn}/state/*"]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.check_result.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.alert_sns_topic_arn != null ? [var.alert_sns_topic_arn] : []
    content {
      sid       = "PublishAlerts"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.webhook_ssm_set ? [local.webhook_ssm_parameter_arn] : []
    content {
      sid       = "ReadWebhookParameter"
      actions   = ["ssm:GetParameter"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.webhook_ssm_set && var.alert_webhook_ssm_kms_key_arn != null ? [var.alert_webhook_ssm_kms_key_arn] : []
    content {
      sid       = "DecryptWebhookParameter"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.failure_destinations
    content {
      sid       = "SendFailedInvocations"
      actions   = [local.failure_destination_action]
      resources = [statement.value]
    }
  }
}

# For the monitored hosts (output pulse_writer_policy_json): write a pulse, nothing else.
data "aws_iam_policy_document" "pulse_writer" {
  statement {
    sid       = "WritePulse"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/pulse/*"]
  }
}

resource "aws_iam_role_policy" "check_echo" {
  name   = "least-privilege"
  role   = aws_iam_role.check_echo.id
  policy = data.aws_iam_policy_document.check_echo.json
}

resource "aws_iam_role_policy" "check_result" {
  name   = "least-privilege"
  role   = aws_iam_role.check_result.id
  policy = data.aws_iam_policy_document.check_result.json
}

# -----------------------------------------------------------------------------
# Schedule
# -----------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = local.check_result_name
  description         = "pulse-echo: runs check_result (${var.check_schedule_expression})"
  schedule_expression = var.check_schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "check_result" {
  rule      = aws_cloudwatch_event_rule.schedule.name
  target_id = "check-result"
  arn       = aws_lambda_function.check_result.arn
}

resource "aws_lambda_permission" "events_invoke_check_result" {
  statement_id  = "AllowScheduleInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.check_result.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}

# -----------------------------------------------------------------------------
# Alarms: watch the watcher (when alarm_sns_topic_arn is set, or alarms_enabled)
# -----------------------------------------------------------------------------

locals {
  # Whether the alarms exist must be known at plan time (for_each keys).
  alarms_enabled = var.alarms_enabled != null ? var.alarms_enabled : var.alarm_sns_topic_arn != null
  alarm_actions  = var.alarm_sns_topic_arn != null ? [var.alarm_sns_topic_arn] : []

  # Errors and Throttles alarms: any occurrence within one schedule period.
  alarm_on_any_occurrence = {
    comparison = "GreaterThanThreshold"
    threshold  = 0
    periods    = 1
    missing    = "notBreaching"
  }

  alarms = local.alarms_enabled ? {
    "check-echo-errors" = merge(local.alarm_on_any_occurrence, {
      function    = aws_lambda_function.check_echo.function_name
      description = "check_echo failed (an error, not a failed probe): pulses may go unchecked."
      metric      = "Errors"
    })
    "check-echo-throttles" = merge(local.alarm_on_any_occurrence, {
      function    = aws_lambda_function.check_echo.function_name
      description = "check_echo was throttled: pulses are checked late or not at all."
      metric      = "Throttles"
    })
    "check-result-errors" = merge(local.alarm_on_any_occurrence, {
      function    = aws_lambda_function.check_result.function_name
      description = "check_result failed: down hosts may not be alerted."
      metric      = "Errors"
    })
    "check-result-throttles" = merge(local.alarm_on_any_occurrence, {
      function    = aws_lambda_function.check_result.function_name
      description = "check_result was throttled (a run overlapped another, or the account ran out of concurrency)."
      metric      = "Throttles"
    })
    "check-result-not-running" = {
      function    = aws_lambda_function.check_result.function_name
      description = "check_result has not run for two schedule periods: nothing is watching the hosts."
      metric      = "Invocations"
      comparison  = "LessThanThreshold"
      threshold   = 1
      periods     = 2
      missing     = "breaching"
    }
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = each.value.function }
  statistic           = "Sum"
  period              = local.schedule_period_seconds
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  treat_missing_data  = each.value.missing
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
