"""bench/scale.py measures what it says: its sampling, its bound, its emulator shortcut, its counts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bench import scale

ROOT = Path(__file__).resolve().parents[2]


def test_stale_hosts_are_one_in_a_thousand_spread_so_the_first_listing_page_holds_one() -> None:
    stale = scale.stale_indices(50_000)

    assert len(stale) == 50
    assert [index // 1000 for index in stale] == list(range(50))
    assert scale.stale_indices(10) == [5]  # at least one


def test_the_kinds_are_mixed_and_a_changed_pulse_has_a_new_body() -> None:
    kinds = [scale.kind_of(index) for index in range(20)]
    assert (kinds.count("probe"), kinds.count("heartbeat"), kinds.count("job")) == (12, 5, 3)
    assert scale.kind_of(17, {17}) == "probe"  # a stale host is a probe
    for index, kind in ((0, "probe"), (12, "heartbeat"), (17, "job")):
        assert scale.pulse_body(index, kind, 1) != scale.pulse_body(index, kind, 0)


def test_the_request_bound_is_one_page_per_thousand_hosts_per_prefix_plus_constants() -> None:
    assert scale.request_bound(50_000, prefixes=3, changes=50, per_change=1, constant=4) == 150 + 50 + 4
    assert scale.request_bound(1001, prefixes=1, changes=0, per_change=1, constant=0) == 2


def test_module_defaults_are_read_from_variables_tf(tmp_path: Path) -> None:
    (tmp_path / "variables.tf").write_text(
        'variable "check_result_timeout_seconds" {\n  type = number\n  default = 90\n}\n'
        'variable "check_result_memory_mb" {\n  default     = 512\n  nullable = false\n}\n'
        'variable "check_echo_memory_mb" {\n  default = null\n}\n',
        encoding="utf-8",
    )

    assert scale.read_module_defaults(tmp_path) == {
        "check_result_timeout_seconds": 90.0,
        "check_result_memory_mb": 512.0,
        "architecture": "x86_64",
    }
    assert scale.read_module_defaults(tmp_path / "missing") == {"architecture": "x86_64"}


@pytest.fixture
def populated(aws_env: None) -> Iterator[Any]:
    """moto with the benchmark bucket of 2,500 hosts (5,000+ objects)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        scale.populate(2500, datetime.now(timezone.utc))
        yield boto3.client("s3", region_name=scale.REGION)


def _pages(s3: Any, prefix: str, **extra: Any) -> list[tuple[bool, list[tuple[str, datetime, str]]]]:
    pages = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=scale.BUCKET, Prefix=prefix, **extra):
        contents = [(item["Key"], item["LastModified"], item["ETag"]) for item in page.get("Contents", [])]
        pages.append((page["IsTruncated"], contents))
    return pages


def test_the_indexed_listing_returns_the_same_pages_as_moto(populated: Any) -> None:
    s3 = populated
    queries = [
        ("echo/", {}),
        ("pulse/", {"PaginationConfig": {"PageSize": 700}}),
        ("failure/", {}),
        ("echo/host-0012", {}),
        ("echo/", {"StartAfter": "echo/host-001499.json"}),
        ("nothing/", {}),
    ]
    expected = [_pages(s3, prefix, **extra) for prefix, extra in queries]

    uninstall = scale.install_indexed_listing()
    try:
        got = [_pages(s3, prefix, **extra) for prefix, extra in queries]
        s3.put_object(Bucket=scale.BUCKET, Key="echo/host-000000a.json", Body=b"{}")  # a write invalidates
        s3.delete_object(Bucket=scale.BUCKET, Key="echo/host-000001.json")
        after_writes = _pages(s3, "echo/")
    finally:
        uninstall()
    assert got == expected
    assert [len(contents) for _, contents in expected[0]] == [1000, 1000, 500]
    assert after_writes == _pages(s3, "echo/")


def test_a_small_run_counts_one_list_page_per_thousand_keys_and_the_misses_of_the_original() -> None:
    command = [sys.executable, str(ROOT / "bench" / "scale.py"), "--hosts", "1500", "--json"]
    completed = subprocess.run(
        [*command, "--repeats", "1", "--no-profile", "--no-memory"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=300,
    )
    data = json.loads(completed.stdout)

    assert data["stale"] == 2
    assert data["kinds"] == {"probe": 901, "heartbeat": 374, "job": 225}
    steady = data["steady_run"]["requests"]
    assert steady["list_pages_by_prefix"] == {"echo/": 2, "failure/": 1, "pulse/": 2}
    assert data["first_run"]["messages"] == 1  # both stale hosts in one message
    assert data["first_run"]["summary"]["events"]["down"] == 2
    assert data["first_run"]["summary"]["pulses_read"] == 0  # setup left a complete index
    # 1% of the pulses changed: each read once, the index rewritten; nothing else per host, and
    # nothing to announce: no lease taken, no state written
    assert data["steady_run"]["pulses_changed"] == data["steady_run"]["summary"]["pulses_read"] == 15
    assert steady["by_operation"] == {
        "GetObject": 3 + 15,
        "ListObjectsV2": 5,
        "PutObject": 1,
    }
    assert data["steady_run"]["messages"] == 0
    rebuild = data["rebuild_run"]
    assert rebuild["summary"]["pulses_read"] == 1000  # PULSE_READS_PER_RUN
    assert rebuild["summary"]["pulses_unread"] == 500
    assert rebuild["summary"]["events"]["down"] == 0  # nightly jobs not read yet are not alerted: up
    assert data["baseline"]["requests"]["total"] == 1
    # the original's one listing sees the first 1,000 echoes: one of the two stale hosts, and the
    # nightly jobs among them, whose day-old echoes its single 15-minute threshold calls stale
    assert data["baseline"]["missed"] == 1
    jobs_listed = sum(scale.kind_of(index) == "job" for index in range(1000))
    assert data["baseline"]["false_alarms"] == jobs_listed == 150
    assert data["baseline"]["alerted"] == 1 + 150
