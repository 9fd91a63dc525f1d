"""Time to alert, end to end through the deployed zip: the schedule (``rate(1 minute)``, the
module's default) fires 20 s before a host's deadline; the invocation sweeps, finds the host
still up, waits for its deadline and announces it just after it, to the webhook and to SNS,
once; the next runs stay silent.

The player runs check_result as the Lambda service would; while the function waits for the
deadline, its ``time.sleep`` moves its clock and the emulator's forward instead of waiting
(tools/lambda_service.py), so the world's time passes and the test does not wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from pulse_echo.times import parse_isoformat

from tests.e2e.conftest import STALE_AFTER_MINUTES, WEBHOOK_PATH, Deployment
from tools.httpserver import LocalHttpServer

THRESHOLD = timedelta(minutes=STALE_AFTER_MINUTES)


@pytest.fixture
def fresh(deployment: Deployment, webhook: LocalHttpServer) -> Iterator[Deployment]:
    """An empty bucket, a webhook answering 200 "ok", the SNS queue drained."""
    deployment.clear_bucket()
    deployment.sns_alerts()
    webhook.route(WEBHOOK_PATH, 200, "ok")
    yield deployment
    deployment.clear_bucket()


def posts(webhook: LocalHttpServer, start: int) -> list[str]:
    return [r.json()["text"] for r in webhook.requests_to(WEBHOOK_PATH)[start:] if r.method == "POST"]


def test_a_host_is_announced_just_after_its_deadline_by_the_invocation_that_saw_it_up(
    fresh: Deployment, targets: LocalHttpServer, webhook: LocalHttpServer
) -> None:
    url = targets.route("/web-7/health", 200, "ok")
    (uploaded,) = fresh.upload_pulse("web-7", url, "ok")
    assert uploaded.ok, uploaded.error
    last_ok = fresh.client("s3").head_object(Bucket=fresh.bucket, Key="echo/web-7.json")["LastModified"]
    deadline = last_ok + THRESHOLD
    first = fresh.run_schedule()  # indexes web-7's pulse; nothing to say
    assert first.ok, first.error
    assert first.result["events_sent"] == 0

    fresh.pass_time(deadline - timedelta(seconds=20) - fresh.emulator.now())
    start = len(webhook.requests_to(WEBHOOK_PATH))
    before = fresh.emulator.clock_offset
    invocation = fresh.run_schedule()
    assert invocation.ok, invocation.error

    result = invocation.result
    assert result["statuses"]["up"] == 1  # the sweep saw it up...
    [check] = result["deadline_checks"]  # ...and the deadline check announced it
    assert check["events"] == {"down": 1, "still_down": 0, "up": 0}
    assert check["delivered"] == ["webhook", "sns"]
    checked_at = parse_isoformat(check["at"])
    assert deadline < checked_at < deadline + timedelta(seconds=15)  # long before the next sweep
    # the function waited about 20 s: time passed for the emulator too, not for the test
    assert fresh.emulator.clock_offset - before >= timedelta(seconds=15)

    [text] = posts(webhook, start)
    assert "*DOWN* `web-7`" in text
    assert "(15m 0s ago)" in text
    [alert] = fresh.sns_alerts()
    assert alert["run"]["id"] == check["id"]
    assert [(event["event"], event["host"]) for event in alert["events"]] == [("down", "web-7")]
    assert fresh.object("state/status.json")["hosts"]["web-7"]["status"] == "down"

    fresh.pass_time(timedelta(seconds=40))
    after = fresh.run_schedule()  # the next minute's run: nothing new, nothing twice
    assert after.ok, after.error
    assert (after.result["outcome"], after.result["deadline_checks"]) == ("no_change", [])
    assert posts(webhook, start) == [text]
    assert fresh.sns_alerts() == []
