# Hosts on EC2: a role EC2 instances assume, allowed to write pulses and nothing else,
# and the instance profile that carries it. send-pulse on them needs no key: the AWS CLI
# takes the role's temporary credentials from the instance metadata service, and AWS
# rotates them. Hosts that already have a role: attach
# aws_iam_role_policy.pulse_writer to that role instead, and drop the other two.

data "aws_iam_policy_document" "ec2_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitored_hosts" {
  name               = "pulse-echo-monitored-hosts"
  description        = "EC2 instances that send their pulse to pulse-echo"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume_role.json
}

# s3:PutObject on pulse/* of the bucket, nothing else (the module's output).
resource "aws_iam_role_policy" "pulse_writer" {
  name   = "pulse-echo-pulse-writer"
  role   = aws_iam_role.monitored_hosts.id
  policy = module.pulse_echo.pulse_writer_policy_json
}

resource "aws_iam_instance_profile" "monitored_hosts" {
  name = "pulse-echo-monitored-hosts"
  role = aws_iam_role.monitored_hosts.name
}

# An instance launched with it (or set it in a launch template, or give it to a running
# instance: aws ec2 associate-iam-instance-profile --instance-id i-... \
#   --iam-instance-profile Name=pulse-echo-monitored-hosts):
#
# resource "aws_instance" "web" {
#   ami                  = "ami-..."
#   instance_type        = "t4g.micro"
#   iam_instance_profile = aws_iam_instance_profile.monitored_hosts.name
#
#   metadata_options {
#     http_tokens = "required" # IMDSv2 only; the AWS CLI uses it
#   }
# }
