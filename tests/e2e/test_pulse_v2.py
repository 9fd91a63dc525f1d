"""Pulse v2 end to end (DESIGN §2b, §3b): heartbeats, job results, the match rules, failing_since
and send-pulse itself, checked by check_echo run from its deployed zip on the emulator."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Deployment
from tests.helpers import cli_env
from tools.httpserver import LocalHttpServer
from tools.lambda_service import Invocation

SEND_PULSE = ROOT / "scripts" / "send-pulse"


@pytest.fixture
def fresh(deployment: Deployment) -> Iterator[Deployment]:
    """An empty bucket before and after the test."""
    deployment.clear_bucket()
    yield deployment
    deployment.clear_bucket()


def check(deployment: Deployment, host: str, document: dict[str, Any]) -> Invocation:
    """Upload ``document`` as ``host``'s pulse; check_echo must run without error."""
    (invocation,) = deployment.upload_document(host, document)
    assert invocation.ok, invocation.error
    return invocation


def send_pulse(deployment: Deployment, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real scripts/send-pulse (the venv's aws CLI) against the emulator."""
    env = cli_env(tmp_path, deployment.emulator.endpoint)
    return subprocess.run(
        ["sh", str(SEND_PULSE), "--bucket", deployment.bucket, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_heartbeat_gives_an_echo_and_probes_nothing(fresh: Deployment, targets: LocalHttpServer) -> None:
    requests = len(targets.requests)

    check(fresh, "nas-1", {"stale_after_minutes": 60})

    echo = fresh.object("echo/nas-1.json")
    assert echo is not None
    assert (echo["kind"], echo["url"], echo["http_status"]) == ("heartbeat", None, None)
    assert fresh.object("failure/nas-1.json") is None
    assert len(targets.requests) == requests


def test_a_job_failure_is_job_failed_with_its_report_and_its_run_keeps_its_start(fresh: Deployment) -> None:
    report = {"result": "fail", "exit_code": 2, "duration_seconds": 754, "message": "disk full\n<!channel>"}

    check(fresh, "backup", report)
    first = fresh.object("failure/backup.json")
    fresh.pass_time(timedelta(minutes=10))
    check(fresh, "backup", report)
    second = fresh.object("failure/backup.json")

    assert (first["reason"], first["kind"], first["detail"]) == ("job_failed", "job", "disk full\n<!channel>")
    assert (first["exit_code"], first["duration_seconds"], first["message"]) == (
        2,
        754.0,
        "disk full\n<!channel>",
    )
    assert first["failing_since"] == first["failed_at"]
    assert second["failed_at"] > first["failed_at"]
    assert second["failing_since"] == first["failed_at"]
    assert fresh.object("echo/backup.json") is None


def test_the_match_rules_behave_as_the_contract_says(fresh: Deployment, targets: LocalHttpServer) -> None:
    health = targets.route("/v2/health", 200, '{"status":"pass","version":"1.2.3"}')
    private = targets.route("/v2/private", 401, "login required")
    slow = targets.route("/v2/slow", 200, "ok", delay=0.3)

    check(fresh, "api-1", {"url": health, "contains": ['"status":"pass"', "version"]})
    check(fresh, "api-2", {"url": health, "contains": '"status":"fail"'})
    check(fresh, "intranet-1", {"url": private, "status": [401, 403]})
    check(fresh, "intranet-2", {"url": health, "status": 401})
    check(fresh, "slow-1", {"url": slow, "body": "ok", "max_response_ms": 1})

    assert fresh.object("echo/api-1.json")["kind"] == "probe"
    wrong = fresh.object("failure/api-2.json")
    assert wrong["reason"] == "wrong_body"
    assert 'does not contain ""status":"fail""' in wrong["detail"]
    assert fresh.object("echo/intranet-1.json")["http_status"] == 401
    refused = fresh.object("failure/intranet-2.json")
    assert (refused["reason"], refused["http_status"]) == ("http_status", 200)
    assert "the pulse accepts 401" in refused["detail"]
    late = fresh.object("failure/slow-1.json")
    assert late["reason"] == "slow"
    assert f"answered in {late['elapsed_ms']} ms" in late["detail"]
    assert "max_response_ms of 1 ms" in late["detail"]


def test_pulses_sent_by_send_pulse_are_checked_by_the_deployed_check_echo(
    fresh: Deployment, targets: LocalHttpServer, tmp_path: Path
) -> None:
    url = targets.route("/v2/sent", 401, '{"error": "login required"}')
    probe = send_pulse(
        fresh, tmp_path, "--host", "web-1", "--url", url, "--status", "401", "--contains", "login"
    )
    heartbeat = send_pulse(fresh, tmp_path, "--host", "cron-1", "--stale-after-minutes", "1500")
    failed = send_pulse(fresh, tmp_path, "--host", "job-1", "--", "sh", "-c", "echo disk full >&2; exit 2")
    passed = send_pulse(
        fresh, tmp_path, "--host", "job-2", "--pause-minutes", "30", "--", "echo", "12 GB saved"
    )

    assert (probe.returncode, probe.stderr) == (0, "")
    assert (heartbeat.returncode, heartbeat.stderr) == (0, "")
    assert (failed.returncode, failed.stderr) == (2, "disk full\n")
    assert (passed.returncode, passed.stdout) == (0, "12 GB saved\n")
    for host in ("web-1", "cron-1", "job-1", "job-2"):
        (invocation,) = fresh.deliver_pulse(host)
        assert invocation.ok, invocation.error
    assert (fresh.object("echo/web-1.json")["kind"], fresh.object("echo/web-1.json")["http_status"]) == (
        "probe",
        401,
    )
    assert fresh.object("echo/cron-1.json")["kind"] == "heartbeat"
    failure = fresh.object("failure/job-1.json")
    assert (failure["reason"], failure["exit_code"], failure["message"]) == ("job_failed", 2, "disk full")
    assert fresh.object("echo/job-1.json") is None
    echo = fresh.object("echo/job-2.json")
    assert (echo["kind"], echo["exit_code"], echo["message"]) == ("job", 0, "12 GB saved")
