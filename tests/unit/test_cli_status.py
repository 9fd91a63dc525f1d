"""pulse-status (pulse_echo_cli.status; scripts/pulse-status launches it): the status table
and --json, with check_result's own status logic.

Most tests call the script's main(argv) in-process against moto's mock_aws,
with moto's clock pinned (``moto_clock``) so that every LastModified, age and
reason is exact. The real command line runs in a subprocess against a moto
server (module-scoped) at least once: --help, a listing, a wrong bucket and
missing credentials. The examples of docs/operations.md are checked against a
fresh run of the same scenario
(``PYTHONPATH=lambda_src:. .venv/bin/python tests/unit/test_cli_status.py``
prints them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from botocore.stub import Stubber
from check_result.pulses import profiles
from check_result.rules import host_statuses
from check_result.state import HostState
from check_result.store import Store
from pulse_echo import settings
from pulse_echo.times import isoformat
from pulse_echo_cli import forget as pulse_forget
from pulse_echo_cli import pause as pulse_pause
from pulse_echo_cli import status as pulse_status

from tests.conftest import MOTO_CLOCK_START, TEST_BUCKET
from tests.helpers import (
    ROOT,
    SCRIPTS,
    assert_one_line_error,
    cli_env,
    help_text,
    run_cli,
    run_main,
    s3_with_bucket,
)

OPERATIONS_PAGE = ROOT / "docs" / "operations.md"
EXAMPLE_BUCKET = "my-pulse-echo-bucket"
NOW = MOTO_CLOCK_START  # the time the script is told it is (--now), and moto's until a test moves it


# --- helpers ---


def at(hh_mm: str) -> datetime:
    hours, minutes = hh_mm.split(":")
    return NOW.replace(hour=int(hours), minute=int(minutes))


def pulse_body(host: str) -> bytes:
    return json.dumps(
        {"url": f"https://{host.split('/')[-1].replace(' ', '-')}.example.com/health", "body": "ok"}
    ).encode()


def put(s3: object, bucket: str, key: str, body: bytes, when: datetime, clock: Callable) -> None:
    clock(when)
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def failure_body(reason: str, detail: str, failed_at: datetime, **extra: object) -> bytes:
    record = {
        "failed_at": isoformat(failed_at),
        "url": "https://example.com/health",
        "reason": reason,
        "detail": detail,
        "http_status": None,
        "elapsed_ms": 5003,
        "expected_excerpt": None,
        "received_excerpt": None,
    }
    record.update(extra)
    return json.dumps(record).encode()


BACKUP_PULSE = {
    "result": "ok",
    "exit_code": 0,
    "duration_seconds": 241.0,
    "message": "sent 12.4G bytes  received 2.1K bytes\nbackup done\n",
    "stale_after_minutes": 1500,
}


PAUSE_ARGV = ["--for", "1h45m", "mail-1"]


def seed_example(s3: object, bucket: str, clock: Callable[[datetime], None]) -> str:
    """The documented scenario, seen at NOW (10:00 UTC) with the module's 15-minute threshold
    (recorded by check_result in its state):

    - ``web-1``: pulse and echo 2 minutes ago: up.
    - ``web-2``: echo 10 minutes ago, then a failed check (HTTP 503): up, failing.
    - ``db-1``: checks fail (timeout) since 09:10; alerted at 09:30: down.
    - ``rack 2/cache ü``: turned off at 08:40, alerted at 09:00: down, pulse stopped.
    - ``new-host``: first pulse 5 minutes ago, the check got the wrong body: new.
    - ``backup``: a nightly job (threshold 1,500 minutes) that ran fine at 02:00: up.
    - ``mail-1``: a heartbeat, silent since 09:20, paused by the operator at 09:15 until 11:00
      (pulse-pause, whose output is returned): paused.
    """
    for host, when in [
        ("web-1", "09:58"),
        ("web-2", "09:50"),
        ("db-1", "09:10"),
        ("rack 2/cache ü", "08:40"),
    ]:
        put(s3, bucket, f"echo/{host}.json", b"{}", at(when), clock)
    for host, when in [
        ("web-1", "09:58"),
        ("web-2", "09:58"),
        ("db-1", "09:58"),
        ("rack 2/cache ü", "08:40"),
        ("new-host", "09:55"),
    ]:
        put(s3, bucket, f"pulse/{host}.json", pulse_body(host), at(when), clock)
    failures = {
        "web-2": (
            "09:58",
            failure_body(
                "http_status",
                "HTTP 503 from https://web-2.example.com/health",
                at("09:58"),
                http_status=503,
            ),
        ),
        "db-1": ("09:58", failure_body("timeout", "db-1.example.com:443 sent nothing for 5 s", at("09:58"))),
        "new-host": (
            "09:55",
            failure_body(
                "wrong_body",
                "the body differs from the expected one",
                at("09:55"),
                http_status=200,
                expected_excerpt="ok",
                received_excerpt="starting",
            ),
        ),
    }
    for host, (when, body) in failures.items():
        put(s3, bucket, f"failure/{host}.json", body, at(when), clock)
    put(s3, bucket, "pulse/backup.json", json.dumps(BACKUP_PULSE).encode(), at("02:00"), clock)
    put(s3, bucket, "echo/backup.json", b"{}", at("02:00"), clock)
    put(s3, bucket, "pulse/mail-1.json", b"{}", at("09:20"), clock)
    put(s3, bucket, "echo/mail-1.json", b"{}", at("09:20"), clock)
    clock(at("09:15"))
    said = io.StringIO()
    argv = [*PAUSE_ARGV, "--bucket", bucket, "--now", isoformat(at("09:15"))]
    pulse_pause.pause(pulse_pause.parse_args(argv), s3, said)
    clock(at("09:30"))
    Store(s3, bucket).write_state(
        {
            "db-1": HostState(
                status="down", since=at("09:10"), last_ok_at=at("09:10"), notified_at=at("09:30")
            ),
            "rack 2/cache ü": HostState(
                status="down", since=at("08:40"), last_ok_at=at("08:40"), notified_at=at("09:00")
            ),
        },
        etag=None,
        run_id="example-run",
        now=at("09:30"),
        stale_after_minutes=15,
    )
    return said.getvalue()


# --- the table and --json ---


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    out = help_text(pulse_status, capsys)
    assert out.startswith("usage: pulse-status [-h] --bucket NAME [--json]")
    assert "--stale-after-minutes N" in out
    assert "--now" not in out


def expected_rows(s3: object, bucket: str = TEST_BUCKET) -> list:
    """What check_result's own code says of every host at NOW: its store, its pulse index rules
    (every pulse read), its pauses and host_statuses."""
    store = Store(s3, bucket)
    observations = store.list_observations()
    failures = store.read_failures([h for h, o in observations.items() if o.failing])
    entries = store.read_pulses([h for h, o in observations.items() if o.pulse_at], now=NOW, max_bytes=65536)
    paused = store.read_pauses().value.until_by_host(observations, NOW)
    host_profiles = profiles(entries, observations, timedelta(minutes=15), paused)
    return host_statuses(
        observations, store.read_state().hosts, NOW, timedelta(minutes=15), failures, host_profiles
    )


def test_table_shows_every_host_with_status_kind_threshold_age_reason_and_since(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_example(s3, TEST_BUCKET, moto_clock)
    status, out, err = run_main(pulse_status, ["--bucket", TEST_BUCKET, "--now", isoformat(NOW)], capsys)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert re.split(r"  +", lines[0]) == [
        "HOST",
        "STATUS",
        "KIND",
        "THRESHOLD",
        "LAST ECHO",
        "SINCE",
        "REASON",
    ]
    rows = {line.split("  ")[0].strip(): line for line in lines[1:8]}
    # problems first: down, new, paused, up
    assert list(rows) == ["db-1", "rack 2/cache ü", "new-host", "mail-1", "backup", "web-1", "web-2"]
    cells = {host: re.split(r"  +", line, maxsplit=6) for host, line in rows.items()}
    assert cells["db-1"][1:6] == ["down", "probe", "15 min", "50m 0s ago", "2026-01-01T09:10:00Z (50m 0s)"]
    assert cells["rack 2/cache ü"][1:6] == [
        "down",
        "probe",
        "15 min",
        "1h 20m ago",
        "2026-01-01T08:40:00Z (1h 20m)",
    ]
    assert cells["new-host"][1:6] == ["new", "probe", "15 min", "never", "2026-01-01T09:55:00Z (5m 0s)"]
    assert cells["mail-1"][1:5] == ["paused until 2026-01-01T11:00:00Z", "heartbeat", "15 min", "40m 0s ago"]
    assert cells["backup"][1:6] == ["up", "job", "1500 min", "8h 0m ago", "-"]
    assert (
        cells["backup"][6]
        == "last run ok (exit code 0, ran 4m 1s): sent 12.4G bytes  received 2.1K bytes\\nbackup done"
    )
    assert cells["web-1"][1:] == ["up", "probe", "15 min", "2m 0s ago", "-", "-"]
    assert cells["web-2"][1:6] == [
        "up (failing)",
        "probe",
        "15 min",
        "10m 0s ago",
        "2026-01-01T09:58:00Z (2m 0s)",
    ]
    # The REASON column is the shared logic's sentence, as check_result's alert gives it.
    for row in expected_rows(s3):
        if row.reason is not None:
            assert cells[row.host][6] == row.reason.detail
    assert "db-1.example.com:443 sent nothing for 5 s" in cells["db-1"][6]
    assert "HTTP 503" in cells["web-2"][6]
    assert '"starting"' in cells["new-host"][6]
    assert cells["mail-1"][6].startswith("no pulse since 2026-01-01T09:20:00Z")  # why it would be down
    assert lines[-1] == (
        f"7 hosts in s3://{TEST_BUCKET}: 2 down, 1 new, 1 paused, 3 up "
        "(stale after 15 min unless a pulse sets its own, at 2026-01-01T10:00:00Z)"
    )
    for column in ("STATUS", "KIND", "THRESHOLD", "LAST ECHO", "SINCE", "REASON"):  # aligned under the header
        start = lines[0].index(column)
        assert all(line[start - 2 : start] == "  " and line[start] != " " for line in lines[1:8])


def test_json_is_check_results_own_evaluation(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json holds exactly what check_result.rules.host_statuses says, read through check_result.store."""
    seed_example(s3, TEST_BUCKET, moto_clock)
    status, out, err = run_main(
        pulse_status, ["--bucket", TEST_BUCKET, "--json", "--now", isoformat(NOW)], capsys
    )
    assert (status, err) == (0, "")
    document = json.loads(out)
    expected = expected_rows(s3)
    assert sorted(document["hosts"], key=lambda row: row["host"]) == [row.to_dict() for row in expected]
    assert document["counts"] == {"down": 2, "new": 1, "paused": 1, "up": 3}
    assert document["now"] == "2026-01-01T10:00:00Z"
    assert (document["stale_after_minutes"], document["stale_after_source"]) == (15, "state")
    by_host = {row["host"]: row for row in document["hosts"]}
    assert by_host["db-1"]["reason"]["code"] == "timeout"
    assert by_host["rack 2/cache ü"]["reason"]["code"] == "pulse_stopped"
    assert by_host["new-host"]["reason"]["code"] == "wrong_body"
    assert by_host["web-1"]["reason"] is None
    assert by_host["web-1"]["age_seconds"] == 120
    assert (by_host["mail-1"]["status"], by_host["mail-1"]["paused_until"]) == (
        "paused",
        "2026-01-01T11:00:00Z",
    )
    assert (by_host["backup"]["kind"], by_host["backup"]["stale_after_minutes"]) == ("job", 1500)
    assert by_host["backup"]["job"] == {
        "result": "ok",
        "message": BACKUP_PULSE["message"],
        "exit_code": 0,
        "duration_seconds": 241.0,
    }


def test_the_threshold_is_the_option_else_check_results_record_else_the_environment(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    put(s3, TEST_BUCKET, "pulse/h.json", pulse_body("h"), at("09:50"), moto_clock)
    put(s3, TEST_BUCKET, "echo/h.json", b"{}", at("09:50"), moto_clock)
    base = ["--bucket", TEST_BUCKET, "--json", "--now", isoformat(NOW)]

    def status_of(argv: list[str]) -> tuple[str, str, str]:
        code, out, err = run_main(pulse_status, argv, capsys)
        assert code == 0
        document = json.loads(out)
        return document["hosts"][0]["status"], document["stale_after_source"], err

    # before check_result's first run: a note on stderr says where the threshold came from
    status, source, err = status_of(base)
    assert (status, source) == ("up", "default")  # 10 minutes old, threshold 15
    assert_one_line_error("pulse-status", err, "note: check_result has not recorded", "15 min", "default")
    assert status_of([*base, "--stale-after-minutes", "5"])[:2] == ("down", "option")
    assert status_of([*base, "--stale-after-minutes", "9.99"])[:2] == ("down", "option")
    monkeypatch.setenv("STALE_AFTER_MINUTES", "5")
    status, source, err = status_of(base)
    assert (status, source) == ("down", "environment")
    assert "$STALE_AFTER_MINUTES" in err
    assert status_of([*base, "--stale-after-minutes", "30"])[:2] == ("up", "option")
    # once check_result has run, its record is the deployment's threshold
    Store(s3, TEST_BUCKET).write_state({}, etag=None, run_id="r", now=NOW, stale_after_minutes=30)
    assert status_of(base) == ("up", "state", "")
    assert status_of([*base, "--stale-after-minutes", "5"]) == ("down", "option", "")


def test_a_hosts_own_threshold_and_kind_come_from_its_pulse(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    put(
        s3,
        TEST_BUCKET,
        "pulse/job.json",
        json.dumps({"result": "ok", "stale_after_minutes": 60}).encode(),
        at("09:00"),
        moto_clock,
    )
    put(s3, TEST_BUCKET, "echo/job.json", b"{}", at("09:00"), moto_clock)
    put(s3, TEST_BUCKET, "pulse/bad.json", b'{"body": "ok"}', at("09:58"), moto_clock)
    code, out, _ = run_main(
        pulse_status, ["--bucket", TEST_BUCKET, "--json", "--now", isoformat(NOW)], capsys
    )
    assert code == 0
    rows = {row["host"]: row for row in json.loads(out)["hosts"]}
    assert (rows["job"]["status"], rows["job"]["kind"], rows["job"]["stale_after_minutes"]) == (
        "up",
        "job",
        60,
    )
    assert (rows["bad"]["kind"], rows["bad"]["stale_after_minutes"]) == ("invalid", 15)
    code, out, _ = run_main(
        pulse_status,
        ["--bucket", TEST_BUCKET, "--json", "--now", isoformat(NOW + timedelta(minutes=1))],
        capsys,
    )
    assert {row["host"]: row["status"] for row in json.loads(out)["hosts"]}["job"] == "down"


def test_a_jobs_message_is_escaped_for_the_terminal_and_clipped_to_its_end(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    message = "\x1b[2J\x1b]0;owned\x07" + "x" * 5000 + "\rdone\u202e"
    pulse = {"result": "ok", "exit_code": 0, "message": message}
    put(s3, TEST_BUCKET, "pulse/job.json", json.dumps(pulse).encode(), at("09:58"), moto_clock)
    put(s3, TEST_BUCKET, "echo/job.json", b"{}", at("09:58"), moto_clock)
    code, out, _ = run_main(pulse_status, ["--bucket", TEST_BUCKET, "--now", isoformat(NOW)], capsys)
    assert code == 0
    row = out.splitlines()[1]
    assert "\x1b" not in row
    assert "\x07" not in row
    assert row.endswith("xxx\\rdone\\u202e")
    assert len(row) < 400


def test_pulses_beyond_the_read_cap_are_shown_as_last_indexed_and_said_so(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        pulse_status.settings, "PULSE_READS", dataclasses.replace(settings.PULSE_READS, default=1)
    )
    for host in ("a", "b"):
        put(s3, TEST_BUCKET, f"pulse/{host}.json", b"{}", at("09:58"), moto_clock)
        put(s3, TEST_BUCKET, f"echo/{host}.json", b"{}", at("09:58"), moto_clock)
    code, out, err = run_main(
        pulse_status, ["--bucket", TEST_BUCKET, "--json", "--stale-after-minutes", "15"], capsys
    )
    assert code == 0
    assert {row["host"]: row["kind"] for row in json.loads(out)["hosts"]} == {"a": "heartbeat", "b": None}
    assert_one_line_error("pulse-status", err, "1 pulses changed since check_result last read them")


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf"])
def test_threshold_must_be_positive(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        pulse_status.main(["--bucket", "b", f"--stale-after-minutes={value}"])
    assert exit_info.value.code == 2
    assert "--stale-after-minutes" in capsys.readouterr().err


def test_empty_bucket_shows_no_hosts(s3: object, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(pulse_status, ["--bucket", TEST_BUCKET, "--now", isoformat(NOW)], capsys)
    assert status == 0
    assert out == (
        f"No hosts yet in s3://{TEST_BUCKET}: nothing under pulse/ or echo/.\n"
        f"Send a pulse from each host: send-pulse --bucket {TEST_BUCKET} ... (docs/pulses.md)\n"
    )


def test_nasty_host_names_are_shown_on_one_line_and_aligned(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    hosts = ["a/b c+d%20e", "日本語ホスト", "e\u0301cole", "tab\there", "new\nline"]
    for host in hosts:
        put(s3, TEST_BUCKET, f"pulse/{host}.json", pulse_body("x"), at("09:58"), moto_clock)
        put(s3, TEST_BUCKET, f"echo/{host}.json", b"{}", at("09:58"), moto_clock)
    status, out, _ = run_main(pulse_status, ["--bucket", TEST_BUCKET, "--now", isoformat(NOW)], capsys)
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 1 + len(hosts) + 2
    assert "a/b c+d%20e" in out
    assert "日本語ホスト" in out
    assert "tab\\there" in out
    assert "new\\nline" in out
    widths = {pulse_status.display_width(line[: line.index(" up ") + 1]) for line in lines[1:-2]}
    assert len(widths) == 1, lines  # the STATUS column starts at the same terminal column
    status, out, _ = run_main(pulse_status, ["--bucket", TEST_BUCKET, "--json"], capsys)
    assert sorted(row["host"] for row in json.loads(out)["hosts"]) == sorted(hosts)


def test_turned_off_host_keeps_showing_down(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    put(s3, TEST_BUCKET, "pulse/off.json", pulse_body("off"), at("09:00"), moto_clock)
    put(s3, TEST_BUCKET, "echo/off.json", b"{}", at("09:00"), moto_clock)
    for later in (NOW, NOW + timedelta(days=3), NOW + timedelta(days=400)):
        status, out, _ = run_main(
            pulse_status, ["--bucket", TEST_BUCKET, "--json", "--now", isoformat(later)], capsys
        )
        assert status == 0
        (row,) = json.loads(out)["hosts"]
        assert (row["status"], row["reason"]["code"]) == ("down", "pulse_stopped")
        assert row["since"] == "2026-01-01T09:00:00Z"


# --- clean errors ---


def test_wrong_bucket_is_one_line(s3: object, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_main(pulse_status, ["--bucket", "no-such-bucket-here"], capsys)
    assert (status, out) == (1, "")
    assert_one_line_error("pulse-status", err, "no-such-bucket-here", "NoSuchBucket")


@pytest.mark.parametrize(
    ("code", "http_status", "words"),
    [
        ("AccessDenied", 403, ["access denied to s3://b-denied", "s3:ListBucket"]),
        ("InvalidAccessKeyId", 403, ["access denied", "InvalidAccessKeyId"]),
        ("SlowDown", 503, ["S3 error on s3://b-denied: SlowDown"]),
    ],
)
def test_access_denied_and_other_s3_errors_are_one_line(
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    code: str,
    http_status: int,
    words: list[str],
) -> None:
    client = boto3.client("s3", region_name="us-east-1")
    stubber = Stubber(client)
    for _prefix in ("echo/", "pulse/", "failure/"):  # the three listings run at once: each is refused
        stubber.add_client_error(
            "list_objects_v2", service_error_code=code, service_message="nope", http_status_code=http_status
        )
    stubber.activate()
    monkeypatch.setattr(pulse_status, "s3_client", lambda region: client)
    status, out, err = run_main(pulse_status, ["--bucket", "b-denied"], capsys)
    assert (status, out) == (1, "")
    assert_one_line_error("pulse-status", err, *words)


# --- the real command line ---


def test_command_line_against_a_moto_server(tmp_path: Path, moto_endpoint: str) -> None:
    client = s3_with_bucket(moto_endpoint, "status-cli")
    for host in ("web 1/ü+%", "other"):
        client.put_object(Bucket="status-cli", Key=f"pulse/{host}.json", Body=pulse_body("x"))
    client.put_object(Bucket="status-cli", Key="echo/web 1/ü+%.json", Body=b"{}")
    env = cli_env(tmp_path, moto_endpoint)

    result = run_cli("pulse-status", ["--help"], env)
    assert result.returncode == 0
    assert "usage: pulse-status" in result.stdout

    result = run_cli("pulse-status", ["--bucket", "status-cli", "--json"], env)
    assert result.returncode == 0, result.stderr
    rows = {row["host"]: row["status"] for row in json.loads(result.stdout)["hosts"]}
    assert rows == {"web 1/ü+%": "up", "other": "new"}

    result = run_cli("pulse-status", ["--bucket", "status-cli"], env)
    assert result.returncode == 0, result.stderr
    assert "web 1/ü+%" in result.stdout

    result = run_cli("pulse-status", ["--bucket", "no-such-bucket-here"], env)
    assert result.returncode == 1
    assert_one_line_error("pulse-status", result.stderr, "NoSuchBucket")

    result = run_cli(
        "pulse-status", ["--bucket", "status-cli"], cli_env(tmp_path, moto_endpoint, credentials=False)
    )
    assert result.returncode == 1
    assert_one_line_error("pulse-status", result.stderr, "no AWS credentials found")

    result = run_cli("pulse-status", [], env)
    assert result.returncode == 2
    assert "--bucket" in result.stderr


def test_script_finds_its_package_through_a_symlink(tmp_path: Path) -> None:
    link = tmp_path / "pulse-status"
    link.symlink_to(SCRIPTS / "pulse-status")
    result = subprocess.run(
        [sys.executable, str(link), "--help"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr


# --- the examples of docs/operations.md ---


def documented_examples(s3: object, clock: Callable[[datetime], None]) -> dict[str, str]:
    """Run the documented scenario in EXAMPLE_BUCKET: {block name: exact text, command line included}."""
    s3.create_bucket(Bucket=EXAMPLE_BUCKET)
    paused = seed_example(s3, EXAMPLE_BUCKET, clock)

    def run(module: ModuleType, argv: list[str]) -> str:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = module.main([*argv, "--now", isoformat(NOW)])
        assert (code, err.getvalue()) == (0, ""), err.getvalue()
        return out.getvalue()

    status = ["--bucket", EXAMPLE_BUCKET]
    blocks = {
        "pause": f"$ pulse-pause --bucket {EXAMPLE_BUCKET} {' '.join(PAUSE_ARGV)}  # at 09:15\n{paused}",
        "status": f"$ pulse-status --bucket {EXAMPLE_BUCKET}\n" + run(pulse_status, status),
    }
    document = json.loads(run(pulse_status, [*status, "--json"]))
    document["hosts"] = [row for row in document["hosts"] if row["host"] == "db-1"] + ["…"]
    shown = json.dumps(document, ensure_ascii=False, indent=2).replace('"…"', "…")
    blocks["status-json"] = f"$ pulse-status --bucket {EXAMPLE_BUCKET} --json\n{shown}\n"
    forget = ["--bucket", EXAMPLE_BUCKET, "--yes", "rack 2/cache ü"]
    blocks["forget"] = f"$ pulse-forget --bucket {EXAMPLE_BUCKET} --yes 'rack 2/cache ü'\n" + run(
        pulse_forget, forget
    )
    blocks["status-after"] = f"$ pulse-status --bucket {EXAMPLE_BUCKET}\n" + run(pulse_status, status)
    return blocks


def test_documented_examples_are_the_real_output(s3: object, moto_clock: Callable) -> None:
    page = OPERATIONS_PAGE.read_text(encoding="utf-8")
    for name, text in documented_examples(s3, moto_clock).items():
        assert f"```console\n{text}```" in page, (
            f"docs/operations.md example {name!r} differs from a fresh run:\n{text}"
        )


def print_documented_examples() -> None:
    """Print the examples of docs/operations.md, to paste them (see the module docstring)."""
    import moto.s3.models
    from moto import mock_aws

    current = {"now": NOW}
    moto.s3.models.utcnow = lambda: current["now"].replace(tzinfo=None)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        for name, text in documented_examples(s3, lambda moment: current.update(now=moment)).items():
            print(f"<!-- {name} -->\n```console\n{text}```\n")


if __name__ == "__main__":
    print_documented_examples()
