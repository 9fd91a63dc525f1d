"""Monthly AWS cost of pulse-echo at the default settings, from published list prices.

Usage: python bench/cost.py [--json] [--no-measure]

The calculator is plain arithmetic over PRICES (below, each with its source
and date) and a Usage model. What the functions do per invocation (S3 requests
and bytes of log lines) is measured, not assumed: unless ``--no-measure``,
the script runs check_echo once and check_result on a small bucket in moto's
in-process emulator, counts their S3 calls with a botocore hook and captures
their JSON log lines. Durations are assumptions (stated below): Lambda bills
by the millisecond and nothing local predicts a probe's network time.

Everything is us-east-1, the module's architecture (arm64 by default), 30-day
months. The always-free allowances (Lambda, CloudWatch Logs) are shown as a
separate column; S3's 12-month free tier is not subtracted (new accounts
since July 2025 get credits instead).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "lambda_src", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

MINUTES_PER_MONTH = 30 * 24 * 60  # 43,200: AWS prices per month; we use 30-day months

# --- published list prices, us-east-1 ----------------------------------------------------------
# Each: (USD, unit, source, as of). "As of" is the date of the page or copy we read; AWS has not
# changed these particular rates for years, but check the source before quoting them.

PRICES: dict[str, dict[str, Any]] = {
    "lambda_request": {
        "usd": 0.20 / 1_000_000,
        "unit": "request",
        "source": "https://aws.amazon.com/lambda/pricing/ ($0.20 per 1M requests)",
        "as_of": "2026-03 (stored copy of the page; same rate since 2014)",
    },
    "lambda_gb_second_x86_64": {
        "usd": 0.0000166667,
        "unit": "GB-second",
        "source": "https://aws.amazon.com/lambda/pricing/ (x86, first 6 billion GB-s/month)",
        "as_of": "2026-03",
    },
    "lambda_gb_second_arm64": {
        "usd": 0.0000133334,
        "unit": "GB-second",
        "source": "https://aws.amazon.com/lambda/pricing/ (Arm, first 7.5 billion GB-s/month)",
        "as_of": "2026-03",
    },
    "s3_put_copy_post_list": {
        "usd": 0.005 / 1000,
        "unit": "request",
        "source": "https://aws.amazon.com/s3/pricing/ (S3 Standard: PUT, COPY, POST, LIST $0.005 per 1,000)",
        "as_of": "2026-03",
    },
    "s3_get_and_other": {
        "usd": 0.0004 / 1000,
        "unit": "request",
        "source": "https://aws.amazon.com/s3/pricing/ (S3 Standard: GET and others $0.0004 per 1,000)",
        "as_of": "2026-03",
    },
    "s3_standard_gb_month": {
        "usd": 0.023,
        "unit": "GB-month",
        "source": "https://aws.amazon.com/s3/pricing/ (S3 Standard, first 50 TB)",
        "as_of": "2026-03",
    },
    "eventbridge_scheduled_rule_event": {
        "usd": 0.0,
        "unit": "scheduled event",
        "source": (
            "https://aws.amazon.com/eventbridge/pricing/ (events AWS itself puts on the default bus, "
            "which is what a scheduled rule emits, are not charged; EventBridge Scheduler would be "
            "$1.00 per million after 14 million free invocations a month: $0 here too)"
        ),
        "as_of": "2026-03",
    },
    "cloudwatch_logs_ingest_gb": {
        "usd": 0.50,
        "unit": "GB ingested",
        "source": "https://aws.amazon.com/cloudwatch/pricing/ (Logs, Standard class, collect/ingest)",
        "as_of": "2026-02",
    },
    "cloudwatch_logs_storage_gb_month": {
        "usd": 0.03,
        "unit": "GB-month (compressed)",
        "source": "https://aws.amazon.com/cloudwatch/pricing/ (Logs, store/archive)",
        "as_of": "2026-02",
    },
}

FREE_TIER = {
    "lambda_requests": 1_000_000,  # per month, always free
    "lambda_gb_seconds": 400_000,  # per month, always free (x86 and Arm together)
    "cloudwatch_logs_gb": 5.0,  # per month: ingestion + storage + Insights scans, always free
    "source": "https://aws.amazon.com/free/ (always-free offers); S3's 12-month offer is not counted",
}

# Hosted alternatives: price for a number of monitored jobs, with where it was read.
ALTERNATIVES: list[dict[str, Any]] = [
    {
        "service": "healthchecks.io",
        "plan": "Hobbyist (free) / Business",
        "price": "free up to 20 checks; $20/month for up to 100 checks",
        "usd_per_host_month": 0.20,
        "at": "100 checks",
        "source": (
            "blog.healthchecks.io 'Comparison of Cron Monitoring Services (January 2020)' price table "
            "(written by healthchecks.io's author); 100-check Business limit: healthchecks.io docs, "
            "Projects and Teams"
        ),
        "as_of": "2020-01 (the newest price table we could read; check healthchecks.io/pricing/)",
    },
    {
        "service": "healthchecks.io",
        "plan": "Supporter",
        "price": "$5/month, functionally the free plan (20 checks)",
        "usd_per_host_month": 0.25,
        "at": "20 checks",
        "source": "github.com/sponsors/healthchecks (stored page)",
        "as_of": "stored page, undated (read 2026-11)",
    },
    {
        "service": "Dead Man's Snitch",
        "plan": "paid plan for 10-80 snitches",
        "price": "$19/month",
        "usd_per_host_month": 19 / 80,
        "at": "80 snitches",
        "source": "blog.healthchecks.io 'Comparison of Cron Monitoring Services (January 2020)' price table",
        "as_of": "2020-01 (deadmanssnitch.com's own pricing page was not in the stored copies)",
    },
    {
        "service": "Cronitor",
        "plan": "Business (pay as you go)",
        "price": "$2/monitor/month (+$5 per extra user); Hacker plan free for 5 monitors",
        "usd_per_host_month": 2.00,
        "at": "any number of monitors",
        "source": "cronitor.io/pricing, as transcribed in github.com/api-evangelist/cronitor (plans/)",
        "as_of": "2026-06-12",
    },
]

# --- what the module does at the default settings ---------------------------------------------


@dataclass
class Usage:
    """Per-month usage model. Defaults are the module's defaults plus stated assumptions.

    Measured fields (``*_requests_*``, ``*_log_bytes_*``) are overwritten with
    measurements by ``measure_usage()`` when it runs.
    """

    hosts: int
    pulse_interval_minutes: float = 10.0  # each host uploads a pulse every 10 minutes (docs/DESIGN.md)
    schedule_minutes: float = 1.0  # check_schedule_expression = rate(1 minute), the default
    # Deadline checks (check_result.window): an invocation waits for a host's deadline, billed.
    deadline_checks: bool = True
    # Assumption, pessimistic: every host goes down once a month, each outage one deadline check.
    outages_per_host_month: float = 1.0
    # Mean wait of an invocation for the check, over every phase (bench/time_to_alert.py's).
    deadline_wait_seconds: float = 20.0
    deadline_check_seconds: float = 0.3  # the check itself: HEADs, the webhook POST, the state PUT
    # Per check (tests/unit/test_deadline_checks.py counts them): three HEADs and the pauses (GET
    # class), the state (PUT); its log lines (a decision, the delivery, about 700 bytes).
    deadline_check_get_requests: float = 4.0
    deadline_check_put_requests: float = 1.0
    deadline_check_log_bytes: float = 700.0
    check_echo_memory_mb: float = 128.0  # variables.tf default
    check_result_memory_mb: float = 384.0  # variables.tf default
    architecture: str = "x86_64"
    # Assumption: a probe to a healthy host plus one S3 GET and one PUT, all in-region, ~300 ms.
    check_echo_seconds: float = 0.3
    label: str = ""  # the column's title; default "<hosts> hosts"
    # check_result duration: fixed part + per listed page; measured locally, scaled (see run.py).
    check_result_seconds_base: float = 0.5
    check_result_seconds_per_1000_hosts: float = 0.5
    # S3 requests per check_echo invocation (measured): GETs and PUT-class requests.
    check_echo_get_requests: float = 1.0
    check_echo_put_requests: float = 1.0
    # S3 requests per check_result run (measured): list pages per 1,000 hosts, and constants.
    check_result_listed_prefixes: int = 3
    check_result_get_requests: float = 2.0
    check_result_put_requests: float = 2.0
    # Bytes of log lines per invocation (measured JSON lines) + Lambda's START/END/REPORT lines.
    check_echo_log_bytes: float = 400.0
    check_result_log_bytes: float = 400.0
    platform_log_bytes: float = 300.0  # START + END + REPORT lines (estimate: ~60 + ~50 + ~190 bytes)
    log_retention_days: float = 30.0
    log_compression_ratio: float = 0.15  # CloudWatch bills storage compressed; JSON lines compress ~6:1
    object_bytes_per_host: float = 3 * 250  # pulse + echo (+ a failure record) of ~250 bytes
    # The history (history/): FLAPPING_SHARE of the hosts go down and up again each day (two
    # events each), each run with an event writes one object, kept history_retention_days.
    flapping_share_per_day: float = 0.01
    history_retention_days: float = 90.0  # variables.tf default
    history_event_bytes: float = 330.0  # one down event with its reason (measured)
    history_object_bytes: float = 90.0  # an object's envelope, without events (measured)
    measured: dict[str, Any] = field(default_factory=dict)

    @property
    def check_echo_invocations(self) -> float:
        return self.hosts * MINUTES_PER_MONTH / self.pulse_interval_minutes

    @property
    def check_result_invocations(self) -> float:
        return MINUTES_PER_MONTH / self.schedule_minutes

    @property
    def deadline_checks_per_month(self) -> float:
        return self.hosts * self.outages_per_host_month if self.deadline_checks else 0.0

    @property
    def list_pages_per_run(self) -> int:
        return self.check_result_listed_prefixes * max(1, math.ceil(self.hosts / 1000))

    @property
    def history_events_per_day(self) -> float:
        return self.hosts * self.flapping_share_per_day * 2  # down, then up

    @property
    def history_objects_per_day(self) -> float:
        """One object per run with at least one event: with the events spread evenly over the
        day's runs, the expected number of runs that have one."""
        runs = 1440 / self.schedule_minutes
        return runs * (1 - (1 - 1 / runs) ** self.history_events_per_day)

    @property
    def history_stored_gb(self) -> float:
        """What the history holds once it is history_retention_days deep."""
        days = self.history_retention_days
        return (
            self.history_objects_per_day * days * self.history_object_bytes
            + self.history_events_per_day * days * self.history_event_bytes
        ) / 1e9

    def history_reads(self, days: float = 37) -> tuple[float, float]:
        """(LIST pages, GETs) of one ``pulse-status --history``: the objects of the last
        ``days`` (the 30-day window and the 7-day longest pause before it)."""
        objects = self.history_objects_per_day * min(days, self.history_retention_days)
        return max(1, math.ceil(objects / 1000)), objects

    @property
    def check_result_seconds(self) -> float:
        return self.check_result_seconds_base + self.check_result_seconds_per_1000_hosts * self.hosts / 1000


@dataclass
class LineItem:
    name: str
    quantity: float
    unit: str
    usd: float
    free_usd: float = 0.0  # part of usd the always-free tier covers


def monthly_cost(usage: Usage, prices: dict[str, dict[str, Any]] = PRICES) -> list[LineItem]:
    """Return the month's line items for ``usage``; ``sum(item.usd)`` is the list-price total.

    ``free_usd`` on each item is the share the always-free tier would cover
    (Lambda requests and GB-seconds, CloudWatch Logs 5 GB).
    """

    def price(key: str) -> float:
        return float(prices[key]["usd"])

    items: list[LineItem] = []
    echo_n = usage.check_echo_invocations
    result_n = usage.check_result_invocations
    requests = echo_n + result_n
    items.append(LineItem("Lambda requests", requests, "requests", requests * price("lambda_request")))

    gb_seconds = (
        echo_n * usage.check_echo_memory_mb / 1024 * usage.check_echo_seconds
        + result_n * usage.check_result_memory_mb / 1024 * usage.check_result_seconds
    )
    gb_key = "lambda_gb_second_arm64" if usage.architecture == "arm64" else "lambda_gb_second_x86_64"
    items.append(LineItem("Lambda compute", gb_seconds, "GB-s", gb_seconds * price(gb_key)))
    checks = usage.deadline_checks_per_month
    waited = (
        checks
        * usage.check_result_memory_mb
        / 1024
        * (usage.deadline_wait_seconds + usage.deadline_check_seconds)
    )
    items.append(LineItem("Lambda compute: deadline checks", waited, "GB-s", waited * price(gb_key)))

    pulse_puts = usage.hosts * MINUTES_PER_MONTH / usage.pulse_interval_minutes
    put_class = (
        pulse_puts
        + echo_n * usage.check_echo_put_requests
        + result_n * (usage.list_pages_per_run + usage.check_result_put_requests)
        + checks * usage.deadline_check_put_requests
    )
    get_class = (
        echo_n * usage.check_echo_get_requests
        + result_n * usage.check_result_get_requests
        + checks * usage.deadline_check_get_requests
    )
    items.append(
        LineItem("S3 PUT/LIST requests", put_class, "requests", put_class * price("s3_put_copy_post_list"))
    )
    items.append(LineItem("S3 GET requests", get_class, "requests", get_class * price("s3_get_and_other")))
    storage_gb = usage.hosts * usage.object_bytes_per_host / 1e9
    items.append(LineItem("S3 storage", storage_gb, "GB-month", storage_gb * price("s3_standard_gb_month")))
    history_puts = usage.history_objects_per_day * 30
    history_gb = usage.history_stored_gb
    items.append(
        LineItem(
            f"History: S3 PUTs and storage ({usage.flapping_share_per_day:.0%} of hosts flap a day)",
            history_puts,
            "objects",
            history_puts * price("s3_put_copy_post_list") + history_gb * price("s3_standard_gb_month"),
        )
    )
    items.append(
        LineItem(
            "EventBridge schedule", result_n, "events", result_n * price("eventbridge_scheduled_rule_event")
        )
    )
    log_gb = (
        echo_n * (usage.check_echo_log_bytes + usage.platform_log_bytes)
        + result_n * (usage.check_result_log_bytes + usage.platform_log_bytes)
        + checks * usage.deadline_check_log_bytes
    ) / 1e9
    items.append(
        LineItem("CloudWatch Logs ingestion", log_gb, "GB", log_gb * price("cloudwatch_logs_ingest_gb"))
    )
    stored_gb = log_gb * usage.log_retention_days / 30 * usage.log_compression_ratio
    items.append(
        LineItem(
            "CloudWatch Logs storage",
            stored_gb,
            "GB-month",
            stored_gb * price("cloudwatch_logs_storage_gb_month"),
        )
    )
    _apply_free_tier(items, prices)
    return items


def _apply_free_tier(items: list[LineItem], prices: dict[str, dict[str, Any]]) -> None:
    by_name = {item.name: item for item in items}
    requests = by_name["Lambda requests"]
    requests.free_usd = min(requests.quantity, FREE_TIER["lambda_requests"]) * prices["lambda_request"]["usd"]
    free_gb_s = float(FREE_TIER["lambda_gb_seconds"])
    for name in ("Lambda compute", "Lambda compute: deadline checks"):
        compute = by_name[name]
        per_gb_s = compute.usd / compute.quantity if compute.quantity else 0.0
        covered = min(compute.quantity, free_gb_s)
        free_gb_s -= covered
        compute.free_usd = covered * per_gb_s
    free_gb = FREE_TIER["cloudwatch_logs_gb"]
    for name in ("CloudWatch Logs ingestion", "CloudWatch Logs storage"):
        item = by_name[name]
        covered = min(item.quantity, free_gb)
        free_gb -= covered
        item.free_usd = item.usd * (covered / item.quantity) if item.quantity else 0.0


def totals(items: list[LineItem]) -> tuple[float, float]:
    """Return (list-price total, total after the always-free tier) in USD."""
    total = sum(item.usd for item in items)
    return total, total - sum(item.free_usd for item in items)


# --- measuring what one invocation does ---------------------------------------------------------


@contextlib.contextmanager
def captured_stderr() -> Iterator[Callable[[], bytes]]:
    """Capture everything written to file descriptor 2 (the handlers' JSON log lines)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        captured: list[bytes] = []
        try:
            yield lambda: b"".join(captured)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read())


def json_log_lines(raw: bytes) -> list[bytes]:
    """Return the lines of ``raw`` that are JSON objects (what the handlers log)."""
    lines = []
    for line in raw.splitlines():
        stripped = line.strip()
        if stripped.startswith(b"{"):
            with contextlib.suppress(ValueError):
                json.loads(stripped)
                lines.append(stripped)
    return lines


def _log_bytes(lines: list[bytes]) -> int:
    """Bytes CloudWatch ingests for ``lines``: each line plus its newline."""
    return sum(len(line) + 1 for line in lines)


def measure_usage(hosts_for_result: int = 2000) -> dict[str, Any]:
    """Run each handler in moto and measure S3 requests and log bytes per invocation.

    Returns a dict of Usage field overrides plus raw measurements under
    ``details``. Needs the handlers (``check_echo.handler``,
    ``check_result.handler``); raises ImportError while they do not exist.
    """
    from bench import scale

    scale.set_aws_env()
    scale.install_request_hook()
    from moto import mock_aws

    details: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    with mock_aws(), scale.WebhookReceiver() as receiver:
        # check_echo: one healthy probe against a local target, and one heartbeat (nothing probed)
        try:
            echo = _measure_check_echo(receiver)
            heartbeat = _measure_check_echo(receiver, heartbeat=True)
        except ModuleNotFoundError as exc:  # only while the handler is being written
            details["check_echo"] = {"not_measured": str(exc)}
        else:
            details["check_echo"] = echo
            details["check_echo_heartbeat"] = heartbeat
            overrides["check_echo_get_requests"] = echo["get_class"]
            overrides["check_echo_put_requests"] = echo["put_class"]
            overrides["check_echo_log_bytes"] = echo["log_bytes"]
            overrides[HEARTBEAT] = {
                "check_echo_get_requests": heartbeat["get_class"],
                "check_echo_put_requests": heartbeat["put_class"],
                "check_echo_log_bytes": heartbeat["log_bytes"],
            }
    with mock_aws(), scale.WebhookReceiver() as receiver:
        from datetime import datetime, timezone

        scale.populate(hosts_for_result, datetime.now(timezone.utc))
        scale.configure_check_result(receiver.url)
        os.environ["LOG_LEVEL"] = "INFO"  # production default: measure what Lambda would ingest
        handler = scale.load_handler("check_result.handler")
        runs = []
        for label in ("first_run", "steady_run"):
            with scale.REQUEST_LOG.recording(), captured_stderr() as output:
                handler(dict(scale.SCHEDULED_EVENT), None)
            summary = scale.REQUEST_LOG.summary()
            lines = json_log_lines(output())
            runs.append(
                {
                    "run": label,
                    "requests": summary,
                    "log_lines": len(lines),
                    "log_bytes": _log_bytes(lines),
                }
            )
            receiver.take()
        details["check_result"] = runs
        steady = runs[1]["requests"]
        pages = steady["list_pages_by_prefix"]
        overrides["check_result_listed_prefixes"] = len(pages)
        get_ops, put_ops = _split_request_classes(steady["by_operation"], exclude_lists=True)
        overrides["check_result_get_requests"] = get_ops
        overrides["check_result_put_requests"] = put_ops
        overrides["check_result_log_bytes"] = runs[1]["log_bytes"]
        details["history"] = _measure_history()
        overrides["history_event_bytes"] = details["history"]["down_event_bytes"]
        overrides["history_object_bytes"] = details["history"]["object_bytes"]
    return {"overrides": overrides, "details": details}


def _measure_history() -> dict[str, Any]:
    """The bytes of the history the check_result runs above wrote: a down event (with its reason,
    the larger of a flap's two events) and an object's envelope."""
    import boto3
    from check_result.history import decode_history, encode_history
    from pulse_echo.layout import HISTORY_PREFIX
    from pulse_echo.text import encode_json

    from bench import scale

    s3 = boto3.client("s3", region_name=scale.REGION)
    listing = s3.list_objects_v2(Bucket=scale.BUCKET, Prefix=HISTORY_PREFIX)
    downs, objects = [], []
    for item in listing.get("Contents", []):
        data = s3.get_object(Bucket=scale.BUCKET, Key=item["Key"])["Body"].read()
        document = json.loads(data)
        events, _ = decode_history(data)
        objects.append(len(data))
        downs += [len(encode_json(e.to_dict())) + 1 for e in events if e.event == "down"]
        envelope = encode_history(
            [], writer=document["writer"], run_id=document["run_id"], written_at=events[0].at
        )
    return {
        "objects": len(objects),
        "object_bytes": len(envelope) if objects else 0,
        "down_events": len(downs),
        "down_event_bytes": round(sum(downs) / len(downs)) if downs else 0,
    }


def _split_request_classes(by_operation: dict[str, int], *, exclude_lists: bool = False) -> tuple[int, int]:
    """Split S3 operations into S3's two request price classes: (GET and other, PUT/COPY/POST/LIST)."""
    put_class_prefixes = ("Put", "Copy", "Post", "List", "CreateMultipart", "UploadPart", "CompleteMultipart")
    get_class = put_class = 0
    for operation, count in by_operation.items():
        if operation.startswith("ListObjects") and exclude_lists:
            continue
        if operation.startswith(put_class_prefixes):
            put_class += count
        elif operation.startswith("Delete"):
            continue  # DELETE requests are free
        else:
            get_class += count
    return get_class, put_class


def _measure_check_echo(receiver: Any, *, heartbeat: bool = False) -> dict[str, Any]:
    """Upload one pulse pointing at a local target (or a heartbeat: no URL), run check_echo on its
    S3 event, measure it."""
    import boto3
    from pulse_echo.layout import ECHO_PREFIX, PULSE_PREFIX, key_for

    from bench import scale

    key = key_for(PULSE_PREFIX, "bench-heartbeat" if heartbeat else "bench-host")
    target = receiver.url.replace("/hook", "/health")
    s3 = boto3.client("s3", region_name=scale.REGION)
    if scale.BUCKET not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=scale.BUCKET)
    body = json.dumps({} if heartbeat else {"url": target, "body": "ok"}).encode()
    s3.put_object(Bucket=scale.BUCKET, Key=key, Body=body)
    os.environ.update(
        {"PULSE_ECHO_BUCKET": scale.BUCKET, "ALLOW_PRIVATE_TARGETS": "true", "LOG_LEVEL": "INFO"}
    )
    handler = scale.load_handler("check_echo.handler")
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": scale.REGION,
                "eventTime": "2026-01-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": scale.BUCKET, "arn": f"arn:aws:s3:::{scale.BUCKET}"},
                    "object": {"key": key, "size": len(body)},
                },
            }
        ]
    }
    with scale.REQUEST_LOG.recording(), captured_stderr() as output:
        handler(event, None)
    summary = scale.REQUEST_LOG.summary()
    lines = json_log_lines(output())
    get_class, put_class = _split_request_classes(summary["by_operation"])
    echo_written = ECHO_PREFIX in {where for _, where in scale.REQUEST_LOG.calls}
    return {
        "requests": summary,
        "get_class": get_class,
        "put_class": put_class,
        "echo_written": echo_written,
        "log_lines": len(lines),
        "log_bytes": _log_bytes(lines),
        "log_example": lines[0].decode("utf-8", "replace") if lines else None,
    }


# --- report -----------------------------------------------------------------------------------


HEARTBEAT = "heartbeat"
"""The overrides' key for the heartbeat-only column's own measurements."""
HEARTBEAT_HOSTS = 1000
HEARTBEAT_CHECK_ECHO_SECONDS = 0.05
"""Assumption: a heartbeat's check_echo is one S3 GET and one PUT, in-region, nothing probed."""


def compute(
    sizes: tuple[int, ...] = (10, 1000, 10000), overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Cost table for each size, then for HEARTBEAT_HOSTS heartbeat-only hosts (no URL: nothing
    probed); ``overrides`` are Usage fields (measured or from results.json), and under HEARTBEAT
    the heartbeat's own."""
    overrides = dict(overrides or {})
    measured_heartbeat = overrides.pop(HEARTBEAT, {})
    before_overrides = {**BEFORE, **overrides.pop(BEFORE_KEY, {})}
    heartbeat = {
        **overrides,
        "check_echo_seconds": HEARTBEAT_CHECK_ECHO_SECONDS,
        **measured_heartbeat,
        "label": f"{HEARTBEAT_HOSTS:,} heartbeat-only hosts",
    }
    columns = [Usage(hosts=hosts, **overrides) for hosts in sizes]
    columns.append(Usage(hosts=HEARTBEAT_HOSTS, **heartbeat))
    rows = [_row(usage) for usage in columns]
    before = [_row(replace(usage, **before_overrides)) for usage in columns[: len(sizes)]]
    changes = [change(old, new) for old, new in zip(before, rows, strict=False)]
    return {
        "rows": rows,
        "before": before,
        "changes": changes,
        "prices": PRICES,
        "free_tier": FREE_TIER,
        "alternatives": ALTERNATIVES,
    }


BEFORE = {"schedule_minutes": 10.0, "deadline_checks": False, "check_result_memory_mb": 256.0}
"""The defaults before deadline checks: a rate(10 minutes) sweep alone, check_result at 256 MB."""
BEFORE_KEY = "before"
"""Key of ``compute``'s overrides for the old defaults' own Usage fields (check_result's duration
at BEFORE's memory, which run.py estimates from the same measurements)."""
CHANGE_GOAL_USD = 1.0
"""The change may cost at most this much a month up to CHANGE_GOAL_HOSTS hosts..."""
CHANGE_GOAL_HOSTS = 1000
CHANGE_GOAL_SHARE = 0.05
"""...and at most this share of the total beyond."""


def _row(usage: Usage) -> dict[str, Any]:
    items = monthly_cost(usage)
    total, after_free = totals(items)
    pages, gets = usage.history_reads()
    reads = pages * PRICES["s3_put_copy_post_list"]["usd"] + gets * PRICES["s3_get_and_other"]["usd"]
    return {
        "hosts": usage.hosts,
        "history_reads": {"list_pages": pages, "gets": gets, "usd": reads},
        "usage": {k: v for k, v in asdict(usage).items() if k != "measured"},
        "items": [asdict(item) for item in items],
        "total_usd": total,
        "after_free_tier_usd": after_free,
        "per_host_usd": total / usage.hosts,
    }


def change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the new default costs more than the old at one size, against the goal: at most
    CHANGE_GOAL_USD a month up to CHANGE_GOAL_HOSTS hosts, CHANGE_GOAL_SHARE of the total beyond."""
    usd = after["total_usd"] - before["total_usd"]
    share = usd / before["total_usd"]
    small = after["hosts"] <= CHANGE_GOAL_HOSTS
    return {
        "hosts": after["hosts"],
        "usd": usd,
        "share": share,
        "after_free_tier_usd": after["after_free_tier_usd"] - before["after_free_tier_usd"],
        "goal": f"≤ +${CHANGE_GOAL_USD:g}" if small else f"≤ +{CHANGE_GOAL_SHARE:.0%}",
        "pass": usd <= CHANGE_GOAL_USD if small else share <= CHANGE_GOAL_SHARE,
    }


def _usd(value: float) -> str:
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def _label(row: dict[str, Any]) -> str:
    return row["usage"]["label"] or f"{row['hosts']:,} hosts"


def table(report: dict[str, Any]) -> str:
    """Render the cost rows and the alternatives as Markdown tables."""
    rows = report["rows"]
    names = [item["name"] for item in rows[0]["items"]]
    header = "| per month (us-east-1, list price) | " + " | ".join(_label(r) for r in rows) + " |"
    lines = [header, "| --- |" + " ---: |" * len(rows)]
    for index, name in enumerate(names):
        lines.append(f"| {name} | " + " | ".join(_usd(r["items"][index]["usd"]) for r in rows) + " |")
    lines.append("| **total** | " + " | ".join(f"**{_usd(r['total_usd'])}**" for r in rows) + " |")
    lines.append(
        "| total after the always-free tier | "
        + " | ".join(_usd(r["after_free_tier_usd"]) for r in rows)
        + " |"
    )
    lines.append("| per host | " + " | ".join(_usd(r["per_host_usd"]) for r in rows) + " |")
    lines.append("")
    lines.append("| one `pulse-status --history` or `--html` | " + " | ".join(_label(r) for r in rows) + " |")
    lines.append("| --- |" + " ---: |" * len(rows))
    reads = [r["history_reads"] for r in rows]
    lines.append(
        "| history objects read (37 days) | " + " | ".join(f"{x['gets']:,.0f}" for x in reads) + " |"
    )
    lines.append("| S3 requests (LIST + GET) | " + " | ".join(_usd(x["usd"]) for x in reads) + " |")
    lines.append("")
    lines.append(change_table(report))
    lines.append("")
    lines.append(prices_table(report["prices"]))
    lines.append("")
    lines.append("| hosted alternative | price | per host per month | source (as of) |")
    lines.append("| --- | --- | ---: | --- |")
    for alt in report["alternatives"]:
        lines.append(
            f"| {alt['service']} ({alt['plan']}) | {alt['price']} | {_usd(alt['usd_per_host_month'])} "
            f"at {alt['at']} | {alt['source']} ({alt['as_of']}) |"
        )
    return "\n".join(lines)


def prices_table(prices: dict[str, dict[str, Any]]) -> str:
    """The list prices the tables use, each with its source and date."""
    lines = ["| list price (us-east-1) | USD | per | source (as of) |", "| --- | ---: | --- | --- |"]
    for name, price in prices.items():
        usd = f"{price['usd']:.10f}".rstrip("0").rstrip(".")
        lines.append(f"| {name} | ${usd} | {price['unit']} | {price['source']} ({price['as_of']}) |")
    return "\n".join(lines)


def change_table(report: dict[str, Any]) -> str:
    """The change from the old default (a rate(10 minutes) sweep) to the new one, per size."""
    changes = report["changes"]
    lines = [
        "| per month (us-east-1, list price) | "
        + " | ".join(f"{c['hosts']:,} hosts" for c in changes)
        + " |",
        "| --- |" + " ---: |" * len(changes),
        f"| before: rate(10 minutes) sweep, check_result "
        f"{report['before'][0]['usage']['check_result_memory_mb']:g} MB | "
        + " | ".join(_usd(r["total_usd"]) for r in report["before"])
        + " |",
        f"| now: rate(1 minute) sweep + deadline checks, check_result "
        f"{report['rows'][0]['usage']['check_result_memory_mb']:g} MB | "
        + " | ".join(_usd(r["total_usd"]) for r in report["rows"][: len(changes)])
        + " |",
        "| **change** | " + " | ".join(f"**+{_usd(c['usd'])}** (+{c['share']:.1%})" for c in changes) + " |",
        "| change after the always-free tier | "
        + " | ".join(f"+{_usd(c['after_free_tier_usd'])}" for c in changes)
        + " |",
        "| goal | " + " | ".join(f"{c['goal']}: {'PASS' if c['pass'] else 'FAIL'}" for c in changes) + " |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-measure", action="store_true", help="use the Usage defaults, run nothing")
    parser.add_argument(
        "--overrides",
        type=str,
        default=None,
        help="JSON object of Usage fields (e.g. from the scale results)",
    )
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = json.loads(args.overrides) if args.overrides else {}
    measured: dict[str, Any] = {}
    if not args.no_measure:
        measured = measure_usage()
        overrides = {**measured["overrides"], **overrides}
    report = compute(overrides=overrides)
    report["measured"] = measured
    print(json.dumps(report, indent=2, default=str) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
