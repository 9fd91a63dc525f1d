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
      function    = aws_lambda_function.this["check_echo"].function_name
      description = "check_echo failed (an error, not a failed probe): pulses may go unchecked."
      metric      = "Errors"
    })
    "check-echo-throttles" = merge(local.alarm_on_any_occurrence, {
      function    = aws_lambda_function.this["check_echo"].function_name
      description = "check_echo was throttled: pulses are checked late or not at all."
      metric      = "Throttles"
    })
    "check-result-errors" = merge(local.alarm_on_any_occurrence, {
      function    = aws_lambda_function.this["check_result"].function_name
      description = "check_result failed: down hosts may not be alerted."
      metric      = "Errors"
    })
    "check-result-throttles" = merge(local.alarm_on_any_occurrence, {
      function    = aws_lambda_function.this["check_result"].function_name
      description = "check_result was throttled (a run overlapped another, or the account ran out of concurrency)."
      metric      = "Throttles"
    })
    "check-result-not-running" = {
      function    = aws_lambda_function.this["check_result"].function_name
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
  tags                = local.tags
}
