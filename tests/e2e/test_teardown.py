"""`terraform destroy` leaves nothing behind (run after every other end-to-end test)."""

from __future__ import annotations

import time

from tests.e2e.conftest import Deployment, Timings


def test_destroy_leaves_nothing_behind(deployment: Deployment, timings: Timings) -> None:
    # Objects written by the scenarios are there; force_destroy = true in the test instance.
    deployment.client("s3").put_object(Bucket=deployment.bucket, Key="pulse/left-over.json", Body=b"{}")
    started = time.monotonic()
    deployment.destroy()
    timings.record("destroy (main)", time.monotonic() - started)

    client = deployment.client
    assert client("s3").list_buckets()["Buckets"] == []
    assert client("lambda").list_functions()["Functions"] == []
    assert client("iam").list_roles()["Roles"] == []
    assert client("events").list_rules()["Rules"] == []
    assert client("logs").describe_log_groups()["logGroups"] == []
    assert client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert client("sns").list_topics()["Topics"] == []
    assert client("sqs").list_queues().get("QueueUrls", []) == []
