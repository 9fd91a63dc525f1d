# -----------------------------------------------------------------------------
# IAM: one role per function, least privilege (no s3:*, no Resource "*"
# except the VPC network-interface actions, which AWS documents as needing it)
# -----------------------------------------------------------------------------

locals {
  role_descriptions = {
    check_echo   = "pulse-echo check_echo: read pulses, write echoes and failure records"
    check_result = "pulse-echo check_result: list echoes, keep alert state, post alerts"
  }

  # Each role's one inline policy (the two documents below differ in content).
  role_policies = {
    check_echo   = data.aws_iam_policy_document.check_echo.json
    check_result = data.aws_iam_policy_document.check_result.json
  }
}

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.role_descriptions

  name               = local.function_names[each.key]
  description        = each.value
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
  tags               = local.tags
}

data "aws_iam_policy_document" "check_echo" {
  # Why s3:ListBucket at all: S3 answers a GET of a missing object with 404
  # only when the caller may list the bucket, else 403 AccessDenied. A pulse
  # deleted between its upload and the check (pulse-forget, a host retired)
  # must be a logged skip, not an error that Lambda retries; a host's first
  # failure finds no previous failure record and no echo (404s too). The
  # listing has no s3:prefix key in that check, hence ...IfExists (as for
  # check_result).
  statement {
    sid       = "ListPulses"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]

    condition {
      test     = "StringLikeIfExists"
      variable = "s3:prefix"
      values   = ["pulse/*"]
    }
  }

  statement {
    sid       = "ReadPulses"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/pulse/*"]
  }

  # On a failed check only: the previous failure record (GET) and the echo
  # (HEAD, which needs s3:GetObject) date the start of the run of failures
  # (failing_since).
  statement {
    sid     = "ReadLastEchoAndFailure"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.this.arn}/echo/*",
      "${aws_s3_bucket.this.arn}/failure/*",
    ]
  }

  statement {
    sid     = "WriteEchoesAndFailures"
    actions = ["s3:PutObject"]
    resources = [
      "${aws_s3_bucket.this.arn}/echo/*",
      "${aws_s3_bucket.this.arn}/failure/*",
    ]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["check_echo"].arn}:*"]
  }

  dynamic "statement" {
    for_each = local.failure_destinations
    content {
      sid       = "SendFailedInvocations"
      actions   = [local.failure_destination_action]
      resources = [statement.value]
    }
  }

  # Inline rather than the managed AWSLambdaVPCAccessExecutionRole, which also
  # grants logs:CreateLogGroup/PutLogEvents on every log group. These are the
  # network-interface actions Lambda needs for a VPC function; AWS documents
  # that they only work with Resource "*" (ec2:Describe* has no resource-level
  # permissions, and the interfaces do not exist before Lambda creates them).
  dynamic "statement" {
    for_each = local.vpc_enabled ? [1] : []
    content {
      sid = "ManageVpcNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["*"]
    }
  }
}

data "aws_iam_policy_document" "check_result" {
  # Listings only under the four prefixes check_result reads. ...IfExists: S3
  # also consults s3:ListBucket, without an s3:prefix key, to answer a GET of a
  # missing object (state/status.json before the first alert, a failure record
  # deleted meanwhile): 404 with the permission, 403 AccessDenied without it.
  # Plain StringLike would turn every such 404 into a 403 on AWS.
  statement {
    sid       = "ListHostRecords"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]

    condition {
      test     = "StringLikeIfExists"
      variable = "s3:prefix"
      values   = ["echo/*", "pulse/*", "failure/*", "state/*"]
    }
  }

  statement {
    sid     = "ReadFailuresAndState"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.this.arn}/failure/*",
      "${aws_s3_bucket.this.arn}/state/*",
    ]
  }

  # A changed pulse (its listing ETag differs from the pulse index in state/)
  # is read for the host's threshold, kind and pause; a recovered job's echo
  # for what it reported.
  statement {
    sid     = "ReadPulsesAndEchoes"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.this.arn}/pulse/*",
      "${aws_s3_bucket.this.arn}/echo/*",
    ]
  }

  statement {
    sid       = "WriteState"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.this.arn}/state/*"]
  }

  # One append-only object per run that changed a status; never read, overwritten or deleted
  # by the function (the lifecycle rule expires them).
  statement {
    sid       = "WriteHistory"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/history/*"]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["check_result"].arn}:*"]
  }

  dynamic "statement" {
    for_each = var.alert_sns_topic_arn != null ? [var.alert_sns_topic_arn] : []
    content {
      sid       = "PublishAlerts"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.webhook_ssm_set ? [local.webhook_ssm_parameter_arn] : []
    content {
      sid       = "ReadWebhookParameter"
      actions   = ["ssm:GetParameter"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.webhook_ssm_set && var.alert_webhook_ssm_kms_key_arn != null ? [var.alert_webhook_ssm_kms_key_arn] : []
    content {
      sid       = "DecryptWebhookParameter"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.failure_destinations
    content {
      sid       = "SendFailedInvocations"
      actions   = [local.failure_destination_action]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.role_policies

  name   = "least-privilege"
  role   = aws_iam_role.this[each.key].id
  policy = each.value
}

# For the monitored hosts (output pulse_writer_policy_json): write a pulse, nothing else.
data "aws_iam_policy_document" "pulse_writer" {
  statement {
    sid       = "WritePulse"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/pulse/*"]
  }
}
