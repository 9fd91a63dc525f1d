output "bucket_name" {
  description = "Bucket the hosts upload their pulses to (send-pulse --bucket)."
  value       = module.pulse_echo.bucket_name
}
