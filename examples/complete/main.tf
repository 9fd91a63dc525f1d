# A complete root module: copy this directory, point `source` at the module (a
# git:: URL with ?ref=<release>, or a path), set the variables, then
#   terraform init && terraform apply
# It configures the provider (the module configures none) and shows every
# optional feature; drop what you do not need.

terraform {
  required_version = ">= 1.3.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0" # the module's minimum (its versions.tf)
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      managed-by = "terraform"
    }
  }
}

variable "region" {
  type        = string
  description = "AWS region to deploy to."
  default     = "eu-west-1"
}

variable "bucket_name" {
  type        = string
  description = "Globally unique name of the pulse bucket."
}

variable "alert_webhook_url" {
  type        = string
  description = "Slack incoming webhook URL. Kept out of the Lambda configuration: it goes to the SSM parameter below."
  sensitive   = true
}

variable "oncall_email" {
  type        = string
  description = "E-mail address subscribed to the alerts and to the watcher's own alarms (confirm the subscription mail)."
  default     = null
}

# The webhook URL as a SecureString (default aws/ssm key): the function reads it
# at run time. It is still in this root's state, as any secret Terraform writes.
resource "aws_ssm_parameter" "alert_webhook_url" {
  name  = "/pulse-echo/alert-webhook-url"
  type  = "SecureString"
  value = var.alert_webhook_url
}

# One topic for the structured alerts and the module's CloudWatch alarms.
resource "aws_sns_topic" "oncall" {
  name = "pulse-echo-oncall"
}

resource "aws_sns_topic_subscription" "oncall_email" {
  count     = var.oncall_email == null ? 0 : 1
  topic_arn = aws_sns_topic.oncall.arn
  protocol  = "email"
  endpoint  = var.oncall_email
}

# Failed asynchronous invocations (after Lambda's retries) land here. New queues
# are encrypted with SQS-managed keys by default.
resource "aws_sqs_queue" "failed_invocations" {
  name                      = "pulse-echo-failed-invocations"
  message_retention_seconds = 1209600 # 14 days
}

module "pulse_echo" {
  source = "../../"

  bucket_name = var.bucket_name

  # Exactly one of the two: the URL itself, or the SSM parameter holding it.
  alert_webhook_url                = null
  alert_webhook_ssm_parameter_name = aws_ssm_parameter.alert_webhook_url.name

  # The defaults: Python 3.13 on AWS Graviton (arm64, 20% cheaper per GB-second than
  # x86_64). python3.14 needs hashicorp/aws 6.20.0 or later.
  lambda_runtime      = "python3.13"
  lambda_architecture = "arm64"

  stale_after_minutes       = 15
  check_schedule_expression = "rate(1 minute)" # the default: deadline checks within each minute
  renotify_minutes          = 120

  slack_channel    = "#medical-check"
  slack_username   = "medic"
  slack_icon_emoji = ":exclamation:"

  alert_sns_topic_arn     = aws_sns_topic.oncall.arn
  alarm_sns_topic_arn     = aws_sns_topic.oncall.arn
  alarms_enabled          = true # the topic is created in this same apply
  failure_destination_arn = aws_sqs_queue.failed_invocations.arn

  tags = {
    service = "pulse-echo"
  }
}

# What a monitored host may do: write its pulse, nothing else.
resource "aws_iam_policy" "pulse_writer" {
  name   = "pulse-echo-pulse-writer"
  policy = module.pulse_echo.pulse_writer_policy_json
}
