"""Helpers shared by several test modules that are not fixtures (those are in tests/conftest.py).

- check_echo and check_result: their environment for a test (``check_echo_env``,
  ``check_result_env``, the webhook at ``HOOK``), one check_result run at a
  fixed time (``run_at``) and what it posted (``posts``); an S3 event for some keys
  (``put_event``) and what the bucket holds (``get_json``, ``keys_under``).
- pulses: every bad value of every field (``BAD_PULSE_FIELDS``).
- pulse-status and pulse-forget: their main(argv) called in this process
  (``run_main``), or their launchers in scripts/ run as a user would
  (``cli_env``, ``run_cli``); ``assert_one_line_error`` for their errors.
- The moto server of the scripts' tests (``moto_endpoint``): an S3 client on it
  with a bucket (``s3_with_bucket``).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from urllib.parse import quote_plus

import boto3
import pytest
from check_echo import handler as check_echo
from check_result import handler as check_result

from tests.conftest import TEST_BUCKET, load_event

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
VENV_BIN = Path(sys.executable).parent

# --- check_echo and check_result ---

HOOK = "/services/T0000/B0000/secretXXXXXXXXXXXX"
CHECK_RESULT_OPTIONAL_ENV = [
    "ALERT_WEBHOOK_SSM_PARAMETER_NAME",
    "ALERT_WEBHOOK_FORMAT",
    "SLACK_CHANNEL",
    "SLACK_USERNAME",
    "SLACK_ICON_EMOJI",
    "ALERT_MAX_HOSTS_LISTED",
    "ALERT_SNS_TOPIC_ARN",
    "RENOTIFY_MINUTES",
    "STALE_AFTER_MINUTES",
    "WEBHOOK_TIMEOUT_SECONDS",
    "WEBHOOK_MAX_ATTEMPTS",
    "RUN_LEASE_SECONDS",
    "PULSE_READS_PER_RUN",
    "PULSE_MAX_BYTES",
    "SCHEDULE_PERIOD_SECONDS",
]


@contextlib.contextmanager
def check_echo_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """check_echo's environment for TEST_BUCKET: 127.0.0.1 targets allowed, small probe
    timeouts, the other settings at their defaults; its cached configuration and S3
    client are cleared on entry and on exit."""
    monkeypatch.setenv("PULSE_ECHO_BUCKET", TEST_BUCKET)
    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "true")
    monkeypatch.setenv("PROBE_CONNECT_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("PROBE_READ_TIMEOUT_SECONDS", "0.5")
    for name in ("PULSE_MAX_BYTES", "PROBE_MAX_REDIRECTS", "PROBE_MAX_BODY_BYTES"):
        monkeypatch.delenv(name, raising=False)
    check_echo.config.cache_clear()
    check_echo.s3_client.cache_clear()
    yield
    check_echo.config.cache_clear()
    check_echo.s3_client.cache_clear()


def s3_event_key(key: str) -> str:
    """Encode a key as S3 event notifications do: URL-encoded, ``+`` for a space, ``/`` kept."""
    return quote_plus(key, safe="/")


def put_event(*keys: str, bucket: str = TEST_BUCKET, event_name: str = "ObjectCreated:Put") -> dict:
    """An S3 ObjectCreated event with one record per (decoded) key, in AWS's exact shape."""
    template = load_event("s3_put_two_records_event.json")["Records"][0]
    records = []
    for key in keys:
        record = copy.deepcopy(template)
        record["eventName"] = event_name
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        record["s3"]["object"]["key"] = s3_event_key(key)
        records.append(record)
    return {"Records": records}


FAILURE_RECORD_FIELDS = {
    "failed_at",
    "failing_since",
    "kind",
    "url",
    "reason",
    "detail",
    "http_status",
    "elapsed_ms",
    "expected_excerpt",
    "received_excerpt",
    "message",
    "exit_code",
    "duration_seconds",
}
"""Every field of ``failure/<host>.json`` (docs/internals.md); null when it does not apply."""


def get_json(s3: object, key: str) -> dict:
    """The JSON object at ``key`` in TEST_BUCKET."""
    return json.loads(s3.get_object(Bucket=TEST_BUCKET, Key=key)["Body"].read())


def keys_under(s3: object, prefix: str) -> list[str]:
    """The keys under ``prefix`` in TEST_BUCKET (the first 1,000)."""
    listing = s3.list_objects_v2(Bucket=TEST_BUCKET, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


@contextlib.contextmanager
def check_result_env(monkeypatch: pytest.MonkeyPatch, http_server: object) -> Iterator[None]:
    """check_result's environment for TEST_BUCKET, the webhook at http_server's HOOK
    (answering 200 ok), the optional settings unset; check_result.reset() on entry and on exit."""
    http_server.route(HOOK, 200, "ok")
    monkeypatch.setenv("PULSE_ECHO_BUCKET", TEST_BUCKET)
    monkeypatch.setenv("ALERT_WEBHOOK_URL", http_server.url(HOOK))
    for name in CHECK_RESULT_OPTIONAL_ENV:
        monkeypatch.delenv(name, raising=False)
    check_result.reset()
    yield
    check_result.reset()


def run_at(
    now: datetime,
    s3: object,
    *,
    sns: object | None = None,
    sleep: Callable[[float], None] = lambda seconds: None,
) -> dict:
    """One check_result run with the environment's configuration at a fixed time (webhook
    retries do not wait unless ``sleep`` is given)."""
    return check_result.run(
        check_result.Config.from_env(), s3=s3, sns=sns, now=now, run_id=f"run-{now:%H%M%S}", sleep=sleep
    )


def posts(http_server: object) -> list[dict]:
    """The JSON bodies posted to the webhook at HOOK so far."""
    return [request.json() for request in http_server.requests_to(HOOK)]


# --- pulses: every bad value of every field (pulse_echo.pulse), for the parser's and check_echo's tests ---

BAD_PULSE_FIELDS: list[tuple[dict, str, str]] = [
    ({"body": "ok"}, "body", 'needs a "url"'),
    ({"contains": "ok"}, "contains", 'needs a "url"'),
    ({"status": 200}, "status", 'needs a "url"'),
    ({"max_response_ms": 500}, "max_response_ms", 'needs a "url"'),
    ({"url": ""}, "url", "empty"),
    ({"url": 7}, "url", "must be a string, not a number"),
    ({"url": "ftp://h.example/"}, "url", "scheme 'ftp'"),
    ({"url": "https://user:secret@h.example/"}, "url", "credentials"),
    ({"url": "https://h.example/a b"}, "url", "whitespace"),
    ({"url": "https://h.example/", "body": 1}, "body", "must be a string, not a number"),
    ({"url": "https://h.example/", "body": "\ud800"}, "body", "lone surrogate"),
    ({"url": "https://h.example/", "contains": []}, "contains", "empty list"),
    ({"url": "https://h.example/", "contains": ""}, "contains", "empty string"),
    ({"url": "https://h.example/", "contains": ["ok", ""]}, "contains", "empty string"),
    ({"url": "https://h.example/", "contains": ["ok", 1]}, "contains", "list of strings"),
    ({"url": "https://h.example/", "contains": {"a": 1}}, "contains", "list of strings"),
    ({"url": "https://h.example/", "contains": ["\udfff"]}, "contains", "lone surrogate"),
    ({"url": "https://h.example/", "status": "200"}, "status", "HTTP status"),
    ({"url": "https://h.example/", "status": 99}, "status", "HTTP status"),
    ({"url": "https://h.example/", "status": 600}, "status", "HTTP status"),
    ({"url": "https://h.example/", "status": 200.0}, "status", "HTTP status"),
    ({"url": "https://h.example/", "status": True}, "status", "HTTP status"),
    ({"url": "https://h.example/", "status": []}, "status", "empty list"),
    ({"url": "https://h.example/", "status": [200, "401"]}, "status", "HTTP status"),
    ({"url": "https://h.example/", "max_response_ms": 0}, "max_response_ms", "from 1 to 900,000"),
    ({"url": "https://h.example/", "max_response_ms": -5}, "max_response_ms", "from 1 to 900,000"),
    ({"url": "https://h.example/", "max_response_ms": 1.5}, "max_response_ms", "integer"),
    ({"url": "https://h.example/", "max_response_ms": 900_001}, "max_response_ms", "from 1 to 900,000"),
    ({"url": "https://h.example/", "max_response_ms": "800"}, "max_response_ms", "integer"),
    ({"stale_after_minutes": 0}, "stale_after_minutes", "above 0"),
    ({"stale_after_minutes": -1}, "stale_after_minutes", "above 0"),
    ({"stale_after_minutes": 525_601}, "stale_after_minutes", "at most 525,600"),
    ({"stale_after_minutes": "15"}, "stale_after_minutes", "number of minutes"),
    ({"stale_after_minutes": True}, "stale_after_minutes", "number of minutes"),
    ({"stale_after_minutes": 1e-12}, "stale_after_minutes", "number of minutes"),
    ({"result": "failed"}, "result", '"ok" or "fail"'),
    ({"result": "FAIL"}, "result", '"ok" or "fail"'),
    ({"result": False}, "result", '"ok" or "fail"'),
    ({"result": 1}, "result", '"ok" or "fail"'),
    ({"message": 12}, "message", "must be a string"),
    ({"message": ["a"]}, "message", "must be a string"),
    ({"message": "half \ud83d"}, "message", "lone surrogate"),
    ({"exit_code": "2"}, "exit_code", "integer"),
    ({"exit_code": 2.5}, "exit_code", "integer"),
    ({"exit_code": 2**40}, "exit_code", "integer"),
    ({"exit_code": True}, "exit_code", "integer"),
    ({"exit_code": -(2**31) - 1}, "exit_code", "integer"),
    ({"duration_seconds": -1}, "duration_seconds", ">= 0"),
    ({"duration_seconds": "3"}, "duration_seconds", ">= 0"),
    ({"duration_seconds": True}, "duration_seconds", ">= 0"),
    ({"pause_until": "tomorrow"}, "pause_until", "ISO 8601"),
    ({"pause_until": "2026-01-01T11:00:00"}, "pause_until", "ISO 8601"),
    ({"pause_until": 1767261600}, "pause_until", "must be a string"),
    ({"pause_until": "2026-02-30T10:00:00Z"}, "pause_until", "ISO 8601"),
    ({"pause_until": "2026-01-08T10:00:01Z"}, "pause_until", "more than 7 days ahead"),
]
"""``(document, field, words)``: a pulse with one bad value, the field a PulseError names and words
of its message. ``pause_until`` is judged against 2026-01-01T10:00:00Z (PULSE_NOW)."""

PULSE_NOW = datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)


# --- the scripts ---


def run_main(module: ModuleType, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``module.main(argv)`` in this process: its exit status, stdout and stderr."""
    status = module.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def help_text(module: ModuleType, capsys: pytest.CaptureFixture[str]) -> str:
    """What ``module.main(["--help"])`` prints; it must exit with status 0."""
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def s3_with_bucket(endpoint: str, bucket: str) -> object:
    """A boto3 S3 client on the moto server at ``endpoint`` (dummy keys), with ``bucket`` created."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=bucket)
    return client


def cli_env(
    tmp_path: Path, endpoint: str | None, *, credentials: bool = True, **extra: str
) -> dict[str, str]:
    """A clean environment for a script run against the moto server at ``endpoint`` (none:
    no ``AWS_ENDPOINT_URL``): the venv's python first on PATH, no ~/.aws, dummy keys unless
    ``credentials`` is False, then ``extra`` variables."""
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    if credentials:
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    env.update(extra)
    return env


def run_cli(name: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/<name>`` by its path, as a user would (its shebang, the venv's python
    first on PATH), with stdin not a terminal (/dev/null)."""
    return run_command([str(SCRIPTS / name), *args], env)


def run_command(
    argv: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a command with stdin not a terminal (/dev/null); its exit status and text output."""
    return subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_line_error(command: str, err: str, *words: str) -> None:
    """``err`` is one line, ``<command>: ...`` with every one of ``words``, and no traceback."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{command}: ")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]
