"""A faithful Python port of the ORIGINAL check_result algorithm, for comparison only.

docs/DESIGN.md section 1 describes it; the benchmarks run it next to the real
check_result on the same bucket to show what the rewrite changed:

1. one ``ListObjects`` call (v1, no pagination) on the ``echo/`` prefix, so at
   most 1,000 keys, in key order; a host whose key sorts after the first 1,000
   is never looked at, and nothing says so;
2. every echo whose ``LastModified`` is older than the threshold (15 minutes)
   is a dead host;
3. one Slack webhook POST per dead host, on every run, for as long as the
   host stays down (no state, no recovery message, no reason);
4. no HTTP timeout on the webhook call.

Nothing here is used by the Lambda functions. Do not "fix" this file: its
value is that it behaves like the original.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

ECHO_PREFIX = "echo/"
SLACK_CHANNEL = "#medical-check"
SLACK_USERNAME = "medic"
SLACK_ICON_EMOJI = ":exclamation:"


@dataclass
class OriginalRunResult:
    """What one run of the original algorithm did.

    ``listed``: keys the single ListObjects call returned (at most 1,000);
    ``truncated``: S3 said there were more keys (the original ignored it);
    ``alerted``: hosts it posted an alert for, in key order.
    """

    listed: int
    truncated: bool
    alerted: list[str] = field(default_factory=list)


def post_slack(webhook_url: str, payload: dict[str, Any]) -> None:
    """POST ``payload`` as JSON, the way the original did: no timeout, no retry."""
    request = urllib.request.Request(
        webhook_url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        response.read()


def run_original(
    s3: Any,
    bucket: str,
    webhook_url: str,
    *,
    threshold_minutes: float = 15.0,
    now: datetime | None = None,
    post: Callable[[str, dict[str, Any]], None] = post_slack,
) -> OriginalRunResult:
    """Run the original check_result once against ``bucket``.

    ``s3`` is a boto3 S3 client; ``now`` defaults to the current UTC time;
    ``post`` sends one webhook message (injectable so tests need no server).
    Returns what was listed and which hosts were alerted.
    """
    moment = now or datetime.now(timezone.utc)
    threshold = timedelta(minutes=threshold_minutes)
    response = s3.list_objects(Bucket=bucket, Prefix=ECHO_PREFIX)
    contents = response.get("Contents", [])
    result = OriginalRunResult(listed=len(contents), truncated=bool(response.get("IsTruncated")))
    for item in contents:
        key = item["Key"]
        if moment - item["LastModified"] <= threshold:
            continue
        host = key[len(ECHO_PREFIX) :]
        if host.endswith(".json"):
            host = host[: -len(".json")]
        post(
            webhook_url,
            {
                "channel": SLACK_CHANNEL,
                "username": SLACK_USERNAME,
                "icon_emoji": SLACK_ICON_EMOJI,
                "text": f"{host} is down: no echo since {item['LastModified'].isoformat()}",
            },
        )
        result.alerted.append(host)
    return result
