# Monitored hosts outside AWS (a server in a data centre, a VM at another provider): an
# IAM user that may write pulses and nothing else, whose access key the hosts keep in an
# AWS CLI profile used by cron. Copy this directory, point `source` at the module (a
# git:: URL with ?ref=<release>, or a path), set the variables, then
#   terraform init && terraform apply
# and create the user's access key as README.md says (not here: see pulse_sender.tf).

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
