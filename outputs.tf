output "bucket_name" {
  description = "Name of the bucket: hosts upload their pulse to s3://<bucket_name>/pulse/<host>.json."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "check_echo_function_name" {
  description = "Name of the check_echo Lambda function (runs on each pulse upload)."
  value       = aws_lambda_function.this["check_echo"].function_name
}

output "check_echo_function_arn" {
  description = "ARN of the check_echo Lambda function."
  value       = aws_lambda_function.this["check_echo"].arn
}

output "check_result_function_name" {
  description = "Name of the check_result Lambda function (runs on the schedule, sends alerts)."
  value       = aws_lambda_function.this["check_result"].function_name
}

output "check_result_function_arn" {
  description = "ARN of the check_result Lambda function."
  value       = aws_lambda_function.this["check_result"].arn
}

output "schedule_rule_name" {
  description = "Name of the EventBridge rule that runs check_result."
  value       = aws_cloudwatch_event_rule.schedule.name
}

output "schedule_rule_arn" {
  description = "ARN of the EventBridge rule that runs check_result."
  value       = aws_cloudwatch_event_rule.schedule.arn
}

output "pulse_writer_policy_json" {
  description = "IAM policy document (JSON) that lets a monitored host write its pulse and nothing else: s3:PutObject on pulse/* of the bucket. Attach it to the hosts' role or user."
  value       = data.aws_iam_policy_document.pulse_writer.json
}

output "check_echo_role_arn" {
  description = "ARN of check_echo's execution role."
  value       = aws_iam_role.this["check_echo"].arn
}

output "check_result_role_arn" {
  description = "ARN of check_result's execution role."
  value       = aws_iam_role.this["check_result"].arn
}

output "check_echo_log_group_name" {
  description = "CloudWatch Logs group of check_echo (one JSON line per decision)."
  value       = aws_cloudwatch_log_group.this["check_echo"].name
}

output "check_result_log_group_name" {
  description = "CloudWatch Logs group of check_result (one JSON line per decision)."
  value       = aws_cloudwatch_log_group.this["check_result"].name
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms on the functions, by purpose (empty when alarm_sns_topic_arn is null)."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}

output "schedule_period_seconds" {
  description = "Seconds between check_result runs as the module understands the schedule (null for a cron schedule without schedule_period_seconds)."
  value       = local.schedule_period_seconds
}

output "check_echo_timeout_seconds" {
  description = "Timeout of check_echo in seconds, as set or computed from the probe settings."
  value       = local.check_echo_timeout
}
