# -----------------------------------------------------------------------------
# Functions: check_echo (on each pulse upload) and check_result (on the
# schedule), written once with for_each; what differs is in local.functions.
# -----------------------------------------------------------------------------

locals {
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
      # How long an invocation may check deadlines: until shortly before the next run. A cron
      # schedule without schedule_period_seconds leaves the function's default (60 s, the
      # shortest period EventBridge allows).
      SCHEDULE_PERIOD_SECONDS = local.schedule_period_seconds == null ? null : tostring(local.schedule_period_seconds)
    } : name => value if value != null && value != ""
  }

  check_result_environment = merge(
    local.common_environment,
    {
      # check_result reads each changed pulse (its threshold, kind and pause) as check_echo does.
      PULSE_MAX_BYTES         = tostring(var.pulse_max_bytes)
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

  # Everything that differs between the two functions. `preconditions` are the
  # function's own input checks: each { condition, error_message }.
  functions = {
    check_echo = {
      description = "pulse-echo: probes the URL of each uploaded pulse and writes an echo on success"
      handler     = "check_echo.handler.handler"
      package     = local.check_echo_zip
      memory_size = var.check_echo_memory_mb
      timeout     = local.check_echo_timeout
      # No reservation: concurrency follows the pulse uploads (the Throttles alarm watches).
      reserved_concurrent_executions = -1
      environment                    = local.check_echo_environment
      # Only check_echo may run in a VPC (to probe internal services).
      vpc_config = local.vpc_enabled ? [{
        subnet_ids         = var.vpc_subnet_ids
        security_group_ids = var.vpc_security_group_ids
      }] : []
      preconditions = [
        {
          condition     = local.check_echo_timeout > local.probe_budget_seconds
          error_message = "The check_echo timeout (${local.check_echo_timeout} s) must exceed the probe budget (probe_connect_timeout_seconds + probe_read_timeout_seconds) x (probe_max_redirects + 1) = ${local.probe_budget_seconds} s: raise check_echo_timeout_seconds (or leave it null to compute it) or lower the probe timeouts."
        },
        {
          condition     = local.vpc_enabled == (length(var.vpc_security_group_ids) > 0)
          error_message = "Set vpc_subnet_ids and vpc_security_group_ids together (both empty runs check_echo outside a VPC)."
        },
      ]
    }

    check_result = {
      description = "pulse-echo: finds stale echoes on a schedule and alerts on status changes"
      handler     = "check_result.handler.handler"
      package     = local.check_result_zip
      memory_size = var.check_result_memory_mb
      timeout     = var.check_result_timeout_seconds
      # 1 by default: overlapping runs are impossible (EventBridge delivers at least once).
      reserved_concurrent_executions = var.check_result_reserved_concurrency != null ? var.check_result_reserved_concurrency : -1
      environment                    = local.check_result_environment
      vpc_config                     = []
      preconditions = [
        {
          condition     = local.webhook_url_set != local.webhook_ssm_set
          error_message = "Set exactly one of alert_webhook_url and alert_webhook_ssm_parameter_name (the other null or \"\")."
        },
        {
          condition     = var.check_result_timeout_seconds >= local.webhook_budget_seconds + 15
          error_message = "The check_result_timeout_seconds (${var.check_result_timeout_seconds} s) must leave room for webhook_max_attempts x webhook_timeout_seconds (${local.webhook_budget_seconds} s) plus 15 s."
        },
        {
          condition     = !local.alarms_enabled || local.schedule_period_seconds != null
          error_message = "With a cron(...) check_schedule_expression and alarms on, set schedule_period_seconds (the time between two runs) for the alarm periods."
        },
        {
          # CloudWatch: period x evaluation periods (2 for "not running") at most 1 day
          # for periods under an hour, 7 days otherwise.
          condition     = !local.alarms_enabled || try(local.schedule_period_seconds * 2 <= 604800, true)
          error_message = "CloudWatch alarms evaluate at most 7 days: with alarms on, check_result must run at least every 3.5 days."
        },
      ]
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Logs hold host names, probe outcomes and statuses, no secrets; CloudWatch Logs encrypts them at rest by default.
  #checkov:skip=CKV_AWS_338:Retention is the caller's choice (log_retention_days, default 30 days) to keep cost proportional.
  for_each = local.function_names

  name              = "/aws/lambda/${each.value}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments on "*"; the JSON logs carry one line per decision, with elapsed_ms per check.
  #checkov:skip=CKV_AWS_115:check_echo's concurrency follows the pulse uploads (a reservation would throttle checks; the Throttles alarm watches); check_result reserves check_result_reserved_concurrency (1 by default).
  #checkov:skip=CKV_AWS_116:Asynchronous failures go to failure_destination_arn (aws_lambda_function_event_invoke_config), which supersedes a DLQ.
  #checkov:skip=CKV_AWS_117:check_echo runs in a VPC when vpc_subnet_ids is set (to probe internal services); check_result talks only to S3, SNS and the webhook.
  #checkov:skip=CKV_AWS_173:No secret in the environment but a webhook URL given as alert_webhook_url, the documented trade-off (alert_webhook_ssm_parameter_name keeps it out); AWS encrypts it at rest with its own key.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the zips are byte-reproducible and hashed (source_code_hash).
  for_each = local.functions

  function_name                  = local.function_names[each.key]
  description                    = each.value.description
  role                           = aws_iam_role.this[each.key].arn
  handler                        = each.value.handler
  runtime                        = var.lambda_runtime
  architectures                  = [var.lambda_architecture]
  filename                       = each.value.package
  source_code_hash               = fileexists(each.value.package) ? filebase64sha256(each.value.package) : null
  memory_size                    = each.value.memory_size
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.value.reserved_concurrent_executions
  tags                           = local.tags

  environment {
    variables = each.value.environment
  }

  dynamic "vpc_config" {
    for_each = each.value.vpc_config
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  lifecycle {
    precondition {
      condition     = fileexists(each.value.package)
      error_message = "The Lambda package ${each.value.package} does not exist: set lambda_package_dir to the directory holding check_echo.zip and check_result.zip (the module's own are in its dist/; `make build` in a checkout writes them there)."
    }
    precondition {
      condition     = alltrue([for check in each.value.preconditions : check.condition])
      error_message = join("\n", [for check in each.value.preconditions : check.error_message if !check.condition])
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]
}

resource "aws_lambda_permission" "s3_invoke_check_echo" {
  statement_id   = "AllowPulseBucketInvoke"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["check_echo"].function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.this.arn
  source_account = local.account_id
}

# Failed asynchronous invocations of either function are retried, then sent to
# the failure destination (if any) instead of being lost silently.
resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = local.function_names

  function_name                = aws_lambda_function.this[each.key].function_name
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
