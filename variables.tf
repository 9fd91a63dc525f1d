# --- required ---

variable "bucket_name" {
  type        = string
  description = "Name of the S3 bucket the module creates for pulses, echoes and check records. Must be globally unique and follow the S3 bucket naming rules."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "The bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }

  validation {
    condition     = !can(regex("\\.\\.|\\.-|-\\.", var.bucket_name)) && !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.bucket_name))
    error_message = "The bucket_name must be a valid S3 bucket name: no \"..\", \".-\" or \"-.\", and not an IP address."
  }

  validation {
    condition     = !can(regex("^(xn--|sthree-|amzn-s3-demo-)", var.bucket_name)) && !can(regex("(-s3alias|--ol-s3|--x-s3|--table-s3|\\.mrap)$", var.bucket_name))
    error_message = "The bucket_name must be a valid S3 bucket name: S3 reserves the prefixes xn--, sthree-, amzn-s3-demo- and the suffixes -s3alias, --ol-s3, --x-s3, --table-s3, .mrap."
  }
}

variable "alert_webhook_url" {
  type        = string
  description = "Where check_result posts alerts: a Slack incoming webhook or any HTTPS endpoint taking JSON. Required (no default) but may be null or \"\" when alert_webhook_ssm_parameter_name is set instead; exactly one of the two must be set. Plain http:// is accepted only for 127.0.0.1, localhost and [::1] (local tests). The value lands in Terraform state and in the function's configuration: use the SSM parameter to avoid that."
  sensitive   = true
  nullable    = true

  validation {
    condition = anytrue([
      var.alert_webhook_url == null,
      try(var.alert_webhook_url == "", false),
      can(regex("^https://[^\\s/?#]+[^\\s]*$", var.alert_webhook_url)),
      can(regex("^http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]{1,5})?(/[^\\s]*)?$", var.alert_webhook_url)),
    ])
    error_message = "The alert_webhook_url must be an https:// URL (http:// only for 127.0.0.1, localhost or [::1]), or null/\"\" when alert_webhook_ssm_parameter_name is set."
  }
}

# --- the job ---

variable "stale_after_minutes" {
  type        = number
  description = "Minutes after which an echo counts as stale, i.e. the host is down (pulses stopped or its checks fail). Must be > 0; fractions are allowed (tests and demos use 0.05)."
  default     = 15
  nullable    = false

  validation {
    condition     = var.stale_after_minutes > 0 && var.stale_after_minutes <= 525600
    error_message = "The stale_after_minutes must be greater than 0 and at most 525600 (a year)."
  }
}

variable "check_schedule_expression" {
  type        = string
  description = "EventBridge schedule on which check_result runs: rate(1 minute|hour|day), rate(N minutes|hours|days) with N > 1, or cron(minutes hours day-of-month month day-of-week year) with ? in exactly one of the two day fields (EventBridge user guide, rate and cron expressions reference). Every minute by default: each invocation sweeps every host, then checks the hosts whose deadline falls before the next run (docs/alerts.md). With cron(...) also set schedule_period_seconds."
  default     = "rate(1 minute)"
  nullable    = false

  validation {
    condition     = can(regex("^(rate|cron)\\([^()]*\\)$", var.check_schedule_expression))
    error_message = "The check_schedule_expression must be rate(value unit) or cron(minutes hours day-of-month month day-of-week year), e.g. rate(1 minute), rate(5 minutes) or cron(0/15 * * * ? *)."
  }

  # Rate expressions reference: a positive value; the unit singular for 1, plural otherwise.
  validation {
    condition     = !startswith(var.check_schedule_expression, "rate(") || can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.check_schedule_expression))
    error_message = "The check_schedule_expression rate(value unit) takes a whole value of at least 1, with a singular unit for 1 and a plural one otherwise: rate(1 minute), rate(2 minutes), rate(1 hour), rate(12 hours), rate(1 day), rate(7 days); EventBridge refuses rate(1 minutes) and rate(2 minute)."
  }

  # Cron expressions reference: six required fields, each with its values and wildcards.
  validation {
    condition     = !startswith(var.check_schedule_expression, "cron(") || can(regex("^cron\\(\\S+( \\S+){5}\\)$", var.check_schedule_expression))
    error_message = "The check_schedule_expression cron(...) must have exactly six fields separated by single spaces: minutes hours day-of-month month day-of-week year, e.g. cron(0/15 * * * ? *)."
  }
  validation {
    condition     = !can(regex("^cron\\(\\S+( \\S+){5}\\)$", var.check_schedule_expression)) || can(regex("^cron\\(((\\*|[0-5]?[0-9](-[0-5]?[0-9])?)(/[0-9]+)?(,(\\*|[0-5]?[0-9](-[0-5]?[0-9])?)(/[0-9]+)?)*)( \\S+){5}\\)$", var.check_schedule_expression))
    error_message = "The check_schedule_expression's minutes field (the first of cron(...)) must be 0-59, with , - * / (EventBridge cron expressions)."
  }

  validation {
    condition     = !can(regex("^cron\\(\\S+( \\S+){5}\\)$", var.check_schedule_expression)) || can(regex("^cron\\((\\S+ ){1}((\\*|(2[0-3]|[01]?[0-9])(-(2[0-3]|[01]?[0-9]))?)(/[0-9]+)?(,(\\*|(2[0-3]|[01]?[0-9])(-(2[0-3]|[01]?[0-9]))?)(/[0-9]+)?)*)( \\S+){4}\\)$", var.check_schedule_expression))
    error_message = "The check_schedule_expression's hours field (the second of cron(...)) must be 0-23, with , - * / (EventBridge cron expressions)."
  }

  validation {
    condition     = !can(regex("^cron\\(\\S+( \\S+){5}\\)$", var.check_schedule_expression)) || can(regex("^cron\\((\\S+ ){2}(\\?|L|LW|(3[01]|[12][0-9]|0?[1-9])W|(\\*|(3[01]|[12][0-9]|0?[1-9])(-(3[01]|[12][0-9]|0?[1-9]))?)(/[0-9]+)?(,(\\*|(3[01]|[12][0-9]|0?[1-9])(-(3[01]|[12][0-9]|0?[1-9]))?)(/[0-9]+)?)*)( \\S+){3}\\)$", var.check_schedule_expression))
    error_message = "The check_schedule_expression's day-of-month field (the third of cron(...)) must be 1-31, with , - * ? / L W (EventBridge cron expressions)."
  }

  validation {
    condition     = !can(regex("^cron\\(\\S+( \\S+){5}\\)$", var.check_schedule_expression)) || can(regex("^cron\\((\\S+ ){3}((\\*|(1[0-2]|0?[1-9]|(?i:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))(-(1[0-2]|0?[1-9]|(?i:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)))?)(/[0-9]+)?(,(\\*|(1[0-2]|0?[1-9]|(?i:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))(-(1[0-2]|0?[1-9]|(?i:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)))?)(/[0-9]+)?)*)( \\S+){2}\\)$", var.check_schedule_expression))
    error_message = "The check_schedule_expression's month field (the fourth of cron(...)) must be 1-12 or JAN-DEC, with , - * / (EventBridge cron expressions)."
  }

  validation {
    condition     = !can(regex("^cron\\(\\S+( \\S+){5}\\)$", var.check_schedule_expression)) || can(regex("^cron\\((\\S+ ){4}(\\?|L|([1-7]|(?i:SUN|MON|TUE|WED|THU|FRI|SAT))L|([1-7]|(?i:SUN|MON|TUE|WED|THU|FRI|SAT))#[1-5]|(\\*|([1-7]|(?i:SUN|MON|TUE|WED|THU|FRI|SAT))(-([1-7]|(?i:SUN|MON|TUE|WED|THU|FRI|SAT)))?)(,(\\*|([1-7]|(?i:SUN|MON|TUE|WED|THU|FRI|SAT))(-([1-7]|(?i:SUN|MON|TUE|WED|THU|FRI|SAT)))?))*)( \\S+){1}\\)$", var.check_schedule_expression))
    error_message = "The check_schedule_expression's day-of-week field (the fifth of cron(...)) must be 1-7 or SUN-SAT, with , - * ? L # (one N#M only) (EventBridge cron expressions)."
  }

  validation {
    condition     = !can(regex("^cron\\(\\S+( \\S+){5}\\)$", var.check_schedule_expression)) || can(regex("^cron\\((\\S+ ){5}((\\*|(19[7-9][0-9]|2[01][0-9][0-9])(-(19[7-9][0-9]|2[01][0-9][0-9]))?)(/[0-9]+)?(,(\\*|(19[7-9][0-9]|2[01][0-9][0-9])(-(19[7-9][0-9]|2[01][0-9][0-9]))?)(/[0-9]+)?)*)\\)$", var.check_schedule_expression))
    error_message = "The check_schedule_expression's year field (the sixth of cron(...)) must be 1970-2199, with , - * / (EventBridge cron expressions)."
  }

  # "You can't specify the Day-of-month and Day-of-week fields in the same cron expression":
  # one of them is ?, and only one.
  validation {
    condition     = !can(regex("^cron\\(\\S+( \\S+){5}\\)$", var.check_schedule_expression)) || can(regex("^cron\\((\\S+ ){2}\\? ", var.check_schedule_expression)) != can(regex("^cron\\((\\S+ ){4}\\? ", var.check_schedule_expression))
    error_message = "The check_schedule_expression cron(...) must have ? in exactly one of day-of-month and day-of-week (EventBridge cannot take both): cron(0 9 ? * MON *) or cron(0 9 1 * ? *), not cron(0 9 * * MON *)."
  }
}

variable "lambda_runtime" {
  type        = string
  description = "Lambda runtime of both functions, python3.11 or newer. python3.14 needs hashicorp/aws 6.20.0 or later (each provider release accepts a fixed list of runtimes). AWS refuses python3.8, python3.9 and, since 2026-11-30, python3.10 for new functions; it deprecates python3.11 on 2027-06-30, python3.12 on 2028-10-31, python3.13 on 2029-06-30 (Lambda developer guide, Python runtimes)."
  default     = "python3.13"
  nullable    = false

  validation {
    condition     = can(regex("^python3\\.(1[1-9]|[2-9][0-9])$", var.lambda_runtime))
    error_message = "The lambda_runtime must be a Python 3 runtime AWS Lambda still accepts for new functions: python3.11 or newer (python3.14 needs hashicorp/aws 6.20.0 or later). AWS refuses python3.8 and python3.9, and python3.10 since 2026-11-30."
  }
}

variable "lambda_architecture" {
  type        = string
  description = "Instruction set of both functions (Lambda's architectures): \"arm64\" (AWS Graviton) or \"x86_64\". arm64 by default: Lambda bills Arm duration 20% below x86, $0.0000133334 against $0.0000166667 per GB-second (US East (N. Virginia), first pricing tier, aws.amazon.com/lambda/pricing as read 2026-03), and both functions are pure Python, so the same zips run on either. Choose x86_64 only in a Region where Lambda offers no arm64."
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "The lambda_architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every named resource (functions, roles, log groups, schedule rule, alarms), so that two instances can live in one account and region. Letters, digits, hyphens and underscores, at most 32 characters."
  default     = "pulse-echo"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,32}$", var.name_prefix))
    error_message = "The name_prefix must be 1-32 letters, digits, hyphens or underscores (it becomes part of Lambda function, IAM role and EventBridge rule names)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags applied to every taggable resource (bucket, functions, roles, log groups, schedule rule, alarms). The module adds pulse-echo:bucket = bucket_name to them, which tells two instances apart."
  default     = {}
  nullable    = false
}

variable "force_destroy" {
  type        = bool
  description = "Let terraform destroy delete the bucket even when it still holds objects (pulses, echoes, records). Leave false in production."
  default     = false
  nullable    = false
}

variable "lambda_package_dir" {
  type        = string
  description = "Directory holding check_echo.zip and check_result.zip. null (the default) deploys the module's own dist/ directory: the zips committed with each release, so no build step is needed. Set it only to deploy zips you built yourself (`python3 tools/build_zips.py DIR`)."
  default     = null
}

# --- functions ---

variable "log_level" {
  type        = string
  description = "Log level of both functions (LOG_LEVEL): DEBUG, INFO, WARNING or ERROR."
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "The log_level must be one of DEBUG, INFO, WARNING, ERROR."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch Logs keeps each function's logs (one of the values CloudWatch accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "history_retention_days" {
  type        = number
  description = "Days the bucket keeps each object of the history of status changes (history/, for pulse-status --history and --html); an S3 lifecycle rule deletes older ones. Uptime is shown over up to 30 days: keep at least 37."
  default     = 90
  nullable    = false

  validation {
    condition     = var.history_retention_days >= 1 && floor(var.history_retention_days) == var.history_retention_days
    error_message = "The history_retention_days must be a whole number of days, at least 1."
  }
}

variable "check_echo_memory_mb" {
  type        = number
  description = "Memory of check_echo, in MB (128-10240)."
  default     = 128
  nullable    = false

  validation {
    condition     = var.check_echo_memory_mb >= 128 && var.check_echo_memory_mb <= 10240 && floor(var.check_echo_memory_mb) == var.check_echo_memory_mb
    error_message = "The check_echo_memory_mb must be a whole number from 128 to 10240."
  }
}

variable "check_result_memory_mb" {
  type        = number
  description = "Memory of check_result, in MB (128-10240). It lists every echo, pulse and failure key on each run; Lambda gives CPU in proportion to memory, and 384 lets a sweep of 50,000 hosts finish within half of the default one-minute period (docs/scale.md)."
  default     = 384
  nullable    = false

  validation {
    condition     = var.check_result_memory_mb >= 128 && var.check_result_memory_mb <= 10240 && floor(var.check_result_memory_mb) == var.check_result_memory_mb
    error_message = "The check_result_memory_mb must be a whole number from 128 to 10240."
  }
}

variable "check_echo_timeout_seconds" {
  type        = number
  description = "Timeout of check_echo, in seconds. null computes it from the probe settings: (probe_connect_timeout_seconds + probe_read_timeout_seconds) x (probe_max_redirects + 1) + 15 s for S3, at most 900. An explicit value must exceed that probe budget."
  default     = null

  validation {
    condition     = var.check_echo_timeout_seconds == null || try(var.check_echo_timeout_seconds >= 1 && var.check_echo_timeout_seconds <= 900 && floor(var.check_echo_timeout_seconds) == var.check_echo_timeout_seconds, false)
    error_message = "The check_echo_timeout_seconds must be null or a whole number from 1 to 900."
  }
}

variable "check_result_timeout_seconds" {
  type        = number
  description = "Timeout of check_result, in seconds (1-900). Must leave room for webhook_max_attempts x webhook_timeout_seconds plus the S3 listing. An invocation checks deadlines until 10 s before the next scheduled run or before this timeout, whichever comes first (a timeout shorter than the schedule period leaves part of each period to the next sweep). The run lease (RUN_LEASE_SECONDS) is set to this + 60 s."
  default     = 120
  nullable    = false

  validation {
    condition     = var.check_result_timeout_seconds >= 1 && var.check_result_timeout_seconds <= 900 && floor(var.check_result_timeout_seconds) == var.check_result_timeout_seconds
    error_message = "The check_result_timeout_seconds must be a whole number from 1 to 900."
  }
}

variable "check_result_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of check_result. 1 (default) makes overlapping runs impossible (EventBridge delivers at least once); the run lease in the bucket is the second line of defence. null turns the reservation off: accounts with a low concurrency quota may need that, since Lambda keeps 100 unreserved."
  default     = 1

  validation {
    condition     = var.check_result_reserved_concurrency == null || try(var.check_result_reserved_concurrency >= 1 && floor(var.check_result_reserved_concurrency) == var.check_result_reserved_concurrency, false)
    error_message = "The check_result_reserved_concurrency must be null (no reservation) or a whole number >= 1."
  }
}

# --- the probe (check_echo) ---

variable "pulse_max_bytes" {
  type        = number
  description = "Largest pulse object check_echo reads, in bytes (PULSE_MAX_BYTES); a larger pulse is rejected without being read."
  default     = 65536
  nullable    = false

  validation {
    condition     = var.pulse_max_bytes >= 1 && floor(var.pulse_max_bytes) == var.pulse_max_bytes
    error_message = "The pulse_max_bytes must be a whole number >= 1."
  }
}

variable "probe_connect_timeout_seconds" {
  type        = number
  description = "TCP/TLS connect timeout of the probe, in seconds (PROBE_CONNECT_TIMEOUT_SECONDS)."
  default     = 3
  nullable    = false

  validation {
    condition     = var.probe_connect_timeout_seconds > 0 && var.probe_connect_timeout_seconds <= 60
    error_message = "The probe_connect_timeout_seconds must be greater than 0 and at most 60."
  }
}

variable "probe_read_timeout_seconds" {
  type        = number
  description = "Read timeout of the probe between bytes received, in seconds (PROBE_READ_TIMEOUT_SECONDS)."
  default     = 5
  nullable    = false

  validation {
    condition     = var.probe_read_timeout_seconds > 0 && var.probe_read_timeout_seconds <= 120
    error_message = "The probe_read_timeout_seconds must be greater than 0 and at most 120."
  }
}

variable "probe_max_redirects" {
  type        = number
  description = "Redirects the probe follows (PROBE_MAX_REDIRECTS); one more is reported as too_many_redirects."
  default     = 3
  nullable    = false

  validation {
    condition     = var.probe_max_redirects >= 0 && var.probe_max_redirects <= 10 && floor(var.probe_max_redirects) == var.probe_max_redirects
    error_message = "The probe_max_redirects must be a whole number from 0 to 10."
  }
}

variable "probe_max_body_bytes" {
  type        = number
  description = "Response bytes the probe reads, after decompression (PROBE_MAX_BODY_BYTES); more is reported as body_too_large."
  default     = 65536
  nullable    = false

  validation {
    condition     = var.probe_max_body_bytes >= 1 && var.probe_max_body_bytes <= 10485760 && floor(var.probe_max_body_bytes) == var.probe_max_body_bytes
    error_message = "The probe_max_body_bytes must be a whole number from 1 to 10485760 (10 MiB)."
  }
}

variable "allow_private_targets" {
  type        = bool
  description = "Let the probe reach loopback, link-local (including the instance metadata address) and private addresses (ALLOW_PRIVATE_TARGETS). Off by default: monitoring an internal service must be a deliberate choice (usually together with vpc_subnet_ids)."
  default     = false
  nullable    = false
}

# --- alerts (check_result) ---

variable "renotify_minutes" {
  type        = number
  description = "Repeat a down alert every this many minutes while a host stays down (RENOTIFY_MINUTES); 0 = alert once per change."
  default     = 0
  nullable    = false

  validation {
    condition     = var.renotify_minutes >= 0 && var.renotify_minutes <= 525600
    error_message = "The renotify_minutes must be 0 (never) or up to 525600 (a year)."
  }
}

variable "alert_webhook_ssm_parameter_name" {
  type        = string
  description = "Name of an SSM SecureString parameter holding the webhook URL, read by check_result at run time instead of alert_webhook_url (which then must be null or \"\"). The role gets ssm:GetParameter on this parameter only; a customer-managed KMS key also needs alert_webhook_ssm_kms_key_arn."
  default     = null

  validation {
    condition     = var.alert_webhook_ssm_parameter_name == null || try(can(regex("^/?[a-zA-Z0-9_./-]+$", var.alert_webhook_ssm_parameter_name)) && length(var.alert_webhook_ssm_parameter_name) <= 1011, false)
    error_message = "The alert_webhook_ssm_parameter_name must be an SSM parameter name (letters, digits, _ . - /), e.g. /pulse-echo/webhook-url."
  }
}

variable "alert_webhook_ssm_kms_key_arn" {
  type        = string
  description = "ARN of the customer-managed KMS key that encrypts the SecureString parameter, if any: the role then gets kms:Decrypt on this key, only through SSM. Leave null for the default aws/ssm key, which needs no grant."
  default     = null

  validation {
    condition     = var.alert_webhook_ssm_kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.alert_webhook_ssm_kms_key_arn))
    error_message = "The alert_webhook_ssm_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "alert_webhook_format" {
  type        = string
  description = "Body of the alert posts (ALERT_WEBHOOK_FORMAT): \"slack\" (a text field, for Slack incoming webhooks) or \"json\" (the structured schema in the README)."
  default     = "slack"
  nullable    = false

  validation {
    condition     = contains(["slack", "json"], var.alert_webhook_format)
    error_message = "The alert_webhook_format must be \"slack\" or \"json\"."
  }
}

variable "slack_channel" {
  type        = string
  description = "Slack channel sent with each alert (SLACK_CHANNEL), e.g. \"#medical-check\"; null sends none (the webhook's own channel is used). Only legacy incoming webhooks honour it; webhooks of a Slack app always post to the channel chosen when the app was installed."
  default     = null
}

variable "slack_username" {
  type        = string
  description = "Slack user name sent with each alert (SLACK_USERNAME), e.g. \"medic\"; null sends none. Honoured by legacy incoming webhooks only."
  default     = null
}

variable "slack_icon_emoji" {
  type        = string
  description = "Slack icon sent with each alert (SLACK_ICON_EMOJI), e.g. \":exclamation:\"; null sends none. Honoured by legacy incoming webhooks only."
  default     = null

  validation {
    condition     = var.slack_icon_emoji == null || can(regex("^:[^:\\s]+:$", var.slack_icon_emoji))
    error_message = "The slack_icon_emoji must look like :name:."
  }
}

variable "alert_max_hosts_listed" {
  type        = number
  description = "Hosts named in one alert message (ALERT_MAX_HOSTS_LISTED); the rest are counted, so 500 hosts going down at once make one readable message. 0 sends the counts only."
  default     = 20
  nullable    = false

  validation {
    condition     = var.alert_max_hosts_listed >= 0 && floor(var.alert_max_hosts_listed) == var.alert_max_hosts_listed
    error_message = "The alert_max_hosts_listed must be a whole number >= 0 (0: counts only)."
  }
}

variable "alert_sns_topic_arn" {
  type        = string
  description = "SNS topic that also receives each alert in the structured (json) format (ALERT_SNS_TOPIC_ARN), for e-mail, PagerDuty or AWS Chatbot subscribers. The role gets sns:Publish on this topic only. null: no SNS."
  default     = null

  validation {
    condition     = var.alert_sns_topic_arn == null || can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", var.alert_sns_topic_arn))
    error_message = "The alert_sns_topic_arn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)."
  }
}

variable "webhook_timeout_seconds" {
  type        = number
  description = "Connect and read timeout of each webhook attempt, in seconds (WEBHOOK_TIMEOUT_SECONDS)."
  default     = 10
  nullable    = false

  validation {
    condition     = var.webhook_timeout_seconds > 0 && var.webhook_timeout_seconds <= 60
    error_message = "The webhook_timeout_seconds must be greater than 0 and at most 60."
  }
}

variable "webhook_max_attempts" {
  type        = number
  description = "Attempts per run on HTTP 429, 5xx and connection errors (WEBHOOK_MAX_ATTEMPTS); an alert not accepted is sent again on the next run."
  default     = 3
  nullable    = false

  validation {
    condition     = var.webhook_max_attempts >= 1 && var.webhook_max_attempts <= 10 && floor(var.webhook_max_attempts) == var.webhook_max_attempts
    error_message = "The webhook_max_attempts must be a whole number from 1 to 10."
  }
}

# --- watching the watcher ---

variable "alarm_sns_topic_arn" {
  type        = string
  description = "SNS topic notified by the module's CloudWatch alarms (Errors and Throttles of both functions, and check_result not running); setting it turns the alarms on. null: no alarms. If the topic is created in the same apply (its ARN unknown at plan time), also set alarms_enabled = true."
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", var.alarm_sns_topic_arn))
    error_message = "The alarm_sns_topic_arn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)."
  }
}

variable "alarms_enabled" {
  type        = bool
  description = "Create the CloudWatch alarms. null (default) means: when alarm_sns_topic_arn is set. Set true when alarm_sns_topic_arn comes from a resource created in the same apply (Terraform must know at plan time whether the alarms exist); true without a topic creates alarms with no actions."
  default     = null
}

variable "schedule_period_seconds" {
  type        = number
  description = "Seconds between two check_result runs, used as the alarm period and by check_result to end its deadline checks before the next run. Derived from a rate(...) schedule; required for a cron(...) schedule when the alarms are on. A multiple of 60."
  default     = null

  validation {
    condition     = var.schedule_period_seconds == null || try(var.schedule_period_seconds >= 60 && var.schedule_period_seconds % 60 == 0, false)
    error_message = "The schedule_period_seconds must be null or a multiple of 60 (at least 60)."
  }
}

variable "failure_destination_arn" {
  type        = string
  description = "SQS queue or SNS topic ARN that receives asynchronous invocations of either function that failed after all retries (on-failure destination). The roles get sqs:SendMessage or sns:Publish on it only. null: failed events are dropped after the retries (the Errors alarms still fire)."
  default     = null

  validation {
    condition     = var.failure_destination_arn == null || can(regex("^arn:[a-z-]+:(sqs|sns):[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", var.failure_destination_arn))
    error_message = "The failure_destination_arn must be an SQS queue or SNS topic ARN."
  }
}

variable "async_maximum_retry_attempts" {
  type        = number
  description = "Retries Lambda makes of a failed asynchronous invocation (S3 and EventBridge events) of either function, 0-2."
  default     = 2
  nullable    = false

  validation {
    condition     = contains([0, 1, 2], var.async_maximum_retry_attempts)
    error_message = "The async_maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "async_maximum_event_age_seconds" {
  type        = number
  description = "Oldest asynchronous event Lambda still processes, in seconds (60-21600); older ones go to the failure destination."
  default     = 3600
  nullable    = false

  validation {
    condition     = var.async_maximum_event_age_seconds >= 60 && var.async_maximum_event_age_seconds <= 21600
    error_message = "The async_maximum_event_age_seconds must be from 60 to 21600."
  }
}

# --- network ---

variable "vpc_subnet_ids" {
  type        = list(string)
  description = "Subnets in which check_echo runs, to probe internal services (set together with vpc_security_group_ids). Empty: check_echo runs outside any VPC. The subnets need a route to S3 (gateway endpoint or NAT)."
  default     = []
  nullable    = false
}

variable "vpc_security_group_ids" {
  type        = list(string)
  description = "Security groups of check_echo when vpc_subnet_ids is set; they must allow outbound HTTPS to the probed hosts and to S3."
  default     = []
  nullable    = false
}
