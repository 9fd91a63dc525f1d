# -----------------------------------------------------------------------------
# Moved: the addresses of earlier versions. An existing deployment is moved to
# the new addresses in place; `terraform plan` after an upgrade shows no
# replacement (tests/e2e/test_upgrade.py applies v0.1.0 and plans this one).
# Keep these blocks: a deployment may skip versions.
# -----------------------------------------------------------------------------

# v0.1.0: each per-function resource written twice; now one for_each resource
# keyed "check_echo" / "check_result".
moved {
  from = aws_cloudwatch_log_group.check_echo
  to   = aws_cloudwatch_log_group.this["check_echo"]
}

moved {
  from = aws_cloudwatch_log_group.check_result
  to   = aws_cloudwatch_log_group.this["check_result"]
}

moved {
  from = aws_lambda_function.check_echo
  to   = aws_lambda_function.this["check_echo"]
}

moved {
  from = aws_lambda_function.check_result
  to   = aws_lambda_function.this["check_result"]
}

moved {
  from = aws_iam_role.check_echo
  to   = aws_iam_role.this["check_echo"]
}

moved {
  from = aws_iam_role.check_result
  to   = aws_iam_role.this["check_result"]
}

moved {
  from = aws_iam_role_policy.check_echo
  to   = aws_iam_role_policy.this["check_echo"]
}

moved {
  from = aws_iam_role_policy.check_result
  to   = aws_iam_role_policy.this["check_result"]
}

# Before v0.1.0: the two asynchronous invoke configurations, written twice.
moved {
  from = aws_lambda_function_event_invoke_config.check_echo
  to   = aws_lambda_function_event_invoke_config.this["check_echo"]
}

moved {
  from = aws_lambda_function_event_invoke_config.check_result
  to   = aws_lambda_function_event_invoke_config.this["check_result"]
}
