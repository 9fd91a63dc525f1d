output "bucket_name" {
  description = "Bucket the hosts upload their pulses to (s3://<bucket_name>/pulse/<host>.json)."
  value       = module.pulse_echo.bucket_name
}

output "pulse_writer_policy_arn" {
  description = "Managed policy to attach to the monitored hosts' role (s3:PutObject on pulse/* only)."
  value       = aws_iam_policy.pulse_writer.arn
}

output "check_echo_function_name" {
  description = "Lambda function that checks each pulse."
  value       = module.pulse_echo.check_echo_function_name
}

output "check_result_function_name" {
  description = "Lambda function that sends the alerts."
  value       = module.pulse_echo.check_result_function_name
}

output "log_group_names" {
  description = "Where the functions log, one JSON line per decision."
  value       = [module.pulse_echo.check_echo_log_group_name, module.pulse_echo.check_result_log_group_name]
}

output "alarm_names" {
  description = "The CloudWatch alarms that watch the watcher."
  value       = module.pulse_echo.alarm_names
}
