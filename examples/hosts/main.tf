# pulse-echo and the permissions of the monitored hosts, both ways: hosts on EC2 take
# a role through an instance profile (instance_profile.tf), hosts outside AWS use an IAM
# user's access key from an AWS CLI profile (pulse_sender.tf). Each may write pulses and
# nothing else; delete the file of the way you do not need. Copy this directory, point
# `source` at the module (a git:: URL with ?ref=<release>, or a path), set the
# variables, then
#   terraform init && terraform apply
# and, for hosts outside AWS, create the user's access key as README.md says.

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
  description = "Slack incoming webhook URL (pass it as TF_VAR_alert_webhook_url, not on the command line)."
  sensitive   = true
}

module "pulse_echo" {
  source = "../../"

  bucket_name       = var.bucket_name
  alert_webhook_url = var.alert_webhook_url
}
