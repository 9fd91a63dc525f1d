"""The port of the original algorithm (bench/baseline_original.py) behaves like the original."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from bench import scale
from bench.baseline_original import SLACK_CHANNEL, SLACK_ICON_EMOJI, SLACK_USERNAME, run_original


@pytest.fixture
def bench_bucket(aws_env: None) -> Iterator[Any]:
    """moto with the benchmark's bucket: 1,500 probed hosts (one threshold fits them all, as in
    the original's world), of which hosts 375 and 1125 are stale."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        population = scale.populate(1500, datetime.now(timezone.utc), mix=(("probe", 1),))
        assert population.stale == [375, 1125]
        yield boto3.client("s3", region_name=scale.REGION)


def test_one_listing_sees_only_the_first_1000_echoes_and_misses_the_stale_host_after_them(
    bench_bucket: Any,
) -> None:
    posts: list[dict[str, Any]] = []

    result = run_original(
        bench_bucket, scale.BUCKET, "http://unused", post=lambda _url, body: posts.append(body)
    )

    assert result.listed == 1000
    assert result.truncated is True
    assert result.alerted == ["host-000375"]  # host-001125 is stale too, and silently missed
    assert len(posts) == 1


def test_it_alerts_again_on_every_run_while_the_host_stays_down(bench_bucket: Any) -> None:
    posts: list[dict[str, Any]] = []

    for _ in range(3):
        run_original(bench_bucket, scale.BUCKET, "http://unused", post=lambda _url, body: posts.append(body))

    assert len(posts) == 3
    assert {post["text"].split()[0] for post in posts} == {"host-000375"}


def test_each_alert_is_the_original_slack_message(bench_bucket: Any) -> None:
    posts: list[dict[str, Any]] = []

    run_original(bench_bucket, scale.BUCKET, "http://unused", post=lambda _url, body: posts.append(body))

    assert posts[0]["channel"] == SLACK_CHANNEL == "#medical-check"
    assert posts[0]["username"] == SLACK_USERNAME == "medic"
    assert posts[0]["icon_emoji"] == SLACK_ICON_EMOJI == ":exclamation:"


def test_it_makes_exactly_one_s3_request(bench_bucket: Any) -> None:
    calls: list[str] = []
    bench_bucket.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))

    run_original(bench_bucket, scale.BUCKET, "http://unused", post=lambda _url, _body: None)

    assert calls == ["ListObjects"]
