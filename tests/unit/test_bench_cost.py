"""The cost calculator (bench/cost.py): its arithmetic for one case worked by hand, and its inputs."""

from __future__ import annotations

import math

import pytest

from bench import cost
from bench import run as bench_run


def hand_usage(hosts: int) -> cost.Usage:
    """Every field spelled out, so that the hand calculation below does not depend on defaults."""
    return cost.Usage(
        hosts=hosts,
        pulse_interval_minutes=10,
        schedule_minutes=10,
        deadline_checks=False,
        check_echo_memory_mb=128,
        check_result_memory_mb=256,
        architecture="x86_64",
        check_echo_seconds=0.3,
        check_result_seconds_base=0.5,
        check_result_seconds_per_1000_hosts=0.5,
        check_echo_get_requests=1,
        check_echo_put_requests=1,
        check_result_listed_prefixes=3,
        check_result_get_requests=2,
        check_result_put_requests=2,
        check_echo_log_bytes=400,
        check_result_log_bytes=400,
        platform_log_bytes=300,
        log_retention_days=30,
        log_compression_ratio=0.15,
        object_bytes_per_host=750,
        flapping_share_per_day=0.01,
        history_retention_days=90,
        history_event_bytes=300,
        history_object_bytes=100,
    )


def test_ten_hosts_at_the_default_settings_by_hand() -> None:
    items = {item.name: item for item in cost.monthly_cost(hand_usage(10))}

    # 30 days = 43,200 minutes: 4,320 pulses per host, 4,320 check_result runs
    echo_runs, result_runs = 10 * 4320, 4320
    assert items["Lambda requests"].quantity == echo_runs + result_runs == 47_520
    assert items["Lambda requests"].usd == pytest.approx(47_520 * 0.20 / 1e6)  # $0.009504

    # 43,200 x 0.125 GB x 0.3 s + 4,320 x 0.25 GB x (0.5 + 0.5 x 10/1000) s
    gb_seconds = 43_200 * 0.125 * 0.3 + 4320 * 0.25 * 0.505
    assert gb_seconds == pytest.approx(2165.4)
    assert items["Lambda compute"].usd == pytest.approx(2165.4 * 0.0000166667)

    # PUT class: 43,200 pulse uploads + 43,200 echoes + 4,320 runs x (3 list pages + 2 writes)
    assert items["S3 PUT/LIST requests"].quantity == 43_200 + 43_200 + 4320 * 5 == 108_000
    assert items["S3 PUT/LIST requests"].usd == pytest.approx(0.54)
    # GET class: 43,200 pulse reads + 4,320 x 2
    assert items["S3 GET requests"].usd == pytest.approx(51_840 * 0.0004 / 1000)

    # logs: (43,200 + 4,320) invocations x 700 bytes
    assert items["CloudWatch Logs ingestion"].quantity == pytest.approx(47_520 * 700 / 1e9)
    assert items["CloudWatch Logs ingestion"].usd == pytest.approx(0.016632)
    assert items["EventBridge schedule"].usd == 0


def test_deadline_checks_add_their_wait_requests_and_logs_by_hand() -> None:
    usage = hand_usage(1000)  # deadline_checks=False: the fields below decide what they add
    on = cost.replace(
        usage,
        deadline_checks=True,
        outages_per_host_month=2,
        deadline_wait_seconds=20,
        deadline_check_seconds=0.5,
        deadline_check_get_requests=4,
        deadline_check_put_requests=1,
        deadline_check_log_bytes=700,
    )
    off_items = {item.name: item for item in cost.monthly_cost(usage)}
    on_items = {item.name: item for item in cost.monthly_cost(on)}
    checks = 1000 * 2
    assert on_items["Lambda compute: deadline checks"].quantity == pytest.approx(checks * 0.25 * 20.5)
    assert off_items["Lambda compute: deadline checks"].quantity == 0
    assert on_items["S3 GET requests"].quantity - off_items["S3 GET requests"].quantity == checks * 4
    assert on_items["S3 PUT/LIST requests"].quantity - off_items["S3 PUT/LIST requests"].quantity == checks
    added = on_items["CloudWatch Logs ingestion"].quantity - off_items["CloudWatch Logs ingestion"].quantity
    assert added == pytest.approx(checks * 700 / 1e9)


def test_the_change_from_the_old_default_is_judged_per_size() -> None:
    report = cost.compute(sizes=(10, 1000, 10_000), overrides={"check_result_seconds_base": 0.2})
    changes = {change["hosts"]: change for change in report["changes"]}
    assert [row["usage"]["schedule_minutes"] for row in report["before"]] == [10.0] * 3
    assert [row["usage"]["schedule_minutes"] for row in report["rows"][:3]] == [1.0] * 3
    for hosts, change in changes.items():
        before = next(row for row in report["before"] if row["hosts"] == hosts)
        assert change["usd"] == pytest.approx(change["share"] * before["total_usd"])
    assert (changes[1000]["goal"], changes[10_000]["goal"]) == ("≤ +$1", "≤ +5%")
    assert changes[10_000]["pass"] == (changes[10_000]["share"] <= 0.05)
    assert "| **change** |" in cost.table(report)


def test_the_always_free_tier_covers_lambda_and_logs_for_ten_hosts() -> None:
    items = cost.monthly_cost(hand_usage(10))
    total, after_free = cost.totals(items)
    by_name = {item.name: item for item in items}

    history = next(item for item in items if item.name.startswith("History"))
    not_free = (
        by_name["S3 PUT/LIST requests"].usd
        + by_name["S3 GET requests"].usd
        + by_name["S3 storage"].usd
        + history.usd
    )
    assert after_free == pytest.approx(not_free)
    assert total > after_free


def test_the_free_tier_covers_only_the_first_million_lambda_requests() -> None:
    items = {item.name: item for item in cost.monthly_cost(hand_usage(10_000))}

    requests = items["Lambda requests"]
    assert requests.quantity == 10_000 * 4320 + 4320
    assert requests.free_usd == pytest.approx(1_000_000 * 0.20 / 1e6)


def test_list_requests_grow_by_one_page_per_thousand_hosts_per_prefix() -> None:
    assert hand_usage(1).list_pages_per_run == 3
    assert hand_usage(1000).list_pages_per_run == 3
    assert hand_usage(1001).list_pages_per_run == 6
    assert hand_usage(10_000).list_pages_per_run == 30


def test_s3_request_classes_follow_s3_pricing() -> None:
    get_class, put_class = cost._split_request_classes(
        {"GetObject": 2, "HeadObject": 1, "PutObject": 3, "ListObjectsV2": 4, "DeleteObject": 5}
    )
    assert (get_class, put_class) == (3, 7)
    assert cost._split_request_classes({"ListObjectsV2": 4, "PutObject": 1}, exclude_lists=True) == (0, 1)


def test_every_price_says_where_it_comes_from_and_when() -> None:
    for name, price in cost.PRICES.items():
        assert price["source"].startswith("https://"), name
        assert price["as_of"], name
    for alternative in cost.ALTERNATIVES:
        assert alternative["source"], alternative["service"]
        assert alternative["as_of"], alternative["service"]


def test_json_log_lines_keeps_only_json_objects() -> None:
    raw = b'{"level": "INFO", "message": "a"}\nnot json\n{"broken": \n{"b": 1}\n'
    assert cost.json_log_lines(raw) == [b'{"level": "INFO", "message": "a"}', b'{"b": 1}']


def test_the_table_has_a_column_of_heartbeat_only_hosts_with_their_own_measurements() -> None:
    heartbeat = {"check_echo_get_requests": 1, "check_echo_put_requests": 1, "check_echo_log_bytes": 123}
    report = cost.compute(sizes=(1000,), overrides={"check_echo_log_bytes": 400, cost.HEARTBEAT: heartbeat})
    probes, beats = report["rows"]
    assert (probes["hosts"], beats["hosts"]) == (1000, cost.HEARTBEAT_HOSTS)
    assert beats["usage"]["label"] == "1,000 heartbeat-only hosts"
    assert (probes["usage"]["check_echo_seconds"], beats["usage"]["check_echo_seconds"]) == (0.3, 0.05)
    assert (probes["usage"]["check_echo_log_bytes"], beats["usage"]["check_echo_log_bytes"]) == (400, 123)
    lambda_compute = [
        next(i["usd"] for i in row["items"] if i["name"] == "Lambda compute") for row in (probes, beats)
    ]
    assert lambda_compute[1] < lambda_compute[0]  # nothing probed: a shorter check_echo
    assert cost.table(report).splitlines()[0].endswith("| 1,000 hosts | 1,000 heartbeat-only hosts |")


def test_the_history_at_10000_hosts_with_1_percent_flapping_a_day_by_hand() -> None:
    usage = hand_usage(10_000)
    (history,) = [item for item in cost.monthly_cost(usage) if item.name.startswith("History")]
    assert history.name == "History: S3 PUTs and storage (1% of hosts flap a day)"

    # 100 hosts go down and up: 200 events a day over 144 runs; a run with an event writes one object
    events, runs = 200, 144
    objects = runs * (1 - (1 - 1 / runs) ** events)
    assert usage.history_objects_per_day == pytest.approx(objects)
    assert 100 < objects < 144  # several events share a run
    assert history.quantity == pytest.approx(objects * 30)
    # kept 90 days: each object's envelope and each event's bytes
    stored_gb = (objects * 90 * 100 + events * 90 * 300) / 1e9
    assert usage.history_stored_gb == pytest.approx(stored_gb)
    assert history.usd == pytest.approx(objects * 30 * 0.005 / 1000 + stored_gb * 0.023)
    assert history.usd < 0.05  # pennies a month
    assert history.free_usd == 0

    # pulse-status --history reads the last 37 days: one LIST page per 1,000 objects, one GET each
    pages, gets = usage.history_reads()
    assert (pages, gets) == (math.ceil(objects * 37 / 1000), pytest.approx(objects * 37))


def test_a_fleet_that_never_flaps_writes_no_history() -> None:
    usage = hand_usage(10_000)
    usage.flapping_share_per_day = 0
    (history,) = [item for item in cost.monthly_cost(usage) if item.name.startswith("History")]
    assert (history.quantity, history.usd) == (0, 0)


def test_the_old_default_is_priced_at_its_own_memory_and_duration() -> None:
    before = {"check_result_seconds_base": 0.9, "check_result_seconds_per_1000_hosts": 0.7}
    report = cost.compute(sizes=(1000,), overrides={cost.BEFORE_KEY: before})
    old, new = report["before"][0]["usage"], report["rows"][0]["usage"]
    assert (old["check_result_memory_mb"], new["check_result_memory_mb"]) == (256.0, 384.0)
    assert (old["check_result_seconds_base"], new["check_result_seconds_base"]) == (0.9, 0.5)
    table = cost.table(report)
    assert "| before: rate(10 minutes) sweep, check_result 256 MB |" in table
    assert "| now: rate(1 minute) sweep + deadline checks, check_result 384 MB |" in table


def test_the_table_lists_every_price_with_its_source_and_date() -> None:
    table = cost.table(cost.compute(sizes=(10,)))
    for name, price in cost.PRICES.items():
        assert f"| {name} |" in table
        assert f"{price['source']} ({price['as_of']}) |" in table


def test_check_results_duration_follows_its_memory() -> None:
    # 2 s of CPU here and 10 S3 waits (3 pages listed at once, 7 other requests, nothing read)
    steady = {
        "cpu_outside_moto_seconds": 2.0,
        "requests": {"total": 10, "list_pages_by_prefix": {"echo/": 1, "pulse/": 1, "failure/": 1}},
        "summary": {"pulses_read": 0},
    }
    data = {"hosts": 1000, "steady_run": steady}
    assert bench_run.s3_waits(steady) == 1 + 7
    assert bench_run.lambda_estimate(data, 1769) == pytest.approx(2.0 + 8 * bench_run.S3_LIST_LATENCY_S)
    assert bench_run.lambda_estimate(data, 256) == pytest.approx(2.0 * 1769 / 256 + 8 * 0.03)
    assert bench_run.lambda_estimate(data, 4096) == bench_run.lambda_estimate(data, 1769)  # one vCPU at most
    lower = bench_run.cost_overrides([data], {"check_result_memory_mb": 512.0})
    assert lower["check_result_seconds_per_1000_hosts"] == pytest.approx(2.0 * 1769 / 512 + 0.24, abs=1e-4)
    assert lower[cost.BEFORE_KEY]["check_result_seconds_per_1000_hosts"] == pytest.approx(
        2.0 * 1769 / 256 + 0.24, abs=1e-4
    )
