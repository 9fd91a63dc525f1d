# pulse-echo: a dead man's switch for servers.
#
# Hosts upload pulse/<host>.json; the upload triggers check_echo, which probes
# the URL the pulse names and writes echo/<host>.json on success (or
# failure/<host>.json). check_result runs on a schedule, finds stale echoes
# and alerts a webhook. Layout and environment: docs/internals.md.
#
# The module by concern, as terraform-aws-modules/terraform-aws-lambda splits it:
#   main.tf       shared locals, the one-prefix check, the bucket and its notification, the schedule
#   functions.tf  the two functions: log groups, functions, invoke permissions and configs
#   iam.tf        the functions' roles and policies, the hosts' pulse writer policy
#   alarms.tf     CloudWatch alarms that watch the watcher
#   moved.tf      addresses of earlier versions, so that upgrades move and never replace
#
# Written against the part of the AWS provider that is the same in 5.x and 6.x
# (docs/DESIGN.md section 4): separate bucket sub-resources, no inline bucket
# arguments, no inline role policies, no bucket `region`, no data.aws_region.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  # dist/ holds the committed zips (`make build` writes them), so any module source deploys
  # with no build step.
  package_dir      = var.lambda_package_dir != null ? var.lambda_package_dir : "${path.module}/dist"
  check_echo_zip   = "${local.package_dir}/check_echo.zip"
  check_result_zip = "${local.package_dir}/check_result.zip"

  # The name of each function, and of its role and log group; the keys are the
  # for_each keys of every per-function resource.
  function_names = {
    check_echo   = "${var.name_prefix}-check-echo"
    check_result = "${var.name_prefix}-check-result"
  }

  # Every taggable resource carries its instance's bucket, which tells instances apart
  # (see "One name_prefix, one instance" below).
  instance_tag_key = "pulse-echo:bucket"
  tags             = merge(var.tags, { (local.instance_tag_key) = var.bucket_name })

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # The region, without data.aws_region (its `name` attribute is deprecated in
  # provider 6.x): the fourth field of an ARN this module creates.
  region = split(":", aws_cloudwatch_log_group.this["check_result"].arn)[3]

  # The probe's worst case: connect + read for the first request and each
  # redirect. check_echo's timeout must exceed it, with room for S3.
  probe_budget_seconds   = (var.probe_connect_timeout_seconds + var.probe_read_timeout_seconds) * (var.probe_max_redirects + 1)
  check_echo_timeout     = var.check_echo_timeout_seconds != null ? var.check_echo_timeout_seconds : min(900, ceil(local.probe_budget_seconds) + 15)
  webhook_budget_seconds = var.webhook_timeout_seconds * var.webhook_max_attempts
  run_lease_seconds      = var.check_result_timeout_seconds + 60

  # Seconds between check_result runs, for the alarm periods: derived from
  # rate(N unit[s]); from schedule_period_seconds for cron(...).
  rate_parts = regexall("^rate\\(([0-9]+) (minute|hour|day)s?\\)$", var.check_schedule_expression)
  unit_seconds = {
    minute = 60
    hour   = 3600
    day    = 86400
  }
  schedule_period_seconds = (
    length(local.rate_parts) > 0
    ? tonumber(local.rate_parts[0][0]) * local.unit_seconds[local.rate_parts[0][1]]
    : var.schedule_period_seconds
  )

  webhook_url_set = nonsensitive(var.alert_webhook_url != null && try(length(var.alert_webhook_url) > 0, false))
  webhook_ssm_set = var.alert_webhook_ssm_parameter_name != null
  webhook_ssm_parameter_arn = (
    local.webhook_ssm_set
    ? "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(coalesce(var.alert_webhook_ssm_parameter_name, "-"), "/")}"
    : null
  )

  vpc_enabled = length(var.vpc_subnet_ids) > 0

  # The failure destination as a list of zero or one ARN, for the dynamic blocks that use it.
  failure_destinations        = var.failure_destination_arn != null ? [var.failure_destination_arn] : []
  failure_destination_service = var.failure_destination_arn != null ? split(":", var.failure_destination_arn)[2] : null
  failure_destination_action  = local.failure_destination_service == "sqs" ? "sqs:SendMessage" : "sns:Publish"
}

# -----------------------------------------------------------------------------
# One name_prefix, one instance
# -----------------------------------------------------------------------------
# A second instance with the same name_prefix would take over the first's functions,
# roles and schedule rule (EventBridge's PutRule updates a rule of the same name). IAM
# role names are unique in the whole account (every region, case-insensitive), so a role
# with our name tagged with another bucket belongs to another instance: the plan stops
# (the precondition on the bucket). Roles without the tag (instances from before the
# tag, anything else) are not counted; docs/deployment.md says what is left undetected.

data "aws_iam_roles" "same_name" {
  name_regex = "(?i)^${var.name_prefix}-check-(echo|result)$"
}

data "aws_iam_role" "same_name" {
  for_each = data.aws_iam_roles.same_name.names

  name = each.value
}

locals {
  # role name -> the bucket of the other instance that owns it
  other_instance_roles = {
    for name, role in data.aws_iam_role.same_name :
    name => role.tags[local.instance_tag_key]
    if try(role.tags[local.instance_tag_key], var.bucket_name) != var.bucket_name
  }
}

# -----------------------------------------------------------------------------
# Bucket
# -----------------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logging needs a second (log) bucket; left to the caller's account-wide logging setup.
  #checkov:skip=CKV_AWS_21:Versioning would keep every pulse and echo rewrite (one per host every few minutes) forever; the data is ephemeral by design.
  #checkov:skip=CKV_AWS_144:Cross-region replication of ephemeral heartbeat data is not worth a second bucket and role.
  #checkov:skip=CKV_AWS_145:New objects are encrypted with SSE-S3 by default (since January 2023); a KMS key is left to the caller.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = local.tags

  lifecycle {
    precondition {
      condition     = length(local.other_instance_roles) == 0
      error_message = "The name_prefix \"${var.name_prefix}\" is already used in this account by the pulse-echo instance of bucket ${join(", ", distinct(values(local.other_instance_roles)))} (IAM role ${join(", ", sort(keys(local.other_instance_roles)))}, tag ${local.instance_tag_key}): set a name_prefix of its own for this instance (bucket ${var.bucket_name}). With one prefix, two instances would take over each other's functions, roles and schedule (docs/deployment.md, \"Several instances in one account\")."
    }
  }
}

# Every object but the history is overwritten in place, one per host and prefix: only history/
# accumulates (one object per check_result run that changed a status), and expires.
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-history"
    status = "Enabled"

    filter {
      prefix = "history/"
    }

    expiration {
      days = var.history_retention_days
    }
  }

  # Nothing here uploads in parts; a part left by a caller's tool must not be kept (and billed) forever.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # S3 rejects a bucket policy while the public access block is being changed.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_notification" "pulses" {
  bucket = aws_s3_bucket.this.id

  lambda_function {
    id                  = "pulse-uploaded"
    lambda_function_arn = aws_lambda_function.this["check_echo"].arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "pulse/"
    filter_suffix       = ".json"
  }

  # S3 tests the destination when the notification is created: the permission must exist first.
  depends_on = [aws_lambda_permission.s3_invoke_check_echo]
}

# -----------------------------------------------------------------------------
# Schedule
# -----------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = local.function_names["check_result"]
  description         = "pulse-echo: runs check_result (${var.check_schedule_expression})"
  schedule_expression = var.check_schedule_expression
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "check_result" {
  rule      = aws_cloudwatch_event_rule.schedule.name
  target_id = "check-result"
  arn       = aws_lambda_function.this["check_result"].arn
}

resource "aws_lambda_permission" "events_invoke_check_result" {
  statement_id  = "AllowScheduleInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["check_result"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}
