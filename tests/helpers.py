"""Helpers shared by several test modules that are not fixtures (those are in tests/conftest.py).

- check_echo and check_result: their environment for a test (``check_echo_env``,
  ``check_result_env``, the webhook at ``HOOK``), one check_result run at a
  fixed time (``run_at``) and what it posted (``posts``).
- pulse-status and pulse-forget: their main(argv) called in this process
  (``run_main``), or their launchers in scripts/ run as a user would
  (``cli_env``, ``run_cli``); ``assert_one_line_error`` for their errors.
- The moto server of the scripts' tests (``moto_endpoint``): an S3 client on it
  with a bucket (``s3_with_bucket``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from check_echo import handler as check_echo
from check_result import handler as check_result

from tests.conftest import TEST_BUCKET

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
    return subprocess.run(
        [str(SCRIPTS / name), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
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
