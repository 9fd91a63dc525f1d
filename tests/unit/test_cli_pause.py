"""pulse-pause (pulse_echo_cli.pause; scripts/pulse-pause launches it): the operator's maintenance
window, its command line, its conditional writes under concurrent writers (another pulse-pause, a
check_result run), and what check_result then does.

In-process through main(argv) against moto's mock_aws, and the real command line in a
subprocess against a moto server (module-scoped).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from pathlib import Path

import pulse_echo_cli.aws
import pytest
from check_result.pauses import Pause, Pauses
from check_result.store import Store
from pulse_echo.layout import PAUSES_KEY
from pulse_echo.times import isoformat
from pulse_echo_cli import pause as pulse_pause

from tests.conftest import MOTO_CLOCK_START, TEST_BUCKET
from tests.helpers import (
    assert_one_line_error,
    check_result_env,
    cli_env,
    help_text,
    posts,
    run_at,
    run_cli,
    run_main,
    s3_with_bucket,
)

NOW = MOTO_CLOCK_START
MIN = timedelta(minutes=1)
HOUR = 60 * MIN


def seed(s3: object, *hosts: str) -> None:
    for host in hosts:
        s3.put_object(Bucket=TEST_BUCKET, Key=f"pulse/{host}.json", Body=b'{"url": "https://h.example/"}')
        s3.put_object(Bucket=TEST_BUCKET, Key=f"echo/{host}.json", Body=b"{}")


def pause(argv: list[str], capsys: pytest.CaptureFixture[str], now: datetime = NOW) -> tuple[int, str, str]:
    return run_main(pulse_pause, ["--bucket", TEST_BUCKET, "--now", isoformat(now), *argv], capsys)


def pauses(s3: object) -> Pauses:
    return Store(s3, TEST_BUCKET).read_pauses().value


# --- the command line ---


def test_help_says_the_grammar_of_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    out = " ".join(help_text(pulse_pause, capsys).split())
    assert out.startswith(
        "usage: pulse-pause [-h] --bucket NAME (--for DURATION | --until TIME | --resume) [--all]"
    )
    assert "30m, 2h, 1d" in out
    assert "at most 7 days" in out
    assert "--now" not in out


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("30m", 30 * MIN),
        ("2h", 2 * HOUR),
        ("1d", 24 * HOUR),
        ("1h30m", 90 * MIN),
        ("1d2h3m", 26 * HOUR + 3 * MIN),
    ],
)
def test_durations(text: str, span: timedelta) -> None:
    assert pulse_pause.duration(text) == span


@pytest.mark.parametrize(
    "text", ["", "30", "m", "1.5h", "-1h", "0m", "30s", "1m1h", "2 h", "1w", "h30m", "0d0h"]
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        pulse_pause.duration(text)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["web-1"], "one of the arguments --for --until --resume is required"),
        (["--for", "1h"], "give HOST... or --all"),
        (["--for", "1h", "--all", "web-1"], "give HOST... or --all"),
        (["--for", "1h", "--until", "2026-01-01T12:00:00Z", "web-1"], "not allowed with argument"),
        (["--resume", "--for", "1h", "web-1"], "not allowed with argument"),
        (["--for", "90", "web-1"], "is not a duration"),
        (["--for", "8d", "web-1"], "at most 7 days"),
        (["--for", "10000000d", "web-1"], "at most 7 days"),  # past the last date a datetime holds
        (["--for", "99999999999999999999m", "web-1"], "longer than a pause may last"),  # past a C int
        (["--until", "0001-01-01T00:00:00+01:00", "web-1"], "out of range once converted to UTC"),
        (["--until", "2026-01-01T09:00:00Z", "web-1"], "has passed"),
        (["--until", "tomorrow", "web-1"], "is not an ISO 8601 time"),
        (["--for", "1h", ""], "HOST is empty"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        pulse_pause.main(["--bucket", "b", "--now", isoformat(NOW), *argv])
    assert exit_info.value.code == 2
    assert words in capsys.readouterr().err


# --- pausing and resuming ---


def test_pause_hosts_for_a_duration_and_resume_one(s3: object, capsys: pytest.CaptureFixture[str]) -> None:
    seed(s3, "web-1", "web-2", "db 1/ü")
    status, out, err = pause(["--for", "2h", "web-1", "db 1/ü"], capsys)
    assert (status, err) == (0, "")
    assert out == (
        "Paused web-1, db 1/ü until 2026-01-01T12:00:00Z (2h 0m): no down alert until then; "
        "a host still down then is alerted once.\n"
    )
    assert pauses(s3) == Pauses(
        hosts={"web-1": Pause(NOW + 2 * HOUR, NOW), "db 1/ü": Pause(NOW + 2 * HOUR, NOW)}
    )

    status, out, _ = pause(["--resume", "web-1", "web-2"], capsys, NOW + MIN)
    assert status == 0
    assert out.splitlines() == [
        "Resumed web-1, web-2: check_result judges them as usual from its next run.",
        "Note: web-2 had no pause of its own.",
    ]
    assert set(pauses(s3).hosts) == {"db 1/ü"}


def test_pause_every_host_until_a_time_then_resume_all(
    s3: object, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(s3, "web-1")
    status, out, _ = pause(["--until", "2026-01-01T10:30:00+00:00", "--all"], capsys)
    assert status == 0
    assert out.startswith("Paused every host until 2026-01-01T10:30:00Z (30m 0s)")
    assert pauses(s3).every_host == Pause(NOW + 30 * MIN, NOW)

    status, out, _ = pause(["--resume", "web-1"], capsys)
    assert status == 0
    assert (
        "Note: every host is still paused until 2026-01-01T10:30:00Z: pulse-pause --resume --all ends that."
        in out
    )

    assert pause(["--resume", "--all"], capsys)[0] == 0
    assert pauses(s3) == Pauses()


def recorded(s3: object) -> list[list[tuple]]:
    """The history objects pulse-pause wrote: their events as (event, host, since, until, source)."""
    keys = sorted(
        item["Key"] for item in s3.list_objects_v2(Bucket=TEST_BUCKET, Prefix="history/").get("Contents", [])
    )
    objects = [json.loads(s3.get_object(Bucket=TEST_BUCKET, Key=key)["Body"].read()) for key in keys]
    assert all(document["writer"] == "pulse-pause" for document in objects)
    return [
        [(e["event"], e["host"], e["since"], e["until"], e["source"]) for e in document["events"]]
        for document in objects
    ]


def test_each_pause_and_resume_is_one_history_object(s3: object, capsys: pytest.CaptureFixture[str]) -> None:
    seed(s3, "web-1", "db 1/ü")
    pause(["--for", "2h", "web-1", "db 1/ü"], capsys)
    pause(["--resume", "web-1"], capsys, NOW + MIN)
    pause(["--for", "30m", "--all"], capsys, NOW + 2 * MIN)
    pause(["--resume", "--all"], capsys, NOW + 3 * MIN)
    t = [isoformat(NOW + i * MIN) for i in range(4)]
    assert recorded(s3) == [
        [
            ("paused", "web-1", t[0], "2026-01-01T12:00:00Z", "operator"),
            ("paused", "db 1/ü", t[0], "2026-01-01T12:00:00Z", "operator"),
        ],
        [("resumed", "web-1", t[1], None, "operator")],
        [("paused", None, t[2], "2026-01-01T10:32:00Z", "operator")],
        [("resumed", None, t[3], None, "operator"), ("resumed", "db 1/ü", t[3], None, "operator")],
    ]
    assert pause(["--resume", "web-1"], capsys, NOW + 4 * MIN)[0] == 0  # no pause of its own: no event
    assert len(recorded(s3)) == 4


def test_a_history_that_cannot_be_written_is_a_warning_the_pause_is_set(
    s3: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    seed(s3, "web-1")
    put_object = s3.put_object

    def refuse_history(**kwargs: object) -> dict:
        if str(kwargs["Key"]).startswith("history/"):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")
        return put_object(**kwargs)

    monkeypatch.setattr(s3, "put_object", refuse_history)
    monkeypatch.setattr(pulse_echo_cli.aws, "s3_client", lambda region: s3)
    status, out, err = pause(["--for", "1h", "web-1"], capsys)
    assert status == 0
    assert out.startswith("Paused web-1 until ")
    assert_one_line_error(
        "pulse-pause", err, "warning: done, but not recorded in the history", "PutObject: AccessDenied"
    )
    assert set(pauses(s3).hosts) == {"web-1"}


def test_ended_pauses_are_dropped_at_the_next_write(s3: object, capsys: pytest.CaptureFixture[str]) -> None:
    seed(s3, "a", "b")
    pause(["--for", "30m", "a"], capsys)
    pause(["--for", "1h", "b"], capsys, NOW + HOUR)
    assert set(pauses(s3).hosts) == {"b"}


def test_an_unknown_host_is_one_line_with_the_closest_names(
    s3: object, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(s3, "web-1", "web-2", "db-1")
    status, out, err = pause(["--for", "1h", "web-1", "wbe-1", "nope"], capsys)
    assert (status, out) == (1, "")
    assert_one_line_error("pulse-pause", err, "unknown host: 'wbe-1' (did you mean 'web-1'", "'nope'")
    assert pauses(s3) == Pauses()  # nothing written


def test_a_host_gone_since_its_pause_can_still_be_resumed(
    s3: object, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(s3, "old")
    pause(["--for", "1h", "old"], capsys)
    s3.delete_object(Bucket=TEST_BUCKET, Key="pulse/old.json")
    s3.delete_object(Bucket=TEST_BUCKET, Key="echo/old.json")
    assert pause(["--resume", "old"], capsys)[0] == 0
    assert pause(["--for", "1h", "old"], capsys)[0] == 1


def test_an_unreadable_pauses_document_is_replaced_with_a_warning(
    s3: object, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(s3, "web-1")
    s3.put_object(Bucket=TEST_BUCKET, Key=PAUSES_KEY, Body=b"{truncated")
    status, _, err = pause(["--for", "1h", "web-1"], capsys)
    assert status == 0
    assert_one_line_error("pulse-pause", err, "warning", "could not be read and is replaced")
    assert set(pauses(s3).hosts) == {"web-1"}


# --- conditional writes under concurrent writers ---


def interleave(s3: object, action, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make pulse-pause use ``s3`` and run ``action`` once, just before its first PUT of the
    pauses reaches S3 (after it read them): the concurrent writer. Returns the PUT count."""
    monkeypatch.setattr(pulse_echo_cli.aws, "s3_client", lambda region: s3)
    puts: list[int] = []

    def before_put(params: dict, **_: object) -> None:
        if params.get("Key") == PAUSES_KEY:
            puts.append(1)
            if len(puts) == 1:
                action()

    s3.meta.events.register("before-parameter-build.s3.PutObject", before_put)
    return puts


def test_two_operators_at_the_same_moment_lose_neither_pause(
    s3: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(s3, "web-1", "db-1")
    store = Store(s3, TEST_BUCKET)

    def other_operator() -> None:
        stored = store.read_pauses()
        store.write_pauses(stored.value.paused(["db-1"], NOW + 3 * HOUR, NOW), etag=stored.etag, now=NOW)

    puts = interleave(s3, other_operator, monkeypatch)
    assert pause(["--for", "1h", "web-1"], capsys)[0] == 0
    assert len(puts) == 3  # ours (refused: If-Match), the other operator's, ours again after a re-read
    assert pauses(s3).hosts == {"web-1": Pause(NOW + HOUR, NOW), "db-1": Pause(NOW + 3 * HOUR, NOW)}


def test_a_check_result_run_at_the_same_moment_loses_neither_the_pause_nor_its_state(
    s3: object,
    s3_seed: object,
    http_server: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3_seed.put("pulse/web-1.json", b'{"url": "https://web-1/health"}', NOW - 30 * MIN)
    s3_seed.put("echo/web-1.json", b"{}", NOW - 30 * MIN)
    s3_seed.put("pulse/db-1.json", b'{"url": "https://db-1/health"}', NOW - 30 * MIN)
    s3_seed.put("echo/db-1.json", b"{}", NOW - 30 * MIN)
    with check_result_env(monkeypatch, http_server):
        summaries = []
        interleave(s3, lambda: summaries.append(run_at(NOW, s3)), monkeypatch)  # it reads the pauses first
        assert pause(["--for", "1h", "web-1"], capsys)[0] == 0
        [summary] = summaries
        assert summary["events"]["down"] == 2  # it ran before the pause was written
        state = Store(s3, TEST_BUCKET).read_state()
        assert set(state.hosts) == {"web-1", "db-1"}  # its state, intact
        assert state.stale_after_minutes == 15
        assert set(pauses(s3).hosts) == {"web-1"}  # the pause, intact
        later = run_at(NOW + 10 * MIN, s3)
        assert later["statuses"]["paused"] == 1
        assert len(posts(http_server)) == 1


def test_a_pause_written_before_a_run_holds_back_its_alert_until_it_ends(
    s3: object,
    s3_seed: object,
    http_server: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3_seed.put("pulse/web-1.json", b'{"url": "https://web-1/health"}', NOW)
    s3_seed.put("echo/web-1.json", b"{}", NOW)
    assert pause(["--for", "1h", "web-1"], capsys)[0] == 0
    with check_result_env(monkeypatch, http_server):
        assert run_at(NOW + 30 * MIN, s3)["suppressed"] == 1
        assert posts(http_server) == []
        assert run_at(NOW + HOUR, s3)["events"]["down"] == 1
        assert "`web-1`" in posts(http_server)[0]["text"]


# --- the real command line ---


def test_command_line_against_a_moto_server(tmp_path: Path, moto_endpoint: str) -> None:
    client = s3_with_bucket(moto_endpoint, "pause-cli")
    client.put_object(Bucket="pause-cli", Key="pulse/web 1/ü.json", Body=b"{}")
    env = cli_env(tmp_path, moto_endpoint)

    result = run_cli("pulse-pause", ["--help"], env)
    assert (result.returncode, result.stdout.startswith("usage: pulse-pause")) == (0, True)

    result = run_cli("pulse-pause", ["--bucket", "pause-cli", "--for", "30m", "web 1/ü"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Paused web 1/ü until ")
    document = json.loads(client.get_object(Bucket="pause-cli", Key=PAUSES_KEY)["Body"].read())
    assert list(document["hosts"]) == ["web 1/ü"]

    result = run_cli("pulse-pause", ["--bucket", "pause-cli", "--for", "30m", "web-1"], env)
    assert result.returncode == 1
    assert_one_line_error("pulse-pause", result.stderr, "unknown host")

    result = run_cli("pulse-pause", ["--bucket", "no-such-bucket-here", "--for", "1h", "--all"], env)
    assert result.returncode == 1
    assert_one_line_error("pulse-pause", result.stderr, "NoSuchBucket")

    result = run_cli(
        "pulse-pause",
        ["--bucket", "pause-cli", "--resume", "--all"],
        cli_env(tmp_path, moto_endpoint, credentials=False),
    )
    assert result.returncode == 1
    assert_one_line_error("pulse-pause", result.stderr, "no AWS credentials found")

    result = run_cli("pulse-pause", ["--bucket", "pause-cli", "web-1"], env)
    assert result.returncode == 2
