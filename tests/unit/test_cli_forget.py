"""pulse-forget (pulse_echo_cli.forget; scripts/pulse-forget launches it): retire a host,
after which check_result's evaluation never alerts on it.

In-process through main(argv) against moto's mock_aws (moto's clock pinned by
``moto_clock``), and the real command line in a subprocess against a moto
server (module-scoped).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from check_result.history import HistoryEvent
from check_result.rules import evaluate
from check_result.state import HostState, PendingSns, encode_state
from check_result.store import LEASE_KEY, STATE_KEY, Store
from pulse_echo.times import isoformat
from pulse_echo_cli import forget as pulse_forget
from pulse_echo_cli import status as pulse_status

from tests.conftest import MOTO_CLOCK_START, TEST_BUCKET
from tests.helpers import assert_one_line_error, cli_env, help_text, run_cli, run_main, s3_with_bucket

NOW = MOTO_CLOCK_START  # the time the script is told it is (--now), and moto's until a test moves it
STALE = timedelta(minutes=15)
NASTY_HOSTS = ["a/b c", "x+y%20z", "ünï 日本", "-leading-dash", "100%", "dir/", "e\u0301"]


class FakeTerminal(io.StringIO):
    """A stdin that says it is a terminal and holds what the user types."""

    def isatty(self) -> bool:
        return True


def put(s3: object, key: str, when: datetime, clock: Callable, body: bytes = b"{}") -> None:
    clock(when)
    s3.put_object(Bucket=TEST_BUCKET, Key=key, Body=body)


def seed_host(s3: object, host: str, clock: Callable, *, when: datetime, failure: bool = True) -> None:
    put(
        s3,
        f"pulse/{host}.json",
        when,
        clock,
        json.dumps({"url": "https://h.example/", "body": "ok"}).encode(),
    )
    put(s3, f"echo/{host}.json", when, clock)
    if failure:
        put(s3, f"failure/{host}.json", when + timedelta(minutes=1), clock, b'{"reason": "timeout"}')


def save_state(s3: object, hosts: dict[str, HostState]) -> None:
    store = Store(s3, TEST_BUCKET)
    store.write_state(hosts, etag=store.read_state().etag, run_id="check-result", now=NOW)


def down_since(moment: datetime) -> HostState:
    return HostState(
        status="down", since=moment, last_ok_at=moment, notified_at=moment + timedelta(minutes=20)
    )


def keys(s3: object) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=TEST_BUCKET).get("Contents", [])}


def forget(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_main(pulse_forget, ["--bucket", TEST_BUCKET, "--now", isoformat(NOW), *argv], capsys)


def evaluation_at(s3: object, now: datetime, renotify: timedelta | None = None) -> object:
    """check_result's evaluation of the bucket at ``now`` (the same calls its run makes)."""
    store = Store(s3, TEST_BUCKET)
    return evaluate(store.list_observations(), store.read_state().hosts, now, STALE, renotify)


# --- help and confirmation ---


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    out = help_text(pulse_forget, capsys)
    assert out.startswith("usage: pulse-forget [-h] --bucket NAME [--yes]")
    assert "HOST" in out
    assert "--now" not in out


def test_missing_host_or_bucket_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--bucket", "b"], ["web-1"], ["--bucket", "b", ""]):
        with pytest.raises(SystemExit) as exit_info:
            pulse_forget.main(argv)
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.startswith("usage: pulse-forget")


def test_without_a_terminal_and_without_yes_nothing_is_deleted(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_host(s3, "web-1", moto_clock, when=NOW - timedelta(hours=1))
    before = keys(s3)
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # not a terminal: "y" is not read
    status, out, err = forget(["web-1"], capsys)
    assert status == 2
    assert 'Host "web-1"' in out
    assert_one_line_error("pulse-forget", err, "stdin is not a terminal", "--yes")
    assert keys(s3) == before


@pytest.mark.parametrize(
    ("typed", "deleted"), [("y\n", True), ("YES\n", True), ("n\n", False), ("\n", False), ("", False)]
)
def test_the_terminal_answer_decides(
    s3: object,
    moto_clock: Callable,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    typed: str,
    deleted: bool,
) -> None:
    seed_host(s3, "web-1", moto_clock, when=NOW - timedelta(hours=1))
    monkeypatch.setattr(sys, "stdin", FakeTerminal(typed))
    status, out, err = forget(["web-1"], capsys)
    assert 'Forget "web-1"? This cannot be undone. [y/N] ' in out
    if deleted:
        assert (status, err) == (0, "")
        assert keys(s3) == set()
    else:
        assert status == 2
        assert_one_line_error("pulse-forget", err, "not confirmed; nothing was deleted")
        assert keys(s3) == {"pulse/web-1.json", "echo/web-1.json", "failure/web-1.json"}


# --- what it deletes ---


def test_forget_deletes_the_hosts_records_and_state_entry_only(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_host(s3, "gone", moto_clock, when=NOW - timedelta(hours=2))
    seed_host(s3, "other", moto_clock, when=NOW - timedelta(hours=2))
    seed_host(s3, "gone-too", moto_clock, when=NOW - timedelta(minutes=1), failure=False)
    save_state(
        s3, {"gone": down_since(NOW - timedelta(hours=2)), "other": down_since(NOW - timedelta(hours=2))}
    )

    status, out, err = forget(["--yes", "gone"], capsys)

    assert (status, err) == (0, "")
    assert keys(s3) == {
        STATE_KEY,
        "pulse/other.json",
        "echo/other.json",
        "failure/other.json",
        "pulse/gone-too.json",
        "echo/gone-too.json",
    }
    assert LEASE_KEY not in keys(s3)  # the run lease was released
    assert set(Store(s3, TEST_BUCKET).read_state().hosts) == {"other"}
    assert out.splitlines() == [
        f'Host "gone" in s3://{TEST_BUCKET}:',
        "  pulse/gone.json: last modified 2026-01-01T08:00:00Z",
        "  echo/gone.json: last modified 2026-01-01T08:00:00Z",
        "  failure/gone.json: last modified 2026-01-01T08:01:00Z",
        "  state/status.json entry: down since 2026-01-01T08:00:00Z (2h 0m), alerted at 2026-01-01T08:20:00Z",
        'Forgot "gone": deleted pulse/gone.json, echo/gone.json, failure/gone.json; '
        "removed it from state/status.json.",
    ]


def test_forgotten_host_produces_no_alert_and_leaves_the_status(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's promise: a retired host produces no further alert (check_result's evaluation)."""
    seed_host(s3, "retired", moto_clock, when=NOW - timedelta(hours=3))
    seed_host(s3, "kept", moto_clock, when=NOW - timedelta(minutes=2), failure=False)
    save_state(s3, {"retired": down_since(NOW - timedelta(hours=3))})
    assert forget(["--yes", "retired"], capsys)[0] == 0

    for later in (NOW, NOW + timedelta(hours=1), NOW + timedelta(days=30)):
        evaluation = evaluation_at(s3, later, renotify=timedelta(minutes=30))
        assert "retired" not in {row.host for row in evaluation.statuses}
        assert "retired" not in {event.host for event in evaluation.events}
        assert "retired" not in evaluation.next_state
    code = pulse_status.main(["--bucket", TEST_BUCKET, "--json", "--now", isoformat(NOW)])
    hosts = [row["host"] for row in json.loads(capsys.readouterr().out)["hosts"]]
    assert (code, hosts) == (0, ["kept"])


def test_turned_off_host_keeps_alerting_as_down_until_forgotten(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_host(s3, "off", moto_clock, when=NOW - timedelta(hours=1), failure=False)

    first = evaluation_at(s3, NOW)
    assert [(e.kind, e.host) for e in first.events] == [("down", "off")]
    save_state(s3, first.next_state)  # check_result saves it once the alert was accepted
    for later in (NOW + timedelta(hours=1), NOW + timedelta(days=7)):
        evaluation = evaluation_at(s3, later, renotify=timedelta(hours=1))
        assert [(row.host, row.status) for row in evaluation.statuses] == [("off", "down")]
        assert [(e.kind, e.host) for e in evaluation.events] == [("still_down", "off")]
        assert "off" in evaluation.next_state

    assert forget(["--yes", "off"], capsys)[0] == 0
    evaluation = evaluation_at(s3, NOW + timedelta(days=8), renotify=timedelta(hours=1))
    assert (evaluation.statuses, evaluation.events, evaluation.next_state) == ((), (), {})


@pytest.mark.parametrize("host", NASTY_HOSTS)
def test_nasty_host_names_are_forgotten_exactly(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str], host: str
) -> None:
    lookalikes = {host + "x", host.replace(" ", "+"), host.replace("%20", " "), "a/b+c", "a/b%20c"} - {host}
    for name in [host, *lookalikes]:
        seed_host(s3, name, moto_clock, when=NOW - timedelta(hours=1))
    save_state(s3, {name: down_since(NOW - timedelta(hours=1)) for name in [host, *lookalikes]})

    status, out, err = forget(["--yes", "--", host], capsys)

    assert (status, err) == (0, ""), err
    assert f'Forgot "{host}"' in out
    remaining = keys(s3) - {STATE_KEY}
    assert remaining == {f"{p}{name}.json" for name in lookalikes for p in ("pulse/", "echo/", "failure/")}
    assert set(Store(s3, TEST_BUCKET).read_state().hosts) == lookalikes


def test_host_left_only_in_the_state_or_only_as_a_failure_record(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    save_state(s3, {"state-only": down_since(NOW - timedelta(hours=1))})
    put(s3, "failure/failure-only.json", NOW - timedelta(days=2), moto_clock)

    status, out, _ = forget(["--yes", "state-only"], capsys)
    assert status == 0
    assert out.splitlines()[-1] == 'Forgot "state-only": removed it from state/status.json.'
    assert Store(s3, TEST_BUCKET).read_state().hosts == {}

    status, out, _ = forget(["--yes", "failure-only"], capsys)
    assert status == 0
    assert out.splitlines()[-1] == 'Forgot "failure-only": deleted failure/failure-only.json.'
    assert keys(s3) == {STATE_KEY}


def test_forgetting_a_host_keeps_the_pending_messages_and_history_and_the_recorded_threshold(
    s3: object,
) -> None:
    store = Store(s3, TEST_BUCKET)
    pending = (PendingSns("check-result", NOW, '{"events": []}', "pulse-echo: 1 down"),)
    history = (HistoryEvent("down", "gone", at=NOW, since=NOW - timedelta(hours=1)),)
    hosts = {"gone": down_since(NOW - timedelta(hours=1)), "other": down_since(NOW - timedelta(hours=1))}
    store.write_state(
        hosts,
        etag=None,
        run_id="check-result",
        now=NOW,
        pending_sns=pending,
        stale_after_minutes=1.5,
        pending_history=history,
    )

    assert pulse_forget.remove_from_state(store, "gone", "forget-1") is True

    read = store.read_state()
    assert (set(read.hosts), read.pending_sns, read.stale_after_minutes) == ({"other"}, pending, 1.5)
    assert read.pending_history == history  # the history of the forgotten host is still written


def test_a_host_still_sending_pulses_gets_a_warning(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_host(s3, "alive", moto_clock, when=NOW - timedelta(minutes=3), failure=False)
    status, out, _ = forget(["--yes", "alive"], capsys)
    assert status == 0
    assert "Warning: its last pulse is 3m 0s old: the host still sends pulses." in out


# --- concurrency with check_result ---


def test_state_written_meanwhile_is_reread_and_kept(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If check_result rewrites state/status.json between our read and write, the If-Match write
    fails, and pulse-forget reads it again: the other writer's entry survives."""
    seed_host(s3, "gone", moto_clock, when=NOW - timedelta(hours=1))
    save_state(s3, {"gone": down_since(NOW - timedelta(hours=1))})
    original = Store.read_state
    calls = {"n": 0}

    def read_then_race(self: Store) -> object:
        stored = original(self)
        calls["n"] += 1
        if calls["n"] == 2:  # the read inside remove_from_state: another writer gets in first
            hosts = {**stored.hosts, "late": down_since(NOW - timedelta(minutes=30))}
            body = encode_state(hosts, updated_at=NOW, run_id="other")
            s3.put_object(Bucket=TEST_BUCKET, Key=STATE_KEY, Body=body)  # a new ETag
        return stored

    monkeypatch.setattr(Store, "read_state", read_then_race)
    status, _, err = forget(["--yes", "gone"], capsys)
    assert (status, err) == (0, "")
    assert calls["n"] >= 3
    assert set(original(Store(s3, TEST_BUCKET)).hosts) == {"late"}


def test_waits_for_a_running_check_result_and_gives_up_cleanly(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_host(s3, "gone", moto_clock, when=NOW - timedelta(hours=1))
    before = keys(s3)
    running = Store(s3, TEST_BUCKET).acquire_lease("check-result-run", datetime.now(timezone.utc), STALE)
    assert running is not None
    monkeypatch.setattr(pulse_forget, "LEASE_WAIT_SECONDS", 0.0)

    status, _, err = forget(["--yes", "gone"], capsys)

    assert status == 1
    assert_one_line_error("pulse-forget", err, "a check_result run holds state/lock.json")
    assert keys(s3) == before | {LEASE_KEY}
    Store(s3, TEST_BUCKET).release_lease(running)


# --- clean errors ---


def test_unknown_host_is_one_line_with_suggestions(
    s3: object, moto_clock: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_host(s3, "web-1", moto_clock, when=NOW - timedelta(hours=1))
    before = keys(s3)
    status, out, err = forget(["--yes", "web-2"], capsys)
    assert (status, out) == (1, "")
    assert_one_line_error("pulse-forget", err, "unknown host 'web-2'", "did you mean 'web-1'?")
    assert keys(s3) == before
    status, _, err = forget(["--yes", "zzz"], capsys)
    assert status == 1
    assert "did you mean" not in err


def test_wrong_bucket_is_one_line(s3: object, capsys: pytest.CaptureFixture[str]) -> None:
    status = pulse_forget.main(["--bucket", "no-such-bucket-here", "--yes", "web-1"])
    captured = capsys.readouterr()
    assert (status, captured.out) == (1, "")
    assert_one_line_error("pulse-forget", captured.err, "no-such-bucket-here", "NoSuchBucket")


# --- the real command line ---


def test_command_line_against_a_moto_server(tmp_path: Path, moto_endpoint: str) -> None:
    client = s3_with_bucket(moto_endpoint, "forget-cli")
    host = "rack 2/ünï+%20"
    for prefix in ("pulse/", "echo/", "failure/"):
        client.put_object(Bucket="forget-cli", Key=f"{prefix}{host}.json", Body=b"{}")
    env = cli_env(tmp_path, moto_endpoint)

    result = run_cli("pulse-forget", ["--help"], env)
    assert result.returncode == 0
    assert "usage: pulse-forget" in result.stdout

    result = run_cli(
        "pulse-forget", ["--bucket", "forget-cli", host], cli_env(tmp_path, moto_endpoint, credentials=False)
    )
    assert result.returncode == 1
    assert_one_line_error("pulse-forget", result.stderr, "no AWS credentials found")

    result = run_cli("pulse-forget", ["--bucket", "no-such-bucket-here", "--yes", host], env)
    assert result.returncode == 1
    assert_one_line_error("pulse-forget", result.stderr, "NoSuchBucket")

    result = run_cli("pulse-forget", ["--bucket", "forget-cli", "web-9"], env)
    assert result.returncode == 1
    assert_one_line_error("pulse-forget", result.stderr, "unknown host 'web-9'")

    result = run_cli("pulse-forget", ["--bucket", "forget-cli", host], env)  # stdin is not a terminal
    assert result.returncode == 2
    assert_one_line_error("pulse-forget", result.stderr, "pass --yes")
    assert client.list_objects_v2(Bucket="forget-cli")["KeyCount"] == 3

    result = run_cli("pulse-forget", ["--bucket", "forget-cli", "--yes", host], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith(f'Forgot "{host}": deleted pulse/{host}.json')
    assert client.list_objects_v2(Bucket="forget-cli")["KeyCount"] == 0
