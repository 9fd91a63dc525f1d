"""`terraform destroy` leaves nothing behind (run after every other end-to-end test)."""

from __future__ import annotations

import time

from tests.e2e.conftest import Deployment, Timings


def test_destroy_leaves_nothing_behind(deployment: Deployment, timings: Timings) -> None:
    # A pulse is left in the bucket; force_destroy = true in the test instance. (Keys that
    # need URL-encoding are emptied with boto3 first: provider 5.x's force_destroy can loop
    # on them against moto, docs/DESIGN.md section 4.)
    deployment.clear_bucket()
    deployment.client("s3").put_object(Bucket=deployment.bucket, Key="pulse/left-over.json", Body=b"{}")
    started = time.monotonic()
    deployment.destroy(empty_bucket=False)
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
