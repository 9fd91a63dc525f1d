# Hosts outside AWS: an IAM user allowed to write pulses and nothing else. Its access key
# is not made here: an aws_iam_access_key would keep the secret key in the Terraform
# state, in plain text, for anyone who can read the state. Create the key with the AWS
# CLI and put it straight into the host's profile (README.md): the secret then exists
# only on the host. This file needs only `module.pulse_echo` from the root around it.

variable "pulse_sender_user_name" {
  type        = string
  description = "Name of the IAM user whose access key the monitored hosts outside AWS use."
  default     = "pulse-echo-pulse-sender"
}

resource "aws_iam_user" "pulse_sender" {
  name = var.pulse_sender_user_name
  path = "/pulse-echo/"

  # Its access keys are made outside Terraform; AWS refuses to delete a user that still
  # has keys, so `terraform destroy` deletes them with it (the hosts' pulses then stop).
  force_destroy = true
}

# s3:PutObject on pulse/* of the bucket, nothing else (the module's output).
resource "aws_iam_user_policy" "pulse_writer" {
  name   = "pulse-echo-pulse-writer"
  user   = aws_iam_user.pulse_sender.name
  policy = module.pulse_echo.pulse_writer_policy_json
}

output "pulse_sender_user_name" {
  description = "IAM user whose access key goes into the hosts' AWS CLI profile (README.md)."
  value       = aws_iam_user.pulse_sender.name
}
