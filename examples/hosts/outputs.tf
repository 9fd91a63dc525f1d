output "bucket_name" {
  description = "Bucket the hosts upload their pulses to (send-pulse --bucket)."
  value       = module.pulse_echo.bucket_name
}

output "instance_profile_name" {
  description = "Instance profile to launch (or associate) the monitored EC2 instances with."
  value       = aws_iam_instance_profile.monitored_hosts.name
}
